// Neighbor Discovery for a host (RFC 4861) and Duplicate Address Detection (RFC 4862 §5.4, RFC 7527
// nonces). The neighbour cache runs the NUD state machine (INCOMPLETE, REACHABLE, STALE, DELAY,
// PROBE; §7.3 and Appendix C) and resolves next hops for the IPv6 module with a bounded queue per
// entry. Router Advertisements feed the default router list, the prefix list (on-link routes), link
// parameters (hop limit, MTU, reachable/retrans timers) and the RDNSS list (RFC 8106); autonomous
// prefixes go to listeners (SLAAC). Redirects are accepted only from the current first-hop router.
// Hardening (SECURITY-CASES H20, H30, E7; RFC 6583): hop limit 255 and code 0 on every message, the
// codec's option checks (a length-0 option discards the message), per-type source rules, no cache
// entry from an unsolicited NA, never a multicast link address; caps on entries, INCOMPLETE entries,
// routers, prefixes, DNS servers and redirects (extra ones ignored), and a token bucket on multicast
// solicitations. Router mode (NA R flag, RS dispatch) is switched on by the SLAAC module.

import { Duration, Instant } from '../time/instant.js';
import { type Ipv6Address, type MacAddress, ipv6Equal, isIpv6LinkLocal, isIpv6Multicast, isIpv6Unspecified, isMacMulticast } from '../wire/address.js';
import { EtherType } from '../wire/ethertype.js';
import { isWireError } from '../wire/error.js';
import type { Icmpv6Packet } from '../wire/icmpv6.js';
import { type NdpOptions as NdpMessageOptions, NdpPacket, type NdpPrefixInfo, NdpRepr, NdpType } from '../wire/ndp.js';
import type { Icmpv6Module } from './icmpv6.js';
import { IPV6_ALL_NODES, IPV6_ALL_ROUTERS, type Ipv6AddressInfo, type Ipv6Module, type Ipv6RxInfo, ipv6Key, solicitedNodeAddress } from './ipv6.js';
import { ipv6Network } from './cidr.js';
import type { NetInterface } from './interface.js';
import type { StackModule } from './module.js';
import { TokenBucket } from './rate-limit.js';
import type { StackContext, TxBuffer } from './stack.js';
import { DEFAULT_PENDING_BYTES, type PendingPacket, ipv6FragmentUnit, pendingAdmits, takeOldestUnit } from './pending.js';

export type NudState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE';

export interface NdpOptions {
  /** Neighbour cache entries across interfaces (LRU eviction, default routers kept). */
  readonly maxEntries: number;
  /** INCOMPLETE entries; beyond it new resolutions are refused (E7, RFC 6583 §7). */
  readonly maxIncomplete: number;
  /** Datagrams queued per INCOMPLETE entry (the oldest is replaced, RFC 4861 §7.2.2); fragments of one count once. */
  readonly maxPending: number;
  /** Bytes queued per INCOMPLETE entry. */
  readonly maxPendingBytes: number;
  /** Multicast solicitations per second and burst (a rate-limited NS still counts as an attempt). */
  readonly nsRate: number;
  readonly nsBurst: number;
  readonly maxMulticastSolicit: number;
  readonly maxUnicastSolicit: number;
  readonly baseReachableTime: Duration;
  readonly retransTimer: Duration;
  readonly delayFirstProbeTime: Duration;
  /** DupAddrDetectTransmits (RFC 4862 §5.1); 0 disables DAD. */
  readonly dupAddrDetectTransmits: number;
  /** Random delay before the first DAD probe and RS after interface start (MAX_RTR_SOLICITATION_DELAY). */
  readonly maxRtrSolicitationDelay: Duration;
  readonly maxRtrSolicitations: number;
  readonly rtrSolicitationInterval: Duration;
  readonly maxRouters: number;
  readonly maxPrefixes: number;
  readonly maxDnsServers: number;
  readonly maxRedirects: number;
}

export const DEFAULT_NDP_OPTIONS: NdpOptions = {
  maxEntries: 512,
  maxIncomplete: 256,
  maxPending: 3,
  maxPendingBytes: DEFAULT_PENDING_BYTES,
  nsRate: 100,
  nsBurst: 20,
  maxMulticastSolicit: 3,
  maxUnicastSolicit: 3,
  baseReachableTime: Duration.seconds(30),
  retransTimer: Duration.seconds(1),
  delayFirstProbeTime: Duration.seconds(5),
  dupAddrDetectTransmits: 1,
  maxRtrSolicitationDelay: Duration.seconds(1),
  maxRtrSolicitations: 3,
  rtrSolicitationInterval: Duration.seconds(4),
  maxRouters: 8,
  maxPrefixes: 64,
  maxDnsServers: 3,
  maxRedirects: 64,
};

export interface NeighborInfo {
  readonly iface: NetInterface;
  readonly address: Ipv6Address;
  readonly mac: MacAddress;
  readonly state: NudState;
  readonly isRouter: boolean;
}

interface Neighbor {
  readonly iface: NetInterface;
  readonly address: Ipv6Address;
  readonly key: string;
  mac: MacAddress;
  state: NudState;
  isRouter: boolean;
  /** Next timer for INCOMPLETE/REACHABLE/DELAY/PROBE; NEVER for STALE. */
  deadline: Instant;
  probes: number;
  pending: PendingPacket[];
}

