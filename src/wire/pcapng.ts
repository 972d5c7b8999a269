// pcapng capture files (draft-ietf-opsawg-pcapng): a sequence of blocks, each
// `type | total length | body | total length`, grouped in sections that start with a Section Header
// Block whose byte-order magic fixes the endianness of that section only. The parser validates every
// block's framing (length >= 12, multiple of 4, trailing copy equal) and walks options with bounds
// checks; packets come from EPB, SPB and the obsolete OPB. NRB entries go to an optional callback;
// ISB, DSB, custom and unknown blocks are skipped by length. The writer emits a little-endian SHB, one
// IDB per interface (if_tsresol = 9) and EPBs. Only types are imported from capture.ts.

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
import { captureError, checkTimestamp, LentRecord, u16be, u16le, u32be, u32le } from './pcap.js';

export const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Block type codes. */
export const PcapngBlock = {
  IDB: 0x00000001,
  OPB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  DSB: 0x0000000a,
  CB_COPY: 0x00000bad,
  CB_NOCOPY: 0x40000bad,
  SHB: PCAPNG_SHB_TYPE,
} as const;

const OPT_ENDOFOPT = 0;
const OPT_IF_NAME = 2;
const OPT_IF_DESCRIPTION = 3;
const OPT_IF_TSRESOL = 9;
const OPT_IF_FCSLEN = 13;
const OPT_IF_TSOFFSET = 14;
const OPT_EPB_FLAGS = 2;

/** One interface of the current section, with its timestamp conversion precomputed. */
interface Iface {
  readonly info: CaptureInterface;
  /** Timestamp units per second as a bigint (general path). */
  readonly units: bigint;
  /** Units per second when a power of ten in [1e4, 1e11] (exact number path), else 0. */
  readonly fastUnits: number;
  /** For fastUnits <= 1e9: ns per unit; above: units per ns (divisor). */
  readonly nsScale: number;
}

interface Section {
  readonly index: number;
  readonly le: boolean;
  readonly major: number;
  readonly minor: number;
  /** Declared byte length of the blocks after the SHB, or -1. */
  readonly declaredLength: number;
  /** File offset of the section length field, for error reports. */
  readonly lengthFieldOffset: number;
  /** Bytes of blocks seen after the SHB. */
  seen: number;
  readonly ifaces: Iface[];
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

function decodeText(b: Uint8Array, o: number, len: number): string {
  let end = o + len;
  // Strings may carry a trailing NUL (some writers add one).
  while (end > o && b[end - 1] === 0) end--;
  return textDecoder.decode(b.subarray(o, end));
}

/** Walks the options in b[start, end); calls visit for each. Returns an error reason or null. */
function walkOptions(
  b: Uint8Array,
  start: number,
  end: number,
  le: boolean,
  visit: ((code: number, valOff: number, len: number) => string | null) | null,
): { reason: string; at: number } | null {
  const r16 = le ? u16le : u16be;
  let p = start;
  while (p < end) {
    if (end - p < 4) return { reason: `${end - p} stray bytes after options`, at: p };
    const code = r16(b, p);
    const len = r16(b, p + 2);
    if (code === OPT_ENDOFOPT) return null;
    const padded = (len + 3) & ~3;
    if (padded > end - p - 4) return { reason: `option ${code} of length ${len} overruns its block by ${padded - (end - p - 4)} bytes`, at: p };
    if (visit !== null) {
      const bad = visit(code, p + 4, len);
      if (bad !== null) return { reason: bad, at: p };
    }
    p += 4 + padded;
  }
  return null;
}

/** Builds the per-interface timestamp converter for if_tsresol `base`^-`exp` seconds. */
function makeIface(info: CaptureInterface): Iface {
  const { base, exponent } = info.tsResolution;
  const units = BigInt(base) ** BigInt(exponent);
  let fastUnits = 0;
  let nsScale = 0;
  if (base === 10 && exponent >= 4 && exponent <= 11) {
    fastUnits = 10 ** exponent;
    nsScale = exponent <= 9 ? 10 ** (9 - exponent) : 10 ** (exponent - 9);
  }
  return { info, units, fastUnits, nsScale };
}

/**
 * Splits the 64-bit unit count hi:lo into seconds and nanoseconds. Exact for power-of-ten
 * resolutions 1e-4..1e-9 through number arithmetic (long division in base 2^16 keeps every
 * intermediate below 2^53); other resolutions go through bigint and truncate to the nanosecond.
 */
function setTimestamp(rec: LentRecord, f: Iface, hi: number, lo: number): void {
  const D = f.fastUnits;
  let sec: number;
  let rem: number;
  if (D !== 0) {
    if (hi < 0x200000) {
      const v = hi * 4294967296 + lo;
      sec = Math.floor(v / D);
      rem = v - sec * D;
    } else {
      // hi = hq*D + hr, then two base-2^16 digits of lo: every partial value stays below 2^53.
      const hq = Math.floor(hi / D);
      let r = hi - hq * D;
      r = r * 65536 + (lo >>> 16);
      let q1 = Math.floor(r / D);
      r -= q1 * D;
      if (r < 0) {
        q1--;
        r += D;
      } else if (r >= D) {
        q1++;
        r -= D;
      }
      r = r * 65536 + (lo & 0xffff);
      const q2 = Math.floor(r / D);
      rem = r - q2 * D;
      sec = (hq * 65536 + q1) * 65536 + q2;
    }
    if (rem < 0) {
      sec--;
      rem += D;
    } else if (rem >= D) {
      sec++;
      rem -= D;
    }
    rec.tsNsec = D <= 1_000_000_000 ? rem * f.nsScale : Math.floor(rem / f.nsScale);
  } else {
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    const s = v / f.units;
    sec = Number(s);
    rec.tsNsec = Number(((v - s * f.units) * 1_000_000_000n) / f.units);
  }
  rec.tsSec = sec + f.info.tsOffsetSec;
}

/** Streaming pcapng parser (see FormatParser in capture.ts). */
export class PcapngParser implements FormatParser {
  need = 12;
  error: CaptureError | null = null;
  records = 0;
  blocks = 0;
  private section: Section | null = null;
  private sections = 0;
  private readonly rec = new LentRecord();

