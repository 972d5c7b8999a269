// Multicast Listener Discovery, host side: MLDv2 (RFC 3810) with MLDv1 (RFC 2710) compatibility.
// Group membership itself lives in the IPv6 module (joinGroup/leaveGroup, reference counted, mirrored
// into the interface's multicast MAC filter); this module turns membership changes into reports:
// unsolicited State Change Reports on join and leave, retransmitted [Robustness Variable] - 1 times
// at random intervals (RFC 3810 §6.1), and answers to General, Group-Specific and Group-and-Source-
// Specific Queries after a random delay within the Maximum Response Delay (§6.2, §6.3). A v1 query
// switches the interface to v1 compatibility for the Older Version Querier Present Timeout (§8.2.1),
// where v1 reports are suppressed by other listeners' reports (RFC 2710 §4). Every message goes out
// with hop limit 1, a Hop-by-Hop Router Alert and a link-local source (:: before one exists, §5.2.13).
// Queries from a non-link-local source or with hop limit other than 1 are ignored (H53). ff02::1 and
// interface-local groups are never reported (§6).

import { Duration, Instant } from '../time/instant.js';
import { type Ipv6Address, isIpv6LinkLocal, isIpv6Unspecified } from '../wire/address.js';
import { isWireError } from '../wire/error.js';
import type { Icmpv6Packet } from '../wire/icmpv6.js';
import { MLD_V2_REPORT_MIN_LEN, type MldAddressRecord, MldPacket, MldRepr, MldType } from '../wire/mld.js';
import type { Icmpv6Module } from './icmpv6.js';
import type { NetInterface } from './interface.js';
import { IPV6_ALL_MLDV2_ROUTERS, IPV6_ALL_NODES, IPV6_ALL_ROUTERS, type Ipv6Module, type Ipv6RxInfo, ipv6Key } from './ipv6.js';
import type { StackModule } from './module.js';
import type { StackContext } from './stack.js';

/** RFC 3810 §5.2.12 record types. */
export const MldRecordType = { MODE_IS_INCLUDE: 1, MODE_IS_EXCLUDE: 2, CHANGE_TO_INCLUDE: 3, CHANGE_TO_EXCLUDE: 4 } as const;

export interface MldOptions {
  /** Robustness Variable (RFC 3810 §9.1). */
  readonly robustness: number;
  /** Unsolicited Report Interval: v2 (§9.11) and v1 (RFC 2710 §7.10). */
  readonly unsolicitedReportInterval: Duration;
  readonly v1UnsolicitedReportInterval: Duration;
  /** Query Interval and Query Response Interval, used for the Older Version Querier Present Timeout. */
  readonly queryInterval: Duration;
  readonly queryResponseInterval: Duration;
  /** Sources remembered per group from Group-and-Source-Specific Queries (attacker-sized: capped). */
  readonly maxQuerySources: number;
}

export const DEFAULT_MLD_OPTIONS: MldOptions = {
  robustness: 2,
  unsolicitedReportInterval: Duration.seconds(1),
  v1UnsolicitedReportInterval: Duration.seconds(10),
  queryInterval: Duration.seconds(125),
  queryResponseInterval: Duration.seconds(10),
  maxQuerySources: 64,
};

interface Group {
  readonly address: Ipv6Address;
  /** Pending query response (NEVER when none). */
  timer: Instant;
  /** Sources asked about by a Group-and-Source-Specific Query; null = the whole group. */
  sources: Map<string, Ipv6Address> | null;
  /** v1: unsolicited report repetitions left. */
  v1Repeats: number;
}

interface MldIf {
  readonly iface: NetInterface;
  readonly groups: Map<string, Group>;
  /** v1 compatibility until then (Older Version Querier Present Timeout). */
  v1Until: Instant;
  /** v2 pending General Query response. */
  generalTimer: Instant;
  /** v2 state-change records still to retransmit. */
  readonly changes: Map<string, { address: Ipv6Address; type: number; left: number }>;
  changeTimer: Instant;
}