export interface DefaultRouter {
  readonly address: Ipv6Address;
  expires: Instant;
  preference: number;
  unreachable: boolean;
}

export interface OnLinkPrefix {
  readonly prefix: Ipv6Address;
  readonly prefixLen: number;
  expires: Instant;
}

interface NdIf {
  readonly iface: NetInterface;
  baseReachable: Duration;
  reachableTime: Duration;
  retransTimer: Duration;
  readonly routers: Map<string, DefaultRouter>;
  readonly prefixes: Map<string, OnLinkPrefix>;
  readonly dns: Map<string, { address: Ipv6Address; expires: Instant }>;
  rsLeft: number;
  rsDeadline: Instant;
  routerMode: boolean;
}

interface Dad {
  readonly iface: NetInterface;
  readonly address: Ipv6Address;
  remaining: number;
  deadline: Instant;
  readonly nonces: Uint8Array[];
}

export type PrefixListener = (iface: NetInterface, prefix: NdpPrefixInfo, now: Instant) => void;
export type RouterSolicitListener = (iface: NetInterface, src: Ipv6Address, now: Instant) => void;
export type DadListener = (iface: NetInterface, address: Ipv6Address, ok: boolean, now: Instant) => void;

const INFINITE_LIFETIME = 0xffffffff;
const MAX_REACHABLE_MS = 3_600_000; // RFC 4861 §6.2.1 upper bound on AdvReachableTime
const ROUTER_METRIC = 1024;

export class NdpModule implements StackModule {
  readonly name = 'ndp';
  readonly options: NdpOptions;
  private ctx!: StackContext;
  private ip!: Ipv6Module;
  private icmp!: Icmpv6Module;
  private readonly cache = new Map<string, Neighbor>();
  private incomplete = 0;
  private readonly ifs = new Map<NetInterface, NdIf>();
  private readonly dads = new Map<string, Dad>();
  private readonly redirects: Array<{ dst: Ipv6Address; ifIndex: number }> = [];
  private readonly nsBucket: TokenBucket;
  private readonly prefixListeners: PrefixListener[] = [];
  private readonly rsListeners: RouterSolicitListener[] = [];
  private readonly dadListeners: DadListener[] = [];

  constructor(options: Partial<NdpOptions> = {}) {
    this.options = { ...DEFAULT_NDP_OPTIONS, ...options };
    this.nsBucket = new TokenBucket(this.options.nsRate, this.options.nsBurst);
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv6Module>('ipv6');
    const icmp = ctx.module<Icmpv6Module>('icmpv6');
    if (!ip || !icmp) throw new Error("the 'ndp' module needs the 'ipv6' and 'icmpv6' modules");
    this.ip = ip;
    this.icmp = icmp;
    ip.setNeighborOutput((iface, nextHop, tx, len, now) => this.output(iface, nextHop, tx, len, now));
    ip.setDadStarter((iface, a, now) => this.startDad(iface, a, now));
    icmp.registerType(NdpType.ROUTER_SOLICITATION, (m, i, now) => this.input(m, i, now));
    icmp.registerType(NdpType.ROUTER_ADVERTISEMENT, (m, i, now) => this.input(m, i, now));
    icmp.registerType(NdpType.NEIGHBOR_SOLICITATION, (m, i, now) => this.input(m, i, now));
    icmp.registerType(NdpType.NEIGHBOR_ADVERTISEMENT, (m, i, now) => this.input(m, i, now));
    icmp.registerType(NdpType.REDIRECT, (m, i, now) => this.input(m, i, now));
  }

  onPrefix(l: PrefixListener): void {
    this.prefixListeners.push(l);
  }
  onRouterSolicit(l: RouterSolicitListener): void {
    this.rsListeners.push(l);
  }
  onDad(l: DadListener): void {
    this.dadListeners.push(l);
  }

  private nd(iface: NetInterface): NdIf {
    let s = this.ifs.get(iface);
    if (!s) {
      const base = this.options.baseReachableTime;
      s = { iface, baseReachable: base, reachableTime: this.randomReachable(base), retransTimer: this.options.retransTimer, routers: new Map(), prefixes: new Map(), dns: new Map(), rsLeft: 0, rsDeadline: Instant.NEVER, routerMode: false };
      this.ifs.set(iface, s);
    }
    return s;
  }

  /** RFC 4861 §6.3.2: ReachableTime is uniform in [0.5, 1.5] × BaseReachableTime. */
  private randomReachable(base: Duration): Duration {
    return Duration.micros(base / 2 + this.ctx.random.below(Math.max(1, Math.min(base, 0xffff_ffff))));
  }

  private randomDelay(max: Duration): Duration {
    return Duration.micros(max > 0 ? this.ctx.random.below(Math.min(max, 0xffff_ffff)) : 0);
  }

  interfaceAdded(iface: NetInterface, now: Instant): void {
    this.startSolicitation(this.nd(iface), now);
  }

  linkChanged(iface: NetInterface, up: boolean, now: Instant): void {
    if (up) this.startSolicitation(this.nd(iface), now);
  }