  constructor(
    private readonly onRecord: (rec: CaptureRecord) => void,
    private readonly maxBlock: number,
    private readonly opts: CaptureReaderOptions,
  ) {}

  parse(buf: Uint8Array, off: number, end: number, fileOff: number): number {
    let p = off;
    const rec = this.rec;
    for (;;) {
      if (end - p < 12) {
        this.need = 12;
        return p;
      }
      const at = fileOff + (p - off);
      let sec = this.section;
      let le: boolean;
      let type: number;
      if (u32be(buf, p) === PCAPNG_SHB_TYPE) {
        // The SHB type is a palindrome; its byte-order magic decides how to read everything else.
        type = PCAPNG_SHB_TYPE;
        const bom = u32be(buf, p + 8);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = false;
        else if (bom === 0x4d3c2b1a) le = true;
        else {
          this.fail('shb', at + 8, `bad byte-order magic ${bom.toString(16).padStart(8, '0')}`);
          return p;
        }
      } else {
        if (sec === null) {
          this.fail('file', at, 'first block is not a Section Header Block');
          return p;
        }
        le = sec.le;
        type = le ? u32le(buf, p) : u32be(buf, p);
      }
      const total = le ? u32le(buf, p + 4) : u32be(buf, p + 4);
      if (total < 12 || (total & 3) !== 0) {
        this.fail(blockKind(type), at + 4, `block total length ${total} is not a multiple of 4 >= 12`);
        return p;
      }
      if (total > this.maxBlock) {
        this.fail(blockKind(type), at + 4, `block total length ${total} exceeds limit ${this.maxBlock}`);
        return p;
      }
      if (end - p < total) {
        this.need = total;
        return p;
      }
      const trailer = le ? u32le(buf, p + total - 4) : u32be(buf, p + total - 4);
      if (trailer !== total) {
        this.fail(blockKind(type), at + total - 4, `trailing block length ${trailer} != ${total}`);
        return p;
      }
      let deliver = false;
      switch (type) {
        case PcapngBlock.EPB:
          if (!this.packetBlock(buf, p, total, sec!, le, at, false)) return p;
          deliver = true;
          break;
        case PcapngBlock.SPB:
          if (!this.simplePacket(buf, p, total, sec!, le, at)) return p;
          deliver = true;
          break;
        case PcapngBlock.OPB:
          if (!this.packetBlock(buf, p, total, sec!, le, at, true)) return p;
          deliver = true;
          break;
        case PCAPNG_SHB_TYPE:
          if (sec !== null && !this.closeSection(sec, at)) return p;
          sec = this.sectionHeader(buf, p, total, le, at);
          if (sec === null) return p;
          this.section = sec;
          break;
        case PcapngBlock.IDB:
          if (!this.interfaceBlock(buf, p, total, sec!, le, at)) return p;
          break;
        case PcapngBlock.NRB:
          if (!this.nameBlock(buf, p, total, le, at)) return p;
          break;
        case PcapngBlock.ISB:
          if (total < 24) {
            this.fail('isb', at + 4, `block total length ${total} < 24`);
            return p;
          }
          if (!this.options(buf, p + 20, p + total - 4, le, 'isb', p, at, null)) return p;
          break;
        default:
          // DSB, custom blocks and types we do not know are skipped by their (validated) length.
          break;
      }
      if (type !== PCAPNG_SHB_TYPE) sec!.seen += total;
      this.blocks++;
      p += total;
      if (deliver) {
        rec.index = this.records;
        rec.offset = at;
        this.records++;
        this.onRecord(rec);
      }
    }
  }