/** RFC 3810 §6: ff02::1 and scopes 0/1 are not reported. */
export function isReportableGroup(g: Ipv6Address): boolean {
  const scope = g[1]! & 0x0f;
  if (scope <= 1) return false;
  for (let i = 0; i < 16; i++) if (g[i] !== IPV6_ALL_NODES[i]) return true;
  return false;
}

export class MldModule implements StackModule {
  readonly name = 'mld';
  readonly options: MldOptions;
  private ctx!: StackContext;
  private ip!: Ipv6Module;
  private icmp!: Icmpv6Module;
  private readonly ifs = new Map<NetInterface, MldIf>();

  constructor(options: Partial<MldOptions> = {}) {
    this.options = { ...DEFAULT_MLD_OPTIONS, ...options };
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv6Module>('ipv6');
    const icmp = ctx.module<Icmpv6Module>('icmpv6');
    if (!ip || !icmp) throw new Error("the 'mld' module needs the 'ipv6' and 'icmpv6' modules");
    this.ip = ip;
    this.icmp = icmp;
    for (const t of [MldType.QUERY, MldType.V1_REPORT, MldType.V1_DONE, MldType.V2_REPORT]) {
      icmp.registerType(t, (m, info, now) => this.input(m, info, now));
    }
    ip.observe({
      groupJoined: (iface, g, now) => this.changed(iface, g, true, now),
      groupLeft: (iface, g, now) => this.changed(iface, g, false, now),
    });
  }

  /** Joins `group` on `iface` (reference counted): the link filter accepts it and routers hear a report. */
  join(iface: NetInterface, group: Ipv6Address, now: Instant): boolean {
    return this.ip.joinGroup(iface, group, now);
  }

  /** Drops one reference; the last one sends a leave (Done / CHANGE_TO_INCLUDE). */
  leave(iface: NetInterface, group: Ipv6Address, now: Instant): boolean {
    return this.ip.leaveGroup(iface, group, now);
  }

  /** 1 while an MLDv1 querier was heard recently on `iface`, else 2. */
  version(iface: NetInterface, now: Instant): 1 | 2 {
    const s = this.ifs.get(iface);
    return s && s.v1Until > now ? 1 : 2;
  }

  private st(iface: NetInterface): MldIf {
    let s = this.ifs.get(iface);
    if (!s) {
      s = { iface, groups: new Map(), v1Until: Instant.fromMicros(-Infinity), generalTimer: Instant.NEVER, changes: new Map(), changeTimer: Instant.NEVER };
      this.ifs.set(iface, s);
    }
    return s;
  }

  private rand(max: Duration): Duration {
    return Duration.micros(max > 0 ? this.ctx.random.below(Math.min(max, 0xffff_ffff)) : 0);
  }

  private changed(iface: NetInterface, group: Ipv6Address, joined: boolean, now: Instant): void {
    if (!isReportableGroup(group)) return;
    const s = this.st(iface);
    const k = ipv6Key(group);
    if (joined) s.groups.set(k, { address: group.slice(), timer: Instant.NEVER, sources: null, v1Repeats: 0 });
    else s.groups.delete(k);
    this.unsolicited(s, group, joined, now);
  }

  private unsolicited(s: MldIf, group: Ipv6Address, joined: boolean, now: Instant): void {
    const k = ipv6Key(group);
    if (this.version(s.iface, now) === 1) {
      if (joined) {
        this.sendV1(s.iface, 'report', group, now);
        const g = s.groups.get(k)!;
        g.v1Repeats = this.options.robustness - 1;
        if (g.v1Repeats > 0) g.timer = Instant.add(now, this.rand(this.options.v1UnsolicitedReportInterval));
      } else {
        this.sendV1(s.iface, 'done', group, now);
      }
      return;
    }
    // RFC 3810 §6.1: a filter-mode change record, sent now and retransmitted; a newer change replaces an older one.
    s.changes.set(k, { address: group.slice(), type: joined ? MldRecordType.CHANGE_TO_EXCLUDE : MldRecordType.CHANGE_TO_INCLUDE, left: this.options.robustness });
    this.sendChanges(s, now);
  }

