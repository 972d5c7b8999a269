// Stateless address autoconfiguration (RFC 4862) and an optional router mode that sends Router
// Advertisements, so two stacks can configure each other without an external router.
// Host side: each autonomous /64 prefix from an RA (passed on by NDP) yields one address whose
// interface identifier is the RFC 7217 stable-privacy value F(prefix, interface, DAD counter, secret)
// with F = ChaCha20 keyed by the injected 32-byte secret: stable for a given secret (persist it to
// keep addresses across restarts), unlinkable across networks, and regenerated with the next DAD
// counter after a conflict (IDGEN_RETRIES, RFC 7217 §6). Lifetimes follow §5.5.3 including the
// two-hour rule (e); the IPv6 module deprecates and removes addresses when they expire. Addresses per
// interface are capped (E7). Router side (RFC 4861 §6.2): periodic RAs with random intervals (the first
// three at most 16 s apart), solicited RAs after a random delay of up to 0.5 s and at most one
// multicast RA per 3 s, and a final RA with router lifetime 0 when router mode is switched off.

import { chachaBlock } from '../random/chacha.js';
import { Duration, Instant } from '../time/instant.js';
import { type Ipv6Address, ipv6Equal, isIpv6LinkLocal } from '../wire/address.js';
import type { NdpPrefixInfo } from '../wire/ndp.js';
import { NdpRepr } from '../wire/ndp.js';
import { ipv6Network, parseCidr } from './cidr.js';
import type { Icmpv6Module } from './icmpv6.js';
import type { NetInterface } from './interface.js';
import { IPV6_ALL_NODES, type Ipv6Module, ipv6Key } from './ipv6.js';
import type { StackModule } from './module.js';
import type { NdpModule } from './ndp.js';
import type { StackContext } from './stack.js';

/** A prefix a router-mode interface advertises. Lifetimes in seconds (0xffffffff = infinite). */
export interface AdvertisedPrefix {
  /** CIDR text, e.g. '2001:db8:1::/64'. */
  readonly prefix: string;
  readonly onLink?: boolean;
  readonly autonomous?: boolean;
  readonly validLifetime?: number;
  readonly preferredLifetime?: number;
}

export interface RouterConfig {
  readonly prefixes: readonly AdvertisedPrefix[];
  /** Seconds; 0 = not a default router. RFC 4861 §6.2.1 default 3 × MaxRtrAdvInterval. */
  readonly routerLifetime?: number;
  readonly maxInterval?: Duration;
  readonly minInterval?: Duration;
  readonly curHopLimit?: number;
  readonly mtu?: number;
  readonly reachableTime?: number;
  readonly retransTimer?: number;
  readonly managed?: boolean;
  readonly other?: boolean;
  /** RFC 8106 RDNSS servers and their lifetime in seconds. */
  readonly dnsServers?: readonly string[];
  readonly dnsLifetime?: number;
}

export interface SlaacOptions {
  /** Autoconfigured addresses per interface (E7). */
  readonly maxAddressesPerInterface: number;
  /** RFC 7217 secret key (32 bytes); random per stack when absent. */
  readonly secret?: Uint8Array;
  /** Regenerations after DAD conflicts per prefix (RFC 7217 §6 IDGEN_RETRIES). */
  readonly idgenRetries: number;
  /** Router mode on every interface added. */
  readonly router?: RouterConfig;
}

export const DEFAULT_SLAAC_OPTIONS: SlaacOptions = { maxAddressesPerInterface: 16, idgenRetries: 3 };

const TWO_HOURS = 7200;
const INFINITE = 0xffffffff;
const MAX_INITIAL_RTR_ADVERTISEMENTS = 3;
const MAX_INITIAL_RTR_ADVERT_INTERVAL = Duration.seconds(16);
const MAX_RA_DELAY_TIME = Duration.millis(500);
const MIN_DELAY_BETWEEN_RAS = Duration.seconds(3);
/** Prefix options that fit a 1280-byte RA with the other options. */
const MAX_ADVERTISED_PREFIXES = 32;

