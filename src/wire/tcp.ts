// TCP header (RFC 9293 §3.1): checked view and Repr. check() validates only what every accessor
// relies on: 20 bytes present, data offset >= 5 and data offset*4 within the segment (H31,
// CVE-2020-24341). It deliberately does not walk the options, so that the per-segment fast path
// stays a few loads; options() parses them on demand (tcp-options.ts). The urgent pointer is exposed
// raw and never used as an offset here (H36). Checksum policy (drop on mismatch, offload) is the
// caller's; the pseudo-header sum is an input because only the network layer knows the addresses.

import type { ChecksumProvider } from '../ports/checksum.js';
import { finishChecksum } from '../checksum/internet.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';
import { TcpOptionsRepr } from './tcp-options.js';
import type { TcpOptions } from './tcp-options.js';

export const TCP_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;

/** Field offsets within the TCP header. */
export const TcpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  /** Data offset (high nibble), reserved bits, and the AE bit (low bit). */
  DATA_OFFSET: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT_POINTER: 18,
  OPTIONS: 20,
} as const;

/** Control bits as a 9-bit value: byte 13, plus bit 8 from the low bit of byte 12. */
export const TcpFlags = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  /** Accurate ECN (RFC 9768); the same bit was the historic ECN-nonce NS (RFC 3540, moved to Historic by RFC 8311). */
  AE: 0x100,
  NS: 0x100,
} as const;

function checkError(buf: Uint8Array, off: number, avail: number): WireError {
  if (!(off >= 0 && avail >= 0 && off + avail <= buf.length)) return new WireError('tcp', 'buffer', 'range outside buffer', off);
  if (avail < TCP_HEADER_LEN) return new WireError('tcp', 'header', `truncated: ${avail} < 20 bytes`, 0);
  const hlen = (buf[off + TcpField.DATA_OFFSET]! >>> 4) << 2;
  if (hlen < TCP_HEADER_LEN) return new WireError('tcp', 'data_offset', `${hlen >>> 2} < 5 (H31)`, TcpField.DATA_OFFSET);
  return new WireError('tcp', 'data_offset', `header of ${hlen} bytes exceeds ${avail} bytes present (H31)`, TcpField.DATA_OFFSET);
}

/**
 * Zero-copy view of a TCP segment at `buf[off, off+len)`, where `len` is the IP payload length.
 * Construct through `TcpPacket.check`; accessors then never read out of bounds.
 */
export class TcpPacket {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    /** Header length in bytes (data offset * 4), validated by check(). */
    readonly headerLen: number,
  ) {}

  /** Validates `buf[off, off+avail)` (avail = the IP payload length) and returns a view or the reason. */
  static check(buf: Uint8Array, off = 0, avail = buf.length - off): TcpPacket | WireError {
    // Hot path kept tiny so V8 inlines it into the caller; the reason is worked out separately.
    if (off >= 0 && avail >= TCP_HEADER_LEN && off + avail <= buf.length) {
      const hlen = (buf[off + TcpField.DATA_OFFSET]! >>> 4) << 2;
      if (hlen >= TCP_HEADER_LEN && hlen <= avail) return new TcpPacket(buf, off, avail, hlen);
    }
    return checkError(buf, off, avail);
  }

  /** Wraps a buffer the caller is about to fill (emit path); no validation. */
  static unchecked(buf: Uint8Array, off: number, len: number, headerLen = TCP_HEADER_LEN): TcpPacket {
    return new TcpPacket(buf, off, len, headerLen);
  }

  get srcPort(): number {
    return readU16(this.buf, this.off + TcpField.SRC_PORT);
  }
  set srcPort(v: number) {
    writeU16(this.buf, this.off + TcpField.SRC_PORT, v);
  }
  get dstPort(): number {
    return readU16(this.buf, this.off + TcpField.DST_PORT);
  }
  set dstPort(v: number) {
    writeU16(this.buf, this.off + TcpField.DST_PORT, v);
  }
  /** Sequence number (SEG.SEQ), unsigned 32-bit. */
  get seqNumber(): number {
    return readU32(this.buf, this.off + TcpField.SEQ);
  }
  set seqNumber(v: number) {
    writeU32(this.buf, this.off + TcpField.SEQ, v);
  }
  /** Acknowledgment number (SEG.ACK), meaningful only with the ACK flag. */
  get ackNumber(): number {
    return readU32(this.buf, this.off + TcpField.ACK);
  }
  set ackNumber(v: number) {
    writeU32(this.buf, this.off + TcpField.ACK, v);
  }
  /** Data offset in 32-bit words (5..15). */
  get dataOffset(): number {
    return this.headerLen >>> 2;
  }
  /** The three reserved bits between data offset and AE (must be zero when sent, ignored on receipt). */
  get reserved(): number {
    return (this.buf[this.off + TcpField.DATA_OFFSET]! >>> 1) & 0x7;
  }
  /** Control bits, see TcpFlags. */
  get flags(): number {
    return ((this.buf[this.off + TcpField.DATA_OFFSET]! & 1) << 8) | this.buf[this.off + TcpField.FLAGS]!;
  }
  set flags(v: number) {
    const o = this.off + TcpField.DATA_OFFSET;
    this.buf[o] = (this.buf[o]! & 0xfe) | ((v >>> 8) & 1);
    this.buf[o + 1] = v;
  }
  /** True when every bit of `mask` is set. */
  hasFlags(mask: number): boolean {
    return (this.flags & mask) === mask;
  }
  get window(): number {
    return readU16(this.buf, this.off + TcpField.WINDOW);
  }
  set window(v: number) {
    writeU16(this.buf, this.off + TcpField.WINDOW, v);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + TcpField.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + TcpField.CHECKSUM, v);
  }
  /** Raw urgent pointer; attacker-controlled, never an offset into this buffer. */
  get urgentPointer(): number {
    return readU16(this.buf, this.off + TcpField.URGENT_POINTER);
  }
  set urgentPointer(v: number) {
    writeU16(this.buf, this.off + TcpField.URGENT_POINTER, v);
  }
  /** Absolute offset of the options area in `buf`. */
  get optionsOffset(): number {
    return this.off + TCP_HEADER_LEN;
  }
  get optionsLength(): number {
    return this.headerLen - TCP_HEADER_LEN;
  }
  /** Absolute offset of the payload in `buf`. */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLength(): number {
    return this.len - this.headerLen;
  }
  /** SEG.LEN (RFC 9293 §3.4): payload bytes plus one each for SYN and FIN. */
  get segmentLength(): number {
    const f = this.buf[this.off + TcpField.FLAGS]!;
    return this.len - this.headerLen + (f & TcpFlags.SYN ? 1 : 0) + (f & TcpFlags.FIN ? 1 : 0);
  }
  /** The payload as a subarray (allocates a view object, shares memory). */
  payload(): Uint8Array {
    return this.buf.subarray(this.off + this.headerLen, this.off + this.len);
  }
  /** Parses the options area (allocates). A WireError means the segment must be dropped (H32). */
  options(): TcpOptions | WireError {
    return TcpOptionsRepr.parse(this.buf, this.off + TCP_HEADER_LEN, this.headerLen - TCP_HEADER_LEN, TCP_HEADER_LEN);
  }

  /** True if the checksum over pseudo-header sum + segment is valid. */
  verifyChecksum(cs: ChecksumProvider, pseudoSum: number): boolean {
    return cs.sum(this.buf, this.off, this.len, pseudoSum) === 0xffff;
  }

  /** Computes and stores the checksum; `pseudoSum` must cover the segment length `len`. */
  fillChecksum(cs: ChecksumProvider, pseudoSum: number): void {
    this.checksum = 0;
    this.checksum = finishChecksum(cs.sum(this.buf, this.off, this.len, pseudoSum));
  }
}

