// IGMP, host side: IGMPv3 (RFC 3376) with IGMPv2 (RFC 2236) and IGMPv1 (RFC 1112) compatibility.
// Group membership itself lives in the IPv4 module (joinGroup/leaveGroup: reference counted, mirrored
// into the interface's multicast MAC filter, and the input filter that accepts multicast only for
// joined groups); this module turns membership changes into reports and answers queries:
//  - v3: State-Change Reports (CHANGE_TO_EXCLUDE {} on join, CHANGE_TO_INCLUDE {} on leave) sent at
//    once and retransmitted [Robustness Variable] - 1 times at random within the Unsolicited Report
//    Interval (RFC 3376 §5.1); Current-State Reports (IS_EXCLUDE {}, or IS_INCLUDE(sources) for a
//    Group-and-Source-Specific Query) after a random delay within Max Resp Time (§5.2);
//  - v1/v2: reports to the group on join (repeated), v2 Leave to 224.0.0.2 when we were the last to
//    report (RFC 2236 §3), and report suppression when another member answers first;
//  - Host Compatibility Mode (RFC 3376 §7.2.1): a v1 or v2 query starts the Older Version Querier
//    Present timer and the host speaks that version until it runs out; every mode change cancels the
//    pending response and retransmission timers.
// Every message leaves with TTL 1 and the Router Alert option (RFC 2113). 224.0.0.1 is joined on every
// interface implicitly and never reported. Malformed messages (H53: shorter than 8 bytes, a v3 query
// whose source count runs past the data) are rejected by the codec and counted here, as are messages
// with a bad checksum or a TTL other than 1 (sent from off-link). Attacker-sized state is capped:
// sources remembered from queries per group, and pending state-change records per interface.

import { Duration, Instant } from '../time/instant.js';
import { type Ipv4Address, isIpv4Multicast } from '../wire/address.js';
import { isWireError } from '../wire/error.js';
import { GroupRecordType, IGMP_HEADER_LEN, type IgmpGroupRecord, IgmpPacket, IgmpRepr, IgmpType } from '../wire/igmp.js';
import { IpProtocol } from '../wire/ip-protocol.js';
import type { NetInterface } from './interface.js';
import { IPV4_ALL_HOSTS, type Ipv4Module, type Ipv4RxInfo } from './ipv4.js';
import type { StackModule } from './module.js';
import type { StackContext } from './stack.js';

/** 224.0.0.2: v2 Leave Group messages go here (RFC 2236 §3). */
export const IPV4_ALL_ROUTERS: Ipv4Address = 0xe000_0002;
/** 224.0.0.22: v3 reports go here (RFC 3376 §4.2.14). */
export const IGMPV3_ROUTERS: Ipv4Address = 0xe000_0016;
/** Router Alert option (RFC 2113): type 0x94, length 4, value 0. */
export const ROUTER_ALERT_OPTION: Uint8Array = Uint8Array.of(0x94, 0x04, 0x00, 0x00);

export type IgmpVersion = 1 | 2 | 3;

export interface IgmpOptions {
  /** Highest version spoken (a host may be configured for v2, RFC 3376 §7.2.1). */
  readonly maxVersion: IgmpVersion;
  /** Robustness Variable (RFC 3376 §8.1): transmissions of each unsolicited report. */
  readonly robustness: number;
  /** Unsolicited Report Interval: v3 (RFC 3376 §8.11) and v1/v2 (RFC 2236 §8.10). */
  readonly unsolicitedReportInterval: Duration;
  readonly v2UnsolicitedReportInterval: Duration;
  /** Query Interval and Query Response Interval: the Older Version Querier Present Timeout (§8.12). */
  readonly queryInterval: Duration;
  readonly queryResponseInterval: Duration;
  /** Sources remembered per group from Group-and-Source-Specific Queries (attacker-sized: capped). */
  readonly maxQuerySources: number;
  /** State-change records awaiting retransmission per interface; the oldest is dropped beyond it. */
  readonly maxPendingChanges: number;
}

export const DEFAULT_IGMP_OPTIONS: IgmpOptions = {
  maxVersion: 3,
  robustness: 2,
  unsolicitedReportInterval: Duration.seconds(1),
  v2UnsolicitedReportInterval: Duration.seconds(10),
  queryInterval: Duration.seconds(125),
  queryResponseInterval: Duration.seconds(10),
  maxQuerySources: 64,
  maxPendingChanges: 64,
};