interface AutoAddr {
  readonly iface: NetInterface;
  readonly prefix: Ipv6Address;
  address: Ipv6Address;
  dadCounter: number;
}

interface Advertiser {
  readonly iface: NetInterface;
  readonly repr: Extract<NdpRepr, { kind: 'routerAdvert' }>;
  readonly minInterval: Duration;
  readonly maxInterval: Duration;
  readonly prefixes: Array<{ network: Ipv6Address; prefixLen: number }>;
  initialLeft: number;
  next: Instant;
  lastMulticast: Instant;
}

export class SlaacModule implements StackModule {
  readonly name = 'slaac';
  readonly options: SlaacOptions;
  private ctx!: StackContext;
  private ip!: Ipv6Module;
  private ndp!: NdpModule;
  private icmp!: Icmpv6Module;
  private readonly state = new Uint32Array(16);
  private readonly block = new Uint32Array(16);
  private readonly addrs = new Map<string, AutoAddr>();
  private readonly routers = new Map<NetInterface, Advertiser>();

  constructor(options: Partial<SlaacOptions> = {}) {
    this.options = { ...DEFAULT_SLAAC_OPTIONS, ...options };
    if (this.options.secret && this.options.secret.length !== 32) throw new RangeError('SLAAC secret must be 32 bytes');
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv6Module>('ipv6');
    const ndp = ctx.module<NdpModule>('ndp');
    const icmp = ctx.module<Icmpv6Module>('icmpv6');
    if (!ip || !ndp || !icmp) throw new Error("the 'slaac' module needs the 'ipv6', 'icmpv6' and 'ndp' modules");
    this.ip = ip;
    this.ndp = ndp;
    this.icmp = icmp;
    const secret = this.options.secret ?? new Uint8Array(32);
    if (!this.options.secret) ctx.random.fill(secret);
    // ChaCha20 state: constants, the secret as key; counter and nonce words carry the inputs of F.
    this.state.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
    const kv = new DataView(secret.buffer, secret.byteOffset, 32);
    for (let i = 0; i < 8; i++) this.state[4 + i] = kv.getUint32(i * 4, true);
    ndp.onPrefix((iface, pi, now) => this.prefixInfo(iface, pi, now));
    ndp.onDad((iface, address, ok, now) => {
      if (!ok) this.conflict(iface, address, now);
    });
    ndp.onRouterSolicit((iface, _src, now) => this.solicited(iface, now));
    ip.observe({ addressRemoved: (iface, a) => this.forget(iface, a.address) });
  }

  interfaceAdded(iface: NetInterface, now: Instant): void {
    if (this.options.router) this.enableRouter(iface, this.options.router, now);
  }

  // ---------------------------------------------------------------- host side

  /** RFC 7217 §5 interface identifier for `prefix` (first 64 bits used) on `iface`. */
  interfaceId(prefix: Ipv6Address, iface: NetInterface, dadCounter: number): Uint8Array {
    for (let c = dadCounter; ; c++) {
      const s = this.state;
      s[12] = iface.index >>> 0;
      s[13] = ((prefix[0]! << 24) | (prefix[1]! << 16) | (prefix[2]! << 8) | prefix[3]!) >>> 0;
      s[14] = ((prefix[4]! << 24) | (prefix[5]! << 16) | (prefix[6]! << 8) | prefix[7]!) >>> 0;
      s[15] = c >>> 0;
      chachaBlock(s, this.block);
      const id = new Uint8Array(8);
      new DataView(id.buffer).setUint32(0, this.block[0]!, false);
      new DataView(id.buffer).setUint32(4, this.block[1]!, false);
      if (!isReservedInterfaceId(id)) return id;
    }
  }

