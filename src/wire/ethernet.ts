// Ethernet II framing (IEEE 802.3 §3.2, RFC 894) with stacked VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8,
// legacy 0x9100): checked view and Repr. The FCS is never present (devices strip it). Input frames only
// need the 14-byte header: runts from TAP/VDE are legal (no 60-byte minimum), shorter is an error
// (SECURITY-CASES H01). A type/length value below 0x0600 is an 802.3 length (LLC frame) and is reported
// as such, never mistaken for an EtherType. This layer does not filter by destination address.

import type { MacAddress } from './address.js';
import { readMac, writeMac } from './address.js';
import { readU16, writeU16 } from './bytes.js';
import { EmitError, WireError } from './error.js';
import { ETHERTYPE_MIN, IEEE8023_MAX_LENGTH, isVlanTpid } from './ethertype.js';

export const ETHERNET_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
/** Tags accepted on input; a deeper stack is malformed (no real network nests more than QinQ + a few). */
export const MAX_VLAN_TAGS = 4;
/** Minimum frame length on the wire without FCS (IEEE 802.3 minimum 64 bytes including the 4-byte FCS). */
export const ETHERNET_MIN_FRAME_LEN = 60;

/** Field offsets within the untagged Ethernet header. */
export const EthernetField = { DST: 0, SRC: 6, ETHERTYPE: 12 } as const;
/** Field offsets within one VLAN tag: TPID, then TCI = PCP(3) | DEI(1) | VID(12). */
export const VlanField = { TPID: 0, TCI: 2 } as const;

/**
 * Zero-copy view of an Ethernet frame at `buf[off, off+len)`. `len` is the bytes handed in, except for
 * 802.3 (LLC) frames where it is trimmed to the header plus the length field. Tags are numbered from
 * the outermost (0). Construct through `EthernetFrame.check`.
 */
export class EthernetFrame {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    /** Number of VLAN tags between the source address and the type/length field. */
    readonly vlanCount: number,
    /** The innermost type/length field: an EtherType, or an 802.3 length when `isLlc`. */
    readonly ethertype: number,
  ) {}

  /**
   * Validates `buf[off, off+avail)` and returns a view or the reason. Kept small so the JIT inlines it
   * into the receive loop: tags, 802.3 frames and error messages are handled out of line.
   */
  static check(buf: Uint8Array, off = 0, avail = buf.length - off): EthernetFrame | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return rangeError(off);
    if (avail < ETHERNET_HEADER_LEN) return truncatedError(avail);
    const type = (buf[off + 12]! << 8) | buf[off + 13]!;
    if (type === 0x8100 || type === 0x88a8 || type === 0x9100) return EthernetFrame.checkTagged(buf, off, avail);
    if (type < ETHERTYPE_MIN) return EthernetFrame.checkLlc(buf, off, avail, 0, type);
    return new EthernetFrame(buf, off, avail, 0, type);
  }

  private static checkTagged(buf: Uint8Array, off: number, avail: number): EthernetFrame | WireError {
    let at = off + EthernetField.ETHERTYPE;
    let type = 0;
    let tags = 0;
    const end = off + avail;
    do {
      if (tags === MAX_VLAN_TAGS) return new WireError('ethernet', 'vlan', `more than ${MAX_VLAN_TAGS} VLAN tags`, at - off);
      tags++;
      at += VLAN_TAG_LEN;
      if (at + 2 > end) return new WireError('ethernet', 'vlan', 'truncated VLAN tag', at - VLAN_TAG_LEN - off);
      type = (buf[at]! << 8) | buf[at + 1]!;
    } while (type === 0x8100 || type === 0x88a8 || type === 0x9100);
    if (type < ETHERTYPE_MIN) return EthernetFrame.checkLlc(buf, off, avail, tags, type);
    return new EthernetFrame(buf, off, avail, tags, type);
  }

  // IEEE 802.3 §3.2.6: below 0x0600 the field is a length; 1501..1535 is neither a length nor a type.
  private static checkLlc(buf: Uint8Array, off: number, avail: number, tags: number, length: number): EthernetFrame | WireError {
    const hdr = ETHERNET_HEADER_LEN + tags * VLAN_TAG_LEN;
    if (length > IEEE8023_MAX_LENGTH) return new WireError('ethernet', 'ethertype', `0x${length.toString(16)} is neither a length nor an EtherType`, hdr - 2);
    if (length > avail - hdr) return new WireError('ethernet', 'length', `802.3 length ${length} exceeds ${avail - hdr} bytes present`, hdr - 2);
    return new EthernetFrame(buf, off, hdr + length, tags, length);
  }

  get dst(): MacAddress {
    return readMac(this.buf, this.off + EthernetField.DST);
  }
  set dst(v: MacAddress) {
    writeMac(this.buf, this.off + EthernetField.DST, v);
  }
  get src(): MacAddress {
    return readMac(this.buf, this.off + EthernetField.SRC);
  }
  set src(v: MacAddress) {
    writeMac(this.buf, this.off + EthernetField.SRC, v);
  }
  /** True when the type/length field is an IEEE 802.3 length (an LLC/SNAP frame), not an EtherType. */
  get isLlc(): boolean {
    return this.ethertype < ETHERTYPE_MIN;
  }
  /** Byte length of the header including tags. */
  get headerLen(): number {
    return ETHERNET_HEADER_LEN + this.vlanCount * VLAN_TAG_LEN;
  }
  /** Absolute offset in `buf` of the innermost type/length field. */
  get ethertypeOffset(): number {
    return this.off + EthernetField.ETHERTYPE + this.vlanCount * VLAN_TAG_LEN;
  }
  /** TPID of tag `i` (0 = outermost). */
  tpid(i: number): number {
    return readU16(this.buf, this.tagOffset(i) + VlanField.TPID);
  }
  /** Tag Control Information of tag `i`. */
  tci(i: number): number {
    return readU16(this.buf, this.tagOffset(i) + VlanField.TCI);
  }
  /** Priority Code Point of tag `i`. */
  pcp(i: number): number {
    return this.buf[this.tagOffset(i) + VlanField.TCI]! >>> 5;
  }
  /** Drop Eligible Indicator of tag `i`. */
  dei(i: number): boolean {
    return (this.buf[this.tagOffset(i) + VlanField.TCI]! & 0x10) !== 0;
  }
  /** VLAN identifier of tag `i`. */
  vid(i: number): number {
    return this.tci(i) & 0x0fff;
  }
  /** Absolute offset of the payload (network-layer header) in `buf`. */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLength(): number {
    return this.len - this.headerLen;
  }
  /** The payload as a subarray (allocates a view object, shares memory). */
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset, this.off + this.len);
  }

  private tagOffset(i: number): number {
    if (!(i >= 0 && i < this.vlanCount)) throw new RangeError(`ethernet: no VLAN tag ${i} (frame has ${this.vlanCount})`);
    return this.off + ETHERNET_HEADER_LEN - 2 + i * VLAN_TAG_LEN;
  }
}