interface Group {
  readonly address: Ipv4Address;
  /** Pending report (query response or unsolicited repetition); NEVER when none. */
  timer: Instant;
  /** v3: sources asked about by Group-and-Source-Specific Queries; null = the whole group. */
  sources: Set<Ipv4Address> | null;
  /** v1/v2: unsolicited repetitions left. */
  repeats: number;
  /** v2: we sent the last report heard for the group, so we owe the Leave (RFC 2236 §3). */
  lastReporter: boolean;
}

interface IgmpIf {
  readonly iface: NetInterface;
  readonly groups: Map<Ipv4Address, Group>;
  /** Older Version Querier Present timers (RFC 3376 §7.2.1). */
  v1Until: Instant;
  v2Until: Instant;
  mode: IgmpVersion;
  /** v3: pending General Query response. */
  generalTimer: Instant;
  /** v3: state-change records still to (re)transmit, by group. */
  readonly changes: Map<Ipv4Address, { type: number; left: number }>;
  changeTimer: Instant;
}

const PAST = Instant.fromMicros(-Infinity);

export class IgmpModule implements StackModule {
  readonly name = 'igmp';
  readonly options: IgmpOptions;
  private ctx!: StackContext;
  private ip!: Ipv4Module;
  private readonly ifs = new Map<NetInterface, IgmpIf>();
  /** Interfaces whose link came up since the last poll. */
  private readonly linkUp = new Set<IgmpIf>();

  constructor(options: Partial<IgmpOptions> = {}) {
    this.options = { ...DEFAULT_IGMP_OPTIONS, ...options };
    const o = this.options;
    if (!Number.isInteger(o.robustness) || o.robustness < 1) throw new RangeError(`igmp: robustness ${o.robustness} must be >= 1`);
    if (![1, 2, 3].includes(o.maxVersion)) throw new RangeError(`igmp: maxVersion ${o.maxVersion} must be 1, 2 or 3`);
    if (!(o.maxQuerySources >= 0) || !(o.maxPendingChanges >= 1)) throw new RangeError('igmp: invalid caps');
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv4Module>('ipv4');
    if (!ip) throw new Error("the 'igmp' module needs the 'ipv4' module");
    this.ip = ip;
    ip.registerProtocol(IpProtocol.IGMP, (buf, off, len, info, now) => this.input(buf, off, len, info, now));
    ip.observeGroups({
      groupJoined: (iface, g, now) => this.changed(iface, g, true, now),
      groupLeft: (iface, g, now) => this.changed(iface, g, false, now),
    });
  }

  interfaceAdded(iface: NetInterface, now: Instant): void {
    this.st(iface);
    // RFC 1112 §4 / RFC 2236 §6: every interface is a member of all-hosts, silently. Joining it
    // through the IPv4 module puts its MAC in the filter with a reference count of its own.
    this.ip.joinGroup(iface, IPV4_ALL_HOSTS, now);
  }

  /** Joins `group` on `iface` (reference counted); the first join sends unsolicited reports. */
  join(iface: NetInterface, group: Ipv4Address, now: Instant): boolean {
    if (group === IPV4_ALL_HOSTS) return true;
    return this.ip.joinGroup(iface, group, now);
  }

  /** Drops one reference; the last one sends the leave (v2 Leave / v3 CHANGE_TO_INCLUDE {}). 224.0.0.1 is never left. */
  leave(iface: NetInterface, group: Ipv4Address, now: Instant): boolean {
    if (group === IPV4_ALL_HOSTS) return false;
    return this.ip.leaveGroup(iface, group, now);
  }

  /** Whether IPv4 multicast to `group` is accepted on `iface` (joined, or 224.0.0.1). */
  isMember(iface: NetInterface, group: Ipv4Address): boolean {
    return this.ip.isMember(iface, group);
  }

  /** The reported groups joined on `iface` (224.0.0.1 is implicit and not listed). */
  groups(iface: NetInterface): Ipv4Address[] {
    return [...(this.ifs.get(iface)?.groups.keys() ?? [])];
  }

  /** Host Compatibility Mode of `iface` at `now` (RFC 3376 §7.2.1). */
  version(iface: NetInterface, now: Instant): IgmpVersion {
    const s = this.ifs.get(iface);
    return s ? this.modeAt(s, now) : this.options.maxVersion;
  }

