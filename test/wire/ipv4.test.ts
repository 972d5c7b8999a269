import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  IPV4_HEADER_LEN,
  Ipv4OptionType,
  Ipv4Packet,
  Ipv4Repr,
  ipv4OptionsValid,
  parseIpv4Options,
} from '../../src/wire/ipv4.js';
import type { Ipv4Options } from '../../src/wire/ipv4.js';
import { EmitError, isWireError, WireError } from '../../src/wire/error.js';
import { fromHex } from '../../src/wire/bytes.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { concat, ipv4 } from '../support/build-l3.js';

// Captured frames (hex from tshark -x; expected values are what tshark prints for them).
// PcapPlusPlus frag_with_padding.pcap frame 8: VLAN-tagged first fragment, Total Length 28 in a 60-byte frame.
const PADDED_FRAGMENT = fromHex(
  '01005e0002023806b438b3428100001308004500001c631260000311073f0a0d0171e0000202a5a2a47624c1cf110000000000000000000000000000',
);
// PcapPlusPlus ip4_fragments.pcap frame 2: first 34 bytes (Ethernet + IPv4 header) of a 1514-byte frame;
// the rest is fragment payload, which the header checksum does not cover.
const FRAGMENT_2 = concat(fromHex('000bdb941470000bdb9414800800450005dc1ea020b9401175240a76d5d40a76d5d3'), new Uint8Array(1514 - 34));
// tcpdump LINKTYPE_RAW_ipv4.pcap frame 1: a DNS query.
const RAW_DNS = fromHex(
  '45000039000100004011a695c0a80164090909093039003500251976123401000001000000000000076578616d706c6503636f6d0000010001',
);
// tcpdump igmpv3-queries.pcap frame 1: IGMPv3 query with a Router Alert option (IHL 6, DSCP CS6).
const IGMP_RA = fromHex('01005e000001020001630000080046c00024000100000102840dc0020002e0000001940400001164ec1e00000000027d0000');

function ok(r: Ipv4Packet | WireError): Ipv4Packet {
  if (isWireError(r)) throw new Error(`unexpected ${r.toString()}`);
  return r;
}

function opts(r: Ipv4Options | WireError): Ipv4Options {
  if (isWireError(r)) throw new Error(`unexpected ${r.toString()}`);
  return r;
}

// Options the checker accepts: NOP, Router Alert, and options with no specific rules (any length 2..8).
const optionArb = fc.oneof(
  fc.constant(Uint8Array.of(1)),
  fc.constant(Uint8Array.of(0x94, 4, 0, 0)),
  fc.tuple(fc.constantFrom(0x1e, 0x5e, 0x88, 0x9e, 0xde), fc.uint8Array({ maxLength: 6 })).map(([t, d]) => Uint8Array.of(t, d.length + 2, ...d)),
);
const optionsArb = fc.array(optionArb, { maxLength: 8 }).map((list) => concat(...list)).filter((o) => o.length <= 40);

const reprArb = fc.record({
  src: fc.integer({ min: 0, max: 0xffff_ffff }),
  dst: fc.integer({ min: 0, max: 0xffff_ffff }),
  protocol: fc.integer({ min: 0, max: 255 }),
  ttl: fc.integer({ min: 0, max: 255 }),
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  ident: fc.integer({ min: 0, max: 0xffff }),
  dontFrag: fc.boolean(),
  moreFrags: fc.boolean(),
  fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((u) => u * 8),
  payloadLen: fc.nat(200),
});

