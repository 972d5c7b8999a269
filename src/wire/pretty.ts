// One-line, tcpdump-style rendering of a decoded frame (`decode.ts`), for `picotcp decode` and the
// tracer device. It follows tcpdump's wording (print-tcp.c, print-icmp.c, print-icmp6.c, print-arp.c)
// with the link layer always shown as with `tcpdump -e`, in the short form
// `02:00:00:00:00:0b > 02:00:00:00:00:0a, IPv4 198.51.100.2.36878 > 198.51.100.1.80: Flags [S], ...`.
// Truncated headers end in `[|proto]`, malformed ones in `[bad proto field: reason]`, and failed
// checksums in `[bad proto cksum]`. Pure formatting: no decoding decisions are made here.

import type { ChecksumProvider } from '../ports/checksum.js';
import { decodeFrame } from './decode.js';
import { decodeFloatCode8 } from './igmp.js';

// ---- The decoded-frame model (filled by decode.ts; plain JSON-ready data, addresses as text) ----

/** true = verified good, false = bad, null = could not verify (truncated, fragment, or not asked). */
export type ChecksumStatus = boolean | null;

export interface DecodeError {
  proto: string;
  field: string;
  reason: string;
  /** Absolute byte offset in the frame of the offending field, -1 when unknown. */
  offset: number;
}

export interface VlanInfo {
  tpid: number;
  vid: number;
  pcp: number;
  dei: boolean;
}
export interface EthernetInfo {
  src: string;
  dst: string;
  vlans: VlanInfo[];
  /** EtherType, or the IEEE 802.3 length of an LLC frame (then `llc` is true). */
  ethertype: number;
  llc: boolean;
  headerLength: number;
}
export interface SllInfo {
  version: 1 | 2;
  packetType: number;
  arphrdType: number;
  /** Link-layer address as colon-separated hex (at most 8 bytes). */
  address: string;
  protocol: number;
  interfaceIndex?: number;
}
export interface LoopbackInfo {
  family: number;
}
export interface MplsLabel {
  label: number;
  tc: number;
  bottom: boolean;
  ttl: number;
}
export interface ArpInfo {
  /** Hardware type (1 Ethernet) and protocol type (0x0800 IPv4). */
  htype: number;
  ptype: number;
  operation: number;
  opName: string;
  /** Sender/target addresses: MAC and dotted-quad text for Ethernet/IPv4, colon-separated hex otherwise. */
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}
export interface Ipv4Info {
  src: string;
  dst: string;
  headerLength: number;
  totalLength: number;
  tos: number;
  ident: number;
  ttl: number;
  protocol: number;
  df: boolean;
  mf: boolean;
  reservedFlag: boolean;
  /** Fragment offset in bytes. */
  fragOffset: number;
  checksum: number;
  /** Option types in order (EOL ends the list). */
  options: number[];
  /** Total Length was 0 (a TCP segmentation offload send): `totalLength` is the link payload length. */
  tso?: boolean;
}
export interface Ipv6ExtInfo {
  type: number;
  /** Offset from the IPv6 header start. */
  offset: number;
  length: number;
}
export interface Ipv6FragmentInfo {
  /** Offset in bytes. */
  offset: number;
  more: boolean;
  ident: number;
  nextHeader: number;
}
export interface Ipv6Info {
  src: string;
  dst: string;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  extHeaders: Ipv6ExtInfo[];
  fragment?: Ipv6FragmentInfo;
  /** Protocol after the extension headers (59 = none). */
  upperProtocol: number;
}
/** The datagram quoted by an ICMP error (ports when its transport bytes are present). */
export interface QuotedInfo {
  src: string;
  dst: string;
  protocol: number;
  srcPort?: number;
  dstPort?: number;
}
export interface IcmpInfo {
  type: number;
  code: number;
  name: string;
  checksum: number;
  /** Message length (header included). */
  length: number;
  echo?: { id: number; seq: number };
  /** Packet Too Big / Fragmentation Needed MTU. */
  mtu?: number;
  pointer?: number;
  gateway?: string;
  quoted?: QuotedInfo;
  /** NDP: target (NS/NA/redirect), flags, link-layer address options. */
  ndp?: {
    target?: string;
    destination?: string;
    router?: boolean;
    solicited?: boolean;
    override?: boolean;
    sourceLinkAddr?: string;
    targetLinkAddr?: string;
    prefixes?: string[];
    mtu?: number;
    /** Option types in order. */
    options?: number[];
  };
  mld?: { version: 1 | 2; multicastAddress?: string; records?: number; sources?: number };
}
export interface IgmpInfo {
  type: number;
  version: number;
  name: string;
  maxRespCode: number;
  group: string;
  checksum: number;
  length: number;
  records?: number;
  sources?: number;
}
export interface UdpInfo {
  srcPort: number;
  dstPort: number;
  /** The length field (header included). */
  length: number;
  payloadLength: number;
  checksum: number;
}
export interface TcpOptionsInfo {
  mss?: number;
  wscale?: number;
  sackPermitted: boolean;
  sack?: [number, number][];
  ts?: { val: number; ecr: number };
  /** Every option in order, as tcpdump prints it: `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `nop`... */
  list: string[];
}
export interface TcpInfo {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The 9 control bits (see TcpFlags). */
  flags: number;
  /** tcpdump notation: `S`, `S.`, `P.`, `F.`, `R`, `none`. */
  flagsText: string;
  headerLength: number;
  window: number;
  urgentPointer: number;
  payloadLength: number;
  checksum: number;
  options: TcpOptionsInfo;
}