  /** RFC 4861 §6.3.7: up to MAX_RTR_SOLICITATIONS after a random delay, until an RA arrives. */
  private startSolicitation(s: NdIf, now: Instant): void {
    if (s.routerMode || s.iface.medium !== 'ethernet') return;
    s.rsLeft = this.options.maxRtrSolicitations;
    s.rsDeadline = Instant.add(now, this.randomDelay(this.options.maxRtrSolicitationDelay));
  }

  /** Router mode (set by the SLAAC module): NAs carry R, RSs go to listeners, RAs are not processed. */
  setRouterMode(iface: NetInterface, on: boolean, now: Instant): void {
    const s = this.nd(iface);
    if (s.routerMode === on) return;
    s.routerMode = on;
    s.rsLeft = 0;
    if (on) this.ip.joinGroup(iface, IPV6_ALL_ROUTERS, now);
    else this.ip.leaveGroup(iface, IPV6_ALL_ROUTERS, now);
  }

  isRouterMode(iface: NetInterface): boolean {
    return this.ifs.get(iface)?.routerMode ?? false;
  }

  // ---------------------------------------------------------------- neighbour cache

  private key(iface: NetInterface, a: Ipv6Address): string {
    return `${iface.index}:${ipv6Key(a)}`;
  }

  get size(): number {
    return this.cache.size;
  }
  get incompleteCount(): number {
    return this.incomplete;
  }

  neighbor(iface: NetInterface, a: Ipv6Address): NeighborInfo | undefined {
    const e = this.cache.get(this.key(iface, a));
    return e ? { iface: e.iface, address: e.address, mac: e.mac, state: e.state, isRouter: e.isRouter } : undefined;
  }

  neighbors(): NeighborInfo[] {
    return [...this.cache.values()].map((e) => ({ iface: e.iface, address: e.address, mac: e.mac, state: e.state, isRouter: e.isRouter }));
  }

  /** Upper-layer reachability confirmation (RFC 4861 §7.3.1), e.g. new TCP ACKs. */
  confirmReachable(iface: NetInterface, a: Ipv6Address, now: Instant): void {
    const e = this.cache.get(this.key(iface, a));
    if (e && e.state !== 'INCOMPLETE') this.setState(e, 'REACHABLE', now);
  }

  private setState(e: Neighbor, state: NudState, now: Instant): void {
    if (e.state === 'INCOMPLETE' && state !== 'INCOMPLETE') this.incomplete--;
    e.state = state;
    e.probes = 0;
    const s = this.nd(e.iface);
    e.deadline = state === 'REACHABLE' ? Instant.add(now, s.reachableTime) : state === 'DELAY' ? Instant.add(now, this.options.delayFirstProbeTime) : state === 'STALE' ? Instant.NEVER : now;
    if (state === 'REACHABLE' && e.isRouter) this.routerReachable(e.iface, e.address, true, now);
  }

  /** Creates an entry, evicting the least recently used evictable entry when full. */
  private create(iface: NetInterface, a: Ipv6Address, state: NudState, mac: MacAddress, now: Instant): Neighbor | undefined {
    if (state === 'INCOMPLETE' && this.incomplete >= this.options.maxIncomplete) {
      this.ctx.stats.drop('ndp', 'incomplete_cap');
      return undefined;
    }
    if (this.cache.size >= this.options.maxEntries && !this.evictOne()) {
      this.ctx.stats.drop('ndp', 'cache_full');
      return undefined;
    }
    const e: Neighbor = { iface, address: a.slice(), key: this.key(iface, a), mac, state, isRouter: false, deadline: Instant.NEVER, probes: 0, pending: [] };
    this.cache.set(e.key, e);
    if (state === 'INCOMPLETE') this.incomplete++;
    else this.setState(e, state, now);
    return e;
  }

  /**
   * Least recently used first (Map order). INCOMPLETE entries and current default routers stay; the
   * R flag alone protects nothing, since any neighbour can set it.
   */
  private evictOne(): boolean {
    for (const e of this.cache.values()) {
      if (e.state !== 'INCOMPLETE' && e.pending.length === 0 && !this.ifs.get(e.iface)?.routers.has(ipv6Key(e.address))) {
        this.remove(e, 'evicted');
        return true;
      }
    }
    return false;
  }

  private remove(e: Neighbor, reason: string): void {
    if (e.state === 'INCOMPLETE') this.incomplete--;
    for (const p of e.pending) {
      this.ctx.stats.drop('ndp', 'unresolved');
      this.ctx.freeTx(p.tx);
    }
    e.pending.length = 0;
    this.cache.delete(e.key);
    this.ctx.stats.count('ndp', `neighbor_${reason}`);
  }

  /** Keeps Map order = recency, so eviction takes the least recently used entry first. */
  private touch(e: Neighbor): void {
    this.cache.delete(e.key);
    this.cache.set(e.key, e);
  }

