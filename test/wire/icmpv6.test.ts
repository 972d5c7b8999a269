import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Icmpv6Packet, Icmpv6Quoted, Icmpv6Repr, Icmpv6Type, isIcmpv6Error } from '../../src/wire/icmpv6.js';
import { EmitError, isWireError } from '../../src/wire/error.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { pseudoHeaderSumV6 } from '../../src/checksum/internet.js';
import type { Ipv6Address } from '../../src/wire/address.js';
import { V6_DST, V6_SRC, concat, icmpv6, ipv6Header, l4FromFrame, u16, u32 } from '../support/build-l4.js';

// tcpdump__icmpv6-ns-nonce.pcap frame 1 (DAD NS, checksum 0x566e "correct" per tshark).
const NS_NONCE =
  '3333ffe1000f566ff7e1000f86dd6000000000203aff00000000000000000000000000000000ff0200000000000000000001ffe1000f8700566e00000000fe80000000000000546ff7fffee1000f0e016069604c0aaa';

function checked(b: Uint8Array, off = 0, len = b.length - off): Icmpv6Packet {
  const p = Icmpv6Packet.check(b, off, len);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

const ps = (len: number) => pseudoHeaderSumV6(V6_SRC, V6_DST, 58, len);

describe('icmpv6', () => {
  it('verifies the checksum of a captured message with the pseudo-header from its IPv6 header', () => {
    const s = l4FromFrame(NS_NONCE);
    const p = checked(s.frame, s.off, s.len);
    expect([p.type, p.code, p.checksum]).toEqual([135, 0, 0x566e]);
    const sum = pseudoHeaderSumV6(s.src as Ipv6Address, s.dst as Ipv6Address, 58, s.len);
    expect(p.verifyChecksum(tsChecksum, sum)).toBe(true);
    expect(p.verifyChecksum(tsChecksum, pseudoHeaderSumV6(V6_SRC, s.dst as Ipv6Address, 58, s.len))).toBe(false);
    expect(Icmpv6Repr.parse(p)).toEqual({ kind: 'other', type: 135, code: 0, rest: 0, dataLen: 24 });
  });

  it('reads echo fields and data', () => {
    const b = icmpv6({ type: 129, ident: 0x1234, seq: 7, data: [1, 2, 3] });
    const p = checked(b);
    expect([p.echoIdent, p.echoSeq, p.dataLength, p.isError]).toEqual([0x1234, 7, 3, false]);
    expect(Array.from(p.data())).toEqual([1, 2, 3]);
    expect(p.verifyChecksum(tsChecksum, ps(b.length))).toBe(true);
    expect(Icmpv6Repr.parse(p)).toEqual({ kind: 'echoReply', ident: 0x1234, seq: 7, dataLen: 3 });
  });

  it('packet too big MTU, parameter problem pointer, error classification', () => {
    const quoted = concat(ipv6Header(), new Uint8Array(8));
    expect(Icmpv6Repr.parse(checked(icmpv6({ type: 2, rest: 1280, data: quoted })))).toEqual({ kind: 'packetTooBig', mtu: 1280, quotedLen: 48 });
    expect(Icmpv6Repr.parse(checked(icmpv6({ type: 4, code: 1, rest: 40, data: quoted })))).toEqual({
      kind: 'parameterProblem',
      code: 1,
      pointer: 40,
      quotedLen: 48,
    });
    expect([1, 2, 3, 4, 127, 128, 135, 255].map(isIcmpv6Error)).toEqual([true, true, true, true, true, false, false, false]);
  });

  it('quoted packet: walks Hop-by-Hop and Destination options to reach TCP ports and seq', () => {
    const hbh = [60, 0, 5, 2, 0, 0, 1, 0]; // next: DestOpt, router alert
    const dst = [6, 1, ...new Array<number>(14).fill(0)]; // next: TCP, 16 bytes (PadN-free zeros are Pad1)
    const quoted = concat(ipv6Header({ nextHeader: 0 }), hbh, dst, u16(40000), u16(443), u32(0xcafef00d), u32(0));
    const p = checked(icmpv6({ type: 1, code: 4, data: quoted }));
    const q = p.quoted() as Icmpv6Quoted;
    expect(isWireError(q)).toBe(false);
    expect([q.nextHeader, q.upperProtocol, q.upperOffset - p.dataOffset, q.upperLength]).toEqual([0, 6, 64, 12]);
    expect([q.srcPort, q.dstPort, q.tcpSeq]).toEqual([40000, 443, 0xcafef00d]);
    expect(Array.from(q.src)).toEqual(Array.from(V6_DST));
    expect([q.hopLimit, q.payloadLength]).toEqual([64, 20]);
  });

  it('quoted packet: upper layer unreachable or short reports -1 instead of reading past the quote', () => {
    const frag = (offset: number) => concat(ipv6Header({ nextHeader: 44 }), [17, 0, ...u16(offset), 0, 0, 0, 1], u16(1), u16(2), u16(3), u16(4));
    const first = Icmpv6Quoted.check(frag(0), 0, frag(0).length) as Icmpv6Quoted;
    expect([first.upperProtocol, first.srcPort, first.dstPort]).toEqual([17, 1, 2]);
    const later = Icmpv6Quoted.check(frag(8 * 185), 0, frag(8 * 185).length) as Icmpv6Quoted;
    expect([later.upperProtocol, later.upperLength, later.srcPort, later.tcpSeq]).toEqual([-1, 0, -1, -1]);
    // Destination options header claiming 2048 bytes in a short quote.
    const long = concat(ipv6Header({ nextHeader: 60 }), [6, 255, 0, 0, 0, 0, 0, 0]);
    expect((Icmpv6Quoted.check(long, 0, long.length) as Icmpv6Quoted).upperProtocol).toBe(-1);
    // Only 2 transport bytes quoted.
    const short = concat(ipv6Header({ nextHeader: 6 }), [0x9c, 0x40]);
    const sq = Icmpv6Quoted.check(short, 0, short.length) as Icmpv6Quoted;
    expect([sq.upperProtocol, sq.upperLength, sq.srcPort, sq.echoIdent]).toEqual([6, 2, -1, -1]);
  });

  it('quoted packet: a chain longer than the walk bound stops without error', () => {
    const chain = new Array(20).fill(0).flatMap(() => [60, 0, 1, 4, 0, 0, 0, 0]);
    const b = concat(ipv6Header({ nextHeader: 60 }), chain);
    const q = Icmpv6Quoted.check(b, 0, b.length) as Icmpv6Quoted;
    expect(isWireError(q)).toBe(false);
    expect(q.upperProtocol).toBe(-1);
  });

  it('quoted packet validation: shorter than 40 bytes or not version 6', () => {
    const h = ipv6Header();
    expect(isWireError(Icmpv6Quoted.check(h, 0, 39))).toBe(true);
    const v4 = h.slice();
    v4[0] = 0x45;
    expect(isWireError(Icmpv6Quoted.check(v4, 0, 40))).toBe(true);
    expect(isWireError(checked(icmpv6({ type: 1, data: [1, 2, 3] })).quoted())).toBe(true);
  });

  it('messages of other types need only the 4-byte base header', () => {
    const b = icmpv6({ type: 200, body: [] });
    expect(b.length).toBe(4);
    const p = checked(b);
    expect([p.rest, p.echoIdent, p.dataLength]).toEqual([0, 0, 0]);
    expect(isWireError(Icmpv6Packet.check(b, 0, 3))).toBe(true);
  });

  const u8 = fc.integer({ min: 0, max: 255 });
  const u16a = fc.integer({ min: 0, max: 0xffff });
  const u32a = fc.integer({ min: 0, max: 0xffffffff });
  const n = fc.nat(100);
  const reprArb: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
    fc.record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), ident: u16a, seq: u16a, dataLen: n }),
    fc.record({ kind: fc.constant('destUnreachable' as const), code: u8, quotedLen: n }),
    fc.record({ kind: fc.constant('packetTooBig' as const), mtu: u32a, quotedLen: n }),
    fc.record({ kind: fc.constant('timeExceeded' as const), code: u8, quotedLen: n }),
    fc.record({ kind: fc.constant('parameterProblem' as const), code: u8, pointer: u32a, quotedLen: n }),
    fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom(0, 5, 127, 130, 143, 200, 255), code: u8, rest: u32a, dataLen: n }),
  );

  it('emit then check/parse round-trips with a valid pseudo-header checksum', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(4), fc.uint8Array({ minLength: 100, maxLength: 100 }), (r, at, fill) => {
        const len = Icmpv6Repr.bufferLen(r);
        const b = new Uint8Array(at + len);
        b.set(fill.subarray(0, len - 8), at + 8);
        Icmpv6Repr.emit(r, b, at, tsChecksum, ps(len));
        const p = checked(b, at);
        expect(p.verifyChecksum(tsChecksum, ps(len))).toBe(true);
        expect(Icmpv6Repr.parse(p)).toEqual(r);
        p.fillChecksum(tsChecksum, ps(len));
        expect(p.verifyChecksum(tsChecksum, ps(len))).toBe(true);
      }),
    );
  });

  it('emit refuses a buffer too small', () => {
    expect(() => Icmpv6Repr.emit({ kind: 'packetTooBig', mtu: 1280, quotedLen: 10 }, new Uint8Array(17), 0)).toThrow(EmitError);
  });

  it('random bytes never throw; quoted() stays in bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(130), fc.nat(130), (b, off, len) => {
        const p = Icmpv6Packet.check(b, off, len);
        if (isWireError(p)) return;
        void Icmpv6Repr.parse(p);
        const q = p.quoted();
        if (!isWireError(q)) {
          expect(q.upperOffset).toBeLessThanOrEqual(p.off + p.len);
          void [q.srcPort, q.dstPort, q.tcpSeq, q.src, q.echoSeq];
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated error messages with extension headers never throw', () => {
    const base = icmpv6({ type: Icmpv6Type.TIME_EXCEEDED, data: concat(ipv6Header({ nextHeader: 0 }), [6, 0, 1, 4, 0, 0, 0, 0], new Uint8Array(20)) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), u8), { maxLength: 4 }), fc.nat(base.length), (muts, cut) => {
        const b = base.slice();
        for (const [i, v] of muts) b[i] = v;
        const p = Icmpv6Packet.check(b, 0, cut);
        if (!isWireError(p)) {
          const q = p.quoted();
          if (!isWireError(q)) expect(q.upperOffset + q.upperLength).toBeLessThanOrEqual(cut);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
