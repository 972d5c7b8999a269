import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GroupRecordType, IgmpPacket, IgmpRepr, decodeFloatCode8, encodeFloatCode8 } from '../../src/wire/igmp.js';
import { EmitError, isWireError } from '../../src/wire/error.js';
import { hex } from '../../src/wire/bytes.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { igmp, igmpv3Query, igmpv3Report, l4FromFrame } from '../support/build-l4.js';

// tcpdump__igmpv3-queries.pcap frame 1: IGMPv3 general query (IPv4 header with router alert).
const V3_QUERY = '01005e000001020001630000080046c00024000100000102840dc0020002e0000001940400001164ec1e00000000027d0000';
// PcapPlusPlus__IgmpPackets.pcap frames 2 (v2 leave) and 4 (v2 report), group 224.0.0.252.
const V2_LEAVE = '01005e00000200123f9792010800460000201367000001020000a9feff42e00000029404000017000803e00000fc';
const V2_REPORT = '01005e0000fc00123f9792010800460000201368000001028732a9feff42e00000fc9404000016000903e00000fc';

const ip4 = (s: string) => parseIpv4(s)!;

function checked(b: Uint8Array, off = 0, len = b.length - off): IgmpPacket {
  const p = IgmpPacket.check(b, off, len);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

function captured(frameHex: string) {
  const s = l4FromFrame(frameHex);
  expect(s.proto).toBe(2);
  return { s, p: checked(s.frame, s.off, s.len) };
}

describe('igmp', () => {
  it('reads a captured IGMPv3 general query as tshark shows it', () => {
    const { p } = captured(V3_QUERY);
    expect([p.type, p.version, p.maxRespCode, p.maxRespTime, p.checksum, p.groupAddress]).toEqual([0x11, 3, 0x64, 100, 0xec1e, 0]);
    expect([p.suppressRouterProcessing, p.qrv, p.qqic, p.queryInterval, p.numberOfSources]).toEqual([false, 2, 125, 125, 0]);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
  });

  it('reads captured IGMPv2 leave and report', () => {
    const leave = captured(V2_LEAVE).p;
    expect([leave.type, leave.version, leave.maxRespCode, leave.checksum, leave.groupAddress]).toEqual([0x17, 2, 0, 0x0803, ip4('224.0.0.252')]);
    expect(leave.verifyChecksum(tsChecksum)).toBe(true);
    const rep = captured(V2_REPORT).p;
    expect(IgmpRepr.parse(rep)).toEqual({ kind: 'reportV2', group: ip4('224.0.0.252') });
    expect(rep.verifyChecksum(tsChecksum)).toBe(true);
    expect([rep.qrv, rep.numberOfSources, rep.numberOfRecords, rep.maxRespTime]).toEqual([0, 0, 0, 0]);
  });

  it('emit reproduces the captured messages byte for byte', () => {
    for (const f of [V3_QUERY, V2_LEAVE, V2_REPORT]) {
      const { s, p } = captured(f);
      const r = IgmpRepr.parse(p);
      const out = new Uint8Array(IgmpRepr.bufferLen(r));
      IgmpRepr.emit(r, out, 0, tsChecksum);
      expect(hex(out)).toBe(hex(s.frame, s.off, s.len));
    }
  });

  it('detects the query version per RFC 3376 §7.1', () => {
    expect(checked(igmp({ type: 0x11, maxResp: 0 })).version).toBe(1);
    const v2 = checked(igmp({ type: 0x11, maxResp: 100, group: ip4('239.1.2.3') }));
    expect([v2.version, v2.maxRespTime]).toEqual([2, 100]);
    expect(IgmpRepr.parse(v2)).toEqual({ kind: 'query', version: 2, maxRespCode: 100, group: ip4('239.1.2.3') });
    for (const extra of [1, 2, 3]) expect(isWireError(IgmpPacket.check(igmp({ type: 0x11, extra: new Uint8Array(extra) })))).toBe(true);
    expect(checked(igmpv3Query()).version).toBe(3);
    expect(checked(igmp({ type: 0x12 })).version).toBe(1);
    expect(checked(igmp({ type: 0x13 })).version).toBe(0);
    // A v3 query's Max Resp Code uses the float format; a v2 one does not.
    expect(checked(igmpv3Query({ maxResp: 0x8a })).maxRespTime).toBe((0xa | 0x10) << 3);
    expect(checked(igmp({ type: 0x11, maxResp: 0x8a })).maxRespTime).toBe(0x8a);
  });

  it('reads v3 query sources and flags; extra bytes after the sources are ignored', () => {
    const sources = [ip4('192.0.2.1'), ip4('192.0.2.2'), ip4('192.0.2.3')];
    const b = igmpv3Query({ group: ip4('232.1.1.1'), s: true, qrv: 5, qqic: 0x90, sources });
    const p = checked(new Uint8Array([...b, 0xde, 0xad]));
    expect([p.groupAddress, p.suppressRouterProcessing, p.qrv, p.queryInterval, p.numberOfSources]).toEqual([ip4('232.1.1.1'), true, 5, 0x10 << 4, 3]);
    expect(p.sources()).toEqual(sources);
    expect(p.source(2)).toBe(sources[2]);
    expect(() => p.source(3)).toThrow(RangeError);
    expect(isWireError(IgmpPacket.check(b, 0, b.length - 1))).toBe(true);
  });

  it('v3 reports: records with sources and aux data, every record bounded', () => {
    const recs = [
      { type: GroupRecordType.CHANGE_TO_EXCLUDE, group: ip4('239.0.0.1') },
      { type: GroupRecordType.ALLOW_NEW_SOURCES, group: ip4('232.0.0.9'), sources: [ip4('198.51.100.7'), ip4('198.51.100.8')], aux: [9, 9, 9, 9, 8, 8, 8, 8] },
    ];
    const b = igmpv3Report(recs);
    const p = checked(b);
    expect([p.type, p.version, p.numberOfRecords, p.groupAddress]).toEqual([0x22, 3, 2, 0]);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
    expect(p.records()).toEqual([
      { recordType: 4, group: ip4('239.0.0.1'), sources: [] },
      { recordType: 5, group: ip4('232.0.0.9'), sources: recs[1]!.sources, auxData: Uint8Array.from(recs[1]!.aux!) },
    ]);
    for (let cut = 8; cut < b.length; cut++) expect(isWireError(IgmpPacket.check(b, 0, cut))).toBe(true);
    expect(isWireError(IgmpPacket.check(igmpv3Report([], { nrec: 0xffff })))).toBe(true);
    expect(isWireError(IgmpPacket.check(igmpv3Report([{ group: 1, nsrc: 2, sources: [1] }])))).toBe(true);
    expect(isWireError(IgmpPacket.check(igmpv3Report([{ group: 1, auxLen: 255 }])))).toBe(true);
  });

  it('checksum: fill makes verify pass, a flipped bit breaks it', () => {
    const b = igmp({ type: 0x16, group: ip4('239.255.255.250') });
    const p = checked(b);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
    b[7] ^= 1;
    expect(p.verifyChecksum(tsChecksum)).toBe(false);
    p.fillChecksum(tsChecksum);
    expect(p.verifyChecksum(tsChecksum)).toBe(true);
  });

  it('decodes and encodes the 8-bit float code (RFC 3376 §4.1.1)', () => {
    expect([0, 127, 0x80, 0xff].map(decodeFloatCode8)).toEqual([0, 127, 128, 31744]);
    for (let c = 0; c <= 0xff; c++) expect(encodeFloatCode8(decodeFloatCode8(c))).toBe(c);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40000 }), (v) => {
        const d = decodeFloatCode8(encodeFloatCode8(v));
        expect(d).toBeLessThanOrEqual(v);
        if (v < 31744) expect(v - d).toBeLessThan(Math.max(1, v / 16));
      }),
    );
    expect([encodeFloatCode8(-1), encodeFloatCode8(12.7), encodeFloatCode8(1e9)]).toEqual([0, 12, 0xff]);
  });

  const ip = fc.integer({ min: 0, max: 0xffffffff });
  const u8 = fc.integer({ min: 0, max: 255 });
  const aux = fc.integer({ min: 1, max: 3 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }));
  const reprArb: fc.Arbitrary<IgmpRepr> = fc.oneof(
    fc.record({ kind: fc.constant('query' as const), version: fc.constant(1 as const), maxRespCode: fc.constant(0), group: ip }),
    fc.record({ kind: fc.constant('query' as const), version: fc.constant(2 as const), maxRespCode: fc.integer({ min: 1, max: 255 }), group: ip }),
    fc.record({
      kind: fc.constant('query' as const),
      version: fc.constant(3 as const),
      maxRespCode: u8,
      group: ip,
      suppressRouterProcessing: fc.boolean(),
      qrv: fc.integer({ min: 0, max: 7 }),
      qqic: u8,
      sources: fc.array(ip, { maxLength: 5 }),
    }),
    fc.record({ kind: fc.constantFrom('reportV1' as const, 'reportV2' as const, 'leave' as const), group: ip }),
    fc.record({
      kind: fc.constant('reportV3' as const),
      records: fc.array(fc.record({ recordType: fc.integer({ min: 1, max: 6 }), group: ip, sources: fc.array(ip, { maxLength: 4 }), auxData: aux }, { requiredKeys: ['recordType', 'group', 'sources'] }), {
        maxLength: 4,
      }),
    }),
    fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom(0x13, 0x1e, 0x1f, 0x30), maxRespCode: u8, group: ip }),
  );

  it('emit then check/parse round-trips with a valid checksum', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(4), (r, at) => {
        const len = IgmpRepr.bufferLen(r);
        const b = new Uint8Array(at + len).fill(0x5a);
        IgmpRepr.emit(r, b, at, tsChecksum);
        const p = checked(b, at);
        expect(p.verifyChecksum(tsChecksum)).toBe(true);
        expect(IgmpRepr.parse(p)).toEqual(r);
      }),
    );
  });

  it('emit refuses bad aux data and a small buffer', () => {
    expect(() => IgmpRepr.bufferLen({ kind: 'reportV3', records: [{ recordType: 1, group: 1, sources: [], auxData: new Uint8Array(2) }] })).toThrow(EmitError);
    expect(() => IgmpRepr.emit({ kind: 'leave', group: 1 }, new Uint8Array(7), 0)).toThrow(EmitError);
  });

  it('random bytes never throw; records() stays in bounds', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x11, 0x12, 0x16, 0x17, 0x22, 0x42), fc.uint8Array({ maxLength: 80 }), fc.nat(90), (t, body, len) => {
        const b = new Uint8Array([t, ...body]);
        const p = IgmpPacket.check(b, 0, Math.min(len, b.length));
        if (isWireError(p)) return;
        const r = IgmpRepr.parse(p);
        if (r.kind === 'reportV3') expect(r.records.length).toBeLessThanOrEqual(Math.floor((p.len - 8) / 8));
        if (r.kind === 'query' && r.version === 3) expect(12 + 4 * r.sources.length).toBeLessThanOrEqual(p.len);
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated captured query never throws', () => {
    const { s } = captured(V3_QUERY);
    const base = new Uint8Array([...s.frame.slice(s.off, s.off + s.len), ...new Uint8Array(12)]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), u8), { maxLength: 4 }), fc.nat(base.length), (muts, cut) => {
        const b = base.slice();
        for (const [i, v] of muts) b[i] = v;
        const p = IgmpPacket.check(b, 0, cut);
        if (!isWireError(p)) void IgmpRepr.parse(p);
      }),
      { numRuns: 3000 },
    );
  });
});