  /** Sends an IPv6 packet to on-link `nextHop`, resolving it first if needed. Takes ownership of tx. */
  output(iface: NetInterface, nextHop: Ipv6Address, tx: TxBuffer, len: number, now: Instant): void {
    let e = this.cache.get(this.key(iface, nextHop));
    if (e && e.state !== 'INCOMPLETE') {
      this.touch(e);
      // RFC 4861 §7.3.3: the first packet to a STALE neighbour starts the DELAY timer.
      if (e.state === 'STALE') this.setState(e, 'DELAY', now);
      return this.ctx.sendL3(iface, tx, len, e.mac, EtherType.IPV6);
    }
    if (!e) {
      e = this.create(iface, nextHop, 'INCOMPLETE', 0, now);
      if (!e) return this.ctx.freeTx(tx);
      e.deadline = now;
      this.solicit(e, now);
    }
    const p: PendingPacket = { tx, len, unit: ipv6FragmentUnit(tx) };
    // Make room by dropping the oldest datagrams (all their fragments); a packet that cannot fit even
    // in an empty queue is dropped itself.
    while (e.pending.length > 0 && !pendingAdmits(e.pending, p, this.options.maxPending, this.options.maxPendingBytes)) {
      for (const old of takeOldestUnit(e.pending)) {
        this.ctx.stats.drop('ndp', 'pending_queue_full');
        this.ctx.freeTx(old.tx);
      }
    }
    if (!pendingAdmits(e.pending, p, this.options.maxPending, this.options.maxPendingBytes)) {
      this.ctx.stats.drop('ndp', 'pending_queue_full');
      return this.ctx.freeTx(tx);
    }
    e.pending.push(p);
  }

  /** Learns a link address from NS/RS/RA/Redirect options (RFC 4861 §7.2.3, §6.3.4, §8.3). */
  private learn(iface: NetInterface, a: Ipv6Address, mac: MacAddress, now: Instant, router = false): void {
    if (isMacMulticast(mac)) return this.ctx.stats.drop('ndp', 'multicast_link_address');
    let e = this.cache.get(this.key(iface, a));
    if (!e) {
      e = this.create(iface, a, 'STALE', mac, now);
      if (!e) return;
    } else if (e.state === 'INCOMPLETE') {
      e.mac = mac;
      this.setState(e, 'STALE', now);
      this.flush(e);
    } else if (e.mac !== mac) {
      e.mac = mac;
      this.setState(e, 'STALE', now);
    }
    if (router) e.isRouter = true;
  }

  private flush(e: Neighbor): void {
    for (const p of e.pending.splice(0)) this.ctx.sendL3(e.iface, p.tx, p.len, e.mac, EtherType.IPV6);
  }

  /** One NS for an INCOMPLETE (multicast, rate-limited) or PROBE (unicast) entry. */
  private solicit(e: Neighbor, now: Instant): void {
    e.probes++;
    e.deadline = Instant.add(now, this.nd(e.iface).retransTimer);
    const multicast = e.state === 'INCOMPLETE';
    if (multicast && !this.nsBucket.take(now)) return this.ctx.stats.drop('ndp', 'ns_rate_limited');
    const src = this.ip.selectSource(e.iface, e.address);
    if (!src) return this.ctx.stats.drop('ndp', 'ns_no_source');
    const repr: NdpRepr = { kind: 'neighborSolicit', target: e.address, sourceLinkAddr: e.iface.mac };
    const dst = multicast ? solicitedNodeAddress(e.address) : e.address;
    const err = this.icmp.sendMessage({ dst, src, iface: e.iface, hopLimit: 255, ...(multicast ? {} : { dstMac: e.mac }) }, NdpRepr.bufferLen(repr), (b, o) => NdpRepr.emit(repr, b, o), now);
    if (!err) this.ctx.stats.count('ndp', multicast ? 'ns_sent' : 'ns_probes_sent');
  }

  private sendNa(iface: NetInterface, dst: Ipv6Address, target: Ipv6Address, solicited: boolean, now: Instant): void {
    const repr: NdpRepr = { kind: 'neighborAdvert', router: this.isRouterMode(iface), solicited, override: true, target, targetLinkAddr: iface.mac };
    const err = this.icmp.sendMessage({ dst, src: target, iface, hopLimit: 255 }, NdpRepr.bufferLen(repr), (b, o) => NdpRepr.emit(repr, b, o), now);
    if (err) this.ctx.stats.drop('ndp', `na_${err}`);
    else this.ctx.stats.count('ndp', 'na_sent');
  }

  // ---------------------------------------------------------------- DAD

  private startDad(iface: NetInterface, a: Ipv6AddressInfo, now: Instant): boolean {
    if (iface.medium !== 'ethernet' || this.options.dupAddrDetectTransmits <= 0) return false;
    this.nd(iface);
    const k = this.key(iface, a.address);
    this.dads.set(k, { iface, address: a.address, remaining: this.options.dupAddrDetectTransmits, deadline: Instant.add(now, this.randomDelay(this.options.maxRtrSolicitationDelay)), nonces: [] });
    return true;
  }

  /** Addresses still under DAD. */
  get dadInProgress(): number {
    return this.dads.size;
  }

