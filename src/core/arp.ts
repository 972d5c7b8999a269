// ARP (RFC 826) for IPv4 over Ethernet: the neighbour cache, address resolution for outgoing
// packets, replies for our addresses (broadcast or unicast requests: Linux re-validates its entries
// with unicast requests), and IPv4 Address Conflict Detection (RFC 5227). Hardened per
// SECURITY-CASES H02/H03/E6:
//  - entries are created only for replies we asked for or requests addressed to us (RFC 826 merge
//    rule); an unsolicited reply only refreshes an existing entry;
//  - broadcast/multicast/zero sender MACs and non-unicast sender IPs (0.0.0.0 probes, broadcasts,
//    multicasts) are never cached;
//  - the cache is capped (least recently used non-pending entry evicted), requests are rate limited
//    per target (RFC 1122 §2.3.2.1), and at most `maxPending` datagrams (fragments of one count once) and `maxPendingBytes` wait per unresolved address.
// Address conflict detection (RFC 5227): every address assigned to an Ethernet interface is announced
// with gratuitous ARP (§2.3); with `conflictDetection` on, configured addresses are probed with sender
// IP 0 before use (§2.1) and defended afterwards (§2.4). The probe engine is public so IPv4 link-local
// (RFC 3927) and DHCP can check candidate addresses. Conflicts go to listeners and stats.

import { Duration, Instant } from '../time/instant.js';
import { IPV4_BROADCAST, MAC_BROADCAST, type Ipv4Address, type MacAddress, formatIpv4, isIpv4Multicast, isMacMulticast } from '../wire/address.js';
import { ARP_LEN, ArpOp, ArpPacket, ArpRepr } from '../wire/arp.js';
import { EtherType } from '../wire/ethertype.js';
import { isWireError } from '../wire/error.js';
import { type Ipv4Cidr, ipv4Network, ipv4SubnetBroadcast } from './cidr.js';
import type { NetInterface } from './interface.js';
import type { LinkRxInfo, StackModule } from './module.js';
import type { StackContext, TxBuffer } from './stack.js';
import { DEFAULT_PENDING_BYTES, type PendingPacket, ipv4FragmentUnit, pendingAdmits } from './pending.js';

/** RFC 5227 §1.1 (and RFC 3927 §9, same values) timing constants. */
export interface AcdTimings {
  /** Initial random delay before the first probe (0..probeWait). */
  readonly probeWait: Duration;
  readonly probeNum: number;
  /** Random spacing between probes (probeMin..probeMax). */
  readonly probeMin: Duration;
  readonly probeMax: Duration;
  /** Quiet time after the last probe before the address is declared free. */
  readonly announceWait: Duration;
  readonly announceNum: number;
  readonly announceInterval: Duration;
  /** A second conflict within this time of the first one is not defended again (§2.4). */
  readonly defendInterval: Duration;
}

export const RFC5227_TIMINGS: AcdTimings = {
  probeWait: Duration.seconds(1),
  probeNum: 3,
  probeMin: Duration.seconds(1),
  probeMax: Duration.seconds(2),
  announceWait: Duration.seconds(2),
  announceNum: 2,
  announceInterval: Duration.seconds(2),
  defendInterval: Duration.seconds(10),
};

export interface ArpOptions {
  /** Cache entries across all interfaces. */
  readonly maxEntries: number;
  /** How long a resolved entry is trusted. */
  readonly reachableTime: Duration;
  /** Interval between requests for one unresolved address. */
  readonly retransmitInterval: Duration;
  /** Requests sent before giving up on an address (its queued packets are dropped). */
  readonly maxRequests: number;
  /** Datagrams queued per unresolved address (the fragments of one datagram count once). */
  readonly maxPending: number;
  /** Bytes queued per unresolved address. */
  readonly maxPendingBytes: number;
  /**
   * Gratuitous ARP announcements (RFC 5227 §2.3) when an address is assigned after the interface was
   * added (Stack.addIpv4Address, probing, link-local) and when the link comes back up.
   */
  readonly announce: boolean;
  /** RFC 5227: probe configured addresses before using them and defend them afterwards. */
  readonly conflictDetection: boolean;
  readonly acd: AcdTimings;
  /** Probes and announcement series running at once (local requests, capped all the same). */
  readonly maxProbes: number;
}

