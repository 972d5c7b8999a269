import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import {
  firstFragmentHasUpperHeader,
  Ipv6FragmentRepr,
  Ipv6OptionsHeaderRepr,
  Ipv6ParamProblem,
  isIpv6ExtensionHeader,
  parseIpv6Options,
  walkIpv6Chain,
} from '../../src/wire/ipv6-ext.js';
import type { Ipv6Chain, Ipv6Option, Ipv6OptionRepr } from '../../src/wire/ipv6-ext.js';
import { EmitError, isWireError, WireError } from '../../src/wire/error.js';
import { fromHex, writeU32 } from '../../src/wire/bytes.js';
import { concat, ipv6, tcpStub } from '../support/build-l3.js';
import type { ExtSpec } from '../support/build-l3.js';

// Same captures as ipv6.test.ts, IPv6 packets only (Ethernet header removed).
const FRAG_FIRST = fromHex(
  '6000000000802cfffe80000000000000021ff3fffecdf617ff0200000000000000000000000000fb11000001002c5323' +
    '14e914e902e1f77b0000000000170000000b00010b5f6166706f766572746370045f746370056c6f63616c00000c8001045f736d62c018000c8001045f7266' +
    '62c018000c8001065f616469736bc018000c8001085f616972706f7274c018000c80010d5f6170706c6574762d70616972c018000c8001085f',
);
const FRAG_LAST = fromHex(
  '60000000001d2cfffe80000000000000021ff3fffecdf617ff0200000000000000000000000000fb110002d0002c5323' + '001194000c00040008000b001ff3cdf6175127c6b5',
);
const MLD_REPORT = fromHex(
  '600000000038000100000000000000000000000000000000ff0200000000000000000000000000163a000502000001008f' +
    '006d630000000204000000ff0200000000000000000001ff00000204000000ff0200000000000000000001ff00000b',
);

