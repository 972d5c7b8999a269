// IPv4 header (RFC 791): checked view, Repr, and a bounded options walker. check() validates version,
// IHL >= 5 (SECURITY-CASES H04), total length >= IHL*4 and <= the bytes present; a shorter total length
// trims the view (Ethernet padding, H05), so `len` is always the datagram's own length. When options are
// present (IHL > 5) check() also walks them once (H06), so a malformed option never reaches the core.
// The header checksum is verified separately (verifyChecksum) so the caller can count it as its own
// drop reason. Policy (refusing source routes, H07; martian addresses; reassembly limits) is the core's.

import type { ChecksumProvider } from '../ports/checksum.js';
import { finishChecksum } from '../checksum/internet.js';
import type { Ipv4Address } from './address.js';
import { readIpv4, writeIpv4 } from './address.js';
import { readU16, writeU16 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const IPV4_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
export const IPV4_MAX_OPTIONS_LEN = 40;
/** Largest fragment offset in bytes (13-bit field in 8-byte units). */
export const IPV4_MAX_FRAG_OFFSET = 0x1fff * 8;

/** Field offsets within the IPv4 header. */
export const Ipv4Field = {
  VER_IHL: 0,
  DSCP_ECN: 1,
  TOTAL_LENGTH: 2,
  IDENT: 4,
  FLAGS_FRAG: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;

/** Option types (RFC 791 §3.1, RFC 2113 Router Alert, RFC 1108 Security). */
export const Ipv4OptionType = {
  EOL: 0x00,
  NOP: 0x01,
  RECORD_ROUTE: 0x07,
  TIMESTAMP: 0x44,
  SECURITY: 0x82,
  LSRR: 0x83,
  STREAM_ID: 0x88,
  SSRR: 0x89,
  ROUTER_ALERT: 0x94,
} as const;

const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;

/**
 * Zero-copy view of an IPv4 datagram at `buf[off, off+len)`, where `len` is the Total Length field
 * (already checked against, and trimmed to, the bytes present). Construct through `Ipv4Packet.check`.
 */
export class Ipv4Packet {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  /**
   * Validates `buf[off, off+avail)` (avail = the link payload length) and returns a view or the reason.
   * Kept small so the JIT inlines it: options and error messages are handled out of line.
   */
  static check(buf: Uint8Array, off = 0, avail = buf.length - off): Ipv4Packet | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return headerError('buffer', off);
    if (avail < IPV4_HEADER_LEN) return headerError('header', avail);
    const b0 = buf[off]!;
    if (b0 >>> 4 !== 4) return headerError('version', b0);
    const hlen = (b0 & 0x0f) << 2;
    if (hlen < IPV4_HEADER_LEN) return headerError('ihl', b0);
    const total = (buf[off + 2]! << 8) | buf[off + 3]!;
    if (total < hlen || total > avail) return totalLengthError(total, hlen, avail);
    if (hlen > IPV4_HEADER_LEN) {
      const err = scanOptions(buf, off, hlen, null);
      if (err !== null) return err;
    }
    return new Ipv4Packet(buf, off, total);
  }

  /** Wraps a buffer the caller is about to fill (emit path); no validation. */
  static unchecked(buf: Uint8Array, off: number, len: number): Ipv4Packet {
    return new Ipv4Packet(buf, off, len);
  }

  get version(): number {
    return this.buf[this.off]! >>> 4;
  }
  /** Internet Header Length in 32-bit words. */
  get ihl(): number {
    return this.buf[this.off]! & 0x0f;
  }
  /** Header length in bytes (IHL * 4). */
  get headerLen(): number {
    return (this.buf[this.off]! & 0x0f) << 2;
  }
  /** Differentiated Services Code Point (RFC 2474). */
  get dscp(): number {
    return this.buf[this.off + Ipv4Field.DSCP_ECN]! >>> 2;
  }
  set dscp(v: number) {
    const o = this.off + Ipv4Field.DSCP_ECN;
    this.buf[o] = ((v & 0x3f) << 2) | (this.buf[o]! & 0x03);
  }
  /** Explicit Congestion Notification (RFC 3168). */
  get ecn(): number {
    return this.buf[this.off + Ipv4Field.DSCP_ECN]! & 0x03;
  }
  set ecn(v: number) {
    const o = this.off + Ipv4Field.DSCP_ECN;
    this.buf[o] = (this.buf[o]! & 0xfc) | (v & 0x03);
  }
  get totalLength(): number {
    return readU16(this.buf, this.off + Ipv4Field.TOTAL_LENGTH);
  }
  get ident(): number {
    return readU16(this.buf, this.off + Ipv4Field.IDENT);
  }
  set ident(v: number) {
    writeU16(this.buf, this.off + Ipv4Field.IDENT, v);
  }
  /** The reserved flag bit (must be zero, RFC 791; RFC 3514 aside). */
  get reservedFlag(): boolean {
    return (readU16(this.buf, this.off + Ipv4Field.FLAGS_FRAG) & FLAG_RESERVED) !== 0;
  }
  get dontFrag(): boolean {
    return (this.buf[this.off + Ipv4Field.FLAGS_FRAG]! & 0x40) !== 0;
  }
  get moreFrags(): boolean {
    return (this.buf[this.off + Ipv4Field.FLAGS_FRAG]! & 0x20) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragOffset(): number {
    return (readU16(this.buf, this.off + Ipv4Field.FLAGS_FRAG) & 0x1fff) << 3;
  }
  /** True for any fragment of a larger datagram (MF set or a non-zero offset). */
  get isFragment(): boolean {
    return (readU16(this.buf, this.off + Ipv4Field.FLAGS_FRAG) & (FLAG_MF | 0x1fff)) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + Ipv4Field.TTL]!;
  }
  set ttl(v: number) {
    this.buf[this.off + Ipv4Field.TTL] = v;
  }
  get protocol(): number {
    return this.buf[this.off + Ipv4Field.PROTOCOL]!;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + Ipv4Field.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + Ipv4Field.CHECKSUM, v);
  }
  get src(): Ipv4Address {
    return readIpv4(this.buf, this.off + Ipv4Field.SRC);
  }
  set src(v: Ipv4Address) {
    writeIpv4(this.buf, this.off + Ipv4Field.SRC, v);
  }
  get dst(): Ipv4Address {
    return readIpv4(this.buf, this.off + Ipv4Field.DST);
  }
  set dst(v: Ipv4Address) {
    writeIpv4(this.buf, this.off + Ipv4Field.DST, v);
  }
  /** Length in bytes of the options area (0 when IHL = 5). */
  get optionsLength(): number {
    return this.headerLen - IPV4_HEADER_LEN;
  }
  /** Absolute offset of the payload in `buf`. */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLength(): number {
    return this.len - this.headerLen;
  }
  /** The payload as a subarray (allocates a view object, shares memory). */
  payload(): Uint8Array {
    return this.buf.subarray(this.off + this.headerLen, this.off + this.len);
  }

  /** True if the header checksum is valid (RFC 1071: the sum over the header is 0xffff). */
  verifyChecksum(cs: ChecksumProvider): boolean {
    return cs.sum(this.buf, this.off, this.headerLen, 0) === 0xffff;
  }

  /** Computes and stores the header checksum. */
  fillChecksum(cs: ChecksumProvider): void {
    this.checksum = 0;
    this.checksum = finishChecksum(cs.sum(this.buf, this.off, this.headerLen, 0));
  }
}

