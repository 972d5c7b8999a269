// UDP (RFC 768, RFC 1122 §4.1) over IPv4 and IPv6, with a sans-I/O socket API that the dgram facade
// drives. What it does:
//  - demultiplexes by (local address|any, port) and, for connected sockets, the remote endpoint; the
//    most specific socket wins (Linux compute_score order); broadcast and multicast go to every
//    matching socket, multicast only on interfaces that joined the group;
//  - several sockets share a port only when all of them set reuseAddr (SO_REUSEADDR); unicast then
//    goes to the most recently bound one, as on Linux;
//  - checksum rules: computed on send; verified on receive unless the device verified it; a zero
//    checksum means "none" over IPv4 and is dropped over IPv6 (RFC 8200 §8.1, H43);
//  - length rules from the codec: length < 8 or beyond the IP payload dropped, shorter trimmed (H44);
//  - closed ports answered with ICMP port unreachable through the IP layer's error hook, whose module
//    applies RFC 1122 / RFC 4443 suppression (broadcast, multicast: H18) and the token bucket (E11);
//  - ICMP errors quoting one of our datagrams go to the socket that sent it; like Linux without
//    IP_RECVERR, only a connected socket hears about them, and only about "hard" errors;
//  - bounded receive queues (datagrams and bytes), every drop counted with a reason;
//  - sending to a broadcast address needs the broadcast flag (EACCES otherwise, like Linux);
//    broadcasts and (with multicastLoop) multicasts we send are also delivered to local sockets;
//  - multicast membership per socket (capped), reference counted per interface by the IP module,
//    which mirrors it into the interface's MAC filter. IGMP/MLD reports are separate modules.
//  - ephemeral ports from ports.ts (RFC 6056), collision-free per family.
// What it does not do: IPv4-mapped IPv6 (a udp6 socket is IPv6-only), IP_RECVERR-style error
// queues, UDP-Lite, GSO/GRO.

import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../checksum/internet.js';
import type { Instant } from '../time/instant.js';
import {
  IPV6_UNSPECIFIED,
  type Ipv4Address,
  type Ipv6Address,
  isIpv4Multicast,
  isIpv6Multicast,
  ipv6Equal,
  isIpv6Unspecified,
} from '../wire/address.js';
import { isWireError } from '../wire/error.js';
import { IpProtocol } from '../wire/ip-protocol.js';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr } from '../wire/udp.js';
import type { Icmpv4ErrorReport, Icmpv4Module } from './icmpv4.js';
import type { Icmpv6ErrorReport, Icmpv6Module } from './icmpv6.js';
import type { NetInterface } from './interface.js';
import type { Ipv4Module, Ipv4RxInfo } from './ipv4.js';
import type { Ipv6Module, Ipv6RxInfo } from './ipv6.js';
import type { StackModule } from './module.js';
import { EphemeralPorts, type EphemeralPortOptions, addressWords } from './ports.js';
import type { StackContext } from './stack.js';

export type UdpFamily = 4 | 6;
/** An IPv4 address (number) for family 4, a 16-byte IPv6 address for family 6. */
export type IpAddress = Ipv4Address | Ipv6Address;

/** Error codes of the socket API (errno names; the API layer maps them to Node-shaped errors). */
export type UdpError =
  | 'EACCES'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EAFNOSUPPORT'
  | 'EBADF'
  | 'ECONNREFUSED'
  | 'EDESTADDRREQ'
  | 'EHOSTDOWN'
  | 'EHOSTUNREACH'
  | 'EINVAL'
  | 'EMSGSIZE'
  | 'ENETUNREACH'
  | 'ENOBUFS'
  | 'ENODEV'
  | 'ENONET'
  | 'ENOPROTOOPT'
  | 'EOPNOTSUPP'
  | 'EPROTO';

export interface UdpOptions {
  /** Ephemeral port range and RFC 6056 parameters (default 49152–65535). */
  readonly ephemeral: Partial<EphemeralPortOptions>;
  /** Receive queue bound per socket, in datagrams. */
  readonly rxQueueDatagrams: number;
  /** Receive queue bound per socket, in payload bytes (Linux's default rmem is 212992). */
  readonly rxQueueBytes: number;
  /** Multicast groups one socket may join (Linux IP_MAX_MEMBERSHIPS). */
  readonly maxMembershipsPerSocket: number;
}

export const DEFAULT_UDP_OPTIONS: UdpOptions = {
  ephemeral: {},
  rxQueueDatagrams: 1024,
  rxQueueBytes: 212_992,
  maxMembershipsPerSocket: 20,
};

/** A received datagram: an owned copy of the payload and where it came from. */
export interface UdpDatagram {
  readonly data: Uint8Array;
  readonly address: IpAddress;
  readonly port: number;
  /** The address it was sent to (ours, a broadcast or a group). */
  readonly dst: IpAddress;
  readonly ifIndex: number;
}