describe('ipv4', () => {
  it('trims a padded VLAN-tagged first fragment to its Total Length (tshark: len 28, DF+MF, ttl 3)', () => {
    const p = ok(Ipv4Packet.check(PADDED_FRAGMENT, 18));
    expect(p.len).toBe(28);
    expect(p.totalLength).toBe(28);
    expect(p.payloadLength).toBe(8);
    expect(p.payload()).toEqual(fromHex('a5a2a47624c1cf11'));
    expect(Ipv4Repr.parse(p)).toEqual({
      src: parseIpv4('10.13.1.113'),
      dst: parseIpv4('224.0.2.2'),
      protocol: 17,
      ttl: 3,
      dscp: 0,
      ecn: 0,
      ident: 0x6312,
      dontFrag: true,
      moreFrags: true,
      fragOffset: 0,
      payloadLen: 8,
    });
    expect(p.isFragment).toBe(true);
    expect(p.checksum).toBe(0x073f);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
  });

  it('reads a non-first fragment (tshark: off=1480, MF, ID 0x1ea0, checksum 0x7524)', () => {
    const p = ok(Ipv4Packet.check(FRAGMENT_2, 14));
    expect([p.totalLength, p.ident, p.moreFrags, p.dontFrag, p.fragOffset, p.ttl, p.protocol]).toEqual([1500, 0x1ea0, true, false, 1480, 64, 17]);
    expect([p.src, p.dst]).toEqual([parseIpv4('10.118.213.212'), parseIpv4('10.118.213.211')]);
    expect(p.checksum).toBe(0x7524);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
    expect(p.payloadLength).toBe(1480);
  });

  it('reads a raw-IP DNS query (tshark: len 57, 192.168.1.100 -> 9.9.9.9)', () => {
    const p = ok(Ipv4Packet.check(RAW_DNS));
    expect([p.len, p.ident, p.ttl, p.protocol, p.checksum, p.isFragment]).toEqual([57, 1, 64, 17, 0xa695, false]);
    expect([p.src, p.dst]).toEqual([parseIpv4('192.168.1.100'), parseIpv4('9.9.9.9')]);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
  });

  it('reads an IGMPv3 query with a Router Alert option (tshark: IHL 6, DSCP CS6)', () => {
    const p = ok(Ipv4Packet.check(IGMP_RA, 14));
    expect([p.ihl, p.headerLen, p.dscp, p.ecn, p.ttl, p.protocol, p.len]).toEqual([6, 24, 48, 0, 1, 2, 36]);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
    const o = opts(parseIpv4Options(p.buf, p.off, p.headerLen));
    expect(o.list).toEqual([{ type: Ipv4OptionType.ROUTER_ALERT, offset: 20, length: 4 }]);
    expect([o.routerAlert, o.sourceRoute, o.recordRoute]).toEqual([true, false, false]);
    expect(Ipv4Repr.parse(p).options).toEqual(fromHex('94040000'));
  });

  it('detects a corrupted header through the checksum, and fillChecksum repairs it', () => {
    const b = ipv4({ payload: new Uint8Array(10) });
    const p = ok(Ipv4Packet.check(b));
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
    p.ttl = p.ttl - 1;
    expect(p.verifyChecksum(tsChecksum)).toBe(false);
    p.fillChecksum(tsChecksum);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
    b[12] ^= 0x80;
    expect(p.verifyChecksum(tsChecksum)).toBe(false);
  });

  it('setters change only their own bits', () => {
    const p = ok(Ipv4Packet.check(ipv4({ dscp: 46, ecn: 2 })));
    p.ecn = 3;
    expect([p.dscp, p.ecn]).toEqual([46, 3]);
    p.dscp = 10;
    expect([p.dscp, p.ecn]).toEqual([10, 3]);
    p.src = 0x0a000001;
    p.dst = 0xc0a80101;
    p.ident = 0xbeef;
    expect([p.src, p.dst, p.ident]).toEqual([0x0a000001, 0xc0a80101, 0xbeef]);
  });

  it('walks options, flagging source route, record route and timestamp', () => {
    const b = ipv4({ options: fromHex('0101 8307 04c0a80001 0707 04 00000000 440c 05 00 0000000000000000'), payload: new Uint8Array(4) });
    const p = ok(Ipv4Packet.check(b));
    const o = opts(parseIpv4Options(b, 0, p.headerLen));
    expect(o.list.map((x) => [x.type, x.offset, x.length])).toEqual([
      [1, 20, 1],
      [1, 21, 1],
      [0x83, 22, 7],
      [0x07, 29, 7],
      [0x44, 36, 12],
    ]);
    expect([o.sourceRoute, o.recordRoute, o.timestamp, o.routerAlert]).toEqual([true, true, true, false]);
    expect(ipv4OptionsValid(b, 0, p.headerLen)).toBe(true);
  });

  it('stops at End of Option List: what follows is padding', () => {
    const b = ipv4({ options: fromHex('00070000') });
    const o = opts(parseIpv4Options(b, 0, 24));
    expect(o.list).toEqual([]);
  });

  it('rejects malformed options with the option and the offending byte', () => {
    const cases: [string, number, RegExp][] = [
      ['0101 01 83', 23, /option 0x83 truncated/],
      ['8302 0000', 21, /length 2 < 3/],
      ['8903 0300', 22, /pointer 3 < 4/],
      ['4403 0500', 21, /length 3 < 4/],
      ['4408 0400 00000000', 22, /pointer 4 < 5/],
      ['9403 0001', 21, /Router Alert|0x94 length 3 != 4/],
      ['8907 04 00000000 8907 04 00000000 0000', 27, /duplicate option 0x89/],
      ['0707 04 00000000 0707 04 00000000 0000', 27, /duplicate option 0x07/],
      ['1e09 0000', 21, /length 9 exceeds 4/],
    ];
    for (const [hexOpts, offset, reason] of cases) {
      const b = ipv4({ options: fromHex(hexOpts) });
      const r = Ipv4Packet.check(b) as WireError;
      expect(isWireError(r), hexOpts).toBe(true);
      expect([r.field, r.offset], hexOpts).toEqual(['option', offset]);
      expect(r.reason).toMatch(reason);
      expect(ipv4OptionsValid(b, 0, (b[0]! & 15) * 4)).toBe(false);
      expect(isWireError(parseIpv4Options(b, 0, (b[0]! & 15) * 4))).toBe(true);
    }
  });

  it('the options walker refuses header lengths outside the buffer', () => {
    const b = ipv4();
    expect(isWireError(parseIpv4Options(b, 0, 24))).toBe(true);
    expect(isWireError(parseIpv4Options(b, 0, 16))).toBe(true);
    expect(ipv4OptionsValid(b, 0, 64)).toBe(false);
    expect(opts(parseIpv4Options(b, 0, 20)).list).toEqual([]);
  });

  it('emit then check round-trips, with options padded to 4 bytes, and ignores trailing padding', () => {
    fc.assert(
      fc.property(reprArb, fc.option(optionsArb, { nil: undefined }), fc.nat(3), fc.nat(20), (base, options, off, trailer) => {
        const r: Ipv4Repr = options && options.length > 0 ? { ...base, options } : base;
        const n = Ipv4Repr.bufferLen(r);
        const b = new Uint8Array(off + n + trailer).fill(0xee);
        Ipv4Repr.emit(r, b, off, tsChecksum);
        const p = ok(Ipv4Packet.check(b, off));
        expect(p.len).toBe(n);
        expect(p.verifyChecksum(tsChecksum)).toBe(true);
        const parsed = Ipv4Repr.parse(p);
        const { options: got, ...rest } = parsed;
        const { options: want, ...wantRest } = r;
        expect(rest).toEqual(wantRest);
        if (want) {
          const padded = new Uint8Array((want.length + 3) & ~3);
          padded.set(want);
          expect(got).toEqual(padded);
        } else expect(got).toBeUndefined();
        expect(Ipv4Repr.headerLen(r)).toBe(p.headerLen);
      }),
    );
  });

  it('emit refuses impossible headers as programmer errors', () => {
    const r: Ipv4Repr = { src: 1, dst: 2, protocol: 17, ttl: 64, dscp: 0, ecn: 0, ident: 0, dontFrag: false, moreFrags: false, fragOffset: 0, payloadLen: 0 };
    const b = new Uint8Array(100);
    expect(() => Ipv4Repr.emit({ ...r, fragOffset: 12 }, b, 0, tsChecksum)).toThrow(EmitError);
    expect(() => Ipv4Repr.emit({ ...r, fragOffset: 65536 }, b, 0, tsChecksum)).toThrow(EmitError);
    expect(() => Ipv4Repr.emit({ ...r, payloadLen: 65516 }, b, 0, tsChecksum)).toThrow(EmitError);
    expect(() => Ipv4Repr.emit({ ...r, options: new Uint8Array(41) }, b, 0, tsChecksum)).toThrow(EmitError);
    expect(() => Ipv4Repr.emit({ ...r, dscp: 64 }, b, 0, tsChecksum)).toThrow(EmitError);
    expect(() => Ipv4Repr.emit(r, new Uint8Array(19), 0, tsChecksum)).toThrow(EmitError);
    expect(() => Ipv4Repr.emit({ ...r, payloadLen: 65515 }, b, 0, tsChecksum)).not.toThrow();
  });

  it('never throws on random bytes and stays in bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 90 }), fc.nat(100), fc.nat(100), (b, off, len) => {
        if (b.length > 0) b[0] = 0x40 | (b[0]! & 0x0f); // most random bytes would fail the version test
        const r = Ipv4Packet.check(b, off, len);
        if (!isWireError(r)) {
          expect(r.off + r.len).toBeLessThanOrEqual(Math.min(b.length, off + len));
          expect(r.headerLen).toBeGreaterThanOrEqual(IPV4_HEADER_LEN);
          expect(r.payloadLength).toBeGreaterThanOrEqual(0);
          if (r.headerLen > 20) expect(isWireError(parseIpv4Options(r.buf, r.off, r.headerLen))).toBe(false);
          Ipv4Repr.parse(r);
        }
      }),
      { numRuns: 10000 },
    );
  });

  it('never throws on mutated valid packets with options', () => {
    const base = ipv4({ options: fromHex('01 9404 0000 8307 04c0a80001 440c 0500 0000000000000000'), payload: new Uint8Array(12) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 5 }), fc.nat(base.length), (muts, cut) => {
        const b = base.slice(0, base.length - cut);
        for (const [i, v] of muts) if (i < b.length) b[i] = v;
        const r = Ipv4Packet.check(b);
        if (!isWireError(r)) {
          expect(r.off + r.len).toBeLessThanOrEqual(b.length);
          const o = parseIpv4Options(b, 0, r.headerLen);
          expect(isWireError(o)).toBe(false);
          for (const x of (o as Ipv4Options).list) expect(x.offset + x.length).toBeLessThanOrEqual(r.headerLen);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