  private dadStep(d: Dad, now: Instant): void {
    if (d.remaining <= 0) {
      this.dads.delete(this.key(d.iface, d.address));
      this.ctx.stats.count('ndp', 'dad_succeeded');
      this.ip.dadSucceeded(d.iface, d.address, now);
      for (const l of this.dadListeners) l(d.iface, d.address, true, now);
      return;
    }
    d.remaining--;
    d.deadline = Instant.add(now, this.nd(d.iface).retransTimer);
    // RFC 4862 §5.4.2: from ::, to the solicited-node group, no SLLA; RFC 7527 nonce to spot our own loops.
    const nonce = new Uint8Array(6);
    this.ctx.random.fill(nonce);
    d.nonces.push(nonce);
    if (d.nonces.length > 8) d.nonces.shift();
    const repr: NdpRepr = { kind: 'neighborSolicit', target: d.address, nonce };
    const err = this.icmp.sendMessage(
      { dst: solicitedNodeAddress(d.address), src: new Uint8Array(16), allowUnspecifiedSource: true, iface: d.iface, hopLimit: 255 },
      NdpRepr.bufferLen(repr),
      (b, o) => NdpRepr.emit(repr, b, o),
      now,
    );
    if (!err) this.ctx.stats.count('ndp', 'dad_ns_sent');
  }

  private dadConflict(iface: NetInterface, address: Ipv6Address, now: Instant): void {
    this.dads.delete(this.key(iface, address));
    this.ctx.stats.count('ndp', 'dad_conflicts');
    this.ip.dadFailed(iface, address, now);
    for (const l of this.dadListeners) l(iface, address, false, now);
  }

  // ---------------------------------------------------------------- input

  private input(msg: Icmpv6Packet, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    // RFC 4861 §6.1, §7.1: hop limit 255 proves the sender is on-link; code 0 (H30).
    if (info.hopLimit !== 255) return stats.drop('ndp', 'bad_hop_limit');
    if (msg.code !== 0) return stats.drop('ndp', 'bad_code');
    if (info.fragmented) return stats.drop('ndp', 'fragmented'); // RFC 6980 §5
    const p = NdpPacket.check(msg.buf, msg.off, msg.len);
    if (isWireError(p)) return stats.drop('ndp', `malformed_${p.field}`);
    const opts = p.options();
    const iface = info.iface;
    switch (p.type) {
      case NdpType.NEIGHBOR_SOLICITATION:
        return this.neighborSolicit(p, opts, info, now);
      case NdpType.NEIGHBOR_ADVERTISEMENT:
        return this.neighborAdvert(p, opts, info, now);
      case NdpType.ROUTER_SOLICITATION: {
        const unspec = isIpv6Unspecified(info.src);
        if (unspec && opts.sourceLinkAddr !== undefined) return stats.drop('ndp', 'rs_unspecified_with_slla');
        if (!this.isRouterMode(iface)) return stats.count('ndp', 'rs_ignored');
        stats.count('ndp', 'rs_received');
        if (!unspec && opts.sourceLinkAddr !== undefined) this.learn(iface, info.src, opts.sourceLinkAddr, now);
        for (const l of this.rsListeners) l(iface, info.src, now);
        return;
      }
      case NdpType.ROUTER_ADVERTISEMENT:
        return this.routerAdvert(p, opts, info, now);
      default:
        return this.redirect(p, opts, info, now);
    }
  }

  private neighborSolicit(p: NdpPacket, opts: NdpMessageOptions, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    const iface = info.iface;
    const target = p.target;
    if (isIpv6Multicast(target)) return stats.drop('ndp', 'ns_multicast_target');
    const unspec = isIpv6Unspecified(info.src);
    // RFC 4861 §7.1.1: a DAD probe goes to the solicited-node group and carries no SLLA.
    if (unspec && !ipv6Equal(info.dst, solicitedNodeAddress(target))) return stats.drop('ndp', 'dad_ns_bad_destination');
    if (unspec && opts.sourceLinkAddr !== undefined) return stats.drop('ndp', 'dad_ns_with_slla');
    stats.count('ndp', 'ns_received');
    const a = this.ip.findAddress(iface, target);
    if (!a || a.state === 'duplicate') return stats.drop('ndp', 'ns_not_our_target');
    if (a.state === 'tentative') {
      // RFC 4862 §5.4.3: resolution of a tentative address is ignored; a probe from elsewhere is a conflict.
      if (!unspec) return stats.drop('ndp', 'ns_for_tentative');
      const d = this.dads.get(this.key(iface, target));
      if (d && opts.nonce && d.nonces.some((n) => bytesEqual(n, opts.nonce!))) return stats.count('ndp', 'dad_own_probe_looped');
      return this.dadConflict(iface, target, now);
    }
    if (unspec) {
      // Defend an assigned address against a DAD probe: NA to all-nodes (RFC 4861 §7.2.4).
      stats.count('ndp', 'dad_defended');
      return this.sendNa(iface, IPV6_ALL_NODES, target, false, now);
    }
    if (opts.sourceLinkAddr !== undefined) this.learn(iface, info.src, opts.sourceLinkAddr, now);
    this.sendNa(iface, info.src, target, true, now);
  }