  finish(fileOff: number, leftover: number): CaptureError | null {
    if (leftover > 0) {
      const what = leftover < 12 ? 'block header' : 'block';
      return captureError('block', this.blocks, fileOff, `truncated ${what}: ${leftover} of ${this.need} bytes`);
    }
    if (this.section === null) return captureError('file', -1, fileOff, 'no Section Header Block');
    return this.closeSection(this.section, fileOff) ? null : this.error;
  }

  private fail(kind: CaptureUnitKind, offset: number, reason: string): void {
    this.error = captureError(kind, kind === 'file' ? -1 : this.blocks, offset, reason);
  }

  /** A section with an explicit length must contain exactly that many bytes of blocks. */
  private closeSection(s: Section, at: number): boolean {
    if (s.declaredLength < 0 || s.seen === s.declaredLength) return true;
    this.error = captureError(
      'shb',
      -1,
      s.lengthFieldOffset,
      `section ${s.index} declares ${s.declaredLength} bytes but holds ${s.seen} (ends at byte ${at})`,
    );
    return false;
  }

  private options(
    b: Uint8Array,
    start: number,
    end: number,
    le: boolean,
    kind: CaptureUnitKind,
    blockStart: number,
    at: number,
    visit: ((code: number, valOff: number, len: number) => string | null) | null,
  ): boolean {
    const bad = walkOptions(b, start, end, le, visit);
    if (bad === null) return true;
    this.fail(kind, at + (bad.at - blockStart), bad.reason);
    return false;
  }

  private sectionHeader(b: Uint8Array, p: number, total: number, le: boolean, at: number): Section | null {
    if (total < 28) {
      this.fail('shb', at + 4, `block total length ${total} < 28`);
      return null;
    }
    const r16 = le ? u16le : u16be;
    const r32 = le ? u32le : u32be;
    const major = r16(b, p + 12);
    const minor = r16(b, p + 14);
    if (major !== 1) {
      this.fail('shb', at + 12, `unsupported version ${major}.${minor}`);
      return null;
    }
    const hi = le ? r32(b, p + 20) : r32(b, p + 16);
    const lo = le ? r32(b, p + 16) : r32(b, p + 20);
    let declared: number;
    if (hi === 0xffffffff && lo === 0xffffffff) declared = -1;
    else if (hi >= 0x200000 || lo % 4 !== 0) {
      this.fail('shb', at + 16, `section length ${hi >= 0x80000000 ? 'negative' : 'invalid'} (${hi.toString(16)}:${lo.toString(16).padStart(8, '0')})`);
      return null;
    } else declared = hi * 4294967296 + lo;
    if (!this.options(b, p + 24, p + total - 4, le, 'shb', p, at, null)) return null;
    return {
      index: this.sections++,
      le,
      major,
      minor,
      declaredLength: declared,
      lengthFieldOffset: at + 16,
      seen: 0,
      ifaces: [],
    };
  }