export interface DecodedFrame {
  linkType: number;
  /** Bytes captured. */
  caplen: number;
  /** Bytes on the wire (originalLength, or caplen). */
  len: number;
  /** True when caplen < len (snaplen cut the frame). */
  truncated: boolean;
  /** Protocol chain, outermost first: eth, vlan, sll, sll2, loopback, mpls, llc, arp, ipv4, ipv6, icmpv4, icmpv6, igmp, udp, tcp. */
  layers: string[];
  eth?: EthernetInfo;
  sll?: SllInfo;
  loopback?: LoopbackInfo;
  mpls?: MplsLabel[];
  arp?: ArpInfo;
  ipv4?: Ipv4Info;
  ipv6?: Ipv6Info;
  icmpv4?: IcmpInfo;
  icmpv6?: IcmpInfo;
  igmp?: IgmpInfo;
  udp?: UdpInfo;
  tcp?: TcpInfo;
  /** Validity per layer that carries a checksum. */
  checksums: { ipv4?: ChecksumStatus; icmpv4?: ChecksumStatus; icmpv6?: ChecksumStatus; igmp?: ChecksumStatus; udp?: ChecksumStatus; tcp?: ChecksumStatus };
  /** Why decoding stopped cleanly before a transport layer: `link type 253`, `ethertype 0x88cc`, `fragment`, `ip protocol 47`... */
  undecoded?: string;
  /** The layer whose header the snaplen cut (decoding stopped there). */
  truncatedAt?: string;
  error?: DecodeError;
}

// ---- Printing ----

const ETHERTYPE_NAMES: Record<number, string> = {
  0x0800: 'IPv4',
  0x0806: 'ARP',
  0x0842: 'Wake-on-LAN',
  0x22f0: 'AVTP',
  0x8035: 'RARP',
  0x8100: '802.1Q',
  0x86dd: 'IPv6',
  0x8808: 'Ethernet flow control',
  0x8847: 'MPLS unicast',
  0x8848: 'MPLS multicast',
  0x8863: 'PPPoE D',
  0x8864: 'PPPoE S',
  0x888e: 'EAPOL',
  0x88a8: '802.1Q-QinQ',
  0x88cc: 'LLDP',
  0x88e5: 'MACsec',
  0x88f7: 'PTP',
  0x9000: 'Loopback',
};

const IP_PROTO_NAMES: Record<number, string> = {
  0: 'HBH', 1: 'ICMP', 2: 'IGMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 43: 'Routing', 44: 'Fragment', 47: 'GRE',
  50: 'ESP', 51: 'AH', 58: 'ICMPv6', 59: 'NoNext', 60: 'DSTOPT', 89: 'OSPF', 103: 'PIM', 112: 'VRRP', 132: 'SCTP',
};

// tcpdump's names for the extension headers it prints before the upper layer (print-ip6.c).
const EXT_NAMES: Record<number, string> = { 0: 'HBH', 43: 'srcrt', 60: 'DSTOPT' };

const SLL_DIRECTION: Record<number, string> = { 0: 'In', 1: 'B', 2: 'M', 3: 'P', 4: 'Out' };