/**
 * How a socket tells its owner about input. Called synchronously from inside the stack: record the
 * fact and act after the poll returns (never call back into the stack from here).
 */
export interface UdpSocketListener {
  /** The receive queue went from empty to non-empty. */
  readable(): void;
  /** An asynchronous error is pending (takeError()). */
  error(): void;
}

export interface UdpSendTarget {
  readonly address: IpAddress;
  readonly port: number;
}

/** Per-family network operations: the seam through which IPv4 and IPv6 plug into the same socket code. */
interface UdpNetwork {
  readonly family: UdpFamily;
  readonly any: IpAddress;
  /** Largest payload a datagram can carry (65535 minus the IP and UDP headers). */
  readonly maxPayload: number;
  equal(a: IpAddress, b: IpAddress): boolean;
  isAny(a: IpAddress): boolean;
  isMulticast(a: IpAddress): boolean;
  isBroadcast(a: IpAddress): boolean;
  isLocal(a: IpAddress): boolean;
  /** Interface that owns the unicast address `a`. */
  ifaceOf(a: IpAddress): NetInterface | undefined;
  /** Interface a datagram to `dst` would leave by (for multicast joins without an interface). */
  routeIface(dst: IpAddress): NetInterface | undefined;
  /** Source address a datagram to `dst` would get (connect() fixes it), or an error. */
  routeSource(dst: IpAddress, src: IpAddress | undefined): IpAddress | UdpError;
  send(dst: IpAddress, src: IpAddress | undefined, ttl: number | undefined, iface: NetInterface | undefined, len: number,
    fill: (buf: Uint8Array, off: number, src: IpAddress, dst: IpAddress) => void, now: Instant): UdpError | undefined;
  pseudoSum(src: IpAddress, dst: IpAddress, len: number): number;
  join(iface: NetInterface, group: IpAddress, now: Instant): boolean;
  leave(iface: NetInterface, group: IpAddress, now: Instant): void;
  isMember(iface: NetInterface, group: IpAddress): boolean;
}

class Ipv4Network implements UdpNetwork {
  readonly family = 4;
  readonly any = 0;
  readonly maxPayload = 65535 - 20 - UDP_HEADER_LEN;
  constructor(
    private readonly ctx: StackContext,
    private readonly ip: Ipv4Module,
  ) {}
  equal(a: IpAddress, b: IpAddress): boolean {
    return a === b;
  }
  isAny(a: IpAddress): boolean {
    return a === 0;
  }
  isMulticast(a: IpAddress): boolean {
    return isIpv4Multicast(a as number);
  }
  isBroadcast(a: IpAddress): boolean {
    if (a === 0xffff_ffff) return true;
    for (const i of this.ctx.interfaces) if (this.ip.isBroadcastOn(i, a as number)) return true;
    return false;
  }
  isLocal(a: IpAddress): boolean {
    return this.ip.isLocal(a as number);
  }
  ifaceOf(a: IpAddress): NetInterface | undefined {
    return this.ctx.interfaces.find((i) => i.hasIpv4(a as number));
  }
  routeIface(dst: IpAddress): NetInterface | undefined {
    const r = this.ip.route(dst as number);
    return typeof r === 'string' ? undefined : r.iface;
  }
  routeSource(dst: IpAddress, src: IpAddress | undefined): IpAddress | UdpError {
    const r = this.ip.route(dst as number, src as number | undefined);
    return typeof r === 'string' ? r : r.src;
  }
  send(dst: IpAddress, src: IpAddress | undefined, ttl: number | undefined, iface: NetInterface | undefined, len: number,
    fill: (buf: Uint8Array, off: number, src: IpAddress, dst: IpAddress) => void, now: Instant): UdpError | undefined {
    const params = { dst: dst as number, protocol: IpProtocol.UDP, ...(src !== undefined ? { src: src as number } : {}), ...(ttl !== undefined ? { ttl } : {}), ...(iface ? { iface } : {}) };
    return this.ip.send(params, len, fill, now);
  }
  pseudoSum(src: IpAddress, dst: IpAddress, len: number): number {
    return pseudoHeaderSumV4(src as number, dst as number, IpProtocol.UDP, len);
  }
  join(iface: NetInterface, group: IpAddress, now: Instant): boolean {
    return this.ip.joinGroup(iface, group as number, now);
  }
  leave(iface: NetInterface, group: IpAddress, now: Instant): void {
    this.ip.leaveGroup(iface, group as number, now);
  }
  isMember(iface: NetInterface, group: IpAddress): boolean {
    return this.ip.isMember(iface, group as number);
  }
}