export const DEFAULT_ARP_OPTIONS: ArpOptions = {
  maxEntries: 512,
  reachableTime: Duration.seconds(60),
  retransmitInterval: Duration.seconds(1),
  maxRequests: 3,
  maxPending: 3,
  maxPendingBytes: DEFAULT_PENDING_BYTES,
  announce: true,
  conflictDetection: false,
  acd: RFC5227_TIMINGS,
  maxProbes: 64,
};

/**
 * What a host does when another one claims an address it uses (RFC 5227 §2.4): 'none' only reports
 * it; 'defend' answers with an announcement at most once per DEFEND_INTERVAL and keeps the address
 * (§2.4 (c)); 'retreat' defends once and gives the address up on a second conflict within
 * DEFEND_INTERVAL (§2.4 (b), required for link-local addresses by RFC 3927 §2.5).
 */
export type DefendPolicy = 'none' | 'defend' | 'retreat';

/** A conflict seen on the link, as listeners receive it. */
export interface AddressConflict {
  readonly iface: NetInterface;
  readonly address: Ipv4Address;
  /** Hardware address of the other claimant. */
  readonly mac: MacAddress;
  /** 'probe-failed': a probed address is in use; the others follow the address's DefendPolicy. */
  readonly action: 'probe-failed' | 'ignored' | 'defended' | 'retreated';
}

export type ConflictListener = (c: AddressConflict, now: Instant) => void;

/** Called once when a probe ends: ok when nobody claimed the address. */
export type ProbeDone = (ok: boolean, now: Instant) => void;


interface ArpEntry {
  readonly iface: NetInterface;
  readonly ip: Ipv4Address;
  /** 0 until resolved. */
  mac: MacAddress;
  resolved: boolean;
  /** Resolved: when it expires. Unresolved: when the next request is due. */
  deadline: Instant;
  requestsSent: number;
  lastUsed: Instant;
  pending: PendingPacket[];
}

interface Probe {
  readonly iface: NetInterface;
  readonly address: Ipv4Address;
  readonly done: ProbeDone;
  sent: number;
  /** Next probe, or the end of the quiet period; NEVER while the link is down. */
  deadline: Instant;
}

interface Announcement {
  readonly iface: NetInterface;
  readonly address: Ipv4Address;
  left: number;
  deadline: Instant;
}

interface Claim {
  policy: DefendPolicy;
  /** When the last conflict was seen (for the DEFEND_INTERVAL rule). */
  lastConflict: Instant;
}

export class ArpModule implements StackModule {
  readonly name = 'arp';
  readonly options: ArpOptions;
  private ctx!: StackContext;
  private readonly cache = new Map<number, ArpEntry>();
  private readonly probes = new Map<number, Probe>();
  private readonly announcements = new Map<number, Announcement>();
  /** Per-address defence state of assigned addresses with a non-default policy or a recent conflict. */
  private readonly claims = new Map<number, Claim>();
  private readonly conflictListeners: ConflictListener[] = [];
  /** Interfaces whose link came up since the last poll. */
  private readonly linkUp = new Set<NetInterface>();

  constructor(options: Partial<ArpOptions> = {}) {
    this.options = { ...DEFAULT_ARP_OPTIONS, ...options, acd: { ...RFC5227_TIMINGS, ...options.acd } };
    const t = this.options.acd;
    if (!(t.probeNum >= 1) || !(t.announceNum >= 1) || !(t.probeMax >= t.probeMin)) throw new RangeError('arp: invalid RFC 5227 timings');
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    ctx.registerEthertype(EtherType.ARP, (iface, frame, off, len, now, link) => this.input(iface, frame, off, len, now, link));
  }