const BSD_FAMILIES: Record<number, string> = { 2: 'IPv4', 10: 'IPv6', 24: 'IPv6', 28: 'IPv6', 30: 'IPv6' };

/** `Name (0x0800)` as tcpdump prints an EtherType. */
function etherTypeText(t: number): string {
  return `${ETHERTYPE_NAMES[t] ?? 'Unknown'} (0x${t.toString(16).padStart(4, '0')})`;
}

function protoText(p: number): string {
  return `${IP_PROTO_NAMES[p] ?? 'proto'} (${p})`;
}

/** One tcpdump-style line for a decoded frame (no trailing newline). */
export function formatFrame(d: DecodedFrame): string {
  const net = networkText(d);
  // A link layer with nothing decodable after it ends in ", ": drop the separator before a marker.
  let s = net === '' ? linkText(d).replace(/, $/, '') : linkText(d) + net;
  if (s === '') s = d.undecoded ? `${d.undecoded}, length ${d.len}` : `length ${d.len}`;
  if (d.truncatedAt) s += ` [|${d.truncatedAt}]`;
  if (d.error) s += ` [bad ${d.error.proto} ${d.error.field}: ${d.error.reason}]`;
  for (const [proto, ok] of Object.entries(d.checksums)) if (ok === false) s += ` [bad ${proto} cksum]`;
  return s;
}

/** Decodes and formats in one call: the `format` function a TracerDevice takes. */
export function prettyPrintFrame(linkType: number, frame: Uint8Array, checksum: ChecksumProvider | null): string {
  return formatFrame(decodeFrame(linkType, frame, { checksum }));
}

function linkText(d: DecodedFrame): string {
  let s = '';
  if (d.eth) {
    const e = d.eth;
    s = `${e.src} > ${e.dst}, `;
    for (const v of e.vlans) s += `vlan ${v.vid}, p ${v.pcp}, ${v.dei ? 'DEI, ' : ''}`;
    if (e.llc) return `${s}802.3, length ${d.len}: LLC`;
    if (!d.arp && !d.ipv4 && !d.ipv6 && !d.mpls && !d.error && !d.truncatedAt) return `${s}ethertype ${etherTypeText(e.ethertype)}, length ${d.len}`;
  } else if (d.sll) {
    const l = d.sll;
    const parts = [SLL_DIRECTION[l.packetType] ?? `pkttype ${l.packetType}`];
    if (l.interfaceIndex !== undefined) parts.push(`ifindex ${l.interfaceIndex}`);
    if (l.address !== '') parts.push(l.address);
    s = `${parts.join(' ')}, `;
    if (!d.arp && !d.ipv4 && !d.ipv6 && !d.error && !d.truncatedAt) return `${s}ethertype ${etherTypeText(l.protocol)}, length ${d.len}`;
  } else if (d.loopback) {
    const f = d.loopback.family;
    s = `AF ${BSD_FAMILIES[f] ?? 'Unknown'} (${f}), `;
    if (d.undecoded) return `${s}length ${d.len}`;
  } else if (d.undecoded?.startsWith('link type')) {
    return `${d.undecoded}, length ${d.len}`;
  }
  if (d.mpls) for (const m of d.mpls) s += `MPLS (label ${m.label}, tc ${m.tc}${m.bottom ? ', [S]' : ''}, ttl ${m.ttl}), `;
  return s;
}

function networkText(d: DecodedFrame): string {
  if (d.arp) return arpText(d);
  if (d.ipv4) {
    const ip = d.ipv4;
    const head = `IPv4 ${addrPort(ip.src, d, 'src')} > ${addrPort(ip.dst, d, 'dst')}: `;
    let frag = '';
    if (ip.mf || ip.fragOffset !== 0) {
      frag = `frag (off ${ip.fragOffset}, len ${ip.totalLength - ip.headerLength}, id ${ip.ident}${ip.mf ? ', more' : ''})`;
      if (ip.fragOffset !== 0) return `${head}${frag}, proto ${protoText(ip.protocol)}`;
      frag += ' ';
    }
    return head + frag + upperText(d, ip.protocol, ip.totalLength - ip.headerLength);
  }
  if (d.ipv6) {
    const ip = d.ipv6;
    let s = `IPv6 ${addrPort(ip.src, d, 'src')} > ${addrPort(ip.dst, d, 'dst')}: `;
    for (const h of ip.extHeaders) {
      if (h.type === 44) s += `${ipv6FragText(ip)} `;
      else s += `${EXT_NAMES[h.type] ?? protoText(h.type)} `;
    }
    if (ip.fragment && ip.fragment.offset !== 0) return `${s.trimEnd()}, next-header ${protoText(ip.fragment.nextHeader)}`;
    const last = ip.extHeaders[ip.extHeaders.length - 1];
    const upperLen = ip.payloadLength - (last ? last.offset + last.length - 40 : 0);
    return s + upperText(d, ip.upperProtocol, upperLen);
  }
  return '';
}