  private interfaceBlock(b: Uint8Array, p: number, total: number, s: Section, le: boolean, at: number): boolean {
    if (total < 20) {
      this.fail('idb', at + 4, `block total length ${total} < 20`);
      return false;
    }
    const linkType = le ? u16le(b, p + 8) : u16be(b, p + 8);
    const snaplen = le ? u32le(b, p + 12) : u32be(b, p + 12);
    let name: string | undefined;
    let description: string | undefined;
    let base: 2 | 10 = 10;
    let exponent = 6;
    let tsOffset = 0;
    let fcsLength = -1;
    const ok = this.options(b, p + 16, p + total - 4, le, 'idb', p, at, (code, v, len) => {
      switch (code) {
        case OPT_IF_NAME:
          name = decodeText(b, v, len);
          return null;
        case OPT_IF_DESCRIPTION:
          description = decodeText(b, v, len);
          return null;
        case OPT_IF_TSRESOL: {
          if (len !== 1) return `if_tsresol of length ${len}, expected 1`;
          const r = b[v]!;
          base = r & 0x80 ? 2 : 10;
          exponent = r & 0x7f;
          return null;
        }
        case OPT_IF_FCSLEN:
          if (len !== 1) return `if_fcslen of length ${len}, expected 1`;
          fcsLength = b[v]!;
          return null;
        case OPT_IF_TSOFFSET: {
          if (len !== 8) return `if_tsoffset of length ${len}, expected 8`;
          const hi = le ? u32le(b, v + 4) : u32be(b, v);
          const lo = le ? u32le(b, v) : u32be(b, v + 4);
          tsOffset = Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
          return null;
        }
        default:
          return null;
      }
    });
    if (!ok) return false;
    const info: CaptureInterface = {
      section: s.index,
      id: s.ifaces.length,
      linkType,
      snaplen,
      name,
      description,
      tsResolution: { base, exponent },
      tsOffsetSec: tsOffset,
      fcsLength,
      littleEndian: le,
      version: { major: s.major, minor: s.minor },
    };
    s.ifaces.push(makeIface(info));
    this.opts.onInterface?.(info);
    return true;
  }

  /** EPB (type 6) or obsolete OPB (type 2): same layout apart from a 16-bit interface id. */
  private packetBlock(b: Uint8Array, p: number, total: number, s: Section, le: boolean, at: number, obsolete: boolean): boolean {
    const kind = obsolete ? 'opb' : 'epb';
    if (total < 32) {
      this.fail(kind, at + 4, `block total length ${total} < 32`);
      return false;
    }
    let id: number;
    let hi: number;
    let lo: number;
    let caplen: number;
    let len: number;
    if (le) {
      id = obsolete ? u16le(b, p + 8) : u32le(b, p + 8);
      hi = u32le(b, p + 12);
      lo = u32le(b, p + 16);
      caplen = u32le(b, p + 20);
      len = u32le(b, p + 24);
    } else {
      id = obsolete ? u16be(b, p + 8) : u32be(b, p + 8);
      hi = u32be(b, p + 12);
      lo = u32be(b, p + 16);
      caplen = u32be(b, p + 20);
      len = u32be(b, p + 24);
    }
    const iface = s.ifaces[id];
    if (iface === undefined) {
      this.fail(kind, at + 8, `interface ${id} is not defined in section ${s.index} (${s.ifaces.length} interfaces)`);
      return false;
    }
    const padded = caplen + ((4 - (caplen & 3)) & 3);
    if (padded > total - 32) {
      this.fail(kind, at + 20, `captured length ${caplen} overruns the block (${total - 32} bytes of data)`);
      return false;
    }
    const rec = this.rec;
    rec.flags = 0;
    const optStart = p + 28 + padded;
    const optEnd = p + total - 4;
    if (optStart < optEnd) {
      const ok = this.options(b, optStart, optEnd, le, kind, p, at, (code, v, olen) => {
        if (code === OPT_EPB_FLAGS) {
          if (olen !== 4) return `epb_flags of length ${olen}, expected 4`;
          rec.flags = le ? u32le(b, v) : u32be(b, v);
        }
        return null;
      });
      if (!ok) return false;
    }
    const info = iface.info;
    rec.linkType = info.linkType;
    rec.interfaceId = id;
    rec.fcsLength = info.fcsLength;
    rec.hasTimestamp = true;
    setTimestamp(rec, iface, hi, lo);
    rec.capturedLength = caplen;
    rec.originalLength = len;
    rec.data = b.subarray(p + 28, p + 28 + caplen);
    return true;
  }

