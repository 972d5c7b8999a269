// Whole-frame decoder for tools (the `picotcp decode` command, the tracer's pretty printer, tests):
// walks link layer → network layer → transport with the checked codecs of this directory and returns
// a plain JSON-ready object. It never throws on input: the first malformed layer is reported in
// `error` and decoding stops there, keeping everything decoded before it. It applies no host policy
// (a Routing header with segments left, an unknown option with action bits set are decoded, not
// refused) and does not reassemble: a non-first fragment is reported as fragment data.
//
// The result (DecodedFrame and its per-layer objects) is declared in pretty.ts, beside its printer,
// and re-exported here.
//
// Snaplen truncation (captured < original length): the captured bytes are decoded as if zero-padded
// to the original length, so length fields keep their meaning; a header that reaches past the
// captured bytes stops decoding with `truncatedAt` (not an error), and any checksum covering missing
// bytes is `null`. A codec error pointing past the captured bytes is a truncation, not malformation.

import type { ChecksumProvider } from '../ports/checksum.js';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../checksum/internet.js';
import { formatIpv4, formatIpv6, readIpv4, readIpv6 } from './address.js';
import type { Ipv6Address, MacAddress } from './address.js';
import { ArpOp, ArpPacket, ArpRepr } from './arp.js';
import { readU16, readU32 } from './bytes.js';
import { WireError } from './error.js';
import { EthernetFrame } from './ethernet.js';
import { EtherType, isVlanTpid } from './ethertype.js';
import { Icmpv4Packet, Icmpv4Quoted } from './icmpv4.js';
import { Icmpv6Packet, Icmpv6Quoted } from './icmpv6.js';
import { IgmpPacket, IgmpType } from './igmp.js';
import { IpProtocol } from './ip-protocol.js';
import { Ipv4Packet, parseIpv4Options } from './ipv4.js';
import { Ipv6Packet } from './ipv6.js';
import type { Ipv6Chain } from './ipv6-ext.js';
import { Ipv6ParamProblem, ParamProblemCode, walkIpv6Chain } from './ipv6-ext.js';
import { bsdFamilyToEtherType, LinkType, locateNetworkLayer, readBsdFamily } from './link-type.js';
import { LinuxSll2Header, LinuxSllHeader } from './linux-sll.js';
import { MldPacket, MldType } from './mld.js';
import { NdpNaFlags, NdpPacket, ndpFixedLen } from './ndp.js';
import { TcpPacket, TcpRepr } from './tcp.js';
import { UdpPacket } from './udp.js';
import type { DecodedFrame, IcmpInfo, IgmpInfo, Ipv6Info, MplsLabel, QuotedInfo, TcpInfo, VlanInfo } from './pretty.js';

export type {
  ArpInfo, ChecksumStatus, DecodedFrame, DecodeError, EthernetInfo, IcmpInfo, IgmpInfo, Ipv4Info, Ipv6ExtInfo,
  Ipv6FragmentInfo, Ipv6Info, LoopbackInfo, MplsLabel, QuotedInfo, SllInfo, TcpInfo, TcpOptionsInfo, UdpInfo, VlanInfo,
} from './pretty.js';

export interface DecodeOptions {
  /** Provider for checksum verification; null skips verification (every status null). */
  checksum: ChecksumProvider | null;
  /** Length on the wire; > frame.length marks the frame truncated. */
  originalLength?: number;
}

/** Bytes on the wire beyond this are never materialised for a truncated frame (IP max + link headers). */
const MAX_PADDED = 65535 + 256;
const MAX_MPLS_LABELS = 16;
/** Extension headers walked (beyond the codec's default of 8: a decoder shows what is there). */
const MAX_EXT_HEADERS = 64;

// Per-call state, passed explicitly so decodeFrame stays re-entrant.
interface Ctx {
  readonly d: DecodedFrame;
  readonly buf: Uint8Array;
  /** Captured bytes: offsets at or beyond this are zero padding. */
  readonly cap: number;
  readonly cs: ChecksumProvider | null;
}

/** Decodes one frame of link type `linkType`. Never throws. */
export function decodeFrame(linkType: number, frame: Uint8Array, opts: DecodeOptions): DecodedFrame {
  const caplen = frame.length;
  const orig = opts.originalLength;
  const len = orig !== undefined && Number.isFinite(orig) && orig >= 0 ? orig : caplen;
  const d: DecodedFrame = { linkType, caplen, len, truncated: caplen < len, layers: [], checksums: {} };
  let buf = frame;
  if (d.truncated) {
    buf = new Uint8Array(Math.max(caplen, Math.min(len, caplen + MAX_PADDED)));
    buf.set(frame);
  }
  const ctx: Ctx = { d, buf, cap: caplen, cs: opts.checksum };
  try {
    decodeLink(ctx, linkType);
  } catch (e) {
    // Unreachable by design (the fuzz property asserts it); kept so a tool never dies on one frame.
    d.error = { proto: 'decode', field: 'internal', reason: String(e), offset: -1 };
  }
  return d;
}

// Records a codec error at layer start `base`, or a truncation when the error lies in missing bytes.
function fail(ctx: Ctx, err: WireError, base: number, layer: string, minEnd: number): void {
  const abs = err.offset >= 0 ? base + err.offset : -1;
  if (ctx.d.truncated && (abs >= ctx.cap || minEnd > ctx.cap)) {
    ctx.d.truncatedAt = layer;
    return;
  }
  ctx.d.error = { proto: err.proto, field: err.field, reason: err.reason, offset: abs };
}