  /** Autoconfigured addresses (all interfaces when none is given). */
  addresses(iface?: NetInterface): Ipv6Address[] {
    return [...this.addrs.values()].filter((a) => !iface || a.iface === iface).map((a) => a.address);
  }

  private key(iface: NetInterface, prefix: Ipv6Address): string {
    return `${iface.index}:${ipv6Key(prefix)}`;
  }

  private prefixInfo(iface: NetInterface, pi: NdpPrefixInfo, now: Instant): void {
    const stats = this.ctx.stats;
    if (this.routers.has(iface)) return stats.count('slaac', 'ignored_router_mode');
    // RFC 4862 §5.5.3 (b)-(d).
    if (isIpv6LinkLocal(pi.prefix)) return stats.drop('slaac', 'link_local_prefix');
    if (pi.preferredLifetime > pi.validLifetime) return stats.drop('slaac', 'preferred_exceeds_valid');
    if (pi.prefixLength !== 64) return stats.drop('slaac', 'prefix_length_not_64');
    const prefix = ipv6Network(pi.prefix, 64);
    const k = this.key(iface, prefix);
    const known = this.addrs.get(k);
    const entry = known ? this.ip.findAddress(iface, known.address) : undefined;
    const preferredUntil = lifetimeEnd(now, pi.preferredLifetime);
    if (!known || !entry) {
      if (pi.validLifetime === 0) return;
      if (this.count(iface) >= this.options.maxAddressesPerInterface) return stats.drop('slaac', 'address_cap');
      const a: AutoAddr = { iface, prefix, address: prefix, dadCounter: 0 };
      if (!this.form(a, preferredUntil, lifetimeEnd(now, pi.validLifetime), now)) return;
      return stats.count('slaac', 'addresses_formed');
    }
    // (e) the two-hour rule protects against a spoofed RA shortening the valid lifetime.
    const remaining = entry.validUntil === Instant.NEVER ? Infinity : (entry.validUntil - now) / 1e6;
    let validUntil = entry.validUntil;
    const received = pi.validLifetime === INFINITE ? Infinity : pi.validLifetime;
    if (received > TWO_HOURS || received > remaining) validUntil = lifetimeEnd(now, pi.validLifetime);
    else if (remaining > TWO_HOURS) validUntil = Instant.add(now, Duration.seconds(TWO_HOURS));
    this.ip.setLifetimes(iface, entry.address, preferredUntil, validUntil, now);
    stats.count('slaac', 'lifetimes_updated');
  }

  private count(iface: NetInterface): number {
    let n = 0;
    for (const a of this.addrs.values()) if (a.iface === iface) n++;
    return n;
  }

  private form(a: AutoAddr, preferredUntil: Instant, validUntil: Instant, now: Instant): boolean {
    const address = a.prefix.slice();
    address.set(this.interfaceId(a.prefix, a.iface, a.dadCounter), 8);
    a.address = address;
    this.addrs.set(this.key(a.iface, a.prefix), a);
    const r = this.ip.addAddress(a.iface, address, 64, now, { origin: 'slaac', preferredUntil, validUntil });
    if (!r) {
      this.addrs.delete(this.key(a.iface, a.prefix));
      this.ctx.stats.drop('slaac', 'address_rejected');
      return false;
    }
    return true;
  }

  /** RFC 7217 §6: a DAD conflict regenerates the identifier with the next counter, a bounded number of times. */
  private conflict(iface: NetInterface, address: Ipv6Address, now: Instant): void {
    const a = [...this.addrs.values()].find((x) => x.iface === iface && ipv6Equal(x.address, address));
    if (!a) return;
    const old = this.ip.findAddress(iface, address);
    const preferredUntil = old?.preferredUntil ?? now;
    const validUntil = old?.validUntil ?? now;
    this.addrs.delete(this.key(iface, a.prefix));
    this.ip.removeAddress(iface, address, now);
    if (a.dadCounter >= this.options.idgenRetries) return this.ctx.stats.drop('slaac', 'idgen_retries_exhausted');
    a.dadCounter++;
    this.ctx.stats.count('slaac', 'regenerated');
    this.form(a, preferredUntil, validUntil, now);
  }