  private simplePacket(b: Uint8Array, p: number, total: number, s: Section, le: boolean, at: number): boolean {
    if (total < 16) {
      this.fail('spb', at + 4, `block total length ${total} < 16`);
      return false;
    }
    const iface = s.ifaces[0];
    if (iface === undefined) {
      this.fail('spb', at, `no interface defined in section ${s.index} for a Simple Packet Block`);
      return false;
    }
    const len = le ? u32le(b, p + 8) : u32be(b, p + 8);
    // The captured length is implied: the original length, cut by the snaplen and the block body.
    let caplen = Math.min(len, total - 16);
    const snap = iface.info.snaplen;
    if (snap !== 0 && caplen > snap) caplen = snap;
    const rec = this.rec;
    rec.linkType = iface.info.linkType;
    rec.interfaceId = 0;
    rec.fcsLength = iface.info.fcsLength;
    rec.hasTimestamp = false;
    rec.tsSec = 0;
    rec.tsNsec = 0;
    rec.flags = 0;
    rec.capturedLength = caplen;
    rec.originalLength = len;
    rec.data = b.subarray(p + 12, p + 12 + caplen);
    return true;
  }

  /** Name Resolution Block: records until nrb_record_end, then options. */
  private nameBlock(b: Uint8Array, p: number, total: number, le: boolean, at: number): boolean {
    const r16 = le ? u16le : u16be;
    const end = p + total - 4;
    const cb = this.opts.onNameRecord;
    let q = p + 8;
    for (;;) {
      if (q === end) return true; // no nrb_record_end and no options: tolerated
      if (end - q < 4) {
        this.fail('nrb', at + (q - p), `${end - q} stray bytes in the record list`);
        return false;
      }
      const type = r16(b, q);
      const len = r16(b, q + 2);
      if (type === 0) {
        q += 4;
        break;
      }
      const padded = (len + 3) & ~3;
      if (padded > end - q - 4) {
        this.fail('nrb', at + (q - p), `record of length ${len} overruns the block`);
        return false;
      }
      const addrLen = type === 1 ? 4 : type === 2 ? 16 : type === 3 ? 6 : type === 4 ? 8 : -1;
      if (addrLen > 0) {
        if (len < addrLen) {
          this.fail('nrb', at + (q - p), `record type ${type} of length ${len} is shorter than its ${addrLen}-byte address`);
          return false;
        }
        if (cb !== undefined) {
          const names: string[] = [];
          let s = q + 4 + addrLen;
          const stop = q + 4 + len;
          while (s < stop) {
            let z = s;
            while (z < stop && b[z] !== 0) z++;
            if (z > s) names.push(decodeText(b, s, z - s));
            s = z + 1;
          }
          cb({ type, address: b.slice(q + 4, q + 4 + addrLen), names });
        }
      }
      q += 4 + padded;
    }
    return this.options(b, q, end, le, 'nrb', p, at, null);
  }
}

function blockKind(type: number): CaptureUnitKind {
  switch (type) {
    case PCAPNG_SHB_TYPE:
      return 'shb';
    case PcapngBlock.IDB:
      return 'idb';
    case PcapngBlock.EPB:
      return 'epb';
    case PcapngBlock.SPB:
      return 'spb';
    case PcapngBlock.OPB:
      return 'opb';
    case PcapngBlock.NRB:
      return 'nrb';
    case PcapngBlock.ISB:
      return 'isb';
    default:
      return 'block';
  }
}

export interface PcapngInterfaceSpec {
  readonly linkType: number;
  readonly name?: string;
  readonly description?: string;
  /** 0 = unlimited (default). */
  readonly snaplen?: number;
}

export interface PcapngWriterOptions {
  readonly interfaces?: readonly PcapngInterfaceSpec[];
  /** shb_userappl; default 'picotcp-ts'. */
  readonly application?: string;
}

const textEncoder = new TextEncoder();

/** Serialises options (code, bytes) into a padded option list ending with opt_endofopt. */
function encodeOptions(opts: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  let size = 4;
  for (const [, v] of opts) size += 4 + ((v.length + 3) & ~3);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const [code, v] of opts) {
    if (v.length > 0xffff) throw new RangeError(`option ${code} longer than 65535 bytes`);
    dv.setUint16(p, code, true);
    dv.setUint16(p + 2, v.length, true);
    out.set(v, p + 4);
    p += 4 + ((v.length + 3) & ~3);
  }
  return out;
}

/** Frames one block: type, length, body (already padded to 4), length. */
function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, total, true);
  out.set(body, 8);
  dv.setUint32(total - 4, total, true);
  return out;
}