  private key(iface: NetInterface, ip: Ipv4Address): number {
    return iface.index * 0x1_0000_0000 + ip;
  }

  /** Number of cache entries (resolved and pending). */
  get size(): number {
    return this.cache.size;
  }

  lookup(iface: NetInterface, ip: Ipv4Address): MacAddress | undefined {
    const e = this.cache.get(this.key(iface, ip));
    return e?.resolved ? e.mac : undefined;
  }

  /** Adds a permanent-until-expiry entry (e.g. from configuration). */
  addStatic(iface: NetInterface, ip: Ipv4Address, mac: MacAddress, now: Instant): void {
    const e = this.entry(iface, ip, now, true);
    if (e) this.resolve(e, mac, now);
  }

  /**
   * Sends an IPv4 packet to `nextHop` on `iface`, resolving its MAC first if needed. Takes
   * ownership of `tx` in every case (sent, queued, or freed and counted when it cannot be queued).
   */
  output(iface: NetInterface, nextHop: Ipv4Address, tx: TxBuffer, l3Len: number, now: Instant): void {
    const e = this.cache.get(this.key(iface, nextHop));
    if (e?.resolved && e.deadline > now) {
      e.lastUsed = now;
      return this.ctx.sendL3(iface, tx, l3Len, e.mac, EtherType.IPV4);
    }
    const entry = e ?? this.entry(iface, nextHop, now, false);
    if (!entry) {
      this.ctx.stats.drop('arp', 'cache_full');
      return this.ctx.freeTx(tx);
    }
    if (entry.resolved) {
      // Expired: send on the stale mapping while re-resolving, as Linux's STALE state does.
      this.ctx.sendL3(iface, tx, l3Len, entry.mac, EtherType.IPV4);
      entry.resolved = false;
      entry.requestsSent = 0;
      entry.deadline = now;
      this.sendRequest(entry, now);
      return;
    }
    const p: PendingPacket = { tx, len: l3Len, unit: ipv4FragmentUnit(tx) };
    if (!pendingAdmits(entry.pending, p, this.options.maxPending, this.options.maxPendingBytes)) {
      this.ctx.stats.drop('arp', 'pending_queue_full');
      return this.ctx.freeTx(tx);
    }
    entry.pending.push(p);
    if (entry.deadline <= now) this.sendRequest(entry, now);
  }

  private entry(iface: NetInterface, ip: Ipv4Address, now: Instant, force: boolean): ArpEntry | undefined {
    const k = this.key(iface, ip);
    let e = this.cache.get(k);
    if (e) return e;
    if (this.cache.size >= this.options.maxEntries && !this.evict(force)) return undefined;
    e = { iface, ip, mac: 0, resolved: false, deadline: now, requestsSent: 0, lastUsed: now, pending: [] };
    this.cache.set(k, e);
    return e;
  }

  /** Evicts the least recently used entry with no queued packets (or any entry if `force`). */
  private evict(force: boolean): boolean {
    let victim: ArpEntry | undefined;
    for (const e of this.cache.values()) {
      if (e.pending.length > 0 && !force) continue;
      if (!victim || e.lastUsed < victim.lastUsed) victim = e;
    }
    if (!victim) return false;
    this.remove(victim);
    this.ctx.stats.count('arp', 'evicted');
    return true;
  }

  private remove(e: ArpEntry): void {
    for (const p of e.pending) {
      this.ctx.stats.drop('arp', 'unresolved');
      this.ctx.freeTx(p.tx);
    }
    e.pending.length = 0;
    this.cache.delete(this.key(e.iface, e.ip));
  }

  private resolve(e: ArpEntry, mac: MacAddress, now: Instant): void {
    e.mac = mac;
    e.resolved = true;
    e.deadline = Instant.add(now, this.options.reachableTime);
    e.requestsSent = 0;
    const queued = e.pending.splice(0);
    for (const p of queued) this.ctx.sendL3(e.iface, p.tx, p.len, mac, EtherType.IPV4);
  }