  private forget(iface: NetInterface, address: Ipv6Address): void {
    for (const [k, a] of this.addrs) if (a.iface === iface && ipv6Equal(a.address, address)) this.addrs.delete(k);
  }

  // ---------------------------------------------------------------- router mode

  /** Advertises `cfg` on `iface` (RFC 4861 §6.2); throws on invalid configuration. */
  enableRouter(iface: NetInterface, cfg: RouterConfig, now: Instant): void {
    const maxInterval = cfg.maxInterval ?? Duration.seconds(600);
    const minInterval = cfg.minInterval ?? Duration.micros(maxInterval / 3);
    if (!(maxInterval >= Duration.seconds(4) && maxInterval <= Duration.seconds(1800))) throw new RangeError('maxInterval outside 4..1800 s (RFC 4861 §6.2.1)');
    if (!(minInterval >= Duration.seconds(3) && minInterval <= Duration.micros(maxInterval * 0.75))) throw new RangeError('minInterval outside 3 s..0.75 × maxInterval');
    if (cfg.prefixes.length > MAX_ADVERTISED_PREFIXES) throw new RangeError(`at most ${MAX_ADVERTISED_PREFIXES} prefixes per RA`);
    const prefixes: Array<{ network: Ipv6Address; prefixLen: number }> = [];
    const infos: NdpPrefixInfo[] = cfg.prefixes.map((p) => {
      const c = parseCidr(p.prefix);
      if (!c || c.family !== 6) throw new RangeError(`invalid IPv6 prefix '${p.prefix}'`);
      const network = ipv6Network(c.address, c.prefixLen);
      prefixes.push({ network, prefixLen: c.prefixLen });
      return {
        prefixLength: c.prefixLen,
        onLink: p.onLink ?? true,
        autonomous: p.autonomous ?? true,
        validLifetime: p.validLifetime ?? 2_592_000,
        preferredLifetime: p.preferredLifetime ?? 604_800,
        prefix: network,
      };
    });
    const dns = (cfg.dnsServers ?? []).map((s) => {
      const c = parseCidr(s);
      if (!c || c.family !== 6) throw new RangeError(`invalid DNS server '${s}'`);
      return c.address;
    });
    const mtu = cfg.mtu;
    if (mtu !== undefined && !(mtu >= 1280 && mtu <= iface.mtu)) throw new RangeError(`RA MTU ${mtu} outside 1280..${iface.mtu}`);
    this.disableRouter(iface, now, false);
    const repr: Advertiser['repr'] = {
      kind: 'routerAdvert',
      curHopLimit: cfg.curHopLimit ?? 64,
      managed: cfg.managed ?? false,
      other: cfg.other ?? false,
      routerPreference: 0,
      routerLifetime: Math.min(cfg.routerLifetime ?? Math.round((3 * maxInterval) / 1e6), 9000),
      reachableTime: cfg.reachableTime ?? 0,
      retransTimer: cfg.retransTimer ?? 0,
      sourceLinkAddr: iface.mac,
      ...(mtu !== undefined ? { mtu } : {}),
      prefixes: infos,
      rdnss: dns.length > 0 ? [{ lifetime: cfg.dnsLifetime ?? Math.round((2 * maxInterval) / 1e6), servers: dns }] : [],
      dnssl: [],
    };
    this.routers.set(iface, { iface, repr, minInterval, maxInterval, prefixes, initialLeft: MAX_INITIAL_RTR_ADVERTISEMENTS, next: Instant.add(now, this.random(MAX_RA_DELAY_TIME)), lastMulticast: Instant.fromMicros(-Infinity) });
    this.ndp.setRouterMode(iface, true, now);
    // The router reaches hosts on the prefixes it advertises directly.
    for (const p of prefixes) if (p.prefixLen > 0) this.ctx.routes6.add({ network: p.network, prefixLen: p.prefixLen, ifIndex: iface.index, metric: 256, origin: 'ra-router' });
  }