/**
 * Little-endian pcapng writer: the SHB and the initial IDBs go to the sink at construction; each
 * packet becomes one EPB chunk with nanosecond timestamps (and epb_flags when a direction is given).
 */
export class PcapngWriter implements CaptureWriter {
  readonly format = 'pcapng' as const;
  private readonly snaplens: number[] = [];

  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    opts: PcapngWriterOptions = {},
  ) {
    const shbOpts = encodeOptions([[4, textEncoder.encode(opts.application ?? 'picotcp-ts')]]);
    const body = new Uint8Array(16 + shbOpts.length);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, PCAPNG_BYTE_ORDER_MAGIC, true);
    dv.setUint16(4, 1, true);
    dv.setUint16(6, 0, true);
    dv.setInt32(8, -1, true);
    dv.setInt32(12, -1, true);
    body.set(shbOpts, 16);
    sink(block(PCAPNG_SHB_TYPE, body));
    for (const spec of opts.interfaces ?? []) this.addInterface(spec);
  }

  /** Number of interfaces declared so far. */
  get interfaces(): number {
    return this.snaplens.length;
  }

  /** Declares an interface (writes its IDB) and returns its id. */
  addInterface(spec: PcapngInterfaceSpec): number {
    const lt = spec.linkType;
    if (!Number.isInteger(lt) || lt < 0 || lt > 0xffff) throw new RangeError(`link type ${lt} out of range`);
    const snaplen = spec.snaplen ?? 0;
    if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > 0xffffffff) throw new RangeError(`snaplen ${snaplen} out of range`);
    const list: Array<readonly [number, Uint8Array]> = [];
    if (spec.name !== undefined) list.push([OPT_IF_NAME, textEncoder.encode(spec.name)]);
    if (spec.description !== undefined) list.push([OPT_IF_DESCRIPTION, textEncoder.encode(spec.description)]);
    list.push([OPT_IF_TSRESOL, Uint8Array.of(9)]);
    const opts = encodeOptions(list);
    const body = new Uint8Array(8 + opts.length);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, lt, true);
    dv.setUint32(4, snaplen, true);
    body.set(opts, 8);
    this.sink(block(PcapngBlock.IDB, body));
    this.snaplens.push(snaplen);
    return this.snaplens.length - 1;
  }

  writePacket(data: Uint8Array, tsSec: number, tsNsec: number, meta?: WritePacketMeta): void {
    checkTimestamp(tsSec, tsNsec, 18_446_744_073);
    const id = meta?.interfaceId ?? 0;
    const snap = this.snaplens[id];
    if (snap === undefined) throw new RangeError(`interface ${id} not declared (${this.snaplens.length} interfaces)`);
    const caplen = snap !== 0 && data.length > snap ? snap : data.length;
    const orig = meta?.originalLength ?? data.length;
    if (!Number.isInteger(orig) || orig < caplen || orig > 0xffffffff) throw new RangeError(`originalLength ${orig} invalid`);
    const dir = meta?.direction;
    const flags = dir === 'inbound' ? 1 : dir === 'outbound' ? 2 : 0;
    const padded = (caplen + 3) & ~3;
    const optLen = flags !== 0 ? 12 : 0;
    const total = 32 + padded + optLen;
    const ts = BigInt(tsSec) * 1_000_000_000n + BigInt(tsNsec);
    if (ts > 0xffffffffffffffffn) throw new RangeError(`timestamp ${tsSec}.${tsNsec} does not fit 64 bits of ns`);
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, PcapngBlock.EPB, true);
    dv.setUint32(4, total, true);
    dv.setUint32(8, id, true);
    dv.setUint32(12, Number(ts >> 32n), true);
    dv.setUint32(16, Number(ts & 0xffffffffn), true);
    dv.setUint32(20, caplen, true);
    dv.setUint32(24, orig, true);
    out.set(caplen === data.length ? data : data.subarray(0, caplen), 28);
    if (flags !== 0) {
      const o = 28 + padded;
      dv.setUint16(o, OPT_EPB_FLAGS, true);
      dv.setUint16(o + 2, 4, true);
      dv.setUint32(o + 4, flags, true);
      // o + 8: opt_endofopt (zero bytes already).
    }
    dv.setUint32(total - 4, total, true);
    this.sink(out);
  }
}
