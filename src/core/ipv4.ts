// IPv4 (RFC 791, RFC 1122 §3.2): input validation and local delivery, output with routing, source
// address selection, ARP resolution and fragmentation to the interface MTU, and local loopback of
// packets addressed to ourselves. Upper layers register per-protocol handlers.
// Validation on input (SECURITY-CASES H04–H07, H15): header checked by the codec (IHL, total length
// against the frame, trimming Ethernet padding; options walked safely), header checksum, martian
// sources dropped, source-routed packets dropped and never reflected. Fragments go to the
// reassembly hook when one is installed, else they are dropped and counted.

import { Duration, Instant } from '../time/instant.js';
import {
  IPV4_BROADCAST,
  type Ipv4Address,
  type MacAddress,
  MAC_BROADCAST,
  ipv4MulticastMac,
  isIpv4Loopback,
  isIpv4Multicast,
} from '../wire/address.js';
import { EtherType } from '../wire/ethertype.js';
import { isWireError } from '../wire/error.js';
import { IPV4_HEADER_LEN, Ipv4Packet, Ipv4Repr, parseIpv4Options } from '../wire/ipv4.js';
import type { ArpModule } from './arp.js';
import { ipv4SubnetBroadcast } from './cidr.js';
import type { NetInterface } from './interface.js';
import type { LinkRxInfo, StackModule } from './module.js';
import type { StackContext, TxBuffer } from './stack.js';

/** What a protocol handler learns about a delivered datagram besides its bytes. */
export interface Ipv4RxInfo {
  readonly iface: NetInterface;
  readonly src: Ipv4Address;
  readonly dst: Ipv4Address;
  readonly ttl: number;
  /** Sent to a broadcast or multicast address (IP or link layer): never answer with an ICMP error. */
  readonly broadcastOrMulticast: boolean;
  /** The whole IPv4 header+payload (for ICMP errors quoting it). */
  readonly packet: Uint8Array;
  readonly packetOffset: number;
  readonly headerLen: number;
}

/** Receives the payload `buf[off, off+len)` of a datagram for one IP protocol number. */
export type Ipv4ProtocolHandler = (buf: Uint8Array, off: number, len: number, info: Ipv4RxInfo, now: Instant) => void;

/** Gets every received fragment; calls `deliver` with the reassembled datagram when complete. */
export type Ipv4FragmentHook = (
  p: Ipv4Packet,
  info: Omit<Ipv4RxInfo, 'packet' | 'packetOffset' | 'headerLen'>,
  now: Instant,
  deliver: (datagram: Uint8Array) => void,
) => void;

/**
 * Gets every checked datagram that is not for this host when forwarding is on. `p` views the
 * received frame, lent for the duration of the call only.
 */
export type Ipv4ForwardHook = (p: Ipv4Packet, iface: NetInterface, link: LinkRxInfo, now: Instant) => void;

export interface Ipv4SendParams {
  readonly dst: Ipv4Address;
  readonly protocol: number;
  /** Source address; chosen from the outgoing interface when absent. */
  readonly src?: Ipv4Address;
  readonly ttl?: number;
  readonly dscp?: number;
  readonly ecn?: number;
  readonly dontFrag?: boolean;
  /** Force the outgoing interface (broadcast on a given link, DHCP). */
  readonly iface?: NetInterface;
}

/** Writes the payload at buf[off]; src/dst are the final addresses (for transport pseudo-header checksums). */
export type Ipv4Fill = (buf: Uint8Array, off: number, src: Ipv4Address, dst: Ipv4Address) => void;

/** Notified of IPv4 multicast membership changes on an interface (an IGMP module sends reports). */
export interface Ipv4GroupObserver {
  groupJoined?(iface: NetInterface, group: Ipv4Address, now: Instant): void;
  groupLeft?(iface: NetInterface, group: Ipv4Address, now: Instant): void;
}

export type Ipv4SendError = 'EHOSTUNREACH' | 'ENETUNREACH' | 'ENOBUFS' | 'EMSGSIZE' | 'EADDRNOTAVAIL';