  private neighborAdvert(p: NdpPacket, opts: NdpMessageOptions, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    const iface = info.iface;
    const target = p.target;
    if (isIpv6Multicast(target)) return stats.drop('ndp', 'na_multicast_target');
    // RFC 4861 §7.1.2: a solicited advertisement is never multicast.
    if (isIpv6Multicast(info.dst) && p.solicited) return stats.drop('ndp', 'na_solicited_to_multicast');
    stats.count('ndp', 'na_received');
    const a = this.ip.findAddress(iface, target);
    if (a) {
      if (a.state === 'tentative') return this.dadConflict(iface, target, now);
      // Someone else claims an assigned address (RFC 4862 §5.4.4): log only.
      return stats.drop('ndp', 'na_for_our_address');
    }
    const e = this.cache.get(this.key(iface, target));
    // RFC 4861 §7.2.5: no entry → discard; unsolicited NAs never create one.
    if (!e) return stats.drop('ndp', 'na_no_entry');
    const tll = opts.targetLinkAddr;
    if (tll !== undefined && isMacMulticast(tll)) return stats.drop('ndp', 'multicast_link_address');
    if (e.state === 'INCOMPLETE') {
      if (tll === undefined) return stats.drop('ndp', 'na_without_tlla');
      e.mac = tll;
      e.isRouter = p.router;
      this.setState(e, p.solicited ? 'REACHABLE' : 'STALE', now);
      this.flush(e);
      return stats.count('ndp', 'resolved');
    }
    const differs = tll !== undefined && tll !== e.mac;
    if (!p.override && differs) {
      if (e.state === 'REACHABLE') this.setState(e, 'STALE', now);
      return stats.drop('ndp', 'na_override_refused');
    }
    if (tll !== undefined) e.mac = tll;
    if (p.solicited) this.setState(e, 'REACHABLE', now);
    else if (differs) this.setState(e, 'STALE', now);
    const wasRouter = e.isRouter;
    e.isRouter = p.router;
    if (wasRouter && !p.router) this.removeRouter(this.nd(iface), ipv6Key(target));
  }

  private routerAdvert(p: NdpPacket, opts: NdpMessageOptions, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    const iface = info.iface;
    // RFC 4861 §6.1.2: only a link-local source identifies a router (H30).
    if (!isIpv6LinkLocal(info.src)) return stats.drop('ndp', 'ra_source_not_link_local');
    const s = this.nd(iface);
    if (s.routerMode) return stats.count('ndp', 'ra_ignored_router_mode');
    // E7: once the router list is full, RAs from further default routers are ignored whole.
    if (p.routerLifetime > 0 && s.routers.size >= this.options.maxRouters && !s.routers.has(ipv6Key(info.src))) return stats.drop('ndp', 'router_list_full');
    stats.count('ndp', 'ra_received');
    s.rsLeft = 0;
    if (p.curHopLimit > 0) this.ip.setHopLimit(iface, p.curHopLimit);
    const reach = Math.min(p.reachableTime, MAX_REACHABLE_MS);
    if (reach > 0 && Duration.millis(reach) !== s.baseReachable) {
      s.baseReachable = Duration.millis(reach);
      s.reachableTime = this.randomReachable(s.baseReachable);
    }
    if (p.retransTimer > 0) s.retransTimer = Duration.millis(Math.min(Math.max(p.retransTimer, 100), MAX_REACHABLE_MS));
    this.updateRouter(s, info.src, p.routerLifetime, p.routerPreference, now);
    if (opts.sourceLinkAddr !== undefined) this.learn(iface, info.src, opts.sourceLinkAddr, now, true);
    if (opts.mtu !== undefined && !this.ip.setLinkMtu(iface, opts.mtu)) stats.drop('ndp', 'ra_mtu_ignored');
    for (const pi of opts.prefixes) {
      if (isIpv6LinkLocal(pi.prefix)) {
        stats.drop('ndp', 'ra_link_local_prefix');
        continue;
      }
      if (pi.onLink) this.updatePrefix(s, pi, now);
      if (pi.autonomous) for (const l of this.prefixListeners) l(iface, pi, now);
    }
    for (const r of opts.rdnss) for (const a of r.servers) this.updateDns(s, a, r.lifetime, now);
  }

  // ---------------------------------------------------------------- router, prefix and DNS lists

  private updateRouter(s: NdIf, addr: Ipv6Address, lifetime: number, pref: number, now: Instant): void {
    const k = ipv6Key(addr);
    let r = s.routers.get(k);
    if (lifetime === 0) {
      if (r) this.removeRouter(s, k);
      return;
    }
    if (!r) {
      if (s.routers.size >= this.options.maxRouters) return this.ctx.stats.drop('ndp', 'router_list_full');
      r = { address: addr.slice(), expires: now, preference: 0, unreachable: false };
      s.routers.set(k, r);
      this.ctx.stats.count('ndp', 'routers_added');
    }
    r.expires = Instant.add(now, Duration.seconds(lifetime));
    r.preference = pref === 2 ? 0 : pref; // RFC 4191 §2.2: reserved is medium
    this.installRouterRoute(s.iface, r);
  }

  private installRouterRoute(iface: NetInterface, r: DefaultRouter): void {
    // RFC 4191 high(1) < medium(0) < low(3) in metric; unreachable routers last (RFC 4861 §6.3.6).
    const prefOffset = r.preference === 1 ? -1 : r.preference === 3 ? 1 : 0;
    this.ctx.routes6.add({ network: new Uint8Array(16), prefixLen: 0, gateway: r.address, ifIndex: iface.index, metric: ROUTER_METRIC + prefOffset + (r.unreachable ? 1000 : 0), origin: 'ra' });
  }

