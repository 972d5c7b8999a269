import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UdpPacket, UdpRepr } from '../../src/wire/udp.js';
import { isWireError } from '../../src/wire/error.js';
import { fromHex } from '../../src/wire/bytes.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../src/checksum/internet.js';
import { parseIpv4, parseIpv6 } from '../../src/wire/address.js';

const src = parseIpv4('198.51.100.1')!;
const dst = parseIpv4('198.51.100.2')!;

describe('udp', () => {
  it('reads header fields of a DNS query datagram', () => {
    const b = fromHex('d2ba0035002c0000' + '0000'.repeat(18));
    const p = UdpPacket.check(b);
    expect(isWireError(p)).toBe(false);
    const pkt = p as UdpPacket;
    expect(pkt.srcPort).toBe(0xd2ba);
    expect(pkt.dstPort).toBe(53);
    expect(pkt.payloadLength).toBe(0x2c - 8);
  });

  it('H44: rejects length 0, 7 and longer than the IP payload; trims a shorter one', () => {
    const mk = (len: number, avail: number) => {
      const b = new Uint8Array(avail);
      b[4] = len >> 8;
      b[5] = len & 0xff;
      return UdpPacket.check(b);
    };
    for (const bad of [0, 7, 1000]) {
      const r = mk(bad, 100);
      expect(isWireError(r)).toBe(true);
      if (isWireError(r)) expect(r.field).toBe('length');
    }
    const trimmed = mk(20, 100) as UdpPacket;
    expect(trimmed.len).toBe(20);
    expect(trimmed.payloadLength).toBe(12);
  });

  it('emit then check round-trips and the checksum verifies over IPv4 and IPv6', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ maxLength: 300 }), (sp, dp, payload) => {
        const r: UdpRepr = { srcPort: sp, dstPort: dp, payloadLen: payload.length };
        const b = new Uint8Array(UdpRepr.bufferLen(r) + 3);
        b.set(payload, 3 + 8);
        const ps = pseudoHeaderSumV4(src, dst, 17, UdpRepr.bufferLen(r));
        UdpRepr.emit(r, b, 3, tsChecksum, ps);
        const p = UdpPacket.check(b, 3) as UdpPacket;
        expect(UdpRepr.parse(p)).toEqual(r);
        expect(p.checksum).not.toBe(0);
        expect(p.verifyChecksum(tsChecksum, ps, false)).toBe(true);
        const s6 = parseIpv6('2001:db8::1')!;
        const d6 = parseIpv6('2001:db8::2')!;
        const ps6 = pseudoHeaderSumV6(s6, d6, 17, UdpRepr.bufferLen(r));
        UdpRepr.emit(r, b, 3, tsChecksum, ps6);
        expect(p.verifyChecksum(tsChecksum, ps6, false)).toBe(true);
        if (payload.length > 0) {
          b[3 + 8] ^= 0x01;
          expect(p.verifyChecksum(tsChecksum, ps6, false)).toBe(false);
        }
      }),
    );
  });

  it('H43: a zero checksum is acceptable only where the caller allows it (IPv4, not IPv6)', () => {
    const b = new Uint8Array(12);
    b[5] = 12;
    const p = UdpPacket.check(b) as UdpPacket;
    expect(p.verifyChecksum(tsChecksum, 0, true)).toBe(true);
    expect(p.verifyChecksum(tsChecksum, 0, false)).toBe(false);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(70), fc.nat(70), (b, off, len) => {
        const r = UdpPacket.check(b, off, len);
        if (!isWireError(r)) expect(r.off + r.len).toBeLessThanOrEqual(b.length);
      }),
    );
  });
});
