// The streaming reader on synthetic input: each header field and block rule of pcap and pcapng,
// the error values (offset, kind, index), the block-size guard, and the lending contract.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CaptureReader, detectCaptureFormat, isCaptureError, readCaptureBytes, recordDirection, recordTimestampNs } from '../../src/wire/capture.js';
import type { CaptureInterface, CaptureRecord } from '../../src/wire/capture.js';
import {
  Bytes,
  collect,
  collectChunked,
  concat,
  diffCollected,
  ngBlock,
  ngEpb,
  ngIdb,
  ngOption,
  ngShb,
  pcapHeader,
  pcapRecord,
} from './support.js';

const frame = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('format detection', () => {
  it('recognises the four pcap magics and the pcapng SHB type, nothing else', () => {
    expect(detectCaptureFormat(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1))).toBe('pcap');
    expect(detectCaptureFormat(Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4))).toBe('pcap');
    expect(detectCaptureFormat(Uint8Array.of(0x4d, 0x3c, 0xb2, 0xa1))).toBe('pcap');
    expect(detectCaptureFormat(Uint8Array.of(0xa1, 0xb2, 0x3c, 0x4d))).toBe('pcap');
    expect(detectCaptureFormat(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a))).toBe('pcapng');
    expect(detectCaptureFormat(Uint8Array.of(0xa1, 0xb2, 0xcd, 0x34))).toBeNull(); // Kuznetzov's modified pcap
    expect(detectCaptureFormat(Uint8Array.of(0x0a, 0x0d, 0x0d))).toBeNull();
  });

  it('an empty input, a short one and an unknown magic are errors at offset 0', () => {
    expect(collect(new Uint8Array(0)).error?.reason).toBe('empty file');
    expect(collect(Uint8Array.of(0xd4, 0xc3)).error?.reason).toMatch(/truncated: 2 bytes/);
    const e = collect(text('GIF89a..........................')).error!;
    expect(e).toMatchObject({ code: 'ECAPTURE', kind: 'file', offset: 0, index: -1 });
    expect(e.reason).toMatch(/magic 47494638/);
    expect(isCaptureError(e)).toBe(true);
    expect(isCaptureError(new Error('x'))).toBe(false);
  });

  it('a forced format rejects the other one', () => {
    const file = concat([pcapHeader(true, false, 1)]);
    expect(collect(file, [], { format: 'pcapng' }).error?.reason).toMatch(/pcap file, expected pcapng/);
    expect(collect(file, [], { format: 'pcap' }).error).toBeNull();
  });
});

