// UDP header (RFC 768): checked view and Repr. Validates the length field against the bytes present
// (SECURITY-CASES H44): length < 8 or beyond the IP payload is rejected; a datagram shorter than the IP
// payload is trimmed to its length field. Checksum policy (zero allowed over IPv4, rejected over IPv6)
// belongs to the caller, which knows the network protocol; helpers here compute and verify.

import type { ChecksumProvider } from '../ports/checksum.js';
import { finishChecksum } from '../checksum/internet.js';
import { readU16, writeU16 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const UDP_HEADER_LEN = 8;

/** Field offsets within the UDP header. */
export const UdpField = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6 } as const;

/**
 * Zero-copy view of a UDP datagram at `buf[off, off+len)`, where `len` is the datagram's own length
 * field (already trimmed). Construct through `UdpPacket.check`, which validates once, so accessors
 * never read out of bounds.
 */
export class UdpPacket {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  /** Validates `buf[off, off+avail)` (avail = the IP payload length) and returns a view or the reason. */
  static check(buf: Uint8Array, off = 0, avail = buf.length - off): UdpPacket | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('udp', 'buffer', 'range outside buffer', off);
    if (avail < UDP_HEADER_LEN) return new WireError('udp', 'header', `truncated: ${avail} < 8 bytes`, 0);
    const length = readU16(buf, off + UdpField.LENGTH);
    if (length < UDP_HEADER_LEN) return new WireError('udp', 'length', `${length} < 8`, UdpField.LENGTH);
    if (length > avail) return new WireError('udp', 'length', `${length} exceeds ${avail} bytes present`, UdpField.LENGTH);
    return new UdpPacket(buf, off, length);
  }

  /** Wraps a buffer the caller is about to fill (emit path); no validation. */
  static unchecked(buf: Uint8Array, off: number, len: number): UdpPacket {
    return new UdpPacket(buf, off, len);
  }

  get srcPort(): number {
    return readU16(this.buf, this.off + UdpField.SRC_PORT);
  }
  set srcPort(v: number) {
    writeU16(this.buf, this.off + UdpField.SRC_PORT, v);
  }
  get dstPort(): number {
    return readU16(this.buf, this.off + UdpField.DST_PORT);
  }
  set dstPort(v: number) {
    writeU16(this.buf, this.off + UdpField.DST_PORT, v);
  }
  get length(): number {
    return readU16(this.buf, this.off + UdpField.LENGTH);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + UdpField.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + UdpField.CHECKSUM, v);
  }
  get payloadOffset(): number {
    return this.off + UDP_HEADER_LEN;
  }
  get payloadLength(): number {
    return this.len - UDP_HEADER_LEN;
  }
  /** The payload as a subarray (allocates a view object, shares memory). */
  payload(): Uint8Array {
    return this.buf.subarray(this.off + UDP_HEADER_LEN, this.off + this.len);
  }

  /** True if the checksum over pseudo-header sum + datagram is valid. A zero field is reported as valid only if `zeroOk`. */
  verifyChecksum(cs: ChecksumProvider, pseudoSum: number, zeroOk: boolean): boolean {
    if (this.checksum === 0) return zeroOk;
    return cs.sum(this.buf, this.off, this.len, pseudoSum) === 0xffff;
  }

  /** Computes and stores the checksum (0 is transmitted as 0xffff, RFC 768). */
  fillChecksum(cs: ChecksumProvider, pseudoSum: number): void {
    this.checksum = 0;
    const c = finishChecksum(cs.sum(this.buf, this.off, this.len, pseudoSum));
    this.checksum = c === 0 ? 0xffff : c;
  }
}

/** High-level UDP header. The payload is carried separately by the caller. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Payload length in bytes (the length field minus 8). */
  payloadLen: number;
}

export const UdpRepr = {
  /** Header fields of a checked packet. Never fails once check() passed; kept for symmetry. */
  parse(p: UdpPacket): UdpRepr {
    return { srcPort: p.srcPort, dstPort: p.dstPort, payloadLen: p.payloadLength };
  },

  bufferLen(r: UdpRepr): number {
    return UDP_HEADER_LEN + r.payloadLen;
  },

  /**
   * Writes the header at `buf[off]`; the payload must already be (or will be) at off+8. When `cs` is
   * given, also computes the checksum with `pseudoSum` — so write the payload first.
   */
  emit(r: UdpRepr, buf: Uint8Array, off: number, cs?: ChecksumProvider, pseudoSum = 0): void {
    const len = UDP_HEADER_LEN + r.payloadLen;
    if (len > 0xffff) throw new EmitError(`udp: datagram of ${len} bytes exceeds 65535`);
    if (off + len > buf.length) throw new EmitError('udp: buffer too small');
    writeU16(buf, off + UdpField.SRC_PORT, r.srcPort);
    writeU16(buf, off + UdpField.DST_PORT, r.dstPort);
    writeU16(buf, off + UdpField.LENGTH, len);
    writeU16(buf, off + UdpField.CHECKSUM, 0);
    if (cs) UdpPacket.unchecked(buf, off, len).fillChecksum(cs, pseudoSum);
  },
};