function rangeError(off: number): WireError {
  return new WireError('ethernet', 'buffer', 'range outside buffer', off);
}

function truncatedError(avail: number): WireError {
  return new WireError('ethernet', 'header', `truncated: ${avail} < ${ETHERNET_HEADER_LEN} bytes`, 0);
}

/** One VLAN tag, outermost first in `EthernetRepr.vlans`. */
export interface VlanTag {
  /** 0x8100 (802.1Q), 0x88a8 (802.1ad) or 0x9100 (legacy QinQ). */
  tpid: number;
  /** Priority Code Point, 0..7. */
  pcp: number;
  /** Drop Eligible Indicator. */
  dei: boolean;
  /** VLAN identifier, 0..4095. */
  vid: number;
}

/** High-level Ethernet header. The payload is carried separately by the caller. */
export interface EthernetRepr {
  dst: MacAddress;
  src: MacAddress;
  vlans: VlanTag[];
  /** EtherType, or an 802.3 length (< 0x0600) for LLC frames; see `isEtherType`. */
  ethertype: number;
}

export const EthernetRepr = {
  parse(f: EthernetFrame): EthernetRepr {
    const vlans: VlanTag[] = [];
    for (let i = 0; i < f.vlanCount; i++) vlans.push({ tpid: f.tpid(i), pcp: f.pcp(i), dei: f.dei(i), vid: f.vid(i) });
    return { dst: f.dst, src: f.src, vlans, ethertype: f.ethertype };
  },

  headerLen(r: EthernetRepr): number {
    return ETHERNET_HEADER_LEN + r.vlans.length * VLAN_TAG_LEN;
  },

  /** Frame length for `payloadLen` bytes of payload, padded to the 60-byte minimum when `pad`. */
  bufferLen(r: EthernetRepr, payloadLen = 0, pad = false): number {
    const n = ETHERNET_HEADER_LEN + r.vlans.length * VLAN_TAG_LEN + payloadLen;
    return pad && n < ETHERNET_MIN_FRAME_LEN ? ETHERNET_MIN_FRAME_LEN : n;
  },

  /**
   * Writes the header at `buf[off]` and returns the frame length (header + payloadLen, or 60 when `pad`
   * and shorter). With `pad`, the bytes after the payload up to 60 are zeroed (IEEE 802.3 §4.2.3.3);
   * the payload itself is the caller's.
   */
  emit(r: EthernetRepr, buf: Uint8Array, off: number, payloadLen = 0, pad = false): number {
    const tags = r.vlans.length;
    if (tags > MAX_VLAN_TAGS) throw new EmitError(`ethernet: ${tags} VLAN tags exceed ${MAX_VLAN_TAGS}`);
    if (!(r.ethertype >= 0 && r.ethertype <= 0xffff)) throw new EmitError(`ethernet: bad ethertype ${r.ethertype}`);
    const hdr = ETHERNET_HEADER_LEN + tags * VLAN_TAG_LEN;
    const total = EthernetRepr.bufferLen(r, payloadLen, pad);
    if (off < 0 || off + (pad ? total : hdr) > buf.length) throw new EmitError('ethernet: buffer too small');
    writeMac(buf, off + EthernetField.DST, r.dst);
    writeMac(buf, off + EthernetField.SRC, r.src);
    let at = off + EthernetField.ETHERTYPE;
    for (const t of r.vlans) {
      if (!isVlanTpid(t.tpid)) throw new EmitError(`ethernet: 0x${t.tpid.toString(16)} is not a VLAN TPID`);
      if (!(t.pcp >= 0 && t.pcp <= 7) || !(t.vid >= 0 && t.vid <= 0xfff)) throw new EmitError('ethernet: VLAN pcp/vid out of range');
      writeU16(buf, at, t.tpid);
      writeU16(buf, at + VlanField.TCI, (t.pcp << 13) | (t.dei ? 0x1000 : 0) | t.vid);
      at += VLAN_TAG_LEN;
    }
    writeU16(buf, at, r.ethertype);
    if (pad && total > hdr + payloadLen) buf.fill(0, off + hdr + payloadLen, off + total);
    return total;
  },
};
