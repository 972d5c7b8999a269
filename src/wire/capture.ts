// Capture files (pcap and pcapng): shared record types, format detection, the push-based streaming
// reader and a format-neutral writer factory. Pure: chunks in, records out; no I/O and no clock
// (src/api/capture-file.ts owns node:fs). The reader parses records straight out of each pushed chunk
// and copies only a record or block that straddles two chunks, so its memory is bounded by
// `maxBlockSize` whatever the file size. Malformed input never throws: the reader stops at the first
// fault and reports a CaptureError naming the byte offset; every record before it has been delivered.

// pcap.ts and pcapng.ts import only types from this module (no runtime import cycle).
import { captureError, PcapParser, PcapWriter, PCAP_MAGIC_NS_LE, PCAP_MAGIC_US_LE } from './pcap.js';
import { PcapngParser, PcapngWriter, PCAPNG_SHB_TYPE } from './pcapng.js';

export { captureError };

export type CaptureFormat = 'pcap' | 'pcapng';

/** What the reader was decoding when it failed. */
export type CaptureUnitKind =
  | 'file'
  | 'pcap-header'
  | 'pcap-record'
  | 'shb'
  | 'idb'
  | 'epb'
  | 'spb'
  | 'opb'
  | 'nrb'
  | 'isb'
  | 'block';

/** A malformed or truncated capture. A value, never thrown by the reader. */
export interface CaptureError {
  readonly code: 'ECAPTURE';
  /** Byte offset in the file of the offending field (or of the unit, for truncation). */
  readonly offset: number;
  readonly kind: CaptureUnitKind;
  /** pcap: record number (0-based); pcapng: block number in the file (0-based); -1 for the file. */
  readonly index: number;
  readonly reason: string;
  /** `kind #index at byte offset: reason`, for logs. */
  readonly message: string;
}

export function isCaptureError(v: unknown): v is CaptureError {
  return typeof v === 'object' && v !== null && (v as { code?: unknown }).code === 'ECAPTURE';
}

/**
 * One packet of a capture. The reader reuses one record object and lends `data` (a view into the
 * pushed chunk or its internal buffer) for the duration of the callback only: use copyRecord() to keep it.
 */
export interface CaptureRecord {
  /** LINKTYPE_* of the interface (pcap: low 16 bits of the header field). */
  readonly linkType: number;
  /** pcapng interface id within its section; 0 for pcap. */
  readonly interfaceId: number;
  /**
   * Timestamp as whole seconds since 1970 plus nanoseconds (0..999999999), exact for every
   * power-of-ten resolution down to 1 ns; finer or power-of-two resolutions are truncated to the ns.
   * Both 0 when the record has no timestamp (pcapng Simple Packet Block).
   */
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly hasTimestamp: boolean;
  readonly capturedLength: number;
  readonly originalLength: number;
  readonly data: Uint8Array;
  /** pcapng epb_flags / pack_flags word (bits 0-1: direction), 0 when absent or pcap. */
  readonly flags: number;
  /** Bytes of FCS at the end of each frame when the file says so, else -1 (unknown). */
  readonly fcsLength: number;
  /** Packet number in the file, 0-based. */
  readonly index: number;
  /** Byte offset of the packet's record or block in the file. */
  readonly offset: number;
}

/** A record whose bytes are owned by the holder (copyRecord, captureRecords). */
export type OwnedCaptureRecord = { -readonly [K in keyof CaptureRecord]: CaptureRecord[K] };

export function copyRecord(rec: CaptureRecord): OwnedCaptureRecord {
  return {
    linkType: rec.linkType,
    interfaceId: rec.interfaceId,
    tsSec: rec.tsSec,
    tsNsec: rec.tsNsec,
    hasTimestamp: rec.hasTimestamp,
    capturedLength: rec.capturedLength,
    originalLength: rec.originalLength,
    data: rec.data.slice(),
    flags: rec.flags,
    fcsLength: rec.fcsLength,
    index: rec.index,
    offset: rec.offset,
  };
}