  private routerReachable(iface: NetInterface, addr: Ipv6Address, reachable: boolean, _now: Instant): void {
    const r = this.ifs.get(iface)?.routers.get(ipv6Key(addr));
    if (!r || r.unreachable === !reachable) return;
    r.unreachable = !reachable;
    this.installRouterRoute(iface, r);
  }

  private removeRouter(s: NdIf, k: string): void {
    const r = s.routers.get(k);
    if (!r) return;
    s.routers.delete(k);
    this.ctx.routes6.remove({ prefixLen: 0, gateway: r.address, ifIndex: s.iface.index, origin: 'ra' });
    // Redirects learnt through this router go with it.
    for (let i = this.redirects.length - 1; i >= 0; i--) {
      const d = this.redirects[i]!;
      if (d.ifIndex === s.iface.index && this.ctx.routes6.remove({ network: d.dst, prefixLen: 128, gateway: r.address, origin: 'redirect' }) > 0) this.redirects.splice(i, 1);
    }
    this.ctx.stats.count('ndp', 'routers_removed');
  }

  private updatePrefix(s: NdIf, pi: NdpPrefixInfo, now: Instant): void {
    const net = ipv6Network(pi.prefix, pi.prefixLength);
    const k = `${ipv6Key(net)}/${pi.prefixLength}`;
    const e = s.prefixes.get(k);
    if (pi.validLifetime === 0) {
      if (e) this.removePrefix(s, k);
      return;
    }
    if (!e) {
      if (s.prefixes.size >= this.options.maxPrefixes) return this.ctx.stats.drop('ndp', 'prefix_list_full');
      s.prefixes.set(k, { prefix: net, prefixLen: pi.prefixLength, expires: lifetimeEnd(now, pi.validLifetime) });
      this.ctx.routes6.add({ network: net, prefixLen: pi.prefixLength, ifIndex: s.iface.index, metric: 256, origin: 'ra' });
      return;
    }
    e.expires = lifetimeEnd(now, pi.validLifetime);
  }

  private removePrefix(s: NdIf, k: string): void {
    const e = s.prefixes.get(k);
    if (!e) return;
    s.prefixes.delete(k);
    this.ctx.routes6.remove({ network: e.prefix, prefixLen: e.prefixLen, ifIndex: s.iface.index, origin: 'ra' });
  }

  /** RFC 8106 §5.3.1: lifetime 0 removes; when full, a longer-lived server replaces the shortest-lived. */
  private updateDns(s: NdIf, a: Ipv6Address, lifetime: number, now: Instant): void {
    const k = ipv6Key(a);
    if (lifetime === 0) {
      s.dns.delete(k);
      return;
    }
    const expires = lifetimeEnd(now, lifetime);
    const e = s.dns.get(k);
    if (e) {
      e.expires = expires;
      return;
    }
    if (s.dns.size >= this.options.maxDnsServers) {
      let victim: string | undefined;
      let soonest = expires;
      for (const [vk, v] of s.dns) if (v.expires < soonest) [victim, soonest] = [vk, v.expires];
      if (victim === undefined) return this.ctx.stats.drop('ndp', 'dns_list_full');
      s.dns.delete(victim);
    }
    s.dns.set(k, { address: a.slice(), expires });
  }

  defaultRouters(iface: NetInterface): readonly DefaultRouter[] {
    return [...(this.ifs.get(iface)?.routers.values() ?? [])];
  }

  prefixes(iface: NetInterface): readonly OnLinkPrefix[] {
    return [...(this.ifs.get(iface)?.prefixes.values() ?? [])];
  }

  /** RDNSS servers learnt from RAs (all interfaces when none is given), for the DNS client. */
  dnsServers(iface?: NetInterface): Ipv6Address[] {
    const out: Ipv6Address[] = [];
    for (const s of this.ifs.values()) if (!iface || s.iface === iface) for (const d of s.dns.values()) out.push(d.address);
    return out;
  }

  retransTimer(iface: NetInterface): Duration {
    return this.ifs.get(iface)?.retransTimer ?? this.options.retransTimer;
  }

  reachableTime(iface: NetInterface): Duration {
    return this.ifs.get(iface)?.reachableTime ?? this.options.baseReachableTime;
  }

  // ---------------------------------------------------------------- redirect

