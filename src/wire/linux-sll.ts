// Linux "cooked" capture headers written by libpcap for the "any" device: SLL (LINKTYPE_LINUX_SLL,
// 16 bytes) and SLL2 (LINKTYPE_LINUX_SLL2, 20 bytes). Checked views and Reprs. Only the fixed headers
// are interpreted; the protocol field is usually an EtherType but for some ARPHRD types (netlink, CAN,
// raw 802.2/802.3) it is something else, which `link-type.ts` refuses to treat as a network layer.

import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const LINUX_SLL_HEADER_LEN = 16;
export const LINUX_SLL2_HEADER_LEN = 20;
/** Bytes of link-layer address the headers can carry. */
export const SLL_ADDR_MAX = 8;

/** Field offsets within the SLL header. */
export const LinuxSllField = { PACKET_TYPE: 0, ARPHRD_TYPE: 2, ADDR_LEN: 4, ADDR: 6, PROTOCOL: 14 } as const;
/** Field offsets within the SLL2 header. */
export const LinuxSll2Field = { PROTOCOL: 0, RESERVED: 2, IF_INDEX: 4, ARPHRD_TYPE: 8, PACKET_TYPE: 10, ADDR_LEN: 11, ADDR: 12 } as const;

/** Packet types (Linux `PACKET_*`, as in `sll_pkttype`). */
export const SllPacketType = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

/** A few Linux ARPHRD_* hardware types seen in cooked captures. */
export const Arphrd = { ETHER: 1, PPP: 512, LOOPBACK: 772, IPGRE: 778, NETLINK: 824, NONE: 0xfffe } as const;

/** Zero-copy view of an SLL header at `buf[off, off+16)`, payload up to `off+len`. */
export class LinuxSllHeader {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  static check(buf: Uint8Array, off = 0, avail = buf.length - off): LinuxSllHeader | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('sll', 'buffer', 'range outside buffer', off);
    if (avail < LINUX_SLL_HEADER_LEN) return new WireError('sll', 'header', `truncated: ${avail} < 16 bytes`, 0);
    return new LinuxSllHeader(buf, off, avail);
  }

  get packetType(): number {
    return readU16(this.buf, this.off + LinuxSllField.PACKET_TYPE);
  }
  get arphrdType(): number {
    return readU16(this.buf, this.off + LinuxSllField.ARPHRD_TYPE);
  }
  /** Declared address length; may exceed the 8 bytes stored. */
  get addressLength(): number {
    return readU16(this.buf, this.off + LinuxSllField.ADDR_LEN);
  }
  /** The stored address bytes (at most 8), copied. */
  address(): Uint8Array {
    const n = Math.min(this.addressLength, SLL_ADDR_MAX);
    return this.buf.slice(this.off + LinuxSllField.ADDR, this.off + LinuxSllField.ADDR + n);
  }
  get protocol(): number {
    return readU16(this.buf, this.off + LinuxSllField.PROTOCOL);
  }
  get payloadOffset(): number {
    return this.off + LINUX_SLL_HEADER_LEN;
  }
  get payloadLength(): number {
    return this.len - LINUX_SLL_HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.off + LINUX_SLL_HEADER_LEN, this.off + this.len);
  }
}

/** Zero-copy view of an SLL2 header at `buf[off, off+20)`, payload up to `off+len`. */
export class LinuxSll2Header {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  static check(buf: Uint8Array, off = 0, avail = buf.length - off): LinuxSll2Header | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('sll2', 'buffer', 'range outside buffer', off);
    if (avail < LINUX_SLL2_HEADER_LEN) return new WireError('sll2', 'header', `truncated: ${avail} < 20 bytes`, 0);
    return new LinuxSll2Header(buf, off, avail);
  }

  get protocol(): number {
    return readU16(this.buf, this.off + LinuxSll2Field.PROTOCOL);
  }
  get interfaceIndex(): number {
    return readU32(this.buf, this.off + LinuxSll2Field.IF_INDEX);
  }
  get arphrdType(): number {
    return readU16(this.buf, this.off + LinuxSll2Field.ARPHRD_TYPE);
  }
  get packetType(): number {
    return this.buf[this.off + LinuxSll2Field.PACKET_TYPE]!;
  }
  get addressLength(): number {
    return this.buf[this.off + LinuxSll2Field.ADDR_LEN]!;
  }
  address(): Uint8Array {
    const n = Math.min(this.addressLength, SLL_ADDR_MAX);
    return this.buf.slice(this.off + LinuxSll2Field.ADDR, this.off + LinuxSll2Field.ADDR + n);
  }
  get payloadOffset(): number {
    return this.off + LINUX_SLL2_HEADER_LEN;
  }
  get payloadLength(): number {
    return this.len - LINUX_SLL2_HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.off + LINUX_SLL2_HEADER_LEN, this.off + this.len);
  }
}

