// Node wrappers: streaming file reads agree with in-memory reads at any chunk size, the async
// iterator yields owned copies and throws CaptureFileError after the last good record, and
// CaptureFileWriter produces files our reader and tshark read back.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  captureRecords,
  CaptureFileError,
  CaptureFileWriter,
  readCaptureBuffer,
  readCaptureFile,
} from '../../src/api/capture-file.js';
import { copyRecord } from '../../src/wire/capture.js';
import type { OwnedCaptureRecord } from '../../src/wire/capture.js';
import { corpusAvailable, diffCollected, formatTime, PCAP_DIR, tsharkAvailable, tsharkFrames } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'picotcp-capfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!corpusAvailable)('readCaptureFile / captureRecords on the corpus', () => {
  const files = ['PcapPlusPlus__DnsPackets.pcap', 'pcapng-test-gen__le_test202.pcapng', 'recorded__nginx_http_v4_v6.pcap'];

  for (const name of files) {
    it(`${name}: streamed with small and large chunks = read from memory`, async () => {
      const path = join(PCAP_DIR, name);
      const mem: OwnedCaptureRecord[] = [];
      const memSummary = readCaptureBuffer(readFileSync(path), (r) => mem.push(copyRecord(r)));
      for (const highWaterMark of [13, 4096, undefined]) {
        const got: OwnedCaptureRecord[] = [];
        const s = await readCaptureFile(path, (r) => got.push(copyRecord(r)), { highWaterMark });
        expect(s).toEqual(memSummary);
        expect(diffCollected({ records: got, error: null }, { records: mem, error: null })).toBeNull();
      }
      const iterated: OwnedCaptureRecord[] = [];
      for await (const r of captureRecords(path, { highWaterMark: 1000 })) iterated.push(r);
      expect(diffCollected({ records: iterated, error: null }, { records: mem, error: null })).toBeNull();
      // Copies: records stay distinct objects with their own bytes.
      expect(new Set(iterated).size).toBe(iterated.length);
    });
  }

  it('a malformed file resolves with a CaptureError summary after delivering the good records', async () => {
    let n = 0;
    const s = await readCaptureFile(join(PCAP_DIR, 'tcpdump__timestamp_invalid_nano.pcap'), () => n++, { highWaterMark: 50 });
    expect(n).toBe(1);
    expect(s).toMatchObject({ format: 'pcap', records: 1, error: { kind: 'pcap-record', index: 1, offset: 120 } });
  });

  it('the iterator throws CaptureFileError after the last good record', async () => {
    const path = join(PCAP_DIR, 'tcpdump__timestamp_invalid_nano.pcap');
    const got: OwnedCaptureRecord[] = [];
    let caught: unknown;
    try {
      for await (const r of captureRecords(path)) got.push(r);
    } catch (e) {
      caught = e;
    }
    expect(got).toHaveLength(1);
    expect(caught).toBeInstanceOf(CaptureFileError);
    expect((caught as CaptureFileError).capture.offset).toBe(120);
    expect((caught as CaptureFileError).message).toContain('timestamp_invalid_nano.pcap: pcap-record #1 at byte 120');
  });
});

describe('capture file I/O', () => {
  it('a missing file rejects with the fs error', async () => {
    await expect(readCaptureFile(join(dir, 'nope.pcap'), () => undefined)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an exception thrown by onRecord rejects the read with that exception', async () => {
    const path = join(dir, 'two.pcap');
    const w = await CaptureFileWriter.open(path, { format: 'pcap', linkType: 1 });
    w.writePacket(new Uint8Array(20), 1, 0);
    w.writePacket(new Uint8Array(20), 2, 0);
    await w.close();
    const boom = new Error('boom');
    await expect(
      readCaptureFile(path, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  for (const format of ['pcap', 'pcapng'] as const) {
    it(`CaptureFileWriter (${format}) buffers, flushes in order and reads back${tsharkAvailable() ? ' (and through tshark)' : ' (tshark check SKIPPED: not installed)'}`, async () => {
      const path = join(dir, `w.${format}`);
      const w = await CaptureFileWriter.open(path, {
        format,
        linkType: 1,
        resolution: 'ns',
        interfaceName: 'mem0',
        bufferSize: 1000,
        extraInterfaces: format === 'pcapng' ? [{ linkType: 101, name: 'tun0' }] : undefined,
      });
      const n = 500;
      for (let i = 0; i < n; i++) {
        const data = new Uint8Array(20 + (i % 90)).fill(i & 0xff);
        w.writePacket(data, 1_600_000_000 + i, i * 1001, { interfaceId: format === 'pcapng' ? i % 2 : 0 });
      }
      expect(w.packets).toBe(n);
      await w.close();
      await w.close(); // idempotent
      expect(() => w.writePacket(new Uint8Array(1), 1, 0)).toThrow(/closed/);
      const recs: OwnedCaptureRecord[] = [];
      const s = await readCaptureFile(path, (r) => recs.push(copyRecord(r)));
      expect(s.error).toBeNull();
      expect(recs).toHaveLength(n);
      recs.forEach((r, i) => {
        expect(r.tsSec).toBe(1_600_000_000 + i);
        expect(r.tsNsec).toBe(i * 1001);
        expect(r.data.length).toBe(20 + (i % 90));
        expect(r.data[0]).toBe(i & 0xff);
        expect(r.linkType).toBe(format === 'pcapng' && i % 2 === 1 ? 101 : 1);
      });
      if (tsharkAvailable()) {
        const t = tsharkFrames(path);
        expect(t.stderr).toBe('');
        expect(t.frames.map((f) => f.time)).toEqual(recs.map((r) => formatTime(r.tsSec, r.tsNsec)));
      }
    });
  }

  it('writeRecord copies a record from one capture into another', async () => {
    const src = join(dir, 'src.pcap');
    const w = await CaptureFileWriter.open(src, { format: 'pcap', linkType: 1, resolution: 'us' });
    w.writePacket(Uint8Array.of(1, 2, 3), 10, 5000, { originalLength: 60 });
    await w.close();
    const dst = join(dir, 'dst.pcapng');
    const out = await CaptureFileWriter.open(dst, { format: 'pcapng', linkType: 1 });
    await readCaptureFile(src, (r) => out.writeRecord(r));
    await out.close();
    const got: OwnedCaptureRecord[] = [];
    for await (const r of captureRecords(dst)) got.push(r);
    expect(got).toEqual([expect.objectContaining({ tsSec: 10, tsNsec: 5000, capturedLength: 3, originalLength: 60, data: Uint8Array.of(1, 2, 3) })]);
  });

  it('readCaptureBuffer reports a non-capture buffer as a CaptureError', () => {
    expect(readCaptureBuffer(new Uint8Array(24), () => undefined).error?.reason).toMatch(/not a pcap or pcapng file/);
  });
});