  /** RFC 4861 §8.1: only from the current first-hop router for the destination, to an on-link target (H20). */
  private redirect(p: NdpPacket, opts: NdpMessageOptions, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    const iface = info.iface;
    if (!isIpv6LinkLocal(info.src)) return stats.drop('ndp', 'redirect_source_not_link_local');
    const dest = p.destination;
    const target = p.target;
    if (isIpv6Multicast(dest)) return stats.drop('ndp', 'redirect_multicast_destination');
    const onLink = ipv6Equal(target, dest);
    if (!onLink && !isIpv6LinkLocal(target)) return stats.drop('ndp', 'redirect_target_not_link_local');
    const r = this.ctx.routes6.lookup(dest);
    if (!r || r.gateway === undefined || r.ifIndex !== iface.index || !ipv6Equal(r.gateway, info.src)) return stats.drop('ndp', 'redirect_not_from_first_hop');
    this.ctx.routes6.remove({ network: dest, prefixLen: 128, ifIndex: iface.index, origin: 'redirect' });
    this.ctx.routes6.add({ network: dest.slice(), prefixLen: 128, ifIndex: iface.index, metric: 0, origin: 'redirect', ...(onLink ? {} : { gateway: target }) });
    const i = this.redirects.findIndex((d) => d.ifIndex === iface.index && ipv6Equal(d.dst, dest));
    if (i >= 0) this.redirects.splice(i, 1);
    this.redirects.push({ dst: dest, ifIndex: iface.index });
    if (this.redirects.length > this.options.maxRedirects) {
      const old = this.redirects.shift()!;
      this.ctx.routes6.remove({ network: old.dst, prefixLen: 128, ifIndex: old.ifIndex, origin: 'redirect' });
      stats.count('ndp', 'redirects_evicted');
    }
    if (opts.targetLinkAddr !== undefined) this.learn(iface, target, opts.targetLinkAddr, now, !onLink);
    stats.count('ndp', 'redirects_accepted');
  }

  // ---------------------------------------------------------------- timers

  pollAt(_now: Instant): Instant {
    let t = Instant.NEVER;
    for (const e of this.cache.values()) if (e.deadline < t) t = e.deadline;
    for (const d of this.dads.values()) if (d.deadline < t) t = d.deadline;
    for (const s of this.ifs.values()) {
      if (s.rsLeft > 0 && s.rsDeadline < t) t = s.rsDeadline;
      for (const r of s.routers.values()) if (r.expires < t) t = r.expires;
      for (const p of s.prefixes.values()) if (p.expires < t) t = p.expires;
      for (const d of s.dns.values()) if (d.expires < t) t = d.expires;
    }
    return t;
  }

  poll(now: Instant): void {
    for (const e of [...this.cache.values()]) if (e.deadline <= now) this.nudTimer(e, now);
    for (const d of [...this.dads.values()]) if (d.deadline <= now) this.dadStep(d, now);
    for (const s of this.ifs.values()) {
      if (s.rsLeft > 0 && s.rsDeadline <= now) this.sendRs(s, now);
      for (const [k, r] of [...s.routers]) if (r.expires <= now) this.removeRouter(s, k);
      for (const [k, p] of [...s.prefixes]) if (p.expires <= now) this.removePrefix(s, k);
      for (const [k, d] of [...s.dns]) if (d.expires <= now) s.dns.delete(k);
    }
  }

  /** RFC 4861 Appendix C timer events. */
  private nudTimer(e: Neighbor, now: Instant): void {
    switch (e.state) {
      case 'INCOMPLETE':
        if (e.probes >= this.options.maxMulticastSolicit) {
          this.ctx.stats.count('ndp', 'resolution_failed');
          this.routerReachable(e.iface, e.address, false, now);
          return this.remove(e, 'unreachable');
        }
        return this.solicit(e, now);
      case 'REACHABLE':
        return this.setState(e, 'STALE', now);
      case 'DELAY':
        this.setState(e, 'PROBE', now);
        return this.solicit(e, now);
      case 'PROBE':
        if (e.probes >= this.options.maxUnicastSolicit) {
          this.ctx.stats.count('ndp', 'nud_failed');
          this.routerReachable(e.iface, e.address, false, now);
          return this.remove(e, 'unreachable');
        }
        return this.solicit(e, now);
      default:
        e.deadline = Instant.NEVER;
    }
  }

  private sendRs(s: NdIf, now: Instant): void {
    const iface = s.iface;
    s.rsDeadline = Instant.add(now, this.options.rtrSolicitationInterval);
    const ll = this.ip.linkLocalAddress(iface);
    // Wait for the link-local address to pass DAD rather than soliciting from :: (RFC 4861 §6.3.7 allows either).
    if (!ll && this.ip.addresses(iface).some((a) => a.state === 'tentative' && isIpv6LinkLocal(a.address))) {
      s.rsDeadline = Instant.add(now, s.retransTimer);
      return;
    }
    s.rsLeft--;
    const repr: NdpRepr = ll ? { kind: 'routerSolicit', sourceLinkAddr: iface.mac } : { kind: 'routerSolicit' };
    const err = this.icmp.sendMessage(
      { dst: IPV6_ALL_ROUTERS, iface, hopLimit: 255, ...(ll ? { src: ll } : { src: new Uint8Array(16), allowUnspecifiedSource: true }) },
      NdpRepr.bufferLen(repr),
      (b, o) => NdpRepr.emit(repr, b, o),
      now,
    );
    if (!err) this.ctx.stats.count('ndp', 'rs_sent');
  }

  /** Frees queued packets (stack shutdown). */
  close(): void {
    for (const e of [...this.cache.values()]) this.remove(e, 'closed');
  }
}

function lifetimeEnd(now: Instant, seconds: number): Instant {
  return seconds === INFINITE_LIFETIME ? Instant.NEVER : Instant.add(now, Duration.seconds(seconds));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
