import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MldPacket, MldRepr, MldType, decodeMldMaxRespCode, encodeMldMaxRespCode } from '../../src/wire/mld.js';
import { Icmpv6Packet } from '../../src/wire/icmpv6.js';
import { EmitError, isWireError } from '../../src/wire/error.js';
import { hex } from '../../src/wire/bytes.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { pseudoHeaderSumV6 } from '../../src/checksum/internet.js';
import { parseIpv6 } from '../../src/wire/address.js';
import type { Ipv6Address } from '../../src/wire/address.js';
import { V6_DST, V6_SRC, l4FromFrame, mldV1, mldV2Query, mldV2Report } from '../support/build-l4.js';

// tcpdump__icmpv6.pcap frame 3 (MLDv2 general query) and frame 4 (MLDv2 report, 4 records); both
// behind a Hop-by-Hop router-alert header.
const QUERY_V2 =
  '333300000001b0a86e0cd4e886dd6000000000240001fe80000000000000b2a86efffe0cd4e8ff0200000000000000000000000000013a000502000001008200623a2710000000000000000000000000000000000000023c0000';
const REPORT_V2 =
  '333300000016001517cce54686dd6000000000600001fe80000000000000021517fffecce546ff0200000000000000000000000000163a000502000001008f002a0e0000000402000000ff0200000000000000000db81122334402000000ff0200000000000000000001ffcce54602000000ff0200000000000000000001ffa710ad02000000ff0200000000000000000001ff000002';
// recorded__dnsmasq_dhcp4_dhcp6_ra_dns.pcap frame 12: 5 "changed to exclude" records.
const REPORT_V2_DNSMASQ =
  '33330000001602000000000a86dd6000000000740001fe80000000000000000000fffe00000aff0200000000000000000000000000163a000502000001008f0066860000000504000000ff02000000000000000000000000000204000000ff05000000000000000000000001000304000000ff02000000000000000000000001000204000000ff0200000000000000000001ff00000104000000ff0200000000000000000001ff00000a';

const ip6 = (s: string): Ipv6Address => parseIpv6(s)!;

