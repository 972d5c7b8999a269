// Helpers for the capture-file tests: the shared corpus and its manifest, a collector that drives
// CaptureReader with a given chunking, an independent block walker (to know where units end), and
// byte builders for synthetic pcap/pcapng input.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { CaptureReader, copyRecord } from '../../src/wire/capture.js';
import type { CaptureError, CaptureReaderOptions, OwnedCaptureRecord } from '../../src/wire/capture.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The shared corpus sits beside the clone (CI: ../shared). */
export const PCAP_DIR = join(here, '..', '..', '..', 'shared', 'pcaps');
export const corpusAvailable = existsSync(join(PCAP_DIR, 'manifest.tsv'));

export interface ManifestRow {
  readonly file: string;
  readonly linktype: string;
  readonly format: string;
  readonly packets: number;
  readonly contents: string;
}

export function manifest(): ManifestRow[] {
  if (!corpusAvailable) return [];
  const lines = readFileSync(join(PCAP_DIR, 'manifest.tsv'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const cols = lines[0]!.split('\t');
  const at = (name: string): number => cols.indexOf(name);
  return lines.slice(1).map((l) => {
    const c = l.split('\t');
    return {
      file: c[at('file')]!,
      linktype: c[at('linktype')]!,
      format: c[at('format')]!,
      packets: Number(c[at('packets')]),
      contents: c[at('contents')] ?? '',
    };
  });
}

export function corpusFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(PCAP_DIR, name)));
}

/** LINKTYPE_* for the manifest's names; per-packet files are checked against their IDBs instead. */
export const MANIFEST_LINKTYPE: Record<string, number> = { ether: 1, 'linux-sll': 113, rawip: 101, netlink: 253 };

export interface Collected {
  readonly records: OwnedCaptureRecord[];
  readonly error: CaptureError | null;
}

/** Feeds `bytes` split at `cuts` (sorted offsets) and collects owned copies of every record. */
export function collect(bytes: Uint8Array, cuts: readonly number[] = [], opts: CaptureReaderOptions = {}): Collected {
  const records: OwnedCaptureRecord[] = [];
  const reader = new CaptureReader((r) => records.push(copyRecord(r)), opts);
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c < prev) continue;
    // Copy each chunk into a fresh buffer that is then scribbled over: the reader must not keep it.
    const chunk = bytes.slice(prev, c);
    reader.push(chunk);
    chunk.fill(0xee);
    prev = c;
  }
  return { records, error: reader.end() };
}

/** Feeds in fixed-size chunks. */
export function collectChunked(bytes: Uint8Array, size: number): Collected {
  const cuts: number[] = [];
  for (let o = size; o < bytes.length; o += size) cuts.push(o);
  return collect(bytes, cuts);
}

/**
 * Offsets where a unit (file header, record or block) ends, found by an independent walk of the
 * framing. Stops at the first unit that does not fit.
 */
export function unitBoundaries(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  if (b.length < 4) return out;
  if (dv.getUint32(0) === 0x0a0d0d0a) {
    let p = 0;
    let le = true;
    while (p + 12 <= b.length) {
      if (dv.getUint32(p) === 0x0a0d0d0a) le = dv.getUint32(p + 8) === 0x4d3c2b1a;
      const total = dv.getUint32(p + 4, le);
      if (total < 12 || p + total > b.length) break;
      p += total;
      out.push(p);
    }
    return out;
  }
  const m = dv.getUint32(0);
  const le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
  if (b.length < 24) return out;
  out.push(24);
  let p = 24;
  while (p + 16 <= b.length) {
    const caplen = dv.getUint32(p + 8, le);
    if (p + 16 + caplen > b.length) break;
    p += 16 + caplen;
    out.push(p);
  }
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Little helpers to build synthetic files in either byte order. */
export class Bytes {
  private readonly parts: number[] = [];
  constructor(readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]!);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One pcapng option (code, value) padded to 4. */
export function ngOption(le: boolean, code: number, value: ArrayLike<number>): Uint8Array {
  return new Bytes(le).u16(code).u16(value.length).raw(value).pad4().bytes();
}

/** A pcapng block with the given body (padded) and correct framing. */
export function ngBlock(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const b = new Bytes(le).u32(type).u32(total).raw(body);
  while (b.length < 8 + padded) b.u8(0);
  return b.u32(total).bytes();
}

export function ngShb(le: boolean, sectionLength = -1, options: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0);
  if (sectionLength < 0) body.u32(0xffffffff).u32(0xffffffff);
  else if (le) body.u32(sectionLength).u32(0);
  else body.u32(0).u32(sectionLength);
  return ngBlock(le, 0x0a0d0d0a, concat([body.bytes(), options]));
}