  linkChanged(iface: NetInterface, up: boolean, now: Instant): void {
    if (!up) return;
    const s = this.ifs.get(iface);
    if (s) for (const g of s.groups.values()) this.unsolicited(s, g.address, true, now);
  }

  private sendChanges(s: MldIf, now: Instant): void {
    const records: MldAddressRecord[] = [];
    for (const [k, c] of s.changes) {
      records.push({ recordType: c.type, multicastAddress: c.address, sources: [] });
      if (--c.left <= 0) s.changes.delete(k);
    }
    if (records.length > 0) this.sendV2(s.iface, records, now);
    s.changeTimer = s.changes.size > 0 ? Instant.add(now, this.rand(this.options.unsolicitedReportInterval)) : Instant.NEVER;
  }

  // ---------------------------------------------------------------- input

  private input(msg: Icmpv6Packet, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    // RFC 3810 §5.1.14, §7.4 / RFC 2710 §3: link-local source, hop limit 1 (H53).
    if (!isIpv6LinkLocal(info.src)) return stats.drop('mld', 'source_not_link_local');
    if (info.hopLimit !== 1) return stats.drop('mld', 'bad_hop_limit');
    const p = MldPacket.check(msg.buf, msg.off, msg.len);
    if (isWireError(p)) return stats.drop('mld', `malformed_${p.field}`);
    const s = this.st(info.iface);
    if (p.type === MldType.V1_REPORT) {
      // RFC 2710 §4: another listener reported: suppress ours (v1 only).
      const g = s.groups.get(ipv6Key(p.multicastAddress));
      if (g && this.version(info.iface, now) === 1) {
        g.timer = Instant.NEVER;
        g.v1Repeats = 0;
        stats.count('mld', 'report_suppressed');
      }
      return stats.count('mld', 'reports_heard');
    }
    if (p.type !== MldType.QUERY) return stats.count('mld', 'reports_heard');
    const group = p.multicastAddress;
    const general = isIpv6Unspecified(group);
    if (!general && group[0] !== 0xff) return stats.drop('mld', 'query_bad_group');
    stats.count('mld', 'queries_received');
    const maxDelay = Duration.millis(p.maxResponseDelay);
    if (p.version === 1) s.v1Until = Instant.add(now, Duration.micros(this.options.robustness * this.options.queryInterval + this.options.queryResponseInterval));
    if (this.version(info.iface, now) === 1) return this.queryV1(s, general, group, maxDelay, now);
    const delay = Instant.add(now, this.rand(maxDelay));
    if (general) {
      // §6.2 rule 1-2: keep an earlier pending general response.
      if (s.generalTimer > delay) s.generalTimer = delay;
      return;
    }
    const g = s.groups.get(ipv6Key(group));
    if (!g) return stats.count('mld', 'query_not_member');
    if (s.generalTimer <= delay) return; // the pending general response covers it
    const sources = p.numberOfSources;
    if (sources === 0) g.sources = null;
    else if (g.timer === Instant.NEVER || g.sources !== null) {
      // §6.2 rule 4-5: accumulate queried sources (bounded); a group-wide query wins.
      g.sources ??= new Map();
      for (let i = 0; i < sources && g.sources.size < this.options.maxQuerySources; i++) {
        const a = p.source(i);
        g.sources.set(ipv6Key(a), a);
      }
      if (g.sources.size >= this.options.maxQuerySources) stats.count('mld', 'query_sources_capped');
    }
    if (g.timer > delay) g.timer = delay;
  }

  private queryV1(s: MldIf, general: boolean, group: Ipv6Address, maxDelay: Duration, now: Instant): void {
    const targets = general ? [...s.groups.values()] : [s.groups.get(ipv6Key(group))].filter((g): g is Group => g !== undefined);
    for (const g of targets) {
      const at = Instant.add(now, this.rand(maxDelay));
      g.sources = null;
      if (g.timer > at) g.timer = at;
    }
  }

  // ---------------------------------------------------------------- output

