import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Arphrd,
  LINUX_SLL2_HEADER_LEN,
  LINUX_SLL_HEADER_LEN,
  LinuxSll2Header,
  LinuxSll2Repr,
  LinuxSllHeader,
  LinuxSllRepr,
  SllPacketType,
} from '../../src/wire/linux-sll.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { EmitError, isWireError, WireError } from '../../src/wire/error.js';
import { fromHex } from '../../src/wire/bytes.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { concat, ipv6 } from '../support/build-l3.js';

// tcpdump tests/tcp-handshake-nano.pcap (LINKTYPE_LINUX_SLL) frames 1 and 2: a SYN we sent and the SYN-ACK.
const SLL_SYN = fromHex(
  '000402000000000000000000000008004500003c29a940004006db5f839bd7458974515eb64000502f842acb00000000a0026a4050c40000020405500402080a436a03620000000001030307',
);
const SLL_SYNACK = fromHex(
  '000002000000000000000000000008004500003c1c4440007506b3c48974515e839bd7450050b640b7839f902f842acca012200086480000020405a0010303080402080a0df5af50436a0362',
);
// SLL2 header laid out by hand from the libpcap LINKTYPE_LINUX_SLL2 description: protocol, reserved,
// interface index, ARPHRD type, packet type, address length, 8 address bytes.
const SLL2_HDR = fromHex('86dd 0000 00000003 0001 02 06 020000000001 0000');

describe('linux sll', () => {
  it('reads the captured SLL header as tshark does (sent by us, ARPHRD PPP, no address, IPv4)', () => {
    const h = LinuxSllHeader.check(SLL_SYN) as LinuxSllHeader;
    expect(LinuxSllRepr.parse(h)).toEqual({ packetType: SllPacketType.OUTGOING, arphrdType: Arphrd.PPP, address: new Uint8Array(0), protocol: 0x0800 });
    expect([h.addressLength, h.payloadOffset, h.payloadLength]).toEqual([0, 16, 60]);
    const ip = Ipv4Packet.check(SLL_SYN, h.payloadOffset, h.payloadLength) as Ipv4Packet;
    expect([ip.src, ip.dst, ip.ident, ip.dontFrag, ip.ttl, ip.protocol]).toEqual([parseIpv4('131.155.215.69'), parseIpv4('137.116.81.94'), 0x29a9, true, 64, 6]);
    const back = LinuxSllHeader.check(SLL_SYNACK) as LinuxSllHeader;
    expect([back.packetType, back.arphrdType, back.protocol]).toEqual([SllPacketType.HOST, Arphrd.PPP, 0x0800]);
  });

  it('reads an SLL2 header', () => {
    const frame = concat(SLL2_HDR, ipv6({ nextHeader: 59 }));
    const h = LinuxSll2Header.check(frame) as LinuxSll2Header;
    expect(LinuxSll2Repr.parse(h)).toEqual({
      protocol: 0x86dd,
      interfaceIndex: 3,
      arphrdType: Arphrd.ETHER,
      packetType: SllPacketType.MULTICAST,
      address: fromHex('020000000001'),
    });
    expect([h.payloadOffset, h.payloadLength, h.payload().length]).toEqual([20, 40, 40]);
  });

  it('keeps at most 8 address bytes when the declared length is longer', () => {
    const b = SLL_SYN.slice();
    b[5] = 20; // address length 20 (e.g. InfiniBand), only 8 stored
    b.set(fromHex('0102030405060708'), 6);
    const h = LinuxSllHeader.check(b) as LinuxSllHeader;
    expect(h.addressLength).toBe(20);
    expect(h.address()).toEqual(fromHex('0102030405060708'));
  });

  it('rejects truncated headers', () => {
    expect((LinuxSllHeader.check(SLL_SYN.subarray(0, 15)) as WireError).field).toBe('header');
    expect((LinuxSll2Header.check(SLL2_HDR.subarray(0, 19)) as WireError).field).toBe('header');
    expect(isWireError(LinuxSllHeader.check(SLL_SYN, 70, 10))).toBe(true);
    expect(isWireError(LinuxSllHeader.check(SLL_SYN.subarray(0, 16)))).toBe(false);
  });

  it('emit then check round-trips both header versions', () => {
    const fields = fc.record({
      packetType: fc.integer({ min: 0, max: 4 }),
      arphrdType: fc.integer({ min: 0, max: 0xffff }),
      address: fc.uint8Array({ maxLength: 8 }),
      protocol: fc.integer({ min: 0, max: 0xffff }),
    });
    fc.assert(
      fc.property(fields, fc.integer({ min: 0, max: 0xffff_ffff }), fc.nat(4), (r, interfaceIndex, off) => {
        const b1 = new Uint8Array(off + LinuxSllRepr.bufferLen(r)).fill(0xee);
        LinuxSllRepr.emit(r, b1, off);
        expect(LinuxSllRepr.parse(LinuxSllHeader.check(b1, off) as LinuxSllHeader)).toEqual(r);
        const r2: LinuxSll2Repr = { ...r, interfaceIndex };
        const b2 = new Uint8Array(off + LinuxSll2Repr.bufferLen(r2)).fill(0xee);
        LinuxSll2Repr.emit(r2, b2, off);
        expect(LinuxSll2Repr.parse(LinuxSll2Header.check(b2, off) as LinuxSll2Header)).toEqual(r2);
        expect(b2[off + 2]).toBe(0); // reserved
        expect(b1.length - off).toBe(LINUX_SLL_HEADER_LEN);
        expect(b2.length - off).toBe(LINUX_SLL2_HEADER_LEN);
      }),
    );
    expect(() => LinuxSllRepr.emit({ packetType: 0, arphrdType: 1, address: new Uint8Array(9), protocol: 0x800 }, new Uint8Array(16), 0)).toThrow(EmitError);
    expect(() => LinuxSll2Repr.emit({ packetType: 0, arphrdType: 1, address: new Uint8Array(6), protocol: 0x800, interfaceIndex: 1 }, new Uint8Array(19), 0)).toThrow(
      EmitError,
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(45), fc.nat(45), (b, off, len) => {
        for (const h of [LinuxSllHeader.check(b, off, len), LinuxSll2Header.check(b, off, len)]) {
          if (!isWireError(h)) {
            expect(h.off + h.len).toBeLessThanOrEqual(b.length);
            expect(h.payloadLength).toBeGreaterThanOrEqual(0);
            expect(h.address().length).toBeLessThanOrEqual(8);
          }
        }
      }),
      { numRuns: 5000 },
    );
  });
});