class Ipv6Network implements UdpNetwork {
  readonly family = 6;
  readonly any = IPV6_UNSPECIFIED;
  // No jumbograms: the UDP length field bounds the datagram (the IPv6 header is not counted).
  readonly maxPayload = 65535 - UDP_HEADER_LEN;
  constructor(
    private readonly ctx: StackContext,
    private readonly ip: Ipv6Module,
  ) {}
  equal(a: IpAddress, b: IpAddress): boolean {
    return ipv6Equal(a as Ipv6Address, b as Ipv6Address);
  }
  isAny(a: IpAddress): boolean {
    return isIpv6Unspecified(a as Ipv6Address);
  }
  isMulticast(a: IpAddress): boolean {
    return isIpv6Multicast(a as Ipv6Address);
  }
  isBroadcast(): boolean {
    return false;
  }
  isLocal(a: IpAddress): boolean {
    return this.ip.isLocal(a as Ipv6Address);
  }
  ifaceOf(a: IpAddress): NetInterface | undefined {
    return this.ctx.interfaces.find((i) => this.ip.findAddress(i, a as Ipv6Address) !== undefined);
  }
  routeIface(dst: IpAddress): NetInterface | undefined {
    const r = this.ip.route(dst as Ipv6Address);
    return typeof r === 'string' ? undefined : r.iface;
  }
  routeSource(dst: IpAddress, src: IpAddress | undefined): IpAddress | UdpError {
    const r = this.ip.route(dst as Ipv6Address, src as Ipv6Address | undefined);
    return typeof r === 'string' ? r : r.src;
  }
  send(dst: IpAddress, src: IpAddress | undefined, ttl: number | undefined, iface: NetInterface | undefined, len: number,
    fill: (buf: Uint8Array, off: number, src: IpAddress, dst: IpAddress) => void, now: Instant): UdpError | undefined {
    const params = { dst: dst as Ipv6Address, protocol: IpProtocol.UDP, ...(src !== undefined ? { src: src as Ipv6Address } : {}), ...(ttl !== undefined ? { hopLimit: ttl } : {}), ...(iface ? { iface } : {}) };
    return this.ip.send(params, len, fill, now);
  }
  pseudoSum(src: IpAddress, dst: IpAddress, len: number): number {
    return pseudoHeaderSumV6(src as Ipv6Address, dst as Ipv6Address, IpProtocol.UDP, len);
  }
  join(iface: NetInterface, group: IpAddress, now: Instant): boolean {
    return this.ip.joinGroup(iface, group as Ipv6Address, now);
  }
  leave(iface: NetInterface, group: IpAddress, now: Instant): void {
    this.ip.leaveGroup(iface, group as Ipv6Address, now);
  }
  isMember(iface: NetInterface, group: IpAddress): boolean {
    return this.ip.isMember(iface, group as Ipv6Address);
  }
}

/** ICMP error → errno and whether it is "hard" (reported to connected sockets), after Linux's tables. */
const ICMPV4_UNREACH: ReadonlyArray<readonly [UdpError, boolean]> = [
  ['ENETUNREACH', false], ['EHOSTUNREACH', false], ['ENOPROTOOPT', true], ['ECONNREFUSED', true],
  ['EMSGSIZE', true], ['EOPNOTSUPP', false], ['ENETUNREACH', true], ['EHOSTDOWN', true],
  ['ENONET', true], ['ENETUNREACH', true], ['EHOSTUNREACH', true], ['ENETUNREACH', false],
  ['EHOSTUNREACH', false], ['EHOSTUNREACH', true], ['EHOSTUNREACH', true], ['EHOSTUNREACH', true],
];
const ICMPV6_UNREACH: ReadonlyArray<readonly [UdpError, boolean]> = [
  ['ENETUNREACH', false], ['EACCES', true], ['EHOSTUNREACH', false], ['EHOSTUNREACH', false],
  ['ECONNREFUSED', true], ['EACCES', true], ['EACCES', true],
];

function icmpv4Error(type: number, code: number): readonly [UdpError, boolean] {
  if (type === 3) return ICMPV4_UNREACH[code] ?? ['EHOSTUNREACH', false];
  if (type === 12) return ['EPROTO', true];
  return ['EHOSTUNREACH', false]; // time exceeded
}

function icmpv6Error(type: number, code: number): readonly [UdpError, boolean] {
  if (type === 1) return ICMPV6_UNREACH[code] ?? ['EHOSTUNREACH', false];
  if (type === 2) return ['EMSGSIZE', true];
  if (type === 4) return ['EPROTO', true];
  return ['EHOSTUNREACH', false];
}

interface Membership {
  readonly group: IpAddress;
  readonly iface: NetInterface;
}

