// IPv4 link-local address autoconfiguration (RFC 3927), an optional module on top of ARP's RFC 5227
// probe engine. Per interface: pick a candidate in 169.254.1.0–169.254.254.255 (§2.1) from the
// stack's seeded random source, offset by the MAC so identically seeded hosts still differ; probe it
// (§2.2.1: PROBE_WAIT, PROBE_NUM probes, ANNOUNCE_WAIT); on success assign it as 169.254.0.0/16 (ARP
// then announces it, §2.4) with the 'retreat' defence policy (§2.5: defend once per DEFEND_INTERVAL;
// a second conflict within it gives the address up). Every conflict moves on to a new candidate;
// after MAX_CONFLICTS, at most one new candidate per RATE_LIMIT_INTERVAL (§2.2.1).
// ARP also broadcasts replies from link-local addresses (§2.5), and the forwarding module never
// forwards 169.254/16 (§2.7). Not here: choosing between link-local and routable source addresses.

import { Duration, Instant } from '../time/instant.js';
import type { Ipv4Address } from '../wire/address.js';
import type { AddressConflict, ArpModule } from './arp.js';
import type { Ipv4Cidr } from './cidr.js';
import type { NetInterface } from './interface.js';
import type { StackModule } from './module.js';
import type { StackContext } from './stack.js';

/** 169.254.0.0/16 (RFC 3927 §2.1). */
export const IPV4_LINK_LOCAL_NETWORK: Ipv4Address = 0xa9fe_0000;
/** First and last usable addresses: the first and last /24 are reserved (§2.1). */
export const IPV4_LINK_LOCAL_FIRST: Ipv4Address = 0xa9fe_0100;
export const IPV4_LINK_LOCAL_LAST: Ipv4Address = 0xa9fe_feff;
const LL_COUNT = IPV4_LINK_LOCAL_LAST - IPV4_LINK_LOCAL_FIRST + 1;

export function isIpv4LinkLocal(a: Ipv4Address): boolean {
  return a >>> 16 === 0xa9fe;
}

export interface Ipv4LinkLocalOptions {
  /** Interfaces configured when added: those without an IPv4 address, all, or none (call start()). */
  readonly autoStart: 'no-address' | 'always' | 'never';
  /** Tried first (§2.1: a host SHOULD reuse the address it had before); must be in the usable range. */
  readonly preferredAddress?: Ipv4Address;
  /** MAX_CONFLICTS and RATE_LIMIT_INTERVAL (§9). */
  readonly maxConflicts: number;
  readonly rateLimitInterval: Duration;
}

export const DEFAULT_IPV4_LL_OPTIONS: Ipv4LinkLocalOptions = {
  autoStart: 'no-address',
  maxConflicts: 10,
  rateLimitInterval: Duration.seconds(60),
};

export type Ipv4LinkLocalState = 'probing' | 'bound' | 'waiting' | 'stopped';

interface LlIf {
  readonly iface: NetInterface;
  state: Ipv4LinkLocalState;
  candidate: Ipv4Address;
  conflicts: number;
  /** 'waiting': when the next candidate may be probed. */
  nextAttempt: Instant;
}

/** Stats layer of this module. */
export const IPV4_LL_LAYER = 'ipv4-ll';

export class Ipv4LinkLocalModule implements StackModule {
  readonly name = 'ipv4-ll';
  readonly options: Ipv4LinkLocalOptions;
  private ctx!: StackContext;
  private arp!: ArpModule;
  private readonly ifs = new Map<NetInterface, LlIf>();

  constructor(options: Partial<Ipv4LinkLocalOptions> = {}) {
    this.options = { ...DEFAULT_IPV4_LL_OPTIONS, ...options };
    const p = this.options.preferredAddress;
    if (p !== undefined && !(p >= IPV4_LINK_LOCAL_FIRST && p <= IPV4_LINK_LOCAL_LAST)) throw new RangeError('ipv4-ll: preferredAddress outside 169.254.1.0-169.254.254.255');
    if (!(this.options.maxConflicts >= 1)) throw new RangeError('ipv4-ll: maxConflicts must be >= 1');
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const arp = ctx.module<ArpModule>('arp');
    if (!arp) throw new Error("the 'ipv4-ll' module needs the 'arp' module");
    this.arp = arp;
    arp.onConflict((c, now) => this.conflict(c, now));
  }

  interfaceAdded(iface: NetInterface, now: Instant): void {
    const auto = this.options.autoStart;
    // ARP may hold configured addresses back while it probes them: they count as configured.
    const hasAddress = iface.ipv4.length > 0 || this.arp.probing(iface).length > 0;
    if (auto === 'always' || (auto === 'no-address' && !hasAddress)) this.start(iface, now);
  }