export function ngIdb(le: boolean, linkType: number, snaplen: number, options: Uint8Array[] = []): Uint8Array {
  const opts = options.length > 0 ? concat([...options, new Uint8Array(4)]) : new Uint8Array(0);
  return ngBlock(le, 1, concat([new Bytes(le).u16(linkType).u16(0).u32(snaplen).bytes(), opts]));
}

export function ngEpb(le: boolean, iface: number, hi: number, lo: number, data: Uint8Array, orig = data.length, options: Uint8Array[] = []): Uint8Array {
  const head = new Bytes(le).u32(iface).u32(hi).u32(lo).u32(data.length).u32(orig).raw(data).pad4().bytes();
  const opts = options.length > 0 ? concat([...options, new Uint8Array(4)]) : new Uint8Array(0);
  return ngBlock(le, 6, concat([head, opts]));
}

export function pcapHeader(le: boolean, nano: boolean, linkTypeWord: number, snaplen = 65535, minor = 4): Uint8Array {
  return new Bytes(le).u32(nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(minor).u32(0).u32(0).u32(snaplen).u32(linkTypeWord).bytes();
}

export function pcapRecord(le: boolean, sec: number, frac: number, data: Uint8Array, orig = data.length): Uint8Array {
  return new Bytes(le).u32(sec).u32(frac).u32(data.length).u32(orig).raw(data).bytes();
}

/** True when tshark runs; tests that need it skip with a visible reason otherwise. */
export { tsharkAvailable } from '../conformance/tshark.js';

export interface TsharkFrame {
  readonly time: string;
  readonly caplen: number;
  readonly len: number;
  readonly iface: string;
}

/**
 * Packets as tshark sees them: epoch time (sec.nnnnnnnnn, empty without a timestamp), cap_len, len,
 * interface id. pcapng blocks that tshark shows as frames without an interface (custom blocks) are
 * dropped. Returns the tshark exit status and stderr too.
 */
export function tsharkFrames(file: string): { frames: TsharkFrame[]; status: number | null; stderr: string } {
  const r = spawnSync(
    'tshark',
    ['-n', '-r', file, '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.interface_id', '-e', 'frame.encap_type'],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const frames: TsharkFrame[] = [];
  const isNg = readFileSync(file).readUInt32BE(0) === 0x0a0d0d0a;
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const [time = '', cap = '', len = '', iface = ''] = line.split('\t');
    if (isNg && iface === '') continue;
    frames.push({ time, caplen: Number(cap), len: Number(len), iface: iface === '' ? '0' : iface });
  }
  // tshark warns about running as root on stderr; that is not a read problem.
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/Running as user "root"/.test(l))
    .join('\n');
  return { frames, status: r.status, stderr };
}

export function formatTime(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/** Cheap exact comparison of two collections (vitest's deep equality is slow on big byte arrays). */
export function diffCollected(a: Collected, b: Collected): string | null {
  if (JSON.stringify(a.error) !== JSON.stringify(b.error)) return `errors differ: ${a.error?.message} / ${b.error?.message}`;
  if (a.records.length !== b.records.length) return `record counts differ: ${a.records.length} / ${b.records.length}`;
  for (let i = 0; i < a.records.length; i++) {
    const x = a.records[i]!;
    const y = b.records[i]!;
    for (const k of Object.keys(x) as Array<keyof typeof x>) {
      if (k === 'data') continue;
      if (x[k] !== y[k]) return `record ${i}: ${k} ${String(x[k])} / ${String(y[k])}`;
    }
    if (x.data.length !== y.data.length) return `record ${i}: data length`;
    for (let j = 0; j < x.data.length; j++) if (x.data[j] !== y.data[j]) return `record ${i}: data byte ${j}`;
  }
  return null;
}