// Cold error constructors, out of line so check() stays small enough to inline.
// `v` is the offset, the bytes available, or the first header byte, depending on `field`.
function headerError(field: 'buffer' | 'header' | 'version' | 'ihl', v: number): WireError {
  switch (field) {
    case 'buffer':
      return new WireError('ipv4', field, 'range outside buffer', v);
    case 'header':
      return new WireError('ipv4', field, `truncated: ${v} < 20 bytes`, 0);
    case 'version':
      return new WireError('ipv4', field, `version ${v >>> 4} != 4`, Ipv4Field.VER_IHL);
    default:
      return new WireError('ipv4', field, `IHL ${v & 0x0f} < 5`, Ipv4Field.VER_IHL);
  }
}

function totalLengthError(total: number, hlen: number, avail: number): WireError {
  const reason = total < hlen ? `${total} < header length ${hlen}` : `${total} exceeds ${avail} bytes present`;
  return new WireError('ipv4', 'total_length', reason, Ipv4Field.TOTAL_LENGTH);
}

/** One option found by the walker. Offsets are from the start of the IPv4 header (ICMP pointer base). */
export interface Ipv4Option {
  type: number;
  /** Offset of the type byte from the start of the IPv4 header. */
  offset: number;
  /** Total option length in bytes, including type (and length byte when present). */
  length: number;
}