export class UdpSocket {
  /** Bound local address (the family's "any" when unbound or bound to any). */
  localAddress: IpAddress;
  /** 0 while unbound. */
  localPort = 0;
  remoteAddress: IpAddress | null = null;
  remotePort = 0;
  /** SO_BROADCAST: sending to broadcast addresses is allowed. */
  broadcast = false;
  /** Unicast TTL / hop limit; undefined = the IP module's default. */
  ttl: number | undefined = undefined;
  multicastTtl = 1;
  multicastLoop = true;
  /** Outgoing interface for multicast; undefined = by route. */
  multicastInterface: NetInterface | undefined = undefined;
  listener: UdpSocketListener | null = null;
  /** Datagrams this socket dropped because its queue was full. */
  rxDropped = 0;
  rxQueueBytes: number;
  rxQueueDatagrams: number;
  /** @internal */ readonly memberships: Membership[] = [];
  /** @internal explicit bind to a nonzero port / a specific address (kept across disconnect). */
  portLocked = false;
  /** @internal */ addrLocked = false;
  /** @internal */ bindSeq = 0;
  private queue: UdpDatagram[] = [];
  private head = 0;
  private queuedBytes = 0;
  private pendingError: UdpError | undefined;
  private closedFlag = false;

  /** @internal use UdpModule.socket() */
  constructor(
    private readonly udp: UdpModule,
    readonly family: UdpFamily,
    readonly reuseAddr: boolean,
    any: IpAddress,
  ) {
    this.localAddress = any;
    this.rxQueueBytes = udp.options.rxQueueBytes;
    this.rxQueueDatagrams = udp.options.rxQueueDatagrams;
  }

  get closed(): boolean {
    return this.closedFlag;
  }
  get connected(): boolean {
    return this.remoteAddress !== null;
  }
  /** Datagrams waiting in the receive queue. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Binds to (address|any, port|0 for an ephemeral port). */
  bind(address: IpAddress | null, port: number): UdpError | undefined {
    return this.udp.bind(this, address, port);
  }
  /** Fixes the remote endpoint (binding first if needed) and the local address from the route. */
  connect(address: IpAddress, port: number): UdpError | undefined {
    return this.udp.connect(this, address, port);
  }
  /** Forgets the remote endpoint (and, like Linux, an automatically chosen local address and port). */
  disconnect(): void {
    this.udp.disconnect(this);
  }
  /** Sends one datagram (the concatenation of `data`) to `to`, or to the connected peer when null. */
  send(data: Uint8Array | readonly Uint8Array[], to: UdpSendTarget | null, now: Instant): UdpError | undefined {
    return this.udp.send(this, data, to, now);
  }
  /** The next queued datagram, if any. */
  recv(): UdpDatagram | undefined {
    if (this.head >= this.queue.length) return undefined;
    const d = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as UdpDatagram;
    this.queuedBytes -= d.data.length;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return d;
  }
  /** The pending asynchronous error (ICMP), cleared by reading it (SO_ERROR). */
  takeError(): UdpError | undefined {
    const e = this.pendingError;
    this.pendingError = undefined;
    return e;
  }
  /** Joins a multicast group on the interface owning `ifaceAddress`, or the one the group routes through. */
  addMembership(group: IpAddress, ifaceAddress: IpAddress | null, now: Instant): UdpError | undefined {
    return this.udp.addMembership(this, group, ifaceAddress, now);
  }
  dropMembership(group: IpAddress, ifaceAddress: IpAddress | null, now: Instant): UdpError | undefined {
    return this.udp.dropMembership(this, group, ifaceAddress, now);
  }
  /** Selects the outgoing interface for multicast by one of its addresses (any = by route). */
  setMulticastInterface(ifaceAddress: IpAddress): UdpError | undefined {
    return this.udp.setMulticastInterface(this, ifaceAddress);
  }
  /** Releases the port, memberships and queued datagrams. Idempotent. */
  close(now: Instant): void {
    if (this.closedFlag) return;
    this.udp.release(this, now);
    this.closedFlag = true;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.listener = null;
  }

  /** @internal */
  enqueue(d: UdpDatagram): boolean {
    if (this.queued > 0 && (this.queued >= this.rxQueueDatagrams || this.queuedBytes + d.data.length > this.rxQueueBytes)) {
      this.rxDropped++;
      return false;
    }
    const wasEmpty = this.queued === 0;
    this.queue.push(d);
    this.queuedBytes += d.data.length;
    if (wasEmpty) this.listener?.readable();
    return true;
  }
  /** @internal */
  setError(e: UdpError): void {
    this.pendingError = e;
    this.listener?.error();
  }
}

export class UdpModule implements StackModule {
  readonly name = 'udp';
  readonly options: UdpOptions;
  private ctx!: StackContext;
  private ports!: EphemeralPorts;
  private readonly nets: Array<UdpNetwork | undefined> = [];
  /** Bound sockets by port, per family (index 4 and 6). */
  private readonly bound: Array<Map<number, UdpSocket[]>> = [];
  private readonly sockets = new Set<UdpSocket>();
  private bindCounter = 0;

