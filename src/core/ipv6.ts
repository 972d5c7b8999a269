// IPv6 (RFC 8200) for a host: input validation, the extension header chain (walked by the codec:
// Hop-by-Hop first only, unknown option actions, RH0 with segments left refused, bounded chain),
// Parameter Problem replies through ICMPv6 as the codec's `report` says, the destination filter
// (our assigned unicast addresses and joined groups), delivery to registered upper protocols, and
// output with routing, RFC 6724 source selection, neighbour resolution through NDP, fragmentation to
// the path MTU (never atomic fragments, RFC 8021) and loopback of packets to our own addresses.
// It also owns per-interface IPv6 state: addresses with their DAD/lifetime state (link-local from
// the MAC by modified EUI-64, RFC 4291 §2.5.1), joined multicast groups (mirrored into the
// interface's multicast MAC filter) and the Path MTU cache (RFC 8201: floor 1280, capped, expiring).
// Not here: reassembly (a hook, see setFragmentHook), forwarding, NDP/MLD/SLAAC (their modules).

import { Instant } from '../time/instant.js';
import { type Ipv6Address, type MacAddress, ipv6Equal, ipv6MulticastMac, isIpv6LinkLocal, isIpv6Multicast, isIpv6Unspecified } from '../wire/address.js';
import { EtherType } from '../wire/ethertype.js';
import { isWireError } from '../wire/error.js';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6Packet, Ipv6Repr } from '../wire/ipv6.js';
import {
  DEFAULT_MAX_EXT_HEADERS,
  IPV6_FRAG_HEADER_LEN,
  type Ipv6Chain,
  Ipv6FragmentRepr,
  Ipv6OptionsHeaderRepr,
  Ipv6ParamProblem,
  ParamProblemCode,
  firstFragmentHasUpperHeader,
  walkIpv6Chain,
} from '../wire/ipv6-ext.js';
import { ipv6Network, ipv6PrefixMatch } from './cidr.js';
import type { NetInterface } from './interface.js';
import type { LinkRxInfo, StackModule } from './module.js';
import type { StackContext, TxBuffer } from './stack.js';

// ------------------------------------------------------------------ address helpers

/** A compact Map key for an IPv6 address (8 UTF-16 code units). */
export function ipv6Key(a: Ipv6Address): string {
  return String.fromCharCode(
    (a[0]! << 8) | a[1]!, (a[2]! << 8) | a[3]!, (a[4]! << 8) | a[5]!, (a[6]! << 8) | a[7]!,
    (a[8]! << 8) | a[9]!, (a[10]! << 8) | a[11]!, (a[12]! << 8) | a[13]!, (a[14]! << 8) | a[15]!,
  );
}