describe('pcap', () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`${le ? 'little' : 'big'}-endian ${nano ? 'nanosecond' : 'microsecond'} records decode exactly`, () => {
        const frac = nano ? 123_456_789 : 654_321;
        const file = concat([
          pcapHeader(le, nano, 1, 1500),
          pcapRecord(le, 1_700_000_000, frac, frame(60), 60),
          pcapRecord(le, 0xffffffff, 0, frame(10, 2), 1514),
        ]);
        const ifaces: CaptureInterface[] = [];
        const recs: CaptureRecord[] = [];
        const r = new CaptureReader((rec) => recs.push({ ...rec, data: rec.data.slice() }), { onInterface: (i) => ifaces.push(i) });
        r.push(file);
        expect(r.end()).toBeNull();
        expect(ifaces).toEqual([
          expect.objectContaining({ linkType: 1, snaplen: 1500, littleEndian: le, tsResolution: { base: 10, exponent: nano ? 9 : 6 }, fcsLength: -1 }),
        ]);
        expect(recs).toHaveLength(2);
        expect(recs[0]).toMatchObject({ tsSec: 1_700_000_000, tsNsec: nano ? frac : frac * 1000, capturedLength: 60, originalLength: 60, index: 0, offset: 24 });
        expect(recs[0]!.data).toEqual(frame(60));
        // Seconds are unsigned 32-bit; caplen < len for a snapped frame.
        expect(recs[1]).toMatchObject({ tsSec: 4294967295, tsNsec: 0, capturedLength: 10, originalLength: 1514, index: 1, offset: 24 + 16 + 60 });
        expect(recordTimestampNs(recs[0]!)).toBe(1_700_000_000n * 1_000_000_000n + BigInt(nano ? frac : frac * 1000));
      });
    }
  }

  it('reads the FCS length from the upper bits of the link-type word', () => {
    const lt = (1 | 0x04000000 | (2 << 28)) >>> 0; // P bit, 2 sixteen-bit words of FCS
    const { records, error } = collect(concat([pcapHeader(true, false, lt), pcapRecord(true, 1, 2, frame(64))]));
    expect(error).toBeNull();
    expect(records[0]).toMatchObject({ linkType: 1, fcsLength: 4 });
    // Without the P bit the FCS length is unknown even if the nibble is set.
    const noP = collect(concat([pcapHeader(true, false, (1 | (2 << 28)) >>> 0), pcapRecord(true, 1, 2, frame(64))]));
    expect(noP.records[0]).toMatchObject({ linkType: 1, fcsLength: -1 });
  });

  it('a microsecond field >= 1e6 is an error naming the record and the field offset', () => {
    const file = concat([pcapHeader(true, false, 1), pcapRecord(true, 5, 999_999, frame(20)), pcapRecord(true, 6, 1_000_000, frame(20))]);
    const { records, error } = collect(file);
    expect(records).toHaveLength(1);
    expect(error).toMatchObject({ kind: 'pcap-record', index: 1, offset: 24 + 36 + 4 });
  });

  it('a caplen beyond the block-size bound is rejected before its data arrives', () => {
    const hdr = new Bytes(true).u32(1).u32(0).u32(0x7fffffff).u32(60).bytes();
    const r = new CaptureReader(() => undefined);
    // No data follows the record header: the reader must not wait for (or allocate) 2 GiB.
    expect(r.push(concat([pcapHeader(true, false, 1), hdr]))).toBe(false);
    expect(r.error).toMatchObject({ kind: 'pcap-record', index: 0, offset: 32 });
    expect(r.error!.reason).toMatch(/caplen 2147483647 exceeds 262192/);
  });

  it('caplen above snaplen is tolerated by default (as libpcap) and rejected with strictSnaplen', () => {
    const file = concat([pcapHeader(true, false, 1, 64), pcapRecord(true, 1, 0, frame(100))]);
    expect(collect(file).records).toHaveLength(1);
    expect(collect(file, [], { strictSnaplen: true }).error?.reason).toMatch(/caplen 100 exceeds 64/);
  });

  it('version 2.3 files with caplen and len swapped are read the way libpcap reads them', () => {
    const file = concat([pcapHeader(true, false, 1, 65535, 3), new Bytes(true).u32(1).u32(0).u32(100).u32(10).raw(frame(10)).bytes()]);
    const { records, error } = collect(file);
    expect(error).toBeNull();
    expect(records[0]).toMatchObject({ capturedLength: 10, originalLength: 100 });
  });

  it('rejects an unsupported major version', () => {
    const h = pcapHeader(true, false, 1);
    h[4] = 3;
    expect(collect(h).error).toMatchObject({ kind: 'pcap-header', offset: 0 });
  });

  it('a header-only file is a valid empty capture; a cut header or record is an error at the unit', () => {
    expect(collect(pcapHeader(false, true, 101))).toEqual({ records: [], error: null });
    expect(collect(pcapHeader(true, false, 1).subarray(0, 20)).error).toMatchObject({ kind: 'pcap-header' });
    const file = concat([pcapHeader(true, false, 1), pcapRecord(true, 1, 0, frame(30)), pcapRecord(true, 2, 0, frame(30))]);
    const cut = collect(file.subarray(0, file.length - 5));
    expect(cut.records).toHaveLength(1);
    expect(cut.error).toMatchObject({ kind: 'pcap-record', index: 1, offset: 24 + 46 });
    expect(cut.error!.reason).toMatch(/truncated record data: 41 of 46 bytes/);
  });

  it('lends one record object and views into the pushed chunk', () => {
    const file = concat([pcapHeader(true, false, 1), pcapRecord(true, 1, 0, frame(30)), pcapRecord(true, 2, 0, frame(30, 9))]);
    const seen: CaptureRecord[] = [];
    readCaptureBytes(file, (r) => {
      seen.push(r);
      expect(r.data.buffer).toBe(file.buffer);
    });
    expect(seen[0]).toBe(seen[1]);
  });

  it('stops after an error: later pushes are ignored and end() repeats the same error once reported', () => {
    const errors: unknown[] = [];
    const r = new CaptureReader(() => undefined, { onError: (e) => errors.push(e) });
    expect(r.push(text('not a capture file'))).toBe(false);
    expect(r.push(pcapHeader(true, false, 1))).toBe(false);
    expect(r.end()).toBe(r.error);
    expect(errors).toHaveLength(1);
  });
});

