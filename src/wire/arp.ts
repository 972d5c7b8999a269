// ARP (RFC 826) and RARP (RFC 903) for IPv4 over Ethernet: checked view and Repr. Only the
// Ethernet/IPv4 form is accepted (htype 1, ptype 0x0800, hlen 6, plen 4, at least 28 bytes:
// SECURITY-CASES H02), so every address field sits at a fixed offset. Cache policy (RFC 826 merge
// rule, refusing multicast sender MACs: H03) belongs to the neighbour cache, not here.

import type { Ipv4Address, MacAddress } from './address.js';
import { readIpv4, readMac, writeIpv4, writeMac } from './address.js';
import { readU16, writeU16 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const ARP_LEN = 28;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_PTYPE_IPV4 = 0x0800;

/** Operation codes: ARP (RFC 826) and reverse ARP (RFC 903). */
export const ArpOp = { REQUEST: 1, REPLY: 2, RARP_REQUEST: 3, RARP_REPLY: 4 } as const;

/** Field offsets within the Ethernet/IPv4 ARP packet. */
export const ArpField = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 } as const;

/**
 * Zero-copy view of an Ethernet/IPv4 ARP packet at `buf[off, off+28)`; bytes after 28 (Ethernet
 * padding) are not part of the view. Construct through `ArpPacket.check`.
 */
export class ArpPacket {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  /** Validates `buf[off, off+avail)` and returns a view or the reason. */
  static check(buf: Uint8Array, off = 0, avail = buf.length - off): ArpPacket | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('arp', 'buffer', 'range outside buffer', off);
    if (avail < 8) return new WireError('arp', 'header', `truncated: ${avail} < 8 bytes`, 0);
    const htype = readU16(buf, off + ArpField.HTYPE);
    if (htype !== ARP_HTYPE_ETHERNET) return new WireError('arp', 'htype', `hardware type ${htype} is not Ethernet`, ArpField.HTYPE);
    const ptype = readU16(buf, off + ArpField.PTYPE);
    if (ptype !== ARP_PTYPE_IPV4) return new WireError('arp', 'ptype', `protocol type 0x${ptype.toString(16)} is not IPv4`, ArpField.PTYPE);
    if (buf[off + ArpField.HLEN] !== 6) return new WireError('arp', 'hlen', `hardware length ${buf[off + ArpField.HLEN]} != 6`, ArpField.HLEN);
    if (buf[off + ArpField.PLEN] !== 4) return new WireError('arp', 'plen', `protocol length ${buf[off + ArpField.PLEN]} != 4`, ArpField.PLEN);
    if (avail < ARP_LEN) return new WireError('arp', 'header', `truncated: ${avail} < ${ARP_LEN} bytes`, 0);
    const op = readU16(buf, off + ArpField.OPER);
    if (op < ArpOp.REQUEST || op > ArpOp.RARP_REPLY) return new WireError('arp', 'oper', `unsupported operation ${op}`, ArpField.OPER);
    return new ArpPacket(buf, off, ARP_LEN);
  }

  get htype(): number {
    return readU16(this.buf, this.off + ArpField.HTYPE);
  }
  get ptype(): number {
    return readU16(this.buf, this.off + ArpField.PTYPE);
  }
  get hlen(): number {
    return this.buf[this.off + ArpField.HLEN]!;
  }
  get plen(): number {
    return this.buf[this.off + ArpField.PLEN]!;
  }
  get oper(): number {
    return readU16(this.buf, this.off + ArpField.OPER);
  }
  set oper(v: number) {
    writeU16(this.buf, this.off + ArpField.OPER, v);
  }
  /** Sender hardware address. */
  get sha(): MacAddress {
    return readMac(this.buf, this.off + ArpField.SHA);
  }
  set sha(v: MacAddress) {
    writeMac(this.buf, this.off + ArpField.SHA, v);
  }
  /** Sender protocol address. */
  get spa(): Ipv4Address {
    return readIpv4(this.buf, this.off + ArpField.SPA);
  }
  set spa(v: Ipv4Address) {
    writeIpv4(this.buf, this.off + ArpField.SPA, v);
  }
  /** Target hardware address. */
  get tha(): MacAddress {
    return readMac(this.buf, this.off + ArpField.THA);
  }
  set tha(v: MacAddress) {
    writeMac(this.buf, this.off + ArpField.THA, v);
  }
  /** Target protocol address. */
  get tpa(): Ipv4Address {
    return readIpv4(this.buf, this.off + ArpField.TPA);
  }
  set tpa(v: Ipv4Address) {
    writeIpv4(this.buf, this.off + ArpField.TPA, v);
  }
}

/** High-level Ethernet/IPv4 ARP packet. */
export interface ArpRepr {
  /** One of `ArpOp`. */
  operation: number;
  senderMac: MacAddress;
  senderIp: Ipv4Address;
  targetMac: MacAddress;
  targetIp: Ipv4Address;
}

export const ArpRepr = {
  /** Fields of a checked packet; never fails once check() passed. */
  parse(p: ArpPacket): ArpRepr {
    return { operation: p.oper, senderMac: p.sha, senderIp: p.spa, targetMac: p.tha, targetIp: p.tpa };
  },

  bufferLen(_r?: ArpRepr): number {
    return ARP_LEN;
  },

  /** Writes the 28-byte packet at `buf[off]`. */
  emit(r: ArpRepr, buf: Uint8Array, off: number): void {
    if (!(r.operation >= ArpOp.REQUEST && r.operation <= ArpOp.RARP_REPLY)) throw new EmitError(`arp: bad operation ${r.operation}`);
    if (off < 0 || off + ARP_LEN > buf.length) throw new EmitError('arp: buffer too small');
    writeU16(buf, off + ArpField.HTYPE, ARP_HTYPE_ETHERNET);
    writeU16(buf, off + ArpField.PTYPE, ARP_PTYPE_IPV4);
    buf[off + ArpField.HLEN] = 6;
    buf[off + ArpField.PLEN] = 4;
    writeU16(buf, off + ArpField.OPER, r.operation);
    writeMac(buf, off + ArpField.SHA, r.senderMac);
    writeIpv4(buf, off + ArpField.SPA, r.senderIp);
    writeMac(buf, off + ArpField.THA, r.targetMac);
    writeIpv4(buf, off + ArpField.TPA, r.targetIp);
  },
};