  private st(iface: NetInterface): IgmpIf {
    let s = this.ifs.get(iface);
    if (!s) {
      s = { iface, groups: new Map(), v1Until: PAST, v2Until: PAST, mode: this.options.maxVersion, generalTimer: Instant.NEVER, changes: new Map(), changeTimer: Instant.NEVER };
      this.ifs.set(iface, s);
    }
    return s;
  }

  private modeAt(s: IgmpIf, now: Instant): IgmpVersion {
    const heard: IgmpVersion = s.v1Until > now ? 1 : s.v2Until > now ? 2 : 3;
    return Math.min(heard, this.options.maxVersion) as IgmpVersion;
  }

  /** RFC 3376 §7.2.1: a change of compatibility mode cancels pending responses and retransmissions. */
  private syncMode(s: IgmpIf, now: Instant): void {
    const m = this.modeAt(s, now);
    if (m === s.mode) return;
    s.mode = m;
    for (const g of s.groups.values()) this.cancel(g);
    s.generalTimer = Instant.NEVER;
    s.changes.clear();
    s.changeTimer = Instant.NEVER;
    this.ctx.stats.count('igmp', 'compat_mode_changes');
  }

  private cancel(g: Group): void {
    g.timer = Instant.NEVER;
    g.repeats = 0;
    g.sources = null;
  }

  private rand(max: Duration): Duration {
    return Duration.micros(max > 0 ? this.ctx.random.below(Math.min(max, 0xffff_ffff)) : 0);
  }

  // ---------------------------------------------------------------- membership changes

  private changed(iface: NetInterface, group: Ipv4Address, joined: boolean, now: Instant): void {
    if (group === IPV4_ALL_HOSTS) return;
    const s = this.st(iface);
    this.syncMode(s, now);
    let g = s.groups.get(group);
    if (joined) {
      g = { address: group, timer: Instant.NEVER, sources: null, repeats: 0, lastReporter: false };
      s.groups.set(group, g);
    } else {
      s.groups.delete(group);
    }
    if (iface.up) this.unsolicited(s, group, joined, g, now);
  }

  private unsolicited(s: IgmpIf, group: Ipv4Address, joined: boolean, g: Group | undefined, now: Instant): void {
    if (s.mode === 3) {
      this.queueChange(s, group, joined);
      this.sendChanges(s, now);
      return;
    }
    if (joined && g) {
      // RFC 2236 §3: report at once, and repeat after a short random delay.
      this.sendOld(s.iface, s.mode === 1 ? 'reportV1' : 'reportV2', group, now);
      g.lastReporter = true;
      g.repeats = this.options.robustness - 1;
      g.timer = g.repeats > 0 ? Instant.add(now, this.rand(this.options.v2UnsolicitedReportInterval)) : Instant.NEVER;
    } else if (!joined && s.mode === 2 && g?.lastReporter) {
      this.sendOld(s.iface, 'leave', group, now);
    }
  }

  /** RFC 3376 §5.1: a filter-mode change record; a newer change for the group replaces an older one. */
  private queueChange(s: IgmpIf, group: Ipv4Address, joined: boolean): void {
    if (!s.changes.has(group) && s.changes.size >= this.options.maxPendingChanges) {
      s.changes.delete(s.changes.keys().next().value!);
      this.ctx.stats.drop('igmp', 'pending_changes_evicted');
    }
    s.changes.delete(group);
    s.changes.set(group, { type: joined ? GroupRecordType.CHANGE_TO_EXCLUDE : GroupRecordType.CHANGE_TO_INCLUDE, left: this.options.robustness });
  }

  linkChanged(iface: NetInterface, up: boolean): void {
    const s = this.ifs.get(iface);
    if (!s) return;
    // Reports sent while the link was down were lost: start over when it returns. The stack's idea of
    // `now` in a link event may be stale, so the reports go out from the next poll.
    for (const g of s.groups.values()) this.cancel(g);
    s.generalTimer = Instant.NEVER;
    s.changes.clear();
    s.changeTimer = Instant.NEVER;
    if (up) this.linkUp.add(s);
    else this.linkUp.delete(s);
  }

  // ---------------------------------------------------------------- input

