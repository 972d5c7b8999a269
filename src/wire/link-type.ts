// pcap/pcapng LINKTYPE_* values (tcpdump.org link-layer header types) and the one question the stack
// asks of a captured or injected frame: where does the network layer start, and which protocol is it?
// Handles Ethernet (with VLAN tags), raw IP, IPv4/IPv6-only links, Linux cooked SLL/SLL2 and the BSD
// NULL/LOOP 4-byte address-family header. It does not validate the network-layer header itself.

import { readU16, readU32 } from './bytes.js';
import { WireError } from './error.js';
import { EthernetFrame, MAX_VLAN_TAGS } from './ethernet.js';
import { EtherType, ETHERTYPE_MIN, isVlanTpid } from './ethertype.js';
import { LINUX_SLL2_HEADER_LEN, LINUX_SLL_HEADER_LEN, LinuxSll2Field, LinuxSllField } from './linux-sll.js';

/** Link-layer header types (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  NULL: 0,
  ETHERNET: 1,
  /** Raw IPv4 or IPv6, told apart by the version nibble. */
  RAW: 101,
  /** OpenBSD loopback: 4-byte address family in network byte order. */
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NETLINK: 253,
  LINUX_SLL2: 276,
} as const;

export const BSD_FAMILY_HEADER_LEN = 4;

/** Address-family values found in NULL/LOOP headers; IPv6 differs between systems. */
export const BsdAddressFamily = {
  INET: 2,
  INET6_LINUX: 10,
  /** NetBSD, OpenBSD, BSD/OS. */
  INET6_BSD: 24,
  INET6_FREEBSD: 28,
  INET6_DARWIN: 30,
} as const;

/** Where the network layer is: its EtherType and absolute offset/length in the buffer. */
export interface NetworkLayer {
  /** EtherType of the network layer (0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP, ...). */
  ethertype: number;
  offset: number;
  length: number;
}

/**
 * Reads the 4-byte NULL/LOOP address family at `buf[off]`. LOOP is big-endian; NULL is in the writer's
 * byte order, so a value whose high 16 bits are set is taken as little-endian (families are < 65536).
 */
export function readBsdFamily(buf: Uint8Array, off: number): number {
  const be = readU32(buf, off);
  if ((be & 0xffff0000) === 0) return be;
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/** EtherType for a BSD address family, or -1 when it is neither IPv4 nor IPv6. */
export function bsdFamilyToEtherType(af: number): number {
  if (af === BsdAddressFamily.INET) return EtherType.IPV4;
  if (af === 10 || af === 24 || af === 28 || af === 30) return EtherType.IPV6;
  return -1;
}

/**
 * Locates the network layer of a frame of link type `linkType` in `buf[off, off+avail)`. Errors: unknown
 * or non-IP link types, truncated link headers, 802.3 LLC frames, and cooked or BSD headers whose
 * protocol is not an EtherType or an IP family.
 */
export function locateNetworkLayer(linkType: number, buf: Uint8Array, off = 0, avail = buf.length - off): NetworkLayer | WireError {
  if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('link', 'buffer', 'range outside buffer', off);
  switch (linkType) {
    case LinkType.ETHERNET: {
      const f = EthernetFrame.check(buf, off, avail);
      if (f instanceof WireError) return f;
      if (f.isLlc) return new WireError('ethernet', 'ethertype', `802.3 LLC frame (length ${f.ethertype}) carries no EtherType`, f.ethertypeOffset - off);
      return { ethertype: f.ethertype, offset: f.payloadOffset, length: f.payloadLength };
    }
    case LinkType.RAW: {
      if (avail < 1) return new WireError('raw', 'version', 'empty packet', 0);
      const v = buf[off]! >>> 4;
      if (v === 4) return { ethertype: EtherType.IPV4, offset: off, length: avail };
      if (v === 6) return { ethertype: EtherType.IPV6, offset: off, length: avail };
      return new WireError('raw', 'version', `IP version ${v} is neither 4 nor 6`, 0);
    }
    case LinkType.IPV4:
      return { ethertype: EtherType.IPV4, offset: off, length: avail };
    case LinkType.IPV6:
      return { ethertype: EtherType.IPV6, offset: off, length: avail };
    case LinkType.LINUX_SLL:
      if (avail < LINUX_SLL_HEADER_LEN) return new WireError('sll', 'header', `truncated: ${avail} < 16 bytes`, 0);
      return cooked('sll', buf, off, avail, readU16(buf, off + LinuxSllField.PROTOCOL), LINUX_SLL_HEADER_LEN);
    case LinkType.LINUX_SLL2:
      if (avail < LINUX_SLL2_HEADER_LEN) return new WireError('sll2', 'header', `truncated: ${avail} < 20 bytes`, 0);
      return cooked('sll2', buf, off, avail, readU16(buf, off + LinuxSll2Field.PROTOCOL), LINUX_SLL2_HEADER_LEN);
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (avail < BSD_FAMILY_HEADER_LEN) return new WireError('null', 'family', `truncated: ${avail} < 4 bytes`, 0);
      const af = readBsdFamily(buf, off);
      const et = bsdFamilyToEtherType(af);
      if (et < 0) return new WireError('null', 'family', `address family ${af} is not IPv4 or IPv6`, 0);
      return { ethertype: et, offset: off + BSD_FAMILY_HEADER_LEN, length: avail - BSD_FAMILY_HEADER_LEN };
    }
    default:
      return new WireError('link', 'link_type', `link type ${linkType} carries no network layer this stack reads`, -1);
  }
}

// SLL/SLL2 payload: libpcap re-inserts stripped VLAN tags after the cooked header as TCI + protocol.
function cooked(proto: string, buf: Uint8Array, off: number, avail: number, protocol: number, hdr: number): NetworkLayer | WireError {
  let at = hdr;
  let tags = 0;
  while (isVlanTpid(protocol)) {
    if (tags === MAX_VLAN_TAGS) return new WireError(proto, 'vlan', `more than ${MAX_VLAN_TAGS} VLAN tags`, at);
    if (avail - at < 4) return new WireError(proto, 'vlan', 'truncated VLAN tag', at);
    protocol = readU16(buf, off + at + 2);
    at += 4;
    tags++;
  }
  if (protocol < ETHERTYPE_MIN) return new WireError(proto, 'protocol', `0x${protocol.toString(16)} is not an EtherType`, at === hdr ? (proto === 'sll' ? LinuxSllField.PROTOCOL : LinuxSll2Field.PROTOCOL) : at - 2);
  return { ethertype: protocol, offset: off + at, length: avail - at };
}