/** Result of walking the options area. The flags let the core refuse or handle options by kind. */
export interface Ipv4Options {
  list: Ipv4Option[];
  /** LSRR (0x83) or SSRR (0x89) present: the core must not honour or reflect it (H07). */
  sourceRoute: boolean;
  recordRoute: boolean;
  timestamp: boolean;
  routerAlert: boolean;
}

/**
 * Walks the options of the IPv4 header at `buf[off]` with header length `hlen` (bytes). Each option
 * must have length >= 2 and fit the header; route options need a length >= 3 and a pointer >= 4,
 * timestamps a length >= 4 and a pointer >= 5, Router Alert a length of 4 (RFC 2113); a source route,
 * record route or timestamp option may appear only once. Errors name the option and point at the
 * offending byte (offset from the IPv4 header start, usable as an ICMP Parameter Problem pointer).
 */
export function parseIpv4Options(buf: Uint8Array, off: number, hlen: number): Ipv4Options | WireError {
  if (off < 0 || hlen < IPV4_HEADER_LEN || hlen > IPV4_MAX_HEADER_LEN || off + hlen > buf.length) {
    return new WireError('ipv4', 'ihl', `header length ${hlen} outside buffer or range`, Ipv4Field.VER_IHL);
  }
  const out: Ipv4Options = { list: [], sourceRoute: false, recordRoute: false, timestamp: false, routerAlert: false };
  const err = scanOptions(buf, off, hlen, out);
  return err ?? out;
}

/** Fast path: true when the options of the header at `buf[off]` (length `hlen`) are well formed. */
export function ipv4OptionsValid(buf: Uint8Array, off: number, hlen: number): boolean {
  if (off < 0 || hlen < IPV4_HEADER_LEN || hlen > IPV4_MAX_HEADER_LEN || off + hlen > buf.length) return false;
  return scanOptions(buf, off, hlen, null) === null;
}

function optName(type: number): string {
  return `option 0x${type.toString(16).padStart(2, '0')}`;
}

// Single bounded pass: every branch advances `i` by at least 1, so it ends within 40 iterations.
function scanOptions(buf: Uint8Array, off: number, hlen: number, out: Ipv4Options | null): WireError | null {
  let seen = 0; // bit 0: source route, bit 1: record route, bit 2: timestamp
  let i = IPV4_HEADER_LEN;
  while (i < hlen) {
    const type = buf[off + i]!;
    if (type === Ipv4OptionType.EOL) break; // the rest is padding
    if (type === Ipv4OptionType.NOP) {
      if (out) out.list.push({ type, offset: i, length: 1 });
      i++;
      continue;
    }
    if (i + 1 >= hlen) return new WireError('ipv4', 'option', `${optName(type)} truncated: no length byte`, i);
    const olen = buf[off + i + 1]!;
    if (olen < 2) return new WireError('ipv4', 'option', `${optName(type)} length ${olen} < 2`, i + 1);
    if (olen > hlen - i) return new WireError('ipv4', 'option', `${optName(type)} length ${olen} exceeds ${hlen - i} bytes left`, i + 1);
    let bit = 0;
    switch (type) {
      case Ipv4OptionType.LSRR:
      case Ipv4OptionType.SSRR:
      case Ipv4OptionType.RECORD_ROUTE:
        bit = type === Ipv4OptionType.RECORD_ROUTE ? 2 : 1;
        if (olen < 3) return new WireError('ipv4', 'option', `${optName(type)} length ${olen} < 3`, i + 1);
        if (buf[off + i + 2]! < 4) return new WireError('ipv4', 'option', `${optName(type)} pointer ${buf[off + i + 2]} < 4`, i + 2);
        break;
      case Ipv4OptionType.TIMESTAMP:
        bit = 4;
        if (olen < 4) return new WireError('ipv4', 'option', `${optName(type)} length ${olen} < 4`, i + 1);
        if (buf[off + i + 2]! < 5) return new WireError('ipv4', 'option', `${optName(type)} pointer ${buf[off + i + 2]} < 5`, i + 2);
        break;
      case Ipv4OptionType.ROUTER_ALERT:
        if (olen !== 4) return new WireError('ipv4', 'option', `${optName(type)} length ${olen} != 4`, i + 1);
        if (out) out.routerAlert = true;
        break;
      default:
        break;
    }
    if (bit !== 0) {
      if ((seen & bit) !== 0) return new WireError('ipv4', 'option', `duplicate ${optName(type)}`, i);
      seen |= bit;
    }
    if (out) out.list.push({ type, offset: i, length: olen });
    i += olen;
  }
  if (out) {
    out.sourceRoute = (seen & 1) !== 0;
    out.recordRoute = (seen & 2) !== 0;
    out.timestamp = (seen & 4) !== 0;
  }
  return null;
}

