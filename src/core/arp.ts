// ARP (RFC 826) for IPv4 over Ethernet: the neighbour cache, address resolution for outgoing
// packets, and replies for our addresses. Hardened per SECURITY-CASES H02/H03/E6:
//  - entries are created only for replies we asked for or requests addressed to us (RFC 826 merge
//    rule); an unsolicited reply only refreshes an existing entry;
//  - broadcast/multicast sender MACs and sender IP 0.0.0.0 (probes) are never cached;
//  - the cache is capped (least recently used non-pending entry evicted), requests are rate limited
//    per target (RFC 1122 §2.3.2.1), and at most `maxPending` packets wait per unresolved address.
// Not here (yet): RFC 5227 conflict detection and gratuitous announcements.

import { Duration, Instant } from '../time/instant.js';
import { MAC_BROADCAST, type Ipv4Address, type MacAddress, formatIpv4, isMacMulticast } from '../wire/address.js';
import { ARP_LEN, ArpOp, ArpPacket, ArpRepr } from '../wire/arp.js';
import { EtherType } from '../wire/ethertype.js';
import { isWireError } from '../wire/error.js';
import type { NetInterface } from './interface.js';
import type { LinkRxInfo, StackModule } from './module.js';
import type { StackContext, TxBuffer } from './stack.js';

export interface ArpOptions {
  /** Cache entries across all interfaces. */
  readonly maxEntries: number;
  /** How long a resolved entry is trusted. */
  readonly reachableTime: Duration;
  /** Interval between requests for one unresolved address. */
  readonly retransmitInterval: Duration;
  /** Requests sent before giving up on an address (its queued packets are dropped). */
  readonly maxRequests: number;
  /** Packets queued per unresolved address. */
  readonly maxPending: number;
}

export const DEFAULT_ARP_OPTIONS: ArpOptions = {
  maxEntries: 512,
  reachableTime: Duration.seconds(60),
  retransmitInterval: Duration.seconds(1),
  maxRequests: 3,
  maxPending: 3,
};

interface PendingPacket {
  readonly tx: TxBuffer;
  readonly l3Len: number;
}

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

export class ArpModule implements StackModule {
  readonly name = 'arp';
  readonly options: ArpOptions;
  private ctx!: StackContext;
  private readonly cache = new Map<number, ArpEntry>();

  constructor(options: Partial<ArpOptions> = {}) {
    this.options = { ...DEFAULT_ARP_OPTIONS, ...options };
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
    if (entry.pending.length >= this.options.maxPending) {
      this.ctx.stats.drop('arp', 'pending_queue_full');
      return this.ctx.freeTx(tx);
    }
    entry.pending.push({ tx, l3Len });
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
    for (const p of queued) this.ctx.sendL3(e.iface, p.tx, p.l3Len, mac, EtherType.IPV4);
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
    const tx = this.ctx.allocTx(ARP_LEN);
    if (!tx) return;
    ArpRepr.emit(r, tx.buf, tx.l3Offset);
    this.ctx.sendL3(iface, tx, ARP_LEN, dstMac, EtherType.ARP);
  }

  private input(iface: NetInterface, frame: Uint8Array, off: number, len: number, now: Instant, _link: LinkRxInfo): void {
    const p = ArpPacket.check(frame, off, len);
    if (isWireError(p)) return this.ctx.stats.drop('arp', 'malformed');
    const op = p.oper;
    if (op !== ArpOp.REQUEST && op !== ArpOp.REPLY) return this.ctx.stats.drop('arp', 'unsupported_operation');
    this.ctx.stats.count('arp', op === ArpOp.REQUEST ? 'requests_received' : 'replies_received');
    const sha = p.sha;
    const spa = p.spa;
    const tpa = p.tpa;
    if (isMacMulticast(sha)) return this.ctx.stats.drop('arp', 'bad_sender_mac');
    if (iface.hasIpv4(spa)) return this.ctx.stats.drop('arp', 'address_conflict');
    const forUs = iface.hasIpv4(tpa);
    // RFC 826 merge: refresh an existing entry for the sender, whatever the target.
    let e = spa !== 0 ? this.cache.get(this.key(iface, spa)) : undefined;
    if (e) this.resolve(e, sha, now);
    if (!forUs) return this.ctx.stats.count('arp', 'not_for_us');
    // Addressed to us: learn the sender (it is about to talk to us), unless it is probing (spa 0).
    if (!e && spa !== 0) {
      e = this.entry(iface, spa, now, false);
      if (e) this.resolve(e, sha, now);
      else this.ctx.stats.drop('arp', 'cache_full');
    }
    if (op === ArpOp.REQUEST) {
      this.send(iface, { operation: ArpOp.REPLY, senderMac: iface.mac, senderIp: tpa, targetMac: sha, targetIp: spa }, sha);
      this.ctx.stats.count('arp', 'replies_sent');
    }
  }

  pollAt(_now: Instant): Instant {
    let t = Instant.NEVER;
    for (const e of this.cache.values()) if (e.deadline < t) t = e.deadline;
    return t;
  }

  poll(now: Instant): void {
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
  }

  describe(): string[] {
    return [...this.cache.values()].map((e) => `${formatIpv4(e.ip)} ${e.resolved ? e.mac.toString(16) : '(incomplete)'} ${e.iface.name}`);
  }
}