/** True (and records it) when the header `[off, end)` of `layer` is not wholly captured. */
function cut(ctx: Ctx, end: number, layer: string): boolean {
  if (end <= ctx.cap) return false;
  ctx.d.truncatedAt = layer;
  return true;
}

function decodeLink(ctx: Ctx, linkType: number): void {
  const { d, buf } = ctx;
  const n = buf.length;
  switch (linkType) {
    case LinkType.ETHERNET: {
      const f = EthernetFrame.check(buf, 0, n);
      if (f instanceof WireError) return fail(ctx, f, 0, 'eth', 14);
      if (cut(ctx, f.headerLen, 'eth')) return;
      const vlans: VlanInfo[] = [];
      for (let i = 0; i < f.vlanCount; i++) vlans.push({ tpid: f.tpid(i), vid: f.vid(i), pcp: f.pcp(i), dei: f.dei(i) });
      d.eth = { src: hexColons(buf, 6, 6), dst: hexColons(buf, 0, 6), vlans, ethertype: f.ethertype, llc: f.isLlc, headerLength: f.headerLen };
      d.layers.push('eth');
      for (let i = 0; i < f.vlanCount; i++) d.layers.push('vlan');
      if (f.isLlc) {
        d.layers.push('llc');
        d.undecoded = 'llc';
        return;
      }
      return decodeEtherType(ctx, f.ethertype, f.payloadOffset, f.payloadLength);
    }
    case LinkType.LINUX_SLL:
    case LinkType.LINUX_SLL2: {
      const v2 = linkType === LinkType.LINUX_SLL2;
      const h = v2 ? LinuxSll2Header.check(buf, 0, n) : LinuxSllHeader.check(buf, 0, n);
      const hl = v2 ? 20 : 16;
      if (h instanceof WireError) return fail(ctx, h, 0, v2 ? 'sll2' : 'sll', hl);
      if (cut(ctx, hl, v2 ? 'sll2' : 'sll')) return;
      const a = h.address();
      const addr = hexColons(a, 0, a.length);
      d.sll = { version: v2 ? 2 : 1, packetType: h.packetType, arphrdType: h.arphrdType, address: addr, protocol: h.protocol };
      if (h instanceof LinuxSll2Header) d.sll.interfaceIndex = h.interfaceIndex;
      d.layers.push(v2 ? 'sll2' : 'sll');
      // Below 0x0600 the cooked protocol is a Linux ETH_P_* pseudo-type (802.2 LLC, CAN...): not IP.
      if (h.protocol < 0x0600) {
        d.undecoded = `sll protocol 0x${h.protocol.toString(16).padStart(4, '0')}`;
        return;
      }
      return decodeLocated(ctx, linkType, v2 ? 'sll2' : 'sll', hl);
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (cut(ctx, 4, 'loopback')) return;
      const family = readBsdFamily(buf, 0);
      d.loopback = { family };
      d.layers.push('loopback');
      if (bsdFamilyToEtherType(family) < 0) {
        d.undecoded = `address family ${family}`;
        return;
      }
      return decodeLocated(ctx, linkType, 'loopback', 4);
    }
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6: {
      if (cut(ctx, 1, 'raw')) return;
      const v = buf[0]! >>> 4;
      // Not an IP header at all: nothing to decode (as tshark shows it), rather than a bad IP header.
      if (linkType === LinkType.RAW && v !== 4 && v !== 6) {
        d.undecoded = `raw packet of IP version ${v}`;
        return;
      }
      return decodeLocated(ctx, linkType, 'raw', 1);
    }
    default:
      d.undecoded = `link type ${linkType}`;
  }
}

// Link types whose network layer link-type.ts locates (SLL VLAN re-insertion, NULL families, raw IP).
function decodeLocated(ctx: Ctx, linkType: number, layer: string, minEnd: number): void {
  const loc = locateNetworkLayer(linkType, ctx.buf, 0, ctx.buf.length);
  if (loc instanceof WireError) {
    // A re-inserted VLAN tag followed by a Linux pseudo-protocol (< 0x0600) is well formed, just not IP.
    if (loc.field === 'protocol' && (loc.offset < 0 || loc.offset + 2 <= ctx.cap)) {
      // After a VLAN tag a value below 0x0600 is an 802.3 length, as on Ethernet: an LLC frame.
      const { d, buf } = ctx;
      let at = minEnd - 2; // the cooked protocol field, then each re-inserted tag's inner type
      while (at + 4 < ctx.cap && isVlanTpid(readU16(buf, at))) {
        d.layers.push('vlan');
        at += 4;
      }
      d.undecoded = `${layer} ${loc.reason}`;
      if (at === minEnd - 2) return;
      d.layers.push('llc');
      const length = readU16(buf, at);
      if (length > buf.length - at - 2) {
        d.error = { proto: layer, field: 'length', reason: `802.3 length ${length} exceeds ${buf.length - at - 2} bytes present`, offset: at };
      }
      return;
    }
    return fail(ctx, loc, 0, layer, minEnd);
  }
  if (cut(ctx, loc.offset, layer)) return;
  // SLL re-inserted VLAN tags: 4 bytes each between the cooked header and the network layer.
  for (let at = minEnd; at + 4 <= loc.offset; at += 4) ctx.d.layers.push('vlan');
  decodeEtherType(ctx, loc.ethertype, loc.offset, loc.length);
}