export interface Ipv4Options {
  readonly defaultTtl: number;
  /** Forward datagrams not addressed to us between interfaces (router mode). */
  readonly forwarding: boolean;
  /** Loopback packets queued per poll (bounds the work one poll can do). */
  readonly loopbackQueue: number;
  /** Multicast groups joined per interface (joins come from local sockets; capped all the same). */
  readonly maxGroupsPerInterface: number;
}

export const DEFAULT_IPV4_OPTIONS: Ipv4Options = { defaultTtl: 64, forwarding: false, loopbackQueue: 256, maxGroupsPerInterface: 64 };

/** 224.0.0.1: every host is a member on every interface (RFC 1112 §4), without joining. */
export const IPV4_ALL_HOSTS: Ipv4Address = 0xe000_0001;

export class Ipv4Module implements StackModule {
  readonly name = 'ipv4';
  readonly options: Ipv4Options;
  private ctx!: StackContext;
  private readonly handlers = new Map<number, Ipv4ProtocolHandler>();
  private fragmentHook: Ipv4FragmentHook | undefined;
  private forwardHook: Ipv4ForwardHook | undefined;
  private nextIdent = 0;
  /** Datagrams we sent to our own addresses, delivered on the next poll (never recursively). */
  private readonly loopback: Array<{ iface: NetInterface; datagram: Uint8Array }> = [];

  constructor(options: Partial<Ipv4Options> = {}) {
    this.options = { ...DEFAULT_IPV4_OPTIONS, ...options };
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    this.nextIdent = ctx.random.below(0x10000);
    ctx.registerEthertype(EtherType.IPV4, (iface, frame, off, len, now, link) => this.input(iface, frame, off, len, now, link));
  }

  interfaceAdded(iface: NetInterface): void {
    for (const a of iface.ipv4) {
      this.ctx.routes4.add({ network: a.address, prefixLen: a.prefixLen, ifIndex: iface.index, metric: 0, origin: 'connected' });
    }
  }

  registerProtocol(protocol: number, handler: Ipv4ProtocolHandler): void {
    if (this.handlers.has(protocol)) throw new Error(`IPv4 protocol ${protocol} already registered`);
    this.handlers.set(protocol, handler);
  }

  setFragmentHook(hook: Ipv4FragmentHook): void {
    this.fragmentHook = hook;
  }

  /** Installs the router's forwarding path; used only when options.forwarding is set. */
  setForwardHook(hook: Ipv4ForwardHook): void {
    this.forwardHook = hook;
  }

  private arp(): ArpModule | undefined {
    return this.ctx.module<ArpModule>('arp');
  }

  /** Whether `a` is one of our addresses (on any interface: the weak host model, RFC 1122 §3.3.4.2). */
  isLocal(a: Ipv4Address): boolean {
    for (const i of this.ctx.interfaces) if (i.hasIpv4(a)) return true;
    return false;
  }

  /** Whether `a` is the limited broadcast or a directed broadcast of one of `iface`'s subnets. */
  isBroadcastOn(iface: NetInterface, a: Ipv4Address): boolean {
    if (a === IPV4_BROADCAST) return true;
    for (const c of iface.ipv4) if (c.prefixLen < 31 && ipv4SubnetBroadcast(c.address, c.prefixLen) === a) return true;
    return false;
  }