  private sendRequest(e: ArpEntry, now: Instant): void {
    const src = e.iface.ipv4[0];
    if (!src) {
      this.ctx.stats.drop('arp', 'no_source_address');
      return this.remove(e);
    }
    e.requestsSent++;
    e.deadline = Instant.add(now, this.options.retransmitInterval);
    this.send(e.iface, { operation: ArpOp.REQUEST, senderMac: e.iface.mac, senderIp: src.address, targetMac: 0, targetIp: e.ip }, MAC_BROADCAST);
    this.ctx.stats.count('arp', 'requests_sent');
  }

  private send(iface: NetInterface, r: ArpRepr, dstMac: MacAddress): void {
    if (iface.medium !== 'ethernet') return;
    const tx = this.ctx.allocTx(ARP_LEN);
    if (!tx) return;
    ArpRepr.emit(r, tx.buf, tx.l3Offset);
    this.ctx.sendL3(iface, tx, ARP_LEN, dstMac, EtherType.ARP);
  }

  /** A sender IP worth caching: unicast, not 0.0.0.0, not a broadcast of the interface's subnets. */
  private cacheableSender(iface: NetInterface, ip: Ipv4Address): boolean {
    if (ip === 0 || ip === IPV4_BROADCAST || isIpv4Multicast(ip)) return false;
    for (const c of iface.ipv4) if (c.prefixLen < 31 && ipv4SubnetBroadcast(c.address, c.prefixLen) === ip) return false;
    return true;
  }

  private input(iface: NetInterface, frame: Uint8Array, off: number, len: number, now: Instant, _link: LinkRxInfo): void {
    const stats = this.ctx.stats;
    const p = ArpPacket.check(frame, off, len);
    if (isWireError(p)) return stats.drop('arp', 'malformed');
    const op = p.oper;
    if (op !== ArpOp.REQUEST && op !== ArpOp.REPLY) return stats.drop('arp', 'unsupported_operation');
    stats.count('arp', op === ArpOp.REQUEST ? 'requests_received' : 'replies_received');
    const sha = p.sha;
    const spa = p.spa;
    const tpa = p.tpa;
    // A frame of ours coming back (hub, bridge loop) is neither a conflict nor news.
    if (sha === iface.mac) return stats.drop('arp', 'own_frame');
    if (sha === 0 || isMacMulticast(sha)) return stats.drop('arp', 'bad_sender_mac');
    // RFC 5227 §2.1.1: during a probe, any packet from the candidate address, or another host's
    // probe for it, means the address is taken.
    const probe = this.probes.get(this.key(iface, spa)) ?? (spa === 0 && op === ArpOp.REQUEST ? this.probes.get(this.key(iface, tpa)) : undefined);
    if (probe) this.probeConflict(probe, sha, now);
    // RFC 5227 §2.4: someone else claims an address we use.
    if (spa !== 0 && iface.hasIpv4(spa)) {
      this.conflict(iface, spa, sha, now);
      return stats.drop('arp', 'address_conflict');
    }
    const forUs = iface.hasIpv4(tpa);
    const cacheable = this.cacheableSender(iface, spa);
    // RFC 826 merge: refresh an existing entry for the sender, whatever the target.
    let e = cacheable ? this.cache.get(this.key(iface, spa)) : undefined;
    if (e) this.resolve(e, sha, now);
    if (op === ArpOp.REPLY) {
      // Replies only ever complete or refresh entries we have (H03): an unsolicited one is news of nothing.
      if (!e) stats.count('arp', 'unsolicited_replies');
      return;
    }
    if (!forUs) return stats.count('arp', 'not_for_us');
    // A request addressed to us: learn the sender (it is about to talk to us), unless it is probing (spa 0).
    if (!e && cacheable) {
      e = this.entry(iface, spa, now, false);
      if (e) this.resolve(e, sha, now);
      else stats.drop('arp', 'cache_full');
    } else if (!e && spa !== 0) {
      stats.drop('arp', 'bad_sender_ip');
    }
    // Unicast reply to the requester; a prober (spa 0) learns of the conflict from our sender IP.
    // RFC 3927 §2.5: replies from a link-local address are broadcast, so every host sees conflicts.
    const dstMac = tpa >>> 16 === 0xa9fe ? MAC_BROADCAST : sha;
    this.send(iface, { operation: ArpOp.REPLY, senderMac: iface.mac, senderIp: tpa, targetMac: sha, targetIp: spa }, dstMac);
    stats.count('arp', 'replies_sent');
  }