/** Exact timestamp in nanoseconds since 1970 (off the fast path: allocates a bigint). */
export function recordTimestampNs(rec: Pick<CaptureRecord, 'tsSec' | 'tsNsec'>): bigint {
  return BigInt(rec.tsSec) * 1_000_000_000n + BigInt(rec.tsNsec);
}

export type PacketDirection = 'unknown' | 'inbound' | 'outbound';

/** Direction from pcapng epb_flags bits 0-1. */
export function recordDirection(rec: Pick<CaptureRecord, 'flags'>): PacketDirection {
  const d = rec.flags & 3;
  return d === 1 ? 'inbound' : d === 2 ? 'outbound' : 'unknown';
}

/** An interface as described by a pcap file header or a pcapng Interface Description Block. */
export interface CaptureInterface {
  /** 0-based section number (always 0 for pcap). */
  readonly section: number;
  readonly id: number;
  readonly linkType: number;
  /** 0 means "no limit". */
  readonly snaplen: number;
  readonly name?: string;
  readonly description?: string;
  /** Timestamp units: base**-exponent seconds (pcap: 10^-6 or 10^-9). */
  readonly tsResolution: { readonly base: 2 | 10; readonly exponent: number };
  /** if_tsoffset seconds added to every timestamp. */
  readonly tsOffsetSec: number;
  readonly fcsLength: number;
  /** pcap only: file byte order; pcapng: the section's. */
  readonly littleEndian: boolean;
  /** pcap only: file format version; pcapng: the section's. */
  readonly version: { readonly major: number; readonly minor: number };
}

/** One entry of a pcapng Name Resolution Block. */
export interface NameRecord {
  /** nrb_record_ipv4 = 1, nrb_record_ipv6 = 2, nrb_record_eui48 = 3, nrb_record_eui64 = 4. */
  readonly type: number;
  /** Owned copy of the address bytes. */
  readonly address: Uint8Array;
  readonly names: readonly string[];
}

export interface CaptureReaderOptions {
  /** 'auto' (default) detects from the first four bytes. */
  readonly format?: 'auto' | CaptureFormat;
  /** Largest pcap record (header + data) or pcapng block accepted; default 256 KiB + 64. */
  readonly maxBlockSize?: number;
  /** pcap: reject records whose caplen exceeds the header's snaplen (default false: libpcap tolerates it). */
  readonly strictSnaplen?: boolean;
  readonly onError?: (err: CaptureError) => void;
  readonly onInterface?: (iface: CaptureInterface) => void;
  readonly onNameRecord?: (rec: NameRecord) => void;
}

export const DEFAULT_MAX_BLOCK_SIZE = 256 * 1024 + 64;

/** Internal contract between the streaming reader and a format parser. */
export interface FormatParser {
  /** Bytes the next unit needs, counted from its start, before parse() can consume it. */
  readonly need: number;
  readonly error: CaptureError | null;
  readonly records: number;
  /**
   * Consumes whole units from buf[off, end) (fileOff = file offset of buf[off]) and returns the
   * offset after the last one. Stops early on error (error is set) or a partial unit (need is set).
   */
  parse(buf: Uint8Array, off: number, end: number, fileOff: number): number;
  /** At end of input with `leftover` unconsumed bytes starting at fileOff: the error, or null if clean. */
  finish(fileOff: number, leftover: number): CaptureError | null;
}

/** Format of a capture from its first four bytes, or null if it is neither. */
export function detectCaptureFormat(head: Uint8Array): CaptureFormat | null {
  if (head.length < 4) return null;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (be === PCAPNG_SHB_TYPE) return 'pcapng';
  const le = ((head[3]! << 24) | (head[2]! << 16) | (head[1]! << 8) | head[0]!) >>> 0;
  if (be === PCAP_MAGIC_US_LE || le === PCAP_MAGIC_US_LE || be === PCAP_MAGIC_NS_LE || le === PCAP_MAGIC_NS_LE) {
    return 'pcap';
  }
  return null;
}