  private input(iface: NetInterface, frame: Uint8Array, off: number, len: number, now: Instant, link: LinkRxInfo): void {
    const stats = this.ctx.stats;
    stats.count('ipv4', 'rx');
    const p = Ipv4Packet.check(frame, off, len);
    if (isWireError(p)) return stats.drop('ipv4', `malformed_${p.field}`);
    if (!p.verifyChecksum(this.ctx.checksum)) return stats.drop('ipv4', 'bad_checksum');
    const src = p.src;
    const dst = p.dst;
    // Martian sources (RFC 1122 §3.2.1.3, H15). 0.0.0.0 is allowed only as a DHCP client source.
    if (isIpv4Multicast(src) || src === IPV4_BROADCAST || this.isBroadcastOn(iface, src)) return stats.drop('ipv4', 'martian_source');
    if (isIpv4Loopback(src) !== isIpv4Loopback(dst)) return stats.drop('ipv4', 'martian_source');
    if (p.headerLen > IPV4_HEADER_LEN) {
      const opts = parseIpv4Options(frame, off, p.headerLen);
      if (isWireError(opts)) return stats.drop('ipv4', 'bad_options');
      if (opts.sourceRoute) return stats.drop('ipv4', 'source_route');
    }
    const bcast = this.isBroadcastOn(iface, dst);
    const mcast = isIpv4Multicast(dst);
    if (!bcast && !mcast && !this.isLocal(dst)) {
      // Not ours: a router hands it to the forwarding hook (the 'ipv4-forward' module); a host drops it.
      if (this.options.forwarding && this.forwardHook) return this.forwardHook(p, iface, link, now);
      return stats.drop('ipv4', this.options.forwarding ? 'forwarding_unimplemented' : 'not_for_us');
    }
    // Multicast is accepted only for groups joined on this interface, and 224.0.0.1 (RFC 1112 §6.2).
    if (mcast && !this.isMember(iface, dst)) return stats.drop('ipv4', 'not_member');
    if (src === 0 && p.protocol !== 17) return stats.drop('ipv4', 'martian_source');
    if (src === dst && !isIpv4Loopback(src) && !link.linkMulticast && iface.medium === 'ethernet') {
      // A packet "from ourselves" arriving from the wire is spoofed (Land attack, H15).
      if (this.isLocal(src)) return stats.drop('ipv4', 'land');
    }
    const broadcastOrMulticast = bcast || mcast || link.linkMulticast;
    if (p.isFragment) {
      if (!this.fragmentHook) return stats.drop('ipv4', 'fragment_no_reassembly');
      const info = { iface, src, dst, ttl: p.ttl, broadcastOrMulticast };
      return this.fragmentHook(p, info, now, (d) => this.deliverDatagram(iface, d, 0, d.length, info, now));
    }
    // One object of one shape per datagram on the hot path (no spread copy).
    const info: Ipv4RxInfo = { iface, src, dst, ttl: p.ttl, broadcastOrMulticast, packet: frame, packetOffset: off, headerLen: p.headerLen };
    this.deliver(p.protocol, frame, p.payloadOffset, p.payloadLength, info, now);
  }

  /** Delivers a reassembled (or looped-back) datagram that starts at `buf[off]`. */
  private deliverDatagram(iface: NetInterface, buf: Uint8Array, off: number, len: number, base: Omit<Ipv4RxInfo, 'packet' | 'packetOffset' | 'headerLen'>, now: Instant): void {
    const p = Ipv4Packet.check(buf, off, len);
    if (isWireError(p)) return this.ctx.stats.drop('ipv4', `malformed_${p.field}`);
    void iface;
    this.deliver(p.protocol, buf, p.payloadOffset, p.payloadLength, { ...base, packet: buf, packetOffset: off, headerLen: p.headerLen }, now);
  }

  private deliver(protocol: number, buf: Uint8Array, off: number, len: number, info: Ipv4RxInfo, now: Instant): void {
    const h = this.handlers.get(protocol);
    if (!h) {
      this.ctx.stats.drop('ipv4', 'unknown_protocol');
      this.unreachable?.(info, 2, now);
      return;
    }
    this.ctx.stats.count('ipv4', 'delivered');
    h(buf, off, len, info, now);
  }

  /** Set by the ICMPv4 module: sends Destination Unreachable with `code` about a received datagram. */
  unreachable: ((info: Ipv4RxInfo, code: number, now: Instant) => void) | undefined;