function decodeEtherType(ctx: Ctx, et: number, off: number, avail: number): void {
  switch (et) {
    case EtherType.IPV4:
      return decodeIpv4(ctx, off, avail);
    case EtherType.IPV6:
      return decodeIpv6(ctx, off, avail);
    case EtherType.ARP:
    case EtherType.RARP:
      return decodeArp(ctx, off, avail);
    case 0x8847:
    case 0x8848:
      return decodeMpls(ctx, off, avail);
    default:
      ctx.d.undecoded = `ethertype 0x${et.toString(16).padStart(4, '0')}`;
  }
}

const ARP_OPS: Record<number, string> = { 1: 'request', 2: 'reply', 3: 'rarp request', 4: 'rarp reply' };

function decodeArp(ctx: Ctx, off: number, avail: number): void {
  const { d, buf } = ctx;
  const p = ArpPacket.check(buf, off, avail);
  if (p instanceof WireError) {
    // The codec reads only Ethernet/IPv4 ARP with the four RFC 826/903 operations (all a host needs).
    // Other hardware/protocol types and operations (InARP, RFC 2390) are well formed: decode generically.
    const f = p.field;
    if (f === 'htype' || f === 'ptype' || f === 'hlen' || f === 'plen' || f === 'oper') return decodeArpGeneric(ctx, off, avail);
    return fail(ctx, p, off, 'arp', off + 8);
  }
  if (cut(ctx, off + 28, 'arp')) return;
  const r = ArpRepr.parse(p);
  d.arp = {
    htype: 1,
    ptype: 0x0800,
    operation: r.operation,
    opName: ARP_OPS[r.operation] ?? String(r.operation),
    senderMac: macText(r.senderMac),
    senderIp: formatIpv4(r.senderIp),
    targetMac: macText(r.targetMac),
    targetIp: formatIpv4(r.targetIp),
  };
  d.layers.push(r.operation >= ArpOp.RARP_REQUEST ? 'rarp' : 'arp');
}

