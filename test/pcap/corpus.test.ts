// The shared capture corpus: every file reads with the manifest's packet count and link type (or
// fails cleanly), whatever the chunking; truncation and corruption never throw and never lose a
// complete record; timestamps and lengths agree with tshark.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { CaptureReader } from '../../src/wire/capture.js';
import type { CaptureInterface } from '../../src/wire/capture.js';
import {
  collect,
  collectChunked,
  corpusAvailable,
  corpusFile,
  diffCollected,
  formatTime,
  manifest,
  MANIFEST_LINKTYPE,
  PCAP_DIR,
  tsharkAvailable,
  tsharkFrames,
  unitBoundaries,
} from './support.js';

const rows = manifest();
const valid = rows.filter((r) => r.format !== 'invalid' && !r.file.includes('timestamp_invalid'));

describe.skipIf(!corpusAvailable)(`capture corpus (${PCAP_DIR})`, () => {
  it('has the files the manifest lists', () => {
    expect(rows.length).toBeGreaterThanOrEqual(30);
    expect(rows.some((r) => r.format === 'pcapng')).toBe(true);
    expect(rows.some((r) => r.format === 'nsecpcap')).toBe(true);
  });

  for (const row of valid) {
    it(`${row.file}: ${row.packets} packets, link type ${row.linktype}`, () => {
      const ifaces: CaptureInterface[] = [];
      const linkTypes: number[] = [];
      const reader = new CaptureReader((r) => linkTypes.push(r.linkType), { onInterface: (i) => ifaces.push(i) });
      reader.push(corpusFile(row.file));
      expect(reader.end()).toBeNull();
      expect(reader.records).toBe(row.packets);
      expect(reader.format).toBe(row.format === 'pcapng' ? 'pcapng' : 'pcap');
      const want = MANIFEST_LINKTYPE[row.linktype];
      if (want !== undefined) {
        expect(new Set(linkTypes)).toEqual(new Set([want]));
      } else {
        // per-packet link types: several interfaces with different types, each packet typed by its IDB.
        expect(row.linktype).toBe('per-packet');
        expect(new Set(ifaces.map((i) => i.linkType)).size).toBeGreaterThan(1);
        expect(new Set(linkTypes).size).toBeGreaterThan(1);
      }
      if (row.format === 'nsecpcap') expect(ifaces[0]!.tsResolution).toEqual({ base: 10, exponent: 9 });
    });
  }

  it('HOSTILE timestamp_invalid_nano.pcap: delivers the valid first record, then a clean error at record 1', () => {
    const { records, error } = collect(corpusFile('tcpdump__timestamp_invalid_nano.pcap'));
    expect(records).toHaveLength(1);
    expect(records[0]!.tsNsec).toBe(999_999_999);
    expect(error).not.toBeNull();
    expect(error!.kind).toBe('pcap-record');
    expect(error!.index).toBe(1);
    // Record 1 starts at 24 + 16 + 76 = 116; its nanoseconds field is 4 bytes in.
    expect(error!.offset).toBe(120);
    expect(error!.reason).toMatch(/nanoseconds field 1000000000/);
  });

  it('HOSTILE shb-option-too-long.pcapng: rejected with a clean error and no records', () => {
    const { records, error } = collect(corpusFile('libpcap__shb-option-too-long.pcapng'));
    expect(records).toHaveLength(0);
    expect(error?.code).toBe('ECAPTURE');
    expect(error!.kind).toBe('shb');
    expect(error!.index).toBe(0);
  });

  it('pcapng-test-gen le_test202: sections of different byte order, interfaces reset per section, NRB names', () => {
    const ifaces: CaptureInterface[] = [];
    const names: Array<{ type: number; address: string; names: readonly string[] }> = [];
    const recs: Array<{ iface: number; lt: number; ts: boolean }> = [];
    const reader = new CaptureReader((r) => recs.push({ iface: r.interfaceId, lt: r.linkType, ts: r.hasTimestamp }), {
      onInterface: (i) => ifaces.push(i),
      onNameRecord: (n) => names.push({ type: n.type, address: Buffer.from(n.address).toString('hex'), names: n.names }),
    });
    reader.push(corpusFile('pcapng-test-gen__le_test202.pcapng'));
    expect(reader.end()).toBeNull();
    expect(new Set(ifaces.map((i) => i.littleEndian))).toEqual(new Set([true, false]));
    expect(new Set(ifaces.map((i) => i.section))).toEqual(new Set([0, 1, 2]));
    // Section 1 (big-endian) names its interface; ids restart at 0 in every section.
    expect(ifaces.filter((i) => i.id === 0)).toHaveLength(3);
    expect(ifaces.some((i) => !i.littleEndian && i.name === 'silly ethernet interface 2')).toBe(true);
    expect(names).toContainEqual({ type: 1, address: 'c0a80102', names: ['example.com'] });
    expect(names).toContainEqual({ type: 2, address: 'fc01dead00000000000000000000beef', names: ['example.com'] });
    expect(names.some((n) => n.names.includes('qux.example.com'))).toBe(true);
    // One Simple Packet Block (no timestamp) per the tshark listing, plus EPBs on two link types.
    expect(recs.filter((r) => !r.ts)).toHaveLength(2);
    expect(new Set(recs.map((r) => r.lt))).toEqual(new Set([0, 1]));
  });

  it('Simple Packet Blocks take their captured length from the IDB snaplen (le_test202 section 1)', () => {
    const { records } = collect(corpusFile('pcapng-test-gen__le_test202.pcapng'));
    const spb = records.filter((r) => !r.hasTimestamp);
    expect(spb.map((r) => [r.capturedLength, r.originalLength])).toEqual([
      [128, 314],
      [128, 314],
    ]);
    expect(spb.every((r) => r.tsSec === 0 && r.tsNsec === 0)).toBe(true);
  });

  for (const row of rows) {
    describe(row.file, () => {
      const bytes = corpusFile(row.file);
      const whole = collect(bytes);

      it('1-byte and 7-byte chunks give exactly the records and error of one whole push', () => {
        expect(diffCollected(collectChunked(bytes, 1), whole)).toBeNull();
        expect(diffCollected(collectChunked(bytes, 7), whole)).toBeNull();
      });

      it('random chunk splits give identical records (fast-check)', () => {
        fc.assert(
          fc.property(fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }), { maxLength: 40 }), (cuts) => {
            expect(diffCollected(collect(bytes, [...cuts].sort((a, b) => a - b)), whole)).toBeNull();
          }),
          { numRuns: 40 },
        );
      });

      if (valid.includes(row)) it('truncated anywhere: the records that end before the cut, then an error unless the cut is a unit boundary', () => {
        const bounds = unitBoundaries(bytes);
        const boundSet = new Set(bounds);
        // Where each record's unit ends, from the independent walk.
        const ends = whole.records.map((r) => bounds.find((b) => b > r.offset)!);
        fc.assert(
          fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (cut) => {
            const got = collect(bytes.subarray(0, cut), [cut >> 1]);
            const expected = whole.records.filter((_, i) => ends[i]! <= cut);
            expect(diffCollected({ records: got.records, error: null }, { records: expected, error: null })).toBeNull();
            if (boundSet.has(cut)) expect(got.error).toBeNull();
            else {
              expect(got.error, `cut at ${cut}`).not.toBeNull();
              expect(got.error!.offset).toBeLessThanOrEqual(cut);
            }
          }),
          { numRuns: 80 },
        );
      });
    });
  }

  it('random corruption never throws; delivered data always lies inside the input', () => {
    const files = rows.map((r) => corpusFile(r.file)).filter((b) => b.length < 20_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        (fi, edits, chunk) => {
          const b = files[fi]!.slice();
          for (const [pos, val] of edits) b[pos % b.length] = val;
          let delivered = 0;
          const reader = new CaptureReader((r) => {
            expect(r.data.length).toBe(r.capturedLength);
            expect(r.tsNsec).toBeGreaterThanOrEqual(0);
            expect(r.tsNsec).toBeLessThan(1e9);
            delivered += r.data.length;
          });
          for (let o = 0; o < b.length; o += chunk) reader.push(b.subarray(o, o + chunk));
          const e = reader.end();
          expect(delivered).toBeLessThanOrEqual(b.length);
          if (e !== null) expect(e.offset).toBeLessThanOrEqual(b.length);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe.skipIf(!corpusAvailable || !tsharkAvailable())(
  `capture corpus vs tshark${tsharkAvailable() ? '' : ' (SKIPPED: tshark not installed)'}`,
  () => {
    for (const row of valid) {
      it(`${row.file}: timestamps, cap_len, len and interface of every packet agree with tshark -T fields`, () => {
        const { records, error } = collect(corpusFile(row.file));
        expect(error).toBeNull();
        const t = tsharkFrames(join(PCAP_DIR, row.file));
        const ours = records.map((r) => ({
          time: r.hasTimestamp ? formatTime(r.tsSec, r.tsNsec) : '',
          caplen: r.capturedLength,
          len: r.originalLength,
          iface: String(r.interfaceId),
        }));
        expect(ours).toEqual(t.frames);
      });
    }
  },
);