  /** Picks the outgoing interface, next hop and source address for `dst`. */
  route(dst: Ipv4Address, src?: Ipv4Address, forced?: NetInterface): { iface: NetInterface; nextHop: Ipv4Address; src: Ipv4Address; broadcast: boolean } | Ipv4SendError {
    let iface = forced;
    let nextHop = dst;
    if (!iface) {
      if (dst === IPV4_BROADCAST || isIpv4Multicast(dst)) {
        iface = src !== undefined ? this.ctx.interfaces.find((i) => i.hasIpv4(src)) : this.ctx.interfaces.find((i) => i.up && i.ipv4.length > 0);
      } else {
        const r = this.ctx.routes4.lookup(dst);
        if (!r) return 'ENETUNREACH';
        iface = this.ctx.interfaces[r.ifIndex - 1];
        if (r.gateway !== undefined) nextHop = r.gateway;
      }
    }
    if (!iface) return 'EHOSTUNREACH';
    let source = src;
    if (source === undefined) {
      const onLink = iface.ipv4.find((c) => c.prefixLen > 0 && ((c.address ^ nextHop) >>> (32 - c.prefixLen)) === 0);
      source = (onLink ?? iface.ipv4[0])?.address ?? 0;
    } else if (source !== 0 && !this.isLocal(source)) {
      return 'EADDRNOTAVAIL';
    }
    return { iface, nextHop, src: source, broadcast: this.isBroadcastOn(iface, dst) };
  }

  /**
   * Builds and sends a datagram whose payload (`payloadLen` bytes) is written by `fill(buf, off)`.
   * Fragments it when it exceeds the interface MTU (unless dontFrag: then EMSGSIZE).
   */
  send(params: Ipv4SendParams, payloadLen: number, fill: Ipv4Fill, now: Instant): Ipv4SendError | undefined {
    const route = this.route(params.dst, params.src, params.iface);
    if (typeof route === 'string') {
      this.ctx.stats.drop('ipv4', 'no_route');
      return route;
    }
    const { iface, nextHop, src } = route;
    const total = IPV4_HEADER_LEN + payloadLen;
    if (total > 0xffff) return 'EMSGSIZE';
    const repr = this.header(params, src, payloadLen);
    if (this.isLocal(params.dst)) {
      // To ourselves: build it and deliver it on the next poll through the loopback queue.
      if (this.loopback.length >= this.options.loopbackQueue) return 'ENOBUFS';
      const d = new Uint8Array(total);
      fill(d, IPV4_HEADER_LEN, src, params.dst);
      Ipv4Repr.emit(repr, d, 0, this.ctx.checksum);
      this.loopback.push({ iface, datagram: d });
      this.ctx.stats.count('ipv4', 'tx_loopback');
      return undefined;
    }
    const dstMac = this.linkDestination(params.dst, route.broadcast);
    if (total <= iface.mtu) {
      const tx = this.ctx.allocTx(total);
      if (!tx) return 'ENOBUFS';
      fill(tx.buf, tx.l3Offset + IPV4_HEADER_LEN, src, params.dst);
      Ipv4Repr.emit(repr, tx.buf, tx.l3Offset, this.ctx.checksum);
      this.ctx.stats.count('ipv4', 'tx');
      this.transmit(iface, nextHop, dstMac, tx, total, now);
      return undefined;
    }
    if (repr.dontFrag) return 'EMSGSIZE';
    return this.sendFragments(iface, nextHop, dstMac, repr, payloadLen, (b, o) => fill(b, o, src, params.dst), now);
  }

