import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Icmpv4Packet, Icmpv4Quoted, Icmpv4Repr, Icmpv4Type, isIcmpv4Deprecated, isIcmpv4Error } from '../../src/wire/icmpv4.js';
import { EmitError, isWireError } from '../../src/wire/error.js';
import { hex } from '../../src/wire/bytes.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { V4_DST, V4_SRC, concat, icmpv4, ipv4Header, l4FromFrame, u16, u32 } from '../support/build-l4.js';

// recorded__dnsmasq_dhcp4_dhcp6_ra_dns.pcap frame 31: echo request id 0x9c3f seq 0, 20 data bytes.
const ECHO_REQUEST =
  '02000000000b02000000000a08004500003017b8400040019eabc0000201c000026808005bc09c3f00000000000000000000000000000000000000000000';
// PcapPlusPlus__VlanPackets.pcap frame 2 (two VLAN tags): echo reply id 3 seq 0, 72 data bytes.
const ECHO_REPLY_VLAN =
  '0013c3dfae18001bd41ba4d8810000768100000a080045000064000f0000ff01929b0a760a020a760a010000d6b70003000000000000001faf70abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd';

function checked(b: Uint8Array, off = 0, len = b.length - off): Icmpv4Packet {
  const p = Icmpv4Packet.check(b, off, len);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

describe('icmpv4', () => {
  it('reads captured echo request and reply as tshark shows them', () => {
    const s = l4FromFrame(ECHO_REQUEST);
    const p = checked(s.frame, s.off, s.len);
    expect([p.type, p.code, p.checksum, p.echoIdent, p.echoSeq, p.dataLength]).toEqual([8, 0, 0x5bc0, 0x9c3f, 0, 20]);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
    expect(Icmpv4Repr.parse(p)).toEqual({ kind: 'echoRequest', ident: 0x9c3f, seq: 0, dataLen: 20 });

    const r = l4FromFrame(ECHO_REPLY_VLAN);
    const q = checked(r.frame, r.off, r.len);
    expect([q.type, q.checksum, q.echoIdent, q.echoSeq, q.dataLength]).toEqual([0, 0xd6b7, 3, 0, 72]);
    expect(q.verifyChecksum(tsChecksum)).toBe(true);
    r.frame[r.off + 20] ^= 1;
    expect(q.verifyChecksum(tsChecksum)).toBe(false);
  });

  it('emit of the parsed echo request reproduces the capture', () => {
    const s = l4FromFrame(ECHO_REQUEST);
    const r = Icmpv4Repr.parse(checked(s.frame, s.off, s.len));
    const out = s.frame.slice(s.off, s.off + s.len);
    out.fill(0xaa, 0, 8);
    Icmpv4Repr.emit(r, out, 0, tsChecksum);
    expect(hex(out)).toBe(hex(s.frame, s.off, s.len));
  });

  it('destination unreachable code 4 exposes the next-hop MTU and the quoted datagram', () => {
    const quoted = concat(ipv4Header({ protocol: 6, src: V4_SRC, dst: V4_DST }), u16(40000), u16(443), u32(0xdeadbeef));
    const b = icmpv4({ type: 3, code: 4, rest: 1400, data: quoted });
    const p = checked(b);
    expect(p.isError).toBe(true);
    expect(p.nextHopMtu).toBe(1400);
    expect([p.dataOffset, p.dataLength]).toEqual([8, 28]);
    expect(Icmpv4Repr.parse(p)).toEqual({ kind: 'destUnreachable', code: 4, nextHopMtu: 1400, quotedLen: 28 });
    const q = p.quoted() as Icmpv4Quoted;
    expect(isWireError(q)).toBe(false);
    expect([q.headerLen, q.protocol, q.src, q.dst, q.srcPort, q.dstPort, q.tcpSeq, q.transportLength]).toEqual([20, 6, V4_SRC, V4_DST, 40000, 443, 0xdeadbeef, 8]);
    expect(q.transportOffset).toBe(28);
    // Other codes report 0 for nextHopMtu even if the bytes are non-zero.
    expect(Icmpv4Repr.parse(checked(icmpv4({ type: 3, code: 3, rest: 1400, data: quoted })))).toMatchObject({ nextHopMtu: 0 });
  });

  it('quoted header with options: transport bytes start after IHL*4', () => {
    const quoted = concat(ipv4Header({ protocol: 17, extra: [1, 1, 1, 0] }), u16(5353), u16(53), u16(8), u16(0));
    const q = checked(icmpv4({ type: 3, code: 3, data: quoted })).quoted() as Icmpv4Quoted;
    expect([q.headerLen, q.protocol, q.srcPort, q.dstPort]).toEqual([24, 17, 5353, 53]);
  });

  it('quoted fragment and echo fields', () => {
    const quoted = concat(ipv4Header({ protocol: 1, fragOffset: 1480 }), [8, 0, 0, 0], u16(7), u16(9));
    const q = checked(icmpv4({ type: 11, code: 1, data: quoted })).quoted() as Icmpv4Quoted;
    expect([q.fragmentOffset, q.moreFragments, q.echoIdent, q.echoSeq, q.ttl, q.totalLength]).toEqual([1480, false, 7, 9, 64, 60]);
  });

  it('quoted datagram validation: short, wrong version, IHL < 5; fewer than 8 transport bytes read as absent', () => {
    const good = concat(ipv4Header(), new Uint8Array(8));
    expect(isWireError(Icmpv4Quoted.check(good, 0, good.length))).toBe(false);
    const bad = (b: Uint8Array) => Icmpv4Quoted.check(b, 0, b.length);
    expect(isWireError(bad(good.subarray(0, 19)))).toBe(true);
    const v6 = good.slice();
    v6[0] = 0x65;
    expect(isWireError(bad(v6))).toBe(true);
    const ihl4 = good.slice();
    ihl4[0] = 0x44;
    expect(isWireError(bad(ihl4))).toBe(true);
    // A datagram with a 4-byte payload is quoted whole (RFC 792: up to 64 bits): ports present, seq not.
    const short = bad(good.subarray(0, 24));
    expect(isWireError(short)).toBe(false);
    if (!isWireError(short)) {
      expect(short.transportLength).toBe(4);
      expect(short.dstPort).toBe(0);
      expect(short.tcpSeq).toBe(-1);
      expect(short.echoSeq).toBe(-1);
    }
    const headerOnly = bad(good.subarray(0, 20));
    expect(!isWireError(headerOnly) && headerOnly.srcPort).toBe(-1);
  });

  it('parameter problem pointer and redirect gateway', () => {
    const quoted = concat(ipv4Header(), new Uint8Array(8));
    const pp = checked(icmpv4({ type: 12, code: 0, rest: 0x09000000, data: quoted }));
    expect(Icmpv4Repr.parse(pp)).toEqual({ kind: 'parameterProblem', code: 0, pointer: 9, quotedLen: 28 });
    const gw = parseIpv4('192.0.2.254')!;
    const rd = checked(icmpv4({ type: 5, code: 1, rest: gw, data: quoted }));
    expect(Icmpv4Repr.parse(rd)).toEqual({ kind: 'redirect', code: 1, gateway: gw, quotedLen: 28 });
    expect(rd.gateway).toBe(gw);
  });

  it('recognises RFC 6918 deprecated types (H19) and error types', () => {
    for (const t of [4, 6, 15, 16, 17, 18, 30, 31, 39]) {
      expect(isIcmpv4Deprecated(t)).toBe(true);
      const r = Icmpv4Repr.parse(checked(icmpv4({ type: t, rest: 0xffffff00 })));
      expect(r).toEqual({ kind: 'deprecated', type: t, code: 0, rest: 0xffffff00, dataLen: 0 });
    }
    for (const t of [0, 3, 5, 8, 9, 10, 11, 12, 13, 14, 40]) expect(isIcmpv4Deprecated(t)).toBe(false);
    expect([0, 3, 4, 5, 8, 11, 12, 13].filter(isIcmpv4Error)).toEqual([3, 4, 5, 11, 12]);
    expect(Icmpv4Repr.parse(checked(icmpv4({ type: 13, rest: 5 })))).toMatchObject({ kind: 'other', type: 13 });
  });

  const u16a = fc.integer({ min: 0, max: 0xffff });
  const u8 = fc.integer({ min: 0, max: 255 });
  const n = fc.nat(100);
  const reprArb: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
    fc.record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), ident: u16a, seq: u16a, dataLen: n }),
    fc.record({ kind: fc.constant('destUnreachable' as const), code: fc.constant(4), nextHopMtu: u16a, quotedLen: n }),
    fc.record({ kind: fc.constant('destUnreachable' as const), code: fc.constantFrom(0, 1, 2, 3, 13), nextHopMtu: fc.constant(0), quotedLen: n }),
    fc.record({ kind: fc.constant('timeExceeded' as const), code: fc.constantFrom(0, 1), quotedLen: n }),
    fc.record({ kind: fc.constant('parameterProblem' as const), code: u8, pointer: u8, quotedLen: n }),
    fc.record({ kind: fc.constant('redirect' as const), code: u8, gateway: fc.integer({ min: 0, max: 0xffffffff }), quotedLen: n }),
    fc.record({ kind: fc.constant('deprecated' as const), type: fc.constantFrom(4, 6, 15, 16, 17, 18, 30), code: u8, rest: fc.integer({ min: 0, max: 0xffffffff }), dataLen: n }),
    fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom(9, 10, 13, 14, 42, 253), code: u8, rest: fc.integer({ min: 0, max: 0xffffffff }), dataLen: n }),
  );

  it('emit then check/parse round-trips with a valid checksum', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(4), fc.uint8Array({ minLength: 100, maxLength: 100 }), (r, at, fill) => {
        const len = Icmpv4Repr.bufferLen(r);
        const b = new Uint8Array(at + len);
        b.set(fill.subarray(0, len - 8), at + 8);
        Icmpv4Repr.emit(r, b, at, tsChecksum);
        const p = checked(b, at);
        expect(p.verifyChecksum(tsChecksum)).toBe(true);
        expect(Icmpv4Repr.parse(p)).toEqual(r);
      }),
    );
  });

  it('emit refuses a buffer too small', () => {
    expect(() => Icmpv4Repr.emit({ kind: 'echoRequest', ident: 1, seq: 1, dataLen: 4 }, new Uint8Array(11), 0)).toThrow(EmitError);
  });

  it('random bytes never throw; quoted() stays in bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(90), fc.nat(90), (b, off, len) => {
        const p = Icmpv4Packet.check(b, off, len);
        if (isWireError(p)) return;
        void Icmpv4Repr.parse(p);
        const q = p.quoted();
        if (!isWireError(q)) {
          expect(q.transportOffset + 8).toBeLessThanOrEqual(p.off + p.len);
          void [q.srcPort, q.dstPort, q.tcpSeq, q.src, q.dst];
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated error messages never throw', () => {
    const base = icmpv4({ type: Icmpv4Type.DEST_UNREACHABLE, code: 3, data: concat(ipv4Header({ extra: [1, 1, 1, 1] }), new Uint8Array(8)) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), u8), { maxLength: 4 }), fc.nat(base.length), (muts, cut) => {
        const b = base.slice();
        for (const [i, v] of muts) b[i] = v;
        const p = Icmpv4Packet.check(b, 0, cut);
        if (!isWireError(p)) {
          const q = p.quoted();
          if (!isWireError(q)) {
            expect(q.headerLen).toBeLessThanOrEqual(cut - 8);
            expect(q.transportOffset + q.transportLength).toBeLessThanOrEqual(cut);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