  /** Stops advertising; by default sends a final RA with router lifetime 0 (RFC 4861 §6.2.5). */
  disableRouter(iface: NetInterface, now: Instant, final = true): void {
    const r = this.routers.get(iface);
    if (!r) return;
    if (final) this.advertise(r, { ...r.repr, routerLifetime: 0 }, now);
    this.routers.delete(iface);
    this.ndp.setRouterMode(iface, false, now);
    this.ctx.routes6.remove({ ifIndex: iface.index, origin: 'ra-router' });
  }

  isRouter(iface: NetInterface): boolean {
    return this.routers.has(iface);
  }

  private random(max: Duration): Duration {
    return Duration.micros(max > 0 ? this.ctx.random.below(Math.min(max, 0xffff_ffff)) : 0);
  }

  /** RFC 4861 §6.2.6: answer an RS with a multicast RA after a random delay, rate-limited. */
  private solicited(iface: NetInterface, now: Instant): void {
    const r = this.routers.get(iface);
    if (!r) return;
    let at = Instant.add(now, this.random(MAX_RA_DELAY_TIME));
    const earliest = Instant.add(r.lastMulticast, MIN_DELAY_BETWEEN_RAS);
    if (at < earliest) at = earliest;
    if (at < r.next) {
      r.next = at;
      this.ctx.stats.count('slaac', 'ra_solicited');
    }
  }

  private advertise(r: Advertiser, repr: NdpRepr, now: Instant): boolean {
    const ll = this.ip.linkLocalAddress(r.iface);
    if (!ll) return false; // RFC 4861 §6.1.2: RAs come from a link-local address
    const err = this.icmp.sendMessage({ dst: IPV6_ALL_NODES, src: ll, iface: r.iface, hopLimit: 255 }, NdpRepr.bufferLen(repr), (b, o) => NdpRepr.emit(repr, b, o), now);
    if (err) {
      this.ctx.stats.drop('slaac', `ra_${err}`);
      return false;
    }
    this.ctx.stats.count('slaac', 'ra_sent');
    return true;
  }

  pollAt(_now: Instant): Instant {
    let t = Instant.NEVER;
    for (const r of this.routers.values()) if (r.next < t) t = r.next;
    return t;
  }

  poll(now: Instant): void {
    for (const r of this.routers.values()) {
      if (r.next > now) continue;
      if (!this.advertise(r, r.repr, now)) {
        // No link-local address yet (DAD running): retry shortly.
        r.next = Instant.add(now, Duration.seconds(1));
        continue;
      }
      r.lastMulticast = now;
      let interval = Duration.micros(r.minInterval + this.random(Duration.micros(r.maxInterval - r.minInterval)));
      if (r.initialLeft > 0) {
        r.initialLeft--;
        if (interval > MAX_INITIAL_RTR_ADVERT_INTERVAL) interval = MAX_INITIAL_RTR_ADVERT_INTERVAL;
      }
      r.next = Instant.add(now, interval);
    }
  }
}

function lifetimeEnd(now: Instant, seconds: number): Instant {
  return seconds === INFINITE ? Instant.NEVER : Instant.add(now, Duration.seconds(seconds));
}

/** RFC 5453 reserved identifiers: all zeros (subnet-router anycast) and fdff:ffff:ffff:ff80-ffff. */
function isReservedInterfaceId(id: Uint8Array): boolean {
  if (id.every((b) => b === 0)) return true;
  return id[0] === 0xfd && id[1] === 0xff && id[2] === 0xff && id[3] === 0xff && id[4] === 0xff && id[5] === 0xff && id[6] === 0xff && id[7]! >= 0x80;
}