function pkt(b: Uint8Array): Ipv6Packet {
  const p = Ipv6Packet.check(b);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

function walk(b: Uint8Array, max?: number): Ipv6Chain {
  const c = walkIpv6Chain(pkt(b), max);
  if (isWireError(c)) throw new Error(c.toString());
  return c;
}

function fail(b: Uint8Array, max?: number): Ipv6ParamProblem {
  const c = walkIpv6Chain(pkt(b), max);
  if (!(c instanceof Ipv6ParamProblem)) throw new Error('expected a Parameter Problem');
  return c;
}

const summary = (e: Ipv6ParamProblem) => ({ code: e.code, pointer: e.pointer, report: e.report });

describe('ipv6 extension headers', () => {
  it('walks the captured first fragment (tshark: off=0 more=y ident=0x002c5323 nxt=17)', () => {
    const p = pkt(FRAG_FIRST);
    const c = walk(FRAG_FIRST);
    expect(c.headers).toEqual([{ type: 44, offset: 40, length: 8 }]);
    expect(c.fragment).toEqual({ nextHeader: 17, fragOffset: 0, moreFrags: true, ident: 0x002c5323 });
    expect([c.upperProtocol, c.upperOffset, c.nextHeaderPointer, c.fragmentOffset]).toEqual([17, 48, 40, 40]);
    expect(firstFragmentHasUpperHeader(p, c)).toBe(true);
  });

  it('stops at the Fragment header of the captured last fragment (tshark: off=720 more=n)', () => {
    const c = walk(FRAG_LAST);
    expect(c.fragment).toEqual({ nextHeader: 17, fragOffset: 720, moreFrags: false, ident: 0x002c5323 });
    expect([c.upperProtocol, c.upperOffset]).toEqual([17, 48]);
  });

  it('finds the Router Alert of the captured MLD report and lists its options', () => {
    const p = pkt(MLD_REPORT);
    const c = walk(MLD_REPORT);
    expect(c.headers).toEqual([{ type: 0, offset: 40, length: 8 }]);
    expect([c.routerAlert, c.upperProtocol, c.upperOffset, c.nextHeaderPointer, c.jumbo]).toEqual([0, 58, 48, 40, false]);
    expect(parseIpv6Options(p, c.headers[0]!)).toEqual([
      { type: 5, offset: 42, dataLength: 2, action: 0 },
      { type: 1, offset: 46, dataLength: 0, action: 0 },
    ]);
    const hbh = new Uint8Array(8);
    expect(Ipv6OptionsHeaderRepr.emit(Ipv6OptionsHeaderRepr.routerAlert(58, 0), hbh, 0)).toBe(8);
    expect(hbh).toEqual(MLD_REPORT.subarray(40, 48));
  });

  it('walks a long valid chain and reports where the upper layer starts', () => {
    const b = ipv6({
      ext: [
        { type: 'hbh', options: fromHex('1e0400000000') },
        { type: 'dest' },
        { type: 'routing', routingType: 0, segmentsLeft: 0, addresses: 2 },
        { type: 'frag', fragOffset: 0, more: false, ident: 7 },
        { type: 'dest', options: fromHex('0001 00 0000 00') },
      ],
      nextHeader: 6,
      payload: tcpStub(4),
    });
    const c = walk(b);
    expect(c.headers.map((h) => [h.type, h.offset, h.length])).toEqual([
      [0, 40, 8],
      [60, 48, 8],
      [43, 56, 40],
      [44, 96, 8],
      [60, 104, 8],
    ]);
    expect([c.upperProtocol, c.upperOffset, c.nextHeaderPointer, c.fragmentOffset]).toEqual([6, 112, 104, 96]);
    expect(c.fragment).toEqual({ nextHeader: 60, fragOffset: 0, moreFrags: false, ident: 7 });
    expect(firstFragmentHasUpperHeader(pkt(b), c)).toBe(true);
    expect(isIpv6ExtensionHeader(c.upperProtocol)).toBe(false);
  });

  it('reports No Next Header and packets without extension headers', () => {
    expect(walk(ipv6({ nextHeader: 59, payload: new Uint8Array(8) }))).toMatchObject({ headers: [], upperProtocol: 59, upperOffset: 40, nextHeaderPointer: 6 });
    expect(walk(ipv6({ ext: [{ type: 'dest' }], nextHeader: 59 }))).toMatchObject({ upperProtocol: 59, upperOffset: 48, nextHeaderPointer: 40 });
  });

  it('treats what follows a non-first Fragment header as data, however it looks', () => {
    const garbage = fromHex('00ff000000000000'); // would be a Hop-by-Hop header of 2048 bytes
    const b = ipv6({ ext: [{ type: 'dest' }, { type: 'frag', fragOffset: 8, more: true }], nextHeader: 0, payload: garbage });
    const c = walk(b);
    expect([c.upperProtocol, c.upperOffset, c.nextHeaderPointer]).toEqual([0, 56, 48]);
    expect(c.fragment?.fragOffset).toBe(8);
    expect(firstFragmentHasUpperHeader(pkt(b), c)).toBe(true);
  });

  it('bounds the number of headers by the configurable limit', () => {
    const b = ipv6({ ext: [{ type: 'dest' }, { type: 'dest' }, { type: 'dest' }], nextHeader: 17, payload: new Uint8Array(8) });
    expect(walk(b, 3).headers.length).toBe(3);
    expect(summary(fail(b, 2))).toEqual({ code: 0, pointer: 48, report: 'silent' });
  });

  it('refuses a Routing header with segments left of any type, and skips one with none', () => {
    for (const routingType of [0, 2, 4]) {
      const e = fail(ipv6({ ext: [{ type: 'dest' }, { type: 'routing', routingType, segmentsLeft: 1 }], nextHeader: 17 }));
      expect(summary(e)).toEqual({ code: 0, pointer: 48 + 2, report: 'icmp-unless-multicast' });
      expect(e.field).toBe('routing_type');
      const skipped = walk(ipv6({ ext: [{ type: 'routing', routingType, segmentsLeft: 0 }], nextHeader: 17, payload: new Uint8Array(8) }));
      expect([skipped.upperProtocol, skipped.upperOffset]).toEqual([17, 64]);
    }
  });

  it('applies the action bits of unrecognised options (RFC 8200 §4.2)', () => {
    const cases: [number, string | null][] = [
      [0x1e, null],
      [0x5e, 'silent'],
      [0x9e, 'icmp'],
      [0xde, 'icmp-unless-multicast'],
    ];
    for (const [type, report] of cases) {
      for (const where of ['hbh', 'dest'] as const) {
        const b = ipv6({ ext: [{ type: where, options: Uint8Array.of(1, 0, type, 1, 0xaa) }], nextHeader: 17, payload: new Uint8Array(8) });
        const c = walkIpv6Chain(pkt(b));
        if (report === null) {
          expect(isWireError(c)).toBe(false);
          const listed = parseIpv6Options(pkt(b), (c as Ipv6Chain).headers[0]!) as Ipv6Option[];
          expect(listed.map((o) => [o.type, o.offset, o.action])).toEqual([
            [1, 42, 0],
            [type, 44, 0],
            [0, 47, 0], // trailing Pad1
          ]);
        } else {
          const e = c as Ipv6ParamProblem;
          expect({ ...summary(e), action: e.optionAction }).toEqual({ code: 2, pointer: 44, report, action: type >>> 6 });
        }
      }
    }
  });

  it('checks Router Alert and Jumbo Payload options (RFC 2711, RFC 2675 §3)', () => {
    const ra = fail(ipv6({ ext: [{ type: 'hbh', options: fromHex('0503000000') }], nextHeader: 17 }));
    expect(summary(ra)).toEqual({ code: 0, pointer: 43, report: 'silent' });
    // Jumbo with a non-zero Payload Length: pointer at the option type.
    const jumboPl = fail(ipv6({ ext: [{ type: 'hbh', options: fromHex('c20400012000') }], nextHeader: 17, payload: new Uint8Array(8) }));
    expect(summary(jumboPl)).toEqual({ code: 0, pointer: 42, report: 'icmp-unless-multicast' });
    // Jumbo with a bad length: pointer at the length byte.
    const jumboLen = fail(ipv6({ ext: [{ type: 'hbh', options: fromHex('c203000120') }], nextHeader: 17 }));
    expect(summary(jumboLen)).toEqual({ code: 0, pointer: 43, report: 'icmp-unless-multicast' });
    // In Destination Options the Jumbo type is just an unrecognised option with action 11.
    const inDest = fail(ipv6({ ext: [{ type: 'dest', options: fromHex('c20400012000') }], nextHeader: 17 }));
    expect(summary(inDest)).toEqual({ code: 2, pointer: 42, report: 'icmp-unless-multicast' });
  });

  it('accepts a jumbogram and refuses one that is fragmented', () => {
    const n = 70000;
    const hbh = fromHex('3b00c20400000000');
    writeU32(hbh, 4, n);
    const b = ipv6({ payload: concat(hbh, new Uint8Array(n - 8)), nextHeader: 0, payloadLength: 0 });
    const c = walk(b);
    expect([c.jumbo, c.upperProtocol, c.upperOffset]).toEqual([true, 59, 48]);
    const fragged = b.slice();
    fragged[40] = 44; // HbH -> Fragment header (zero bytes: offset 0, M=0)
    expect(summary(fail(fragged))).toEqual({ code: 0, pointer: 48, report: 'icmp-unless-multicast' });
  });

  it('refuses a second Fragment header', () => {
    const e = fail(ipv6({ ext: [{ type: 'frag' }, { type: 'frag' }], nextHeader: 17, payload: new Uint8Array(8) }));
    expect(summary(e)).toEqual({ code: 0, pointer: 40, report: 'silent' });
  });

  it('checks fragment sizes (RFC 8200 §4.5: H26b, H26c)', () => {
    const odd = fail(ipv6({ ext: [{ type: 'frag', more: true }], nextHeader: 17, payload: new Uint8Array(1001) }));
    expect(summary(odd)).toEqual({ code: 0, pointer: 4, report: 'icmp-unless-multicast' });
    expect(odd.field).toBe('payload_length');
    const beyond = fail(ipv6({ ext: [{ type: 'frag', fragOffset: 65528, more: false }], nextHeader: 17, payload: new Uint8Array(16) }));
    expect(summary(beyond)).toEqual({ code: 0, pointer: 42, report: 'icmp-unless-multicast' });
    const last = walk(ipv6({ ext: [{ type: 'frag', fragOffset: 65520, more: false }], nextHeader: 17, payload: new Uint8Array(15) }));
    expect(last.fragment?.fragOffset).toBe(65520);
  });

  it('RFC 7112: a first fragment must hold the whole header chain and the upper-layer header', () => {
    // Chain cut inside the first fragment: code 3, pointer 0.
    const cut = ipv6({ ext: [{ type: 'frag', more: true }, { type: 'dest', hdrExtLen: 1 }], nextHeader: 6 });
    expect(summary(fail(cut))).toEqual({ code: 3, pointer: 0, report: 'icmp-unless-multicast' });
    // Only a DestOpt in the first fragment; TCP would start in fragment 2 (H25).
    const noTcp = ipv6({ ext: [{ type: 'frag', more: true }, { type: 'dest' }], nextHeader: 6 });
    expect(firstFragmentHasUpperHeader(pkt(noTcp), walk(noTcp))).toBe(false);
    // A TCP header whose options run into the next fragment (data offset 8 = 32 bytes, 24 present).
    const splitTcp = ipv6({ ext: [{ type: 'frag', more: true }], nextHeader: 6, payload: tcpStub(0, 8).subarray(0, 24) });
    expect(firstFragmentHasUpperHeader(pkt(splitTcp), walk(splitTcp))).toBe(false);
    const wholeTcp = ipv6({ ext: [{ type: 'frag', more: true }], nextHeader: 6, payload: tcpStub(12) });
    expect(firstFragmentHasUpperHeader(pkt(wholeTcp), walk(wholeTcp))).toBe(true);
    const udp = ipv6({ ext: [{ type: 'frag', more: true }], nextHeader: 17, payload: new Uint8Array(8) });
    expect(firstFragmentHasUpperHeader(pkt(udp), walk(udp))).toBe(true);
    const noUdp = ipv6({ ext: [{ type: 'frag', more: true }, { type: 'dest' }], nextHeader: 17 });
    expect(firstFragmentHasUpperHeader(pkt(noUdp), walk(noUdp))).toBe(false);
    const unfragmented = ipv6({ ext: [{ type: 'dest' }], nextHeader: 6 });
    expect(firstFragmentHasUpperHeader(pkt(unfragmented), walk(unfragmented))).toBe(true);
  });

  it('parseIpv6Options refuses headers that are not options headers or lie outside the packet', () => {
    const p = pkt(FRAG_FIRST);
    expect(isWireError(parseIpv6Options(p, { type: 44, offset: 40, length: 8 }))).toBe(true);
    expect(isWireError(parseIpv6Options(p, { type: 60, offset: 160, length: 16 }))).toBe(true);
    expect(isWireError(parseIpv6Options(p, { type: 60, offset: 8, length: 8 }))).toBe(true);
  });

  it('Fragment header Repr round-trips', () => {
    fc.assert(
      fc.property(
        fc.record({
          nextHeader: fc.integer({ min: 0, max: 255 }),
          fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((u) => u * 8),
          moreFrags: fc.boolean(),
          ident: fc.integer({ min: 0, max: 0xffff_ffff }),
        }),
        fc.nat(4),
        (r, off) => {
          const b = new Uint8Array(off + Ipv6FragmentRepr.bufferLen(r)).fill(0xff);
          Ipv6FragmentRepr.emit(r, b, off);
          expect(b[off + 1]).toBe(0);
          expect(Ipv6FragmentRepr.parse(b, off)).toEqual(r);
        },
      ),
    );
    expect(isWireError(Ipv6FragmentRepr.parse(new Uint8Array(7), 0))).toBe(true);
    expect(() => Ipv6FragmentRepr.emit({ nextHeader: 6, fragOffset: 4, moreFrags: false, ident: 0 }, new Uint8Array(8), 0)).toThrow(EmitError);
  });

  it('options header Repr pads to 8 bytes and the walker reads back what was written', () => {
    const optArb: fc.Arbitrary<Ipv6OptionRepr> = fc.oneof(
      fc.constant({ type: 0, data: new Uint8Array(0) }),
      fc.record({ type: fc.integer({ min: 0x06, max: 0x3f }), data: fc.uint8Array({ maxLength: 20 }) }),
    );
    fc.assert(
      fc.property(fc.array(optArb, { maxLength: 10 }), fc.constantFrom(0, 60), (options, kind) => {
        const r = { nextHeader: 17, options };
        const len = Ipv6OptionsHeaderRepr.bufferLen(r);
        expect(len % 8).toBe(0);
        const hdr = new Uint8Array(len).fill(0xcc);
        expect(Ipv6OptionsHeaderRepr.emit(r, hdr, 0)).toBe(len);
        const b = ipv6({ nextHeader: kind, payload: concat(hdr, new Uint8Array(8)) });
        const c = walk(b);
        expect(c.headers).toEqual([{ type: kind, offset: 40, length: len }]);
        expect([c.upperProtocol, c.upperOffset]).toEqual([17, 40 + len]);
        const listed = parseIpv6Options(pkt(b), c.headers[0]!) as Ipv6Option[];
        const written = listed.slice(0, options.length);
        expect(written.map((o) => [o.type, o.dataLength])).toEqual(options.map((o) => [o.type, o.type === 0 ? 0 : o.data.length]));
        for (const pad of listed.slice(options.length)) expect([0, 1]).toContain(pad.type);
      }),
    );
    expect(() => Ipv6OptionsHeaderRepr.emit({ nextHeader: 17, options: [{ type: 0x1e, data: new Uint8Array(2100) }] }, new Uint8Array(3000), 0)).toThrow(EmitError);
  });

  it('never throws on mutated valid chains, and every success stays inside the packet', () => {
    const specs: ExtSpec[] = [
      { type: 'hbh', options: fromHex('05020000') },
      { type: 'dest', options: fromHex('1e0400000000 0100') },
      { type: 'routing', segmentsLeft: 0, addresses: 1 },
      { type: 'frag', more: true },
      { type: 'dest' },
    ];
    const base = ipv6({ ext: specs, nextHeader: 6, payload: tcpStub(4) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 4, max: base.length - 1 }), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(40), (muts, cut) => {
        const b = base.slice(0, base.length - cut);
        for (const [i, v] of muts) if (i < b.length) b[i] = v;
        const p = Ipv6Packet.check(b);
        if (isWireError(p)) return;
        const c = walkIpv6Chain(p);
        if (c instanceof WireError) {
          expect(c).toBeInstanceOf(Ipv6ParamProblem);
          expect((c as Ipv6ParamProblem).pointer).toBeLessThan(p.len);
          return;
        }
        expect(c.upperOffset).toBeLessThanOrEqual(p.len);
        for (const h of c.headers) {
          expect(h.offset + h.length).toBeLessThanOrEqual(p.len);
          if (h.type === 0 || h.type === 60) {
            const o = parseIpv6Options(p, h);
            if (!isWireError(o)) for (const x of o) expect(x.offset + 2 + x.dataLength).toBeLessThanOrEqual(h.offset + h.length + (x.type === 0 ? 1 : 0));
          }
        }
        firstFragmentHasUpperHeader(p, c);
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on random payloads behind a valid fixed header', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 43, 44, 60), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 10 }), (nh, payload, max) => {
        if (payload.length === 0) return;
        const p = pkt(ipv6({ nextHeader: nh, payload }));
        const c = walkIpv6Chain(p, max);
        if (!isWireError(c)) {
          expect(c.headers.length).toBeLessThanOrEqual(max);
          expect(c.upperOffset).toBeLessThanOrEqual(p.len);
        }
      }),
      { numRuns: 10000 },
    );
  });
});