  // ---------------------------------------------------------------- RFC 5227 conflict detection

  /** Receives every conflict (probe failures, defences, retreats); returns an unsubscribe function. */
  onConflict(listener: ConflictListener): () => void {
    this.conflictListeners.push(listener);
    return () => {
      const i = this.conflictListeners.indexOf(listener);
      if (i >= 0) this.conflictListeners.splice(i, 1);
    };
  }

  private report(c: AddressConflict, now: Instant): void {
    this.ctx.stats.count('arp', `conflict_${c.action}`);
    for (const l of [...this.conflictListeners]) l(c, now);
  }

  /** Whether a probe for `address` on `iface` is running. */
  isProbing(iface: NetInterface, address: Ipv4Address): boolean {
    return this.probes.has(this.key(iface, address));
  }

  /** Addresses being probed on `iface` (not yet assigned). */
  probing(iface: NetInterface): Ipv4Address[] {
    const out: Ipv4Address[] = [];
    for (const p of this.probes.values()) if (p.iface === iface) out.push(p.address);
    return out;
  }

  /**
   * Probes for `address` on `iface` (RFC 5227 §2.1.1): after a random delay up to PROBE_WAIT,
   * PROBE_NUM requests with sender IP 0.0.0.0 spaced PROBE_MIN..PROBE_MAX apart, then ANNOUNCE_WAIT
   * of silence. `done` runs once with the result. False (and `done` never runs) when the interface is
   * not Ethernet, the address is assigned or being probed, or too many probes run.
   */
  probe(iface: NetInterface, address: Ipv4Address, now: Instant, done: ProbeDone): boolean {
    const k = this.key(iface, address);
    if (iface.medium !== 'ethernet' || iface.hasIpv4(address) || this.probes.has(k)) return false;
    if (this.probes.size >= this.options.maxProbes) {
      this.ctx.stats.drop('arp', 'probe_table_full');
      return false;
    }
    this.probes.set(k, { iface, address, done, sent: 0, deadline: iface.up ? Instant.add(now, this.randomDelay(Duration.ZERO, this.options.acd.probeWait)) : Instant.NEVER });
    this.ctx.stats.count('arp', 'probes_started');
    return true;
  }

  /** Stops a probe without calling its `done`. */
  cancelProbe(iface: NetInterface, address: Ipv4Address): boolean {
    return this.probes.delete(this.key(iface, address));
  }

  /**
   * Assigns `cidr` to `iface` through the stack (connected route, announcements), after probing
   * when conflict detection is on (or `opts.probe`). `opts.done` gets the outcome; `opts.policy`
   * (default: 'defend' with conflict detection, else 'none') governs later conflicts.
   */
  acquire(iface: NetInterface, cidr: Ipv4Cidr, now: Instant, opts: { probe?: boolean; policy?: DefendPolicy; done?: ProbeDone } = {}): boolean {
    const assign = (t: Instant): void => {
      if (opts.policy !== undefined) this.claims.set(this.key(iface, cidr.address), { policy: opts.policy, lastConflict: Instant.fromMicros(-Infinity) });
      this.ctx.addIpv4Address(iface, cidr, t);
    };
    if (!(opts.probe ?? this.options.conflictDetection) || iface.medium !== 'ethernet') {
      if (iface.hasIpv4(cidr.address)) return false;
      assign(now);
      opts.done?.(true, now);
      return true;
    }
    return this.probe(iface, cidr.address, now, (ok, t) => {
      if (ok) assign(t);
      opts.done?.(ok, t);
    });
  }

