// Writers: pcap (us/ns) and pcapng output round-trips through our reader for random record lists,
// and tshark reads it without complaint, agreeing on frame count, timestamps and lengths.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createCaptureWriter, readCaptureBytes, recordDirection } from '../../src/wire/capture.js';
import type { CaptureFormat, CaptureInterface, PacketDirection } from '../../src/wire/capture.js';
import { PcapWriter } from '../../src/wire/pcap.js';
import { PcapngWriter } from '../../src/wire/pcapng.js';
import { collect, concat, formatTime, tsharkAvailable, tsharkFrames } from './support.js';

interface Pkt {
  data: Uint8Array;
  sec: number;
  nsec: number;
  extra: number;
  iface: number;
  dir: PacketDirection;
}

const pktArb = (ifaces: number): fc.Arbitrary<Pkt> =>
  fc.record({
    data: fc.uint8Array({ maxLength: 200 }),
    sec: fc.integer({ min: 0, max: 0xffffffff }),
    nsec: fc.integer({ min: 0, max: 999_999_999 }),
    extra: fc.integer({ min: 0, max: 3000 }),
    iface: fc.integer({ min: 0, max: ifaces - 1 }),
    dir: fc.constantFrom<PacketDirection>('unknown', 'inbound', 'outbound'),
  });

function write(format: CaptureFormat, resolution: 'us' | 'ns', pkts: readonly Pkt[], linkTypes: readonly number[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const sink = (c: Uint8Array): void => void chunks.push(c);
  if (format === 'pcap') {
    const w = new PcapWriter(sink, { linkType: linkTypes[0]!, resolution });
    for (const p of pkts) w.writePacket(p.data, p.sec, p.nsec, { originalLength: p.data.length + p.extra });
  } else {
    const w = new PcapngWriter(sink, { interfaces: linkTypes.map((lt, i) => ({ linkType: lt, name: `if${i}` })) });
    for (const p of pkts) w.writePacket(p.data, p.sec, p.nsec, { originalLength: p.data.length + p.extra, interfaceId: p.iface, direction: p.dir });
  }
  return concat(chunks);
}

describe('capture writers round-trip through the reader', () => {
  for (const [format, resolution] of [
    ['pcap', 'us'],
    ['pcap', 'ns'],
    ['pcapng', 'ns'],
  ] as const) {
    it(`${format} (${resolution}): random record lists`, () => {
      const nIf = format === 'pcapng' ? 3 : 1;
      fc.assert(
        fc.property(fc.array(pktArb(nIf), { maxLength: 30 }), fc.integer({ min: 1, max: 64 }), (pkts, chunk) => {
          if (format === 'pcap') for (const p of pkts) p.iface = 0;
          const linkTypes = [1, 101, 113].slice(0, nIf);
          const bytes = write(format, resolution, pkts, linkTypes);
          const cuts: number[] = [];
          for (let o = chunk; o < bytes.length; o += chunk) cuts.push(o);
          const { records, error } = collect(bytes, cuts);
          expect(error).toBeNull();
          expect(records).toHaveLength(pkts.length);
          records.forEach((r, i) => {
            const p = pkts[i]!;
            expect(r.data).toEqual(p.data);
            expect(r.capturedLength).toBe(p.data.length);
            expect(r.originalLength).toBe(p.data.length + p.extra);
            expect(r.tsSec).toBe(p.sec);
            expect(r.tsNsec).toBe(resolution === 'us' ? Math.floor(p.nsec / 1000) * 1000 : p.nsec);
            expect(r.interfaceId).toBe(p.iface);
            expect(r.linkType).toBe(linkTypes[p.iface]);
            expect(recordDirection(r)).toBe(format === 'pcapng' ? p.dir : 'unknown');
          });
        }),
        { numRuns: 150 },
      );
    });
  }

  it('pcapng writes if_name and if_tsresol = 9, and pads EPB data to 4 bytes', () => {
    const chunks: Uint8Array[] = [];
    const w = new PcapngWriter((c) => chunks.push(c), { interfaces: [{ linkType: 1, name: 'tap0', description: 'test tap' }] });
    w.writePacket(Uint8Array.of(1, 2, 3, 4, 5), 1, 2);
    const epb = chunks.at(-1)!;
    expect(epb.length).toBe(32 + 8);
    expect(Array.from(epb.subarray(28 + 5, 28 + 8))).toEqual([0, 0, 0]);
    const ifaces: CaptureInterface[] = [];
    readCaptureBytes(concat(chunks), () => undefined, { onInterface: (i) => ifaces.push(i) });
    expect(ifaces[0]).toMatchObject({ name: 'tap0', description: 'test tap', tsResolution: { base: 10, exponent: 9 }, snaplen: 0 });
  });

  it('each chunk handed to the sink is a fresh buffer owned by the sink', () => {
    const chunks: Uint8Array[] = [];
    const w = createCaptureWriter((c) => chunks.push(c), { format: 'pcap', linkType: 1 });
    const data = Uint8Array.of(9, 9, 9);
    w.writePacket(data, 1, 0);
    data[0] = 0;
    w.writePacket(data, 2, 0);
    expect(chunks).toHaveLength(3);
    expect(chunks[1]![16]).toBe(9);
    expect(chunks[1]!.buffer).not.toBe(chunks[2]!.buffer);
  });

  it('snaplen truncates the captured bytes and keeps the original length', () => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const chunks: Uint8Array[] = [];
      const w = createCaptureWriter((c) => chunks.push(c), { format, linkType: 1, snaplen: 10 });
      w.writePacket(new Uint8Array(100).fill(7), 1, 0);
      const { records } = collect(concat(chunks));
      expect(records[0]).toMatchObject({ capturedLength: 10, originalLength: 100 });
    }
  });

  it('rejects programmer errors with RangeError', () => {
    const w = createCaptureWriter(() => undefined, { format: 'pcap', linkType: 1 });
    expect(() => w.writePacket(new Uint8Array(1), -1, 0)).toThrow(RangeError);
    expect(() => w.writePacket(new Uint8Array(1), 2 ** 32, 0)).toThrow(RangeError);
    expect(() => w.writePacket(new Uint8Array(1), 1, 1e9)).toThrow(RangeError);
    expect(() => w.writePacket(new Uint8Array(1), 1, 0.5)).toThrow(RangeError);
    expect(() => w.writePacket(new Uint8Array(4), 1, 0, { originalLength: 3 })).toThrow(RangeError);
    expect(() => w.writePacket(new Uint8Array(1), 1, 0, { interfaceId: 1 })).toThrow(RangeError);
    const ng = createCaptureWriter(() => undefined, { format: 'pcapng', linkType: 1 });
    expect(() => ng.writePacket(new Uint8Array(1), 1, 0, { interfaceId: 1 })).toThrow(/interface 1 not declared/);
    expect(() => new PcapWriter(() => undefined, { linkType: 70000 })).toThrow(RangeError);
    expect(() => new PcapWriter(() => undefined, { linkType: 1, fcsLength: 3 })).toThrow(RangeError);
  });

  it('declares the FCS length in the pcap link-type word', () => {
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter((c) => chunks.push(c), { linkType: 1, fcsLength: 4 });
    w.writePacket(new Uint8Array(64), 1, 0);
    expect(collect(concat(chunks)).records[0]).toMatchObject({ linkType: 1, fcsLength: 4 });
  });
});