  private params(iface: NetInterface, dst: Ipv6Address) {
    const ll = this.ip.linkLocalAddress(iface);
    return { dst, iface, hopLimit: 1, routerAlert: 0, allowUnspecifiedSource: true, src: ll ?? new Uint8Array(16) };
  }

  private sendV1(iface: NetInterface, kind: 'report' | 'done', group: Ipv6Address, now: Instant): void {
    const repr: MldRepr = { kind, multicastAddress: group };
    const err = this.icmp.sendMessage(this.params(iface, kind === 'done' ? IPV6_ALL_ROUTERS : group), MldRepr.bufferLen(repr), (b, o) => MldRepr.emit(repr, b, o), now);
    if (err) this.ctx.stats.drop('mld', `tx_${err}`);
    else this.ctx.stats.count('mld', kind === 'done' ? 'done_sent' : 'v1_reports_sent');
  }

  /** Sends `records` in as many v2 reports as the link MTU needs. */
  private sendV2(iface: NetInterface, records: MldAddressRecord[], now: Instant): void {
    // IPv6 header + Hop-by-Hop (8) + report header; records without sources are 20 bytes.
    const room = this.ip.linkMtu(iface) - 40 - 8 - MLD_V2_REPORT_MIN_LEN;
    let batch: MldAddressRecord[] = [];
    let used = 0;
    const flush = () => {
      if (batch.length === 0) return;
      const repr: MldRepr = { kind: 'reportV2', records: batch };
      const err = this.icmp.sendMessage(this.params(iface, IPV6_ALL_MLDV2_ROUTERS), MldRepr.bufferLen(repr), (b, o) => MldRepr.emit(repr, b, o), now);
      if (err) this.ctx.stats.drop('mld', `tx_${err}`);
      else this.ctx.stats.count('mld', 'v2_reports_sent');
      batch = [];
      used = 0;
    };
    for (const r of records) {
      const len = 20 + 16 * r.sources.length;
      if (used + len > room) flush();
      batch.push(len > room ? { ...r, sources: r.sources.slice(0, Math.floor((room - 20) / 16)) } : r);
      used += Math.min(len, room);
    }
    flush();
  }

  // ---------------------------------------------------------------- timers

  pollAt(_now: Instant): Instant {
    let t = Instant.NEVER;
    for (const s of this.ifs.values()) {
      if (s.generalTimer < t) t = s.generalTimer;
      if (s.changeTimer < t) t = s.changeTimer;
      for (const g of s.groups.values()) if (g.timer < t) t = g.timer;
    }
    return t;
  }

  poll(now: Instant): void {
    for (const s of this.ifs.values()) {
      const v1 = this.version(s.iface, now) === 1;
      if (s.changeTimer <= now) this.sendChanges(s, now);
      if (s.generalTimer <= now) {
        s.generalTimer = Instant.NEVER;
        if (!v1) {
          const records = [...s.groups.values()].map((g) => ({ recordType: MldRecordType.MODE_IS_EXCLUDE, multicastAddress: g.address, sources: [] as Ipv6Address[] }));
          if (records.length > 0) this.sendV2(s.iface, records, now);
        }
      }
      const due: MldAddressRecord[] = [];
      for (const g of s.groups.values()) {
        if (g.timer > now) continue;
        g.timer = Instant.NEVER;
        if (v1) {
          this.sendV1(s.iface, 'report', g.address, now);
          if (--g.v1Repeats > 0) g.timer = Instant.add(now, this.rand(this.options.v1UnsolicitedReportInterval));
          continue;
        }
        // §6.3: EXCLUDE({}) state answers a source-specific query with IS_IN(queried sources).
        const src = g.sources ? [...g.sources.values()] : null;
        g.sources = null;
        due.push(src ? { recordType: MldRecordType.MODE_IS_INCLUDE, multicastAddress: g.address, sources: src } : { recordType: MldRecordType.MODE_IS_EXCLUDE, multicastAddress: g.address, sources: [] });
      }
      if (due.length > 0) this.sendV2(s.iface, due, now);
    }
  }
}