/**
 * Push-based capture reader: `push(chunk)` any number of times, then `end()`. Records are delivered
 * synchronously from push(); the first fault stops the reader and is reported once (onError and the
 * return value of end()). Chunks are only read during push(); the caller may reuse them afterwards.
 */
export class CaptureReader {
  private parser: FormatParser | null = null;
  private readonly opts: CaptureReaderOptions;
  private readonly maxBlock: number;
  private carry: Uint8Array = new Uint8Array(0);
  private carryLen = 0;
  /** File offset of carry[0]. */
  private carryOff = 0;
  /** Bytes pushed so far. */
  private total = 0;
  private err: CaptureError | null = null;
  private ended = false;
  private fmt: CaptureFormat | null = null;

  constructor(
    private readonly onRecord: (rec: CaptureRecord) => void,
    opts: CaptureReaderOptions = {},
  ) {
    this.opts = opts;
    this.maxBlock = opts.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE;
    if (!(this.maxBlock >= 64)) throw new RangeError(`maxBlockSize ${this.maxBlock} < 64`);
  }

  get format(): CaptureFormat | null {
    return this.fmt;
  }
  get error(): CaptureError | null {
    return this.err;
  }
  /** Packets delivered so far. */
  get records(): number {
    return this.parser === null ? 0 : this.parser.records;
  }
  /** Bytes pushed so far. */
  get bytes(): number {
    return this.total;
  }

  /** Feeds the next chunk. Returns false once the reader has failed or ended (further input is ignored). */
  push(chunk: Uint8Array): boolean {
    if (this.err !== null || this.ended) return false;
    const n = chunk.length;
    const base = this.total;
    this.total += n;
    let pos = 0;
    if (this.parser === null) {
      // Detection needs four bytes, which may arrive split.
      if (this.carryLen === 0 && n >= 4) {
        if (!this.start(chunk)) return false;
      } else {
        const take = Math.min(4 - this.carryLen, n);
        this.reserve(4);
        this.carry.set(chunk.subarray(0, take), this.carryLen);
        this.carryLen += take;
        pos = take;
        if (this.carryLen < 4) return true;
        if (!this.start(this.carry)) return false;
      }
    }
    const p = this.parser!;
    if (this.carryLen > 0) {
      // Complete the unit that straddles the previous chunk; carry never holds more than one unit.
      for (;;) {
        const need = p.need;
        this.reserve(need);
        const take = Math.min(need - this.carryLen, n - pos);
        if (take > 0) {
          this.carry.set(chunk.subarray(pos, pos + take), this.carryLen);
          this.carryLen += take;
          pos += take;
        }
        if (this.carryLen < need) return true;
        const used = p.parse(this.carry, 0, this.carryLen, this.carryOff);
        if (p.error !== null) return this.fail(p.error);
        if (used === this.carryLen) {
          this.carryLen = 0;
          break;
        }
        // used === 0: the header became visible and `need` grew to the whole unit.
      }
    }
    const used = p.parse(chunk, pos, n, base + pos);
    if (p.error !== null) return this.fail(p.error);
    if (used < n) {
      this.reserve(Math.max(p.need, n - used));
      this.carry.set(chunk.subarray(used, n), 0);
      this.carryLen = n - used;
      this.carryOff = base + used;
    }
    return true;
  }

  /** Declares end of input. Returns the error that stopped the reader (also sent to onError), or null. */
  end(): CaptureError | null {
    if (this.ended || this.err !== null) {
      this.ended = true;
      return this.err;
    }
    this.ended = true;
    let e: CaptureError | null;
    if (this.parser === null) {
      e = captureError('file', -1, 0, this.total === 0 ? 'empty file' : `truncated: ${this.total} bytes, no magic number`);
    } else {
      e = this.parser.finish(this.carryLen > 0 ? this.carryOff : this.total, this.carryLen);
    }
    if (e !== null) this.fail(e);
    return e;
  }

