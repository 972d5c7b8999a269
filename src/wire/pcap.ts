// Classic libpcap capture files (draft-ietf-opsawg-pcap): a 24-byte file header then records of a
// 16-byte header plus caplen bytes. Both byte orders, microsecond (a1b2c3d4) and nanosecond
// (a1b23c4d) magics. The parser is driven by CaptureReader (capture.ts) and never throws on input;
// the writer emits little-endian files. Only types are imported from capture.ts (no import cycle).

import type {
  CaptureError,
  CaptureInterface,
  CaptureReaderOptions,
  CaptureRecord,
  CaptureUnitKind,
  CaptureWriter,
  FormatParser,
  WritePacketMeta,
} from './capture.js';

/** Magic numbers as read big-endian from a file written little-endian (the usual case). */
export const PCAP_MAGIC_US_LE = 0xd4c3b2a1;
export const PCAP_MAGIC_NS_LE = 0x4d3cb2a1;
/** The same magics in native order (as the writer's host wrote them). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** libpcap MAXIMUM_SNAPLEN: the snaplen the writer puts in headers by default. */
export const PCAP_DEFAULT_SNAPLEN = 262144;

/** Builds a CaptureError (shared by pcap and pcapng parsers). */
export function captureError(kind: CaptureUnitKind, index: number, offset: number, reason: string): CaptureError {
  const which = index >= 0 ? `${kind} #${index}` : kind;
  return { code: 'ECAPTURE', offset, kind, index, reason, message: `${which} at byte ${offset}: ${reason}` };
}