  /** Starts autoconfiguration on an Ethernet interface; false when already running or not Ethernet. */
  start(iface: NetInterface, now: Instant): boolean {
    if (iface.medium !== 'ethernet') return false;
    const known = this.ifs.get(iface);
    if (known && known.state !== 'stopped') return false;
    const s: LlIf = { iface, state: 'waiting', candidate: this.options.preferredAddress ?? this.pick(iface), conflicts: 0, nextAttempt: now };
    this.ifs.set(iface, s);
    this.attempt(s, now);
    return true;
  }

  /** Stops autoconfiguration and gives the address up. */
  stop(iface: NetInterface, now: Instant): void {
    const s = this.ifs.get(iface);
    if (!s || s.state === 'stopped') return;
    const was = s.state;
    s.state = 'stopped';
    this.arp.cancelProbe(iface, s.candidate);
    if (was === 'bound') this.ctx.removeIpv4Address(iface, s.candidate, now);
  }

  /** The interface's link-local state and address (the candidate while probing). */
  status(iface: NetInterface): { state: Ipv4LinkLocalState; address: Ipv4Address; conflicts: number } | undefined {
    const s = this.ifs.get(iface);
    return s && { state: s.state, address: s.candidate, conflicts: s.conflicts };
  }

  /** The bound address, if any. */
  address(iface: NetInterface): Ipv4Address | undefined {
    const s = this.ifs.get(iface);
    return s?.state === 'bound' ? s.candidate : undefined;
  }

  /** A uniformly random usable address, offset by the MAC so hosts sharing a seed still differ (§2.1). */
  private pick(iface: NetInterface): Ipv4Address {
    const macOffset = (iface.mac % 0x1_0000_0000) % LL_COUNT;
    return IPV4_LINK_LOCAL_FIRST + ((this.ctx.random.below(LL_COUNT) + macOffset) % LL_COUNT);
  }

  private attempt(s: LlIf, now: Instant): void {
    s.state = 'probing';
    const address = s.candidate;
    const ok = this.arp.probe(s.iface, address, now, (free, t) => this.probed(s, address, free, t));
    if (!ok) {
      // Taken locally or no probe slot: try another candidate a little later.
      this.ctx.stats.drop(IPV4_LL_LAYER, 'probe_refused');
      s.candidate = this.pick(s.iface);
      s.state = 'waiting';
      s.nextAttempt = Instant.add(now, this.arp.options.acd.probeWait);
    }
  }

  private probed(s: LlIf, address: Ipv4Address, free: boolean, now: Instant): void {
    if (s.state !== 'probing' || s.candidate !== address) return;
    if (!free) return this.nextCandidate(s, now);
    const cidr: Ipv4Cidr = { family: 4, address, prefixLen: 16 };
    s.state = 'bound';
    this.ctx.stats.count(IPV4_LL_LAYER, 'bound');
    this.arp.acquire(s.iface, cidr, now, { probe: false, policy: 'retreat' });
  }

  private nextCandidate(s: LlIf, now: Instant): void {
    s.conflicts++;
    this.ctx.stats.count(IPV4_LL_LAYER, 'conflicts');
    s.candidate = this.pick(s.iface);
    if (s.conflicts >= this.options.maxConflicts) {
      // §2.2.1: past MAX_CONFLICTS, one new candidate per RATE_LIMIT_INTERVAL.
      s.state = 'waiting';
      s.nextAttempt = Instant.add(now, this.options.rateLimitInterval);
      this.ctx.stats.count(IPV4_LL_LAYER, 'rate_limited');
      return;
    }
    this.attempt(s, now);
  }

  /** §2.5: ARP gave our bound address up after a second conflict: configure a new one. */
  private conflict(c: AddressConflict, now: Instant): void {
    const s = this.ifs.get(c.iface);
    if (!s || s.state !== 'bound' || c.address !== s.candidate || c.action !== 'retreated') return;
    s.state = 'probing';
    this.nextCandidate(s, now);
  }

  ipv4AddressRemoved(iface: NetInterface, cidr: Ipv4Cidr): void {
    // Removed by someone else (not a retreat, which already moved on): stop rather than fight.
    const s = this.ifs.get(iface);
    if (s?.state === 'bound' && s.candidate === cidr.address) s.state = 'stopped';
  }

  pollAt(_now: Instant): Instant {
    let t = Instant.NEVER;
    for (const s of this.ifs.values()) if (s.state === 'waiting' && s.nextAttempt < t) t = s.nextAttempt;
    return t;
  }

  poll(now: Instant): void {
    for (const s of this.ifs.values()) if (s.state === 'waiting' && s.nextAttempt <= now) this.attempt(s, now);
  }
}