  private input(buf: Uint8Array, off: number, len: number, info: Ipv4RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    stats.count('igmp', 'rx');
    const p = IgmpPacket.check(buf, off, len);
    if (isWireError(p)) return stats.drop('igmp', `malformed_${p.field}`);
    if (!p.verifyChecksum(this.ctx.checksum)) return stats.drop('igmp', 'bad_checksum');
    // RFC 2236 §2, RFC 3376 §4: IGMP travels with TTL 1; anything else was sent from off-link.
    if (info.ttl !== 1) return stats.drop('igmp', 'bad_ttl');
    const s = this.st(info.iface);
    switch (p.type) {
      case IgmpType.MEMBERSHIP_QUERY:
        return this.query(s, p, now);
      case IgmpType.V1_MEMBERSHIP_REPORT:
      case IgmpType.V2_MEMBERSHIP_REPORT:
        return this.reportHeard(s, p.groupAddress, now);
      default:
        // Leaves, v3 reports and other types are for routers.
        return stats.count('igmp', 'ignored');
    }
  }

  /** RFC 2236 §3: another member reported the group first: ours is not needed (v1/v2 only). */
  private reportHeard(s: IgmpIf, group: Ipv4Address, now: Instant): void {
    this.ctx.stats.count('igmp', 'reports_heard');
    this.syncMode(s, now);
    const g = s.groups.get(group);
    if (!g || s.mode === 3) return;
    if (g.timer !== Instant.NEVER) this.ctx.stats.count('igmp', 'report_suppressed');
    this.cancel(g);
    g.lastReporter = false;
  }

  private query(s: IgmpIf, p: IgmpPacket, now: Instant): void {
    const stats = this.ctx.stats;
    const group = p.groupAddress;
    if (group !== 0 && !isIpv4Multicast(group)) return stats.drop('igmp', 'query_bad_group');
    stats.count('igmp', `v${p.version}_queries_received`);
    const o = this.options;
    const present = Instant.add(now, Duration.micros(o.robustness * o.queryInterval + o.queryResponseInterval));
    if (p.version === 1) s.v1Until = present;
    else if (p.version === 2) s.v2Until = present;
    this.syncMode(s, now);
    // Max Resp Time in tenths of a second; a v1 query has none and means 10 s (RFC 2236 §4).
    const maxDelay = Duration.millis(100 * (p.version === 1 ? 100 : p.maxRespTime));
    if (s.mode !== 3) {
      // RFC 2236 §3: a timer per group, restarted only if the new delay is shorter.
      const targets = group === 0 ? [...s.groups.values()] : [s.groups.get(group)].filter((g): g is Group => g !== undefined);
      for (const g of targets) {
        const at = Instant.add(now, this.rand(maxDelay));
        if (g.timer > at) g.timer = at;
      }
      return;
    }
    const delay = Instant.add(now, this.rand(maxDelay));
    if (group === 0) {
      // RFC 3376 §5.2 rules 1-2: one interface timer; an earlier pending response is kept.
      if (s.generalTimer > delay) s.generalTimer = delay;
      return;
    }
    const g = s.groups.get(group);
    if (!g) return stats.count('igmp', 'query_not_member');
    if (s.generalTimer <= delay) return; // the pending general response covers it
    const n = p.numberOfSources;
    if (n === 0) g.sources = null;
    else if (g.timer === Instant.NEVER || g.sources !== null) {
      // Rules 4-5: accumulate the queried sources (bounded); a group-wide query wins.
      g.sources ??= new Set();
      for (let i = 0; i < n && g.sources.size < o.maxQuerySources; i++) g.sources.add(p.source(i));
      if (g.sources.size >= o.maxQuerySources && n > 0) stats.count('igmp', 'query_sources_capped');
    }
    if (g.timer > delay) g.timer = delay;
  }

  // ---------------------------------------------------------------- output

  private sendOld(iface: NetInterface, kind: 'reportV1' | 'reportV2' | 'leave', group: Ipv4Address, now: Instant): void {
    const repr: IgmpRepr = { kind, group };
    const dst = kind === 'leave' ? IPV4_ALL_ROUTERS : group;
    this.transmit(iface, dst, repr, kind === 'leave' ? 'leaves_sent' : `${kind === 'reportV1' ? 'v1' : 'v2'}_reports_sent`, now);
  }