/** SLL header fields. `address` holds at most 8 bytes. */
export interface LinuxSllRepr {
  packetType: number;
  arphrdType: number;
  address: Uint8Array;
  protocol: number;
}

/** SLL2 header fields. `address` holds at most 8 bytes. */
export interface LinuxSll2Repr extends LinuxSllRepr {
  interfaceIndex: number;
}

function checkAddress(a: Uint8Array): void {
  if (a.length > SLL_ADDR_MAX) throw new EmitError(`sll: address of ${a.length} bytes exceeds 8`);
}

export const LinuxSllRepr = {
  parse(h: LinuxSllHeader): LinuxSllRepr {
    return { packetType: h.packetType, arphrdType: h.arphrdType, address: h.address(), protocol: h.protocol };
  },
  bufferLen(_r?: LinuxSllRepr): number {
    return LINUX_SLL_HEADER_LEN;
  },
  emit(r: LinuxSllRepr, buf: Uint8Array, off: number): void {
    checkAddress(r.address);
    if (off < 0 || off + LINUX_SLL_HEADER_LEN > buf.length) throw new EmitError('sll: buffer too small');
    writeU16(buf, off + LinuxSllField.PACKET_TYPE, r.packetType);
    writeU16(buf, off + LinuxSllField.ARPHRD_TYPE, r.arphrdType);
    writeU16(buf, off + LinuxSllField.ADDR_LEN, r.address.length);
    buf.fill(0, off + LinuxSllField.ADDR, off + LinuxSllField.ADDR + SLL_ADDR_MAX);
    buf.set(r.address, off + LinuxSllField.ADDR);
    writeU16(buf, off + LinuxSllField.PROTOCOL, r.protocol);
  },
};

export const LinuxSll2Repr = {
  parse(h: LinuxSll2Header): LinuxSll2Repr {
    return {
      packetType: h.packetType,
      arphrdType: h.arphrdType,
      address: h.address(),
      protocol: h.protocol,
      interfaceIndex: h.interfaceIndex,
    };
  },
  bufferLen(_r?: LinuxSll2Repr): number {
    return LINUX_SLL2_HEADER_LEN;
  },
  emit(r: LinuxSll2Repr, buf: Uint8Array, off: number): void {
    checkAddress(r.address);
    if (!(r.packetType >= 0 && r.packetType <= 255)) throw new EmitError('sll2: packet type out of range');
    if (off < 0 || off + LINUX_SLL2_HEADER_LEN > buf.length) throw new EmitError('sll2: buffer too small');
    writeU16(buf, off + LinuxSll2Field.PROTOCOL, r.protocol);
    writeU16(buf, off + LinuxSll2Field.RESERVED, 0);
    writeU32(buf, off + LinuxSll2Field.IF_INDEX, r.interfaceIndex >>> 0);
    writeU16(buf, off + LinuxSll2Field.ARPHRD_TYPE, r.arphrdType);
    buf[off + LinuxSll2Field.PACKET_TYPE] = r.packetType;
    buf[off + LinuxSll2Field.ADDR_LEN] = r.address.length;
    buf.fill(0, off + LinuxSll2Field.ADDR, off + LinuxSll2Field.ADDR + SLL_ADDR_MAX);
    buf.set(r.address, off + LinuxSll2Field.ADDR);
  },
};