describe('pcapng', () => {
  const shbIdb = (le: boolean, opts: Uint8Array[] = [], lt = 1, snap = 0): Uint8Array => concat([ngShb(le), ngIdb(le, lt, snap, opts)]);

  for (const le of [true, false]) {
    it(`${le ? 'little' : 'big'}-endian EPB with default microsecond resolution and epb_flags`, () => {
      const us = 1_700_000_000_123_456; // > 2^32, exercises the high word
      const hi = Math.floor(us / 2 ** 32);
      const lo = us % 2 ** 32;
      const file = concat([shbIdb(le), ngEpb(le, 0, hi, lo, frame(61), 100, [new Bytes(le).u16(2).u16(4).u32(2).bytes()])]);
      const { records, error } = collect(file);
      expect(error).toBeNull();
      expect(records[0]).toMatchObject({ tsSec: 1_700_000_000, tsNsec: 123_456_000, capturedLength: 61, originalLength: 100, flags: 2, linkType: 1 });
      expect(recordDirection(records[0]!)).toBe('outbound');
      expect(records[0]!.data).toEqual(frame(61));
    });
  }

  const tsCases: Array<[string, number, bigint, number, number]> = [
    ['nanoseconds (if_tsresol 9)', 9, 1_700_000_000_987_654_321n, 1_700_000_000, 987_654_321],
    ['milliseconds (if_tsresol 3, bigint path)', 3, 1_700_000_000_250n, 1_700_000_000, 250_000_000],
    ['10 ps (if_tsresol 11, finer than ns: truncated)', 11, 10_000_000_012_345_678_912n, 100_000_000, 123_456_789],
    ['2^-10 s (power-of-two if_tsresol 0x8a)', 0x8a, (1_700_000_000n << 10n) | 512n, 1_700_000_000, 500_000_000],
    ['2^-30 s (0x9e), truncated to the ns', 0x9e, (5n << 30n) | 3n, 5, 2],
  ];
  for (const [name, resol, units, sec, nsec] of tsCases) {
    it(`timestamp in ${name}`, () => {
      const hi = Number(units >> 32n);
      const lo = Number(units & 0xffffffffn);
      const ifaces: CaptureInterface[] = [];
      const r = collectWith(concat([shbIdb(true, [ngOption(true, 9, [resol])]), ngEpb(true, 0, hi, lo, frame(8))]), ifaces);
      expect(r.error).toBeNull();
      expect(r.records[0]).toMatchObject({ tsSec: sec, tsNsec: nsec });
      expect(ifaces[0]!.tsResolution).toEqual(resol & 0x80 ? { base: 2, exponent: resol & 0x7f } : { base: 10, exponent: resol });
    });
  }

  it('nanosecond timestamps are exact over the whole 64-bit range (compared with bigint arithmetic)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(4, 5, 6, 7, 8, 9, 10, 11), (v, exp) => {
        const file = concat([shbIdb(true, [ngOption(true, 9, [exp])]), ngEpb(true, 0, Number(v >> 32n), Number(v & 0xffffffffn), frame(4))]);
        const rec = collect(file).records[0]!;
        const units = 10n ** BigInt(exp);
        expect(BigInt(rec.tsSec)).toBe(v / units);
        expect(BigInt(rec.tsNsec)).toBe(((v % units) * 1_000_000_000n) / units);
      }),
      { numRuns: 500 },
    );
  });

  it('applies if_tsoffset and exposes if_name, if_description and if_fcslen', () => {
    const off = new Bytes(true).u32(3600).u32(0).bytes();
    const ifaces: CaptureInterface[] = [];
    const r = collectWith(
      concat([
        shbIdb(true, [ngOption(true, 2, text('eth0')), ngOption(true, 3, text('uplink\0')), ngOption(true, 14, off), ngOption(true, 13, [4])]),
        ngEpb(true, 0, 0, 5_000_000, frame(64)),
      ]),
      ifaces,
    );
    expect(r.error).toBeNull();
    expect(ifaces[0]).toMatchObject({ name: 'eth0', description: 'uplink', tsOffsetSec: 3600, fcsLength: 4 });
    expect(r.records[0]).toMatchObject({ tsSec: 3605, tsNsec: 0, fcsLength: 4 });
  });

  it('a negative if_tsoffset moves timestamps back', () => {
    const minus10 = new Bytes(false).u32(0xffffffff).u32(0xfffffff6).bytes();
    const r = collect(concat([shbIdb(false, [ngOption(false, 14, minus10)]), ngEpb(false, 0, 0, 15_000_000, frame(4))]));
    expect(r.records[0]).toMatchObject({ tsSec: 5 });
  });

  it('multiple interfaces carry their own link types; a packet on an undefined interface is an error', () => {
    const file = concat([
      ngShb(true),
      ngIdb(true, 1, 0),
      ngIdb(true, 101, 0),
      ngEpb(true, 1, 0, 1, frame(20)),
      ngEpb(true, 0, 0, 2, frame(20)),
      ngEpb(true, 2, 0, 3, frame(20)),
    ]);
    const { records, error } = collect(file);
    expect(records.map((r) => [r.interfaceId, r.linkType])).toEqual([
      [1, 101],
      [0, 1],
    ]);
    const at = file.length - ngEpb(true, 2, 0, 3, frame(20)).length;
    expect(error).toMatchObject({ kind: 'epb', index: 5, offset: at + 8 });
    expect(error!.reason).toMatch(/interface 2 is not defined/);
  });

  it('reads obsolete Packet Blocks (type 2) with their 16-bit interface id and pack_flags', () => {
    const body = new Bytes(true).u16(0).u16(7).u32(0).u32(2_000_000).u32(5).u32(5).raw(frame(5)).pad4();
    body.u16(2).u16(4).u32(1).u32(0);
    const { records, error } = collect(concat([shbIdb(true), ngBlock(true, 2, body.bytes())]));
    expect(error).toBeNull();
    expect(records[0]).toMatchObject({ tsSec: 2, capturedLength: 5, flags: 1 });
    expect(recordDirection(records[0]!)).toBe('inbound');
  });

  it('skips ISB, DSB, custom and unknown blocks by length', () => {
    const isb = ngBlock(true, 5, concat([new Bytes(true).u32(0).u32(0).u32(0).bytes(), ngOption(true, 2, new Uint8Array(8)), new Uint8Array(4)]));
    const file = concat([
      shbIdb(true),
      isb,
      ngBlock(true, 0x0a, text('secrets!')),
      ngBlock(true, 0x0bad, concat([new Bytes(true).u32(32473).bytes(), text('custom')])),
      ngBlock(true, 0x12345678, text('whatever')),
      ngEpb(true, 0, 0, 1, frame(9)),
    ]);
    expect(collect(file)).toMatchObject({ records: [{ capturedLength: 9, index: 0 }], error: null });
  });

  it('block framing: length not a multiple of 4, below 12, or a trailing copy that differs', () => {
    const epb = ngEpb(true, 0, 0, 1, frame(8));
    const good = concat([shbIdb(true), epb]);
    const epbAt = good.length - epb.length;
    const withLen = (v: number): Uint8Array => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(epbAt + 4, v, true);
      return b;
    };
    expect(collect(withLen(42)).error).toMatchObject({ kind: 'epb', offset: epbAt + 4 });
    expect(collect(withLen(8)).error!.reason).toMatch(/not a multiple of 4 >= 12/);
    const badTrailer = good.slice();
    badTrailer[badTrailer.length - 4] ^= 4;
    expect(collect(badTrailer).error).toMatchObject({ kind: 'epb', offset: good.length - 4, reason: 'trailing block length 44 != 40' });
  });

  it('a block longer than maxBlockSize fails as soon as its header is seen, before any allocation', () => {
    const head = concat([shbIdb(true), new Bytes(true).u32(6).u32(0x40000000).bytes(), new Uint8Array(4)]);
    const r = new CaptureReader(() => undefined);
    expect(r.push(head)).toBe(false);
    expect(r.error!.reason).toMatch(/block total length 1073741824 exceeds limit 262208/);
    const small = new CaptureReader(() => undefined, { maxBlockSize: 128 });
    small.push(concat([shbIdb(true), ngEpb(true, 0, 0, 1, frame(100))]));
    expect(small.error!.reason).toMatch(/exceeds limit 128/);
  });

  it('an option that overruns its block is an error naming the option offset', () => {
    // IDB whose if_name claims 200 bytes in a 32-byte block.
    const body = new Bytes(true).u16(1).u16(0).u32(0).u16(2).u16(200).raw(text('eth0'));
    const idb = ngBlock(true, 1, body.bytes());
    const shb = ngShb(true);
    const { error } = collect(concat([shb, idb]));
    expect(error).toMatchObject({ kind: 'idb', index: 1, offset: shb.length + 16 });
    expect(error!.reason).toMatch(/option 2 of length 200 overruns its block/);
    // The same in an SHB (as libpcap's shb-option-too-long test file intends).
    const shbBad = ngBlock(true, 0x0a0d0d0a, concat([new Bytes(true).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).u16(1).u16(0x3030).bytes(), text('0000')]));
    expect(collect(shbBad).error).toMatchObject({ kind: 'shb', index: 0, offset: 24 });
  });

  it('malformed fixed-size options are rejected', () => {
    expect(collect(shbIdb(true, [ngOption(true, 9, [6, 6])])).error!.reason).toMatch(/if_tsresol of length 2/);
    expect(collect(shbIdb(true, [ngOption(true, 14, [1, 2, 3])])).error!.reason).toMatch(/if_tsoffset of length 3/);
    const epb = ngEpb(true, 0, 0, 1, frame(4), 4, [ngOption(true, 2, [1, 0])]);
    expect(collect(concat([shbIdb(true), epb])).error!.reason).toMatch(/epb_flags of length 2/);
  });

  it('EPB captured length must fit in the block', () => {
    const epb = ngEpb(true, 0, 0, 1, frame(16));
    new DataView(epb.buffer).setUint32(20, 17, true);
    expect(collect(concat([shbIdb(true), epb])).error!.reason).toMatch(/captured length 17 overruns the block/);
  });

  it('the first block must be an SHB, with a valid byte-order magic and version 1', () => {
    const noShb = concat([new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a]), new Uint8Array(0)]);
    expect(collect(noShb).error).toMatchObject({ kind: 'block' });
    const shb = ngShb(true);
    const badBom = shb.slice();
    badBom[8] = 0;
    expect(collect(badBom).error).toMatchObject({ kind: 'shb', offset: 8 });
    const v2 = shb.slice();
    v2[12] = 2;
    expect(collect(v2).error!.reason).toMatch(/unsupported version 2.0/);
  });

  it('SHB section length: -1 or exact; a mismatch is reported at the length field', () => {
    const idb = ngIdb(false, 1, 0);
    const epb = ngEpb(false, 0, 0, 1, frame(8));
    const exact = concat([ngShb(false, idb.length + epb.length), idb, epb, ngShb(true, 0)]);
    expect(collect(exact)).toMatchObject({ records: [{ index: 0 }], error: null });
    const wrong = concat([ngShb(false, idb.length), idb, epb]);
    const w = collect(wrong);
    expect(w.records).toHaveLength(1);
    expect(w.error).toMatchObject({ kind: 'shb', offset: 16 });
    expect(w.error!.reason).toMatch(/declares 20 bytes but holds 60/);
    const negative = ngShb(true);
    negative.set([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 16);
    expect(collect(negative).error!.reason).toMatch(/section length negative/);
  });

  it('a new section resets interfaces: ids of the previous section are undefined', () => {
    const file = concat([shbIdb(true), ngShb(false), ngEpb(false, 0, 0, 1, frame(8))]);
    expect(collect(file).error!.reason).toMatch(/interface 0 is not defined in section 1 \(0 interfaces\)/);
  });

  it('a Simple Packet Block needs interface 0', () => {
    const spb = ngBlock(true, 3, concat([new Bytes(true).u32(8).bytes(), frame(8)]));
    expect(collect(concat([ngShb(true), spb])).error).toMatchObject({ kind: 'spb', reason: expect.stringMatching(/no interface defined/) });
    expect(collect(concat([shbIdb(true, [], 1, 6), spb])).records[0]).toMatchObject({ capturedLength: 6, originalLength: 8, hasTimestamp: false });
  });

  it('NRB records are parsed for the callback and malformed ones rejected', () => {
    const rec = new Bytes(true).u16(1).u16(4 + 14).raw([10, 0, 0, 1]).raw(text('a.test\0b.test\0')).pad4().u16(0).u16(0);
    const names: Array<{ type: number; names: readonly string[] }> = [];
    const r = new CaptureReader(() => undefined, { onNameRecord: (n) => names.push({ type: n.type, names: n.names }) });
    r.push(concat([ngShb(true), ngBlock(true, 4, rec.bytes())]));
    expect(r.end()).toBeNull();
    expect(names).toEqual([{ type: 1, names: ['a.test', 'b.test'] }]);
    const short = new Bytes(true).u16(2).u16(4).raw([1, 2, 3, 4]).u16(0).u16(0);
    expect(collect(concat([ngShb(true), ngBlock(true, 4, short.bytes())])).error!.reason).toMatch(/shorter than its 16-byte address/);
  });

  it('random bytes after a valid SHB never throw, in any chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.integer({ min: 1, max: 50 }), (tail, le, chunk) => {
        const file = concat([shbIdb(le), tail]);
        const whole = collect(file);
        expect(diffCollected(collectChunked(file, chunk), whole)).toBeNull();
        if (whole.error !== null) expect(whole.error.offset).toBeLessThanOrEqual(file.length);
      }),
      { numRuns: 500 },
    );
  });
});

function collectWith(file: Uint8Array, ifaces: CaptureInterface[]): ReturnType<typeof collect> {
  return collect(file, [], { onInterface: (i) => ifaces.push(i) });
}