// RFC 826 for any hardware/protocol pair: addresses are hlen/plen bytes, shown as MAC or dotted quad
// when they have those sizes, else as colon-separated hex.
function decodeArpGeneric(ctx: Ctx, off: number, avail: number): void {
  const { d, buf } = ctx;
  const hlen = buf[off + 4]!;
  const plen = buf[off + 5]!;
  const need = 8 + 2 * (hlen + plen);
  if (need > avail) {
    d.error = { proto: 'arp', field: 'header', reason: `truncated: ${avail} < ${need} bytes for hlen ${hlen}, plen ${plen}`, offset: off };
    return;
  }
  if (cut(ctx, off + need, 'arp')) return;
  const hw = (at: number): string => hexColons(buf, at, hlen);
  const pr = (at: number): string => (plen === 4 ? formatIpv4(readIpv4(buf, at)) : hexColons(buf, at, plen));
  const op = readU16(buf, off + 6);
  d.arp = {
    htype: readU16(buf, off),
    ptype: readU16(buf, off + 2),
    operation: op,
    opName: ARP_OPS[op] ?? `op ${op}`,
    senderMac: hw(off + 8),
    senderIp: pr(off + 8 + hlen),
    targetMac: hw(off + 8 + hlen + plen),
    targetIp: pr(off + 8 + 2 * hlen + plen),
  };
  d.layers.push(op === 3 || op === 4 ? 'rarp' : 'arp');
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `n` bytes at `b[at]` as colon-separated lowercase hex (MAC text for n = 6). */
function hexColons(b: Uint8Array, at: number, n: number): string {
  let s = n > 0 ? HEX[b[at]!]! : '';
  for (let i = 1; i < n; i++) s += `:${HEX[b[at + i]!]}`;
  return s;
}

// address.ts's formatMac goes through a regex; frames are decoded by the million, so use the table.
function macText(m: MacAddress): string {
  const hi = Math.floor(m / 0x1_0000_0000);
  const lo = m >>> 0;
  return `${HEX[hi >>> 8]}:${HEX[hi & 0xff]}:${HEX[lo >>> 24]}:${HEX[(lo >>> 16) & 0xff]}:${HEX[(lo >>> 8) & 0xff]}:${HEX[lo & 0xff]}`;
}

// RFC 3032 label stack; after the bottom entry the payload is IP, told apart by its version nibble.
function decodeMpls(ctx: Ctx, off: number, avail: number): void {
  const { d, buf } = ctx;
  const labels: MplsLabel[] = [];
  let at = off;
  const end = off + avail;
  for (;;) {
    if (labels.length === MAX_MPLS_LABELS) {
      d.error = { proto: 'mpls', field: 'label_stack', reason: `more than ${MAX_MPLS_LABELS} labels`, offset: at };
      return;
    }
    if (at + 4 > end) {
      if (at + 4 > ctx.cap && d.truncated) d.truncatedAt = 'mpls';
      else d.error = { proto: 'mpls', field: 'label_stack', reason: 'truncated label stack entry', offset: at };
      return;
    }
    if (cut(ctx, at + 4, 'mpls')) return;
    const w = readU32(buf, at);
    const bottom = (w & 0x100) !== 0;
    labels.push({ label: w >>> 12, tc: (w >>> 9) & 7, bottom, ttl: w & 0xff });
    at += 4;
    if (bottom) break;
  }
  d.mpls = labels;
  d.layers.push('mpls');
  if (at >= end || cut(ctx, at + 1, 'mpls')) {
    if (!d.truncatedAt) d.undecoded = 'mpls payload';
    return;
  }
  const v = buf[at]! >>> 4;
  if (v === 4) return decodeIpv4(ctx, at, end - at);
  if (v === 6) return decodeIpv6(ctx, at, end - at);
  d.undecoded = 'mpls payload';
}

function decodeIpv4(ctx: Ctx, off: number, avail: number): void {
  const { d } = ctx;
  const orig = ctx.buf;
  let buf = orig;
  const ihl = avail > 0 ? (buf[off]! & 0x0f) << 2 : 20;
  // Total Length 0 in a capture is a TCP segmentation offload send seen before the NIC split it
  // (tcpdump and tshark both assume so): decode a copy with the link length filled in.
  let tso = false;
  if (avail >= 20 && buf[off + 2] === 0 && buf[off + 3] === 0 && buf[off]! >>> 4 === 4) {
    tso = true;
    buf = buf.slice();
    const n = Math.min(avail, 0xffff);
    buf[off + 2] = n >>> 8;
    buf[off + 3] = n & 0xff;
    ctx = { ...ctx, buf };
  }
  const p = Ipv4Packet.check(buf, off, avail);
  if (p instanceof WireError) return fail(ctx, p, off, 'ipv4', off + Math.max(20, ihl));
  if (cut(ctx, off + p.headerLen, 'ipv4')) return;
  const options: number[] = [];
  if (p.headerLen > 20) {
    const o = parseIpv4Options(buf, off, p.headerLen);
    if (!(o instanceof WireError)) for (const x of o.list) options.push(x.type);
  }
  d.ipv4 = {
    src: formatIpv4(p.src),
    dst: formatIpv4(p.dst),
    headerLength: p.headerLen,
    totalLength: p.totalLength,
    tos: (p.dscp << 2) | p.ecn,
    ident: p.ident,
    ttl: p.ttl,
    protocol: p.protocol,
    df: p.dontFrag,
    mf: p.moreFrags,
    reservedFlag: p.reservedFlag,
    fragOffset: p.fragOffset,
    checksum: p.checksum,
    options,
  };
  if (tso) d.ipv4.tso = true;
  d.layers.push('ipv4');
  // The header checksum covers the Total Length as sent (0 for TSO): verify the original bytes.
  d.checksums.ipv4 = ctx.cs === null ? null : ctx.cs.sum(orig, off, p.headerLen, 0) === 0xffff;
  if (p.fragOffset !== 0) {
    d.undecoded = 'fragment';
    return;
  }
  const toff = p.payloadOffset;
  const tlen = p.payloadLength;
  const firstFragment = p.moreFrags;
  decodeTransport(ctx, p.protocol, toff, tlen, firstFragment, { v6: false, src4: p.src, dst4: p.dst, src6: null, dst6: null });
}

// Host policy refusals of walkIpv6Chain that a decoder must look past (RFC 8200 §4.4, §4.2).
function isPolicyRefusal(err: WireError): boolean {
  return err instanceof Ipv6ParamProblem && (err.field === 'routing_type' || err.code === ParamProblemCode.UNRECOGNIZED_OPTION);
}

function decodeIpv6(ctx: Ctx, off: number, avail: number): void {
  const { d, buf } = ctx;
  let p = Ipv6Packet.check(buf, off, avail);
  // Ipv6Packet.check refuses every Payload Length 0 without a Jumbo option; RFC 2675 §3 makes that an
  // error only when a Hop-by-Hop header follows. Otherwise the packet is just empty (e.g. Next Header 59).
  if (p instanceof WireError && p.field === 'payload_length' && avail >= 40 && buf[off]! >>> 4 === 6 && readU16(buf, off + 4) === 0 && buf[off + 6] !== 0) {
    p = Ipv6Packet.unchecked(buf, off, 40);
  }
  if (p instanceof WireError) return fail(ctx, p, off, 'ipv6', off + 40);
  if (cut(ctx, off + 40, 'ipv6')) return;
  const info: Ipv6Info = {
    src: formatIpv6(readIpv6(buf, off + 8)),
    dst: formatIpv6(readIpv6(buf, off + 24)),
    trafficClass: p.trafficClass,
    flowLabel: p.flowLabel,
    payloadLength: p.payloadLength,
    nextHeader: p.nextHeader,
    hopLimit: p.hopLimit,
    extHeaders: [],
    upperProtocol: p.nextHeader,
  };
  d.ipv6 = info;
  d.layers.push('ipv6');
  let chain: Ipv6Chain | WireError = walkIpv6Chain(p, MAX_EXT_HEADERS);
  if (chain instanceof WireError && isPolicyRefusal(chain)) chain = lenientChain(p);
  if (chain instanceof WireError) {
    // A truncated capture makes the walker read padding; report the headers it could see as cut.
    return fail(ctx, chain, off, 'ipv6', off + 40);
  }
  for (const h of chain.headers) {
    if (cut(ctx, off + h.offset + h.length, 'ipv6')) return;
    info.extHeaders.push({ type: h.type, offset: h.offset, length: h.length });
  }
  const fr = chain.fragment;
  if (fr !== null) info.fragment = { offset: fr.fragOffset, more: fr.moreFrags, ident: fr.ident, nextHeader: fr.nextHeader };
  info.upperProtocol = chain.upperProtocol;
  if (fr !== null && fr.fragOffset !== 0) {
    d.undecoded = 'fragment';
    return;
  }
  const net: Net = { v6: true, src4: 0, dst4: 0, src6: readIpv6(buf, off + 8), dst6: readIpv6(buf, off + 24) };
  decodeTransport(ctx, chain.upperProtocol, off + chain.upperOffset, p.len - chain.upperOffset, fr !== null && fr.moreFrags, net);
}

// Chain walk without host policy, used only after walkIpv6Chain refused a header for policy reasons
// (routing segments left, an unknown option's action bits). Structure is still checked. Bounded: at
// most MAX_EXT_HEADERS steps, each advancing at least 8 bytes within the packet.
function lenientChain(p: Ipv6Packet): Ipv6Chain | WireError {
  const chain: Ipv6Chain = { headers: [], upperProtocol: 0, upperOffset: 0, nextHeaderPointer: 6, fragment: null, fragmentOffset: -1, routerAlert: -1, jumbo: false };
  const b = p.buf;
  let nh = p.nextHeader;
  let at = 40;
  while (nh === 0 || nh === 43 || nh === 44 || nh === 60) {
    if (chain.headers.length >= MAX_EXT_HEADERS) return new WireError('ipv6', 'next_header', `more than ${MAX_EXT_HEADERS} extension headers`, at);
    if (p.len - at < 8) return new WireError('ipv6', 'hdr_ext_len', `header 0x${nh.toString(16)} truncated`, at);
    const hlen = nh === 44 ? 8 : (b[p.off + at + 1]! + 1) * 8;
    if (hlen > p.len - at) return new WireError('ipv6', 'hdr_ext_len', `header length ${hlen} exceeds ${p.len - at} bytes left`, at + 1);
    chain.headers.push({ type: nh, offset: at, length: hlen });
    if (nh === 0 || nh === 60) {
      // Option TLVs must stay inside their header whatever their type (RFC 8200 §4.2); only the
      // action bits of unknown options are policy.
      for (let i = at + 2; i < at + hlen; ) {
        if (b[p.off + i] === 0) {
          i++;
          continue;
        }
        if (i + 2 > at + hlen || i + 2 + b[p.off + i + 1]! > at + hlen) {
          return new WireError('ipv6', 'option', `option 0x${b[p.off + i]!.toString(16)} overruns its header`, i + 1);
        }
        i += 2 + b[p.off + i + 1]!;
      }
    } else if (nh === 44) {
      const w = readU16(b, p.off + at + 2);
      chain.fragment = { nextHeader: b[p.off + at]!, fragOffset: w & 0xfff8, moreFrags: (w & 1) !== 0, ident: readU32(b, p.off + at + 4) };
      chain.fragmentOffset = at;
      if (chain.fragment.fragOffset !== 0) {
        chain.upperProtocol = chain.fragment.nextHeader;
        chain.upperOffset = at + 8;
        return chain;
      }
    }
    nh = b[p.off + at]!;
    at += hlen;
  }
  chain.upperProtocol = nh;
  chain.upperOffset = at;
  return chain;
}

/** The network-layer addresses a transport checksum's pseudo-header covers. */
interface Net {
  readonly v6: boolean;
  readonly src4: number;
  readonly dst4: number;
  readonly src6: Ipv6Address | null;
  readonly dst6: Ipv6Address | null;
}

function pseudo(net: Net, proto: number, len: number): number {
  return net.v6 ? pseudoHeaderSumV6(net.src6!, net.dst6!, proto, len) : pseudoHeaderSumV4(net.src4, net.dst4, proto, len);
}

function decodeTransport(ctx: Ctx, proto: number, off: number, len: number, firstFragment: boolean, net: Net): void {
  const v6 = net.v6;
  switch (proto) {
    case IpProtocol.TCP:
      return decodeTcp(ctx, off, len, firstFragment, net);
    case IpProtocol.UDP:
      return decodeUdp(ctx, off, len, firstFragment, net);
    case IpProtocol.ICMP:
      // Protocol 1 names ICMPv4 over IPv6 too (nonsensical, but what the bytes say; tshark shows it).
      return decodeIcmpv4(ctx, off, len, firstFragment);
    case IpProtocol.ICMPV6:
      if (v6) return decodeIcmpv6(ctx, off, len, firstFragment, net);
      break;
    case IpProtocol.IGMP:
      return decodeIgmp(ctx, off, len, firstFragment);
    case IpProtocol.IPV6_NONXT:
      if (v6) return;
      break;
    default:
      break;
  }
  ctx.d.undecoded = `ip protocol ${proto}`;
}

// A checksum covering `[off, off+len)` can be verified only when every byte was captured and the
// message is not split across fragments.
function verifiable(ctx: Ctx, off: number, len: number, firstFragment: boolean): boolean {
  return ctx.cs !== null && !firstFragment && off + len <= ctx.cap;
}

const TCP_FLAG_CHARS: [number, string][] = [[0x01, 'F'], [0x02, 'S'], [0x04, 'R'], [0x08, 'P'], [0x10, '.'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W'], [0x100, 'e']];

/** tcpdump's flag notation (print-tcp.c order): FIN SYN RST PSH ACK URG ECE CWR AE; `none` when clear. */
export function tcpFlagsText(flags: number): string {
  let s = '';
  for (const [bit, c] of TCP_FLAG_CHARS) if (flags & bit) s += c;
  return s === '' ? 'none' : s;
}

function decodeTcp(ctx: Ctx, off: number, len: number, firstFragment: boolean, net: Net): void {
  const { d, buf } = ctx;
  const p = TcpPacket.check(buf, off, len);
  const hl = len >= 13 ? (buf[off + 12]! >>> 4) << 2 : 20;
  if (p instanceof WireError) return fail(ctx, p, off, 'tcp', off + Math.max(20, hl));
  if (cut(ctx, off + p.headerLen, 'tcp')) return;
  const info: TcpInfo = {
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    seq: p.seqNumber,
    ack: p.ackNumber,
    flags: p.flags,
    flagsText: tcpFlagsText(p.flags),
    headerLength: p.headerLen,
    window: p.window,
    urgentPointer: p.urgentPointer,
    payloadLength: p.payloadLength,
    checksum: p.checksum,
    options: { sackPermitted: false, list: [] },
  };
  d.tcp = info;
  d.layers.push('tcp');
  d.checksums.tcp = verifiable(ctx, off, len, firstFragment) ? p.verifyChecksum(ctx.cs!, pseudo(net, IpProtocol.TCP, len)) : null;
  const walk = tcpOptionList(buf, off + 20, p.headerLen - 20);
  info.options.list = walk.list;
  const r = TcpRepr.parse(p);
  if (r instanceof WireError) {
    d.error = { proto: r.proto, field: r.field, reason: r.reason, offset: r.offset >= 0 ? off + r.offset : -1 };
    return;
  }
  const o = r.options;
  const opts = info.options;
  if (o.mss !== undefined) opts.mss = o.mss;
  if (o.windowScale !== undefined) opts.wscale = o.windowScale;
  opts.sackPermitted = o.sackPermitted === true;
  if (o.sackBlocks) opts.sack = o.sackBlocks.map(([a, b]) => [a, b]);
  if (o.timestamps) opts.ts = { val: o.timestamps.tsVal, ecr: o.timestamps.tsEcr };
  // The codec ignores a known option with an impossible length (a host keeps the segment); for a
  // decoder the header is malformed, as it is when bytes after End of Option List are not zero
  // (RFC 9293 §3.1: the padding is composed of zeros).
  const bad = o.malformed?.[0];
  if (bad !== undefined) {
    d.error = { proto: 'tcp', field: 'option_length', reason: `option kind ${bad.kind} with length ${bad.length}`, offset: off + bad.offset };
  } else if (walk.padding >= 0) {
    d.error = { proto: 'tcp', field: 'padding', reason: 'non-zero bytes after End of Option List', offset: walk.padding };
  }
}

// Lists the options in order, tcpdump-style, and finds the first non-zero padding byte after EOL
// (-1 if none). Self-bounded (it does not rely on the codec's walk): each step advances at least one
// byte, and a length byte that is missing, below 2 or past the area ends the list with `[bad opt ...]`.
function tcpOptionList(b: Uint8Array, off: number, len: number): { list: string[]; padding: number } {
  const out: string[] = [];
  const end = off + len;
  let i = off;
  let padding = -1;
  while (i < end) {
    const kind = b[i]!;
    if (kind === 0) {
      out.push('eol');
      for (let k = i + 1; k < end && padding < 0; k++) if (b[k] !== 0) padding = k;
      break;
    }
    if (kind === 1) {
      out.push('nop');
      i++;
      continue;
    }
    if (i + 1 >= end) {
      out.push(`[bad opt kind ${kind}: no length]`);
      break;
    }
    const ol = b[i + 1]!;
    if (ol < 2 || ol > end - i) {
      out.push(`[bad opt kind ${kind} len ${ol}]`);
      break;
    }
    const v = i + 2;
    if (kind === 2 && ol === 4) out.push(`mss ${readU16(b, v)}`);
    else if (kind === 3 && ol === 3) out.push(`wscale ${b[v]}`);
    else if (kind === 4 && ol === 2) out.push('sackOK');
    else if (kind === 8 && ol === 10) out.push(`TS val ${readU32(b, v)} ecr ${readU32(b, v + 4)}`);
    else if (kind === 5 && ol >= 10 && (ol - 2) % 8 === 0) {
      let s = `sack ${(ol - 2) / 8}`;
      for (let k = v; k < i + ol; k += 8) s += ` {${readU32(b, k)}:${readU32(b, k + 4)}}`;
      out.push(s);
    } else if (kind === 2 || kind === 3 || kind === 4 || kind === 5 || kind === 8) out.push(`[bad opt kind ${kind} len ${ol}]`);
    else out.push(`unknown-${kind}${ol > 2 ? ` 0x${hexRange(b, v, i + ol)}` : ''}`);
    i += ol;
  }
  return { list: out, padding };
}

function hexRange(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

function decodeUdp(ctx: Ctx, off: number, len: number, firstFragment: boolean, net: Net): void {
  const { d, buf } = ctx;
  if (firstFragment) {
    // The length field counts the whole datagram, which only reassembly sees: read the header only.
    if (len < 8) return fail(ctx, new WireError('udp', 'header', `truncated: ${len} < 8 bytes`, 0), off, 'udp', off + 8);
    if (cut(ctx, off + 8, 'udp')) return;
    const length = readU16(buf, off + 4);
    if (length < 8) return fail(ctx, new WireError('udp', 'length', `${length} < 8`, 4), off, 'udp', off + 8);
    d.udp = { srcPort: readU16(buf, off), dstPort: readU16(buf, off + 2), length, payloadLength: Math.max(0, length - 8), checksum: readU16(buf, off + 6) };
    d.layers.push('udp');
    d.checksums.udp = null;
    return;
  }
  const p = UdpPacket.check(buf, off, len);
  if (p instanceof WireError) return fail(ctx, p, off, 'udp', off + 8);
  if (cut(ctx, off + 8, 'udp')) return;
  d.udp = { srcPort: p.srcPort, dstPort: p.dstPort, length: p.length, payloadLength: p.payloadLength, checksum: p.checksum };
  d.layers.push('udp');
  // RFC 768: a zero checksum over IPv4 means "none" (nothing to verify); RFC 8200 §8.1 forbids it over IPv6.
  // Verified only when the whole IP payload was captured (as tshark does), even if the UDP length
  // field claims less: a datagram shorter than its IP payload is suspect enough not to vouch for.
  if (p.checksum === 0 && !net.v6) d.checksums.udp = null;
  else d.checksums.udp = verifiable(ctx, off, len, false) ? p.verifyChecksum(ctx.cs!, pseudo(net, IpProtocol.UDP, p.len), false) : null;
}

const ICMPV4_NAMES: Record<number, string> = {
  0: 'echo reply', 3: 'destination unreachable', 4: 'source quench', 5: 'redirect', 8: 'echo request',
  9: 'router advertisement', 10: 'router solicitation', 11: 'time exceeded', 12: 'parameter problem',
  13: 'time stamp request', 14: 'time stamp reply', 15: 'information request', 16: 'information reply',
  17: 'address mask request', 18: 'address mask reply',
};

const ICMPV6_NAMES: Record<number, string> = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 4: 'parameter problem', 128: 'echo request',
  129: 'echo reply', 130: 'multicast listener query', 131: 'multicast listener report',
  132: 'multicast listener done', 133: 'router solicitation', 134: 'router advertisement',
  135: 'neighbor solicitation', 136: 'neighbor advertisement', 137: 'redirect', 138: 'router renumbering',
  139: 'node information query', 140: 'node information reply', 141: 'inverse neighbor solicitation',
  142: 'inverse neighbor advertisement', 143: 'multicast listener report v2',
};

/** tcpdump-style name of an ICMPv4 type (`icmp-type-N` when unassigned). */
export function icmpv4TypeName(type: number): string {
  return ICMPV4_NAMES[type] ?? `icmp-type-${type}`;
}

/** tcpdump-style name of an ICMPv6 type, NDP and MLD included. */
export function icmpv6TypeName(type: number): string {
  return ICMPV6_NAMES[type] ?? `icmp6-type-${type}`;
}

function quotedV4(q: Icmpv4Quoted): QuotedInfo {
  const r: QuotedInfo = { src: formatIpv4(q.src), dst: formatIpv4(q.dst), protocol: q.protocol };
  if (q.fragmentOffset === 0 && (q.protocol === IpProtocol.TCP || q.protocol === IpProtocol.UDP)) {
    r.srcPort = q.srcPort;
    r.dstPort = q.dstPort;
  }
  return r;
}

function quotedV6(q: Icmpv6Quoted): QuotedInfo {
  const r: QuotedInfo = { src: formatIpv6(q.src), dst: formatIpv6(q.dst), protocol: q.upperProtocol >= 0 ? q.upperProtocol : q.nextHeader };
  if ((q.upperProtocol === IpProtocol.TCP || q.upperProtocol === IpProtocol.UDP) && q.srcPort >= 0) {
    r.srcPort = q.srcPort;
    r.dstPort = q.dstPort;
  }
  return r;
}

function decodeIcmpv4(ctx: Ctx, off: number, len: number, firstFragment: boolean): void {
  const { d, buf } = ctx;
  const p = Icmpv4Packet.check(buf, off, len);
  if (p instanceof WireError) return fail(ctx, p, off, 'icmpv4', off + 8);
  if (cut(ctx, off + 8, 'icmpv4')) return;
  const t = p.type;
  const info: IcmpInfo = { type: t, code: p.code, name: icmpv4TypeName(t), checksum: p.checksum, length: len };
  if (t === 0 || t === 8 || t === 13 || t === 14 || t === 15 || t === 16 || t === 17 || t === 18) info.echo = { id: p.echoIdent, seq: p.echoSeq };
  else if (t === 3 && p.code === 4) info.mtu = p.nextHopMtu;
  else if (t === 12) info.pointer = p.pointer;
  else if (t === 5) info.gateway = formatIpv4(p.gateway);
  if (p.isError) {
    // Only the quoted bytes actually captured are read; a quote cut by the snaplen is just absent.
    const qlen = Math.min(len, ctx.cap - off) - 8;
    const q = qlen > 0 ? Icmpv4Quoted.check(buf, off + 8, qlen) : null;
    if (q !== null && !(q instanceof WireError)) info.quoted = quotedV4(q);
  }
  d.icmpv4 = info;
  d.layers.push('icmpv4');
  d.checksums.icmpv4 = verifiable(ctx, off, len, firstFragment) ? p.verifyChecksum(ctx.cs!) : null;
}

function decodeIcmpv6(ctx: Ctx, off: number, len: number, firstFragment: boolean, net: Net): void {
  const { d, buf } = ctx;
  const p = Icmpv6Packet.check(buf, off, len);
  if (p instanceof WireError) return fail(ctx, p, off, 'icmpv6', off + 4);
  if (cut(ctx, off + Math.min(len, 8), 'icmpv6')) return;
  const t = p.type;
  const info: IcmpInfo = { type: t, code: p.code, name: icmpv6TypeName(t), checksum: p.checksum, length: len };
  d.icmpv6 = info;
  d.layers.push('icmpv6');
  d.checksums.icmpv6 = verifiable(ctx, off, len, firstFragment) ? p.verifyChecksum(ctx.cs!, pseudo(net, IpProtocol.ICMPV6, len)) : null;
  if (t === 128 || t === 129) info.echo = { id: p.echoIdent, seq: p.echoSeq };
  else if (t === 2) info.mtu = p.mtu;
  else if (t === 4) info.pointer = p.pointer;
  if (p.isError) {
    const qlen = Math.min(len, ctx.cap - off) - 8;
    const q = qlen > 0 ? Icmpv6Quoted.check(buf, off + 8, qlen) : null;
    if (q !== null && !(q instanceof WireError)) info.quoted = quotedV6(q);
  } else if (t >= 133 && t <= 137) {
    // The fixed part is read first (when present and captured), so a snaplen cut or a bad option
    // still shows the target and flags: NdpPacket.check validates options and fixed part together.
    const fixed = ndpFixedLen(t);
    const ndp: NonNullable<IcmpInfo['ndp']> = {};
    if (len >= fixed) {
      if (fixed >= 24 && off + 24 <= ctx.cap) ndp.target = formatIpv6(readIpv6(buf, off + 8));
      if (fixed >= 40 && off + 40 <= ctx.cap) ndp.destination = formatIpv6(readIpv6(buf, off + 24));
      if (t === 136 && off + 5 <= ctx.cap) {
        ndp.router = (buf[off + 4]! & NdpNaFlags.ROUTER) !== 0;
        ndp.solicited = (buf[off + 4]! & NdpNaFlags.SOLICITED) !== 0;
        ndp.override = (buf[off + 4]! & NdpNaFlags.OVERRIDE) !== 0;
      }
      info.ndp = ndp;
    }
    const n = NdpPacket.check(buf, off, len);
    if (n instanceof WireError) return fail(ctx, n, off, 'ndp', off + 8);
    if (cut(ctx, off + n.fixedLen, 'ndp')) return;
    const o = n.options();
    // The codec ignores a known option with a wrong length or value; a decoder reports a fixed-size
    // option of the wrong size (prefix information 32, MTU 8 bytes) or an RDNSS option that is not
    // 8 + 16n bytes as malformed. Link-layer address sizes depend on the link, so they are not judged.
    const bad = o.malformed.find((m) => (m.type === 3 && m.length !== 32) || (m.type === 5 && m.length !== 8) || (m.type === 25 && (m.length < 24 || m.length % 16 !== 8)));
    if (bad !== undefined) d.error = { proto: 'ndp', field: 'option_length', reason: `option ${bad.type} of ${bad.length} bytes`, offset: off + bad.offset };
    if (o.sourceLinkAddr !== undefined) ndp.sourceLinkAddr = macText(o.sourceLinkAddr);
    if (o.targetLinkAddr !== undefined) ndp.targetLinkAddr = macText(o.targetLinkAddr);
    if (o.prefixes.length > 0) ndp.prefixes = o.prefixes.map((x) => `${formatIpv6(x.prefix)}/${x.prefixLength}`);
    if (o.mtu !== undefined) ndp.mtu = o.mtu;
    // check() validated every option length, so this walk is bounded and in range.
    const types: number[] = [];
    for (let q = off + n.fixedLen; q + 1 < off + len && buf[q + 1]! > 0; q += buf[q + 1]! * 8) types.push(buf[q]!);
    ndp.options = types;
  } else if (t === MldType.QUERY || t === MldType.V1_REPORT || t === MldType.V1_DONE || t === MldType.V2_REPORT) {
    // As for NDP: the fixed fields first, then the checked body (records and sources).
    const v2 = t === MldType.V2_REPORT || (t === MldType.QUERY && len >= 28);
    const fixed = t === MldType.V2_REPORT ? 8 : 24;
    if (len >= fixed && off + fixed <= ctx.cap) {
      info.mld = { version: v2 ? 2 : 1 };
      if (t === MldType.V2_REPORT) info.mld.records = readU16(buf, off + 6);
      else info.mld.multicastAddress = formatIpv6(readIpv6(buf, off + 8));
    }
    const m = MldPacket.check(buf, off, len);
    if (m instanceof WireError) return fail(ctx, m, off, 'mld', off + 8);
    if (cut(ctx, off + (m.version === 1 ? 24 : t === MldType.QUERY ? 28 : 8), 'mld')) return;
    info.mld = { version: m.version };
    if (t !== MldType.V2_REPORT) info.mld.multicastAddress = formatIpv6(m.multicastAddress);
    if (t === MldType.V2_REPORT) info.mld.records = m.numberOfRecords;
    if (t === MldType.QUERY && m.version === 2) info.mld.sources = m.numberOfSources;
  }
}

const IGMP_NAMES: Record<number, string> = {
  [IgmpType.MEMBERSHIP_QUERY]: 'query',
  [IgmpType.V1_MEMBERSHIP_REPORT]: 'v1 report',
  [IgmpType.V2_MEMBERSHIP_REPORT]: 'v2 report',
  [IgmpType.LEAVE_GROUP]: 'leave',
  [IgmpType.V3_MEMBERSHIP_REPORT]: 'v3 report',
};

function decodeIgmp(ctx: Ctx, off: number, len: number, firstFragment: boolean): void {
  const { d, buf } = ctx;
  const p = IgmpPacket.check(buf, off, len);
  if (p instanceof WireError) return fail(ctx, p, off, 'igmp', off + 8);
  if (cut(ctx, off + 8, 'igmp')) return;
  const t = p.type;
  const info: IgmpInfo = {
    type: t,
    version: p.version,
    name: IGMP_NAMES[t] ?? `igmp-type-0x${t.toString(16)}`,
    maxRespCode: p.maxRespCode,
    group: formatIpv4(t === IgmpType.V3_MEMBERSHIP_REPORT ? 0 : readIpv4(buf, off + 4)),
    checksum: p.checksum,
    length: len,
  };
  if (t === IgmpType.V3_MEMBERSHIP_REPORT) info.records = p.numberOfRecords;
  if (t === IgmpType.MEMBERSHIP_QUERY && p.version === 3) info.sources = p.numberOfSources;
  d.igmp = info;
  d.layers.push('igmp');
  d.checksums.igmp = verifiable(ctx, off, len, firstFragment) ? p.verifyChecksum(ctx.cs!) : null;
}
