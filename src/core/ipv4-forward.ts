// IPv4 forwarding between interfaces (router mode, RFC 1812). The IPv4 module hands this module every
// checked datagram that is not for the host when its `forwarding` option is on (setForwardHook); source-
// routed datagrams were already dropped there (H07). Here:
//  - not forwarded: datagrams received as link-layer broadcast/multicast (§5.3.4), martian sources and
//    destinations (0/8, 127/8, 240/4, limited broadcast, our own addresses as source; §5.3.7),
//    link-local 169.254/16 sources or destinations (RFC 3927 §7), directed broadcasts (RFC 2644);
//  - TTL 0 or 1 on arrival: ICMP Time Exceeded (§5.3.1); otherwise TTL - 1 with the header checksum
//    updated incrementally (RFC 1624 eqn. 3);
//  - larger than the egress MTU: fragmented (RFC 791 §3.2: only options with the copy flag repeat in
//    later fragments), or with DF set, ICMP Fragmentation Needed carrying the next-hop MTU (RFC 1191);
//  - no route: ICMP Destination Unreachable (net).
// ICMP errors go through the 'icmpv4' module when installed, which rate limits them and suppresses
// them about fragments other than the first and about ICMP errors (RFC 1812 §4.3.2.7). Multicast
// routing and redirects are not implemented: multicast is never forwarded, and redirects are not sent.

import type { Instant } from '../time/instant.js';
import { IPV4_BROADCAST, type Ipv4Address, isIpv4Loopback, isIpv4Multicast } from '../wire/address.js';
import { readU16, writeU16 } from '../wire/bytes.js';
import { Icmpv4DestUnreachableCode, Icmpv4TimeExceededCode, Icmpv4Type } from '../wire/icmpv4.js';
import { IPV4_HEADER_LEN, Ipv4Field, Ipv4Packet } from '../wire/ipv4.js';
import type { Icmpv4Module } from './icmpv4.js';
import type { NetInterface } from './interface.js';
import type { Ipv4Module, Ipv4RxInfo } from './ipv4.js';
import type { LinkRxInfo, StackModule } from './module.js';
import type { StackContext } from './stack.js';

/** Stats layer of this module. */
export const IPV4_FORWARD_LAYER = 'ipv4-forward';

export interface Ipv4ForwardOptions {
  /** Answer datagrams without a route with ICMP Destination Unreachable (RFC 1812 §5.2.7.1). */
  readonly sendUnreachables: boolean;
}

export const DEFAULT_IPV4_FORWARD_OPTIONS: Ipv4ForwardOptions = { sendUnreachables: true };

/**
 * RFC 1624 eqn. 3: the header checksum after one 16-bit word changed from `oldWord` to `newWord`,
 * without summing the header again: HC' = ~(~HC + ~m + m').
 */