const withLast = (first: number, second: number, last: number): Ipv6Address => Uint8Array.from([first, second, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
export const IPV6_ALL_NODES = withLast(0xff, 2, 1);
export const IPV6_ALL_ROUTERS = withLast(0xff, 2, 2);
export const IPV6_ALL_MLDV2_ROUTERS = withLast(0xff, 2, 0x16);
export const IPV6_LOOPBACK = withLast(0, 0, 1);

/** Solicited-node multicast address ff02::1:ffXX:XXXX of `a` (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(a: Ipv6Address): Ipv6Address {
  const s = Uint8Array.from([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0]);
  s[13] = a[13]!;
  s[14] = a[14]!;
  s[15] = a[15]!;
  return s;
}

/** Modified EUI-64 interface identifier of a 48-bit MAC (RFC 4291 §2.5.1, RFC 2464 §4). */
export function eui64InterfaceId(mac: MacAddress): Uint8Array {
  const hi = Math.floor(mac / 0x1_0000_0000);
  const lo = mac >>> 0;
  return Uint8Array.from([((hi >>> 8) & 0xff) ^ 0x02, hi & 0xff, lo >>> 24, 0xff, 0xfe, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff]);
}

/** fe80::/64 with the modified EUI-64 identifier of `mac`. */
export function linkLocalFromMac(mac: MacAddress): Ipv6Address {
  const a = withLast(0xfe, 0x80, 0);
  a.set(eui64InterfaceId(mac), 8);
  return a;
}

/** RFC 6724 §3.1 scope: multicast scope nibble; link-local and loopback 2; everything else global (14). */
export function ipv6Scope(a: Ipv6Address): number {
  if (a[0] === 0xff) return a[1]! & 0x0f;
  if (isIpv6LinkLocal(a) || ipv6Equal(a, IPV6_LOOPBACK)) return 2;
  return 14;
}

function commonPrefixLen(a: Ipv6Address, b: Ipv6Address, max: number): number {
  let n = 0;
  for (let i = 0; i < 16 && n < max; i++) {
    const x = a[i]! ^ b[i]!;
    if (x === 0) {
      n += 8;
      continue;
    }
    return Math.min(max, n + Math.clz32(x) - 24);
  }
  return Math.min(n, max);
}

// ------------------------------------------------------------------ types

export type Ipv6AddressState = 'tentative' | 'preferred' | 'deprecated' | 'duplicate';
export type Ipv6AddressOrigin = 'link-local' | 'static' | 'slaac';

/** One address on an interface. Lifetimes are absolute (Instant.NEVER = infinite). */
export interface Ipv6AddressInfo {
  readonly address: Ipv6Address;
  readonly prefixLen: number;
  readonly origin: Ipv6AddressOrigin;
  state: Ipv6AddressState;
  preferredUntil: Instant;
  validUntil: Instant;
}

export interface AddressOptions {
  readonly origin?: Ipv6AddressOrigin;
  readonly preferredUntil?: Instant;
  readonly validUntil?: Instant;
}

/** What a protocol handler learns about a delivered packet besides its upper-layer bytes. */
export interface Ipv6RxInfo {
  readonly iface: NetInterface;
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  readonly hopLimit: number;
  /** Destination (IP or link layer) was multicast: no ICMPv6 errors about it, except RFC 4443 §2.4(e) ones. */
  readonly multicast: boolean;
  /** Hop-by-Hop Router Alert value (0 = MLD), or -1. */
  readonly routerAlert: number;
  /** The whole IPv6 packet, for ICMPv6 errors quoting it. */
  readonly packet: Uint8Array;
  readonly packetOffset: number;
  readonly packetLength: number;
  /** Delivered from our own loopback queue, not the wire. */
  readonly loopback: boolean;
  /** Carried a Fragment header (atomic or reassembled): NDP ignores such messages (RFC 6980 §5). */
  readonly fragmented: boolean;
}

/** Receives the upper-layer message `buf[off, off+len)` of a packet for one Next Header value. */
export type Ipv6ProtocolHandler = (buf: Uint8Array, off: number, len: number, info: Ipv6RxInfo, now: Instant) => void;

/** What the reassembly hook can do with a received fragment. */
export interface Ipv6FragmentContext {
  readonly info: Ipv6RxInfo;
  /** Hands over a reassembled packet: IPv6 header + unfragmentable headers (Next Header fixed up, no Fragment header) + payload. */
  deliver(packet: Uint8Array, now: Instant): void;
  /** ICMPv6 Parameter Problem about this fragment (suppressed for multicast destinations). */
  paramProblem(code: number, pointer: number, now: Instant): void;
  /** ICMPv6 Time Exceeded code 1 (RFC 8200 §4.5) quoting a stored copy of the first fragment received on `iface`. */
  timeExceeded(iface: NetInterface, firstFragment: Uint8Array, now: Instant): void;
}

/** Gets every fragment that is not atomic (RFC 6946 atomic fragments are delivered directly). */
export type Ipv6FragmentHook = (p: Ipv6Packet, chain: Ipv6Chain, ctx: Ipv6FragmentContext, now: Instant) => void;

/** Sends an ICMPv6 error about a received packet; installed by the ICMPv6 module. */
export type Ipv6ErrorSender = (type: number, code: number, param: number, info: Ipv6RxInfo, now: Instant, toMulticast?: boolean) => void;

/** Notified of address and group changes (NDP runs DAD, MLD sends reports, SLAAC tracks its addresses). */
export interface Ipv6Observer {
  addressAdded?(iface: NetInterface, a: Ipv6AddressInfo, now: Instant): void;
  addressChanged?(iface: NetInterface, a: Ipv6AddressInfo, now: Instant): void;
  addressRemoved?(iface: NetInterface, a: Ipv6AddressInfo, now: Instant): void;
  groupJoined?(iface: NetInterface, group: Ipv6Address, now: Instant): void;
  groupLeft?(iface: NetInterface, group: Ipv6Address, now: Instant): void;
}

/** Starts DAD for a tentative address; returns false when none will run (the address is then assigned at once). */
export type DadStarter = (iface: NetInterface, a: Ipv6AddressInfo, now: Instant) => boolean;

/** Path MTU estimate for `dst`, or undefined when none is cached. */
export type PathMtuLookup = (dst: Ipv6Address, now: Instant) => number | undefined;

/** Sends a packet to an on-link next hop, resolving its link address; takes ownership of tx. */
export type NeighborOutput = (iface: NetInterface, nextHop: Ipv6Address, tx: TxBuffer, l3Len: number, now: Instant) => void;

export interface Ipv6SendParams {
  readonly dst: Ipv6Address;
  readonly protocol: number;
  /** Source; chosen by RFC 6724 when absent. Must be assigned to us (or :: with allowUnspecifiedSource). */
  readonly src?: Ipv6Address;
  readonly hopLimit?: number;
  readonly trafficClass?: number;
  readonly flowLabel?: number;
  /** Outgoing interface (needed for link-local and multicast destinations on multi-homed stacks). */
  readonly iface?: NetInterface;
  /** Fail with EMSGSIZE instead of fragmenting. */
  readonly dontFrag?: boolean;
  /** Adds a Hop-by-Hop header with this Router Alert value (RFC 2711; MLD uses 0). */
  readonly routerAlert?: number;
  /** Allows src :: (DAD probes, MLD reports before an address is assigned). */
  readonly allowUnspecifiedSource?: boolean;
  /** Link-layer destination: skips neighbour resolution (NDP's own unicast probes). */
  readonly dstMac?: MacAddress;
}

/** Writes the upper-layer message at buf[off]; src/dst are the final addresses (for pseudo-header checksums). */
export type Ipv6Fill = (buf: Uint8Array, off: number, src: Ipv6Address, dst: Ipv6Address) => void;

export type Ipv6SendError = 'EHOSTUNREACH' | 'ENETUNREACH' | 'ENOBUFS' | 'EMSGSIZE' | 'EADDRNOTAVAIL';

export interface Ipv6Route {
  readonly iface: NetInterface;
  readonly nextHop: Ipv6Address;
  readonly src: Ipv6Address;
  /** Addressed to this host: goes through the loopback queue. */
  readonly loopback: boolean;
}

export interface Ipv6Options {
  readonly defaultHopLimit: number;
  /** Form fe80::/64 + modified EUI-64 on every interface. */
  readonly linkLocal: boolean;
  /** Bound on extension headers walked per packet (H23d). */
  readonly maxExtHeaders: number;
  readonly loopbackQueue: number;
  readonly maxAddressesPerInterface: number;
  readonly maxGroupsPerInterface: number;
}

export const DEFAULT_IPV6_OPTIONS: Ipv6Options = {
  defaultHopLimit: 64,
  linkLocal: true,
  maxExtHeaders: DEFAULT_MAX_EXT_HEADERS,
  loopbackQueue: 256,
  maxAddressesPerInterface: 32,
  maxGroupsPerInterface: 64,
};

/** RFC 4443 §2.4(c): an error message, quote included, must fit the minimum MTU. */
export const ICMPV6_MAX_QUOTE = IPV6_MIN_MTU - IPV6_HEADER_LEN - 8;

interface IfState {
  readonly iface: NetInterface;
  readonly addrs: Ipv6AddressInfo[];
  readonly groups: Map<string, { readonly address: Ipv6Address; refs: number }>;
  /** Multicast MACs this module put into iface.multicastMacs, with how many groups map to each. */
  readonly macRefs: Map<number, number>;
  hopLimit: number;
  /** MTU from an RA option (RFC 4861 §6.3.4), or Infinity. */
  raMtu: number;
}

type OptionsHeader = ReturnType<typeof Ipv6OptionsHeaderRepr.routerAlert>;

const ICMPV6_TYPE_PARAM_PROBLEM = 4;
const ICMPV6_TYPE_TIME_EXCEEDED = 3;
const PROTO_NONE = 59;

export class Ipv6Module implements StackModule {
  readonly name = 'ipv6';
  readonly options: Ipv6Options;
  private ctx!: StackContext;
  private readonly handlers = new Map<number, Ipv6ProtocolHandler>();
  private readonly ifs = new Map<NetInterface, IfState>();
  private readonly observers: Ipv6Observer[] = [];
  private fragmentHook: Ipv6FragmentHook | undefined;
  private dadStarter: DadStarter | undefined;
  private neighborOutput: NeighborOutput | undefined;
  /** Installed by ICMPv6; without it errors are only counted. */
  errorSender: Ipv6ErrorSender | undefined;
  private pathMtuLookup: PathMtuLookup | undefined;
  private readonly loopback: Array<{ iface: NetInterface; packet: Uint8Array }> = [];

  constructor(options: Partial<Ipv6Options> = {}) {
    this.options = { ...DEFAULT_IPV6_OPTIONS, ...options };
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    ctx.registerEthertype(EtherType.IPV6, (iface, frame, off, len, now, link) => this.input(iface, frame, off, len, now, link));
  }

  registerProtocol(protocol: number, handler: Ipv6ProtocolHandler): void {
    if (this.handlers.has(protocol)) throw new Error(`IPv6 next header ${protocol} already registered`);
    this.handlers.set(protocol, handler);
  }

  setFragmentHook(hook: Ipv6FragmentHook | undefined): void {
    this.fragmentHook = hook;
  }

  /** NDP installs these: DAD for new addresses and next-hop resolution. */
  setDadStarter(starter: DadStarter | undefined): void {
    this.dadStarter = starter;
  }

  setNeighborOutput(output: NeighborOutput | undefined): void {
    this.neighborOutput = output;
  }

  observe(o: Ipv6Observer): void {
    this.observers.push(o);
  }

  // ---------------------------------------------------------------- interfaces and addresses

  interfaceAdded(iface: NetInterface, now: Instant): void {
    this.attach(iface, now);
  }

  /**
   * Per-interface state, created on first use: from interfaceAdded, or earlier when a module listed
   * before this one joins a group or adds an address on a new interface.
   */
  private attach(iface: NetInterface, now: Instant): IfState | undefined {
    const known = this.ifs.get(iface);
    if (known || !this.ctx.interfaces.includes(iface)) return known;
    const configured = iface.ipv6.splice(0);
    const st: IfState = { iface, addrs: [], groups: new Map(), macRefs: new Map(), hopLimit: this.options.defaultHopLimit, raMtu: Infinity };
    this.ifs.set(iface, st);
    // RFC 4291 §2.8: every node listens to all-nodes; never reported (RFC 3810 §6).
    this.joinGroup(iface, IPV6_ALL_NODES, now);
    this.ctx.routes6.add({ network: withLast(0xfe, 0x80, 0), prefixLen: 64, ifIndex: iface.index, metric: 256, origin: 'connected' });
    if (this.options.linkLocal) this.addAddress(iface, linkLocalFromMac(iface.mac), 64, now, { origin: 'link-local' });
    for (const c of configured) {
      if (c.prefixLen < 128 && !isIpv6LinkLocal(c.address)) {
        this.ctx.routes6.add({ network: ipv6Network(c.address, c.prefixLen), prefixLen: c.prefixLen, ifIndex: iface.index, metric: 256, origin: 'connected' });
      }
      this.addAddress(iface, c.address, c.prefixLen, now, { origin: 'static' });
    }
    return st;
  }

  /** Per-interface state exists (the interface was added while this module was installed). */
  hasInterface(iface: NetInterface): boolean {
    return this.ifs.has(iface);
  }

  /**
   * Adds an address; it is tentative until DAD passes (RFC 4862 §5.4), then appears in iface.ipv6.
   * Returns the entry, or null when it exists already, is not unicast, or the interface is full.
   */
  addAddress(iface: NetInterface, address: Ipv6Address, prefixLen: number, now: Instant, opts: AddressOptions = {}): Ipv6AddressInfo | null {
    const st = this.attach(iface, now);
    if (!st || isIpv6Multicast(address) || isIpv6Unspecified(address) || prefixLen > 128) return null;
    if (st.addrs.some((a) => ipv6Equal(a.address, address))) return null;
    if (st.addrs.length >= this.options.maxAddressesPerInterface) {
      this.ctx.stats.drop('ipv6', 'address_table_full');
      return null;
    }
    const a: Ipv6AddressInfo = { address: address.slice(), prefixLen, origin: opts.origin ?? 'static', state: 'tentative', preferredUntil: opts.preferredUntil ?? Instant.NEVER, validUntil: opts.validUntil ?? Instant.NEVER };
    st.addrs.push(a);
    // RFC 4862 §5.4.2: join the solicited-node group before probing, to hear other probes.
    this.joinGroup(iface, solicitedNodeAddress(a.address), now);
    for (const o of this.observers) o.addressAdded?.(iface, a, now);
    if (!this.dadStarter?.(iface, a, now)) this.dadSucceeded(iface, a.address, now);
    return a;
  }

  /** DAD passed (or was not run): the address becomes usable. */
  dadSucceeded(iface: NetInterface, address: Ipv6Address, now: Instant): void {
    const a = this.findAddress(iface, address);
    if (!a || a.state !== 'tentative') return;
    a.state = a.preferredUntil <= now ? 'deprecated' : 'preferred';
    iface.ipv6.push({ family: 6, address: a.address, prefixLen: a.prefixLen });
    this.ctx.stats.count('ipv6', 'addresses_assigned');
    for (const o of this.observers) o.addressChanged?.(iface, a, now);
  }

  /** DAD found another node using the address (RFC 4862 §5.4.5): it is never used; the entry stays listed as duplicate. */
  dadFailed(iface: NetInterface, address: Ipv6Address, now: Instant): void {
    const a = this.findAddress(iface, address);
    if (!a || a.state === 'duplicate') return;
    this.unassign(iface, a);
    a.state = 'duplicate';
    this.leaveGroup(iface, solicitedNodeAddress(a.address), now);
    this.ctx.stats.count('ipv6', 'duplicate_addresses');
    for (const o of this.observers) o.addressChanged?.(iface, a, now);
  }

  removeAddress(iface: NetInterface, address: Ipv6Address, now: Instant): boolean {
    const st = this.ifs.get(iface);
    const i = st ? st.addrs.findIndex((a) => ipv6Equal(a.address, address)) : -1;
    if (!st || i < 0) return false;
    const a = st.addrs[i]!;
    st.addrs.splice(i, 1);
    this.unassign(iface, a);
    if (a.state !== 'duplicate') this.leaveGroup(iface, solicitedNodeAddress(a.address), now);
    for (const o of this.observers) o.addressRemoved?.(iface, a, now);
    return true;
  }

  /** Updates lifetimes (SLAAC); the poll deprecates and removes on expiry. */
  setLifetimes(iface: NetInterface, address: Ipv6Address, preferredUntil: Instant, validUntil: Instant, now: Instant): void {
    const a = this.findAddress(iface, address);
    if (!a) return;
    a.preferredUntil = preferredUntil;
    a.validUntil = validUntil;
    if (a.state === 'deprecated' && preferredUntil > now) {
      a.state = 'preferred';
      for (const o of this.observers) o.addressChanged?.(iface, a, now);
    }
  }

  private unassign(iface: NetInterface, a: Ipv6AddressInfo): void {
    const i = iface.ipv6.findIndex((c) => ipv6Equal(c.address, a.address));
    if (i >= 0) iface.ipv6.splice(i, 1);
  }

  addresses(iface: NetInterface): readonly Ipv6AddressInfo[] {
    return this.ifs.get(iface)?.addrs ?? [];
  }

  findAddress(iface: NetInterface, address: Ipv6Address): Ipv6AddressInfo | undefined {
    const st = this.ifs.get(iface);
    if (!st) return undefined;
    for (const a of st.addrs) if (ipv6Equal(a.address, address)) return a;
    return undefined;
  }

  /** The assigned (not tentative, not duplicate) link-local address of `iface`, if any. */
  linkLocalAddress(iface: NetInterface): Ipv6Address | undefined {
    const st = this.ifs.get(iface);
    if (!st) return undefined;
    for (const a of st.addrs) if (isIpv6LinkLocal(a.address) && isUsable(a)) return a.address;
    return undefined;
  }

  /** Whether `a` is an assigned address of ours (link-local ones only on `iface` when given). */
  isLocal(a: Ipv6Address, iface?: NetInterface): boolean {
    if (ipv6Equal(a, IPV6_LOOPBACK)) return true;
    return this.ownerOf(a, iface) !== undefined;
  }

  private ownerOf(a: Ipv6Address, iface?: NetInterface): NetInterface | undefined {
    const scoped = isIpv6LinkLocal(a);
    for (const st of this.ifs.values()) {
      if (scoped && iface && st.iface !== iface) continue;
      for (const x of st.addrs) if (isUsable(x) && ipv6Equal(x.address, a)) return st.iface;
    }
    return undefined;
  }

  /** Current hop limit for unicast packets on `iface` (RA Cur Hop Limit or the default). */
  hopLimit(iface: NetInterface): number {
    return this.ifs.get(iface)?.hopLimit ?? this.options.defaultHopLimit;
  }

  /** RFC 4861 §6.3.4: a non-zero Cur Hop Limit from an RA. */
  setHopLimit(iface: NetInterface, hopLimit: number): void {
    const st = this.ifs.get(iface);
    if (st && hopLimit > 0 && hopLimit <= 255) st.hopLimit = hopLimit;
  }

  /** IPv6 link MTU of `iface`: the device MTU, lowered by an RA MTU option. */
  linkMtu(iface: NetInterface): number {
    return Math.min(iface.mtu, this.ifs.get(iface)?.raMtu ?? Infinity);
  }

  /** RFC 4861 §6.3.4: an RA MTU option is used only within [1280, link MTU]. */
  setLinkMtu(iface: NetInterface, mtu: number): boolean {
    const st = this.ifs.get(iface);
    if (!st || mtu < IPV6_MIN_MTU || mtu > iface.mtu) return false;
    st.raMtu = mtu;
    return true;
  }

  // ---------------------------------------------------------------- multicast groups

  /** Joins `group` on `iface` (reference counted); the first join updates the MAC filter and tells observers (MLD). */
  joinGroup(iface: NetInterface, group: Ipv6Address, now: Instant): boolean {
    const st = this.attach(iface, now);
    if (!st || !isIpv6Multicast(group)) return false;
    const k = ipv6Key(group);
    const g = st.groups.get(k);
    if (g) {
      g.refs++;
      return true;
    }
    if (st.groups.size >= this.options.maxGroupsPerInterface) {
      this.ctx.stats.drop('ipv6', 'group_table_full');
      return false;
    }
    st.groups.set(k, { address: group.slice(), refs: 1 });
    const mac = ipv6MulticastMac(group);
    st.macRefs.set(mac, (st.macRefs.get(mac) ?? 0) + 1);
    iface.multicastMacs.add(mac);
    for (const o of this.observers) o.groupJoined?.(iface, group, now);
    return true;
  }

  leaveGroup(iface: NetInterface, group: Ipv6Address, now: Instant): boolean {
    const st = this.ifs.get(iface);
    const k = ipv6Key(group);
    const g = st?.groups.get(k);
    if (!st || !g) return false;
    if (--g.refs > 0) return true;
    st.groups.delete(k);
    const mac = ipv6MulticastMac(group);
    const n = (st.macRefs.get(mac) ?? 1) - 1;
    if (n > 0) st.macRefs.set(mac, n);
    else {
      st.macRefs.delete(mac);
      iface.multicastMacs.delete(mac);
    }
    for (const o of this.observers) o.groupLeft?.(iface, g.address, now);
    return true;
  }

  isMember(iface: NetInterface, group: Ipv6Address): boolean {
    return this.ifs.get(iface)?.groups.has(ipv6Key(group)) ?? false;
  }

  groups(iface: NetInterface): Ipv6Address[] {
    return [...(this.ifs.get(iface)?.groups.values() ?? [])].map((g) => g.address);
  }

  // ---------------------------------------------------------------- input

  private input(iface: NetInterface, frame: Uint8Array, off: number, len: number, now: Instant, link: LinkRxInfo): void {
    const stats = this.ctx.stats;
    stats.count('ipv6', 'rx');
    const st = this.ifs.get(iface);
    if (!st) return stats.drop('ipv6', 'interface_not_configured');
    const p = Ipv6Packet.check(frame, off, len);
    if (isWireError(p)) return stats.drop('ipv6', `malformed_${p.field}`);
    this.process(st, p, link.linkMulticast, false, false, now);
  }

  private process(st: IfState, p: Ipv6Packet, linkMulticast: boolean, fromLoopback: boolean, reassembled: boolean, now: Instant): void {
    const stats = this.ctx.stats;
    const src = p.src;
    const dst = p.dst;
    const dstMulticast = p.dstIsMulticast;
    // RFC 4291 §2.7: multicast is never a source; ::1 never appears on a link (§2.5.3).
    if (isIpv6Multicast(src)) return stats.drop('ipv6', 'multicast_source');
    if (!fromLoopback && (ipv6Equal(src, IPV6_LOOPBACK) || ipv6Equal(dst, IPV6_LOOPBACK))) return stats.drop('ipv6', 'martian_loopback');
    if (dstMulticast) {
      if (!st.groups.has(ipv6Key(dst))) return stats.drop('ipv6', 'not_member');
    } else if (!fromLoopback) {
      const a = this.localEntry(st, dst);
      if (!a) return stats.drop('ipv6', 'not_for_us');
      // RFC 4862 §5.4: packets to a tentative address are silently discarded.
      if (!isUsable(a)) return stats.drop('ipv6', 'to_tentative_address');
    }
    const chain = walkIpv6Chain(p, this.options.maxExtHeaders);
    const bad = chain instanceof Ipv6ParamProblem;
    const info: Ipv6RxInfo = {
      iface: st.iface, src, dst, hopLimit: p.hopLimit, multicast: dstMulticast || linkMulticast, routerAlert: bad ? -1 : chain.routerAlert,
      packet: p.buf, packetOffset: p.off, packetLength: p.len, loopback: fromLoopback, fragmented: reassembled || (!bad && chain.fragment !== null),
    };
    if (chain instanceof Ipv6ParamProblem) {
      stats.drop('ipv6', `bad_${chain.field}`);
      if (chain.report === 'silent') return;
      return this.sendParamProblem(info, chain.code, chain.pointer, chain.report === 'icmp', now);
    }
    if (!firstFragmentHasUpperHeader(p, chain)) {
      // RFC 7112 §5 / RFC 8200 §4.5 (H25).
      stats.drop('ipv6', 'incomplete_header_chain');
      return this.sendParamProblem(info, ParamProblemCode.INCOMPLETE_HEADER_CHAIN, 0, false, now);
    }
    const f = chain.fragment;
    if (f && (f.fragOffset !== 0 || f.moreFrags)) {
      if (reassembled) return stats.drop('ipv6', 'nested_fragment');
      if (!this.fragmentHook) return stats.drop('ipv6', 'fragment_no_reassembly');
      stats.count('ipv6', 'rx_fragments');
      return this.fragmentHook(p, chain, this.fragmentContext(st, info, linkMulticast), now);
    }
    if (f) stats.count('ipv6', 'rx_atomic_fragments'); // RFC 6946: processed in isolation
    this.deliver(chain, p, info, now);
  }

  private localEntry(st: IfState, dst: Ipv6Address): Ipv6AddressInfo | undefined {
    for (const a of st.addrs) if (a.state !== 'duplicate' && ipv6Equal(a.address, dst)) return a;
    // Weak host model for global addresses (RFC 1122 §3.3.4.2); link-local is interface-scoped.
    if (isIpv6LinkLocal(dst)) return undefined;
    for (const o of this.ifs.values()) {
      if (o === st) continue;
      for (const a of o.addrs) if (isUsable(a) && ipv6Equal(a.address, dst)) return a;
    }
    return undefined;
  }

  private fragmentContext(st: IfState, info: Ipv6RxInfo, linkMulticast: boolean): Ipv6FragmentContext {
    return {
      info,
      deliver: (packet, now) => {
        const q = Ipv6Packet.check(packet);
        if (isWireError(q)) return this.ctx.stats.drop('ipv6', `reassembled_malformed_${q.field}`);
        this.ctx.stats.count('ipv6', 'reassembled');
        this.process(st, q, linkMulticast, false, true, now);
      },
      paramProblem: (code, pointer, now) => this.sendParamProblem(info, code, pointer, false, now),
      timeExceeded: (iface, first, now) => {
        const q = Ipv6Packet.check(first);
        if (isWireError(q)) return;
        const i: Ipv6RxInfo = { ...info, iface, src: q.src, dst: q.dst, multicast: q.dstIsMulticast, packet: first, packetOffset: 0, packetLength: q.len };
        // RFC 8200 §4.5: code 1, only when the first fragment arrived (the caller stored it).
        this.errorSender?.(ICMPV6_TYPE_TIME_EXCEEDED, 1, 0, i, now);
      },
    };
  }

  private deliver(chain: Ipv6Chain, p: Ipv6Packet, info: Ipv6RxInfo, now: Instant): void {
    const proto = chain.upperProtocol;
    if (proto === PROTO_NONE) return this.ctx.stats.count('ipv6', 'no_next_header');
    const h = this.handlers.get(proto);
    if (!h) {
      // RFC 8200 §4: unrecognised Next Header → Parameter Problem code 1 at that field.
      this.ctx.stats.drop('ipv6', 'unknown_next_header');
      return this.sendParamProblem(info, ParamProblemCode.UNRECOGNIZED_NEXT_HEADER, chain.nextHeaderPointer, false, now);
    }
    this.ctx.stats.count('ipv6', 'delivered');
    h(p.buf, p.off + chain.upperOffset, p.len - chain.upperOffset, info, now);
  }

  /** `toMulticast`: the RFC 4443 §2.4(e.3) exception (unknown option with action 10). */
  private sendParamProblem(info: Ipv6RxInfo, code: number, pointer: number, toMulticast: boolean, now: Instant): void {
    if (!this.errorSender) return this.ctx.stats.count('ipv6', 'param_problem_no_icmp');
    this.errorSender(ICMPV6_TYPE_PARAM_PROBLEM, code, pointer, info, now, toMulticast);
  }

  // ---------------------------------------------------------------- output

  /** Interface, next hop and source for `dst` (RFC 6724 source selection when `src` is absent). */
  route(dst: Ipv6Address, src?: Ipv6Address, forced?: NetInterface, allowUnspecifiedSource = false): Ipv6Route | Ipv6SendError {
    if (isIpv6Unspecified(dst)) return 'EHOSTUNREACH';
    if (src !== undefined && !isIpv6Unspecified(src) && !this.isLocal(src)) return 'EADDRNOTAVAIL';
    if (src !== undefined && isIpv6Unspecified(src) && !allowUnspecifiedSource) return 'EADDRNOTAVAIL';
    // To ourselves: the loopback queue (source = the destination unless given).
    const owner = ipv6Equal(dst, IPV6_LOOPBACK) ? (forced ?? this.firstInterface()) : this.ownerOf(dst, forced);
    if (owner) return { iface: owner, nextHop: dst, src: src ?? dst, loopback: true };
    let iface = forced;
    let nextHop = dst;
    const srcIface = src !== undefined && !isIpv6Unspecified(src) ? this.ownerOf(src) : undefined;
    if (isIpv6Multicast(dst) || isIpv6LinkLocal(dst)) {
      const r = isIpv6LinkLocal(dst) ? this.ctx.routes6.lookup(dst) : undefined;
      iface ??= srcIface ?? (r ? this.ctx.interfaces[r.ifIndex - 1] : this.firstInterface());
    } else {
      // With a forced interface, the best route leaving through it (the list is in precedence order).
      const r = iface ? this.ctx.routes6.list().find((x) => x.ifIndex === iface!.index && ipv6PrefixMatch(dst, x.network, x.prefixLen)) : this.ctx.routes6.lookup(dst);
      if (!r) return 'ENETUNREACH';
      iface ??= this.ctx.interfaces[r.ifIndex - 1];
      if (r.gateway !== undefined) nextHop = r.gateway;
    }
    if (!iface || !this.ifs.has(iface)) return 'EHOSTUNREACH';
    const source = src ?? this.selectSource(iface, dst);
    if (!source) return 'EADDRNOTAVAIL';
    return { iface, nextHop, src: source, loopback: false };
  }

  private firstInterface(): NetInterface | undefined {
    for (const st of this.ifs.values()) if (st.iface.up) return st.iface;
    return this.ifs.keys().next().value;
  }

  /** RFC 6724 §5 source selection among usable addresses of `iface` (rules 1, 2, 3 and 8). */
  selectSource(iface: NetInterface, dst: Ipv6Address): Ipv6Address | undefined {
    const st = this.ifs.get(iface);
    if (!st) return undefined;
    const ds = ipv6Scope(dst);
    let best: Ipv6AddressInfo | undefined;
    for (const a of st.addrs) {
      if (!isUsable(a)) continue;
      if (!best || preferSource(a, best, dst, ds)) best = a;
    }
    return best?.address;
  }

  /** Largest packet to `dst` on `iface` without fragmenting: min(link MTU, path MTU learnt from Packet Too Big). */
  pathMtu(iface: NetInterface, dst: Ipv6Address, now: Instant): number {
    return Math.min(this.linkMtu(iface), this.pathMtuLookup?.(dst, now) ?? Infinity);
  }

  /** The ICMPv6 module installs its Path MTU cache here (RFC 8201). */
  setPathMtuLookup(lookup: PathMtuLookup | undefined): void {
    this.pathMtuLookup = lookup;
  }

  /**
   * Builds and sends a packet whose upper-layer message (`payloadLen` bytes) is written by `fill`.
   * Fragments it (RFC 8200 §4.5) when it exceeds the path MTU, unless dontFrag.
   */
  send(params: Ipv6SendParams, payloadLen: number, fill: Ipv6Fill, now: Instant): Ipv6SendError | undefined {
    const stats = this.ctx.stats;
    const route = this.route(params.dst, params.src, params.iface, params.allowUnspecifiedSource ?? false);
    if (typeof route === 'string') {
      stats.drop('ipv6', `tx_${route}`);
      return route;
    }
    const { iface, nextHop, src } = route;
    const dst = params.dst;
    const hbh = params.routerAlert !== undefined ? Ipv6OptionsHeaderRepr.routerAlert(params.protocol, params.routerAlert) : null;
    const hbhLen = hbh ? Ipv6OptionsHeaderRepr.bufferLen(hbh) : 0;
    if (hbhLen + payloadLen > 0xffff) return 'EMSGSIZE';
    const mc = isIpv6Multicast(dst);
    const hopLimit = params.hopLimit ?? (mc ? 1 : this.hopLimit(iface));
    const repr: Ipv6Repr = { src, dst, nextHeader: hbh ? 0 : params.protocol, hopLimit, trafficClass: params.trafficClass ?? 0, flowLabel: params.flowLabel ?? 0, payloadLen: hbhLen + payloadLen };
    const total = IPV6_HEADER_LEN + hbhLen + payloadLen;
    if (route.loopback) {
      if (this.loopback.length >= this.options.loopbackQueue) return 'ENOBUFS';
      const d = new Uint8Array(total);
      this.writeHeaders(repr, hbh, d, 0);
      fill(d, IPV6_HEADER_LEN + hbhLen, src, dst);
      this.loopback.push({ iface, packet: d });
      stats.count('ipv6', 'tx_loopback');
      return undefined;
    }
    const dstMac = params.dstMac ?? (mc ? ipv6MulticastMac(dst) : undefined);
    const mtu = this.pathMtu(iface, dst, now);
    if (total <= mtu) {
      const tx = this.ctx.allocTx(total);
      if (!tx) return 'ENOBUFS';
      this.writeHeaders(repr, hbh, tx.buf, tx.l3Offset);
      fill(tx.buf, tx.l3Offset + IPV6_HEADER_LEN + hbhLen, src, dst);
      stats.count('ipv6', 'tx');
      this.transmit(iface, nextHop, dstMac, tx, total, now);
      return undefined;
    }
    if (params.dontFrag) return 'EMSGSIZE';
    const payload = new Uint8Array(payloadLen);
    fill(payload, 0, src, dst);
    return this.sendFragments({ iface, nextHop, dstMac }, repr, hbh, payload, params.protocol, mtu, now);
  }

  private writeHeaders(repr: Ipv6Repr, hbh: OptionsHeader | null, buf: Uint8Array, off: number): void {
    Ipv6Repr.emit(repr, buf, off);
    if (hbh) Ipv6OptionsHeaderRepr.emit(hbh, buf, off + IPV6_HEADER_LEN);
  }

  /**
   * RFC 8200 §4.5: the unfragmentable part (header + Hop-by-Hop) is repeated, each fragment carries a
   * multiple of 8 bytes but the last, and all share a random 32-bit identification (RFC 7739). Only
   * called when the packet does not fit, so an atomic fragment is never produced (RFC 8021).
   */
  private sendFragments(to: { iface: NetInterface; nextHop: Ipv6Address; dstMac: MacAddress | undefined }, repr: Ipv6Repr, hbh: OptionsHeader | null, payload: Uint8Array, protocol: number, mtu: number, now: Instant): Ipv6SendError | undefined {
    const unfrag = IPV6_HEADER_LEN + (hbh ? Ipv6OptionsHeaderRepr.bufferLen(hbh) : 0);
    const chunk = (mtu - unfrag - IPV6_FRAG_HEADER_LEN) & ~7;
    if (chunk <= 0) return 'EMSGSIZE';
    const ident = this.ctx.random.u32();
    const fragNh = hbh ? { ...hbh, nextHeader: 44 } : null;
    for (let off = 0; off < payload.length; off += chunk) {
      const n = Math.min(chunk, payload.length - off);
      const len = unfrag + IPV6_FRAG_HEADER_LEN + n;
      const tx = this.ctx.allocTx(len);
      if (!tx) return 'ENOBUFS';
      const b = tx.buf;
      const o = tx.l3Offset;
      this.writeHeaders({ ...repr, nextHeader: fragNh ? 0 : 44, payloadLen: len - IPV6_HEADER_LEN }, fragNh, b, o);
      Ipv6FragmentRepr.emit({ nextHeader: protocol, fragOffset: off, moreFrags: off + n < payload.length, ident }, b, o + unfrag);
      b.set(payload.subarray(off, off + n), o + unfrag + IPV6_FRAG_HEADER_LEN);
      this.ctx.stats.count('ipv6', 'tx_fragments');
      this.transmit(to.iface, to.nextHop, to.dstMac, tx, len, now);
    }
    this.ctx.stats.count('ipv6', 'tx');
    return undefined;
  }

  private transmit(iface: NetInterface, nextHop: Ipv6Address, dstMac: MacAddress | undefined, tx: TxBuffer, len: number, now: Instant): void {
    if (dstMac !== undefined || iface.medium === 'ip') return this.ctx.sendL3(iface, tx, len, dstMac ?? 0, EtherType.IPV6);
    if (!this.neighborOutput) {
      this.ctx.stats.drop('ipv6', 'no_ndp_module');
      return this.ctx.freeTx(tx);
    }
    this.neighborOutput(iface, nextHop, tx, len, now);
  }

  // ---------------------------------------------------------------- timers

  pollAt(now: Instant): Instant {
    if (this.loopback.length > 0) return now;
    let t = Instant.NEVER;
    for (const st of this.ifs.values()) {
      for (const a of st.addrs) {
        if (a.state === 'preferred' && a.preferredUntil < t) t = a.preferredUntil;
        if (a.validUntil < t) t = a.validUntil;
      }
    }
    return t;
  }

  poll(now: Instant): void {
    const batch = this.loopback.splice(0);
    for (const { iface, packet } of batch) {
      const st = this.ifs.get(iface);
      const p = Ipv6Packet.check(packet);
      if (!st || isWireError(p)) continue;
      this.process(st, p, false, true, false, now);
    }
    // RFC 4862 §5.5.4: deprecate at the end of the preferred lifetime, remove at the end of the valid one.
    for (const st of this.ifs.values()) {
      for (const a of [...st.addrs]) {
        if (a.validUntil <= now) {
          this.ctx.stats.count('ipv6', 'addresses_expired');
          this.removeAddress(st.iface, a.address, now);
        } else if (a.state === 'preferred' && a.preferredUntil <= now) {
          a.state = 'deprecated';
          for (const o of this.observers) o.addressChanged?.(st.iface, a, now);
        }
      }
    }
  }
}

function isUsable(a: Ipv6AddressInfo): boolean {
  return a.state === 'preferred' || a.state === 'deprecated';
}

/** True when `a` is a better source than `b` for `dst` (RFC 6724 §5 rules 1, 2, 3, 8). */
function preferSource(a: Ipv6AddressInfo, b: Ipv6AddressInfo, dst: Ipv6Address, dstScope: number): boolean {
  const ea = ipv6Equal(a.address, dst);
  if (ea !== ipv6Equal(b.address, dst)) return ea;
  const sa = ipv6Scope(a.address);
  const sb = ipv6Scope(b.address);
  if (sa < sb) return sa >= dstScope;
  if (sb < sa) return sb < dstScope;
  if ((a.state === 'deprecated') !== (b.state === 'deprecated')) return b.state === 'deprecated';
  return commonPrefixLen(a.address, dst, 64) > commonPrefixLen(b.address, dst, 64);
}