  private transmit(iface: NetInterface, dst: Ipv4Address, repr: IgmpRepr, counter: string, now: Instant): void {
    const err = this.ip.sendWithOptions({ dst, iface, protocol: IpProtocol.IGMP, ttl: 1 }, ROUTER_ALERT_OPTION, IgmpRepr.bufferLen(repr), (b, o) => IgmpRepr.emit(repr, b, o, this.ctx.checksum), now);
    if (err) this.ctx.stats.drop('igmp', `tx_${err}`);
    else this.ctx.stats.count('igmp', counter);
  }

  /** Sends `records` in as many v3 reports as the interface MTU needs. */
  private sendV3(iface: NetInterface, records: IgmpGroupRecord[], now: Instant): void {
    // IPv4 header with Router Alert (24) + report header (8); each record is 8 + 4 per source.
    const room = iface.mtu - 24 - IGMP_HEADER_LEN;
    let batch: IgmpGroupRecord[] = [];
    let used = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      this.transmit(iface, IGMPV3_ROUTERS, { kind: 'reportV3', records: batch }, 'v3_reports_sent', now);
      batch = [];
      used = 0;
    };
    for (const r of records) {
      let len = 8 + 4 * r.sources.length;
      if (len > room) {
        r.sources = r.sources.slice(0, Math.floor((room - 8) / 4));
        len = 8 + 4 * r.sources.length;
      }
      if (used + len > room) flush();
      batch.push(r);
      used += len;
    }
    flush();
  }

  private sendChanges(s: IgmpIf, now: Instant): void {
    const records: IgmpGroupRecord[] = [];
    for (const [group, c] of s.changes) {
      records.push({ recordType: c.type, group, sources: [] });
      if (--c.left <= 0) s.changes.delete(group);
    }
    if (records.length > 0) this.sendV3(s.iface, records, now);
    s.changeTimer = s.changes.size > 0 ? Instant.add(now, this.rand(this.options.unsolicitedReportInterval)) : Instant.NEVER;
  }

  // ---------------------------------------------------------------- timers

  pollAt(now: Instant): Instant {
    if (this.linkUp.size > 0) return now;
    let t = Instant.NEVER;
    for (const s of this.ifs.values()) {
      if (s.generalTimer < t) t = s.generalTimer;
      if (s.changeTimer < t) t = s.changeTimer;
      for (const g of s.groups.values()) if (g.timer < t) t = g.timer;
    }
    return t;
  }

  poll(now: Instant): void {
    for (const s of this.linkUp) {
      this.syncMode(s, now);
      if (!s.iface.up) continue;
      if (s.mode !== 3) {
        for (const g of s.groups.values()) this.unsolicited(s, g.address, true, g, now);
        continue;
      }
      // One State-Change Report for every group (split to the MTU), not one per group.
      for (const g of s.groups.values()) this.queueChange(s, g.address, true);
      this.sendChanges(s, now);
    }
    this.linkUp.clear();
    for (const s of this.ifs.values()) {
      this.syncMode(s, now);
      if (s.changeTimer <= now) this.sendChanges(s, now);
      if (s.generalTimer <= now) {
        s.generalTimer = Instant.NEVER;
        // RFC 3376 §5.2: the Current-State Report lists every group: IS_EXCLUDE {} in our ASM state.
        const records = [...s.groups.values()].map((g): IgmpGroupRecord => ({ recordType: GroupRecordType.MODE_IS_EXCLUDE, group: g.address, sources: [] }));
        if (records.length > 0) this.sendV3(s.iface, records, now);
      }
      const due: IgmpGroupRecord[] = [];
      for (const g of s.groups.values()) {
        if (g.timer > now) continue;
        g.timer = Instant.NEVER;
        if (s.mode !== 3) {
          this.sendOld(s.iface, s.mode === 1 ? 'reportV1' : 'reportV2', g.address, now);
          g.lastReporter = true;
          g.repeats = Math.max(0, g.repeats - 1);
          if (g.repeats > 0) g.timer = Instant.add(now, this.rand(this.options.v2UnsolicitedReportInterval));
          continue;
        }
        // §5.2: EXCLUDE({}) answers a source-specific query with IS_IN(the queried sources).
        const src = g.sources ? [...g.sources] : null;
        g.sources = null;
        due.push(src ? { recordType: GroupRecordType.MODE_IS_INCLUDE, group: g.address, sources: src } : { recordType: GroupRecordType.MODE_IS_EXCLUDE, group: g.address, sources: [] });
      }
      if (due.length > 0) this.sendV3(s.iface, due, now);
    }
  }
}