export function ipv4ChecksumAdjust(checksum: number, oldWord: number, newWord: number): number {
  let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** RFC 1812 §5.3.7 / RFC 6890: addresses that never appear on the path between networks. */
function isMartian(a: Ipv4Address): boolean {
  const top = a >>> 24;
  return top === 0 || isIpv4Loopback(a) || top >= 240 || isIpv4Multicast(a);
}

function isLinkLocal(a: Ipv4Address): boolean {
  return a >>> 16 === 0xa9fe;
}

export class Ipv4ForwardModule implements StackModule {
  readonly name = 'ipv4-forward';
  readonly options: Ipv4ForwardOptions;
  private ctx!: StackContext;
  private ip!: Ipv4Module;

  constructor(options: Partial<Ipv4ForwardOptions> = {}) {
    this.options = { ...DEFAULT_IPV4_FORWARD_OPTIONS, ...options };
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv4Module>('ipv4');
    if (!ip) throw new Error("the 'ipv4-forward' module needs the 'ipv4' module");
    if (!ip.options.forwarding) throw new Error("the 'ipv4-forward' module needs the 'ipv4' module's forwarding option on");
    this.ip = ip;
    ip.setForwardHook((p, iface, link, now) => this.forward(p, iface, link, now));
  }

  private icmp(): Icmpv4Module | undefined {
    return this.ctx.module<Icmpv4Module>('icmpv4');
  }

  private drop(reason: string): void {
    this.ctx.stats.drop(IPV4_FORWARD_LAYER, reason);
  }

  private forward(p: Ipv4Packet, inIface: NetInterface, link: LinkRxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    stats.count(IPV4_FORWARD_LAYER, 'rx');
    const src = p.src;
    const dst = p.dst;
    if (link.linkMulticast) return this.drop('link_broadcast');
    if (isMartian(dst) || dst === IPV4_BROADCAST) return this.drop('martian_destination');
    if (isMartian(src) || src === IPV4_BROADCAST || this.ip.isLocal(src)) return this.drop('martian_source');
    if (isLinkLocal(src) || isLinkLocal(dst)) return this.drop('link_local');
    const info: Ipv4RxInfo = { iface: inIface, src, dst, ttl: p.ttl, broadcastOrMulticast: false, packet: p.buf, packetOffset: p.off, headerLen: p.headerLen };
    if (p.ttl <= 1) {
      this.drop('ttl_exceeded');
      return this.icmp()?.sendError(Icmpv4Type.TIME_EXCEEDED, Icmpv4TimeExceededCode.TTL, 0, info, now);
    }
    const route = this.ctx.routes4.lookup(dst);
    const out = route ? this.ctx.interfaces[route.ifIndex - 1] : undefined;
    if (!route || !out) {
      this.drop('no_route');
      if (this.options.sendUnreachables) this.icmp()?.sendError(Icmpv4Type.DEST_UNREACHABLE, Icmpv4DestUnreachableCode.NET, 0, info, now);
      return;
    }
    if (!out.up) {
      this.drop('interface_down');
      if (this.options.sendUnreachables) this.icmp()?.sendError(Icmpv4Type.DEST_UNREACHABLE, Icmpv4DestUnreachableCode.HOST, 0, info, now);
      return;
    }
    if (this.ip.isBroadcastOn(out, dst)) return this.drop('directed_broadcast');
    const nextHop = route.gateway ?? dst;
    if (out === inIface) stats.count(IPV4_FORWARD_LAYER, 'same_interface');
    if (p.len <= out.mtu) return this.forwardWhole(p, out, nextHop, now);
    if (p.dontFrag) {
      this.drop('fragmentation_needed');
      return this.icmp()?.sendError(Icmpv4Type.DEST_UNREACHABLE, Icmpv4DestUnreachableCode.FRAGMENTATION_NEEDED, out.mtu, info, now);
    }
    this.fragment(p, out, nextHop, now);
  }

  private forwardWhole(p: Ipv4Packet, out: NetInterface, nextHop: Ipv4Address, now: Instant): void {
    const tx = this.ctx.allocTx(p.len);
    if (!tx) return this.drop('no_buffers');
    const o = tx.l3Offset;
    tx.buf.set(p.buf.subarray(p.off, p.off + p.len), o);
    // TTL shares a 16-bit word with the protocol: patch the checksum for that word only.
    const oldWord = readU16(tx.buf, o + Ipv4Field.TTL);
    tx.buf[o + Ipv4Field.TTL] = p.ttl - 1;
    const cs = ipv4ChecksumAdjust(readU16(tx.buf, o + Ipv4Field.CHECKSUM), oldWord, readU16(tx.buf, o + Ipv4Field.TTL));
    writeU16(tx.buf, o + Ipv4Field.CHECKSUM, cs);
    this.ctx.stats.count(IPV4_FORWARD_LAYER, 'forwarded');
    this.ip.transmitDatagram(out, nextHop, p.dst, tx, p.len, now);
  }

  /**
   * RFC 791 §3.2: splits the payload into pieces of a multiple of 8 bytes that fit the egress MTU.
   * The first piece keeps every option; later ones only those with the copy flag. A datagram that is
   * itself a fragment keeps its offset base, and its MF flag on the last piece.
   */
  private fragment(p: Ipv4Packet, out: NetInterface, nextHop: Ipv4Address, now: Instant): void {
    const hlen = p.headerLen;
    const copied = copiedOptions(p.buf, p.off, hlen);
    const laterHlen = IPV4_HEADER_LEN + copied.length;
    const payloadLen = p.payloadLength;
    const base = p.fragOffset;
    let pos = 0;
    let pieces = 0;
    while (pos < payloadLen) {
      const h = pos === 0 ? hlen : laterHlen;
      const n = Math.min((out.mtu - h) & ~7, payloadLen - pos);
      const last = pos + n >= payloadLen;
      const tx = this.ctx.allocTx(h + n);
      if (!tx) return this.drop('no_buffers');
      const b = tx.buf;
      const o = tx.l3Offset;
      b.set(p.buf.subarray(p.off, p.off + IPV4_HEADER_LEN), o);
      if (pos === 0) b.set(p.buf.subarray(p.off + IPV4_HEADER_LEN, p.off + hlen), o + IPV4_HEADER_LEN);
      else b.set(copied, o + IPV4_HEADER_LEN);
      b[o] = 0x40 | (h >>> 2);
      writeU16(b, o + Ipv4Field.TOTAL_LENGTH, h + n);
      writeU16(b, o + Ipv4Field.FLAGS_FRAG, (!last || p.moreFrags ? 0x2000 : 0) | ((base + pos) >>> 3));
      b[o + Ipv4Field.TTL] = p.ttl - 1;
      b.set(p.buf.subarray(p.payloadOffset + pos, p.payloadOffset + pos + n), o + h);
      Ipv4Packet.unchecked(b, o, h + n).fillChecksum(this.ctx.checksum);
      this.ip.transmitDatagram(out, nextHop, p.dst, tx, h + n, now);
      pos += n;
      pieces++;
    }
    this.ctx.stats.count(IPV4_FORWARD_LAYER, 'forwarded');
    this.ctx.stats.count(IPV4_FORWARD_LAYER, 'fragments_created', pieces);
  }
}

/** Options with the copy flag (RFC 791 §3.1: type bit 0x80), padded to a multiple of 4 with EOL. */
function copiedOptions(buf: Uint8Array, off: number, hlen: number): Uint8Array {
  const keep: number[] = [];
  let i = IPV4_HEADER_LEN;
  // The options were validated by the IPv4 input (every option fits and has length >= 2).
  while (i < hlen) {
    const type = buf[off + i]!;
    if (type === 0) break;
    if (type === 1) {
      i++;
      continue;
    }
    const len = buf[off + i + 1]!;
    if ((type & 0x80) !== 0) for (let k = 0; k < len; k++) keep.push(buf[off + i + k]!);
    i += len;
  }
  while (keep.length % 4 !== 0) keep.push(0);
  return Uint8Array.from(keep);
}