/** High-level TCP header. The payload is carried separately by the caller. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** See TcpFlags (9 bits). */
  flags: number;
  window: number;
  urgentPointer: number;
  options: TcpOptionsRepr;
  payloadLen: number;
}

export const TcpRepr = {
  /** Header fields and parsed options; a WireError only for a malformed options area (H32). */
  parse(p: TcpPacket): TcpRepr | WireError {
    const options = p.options();
    if (options instanceof WireError) return options;
    return {
      srcPort: p.srcPort,
      dstPort: p.dstPort,
      seq: p.seqNumber,
      ack: p.ackNumber,
      flags: p.flags,
      window: p.window,
      urgentPointer: p.urgentPointer,
      options,
      payloadLen: p.payloadLength,
    };
  },

  headerLen(r: TcpRepr): number {
    return TCP_HEADER_LEN + TcpOptionsRepr.bufferLen(r.options);
  },

  bufferLen(r: TcpRepr): number {
    return TcpRepr.headerLen(r) + r.payloadLen;
  },

  /**
   * Writes the header and options at `buf[off]`; the payload must already be (or will be) at
   * off + headerLen. When `cs` is given, also computes the checksum with `pseudoSum` (which must
   * cover bufferLen(r) bytes), so write the payload first.
   */
  emit(r: TcpRepr, buf: Uint8Array, off: number, cs?: ChecksumProvider, pseudoSum = 0): void {
    const hlen = TcpRepr.headerLen(r);
    const len = hlen + r.payloadLen;
    if (off < 0 || off + len > buf.length) throw new EmitError('tcp: buffer too small');
    writeU16(buf, off + TcpField.SRC_PORT, r.srcPort);
    writeU16(buf, off + TcpField.DST_PORT, r.dstPort);
    writeU32(buf, off + TcpField.SEQ, r.seq);
    writeU32(buf, off + TcpField.ACK, r.ack);
    buf[off + TcpField.DATA_OFFSET] = ((hlen >>> 2) << 4) | ((r.flags >>> 8) & 1);
    buf[off + TcpField.FLAGS] = r.flags;
    writeU16(buf, off + TcpField.WINDOW, r.window);
    writeU16(buf, off + TcpField.CHECKSUM, 0);
    writeU16(buf, off + TcpField.URGENT_POINTER, r.urgentPointer);
    TcpOptionsRepr.emit(r.options, buf, off + TCP_HEADER_LEN);
    if (cs) TcpPacket.unchecked(buf, off, len, hlen).fillChecksum(cs, pseudoSum);
  },
};