function ipv6FragText(ip: Ipv6Info): string {
  const f = ip.fragment!;
  const h = ip.extHeaders.find((x) => x.type === 44)!;
  const dataLen = ip.payloadLength - (h.offset + 8 - 40);
  return `frag (off ${f.offset}, len ${dataLen}, id 0x${f.ident.toString(16).padStart(8, '0')}${f.more ? ', more' : ''})`;
}

// tcpdump joins address and port with a dot, for IPv6 too (`2001:db8::1.80`).
function addrPort(addr: string, d: DecodedFrame, side: 'src' | 'dst'): string {
  const t = d.tcp ?? d.udp;
  if (!t) return addr;
  return `${addr}.${side === 'src' ? t.srcPort : t.dstPort}`;
}

function upperText(d: DecodedFrame, proto: number, len: number): string {
  if (d.tcp) return tcpText(d.tcp);
  if (d.udp) return `UDP, length ${d.udp.payloadLength}`;
  if (d.icmpv4) return icmpv4Text(d.icmpv4);
  if (d.icmpv6) return icmpv6Text(d.icmpv6);
  if (d.igmp) return igmpText(d);
  if (proto === 59 && d.ipv6) return 'no next header';
  if (d.error || d.truncatedAt) return `${IP_PROTO_NAMES[proto] ?? `ip-proto-${proto}`}`;
  return `ip-proto-${proto}, length ${len}`;
}

function arpText(d: DecodedFrame): string {
  const a = d.arp!;
  if (a.htype !== 1 || a.ptype !== 0x0800) {
    return `ARP, hardware type ${a.htype}, protocol 0x${a.ptype.toString(16).padStart(4, '0')}, ${a.opName} ${a.senderIp} (${a.senderMac}) > ${a.targetIp} (${a.targetMac})`;
  }
  switch (a.operation) {
    case 1:
      return `ARP, Request who-has ${a.targetIp} tell ${a.senderIp}, length 28`;
    case 2:
      return `ARP, Reply ${a.senderIp} is-at ${a.senderMac}, length 28`;
    case 3:
      return `RARP, Reverse Request who-is ${a.targetMac} tell ${a.senderMac}, length 28`;
    case 4:
      return `RARP, Reverse Reply ${a.targetMac} at ${a.targetIp}, length 28`;
    default:
      return `ARP, ${a.opName} ${a.senderIp} (${a.senderMac}) > ${a.targetIp} (${a.targetMac}), length 28`;
  }
}

function tcpText(t: TcpInfo): string {
  let s = `Flags [${t.flagsText}], seq ${t.seq}`;
  if (t.payloadLength > 0) s += `:${(t.seq + t.payloadLength) >>> 0}`;
  if (t.flags & 0x10) s += `, ack ${t.ack}`;
  s += `, win ${t.window}`;
  if (t.flags & 0x20) s += `, urg ${t.urgentPointer}`;
  if (t.options.list.length > 0) s += `, options [${t.options.list.join(',')}]`;
  return `${s}, length ${t.payloadLength}`;
}

function quotedTransport(q: QuotedInfo): string {
  const name = q.protocol === 6 ? 'tcp' : q.protocol === 17 ? 'udp' : `proto ${q.protocol}`;
  return q.dstPort !== undefined ? `${name} port ${q.dstPort}` : name;
}