/** High-level IPv4 header. The payload is carried separately by the caller. */
export interface Ipv4Repr {
  src: Ipv4Address;
  dst: Ipv4Address;
  protocol: number;
  ttl: number;
  dscp: number;
  ecn: number;
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Fragment offset in bytes; a multiple of 8. */
  fragOffset: number;
  /** Payload length in bytes (Total Length minus the header). */
  payloadLen: number;
  /** Raw options area (a copy), padded to a multiple of 4 on emit; absent when IHL = 5. */
  options?: Uint8Array;
}

function optionsArea(r: Ipv4Repr): number {
  const n = r.options ? r.options.length : 0;
  return (n + 3) & ~3;
}

export const Ipv4Repr = {
  /** Header fields of a checked packet; options are copied so the Repr may outlive the frame. */
  parse(p: Ipv4Packet): Ipv4Repr {
    const r: Ipv4Repr = {
      src: p.src,
      dst: p.dst,
      protocol: p.protocol,
      ttl: p.ttl,
      dscp: p.dscp,
      ecn: p.ecn,
      ident: p.ident,
      dontFrag: p.dontFrag,
      moreFrags: p.moreFrags,
      fragOffset: p.fragOffset,
      payloadLen: p.payloadLength,
    };
    if (p.headerLen > IPV4_HEADER_LEN) r.options = p.buf.slice(p.off + IPV4_HEADER_LEN, p.off + p.headerLen);
    return r;
  },

  headerLen(r: Ipv4Repr): number {
    return IPV4_HEADER_LEN + optionsArea(r);
  },

  bufferLen(r: Ipv4Repr): number {
    return IPV4_HEADER_LEN + optionsArea(r) + r.payloadLen;
  },

  /** Writes the header at `buf[off]` (options zero-padded to 4 bytes) and its checksum. */
  emit(r: Ipv4Repr, buf: Uint8Array, off: number, cs: ChecksumProvider): void {
    const optLen = optionsArea(r);
    if (optLen > IPV4_MAX_OPTIONS_LEN) throw new EmitError(`ipv4: ${optLen} bytes of options exceed 40`);
    const hlen = IPV4_HEADER_LEN + optLen;
    const total = hlen + r.payloadLen;
    if (!(r.payloadLen >= 0) || total > 0xffff) throw new EmitError(`ipv4: datagram of ${total} bytes exceeds 65535`);
    if (!(r.fragOffset >= 0 && r.fragOffset <= IPV4_MAX_FRAG_OFFSET) || (r.fragOffset & 7) !== 0) {
      throw new EmitError(`ipv4: fragment offset ${r.fragOffset} is not a multiple of 8 in 0..65528`);
    }
    if (!(r.dscp >= 0 && r.dscp <= 63) || !(r.ecn >= 0 && r.ecn <= 3)) throw new EmitError('ipv4: dscp/ecn out of range');
    if (!(r.ttl >= 0 && r.ttl <= 255) || !(r.protocol >= 0 && r.protocol <= 255)) throw new EmitError('ipv4: ttl/protocol out of range');
    if (off < 0 || off + hlen > buf.length) throw new EmitError('ipv4: buffer too small');
    buf[off] = 0x40 | (hlen >>> 2);
    buf[off + Ipv4Field.DSCP_ECN] = (r.dscp << 2) | r.ecn;
    writeU16(buf, off + Ipv4Field.TOTAL_LENGTH, total);
    writeU16(buf, off + Ipv4Field.IDENT, r.ident);
    writeU16(buf, off + Ipv4Field.FLAGS_FRAG, (r.dontFrag ? FLAG_DF : 0) | (r.moreFrags ? FLAG_MF : 0) | (r.fragOffset >>> 3));
    buf[off + Ipv4Field.TTL] = r.ttl;
    buf[off + Ipv4Field.PROTOCOL] = r.protocol;
    writeIpv4(buf, off + Ipv4Field.SRC, r.src);
    writeIpv4(buf, off + Ipv4Field.DST, r.dst);
    if (optLen > 0) {
      const o = r.options!;
      buf.set(o, off + IPV4_HEADER_LEN);
      buf.fill(0, off + IPV4_HEADER_LEN + o.length, off + hlen);
    }
    Ipv4Packet.unchecked(buf, off, total).fillChecksum(cs);
  },
};