  /** RFC 791 §3.2 fragmentation: every fragment but the last carries a multiple of 8 payload bytes. */
  private sendFragments(iface: NetInterface, nextHop: Ipv4Address, dstMac: MacAddress | undefined, repr: Ipv4Repr, payloadLen: number, fill: (buf: Uint8Array, off: number) => void, now: Instant): Ipv4SendError | undefined {
    const payload = new Uint8Array(payloadLen);
    fill(payload, 0);
    const chunk = (iface.mtu - IPV4_HEADER_LEN) & ~7;
    for (let off = 0; off < payloadLen; off += chunk) {
      const n = Math.min(chunk, payloadLen - off);
      const tx = this.ctx.allocTx(IPV4_HEADER_LEN + n);
      if (!tx) return 'ENOBUFS';
      tx.buf.set(payload.subarray(off, off + n), tx.l3Offset + IPV4_HEADER_LEN);
      Ipv4Repr.emit({ ...repr, fragOffset: off, moreFrags: off + n < payloadLen, payloadLen: n }, tx.buf, tx.l3Offset, this.ctx.checksum);
      this.ctx.stats.count('ipv4', 'tx_fragments');
      this.transmit(iface, nextHop, dstMac, tx, IPV4_HEADER_LEN + n, now);
    }
    this.ctx.stats.count('ipv4', 'tx');
    return undefined;
  }

  private linkDestination(dst: Ipv4Address, broadcast: boolean): MacAddress | undefined {
    if (broadcast) return MAC_BROADCAST;
    if (isIpv4Multicast(dst)) return ipv4MulticastMac(dst);
    return undefined;
  }

  private transmit(iface: NetInterface, nextHop: Ipv4Address, dstMac: MacAddress | undefined, tx: { buf: Uint8Array; l3Offset: number }, len: number, now: Instant): void {
    if (dstMac !== undefined || iface.medium === 'ip') return this.ctx.sendL3(iface, tx, len, dstMac ?? 0, EtherType.IPV4);
    const arp = this.arp();
    if (!arp) {
      this.ctx.stats.drop('ipv4', 'no_arp_module');
      return this.ctx.freeTx(tx);
    }
    arp.output(iface, nextHop, tx, len, now);
  }

  /**
   * Like send() for a datagram that carries IP options (IGMP's Router Alert, RFC 2113). Never looped
   * back or fragmented: EMSGSIZE when it does not fit the interface MTU.
   */
  sendWithOptions(params: Ipv4SendParams, options: Uint8Array, payloadLen: number, fill: Ipv4Fill, now: Instant): Ipv4SendError | undefined {
    const route = this.route(params.dst, params.src, params.iface);
    if (typeof route === 'string') {
      this.ctx.stats.drop('ipv4', 'no_route');
      return route;
    }
    if (this.isLocal(params.dst)) return 'EHOSTUNREACH';
    const { iface, nextHop, src } = route;
    const repr: Ipv4Repr = { ...this.header(params, src, payloadLen), options };
    const hlen = Ipv4Repr.headerLen(repr);
    if (hlen > 60 || hlen + payloadLen > iface.mtu) return 'EMSGSIZE';
    const tx = this.ctx.allocTx(hlen + payloadLen);
    if (!tx) return 'ENOBUFS';
    fill(tx.buf, tx.l3Offset + hlen, src, params.dst);
    Ipv4Repr.emit(repr, tx.buf, tx.l3Offset, this.ctx.checksum);
    this.ctx.stats.count('ipv4', 'tx');
    this.transmit(iface, nextHop, this.linkDestination(params.dst, route.broadcast), tx, hlen + payloadLen, now);
    return undefined;
  }

  /**
   * Sends a complete datagram already built in `tx` (l3Len bytes, header included) to `nextHop` on
   * `iface`: the forwarding path. `dst` selects broadcast/multicast link addresses. Takes ownership of tx.
   */
  transmitDatagram(iface: NetInterface, nextHop: Ipv4Address, dst: Ipv4Address, tx: TxBuffer, l3Len: number, now: Instant): void {
    this.transmit(iface, nextHop, this.linkDestination(dst, this.isBroadcastOn(iface, dst)), tx, l3Len, now);
  }

  /** The header of a datagram we originate: multicast defaults to TTL 1 (RFC 1112 §6.1), fresh ident. */
  private header(params: Ipv4SendParams, src: Ipv4Address, payloadLen: number): Ipv4Repr {
    return {
      src,
      dst: params.dst,
      protocol: params.protocol,
      ttl: params.ttl ?? (isIpv4Multicast(params.dst) ? 1 : this.options.defaultTtl),
      dscp: params.dscp ?? 0,
      ecn: params.ecn ?? 0,
      ident: this.allocIdent(),
      dontFrag: params.dontFrag ?? false,
      moreFrags: false,
      fragOffset: 0,
      payloadLen,
    };
  }