  private start(head: Uint8Array): boolean {
    const detected = detectCaptureFormat(head);
    const want = this.opts.format ?? 'auto';
    if (detected === null || (want !== 'auto' && want !== detected)) {
      const magic = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
      const what = detected === null ? 'not a pcap or pcapng file' : `${detected} file, expected ${want}`;
      return this.fail(captureError('file', -1, 0, `${what} (magic ${magic})`));
    }
    this.fmt = detected;
    this.parser =
      detected === 'pcap'
        ? new PcapParser(this.onRecord, this.maxBlock, this.opts)
        : new PcapngParser(this.onRecord, this.maxBlock, this.opts);
    return true;
  }

  private reserve(size: number): void {
    if (this.carry.length >= size) return;
    // Grow geometrically but never beyond one maximal unit (the parser rejected anything larger).
    let cap = Math.max(256, this.carry.length * 2);
    while (cap < size) cap *= 2;
    const next = new Uint8Array(Math.min(cap, Math.max(size, this.maxBlock)));
    next.set(this.carry.subarray(0, this.carryLen));
    this.carry = next;
  }

  private fail(e: CaptureError): false {
    this.err = e;
    this.carryLen = 0;
    this.carry = new Uint8Array(0);
    this.opts.onError?.(e);
    return false;
  }
}

/** Summary of reading a whole capture. */
export interface CaptureReadSummary {
  readonly format: CaptureFormat | null;
  readonly records: number;
  readonly bytes: number;
  readonly error: CaptureError | null;
}

/** Reads a capture held in memory, delivering records to onRecord (lent, as with CaptureReader). */
export function readCaptureBytes(
  bytes: Uint8Array,
  onRecord: (rec: CaptureRecord) => void,
  opts: CaptureReaderOptions = {},
): CaptureReadSummary {
  const r = new CaptureReader(onRecord, opts);
  r.push(bytes);
  const error = r.end();
  return { format: r.format, records: r.records, bytes: r.bytes, error };
}

/** Per-packet extras for a writer. */
export interface WritePacketMeta {
  /** Length on the wire; default data.length. */
  readonly originalLength?: number;
  /** pcapng interface id (default 0); pcap accepts only 0. */
  readonly interfaceId?: number;
  /** pcapng epb_flags direction; ignored by pcap. */
  readonly direction?: PacketDirection;
}

/** Format-neutral writer: each chunk handed to the sink is owned by the sink (never reused). */
export interface CaptureWriter {
  readonly format: CaptureFormat;
  /** Writes one packet; throws RangeError on programmer error (bad timestamp, unknown interface). */
  writePacket(data: Uint8Array, tsSec: number, tsNsec: number, meta?: WritePacketMeta): void;
}

export interface CaptureWriterOptions {
  readonly format: CaptureFormat;
  readonly linkType: number;
  /** pcap timestamp resolution (default 'us'); pcapng always writes nanoseconds (if_tsresol = 9). */
  readonly resolution?: 'us' | 'ns';
  readonly snaplen?: number;
  /** pcapng if_name of interface 0. */
  readonly interfaceName?: string;
}

/** A pcap or pcapng writer; the file header (or SHB + IDB) goes to the sink immediately. */
export function createCaptureWriter(sink: (chunk: Uint8Array) => void, opts: CaptureWriterOptions): CaptureWriter {
  if (opts.format === 'pcap') {
    return new PcapWriter(sink, { linkType: opts.linkType, resolution: opts.resolution ?? 'us', snaplen: opts.snaplen });
  }
  return new PcapngWriter(sink, {
    interfaces: [{ linkType: opts.linkType, name: opts.interfaceName, snaplen: opts.snaplen }],
  });
}