  constructor(options: Partial<UdpOptions> = {}) {
    this.options = { ...DEFAULT_UDP_OPTIONS, ...options };
    const o = this.options;
    if (!Number.isInteger(o.rxQueueDatagrams) || o.rxQueueDatagrams < 1) throw new RangeError(`rxQueueDatagrams ${o.rxQueueDatagrams} must be >= 1`);
    if (!(o.rxQueueBytes >= 1)) throw new RangeError(`rxQueueBytes ${o.rxQueueBytes} must be >= 1`);
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    this.ports = new EphemeralPorts(ctx.random, this.options.ephemeral);
    this.bound[4] = new Map();
    this.bound[6] = new Map();
    const ip4 = ctx.module<Ipv4Module>('ipv4');
    const ip6 = ctx.module<Ipv6Module>('ipv6');
    if (!ip4 && !ip6) throw new Error("the 'udp' module needs the 'ipv4' or 'ipv6' module");
    if (ip4) {
      this.nets[4] = new Ipv4Network(ctx, ip4);
      ip4.registerProtocol(IpProtocol.UDP, (buf, off, len, info, now) => this.input4(ip4, buf, off, len, info, now));
      ctx.module<Icmpv4Module>('icmpv4')?.onError(IpProtocol.UDP, (r) => this.icmp4(r));
    }
    if (ip6) {
      this.nets[6] = new Ipv6Network(ctx, ip6);
      ip6.registerProtocol(IpProtocol.UDP, (buf, off, len, info, now) => this.input6(ip6, buf, off, len, info, now));
      ctx.module<Icmpv6Module>('icmpv6')?.onError(IpProtocol.UDP, (r) => this.icmp6(r));
    }
  }

  /** Families this stack can carry UDP over. */
  supports(family: UdpFamily): boolean {
    return this.nets[family] !== undefined;
  }

  /** A new unbound socket, or EAFNOSUPPORT when the network module for the family is not installed. */
  socket(family: UdpFamily, opts: { reuseAddr?: boolean } = {}): UdpSocket | 'EAFNOSUPPORT' {
    const net = this.nets[family];
    if (!net) return 'EAFNOSUPPORT';
    const s = new UdpSocket(this, family, opts.reuseAddr ?? false, net.any);
    this.sockets.add(s);
    return s;
  }

  /** Open sockets (bound or not). */
  get socketCount(): number {
    return this.sockets.size;
  }

  close(): void {
    for (const s of [...this.sockets]) s.close(0 as Instant);
  }

  // ---------------------------------------------------------------- binding

  /** @internal */
  bind(s: UdpSocket, address: IpAddress | null, port: number): UdpError | undefined {
    if (s.closed) return 'EBADF';
    if (s.localPort !== 0) return 'EINVAL';
    if (!Number.isInteger(port) || port < 0 || port > 65535) return 'EINVAL';
    const net = this.nets[s.family]!;
    const addr = address ?? net.any;
    // Local unicast, any, or (to receive only that traffic) a broadcast or group address, as Linux allows.
    if (!net.isAny(addr) && !net.isLocal(addr) && !net.isMulticast(addr) && !net.isBroadcast(addr)) return 'EADDRNOTAVAIL';
    const err = this.attach(s, addr, port);
    if (err) return err;
    s.portLocked = port !== 0;
    s.addrLocked = !net.isAny(addr);
    return undefined;
  }

  /** Puts `s` in the port table at (addr, port|ephemeral). */
  private attach(s: UdpSocket, addr: IpAddress, port: number): UdpError | undefined {
    const net = this.nets[s.family]!;
    const table = this.bound[s.family]!;
    let p = port;
    if (p === 0) {
      const words: number[] = [s.family];
      addressWords(addr, words);
      const got = this.ports.allocate((c) => !table.has(c), words);
      if (got === 'EADDRINUSE') {
        this.ctx.stats.drop('udp', 'ephemeral_exhausted');
        return 'EADDRINUSE';
      }
      p = got;
    } else {
      for (const o of table.get(p) ?? []) {
        const overlap = net.isAny(o.localAddress) || net.isAny(addr) || net.equal(o.localAddress, addr);
        if (overlap && !(s.reuseAddr && o.reuseAddr)) return 'EADDRINUSE';
      }
    }
    s.localAddress = addr;
    s.localPort = p;
    s.bindSeq = ++this.bindCounter;
    const list = table.get(p);
    if (list) list.push(s);
    else table.set(p, [s]);
    return undefined;
  }