  private allocIdent(): number {
    // Sequential from a random start (RFC 6864 allows any scheme for atomic datagrams; per-stack
    // randomness keeps it unpredictable across stacks).
    this.nextIdent = (this.nextIdent + 1) & 0xffff;
    return this.nextIdent;
  }

  // ---------------------------------------------------------------- multicast groups
  // Membership is reference counted per interface and mirrored into the interface's MAC filter (RFC
  // 1112 §6.4 mapping). IGMP reports are a separate module: it observes joins and leaves.

  private readonly groups = new Map<NetInterface, Map<Ipv4Address, number>>();
  private readonly macRefs = new Map<NetInterface, Map<MacAddress, number>>();
  private readonly groupObservers: Ipv4GroupObserver[] = [];

  observeGroups(o: Ipv4GroupObserver): void {
    this.groupObservers.push(o);
  }

  /** Joins `group` on `iface`; false when it is not multicast or the interface's table is full. */
  joinGroup(iface: NetInterface, group: Ipv4Address, now: Instant): boolean {
    if (!isIpv4Multicast(group)) return false;
    let g = this.groups.get(iface);
    if (!g) this.groups.set(iface, (g = new Map()));
    const refs = g.get(group);
    if (refs !== undefined) {
      g.set(group, refs + 1);
      return true;
    }
    if (g.size >= this.options.maxGroupsPerInterface) {
      this.ctx.stats.drop('ipv4', 'group_table_full');
      return false;
    }
    g.set(group, 1);
    let m = this.macRefs.get(iface);
    if (!m) this.macRefs.set(iface, (m = new Map()));
    const mac = ipv4MulticastMac(group);
    m.set(mac, (m.get(mac) ?? 0) + 1);
    iface.multicastMacs.add(mac);
    for (const o of this.groupObservers) o.groupJoined?.(iface, group, now);
    return true;
  }

  /** Drops one reference to `group` on `iface`; false when it was not joined. */
  leaveGroup(iface: NetInterface, group: Ipv4Address, now: Instant): boolean {
    const g = this.groups.get(iface);
    const refs = g?.get(group);
    if (!g || refs === undefined) return false;
    if (refs > 1) {
      g.set(group, refs - 1);
      return true;
    }
    g.delete(group);
    const m = this.macRefs.get(iface)!;
    const mac = ipv4MulticastMac(group);
    const n = (m.get(mac) ?? 1) - 1;
    if (n > 0) m.set(mac, n);
    else {
      m.delete(mac);
      iface.multicastMacs.delete(mac);
    }
    for (const o of this.groupObservers) o.groupLeft?.(iface, group, now);
    return true;
  }

  /** Whether this host listens to `group` on `iface` (224.0.0.1 always). */
  isMember(iface: NetInterface, group: Ipv4Address): boolean {
    return group === IPV4_ALL_HOSTS || (this.groups.get(iface)?.has(group) ?? false);
  }

  pollAt(now: Instant): Instant {
    return this.loopback.length > 0 ? now : Instant.NEVER;
  }

  poll(now: Instant): void {
    const batch = this.loopback.splice(0);
    for (const { iface, datagram } of batch) {
      const p = Ipv4Packet.check(datagram);
      if (isWireError(p)) continue;
      const info = { iface, src: p.src, dst: p.dst, ttl: p.ttl, broadcastOrMulticast: false };
      this.deliver(p.protocol, datagram, p.payloadOffset, p.payloadLength, { ...info, packet: datagram, packetOffset: 0, headerLen: p.headerLen }, now);
    }
  }
}

export const IPV4_REASSEMBLY_TIMEOUT = Duration.seconds(30);