function checked(b: Uint8Array, off = 0, len = b.length - off): MldPacket {
  const p = MldPacket.check(b, off, len);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

function captured(frameHex: string) {
  const s = l4FromFrame(frameHex);
  expect(s.proto).toBe(58);
  const ps = pseudoHeaderSumV6(s.src as Ipv6Address, s.dst as Ipv6Address, 58, s.len);
  expect((Icmpv6Packet.check(s.frame, s.off, s.len) as Icmpv6Packet).verifyChecksum(tsChecksum, ps)).toBe(true);
  return { s, p: checked(s.frame, s.off, s.len), ps };
}

describe('mld', () => {
  it('reads a captured MLDv2 general query as tshark shows it', () => {
    const { p } = captured(QUERY_V2);
    expect([p.type, p.version, p.maxResponseCode, p.maxResponseDelay, p.checksum]).toEqual([130, 2, 10000, 10000, 0x623a]);
    expect(p.multicastAddress).toEqual(new Uint8Array(16));
    expect([p.suppressRouterProcessing, p.qrv, p.qqic, p.queryInterval, p.numberOfSources]).toEqual([false, 2, 60, 60, 0]);
  });

  it('reads captured MLDv2 reports record by record', () => {
    const { p } = captured(REPORT_V2);
    expect([p.version, p.numberOfRecords]).toEqual([2, 4]);
    expect(p.records()).toEqual(
      ['ff02::db8:1122:3344', 'ff02::1:ffcc:e546', 'ff02::1:ffa7:10ad', 'ff02::1:ff00:2'].map((a) => ({ recordType: 2, multicastAddress: ip6(a), sources: [] })),
    );
    const d = captured(REPORT_V2_DNSMASQ);
    expect(d.p.records().map((r) => [r.recordType, r.multicastAddress])).toEqual(
      ['ff02::2', 'ff05::1:3', 'ff02::1:2', 'ff02::1:ff00:1', 'ff02::1:ff00:a'].map((a) => [4, ip6(a)]),
    );
  });

  it('emit reproduces the captured query and report byte for byte', () => {
    for (const c of [captured(QUERY_V2), captured(REPORT_V2), captured(REPORT_V2_DNSMASQ)]) {
      const r = MldRepr.parse(c.p);
      const out = new Uint8Array(MldRepr.bufferLen(r));
      MldRepr.emit(r, out, 0, tsChecksum, c.ps);
      expect(hex(out)).toBe(hex(c.s.frame, c.s.off, c.s.len));
    }
  });

  it('tells query versions apart by length (RFC 3810 §8.1)', () => {
    const g = ip6('ff02::fb');
    const v1 = mldV1(130, 1000, g);
    expect(v1.length).toBe(24);
    const p1 = checked(v1);
    expect([p1.version, p1.maxResponseDelay, p1.qrv, p1.numberOfSources]).toEqual([1, 1000, 0, 0]);
    expect(p1.multicastAddress).toEqual(g);
    const padded = new Uint8Array(28);
    padded.set(v1);
    expect(checked(padded).version).toBe(2);
    for (const n of [23, 25, 26, 27]) {
      const b = new Uint8Array(28);
      b.set(v1.subarray(0, Math.min(24, n)));
      expect(isWireError(MldPacket.check(b, 0, n))).toBe(true);
    }
    expect(checked(mldV1(131, 0, g)).version).toBe(1);
    expect(checked(mldV1(132, 0, g)).type).toBe(MldType.V1_DONE);
    expect(isWireError(MldPacket.check(mldV1(131, 0, g), 0, 23))).toBe(true);
    expect(isWireError(MldPacket.check(mldV1(128, 0, g)))).toBe(true);
  });

  it('reads v2 query sources and flags', () => {
    const srcs = [ip6('2001:db8::1'), ip6('2001:db8::2')];
    const p = checked(mldV2Query({ maxResp: 0x8123, group: ip6('ff3e::1'), s: true, qrv: 7, qqic: 0x85, sources: srcs }));
    expect([p.suppressRouterProcessing, p.qrv, p.qqic, p.queryInterval, p.numberOfSources]).toEqual([true, 7, 0x85, (0x15 << 3) * 1, 2]);
    expect(p.maxResponseDelay).toBe((0x123 | 0x1000) << 3);
    expect(p.sources()).toEqual(srcs);
    expect(p.source(1)).toEqual(srcs[1]);
    expect(() => p.source(2)).toThrow(RangeError);
  });

  it('v2 records with sources and aux data are bounded by the bytes present', () => {
    const rec = { type: 1, group: ip6('ff3e::1234'), sources: [ip6('2001:db8::9')], aux: [1, 2, 3, 4] };
    const b = mldV2Report([rec, { type: 6, group: ip6('ff3e::1'), sources: [] }]);
    const p = checked(b);
    expect(p.records()).toEqual([
      { recordType: 1, multicastAddress: rec.group, sources: rec.sources, auxData: Uint8Array.from([1, 2, 3, 4]) },
      { recordType: 6, multicastAddress: ip6('ff3e::1'), sources: [] },
    ]);
    for (let cut = 8; cut < b.length; cut++) expect(isWireError(MldPacket.check(b, 0, cut))).toBe(true);
    expect(isWireError(MldPacket.check(mldV2Report([], { nrec: 1 })))).toBe(true);
    expect(isWireError(MldPacket.check(mldV2Report([{ group: ip6('ff3e::1'), nsrc: 1 }])))).toBe(true);
    expect(isWireError(MldPacket.check(mldV2Report([{ group: ip6('ff3e::1'), auxLen: 1 }])))).toBe(true);
    // Trailing bytes after the last record are ignored.
    expect(checked(new Uint8Array([...b, 0, 0, 0, 0])).numberOfRecords).toBe(2);
  });

  it('decodes and encodes the Maximum Response Code (RFC 3810 §5.1.3)', () => {
    expect([0, 1, 32767, 0x8000, 0xffff].map(decodeMldMaxRespCode)).toEqual([0, 1, 32767, 32768, 0x1fff << 10]);
    for (let c = 0; c <= 0xffff; c++) expect(encodeMldMaxRespCode(decodeMldMaxRespCode(c))).toBe(c);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (v) => {
        const d = decodeMldMaxRespCode(encodeMldMaxRespCode(v));
        expect(d).toBeLessThanOrEqual(v);
        if (v < 8387584) expect(v - d).toBeLessThan(Math.max(1, v / 4096));
      }),
    );
    expect([encodeMldMaxRespCode(-5), encodeMldMaxRespCode(1e12)]).toEqual([0, 0xffff]);
  });

  const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const u16a = fc.integer({ min: 0, max: 0xffff });
  const aux = fc.integer({ min: 1, max: 3 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }));
  const reprArb: fc.Arbitrary<MldRepr> = fc.oneof(
    fc.record({ kind: fc.constant('query' as const), version: fc.constant(1 as const), maxResponseCode: u16a, multicastAddress: addr }),
    fc.record({
      kind: fc.constant('query' as const),
      version: fc.constant(2 as const),
      maxResponseCode: u16a,
      multicastAddress: addr,
      suppressRouterProcessing: fc.boolean(),
      qrv: fc.integer({ min: 0, max: 7 }),
      qqic: fc.integer({ min: 0, max: 255 }),
      sources: fc.array(addr, { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constantFrom('report' as const, 'done' as const), multicastAddress: addr }),
    fc.record({
      kind: fc.constant('reportV2' as const),
      records: fc.array(
        fc.record(
          { recordType: fc.integer({ min: 1, max: 6 }), multicastAddress: addr, sources: fc.array(addr, { maxLength: 3 }), auxData: aux },
          { requiredKeys: ['recordType', 'multicastAddress', 'sources'] },
        ),
        { maxLength: 4 },
      ),
    }),
  );

  it('emit then check/parse round-trips with a valid ICMPv6 checksum', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(4), (r, at) => {
        const len = MldRepr.bufferLen(r);
        const b = new Uint8Array(at + len);
        const ps = pseudoHeaderSumV6(V6_SRC, V6_DST, 58, len);
        MldRepr.emit(r, b, at, tsChecksum, ps);
        expect((Icmpv6Packet.check(b, at) as Icmpv6Packet).verifyChecksum(tsChecksum, ps)).toBe(true);
        expect(MldRepr.parse(checked(b, at))).toEqual(r);
      }),
    );
  });

  it('emit refuses bad aux data and a small buffer', () => {
    expect(() => MldRepr.bufferLen({ kind: 'reportV2', records: [{ recordType: 1, multicastAddress: V6_DST, sources: [], auxData: new Uint8Array(3) }] })).toThrow(EmitError);
    expect(() => MldRepr.emit({ kind: 'report', multicastAddress: V6_DST }, new Uint8Array(23), 0)).toThrow(EmitError);
  });

  it('random bytes never throw; records() stays in bounds', () => {
    fc.assert(
      fc.property(fc.constantFrom(130, 131, 132, 143, 7), fc.uint8Array({ maxLength: 140 }), fc.nat(150), (t, body, len) => {
        const b = new Uint8Array([t, ...body]);
        const p = MldPacket.check(b, 0, Math.min(len, b.length));
        if (isWireError(p)) return;
        const r = MldRepr.parse(p);
        if (r.kind === 'reportV2') expect(r.records.length).toBeLessThanOrEqual(Math.floor((p.len - 8) / 20));
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated captured reports never throw', () => {
    const s = l4FromFrame(REPORT_V2);
    const base = s.frame.slice(s.off, s.off + s.len);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }), fc.nat(base.length), (muts, cut) => {
        const b = base.slice();
        for (const [i, v] of muts) b[i] = v;
        const p = MldPacket.check(b, 0, cut);
        if (!isWireError(p)) void MldRepr.parse(p);
      }),
      { numRuns: 3000 },
    );
  });
});