  /** Sends ANNOUNCE_NUM gratuitous ARP announcements for `address`, ANNOUNCE_INTERVAL apart (§2.3). */
  announce(iface: NetInterface, address: Ipv4Address, now: Instant): void {
    if (iface.medium !== 'ethernet' || !iface.up) return;
    const k = this.key(iface, address);
    if (!this.announcements.has(k) && this.announcements.size >= this.options.maxProbes) {
      return this.ctx.stats.drop('arp', 'announce_table_full');
    }
    this.announcements.set(k, { iface, address, left: this.options.acd.announceNum, deadline: now });
    this.sendAnnouncements(now);
  }

  private sendAnnouncements(now: Instant): void {
    for (const [k, a] of this.announcements) {
      if (a.deadline > now) continue;
      this.sendAnnouncement(a.iface, a.address);
      if (--a.left <= 0) this.announcements.delete(k);
      else a.deadline = Instant.add(now, this.options.acd.announceInterval);
    }
  }

  /** RFC 5227 §2.3: a request with sender and target IP both set to our address, broadcast. */
  private sendAnnouncement(iface: NetInterface, address: Ipv4Address): void {
    this.send(iface, { operation: ArpOp.REQUEST, senderMac: iface.mac, senderIp: address, targetMac: 0, targetIp: address }, MAC_BROADCAST);
    this.ctx.stats.count('arp', 'announcements_sent');
  }

  /** Sets how conflicts over an assigned address are handled (kept until the address is removed). */
  setDefendPolicy(iface: NetInterface, address: Ipv4Address, policy: DefendPolicy): void {
    const k = this.key(iface, address);
    const c = this.claims.get(k);
    if (c) c.policy = policy;
    else this.claims.set(k, { policy, lastConflict: Instant.fromMicros(-Infinity) });
  }

  private probeConflict(p: Probe, mac: MacAddress, now: Instant): void {
    this.probes.delete(this.key(p.iface, p.address));
    this.report({ iface: p.iface, address: p.address, mac, action: 'probe-failed' }, now);
    p.done(false, now);
  }

  /** RFC 5227 §2.4: another host uses `address`, which is assigned to `iface`. */
  private conflict(iface: NetInterface, address: Ipv4Address, mac: MacAddress, now: Instant): void {
    const k = this.key(iface, address);
    let claim = this.claims.get(k);
    const policy = claim?.policy ?? (this.options.conflictDetection ? 'defend' : 'none');
    if (policy === 'none') return this.report({ iface, address, mac, action: 'ignored' }, now);
    if (!claim) this.claims.set(k, (claim = { policy, lastConflict: Instant.fromMicros(-Infinity) }));
    const recent = Instant.since(now, claim.lastConflict) < this.options.acd.defendInterval;
    if (recent && policy === 'retreat') {
      this.report({ iface, address, mac, action: 'retreated' }, now);
      this.ctx.removeIpv4Address(iface, address, now);
      return;
    }
    if (recent) return this.report({ iface, address, mac, action: 'ignored' }, now);
    claim.lastConflict = now;
    this.sendAnnouncement(iface, address);
    this.report({ iface, address, mac, action: 'defended' }, now);
  }

  private randomDelay(min: Duration, max: Duration): Duration {
    const span = max - min;
    return Duration.micros(min + (span > 0 ? this.ctx.random.below(Math.min(span, 0xffff_ffff)) : 0));
  }

  // ---------------------------------------------------------------- lifecycle hooks

  interfaceAdded(iface: NetInterface, now: Instant): void {
    // Without conflict detection, addresses configured with the interface are used as they are (no
    // traffic at attach time; announce() sends the gratuitous ARPs on request).
    if (iface.medium !== 'ethernet' || !this.options.conflictDetection) return;
    // RFC 5227 §2.1: configured addresses are not used until probed. They come off the interface
    // (and any connected route another module added) and return through acquire().
    const configured = iface.ipv4.splice(0);
    for (const c of configured) {
      this.ctx.routes4.remove({ network: ipv4Network(c.address, c.prefixLen), prefixLen: c.prefixLen, ifIndex: iface.index, origin: 'connected' });
      this.acquire(iface, c, now, { probe: true });
    }
  }

