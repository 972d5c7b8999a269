// IPv6 fixed header (RFC 8200 §3): checked view and Repr. check() validates the version and the Payload
// Length against the bytes present (SECURITY-CASES H21, picoTCP CVE-2020-17441): longer than present is
// an error, shorter trims the view (link padding), and 0 is an error unless the packet is a jumbogram
// (RFC 2675: Next Header = Hop-by-Hop carrying a Jumbo Payload option). Extension headers are walked by
// `ipv6-ext.ts`; this file never looks past the fixed header except to find a Jumbo option.

import type { Ipv6Address } from './address.js';
import { readIpv6, writeIpv6 } from './address.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const IPV6_HEADER_LEN = 40;
/** RFC 8200 §5: every link carrying IPv6 has an MTU of at least 1280. */
export const IPV6_MIN_MTU = 1280;

/** Field offsets within the IPv6 header. */
export const Ipv6Field = {
  VER_TC_FLOW: 0,
  PAYLOAD_LENGTH: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
} as const;

/** Jumbo Payload option type (RFC 2675 §2). */
export const IPV6_OPT_JUMBO = 0xc2;

/**
 * Zero-copy view of an IPv6 packet at `buf[off, off+len)`, where `len` is 40 + Payload Length (or + the
 * Jumbo Payload Length), already checked against and trimmed to the bytes present.
 * Construct through `Ipv6Packet.check`.
 */
export class Ipv6Packet {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  /**
   * Validates `buf[off, off+avail)` and returns a view or the reason. Kept small so the JIT inlines it:
   * jumbograms and error messages are handled out of line.
   */
  static check(buf: Uint8Array, off = 0, avail = buf.length - off): Ipv6Packet | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return headerError('buffer', off);
    if (avail < IPV6_HEADER_LEN) return headerError('header', avail);
    if (buf[off]! >>> 4 !== 6) return headerError('version', buf[off]!);
    const pl = (buf[off + 4]! << 8) | buf[off + 5]!;
    if (pl > avail - IPV6_HEADER_LEN) return payloadLengthError(pl, avail - IPV6_HEADER_LEN);
    if (pl === 0) return Ipv6Packet.checkJumbo(buf, off, avail);
    return new Ipv6Packet(buf, off, IPV6_HEADER_LEN + pl);
  }

  // RFC 2675 §3: Payload Length 0 is legal only with a Jumbo Payload option in a leading Hop-by-Hop.
  private static checkJumbo(buf: Uint8Array, off: number, avail: number): Ipv6Packet | WireError {
    const jumbo = findJumbo(buf, off, avail);
    const present = avail - IPV6_HEADER_LEN;
    if (jumbo < 0) return new WireError('ipv6', 'payload_length', '0 without a well-formed Jumbo Payload option', Ipv6Field.PAYLOAD_LENGTH);
    if (jumbo <= 0xffff) return new WireError('ipv6', 'jumbo_payload_length', `${jumbo} <= 65535 (RFC 2675 §3)`, Ipv6Field.PAYLOAD_LENGTH);
    if (jumbo > present) return new WireError('ipv6', 'jumbo_payload_length', `${jumbo} exceeds ${present} bytes present`, Ipv6Field.PAYLOAD_LENGTH);
    return new Ipv6Packet(buf, off, IPV6_HEADER_LEN + jumbo);
  }

  /** Wraps a buffer the caller is about to fill (emit path); no validation. */
  static unchecked(buf: Uint8Array, off: number, len: number): Ipv6Packet {
    return new Ipv6Packet(buf, off, len);
  }

  get version(): number {
    return this.buf[this.off]! >>> 4;
  }
  /** Traffic Class: DSCP (6 bits) and ECN (2 bits). */
  get trafficClass(): number {
    return (readU16(this.buf, this.off) >>> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const w = readU32(this.buf, this.off);
    writeU32(this.buf, this.off, ((w & 0xf00fffff) | ((v & 0xff) << 20)) >>> 0);
  }
  get dscp(): number {
    return this.trafficClass >>> 2;
  }
  get ecn(): number {
    return this.trafficClass & 0x03;
  }
  get flowLabel(): number {
    return readU32(this.buf, this.off) & 0xfffff;
  }
  set flowLabel(v: number) {
    const w = readU32(this.buf, this.off);
    writeU32(this.buf, this.off, ((w & 0xfff00000) | (v & 0xfffff)) >>> 0);
  }
  /** The Payload Length field as sent (0 for a jumbogram; see `payloadLen` for the checked length). */
  get payloadLength(): number {
    return readU16(this.buf, this.off + Ipv6Field.PAYLOAD_LENGTH);
  }
  set payloadLength(v: number) {
    writeU16(this.buf, this.off + Ipv6Field.PAYLOAD_LENGTH, v);
  }
  get nextHeader(): number {
    return this.buf[this.off + Ipv6Field.NEXT_HEADER]!;
  }
  set nextHeader(v: number) {
    this.buf[this.off + Ipv6Field.NEXT_HEADER] = v;
  }
  get hopLimit(): number {
    return this.buf[this.off + Ipv6Field.HOP_LIMIT]!;
  }
  set hopLimit(v: number) {
    this.buf[this.off + Ipv6Field.HOP_LIMIT] = v;
  }
  /** Source address (a copy the caller owns). Use `srcOffset` to compare in place. */
  get src(): Ipv6Address {
    return readIpv6(this.buf, this.off + Ipv6Field.SRC);
  }
  set src(v: Ipv6Address) {
    writeIpv6(this.buf, this.off + Ipv6Field.SRC, v);
  }
  /** Destination address (a copy the caller owns). Use `dstOffset` to compare in place. */
  get dst(): Ipv6Address {
    return readIpv6(this.buf, this.off + Ipv6Field.DST);
  }
  set dst(v: Ipv6Address) {
    writeIpv6(this.buf, this.off + Ipv6Field.DST, v);
  }
  /** Absolute offset of the source address in `buf`. */
  get srcOffset(): number {
    return this.off + Ipv6Field.SRC;
  }
  /** Absolute offset of the destination address in `buf`. */
  get dstOffset(): number {
    return this.off + Ipv6Field.DST;
  }
  /** True when the destination is a multicast address (ff00::/8). */
  get dstIsMulticast(): boolean {
    return this.buf[this.off + Ipv6Field.DST] === 0xff;
  }
  /** Absolute offset of the payload (first extension header or upper-layer header). */
  get payloadOffset(): number {
    return this.off + IPV6_HEADER_LEN;
  }
  /** Checked payload length (extension headers included). */
  get payloadLen(): number {
    return this.len - IPV6_HEADER_LEN;
  }
  /** The payload as a subarray (allocates a view object, shares memory). */
  payload(): Uint8Array {
    return this.buf.subarray(this.off + IPV6_HEADER_LEN, this.off + this.len);
  }
}