  private detach(s: UdpSocket): void {
    if (s.localPort === 0) return;
    const table = this.bound[s.family]!;
    const list = table.get(s.localPort);
    if (list) {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) table.delete(s.localPort);
    }
    s.localPort = 0;
  }

  /** @internal */
  connect(s: UdpSocket, address: IpAddress, port: number): UdpError | undefined {
    if (s.closed) return 'EBADF';
    if (!Number.isInteger(port) || port < 1 || port > 65535) return 'EINVAL';
    const net = this.nets[s.family]!;
    if (net.isBroadcast(address) && !s.broadcast) return 'EACCES';
    // Linux: connect() picks the route's source address for a socket bound to any (ip4_datagram_connect).
    const src = net.routeSource(address, s.addrLocked && !net.isMulticast(s.localAddress) && !net.isBroadcast(s.localAddress) ? s.localAddress : undefined);
    if (typeof src === 'string') return src;
    if (s.localPort === 0) {
      const err = this.attach(s, s.addrLocked ? s.localAddress : net.any, 0);
      if (err) return err;
    }
    if (!s.addrLocked) s.localAddress = src;
    s.remoteAddress = typeof address === 'number' ? address : address.slice();
    s.remotePort = port;
    return undefined;
  }

  /** @internal */
  disconnect(s: UdpSocket): void {
    if (s.closed) return;
    s.remoteAddress = null;
    s.remotePort = 0;
    const net = this.nets[s.family]!;
    if (!s.addrLocked) s.localAddress = net.any;
    // An automatically chosen port is released (Linux __udp_disconnect without SOCK_BINDPORT_LOCK).
    if (!s.portLocked) this.detach(s);
  }

  /** @internal */
  release(s: UdpSocket, now: Instant): void {
    const net = this.nets[s.family]!;
    for (const m of s.memberships) net.leave(m.iface, m.group, now);
    s.memberships.length = 0;
    this.detach(s);
    this.sockets.delete(s);
  }

  // ---------------------------------------------------------------- sending

  /** @internal */
  send(s: UdpSocket, data: Uint8Array | readonly Uint8Array[], to: UdpSendTarget | null, now: Instant): UdpError | undefined {
    const stats = this.ctx.stats;
    if (s.closed) return 'EBADF';
    const net = this.nets[s.family]!;
    const dst = to ? to.address : s.remoteAddress;
    const dport = to ? to.port : s.remotePort;
    if (dst === null) return 'EDESTADDRREQ';
    if (!Number.isInteger(dport) || dport < 1 || dport > 65535) return 'EINVAL';
    let len = 0;
    const parts: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data;
    for (const p of parts) len += p.length;
    if (len > net.maxPayload) return 'EMSGSIZE';
    const bcast = net.isBroadcast(dst);
    if (bcast && !s.broadcast) return 'EACCES';
    if (s.localPort === 0) {
      // Implicit bind (Linux inet_autobind): an ephemeral port on the bound (or any) address.
      const err = this.attach(s, s.localAddress, 0);
      if (err) return err;
    }
    const mcast = net.isMulticast(dst);
    const la = s.localAddress;
    const src = net.isAny(la) || net.isMulticast(la) || net.isBroadcast(la) ? undefined : la;
    const sport = s.localPort;
    const udpLen = UDP_HEADER_LEN + len;
    const cs = this.ctx.checksum;
    let usedSrc: IpAddress | undefined;
    const err = net.send(dst, src, mcast ? s.multicastTtl : s.ttl, mcast ? s.multicastInterface : undefined, udpLen, (buf, off, srcAddr, dstAddr) => {
      let o = off + UDP_HEADER_LEN;
      for (const p of parts) {
        buf.set(p, o);
        o += p.length;
      }
      UdpRepr.emit({ srcPort: sport, dstPort: dport, payloadLen: len }, buf, off, cs, net.pseudoSum(srcAddr, dstAddr, udpLen));
      usedSrc = srcAddr;
    }, now);
    if (err) {
      stats.drop('udp', `tx_${err}`);
      return err;
    }
    stats.count('udp', 'tx');
    // Broadcasts, and multicasts to a group joined here, are also heard locally (Linux ip_mc_output).
    if ((bcast || (mcast && s.multicastLoop)) && usedSrc !== undefined) this.loopLocal(net, s, parts, len, usedSrc, dst, dport, bcast);
    return undefined;
  }

  private loopLocal(net: UdpNetwork, from: UdpSocket, parts: readonly Uint8Array[], len: number, src: IpAddress, dst: IpAddress, dport: number, bcast: boolean): void {
    const iface = (bcast ? undefined : from.multicastInterface) ?? net.ifaceOf(src) ?? net.routeIface(dst);
    if (!iface) return;
    if (!bcast && !net.isMember(iface, dst)) return;
    const payload = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      payload.set(p, o);
      o += p.length;
    }
    const n = this.deliverMany(net, iface, payload, 0, len, src, from.localPort, dst, dport);
    this.ctx.stats.count('udp', 'tx_looped', n);
  }

  // ---------------------------------------------------------------- receiving

  private input4(ip: Ipv4Module, buf: Uint8Array, off: number, len: number, info: Ipv4RxInfo, now: Instant): void {
    const net = this.nets[4]!;
    const p = this.check(net, buf, off, len, info.iface, info.src, info.dst, true);
    if (!p) return;
    const multi = isIpv4Multicast(info.dst) || ip.isBroadcastOn(info.iface, info.dst);
    if (multi && isIpv4Multicast(info.dst) && !ip.isMember(info.iface, info.dst)) return this.ctx.stats.drop('udp', 'multicast_not_member');
    if (this.dispatch(net, p, info.iface, info.src, info.dst, multi)) return;
    // No socket: Port Unreachable (the ICMP module suppresses it for broadcast/multicast, fragments, and rate limits).
    ip.unreachable?.(info, 3, now);
  }

  private input6(ip: Ipv6Module, buf: Uint8Array, off: number, len: number, info: Ipv6RxInfo, now: Instant): void {
    const net = this.nets[6]!;
    const p = this.check(net, buf, off, len, info.iface, info.src, info.dst, false);
    if (!p) return;
    const multi = isIpv6Multicast(info.dst);
    if (multi && !ip.isMember(info.iface, info.dst)) return this.ctx.stats.drop('udp', 'multicast_not_member');
    if (this.dispatch(net, p, info.iface, info.src, info.dst, multi)) return;
    // Destination Unreachable, code 4 (port unreachable), RFC 4443 §3.1; suppressed for multicast by ICMPv6.
    ip.errorSender?.(1, 4, 0, info, now);
  }

  /** Length (H44) and checksum (H43) validation; null when dropped. */
  private check(net: UdpNetwork, buf: Uint8Array, off: number, len: number, iface: NetInterface, src: IpAddress, dst: IpAddress, zeroOk: boolean): UdpPacket | null {
    const stats = this.ctx.stats;
    stats.count('udp', 'rx');
    const p = UdpPacket.check(buf, off, len);
    if (isWireError(p)) {
      stats.drop('udp', `malformed_${p.field}`);
      return null;
    }
    if (p.len < len) stats.count('udp', 'rx_trimmed');
    if (p.checksum === 0) {
      if (!zeroOk) {
        stats.drop('udp', 'zero_checksum_ipv6');
        return null;
      }
      stats.count('udp', 'rx_no_checksum');
    } else {
      const offload = iface.device.capabilities.checksum.udp;
      // The pseudo-header's length word is the UDP length (RFC 768), which may be shorter than the IP payload.
      if (offload !== 'rx' && offload !== 'both' && !p.verifyChecksum(this.ctx.checksum, net.pseudoSum(src, dst, p.len), true)) {
        stats.drop('udp', 'bad_checksum');
        return null;
      }
    }
    return p;
  }

  /** Delivers to the matching socket(s); false when there was none. */
  private dispatch(net: UdpNetwork, p: UdpPacket, iface: NetInterface, src: IpAddress, dst: IpAddress, multi: boolean): boolean {
    const stats = this.ctx.stats;
    const sport = p.srcPort;
    const dport = p.dstPort;
    if (multi) {
      if (this.deliverMany(net, iface, p.buf, p.payloadOffset, p.payloadLength, src, sport, dst, dport) > 0) return true;
      // The caller still asks ICMP, whose module counts the suppression (never an error about these, H18).
      stats.drop('udp', 'no_socket');
      return false;
    }
    const s = this.lookup(net, dport, dst, src, sport);
    if (!s) {
      stats.drop('udp', 'no_socket');
      return false;
    }
    this.deliverOne(s, iface, p.buf, p.payloadOffset, p.payloadLength, src, sport, dst);
    return true;
  }

  /** Best socket for a unicast datagram: specific local address and connected peer score higher; ties go to the newest. */
  private lookup(net: UdpNetwork, dport: number, dst: IpAddress, src: IpAddress, sport: number): UdpSocket | undefined {
    const list = this.bound[net.family]!.get(dport);
    if (!list) return undefined;
    let best: UdpSocket | undefined;
    let bestScore = -1;
    for (const s of list) {
      const score = this.score(net, s, dst, src, sport);
      if (score > bestScore || (score === bestScore && best !== undefined && s.bindSeq > best.bindSeq)) {
        best = s;
        bestScore = score;
      }
    }
    return bestScore >= 0 ? best : undefined;
  }

  private score(net: UdpNetwork, s: UdpSocket, dst: IpAddress, src: IpAddress, sport: number): number {
    let score = 0;
    if (!net.isAny(s.localAddress)) {
      if (!net.equal(s.localAddress, dst)) return -1;
      score += 2;
    }
    if (s.remoteAddress !== null) {
      if (!net.equal(s.remoteAddress, src) || s.remotePort !== sport) return -1;
      score += 4;
    }
    return score;
  }

  private deliverMany(net: UdpNetwork, iface: NetInterface, buf: Uint8Array, off: number, len: number, src: IpAddress, sport: number, dst: IpAddress, dport: number): number {
    const list = this.bound[net.family]!.get(dport);
    if (!list) return 0;
    let n = 0;
    // Copy first: enqueue may notify a listener, which must not see the table change under it anyway.
    for (const s of [...list]) {
      if (this.score(net, s, dst, src, sport) < 0) continue;
      this.deliverOne(s, iface, buf, off, len, src, sport, dst);
      n++;
    }
    return n;
  }

  private deliverOne(s: UdpSocket, iface: NetInterface, buf: Uint8Array, off: number, len: number, src: IpAddress, sport: number, dst: IpAddress): void {
    // Received bytes are lent for the call: the socket keeps its own copy.
    const d: UdpDatagram = { data: buf.slice(off, off + len), address: typeof src === 'number' ? src : src.slice(), port: sport, dst: typeof dst === 'number' ? dst : dst.slice(), ifIndex: iface.index };
    if (s.enqueue(d)) this.ctx.stats.count('udp', 'delivered');
    else this.ctx.stats.drop('udp', 'rcvbuf_full');
  }

  // ---------------------------------------------------------------- ICMP errors

  private icmp4(r: Icmpv4ErrorReport): void {
    const q = r.quoted;
    if (q.fragmentOffset !== 0) return this.ctx.stats.drop('udp', 'icmp_error_not_first_fragment');
    const [err, hard] = icmpv4Error(r.type, r.code);
    this.icmpError(this.nets[4]!, q.src, q.srcPort, q.dst, q.dstPort, err, hard);
  }

  private icmp6(r: Icmpv6ErrorReport): void {
    const q = r.quoted;
    const [err, hard] = icmpv6Error(r.type, r.code);
    this.icmpError(this.nets[6]!, q.src, q.srcPort, q.dst, q.dstPort, err, hard);
  }

  /** RFC 1122 §4.1.3.3: pass ICMP errors to the application, matched by the quoted 4-tuple. */
  private icmpError(net: UdpNetwork, local: IpAddress, lport: number, remote: IpAddress, rport: number, err: UdpError, hard: boolean): void {
    const stats = this.ctx.stats;
    if (lport < 0 || rport < 0) return stats.drop('udp', 'icmp_error_short_quote');
    const s = this.lookup(net, lport, local, remote, rport);
    if (!s) return stats.drop('udp', 'icmp_error_no_socket');
    // Linux without IP_RECVERR: only connected sockets hear about errors, and only hard ones.
    if (!s.connected || !hard) return stats.count('udp', 'icmp_error_ignored');
    stats.count('udp', 'icmp_error_reported');
    s.setError(err);
  }

  // ---------------------------------------------------------------- multicast membership

  private resolveIface(net: UdpNetwork, s: UdpSocket, group: IpAddress, ifaceAddress: IpAddress | null): NetInterface | UdpError {
    if (ifaceAddress !== null && !net.isAny(ifaceAddress)) return net.ifaceOf(ifaceAddress) ?? 'ENODEV';
    return s.multicastInterface ?? net.routeIface(group) ?? 'ENODEV';
  }

  /** @internal */
  addMembership(s: UdpSocket, group: IpAddress, ifaceAddress: IpAddress | null, now: Instant): UdpError | undefined {
    if (s.closed) return 'EBADF';
    const net = this.nets[s.family]!;
    if (!net.isMulticast(group)) return 'EINVAL';
    const iface = this.resolveIface(net, s, group, ifaceAddress);
    if (typeof iface === 'string') return iface;
    if (s.memberships.some((m) => m.iface === iface && net.equal(m.group, group))) return 'EADDRINUSE';
    if (s.memberships.length >= this.options.maxMembershipsPerSocket) return 'ENOBUFS';
    if (!net.join(iface, group, now)) return 'ENOBUFS';
    s.memberships.push({ group: typeof group === 'number' ? group : group.slice(), iface });
    return undefined;
  }

  /** @internal */
  dropMembership(s: UdpSocket, group: IpAddress, ifaceAddress: IpAddress | null, now: Instant): UdpError | undefined {
    if (s.closed) return 'EBADF';
    const net = this.nets[s.family]!;
    if (!net.isMulticast(group)) return 'EINVAL';
    const iface = this.resolveIface(net, s, group, ifaceAddress);
    if (typeof iface === 'string') return 'EADDRNOTAVAIL';
    const i = s.memberships.findIndex((m) => m.iface === iface && net.equal(m.group, group));
    if (i < 0) return 'EADDRNOTAVAIL';
    s.memberships.splice(i, 1);
    net.leave(iface, group, now);
    return undefined;
  }

  /** @internal */
  setMulticastInterface(s: UdpSocket, ifaceAddress: IpAddress): UdpError | undefined {
    if (s.closed) return 'EBADF';
    const net = this.nets[s.family]!;
    if (net.isAny(ifaceAddress)) {
      s.multicastInterface = undefined;
      return undefined;
    }
    const iface = net.ifaceOf(ifaceAddress);
    if (!iface) return 'EADDRNOTAVAIL';
    s.multicastInterface = iface;
    return undefined;
  }
}