function icmpv4Text(i: IcmpInfo): string {
  const q = i.quoted;
  let body: string;
  switch (i.type) {
    case 0:
    case 8:
      body = `${i.name}, id ${i.echo!.id}, seq ${i.echo!.seq}`;
      break;
    case 3: {
      const host = q ? q.dst : '?';
      if (i.code === 0) body = `net ${host} unreachable`;
      else if (i.code === 1) body = `host ${host} unreachable`;
      else if (i.code === 2) body = `${host} protocol ${q ? q.protocol : '?'} unreachable`;
      else if (i.code === 3) body = q ? `${host} ${quotedTransport(q)} unreachable` : 'port unreachable';
      else if (i.code === 4) body = `${host} unreachable - need to frag (mtu ${i.mtu})`;
      else body = `${host} unreachable - code ${i.code}`;
      break;
    }
    case 5:
      body = `redirect ${q ? q.dst : '?'} to ${i.gateway}`;
      break;
    case 11:
      body = i.code === 1 ? 'ip reassembly time exceeded' : 'time exceeded in-transit';
      break;
    case 12:
      body = `parameter problem - octet ${i.pointer}`;
      break;
    default:
      body = i.code !== 0 ? `${i.name}, code ${i.code}` : i.name;
  }
  return `ICMP ${body}, length ${i.length}`;
}

const V6_UNREACH: Record<number, string> = {
  0: 'no route to', 1: 'unreachable prohibited', 2: 'beyond scope', 3: 'unreachable address', 4: 'unreachable port',
  5: 'source address policy', 6: 'reject route',
};

function icmpv6Text(i: IcmpInfo): string {
  let s = `ICMP6, ${i.name}`;
  const q = i.quoted;
  switch (i.type) {
    case 1:
      s += `, ${V6_UNREACH[i.code] ?? `code ${i.code}`}${q ? `, ${q.dst} ${quotedTransport(q)}` : ''}`;
      break;
    case 2:
      s += `, mtu ${i.mtu}`;
      break;
    case 3:
      s = `ICMP6, time exceeded ${i.code === 1 ? 'reassembly' : 'in-transit'}`;
      break;
    case 4:
      s += `, code ${i.code}, pointer ${i.pointer}`;
      break;
    case 128:
    case 129:
      s += `, id ${i.echo!.id}, seq ${i.echo!.seq}`;
      break;
    case 135:
      if (i.ndp?.target) s += `, who has ${i.ndp.target}`;
      break;
    case 136:
      if (i.ndp?.target) {
        s += `, tgt is ${i.ndp.target}`;
        const f = [i.ndp.router ? 'router' : '', i.ndp.solicited ? 'sol' : '', i.ndp.override ? 'ovr' : ''].filter((x) => x !== '');
        if (f.length > 0) s += ` (${f.join(', ')})`;
      }
      break;
    case 137:
      if (i.ndp?.target) s += ` ${i.ndp.destination} to ${i.ndp.target}`;
      break;
    case 130:
    case 131:
    case 132:
      if (i.mld) {
        if (i.type === 130) s += ` v${i.mld.version}`;
        if (i.mld.multicastAddress !== undefined) s += ` [gaddr ${i.mld.multicastAddress}]`;
        if (i.mld.sources !== undefined) s += ` [${i.mld.sources} source(s)]`;
      }
      break;
    case 143:
      if (i.mld?.records !== undefined) s += `, ${i.mld.records} group record(s)`;
      break;
    default:
      if (i.code !== 0) s += `, code ${i.code}`;
  }
  return `${s}, length ${i.length}`;
}

function igmpText(d: DecodedFrame): string {
  const g = d.igmp!;
  switch (g.type) {
    case 0x11: {
      let s = `igmp query v${g.version}`;
      // Tenths of a second: the raw code in v2, the RFC 3376 §4.1.1 floating-point code in v3.
      const tenths = g.version === 3 ? decodeFloatCode8(g.maxRespCode) : g.maxRespCode;
      if (g.version > 1 && tenths !== 0) s += ` [max resp time ${(tenths / 10).toFixed(1)}s]`;
      if (g.group !== '0.0.0.0') s += ` [gaddr ${g.group}]`;
      if (g.sources) s += ` [${g.sources} source(s)]`;
      return s;
    }
    case 0x12:
      return `igmp v1 report ${g.group}`;
    case 0x16:
      return `igmp v2 report ${g.group}`;
    case 0x17:
      return `igmp leave ${g.group}`;
    case 0x22:
      return `igmp v3 report, ${g.records ?? 0} group record(s)`;
    default:
      return `igmp ${g.name}, length ${g.length}`;
  }
}