  ipv4AddressAdded(iface: NetInterface, cidr: Ipv4Cidr, now: Instant): void {
    if (this.options.announce) this.announce(iface, cidr.address, now);
  }

  ipv4AddressRemoved(iface: NetInterface, cidr: Ipv4Cidr): void {
    const k = this.key(iface, cidr.address);
    this.announcements.delete(k);
    this.claims.delete(k);
  }

  linkChanged(iface: NetInterface, up: boolean): void {
    if (iface.medium !== 'ethernet') return;
    // A probe only counts when the link carried it: probes restart from the beginning on link up.
    // The stack's `now` in a link event may be stale, so that work waits for the next poll.
    for (const p of this.probes.values()) {
      if (p.iface !== iface) continue;
      p.sent = 0;
      p.deadline = Instant.NEVER;
    }
    for (const [k, a] of this.announcements) if (a.iface === iface) this.announcements.delete(k);
    if (up) this.linkUp.add(iface);
    else this.linkUp.delete(iface);
  }

  private linkCameUp(iface: NetInterface, now: Instant): void {
    if (!iface.up) return;
    for (const p of this.probes.values()) {
      if (p.iface === iface && p.deadline === Instant.NEVER) p.deadline = Instant.add(now, this.randomDelay(Duration.ZERO, this.options.acd.probeWait));
    }
    if (this.options.announce) for (const c of iface.ipv4) this.announce(iface, c.address, now);
  }

  // ---------------------------------------------------------------- timers

  pollAt(now: Instant): Instant {
    if (this.linkUp.size > 0) return now;
    let t = Instant.NEVER;
    for (const e of this.cache.values()) if (e.deadline < t) t = e.deadline;
    for (const p of this.probes.values()) if (p.deadline < t) t = p.deadline;
    for (const a of this.announcements.values()) if (a.deadline < t) t = a.deadline;
    return t;
  }

  poll(now: Instant): void {
    for (const iface of this.linkUp) this.linkCameUp(iface, now);
    this.linkUp.clear();
    for (const e of [...this.cache.values()]) {
      if (e.deadline > now) continue;
      if (e.resolved) {
        // Expired and unused: forget it (re-resolved on the next packet).
        this.cache.delete(this.key(e.iface, e.ip));
        continue;
      }
      if (e.requestsSent >= this.options.maxRequests) {
        this.ctx.stats.count('arp', 'resolution_failed');
        this.remove(e);
        continue;
      }
      this.sendRequest(e, now);
    }
    this.pollProbes(now);
    this.sendAnnouncements(now);
  }

  private pollProbes(now: Instant): void {
    const t = this.options.acd;
    for (const [k, p] of [...this.probes]) {
      if (p.deadline > now) continue;
      if (p.sent >= t.probeNum) {
        // ANNOUNCE_WAIT passed in silence: the address is ours.
        this.probes.delete(k);
        this.ctx.stats.count('arp', 'probes_succeeded');
        p.done(true, now);
        continue;
      }
      this.send(p.iface, { operation: ArpOp.REQUEST, senderMac: p.iface.mac, senderIp: 0, targetMac: 0, targetIp: p.address }, MAC_BROADCAST);
      this.ctx.stats.count('arp', 'probes_sent');
      p.sent++;
      p.deadline = Instant.add(now, p.sent < t.probeNum ? this.randomDelay(t.probeMin, t.probeMax) : t.announceWait);
    }
  }

  /** Frees queued packets (stack close). */
  close(): void {
    for (const e of [...this.cache.values()]) this.remove(e);
    this.probes.clear();
    this.announcements.clear();
    this.linkUp.clear();
  }

  describe(): string[] {
    return [...this.cache.values()].map((e) => `${formatIpv4(e.ip)} ${e.resolved ? e.mac.toString(16) : '(incomplete)'} ${e.iface.name}`);
  }
}