export function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u16be(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function putU32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

function putU16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

/** The record object the parser fills and lends; shape kept stable for the JIT. */
export class LentRecord implements CaptureRecord {
  linkType = 0;
  interfaceId = 0;
  tsSec = 0;
  tsNsec = 0;
  hasTimestamp = true;
  capturedLength = 0;
  originalLength = 0;
  data: Uint8Array = new Uint8Array(0);
  flags = 0;
  fcsLength = -1;
  index = 0;
  offset = 0;
}

/** Decoded pcap file header. */
export interface PcapHeader {
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly snaplen: number;
  readonly linkType: number;
  /** FCS bytes per frame when the header's P bit is set, else -1. */
  readonly fcsLength: number;
}

/**
 * Decodes the 24-byte file header at b[o]. Returns the header or a reason string (the caller adds
 * the offset). The link-type word carries the FCS length in its top bits (libpcap LT_FCS_* layout).
 */
export function parsePcapHeader(b: Uint8Array, o: number): PcapHeader | string {
  const m = u32be(b, o);
  let le: boolean;
  let ns: boolean;
  if (m === PCAP_MAGIC_US_LE) [le, ns] = [true, false];
  else if (m === PCAP_MAGIC_NS_LE) [le, ns] = [true, true];
  else if (m === PCAP_MAGIC_US) [le, ns] = [false, false];
  else if (m === PCAP_MAGIC_NS) [le, ns] = [false, true];
  else return `bad magic ${m.toString(16).padStart(8, '0')}`;
  const r16 = le ? u16le : u16be;
  const r32 = le ? u32le : u32be;
  const major = r16(b, o + 4);
  const minor = r16(b, o + 6);
  if (major !== 2) return `unsupported version ${major}.${minor}`;
  const snaplen = r32(b, o + 16);
  const lt = r32(b, o + 20);
  const fcsLength = (lt & 0x04000000) !== 0 ? ((lt >>> 28) & 0xf) * 2 : -1;
  return { littleEndian: le, nanosecond: ns, versionMajor: major, versionMinor: minor, snaplen, linkType: lt & 0xffff, fcsLength };
}

/** Streaming pcap parser (see FormatParser in capture.ts). */
export class PcapParser implements FormatParser {
  need = PCAP_FILE_HEADER_LEN;
  error: CaptureError | null = null;
  records = 0;
  header: PcapHeader | null = null;
  private readonly rec = new LentRecord();
  /** Largest caplen accepted: one record must fit in maxBlockSize. */
  private readonly maxCaplen: number;
  private readonly strictSnaplen: boolean;
  /** Version 2.3 and older may have caplen and len swapped (libpcap swaps them back). */
  private swapLengths = false;

  constructor(
    private readonly onRecord: (rec: CaptureRecord) => void,
    maxBlockSize: number,
    private readonly opts: CaptureReaderOptions,
  ) {
    this.maxCaplen = maxBlockSize - PCAP_RECORD_HEADER_LEN;
    this.strictSnaplen = opts.strictSnaplen ?? false;
  }

  parse(buf: Uint8Array, off: number, end: number, fileOff: number): number {
    let p = off;
    if (this.header === null) {
      if (end - p < PCAP_FILE_HEADER_LEN) {
        this.need = PCAP_FILE_HEADER_LEN;
        return p;
      }
      const h = parsePcapHeader(buf, p);
      if (typeof h === 'string') {
        this.error = captureError('pcap-header', -1, fileOff, h);
        return p;
      }
      this.header = h;
      this.swapLengths = h.versionMinor < 4;
      const rec = this.rec;
      rec.linkType = h.linkType;
      rec.fcsLength = h.fcsLength;
      p += PCAP_FILE_HEADER_LEN;
      this.opts.onInterface?.(pcapInterface(h));
    }
    const h = this.header;
    const le = h.littleEndian;
    const fracLimit = h.nanosecond ? 1_000_000_000 : 1_000_000;
    const fracMul = h.nanosecond ? 1 : 1000;
    const snapLimit = this.strictSnaplen && h.snaplen > 0 ? h.snaplen : this.maxCaplen;
    const rec = this.rec;
    const cb = this.onRecord;
    for (;;) {
      const avail = end - p;
      if (avail < PCAP_RECORD_HEADER_LEN) {
        this.need = PCAP_RECORD_HEADER_LEN;
        return p;
      }
      let sec: number;
      let frac: number;
      let caplen: number;
      let len: number;
      if (le) {
        sec = u32le(buf, p);
        frac = u32le(buf, p + 4);
        caplen = u32le(buf, p + 8);
        len = u32le(buf, p + 12);
      } else {
        sec = u32be(buf, p);
        frac = u32be(buf, p + 4);
        caplen = u32be(buf, p + 8);
        len = u32be(buf, p + 12);
      }
      if (this.swapLengths && caplen > len) [caplen, len] = [len, caplen];
      if (caplen > this.maxCaplen || caplen > snapLimit) {
        const bound = Math.min(this.maxCaplen, snapLimit);
        this.error = captureError('pcap-record', this.records, fileOff + (p - off) + 8, `caplen ${caplen} exceeds ${bound}`);
        return p;
      }
      if (frac >= fracLimit) {
        const unit = h.nanosecond ? 'nanoseconds' : 'microseconds';
        this.error = captureError('pcap-record', this.records, fileOff + (p - off) + 4, `${unit} field ${frac} >= ${fracLimit}`);
        return p;
      }
      const total = PCAP_RECORD_HEADER_LEN + caplen;
      if (avail < total) {
        this.need = total;
        return p;
      }
      rec.tsSec = sec;
      rec.tsNsec = frac * fracMul;
      rec.capturedLength = caplen;
      rec.originalLength = len;
      rec.data = buf.subarray(p + PCAP_RECORD_HEADER_LEN, p + total);
      rec.index = this.records;
      rec.offset = fileOff + (p - off);
      // State advances before the callback so a re-entrant caller sees a consistent count.
      this.records++;
      p += total;
      cb(rec);
    }
  }

  finish(fileOff: number, leftover: number): CaptureError | null {
    if (this.header === null) {
      return captureError('pcap-header', -1, 0, `truncated file header: ${leftover} of ${PCAP_FILE_HEADER_LEN} bytes`);
    }
    if (leftover === 0) return null;
    const what = leftover < PCAP_RECORD_HEADER_LEN ? 'record header' : 'record data';
    return captureError('pcap-record', this.records, fileOff, `truncated ${what}: ${leftover} of ${this.need} bytes`);
  }
}

function pcapInterface(h: PcapHeader): CaptureInterface {
  return {
    section: 0,
    id: 0,
    linkType: h.linkType,
    snaplen: h.snaplen,
    tsResolution: { base: 10, exponent: h.nanosecond ? 9 : 6 },
    tsOffsetSec: 0,
    fcsLength: h.fcsLength,
    littleEndian: h.littleEndian,
    version: { major: h.versionMajor, minor: h.versionMinor },
  };
}

export interface PcapWriterOptions {
  readonly linkType: number;
  /** Timestamp resolution; default 'us'. */
  readonly resolution?: 'us' | 'ns';
  /** Header snaplen; default 262144. Records longer than this are truncated to it. */
  readonly snaplen?: number;
  /** FCS bytes per frame (even, ≤ 30) to declare in the link-type word; default: not declared. */
  readonly fcsLength?: number;
}

/** Checks a timestamp a writer was given (programmer error → RangeError). */
export function checkTimestamp(tsSec: number, tsNsec: number, maxSec: number): void {
  if (!Number.isInteger(tsSec) || tsSec < 0 || tsSec > maxSec) throw new RangeError(`timestamp seconds ${tsSec} out of range`);
  if (!Number.isInteger(tsNsec) || tsNsec < 0 || tsNsec >= 1_000_000_000) throw new RangeError(`timestamp nanoseconds ${tsNsec} out of range`);
}

/**
 * Little-endian pcap writer. The file header is written to the sink at construction; every packet
 * then goes out as one chunk (record header + data), owned by the sink.
 */
export class PcapWriter implements CaptureWriter {
  readonly format = 'pcap' as const;
  readonly snaplen: number;
  private readonly ns: boolean;

  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    opts: PcapWriterOptions,
  ) {
    const lt = opts.linkType;
    if (!Number.isInteger(lt) || lt < 0 || lt > 0xffff) throw new RangeError(`link type ${lt} out of range`);
    this.ns = (opts.resolution ?? 'us') === 'ns';
    this.snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0x7fffffff) {
      throw new RangeError(`snaplen ${this.snaplen} out of range`);
    }
    let ltWord = lt;
    if (opts.fcsLength !== undefined) {
      const f = opts.fcsLength;
      if (!Number.isInteger(f) || f < 0 || f > 30 || f % 2 !== 0) throw new RangeError(`fcsLength ${f} must be even and <= 30`);
      ltWord = (lt | 0x04000000 | ((f / 2) << 28)) >>> 0;
    }
    const h = new Uint8Array(PCAP_FILE_HEADER_LEN);
    putU32le(h, 0, this.ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    putU16le(h, 4, 2);
    putU16le(h, 6, 4);
    putU32le(h, 16, this.snaplen);
    putU32le(h, 20, ltWord);
    sink(h);
  }

  writePacket(data: Uint8Array, tsSec: number, tsNsec: number, meta?: WritePacketMeta): void {
    checkTimestamp(tsSec, tsNsec, 0xffffffff);
    if (meta?.interfaceId !== undefined && meta.interfaceId !== 0) {
      throw new RangeError(`pcap has one interface; got interface ${meta.interfaceId}`);
    }
    const caplen = Math.min(data.length, this.snaplen);
    const orig = meta?.originalLength ?? data.length;
    if (!Number.isInteger(orig) || orig < caplen || orig > 0xffffffff) throw new RangeError(`originalLength ${orig} invalid`);
    const out = new Uint8Array(PCAP_RECORD_HEADER_LEN + caplen);
    putU32le(out, 0, tsSec);
    putU32le(out, 4, this.ns ? tsNsec : Math.floor(tsNsec / 1000));
    putU32le(out, 8, caplen);
    putU32le(out, 12, orig);
    out.set(caplen === data.length ? data : data.subarray(0, caplen), PCAP_RECORD_HEADER_LEN);
    this.sink(out);
  }
}