const dir = mkdtempSync(join(tmpdir(), 'picotcp-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!tsharkAvailable())(`tshark reads what we write${tsharkAvailable() ? '' : ' (SKIPPED: tshark not installed)'}`, () => {
  for (const [format, resolution] of [
    ['pcap', 'us'],
    ['pcap', 'ns'],
    ['pcapng', 'ns'],
  ] as const) {
    it(`${format} ${resolution}: same frame count, timestamps and lengths, no errors`, () => {
      const pkts = fc.sample(pktArb(format === 'pcapng' ? 2 : 1), { numRuns: 60, seed: 42 }).map((p) => ({
        ...p,
        // Ethernet-ish frames of at least 14 bytes so every dissector is happy.
        data: concat([new Uint8Array(14).fill(0x11), p.data]),
        sec: p.sec % 2_000_000_000,
        iface: format === 'pcap' ? 0 : p.iface,
      }));
      const bytes = write(format, resolution, pkts, [1, 101]);
      const file = join(dir, `out-${format}-${resolution}.${format}`);
      writeFileSync(file, bytes);
      const t = tsharkFrames(file);
      expect(t.status).toBe(0);
      expect(t.stderr).toBe('');
      expect(t.frames).toHaveLength(pkts.length);
      t.frames.forEach((f, i) => {
        const p = pkts[i]!;
        const nsec = resolution === 'us' ? Math.floor(p.nsec / 1000) * 1000 : p.nsec;
        expect(f.time).toBe(formatTime(p.sec, nsec));
        expect(f.caplen).toBe(p.data.length);
        expect(f.len).toBe(p.data.length + p.extra);
        expect(f.iface).toBe(String(p.iface));
      });
    });
  }
});