// Cold error constructors, out of line so check() stays small enough to inline.
// `v` is the offset, the bytes available, or the first header byte, depending on `field`.
function headerError(field: 'buffer' | 'header' | 'version', v: number): WireError {
  switch (field) {
    case 'buffer':
      return new WireError('ipv6', field, 'range outside buffer', v);
    case 'header':
      return new WireError('ipv6', field, `truncated: ${v} < 40 bytes`, 0);
    default:
      return new WireError('ipv6', field, `version ${v >>> 4} != 6`, Ipv6Field.VER_TC_FLOW);
  }
}

function payloadLengthError(pl: number, present: number): WireError {
  return new WireError('ipv6', 'payload_length', `${pl} exceeds ${present} bytes present`, Ipv6Field.PAYLOAD_LENGTH);
}

// Jumbo Payload Length of a Payload Length 0 packet, or -1 if there is no well-formed Jumbo option in a
// leading Hop-by-Hop header. Bounded by the header length (at most 2048 bytes); every step advances.
function findJumbo(buf: Uint8Array, off: number, avail: number): number {
  if (buf[off + Ipv6Field.NEXT_HEADER] !== 0 || avail < IPV6_HEADER_LEN + 8) return -1;
  const hbhEnd = IPV6_HEADER_LEN + (buf[off + IPV6_HEADER_LEN + 1]! + 1) * 8;
  if (hbhEnd > avail) return -1;
  let i = IPV6_HEADER_LEN + 2;
  while (i < hbhEnd) {
    const t = buf[off + i]!;
    if (t === 0) {
      i++;
      continue;
    }
    if (i + 2 > hbhEnd) return -1;
    const dl = buf[off + i + 1]!;
    if (i + 2 + dl > hbhEnd) return -1;
    if (t === IPV6_OPT_JUMBO) return dl === 4 ? readU32(buf, off + i + 2) : -1;
    i += 2 + dl;
  }
  return -1;
}

/** High-level IPv6 fixed header. Extension headers and payload are carried separately by the caller. */
export interface Ipv6Repr {
  src: Ipv6Address;
  dst: Ipv6Address;
  nextHeader: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  /** Bytes after the fixed header (extension headers included). */
  payloadLen: number;
}

export const Ipv6Repr = {
  /** Fields of a checked packet; addresses are copies so the Repr may outlive the frame. */
  parse(p: Ipv6Packet): Ipv6Repr {
    return {
      src: p.src,
      dst: p.dst,
      nextHeader: p.nextHeader,
      hopLimit: p.hopLimit,
      trafficClass: p.trafficClass,
      flowLabel: p.flowLabel,
      payloadLen: p.payloadLen,
    };
  },

  bufferLen(r: Ipv6Repr): number {
    return IPV6_HEADER_LEN + r.payloadLen;
  },

  /** Writes the 40-byte header at `buf[off]`. Jumbograms are never emitted. */
  emit(r: Ipv6Repr, buf: Uint8Array, off: number): void {
    if (!(r.payloadLen >= 0 && r.payloadLen <= 0xffff)) throw new EmitError(`ipv6: payload of ${r.payloadLen} bytes outside 0..65535`);
    if (!(r.trafficClass >= 0 && r.trafficClass <= 0xff) || !(r.flowLabel >= 0 && r.flowLabel <= 0xfffff)) {
      throw new EmitError('ipv6: traffic class/flow label out of range');
    }
    if (!(r.hopLimit >= 0 && r.hopLimit <= 255) || !(r.nextHeader >= 0 && r.nextHeader <= 255)) throw new EmitError('ipv6: hop limit/next header out of range');
    if (r.src.length !== 16 || r.dst.length !== 16) throw new EmitError('ipv6: addresses must be 16 bytes');
    if (off < 0 || off + IPV6_HEADER_LEN > buf.length) throw new EmitError('ipv6: buffer too small');
    writeU32(buf, off, (0x60000000 | (r.trafficClass << 20) | r.flowLabel) >>> 0);
    writeU16(buf, off + Ipv6Field.PAYLOAD_LENGTH, r.payloadLen);
    buf[off + Ipv6Field.NEXT_HEADER] = r.nextHeader;
    buf[off + Ipv6Field.HOP_LIMIT] = r.hopLimit;
    writeIpv6(buf, off + Ipv6Field.SRC, r.src);
    writeIpv6(buf, off + Ipv6Field.DST, r.dst);
  },
};
