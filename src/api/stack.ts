// createStack(): the public factory. Options are validated once, with every default in one place
// (STACK_DEFAULTS, readable at run time as stack.options); the result is a NodeStack driven by a
// Runtime (src/api/runtime.ts) with a dgram-compatible socket factory and ping. The sans-I/O core
// stays reachable as stack.core for anything the friendly surface does not cover.

import { ArpModule, type ArpOptions } from '../core/arp.js';
import { parseCidr } from '../core/cidr.js';
import { Icmpv4Module, type Icmpv4Options } from '../core/icmpv4.js';
import { IgmpModule } from '../core/igmp.js';
import { Icmpv6Module, type Icmpv6Options } from '../core/icmpv6.js';
import type { NetInterface } from '../core/interface.js';
import { Ipv4ReassemblyModule } from '../core/ipv4-reassembly.js';
import { Ipv4Module, type Ipv4Options } from '../core/ipv4.js';
import { Ipv6ReassemblyModule } from '../core/ipv6-reassembly.js';
import { Ipv6Module, type Ipv6Options } from '../core/ipv6.js';
import { MldModule } from '../core/mld.js';
import type { StackModule } from '../core/module.js';
import { NdpModule, type NdpOptions } from '../core/ndp.js';
import { SlaacModule } from '../core/slaac.js';
import { Stack, type StackLimits } from '../core/stack.js';
import { UdpModule, type UdpOptions } from '../core/udp.js';
import { LoopbackDevice } from '../phy/loopback.js';
import { SlabPool } from '../pool/slab-pool.js';
import type { BufferPool } from '../ports/buffer-pool.js';
import type { ChecksumProvider } from '../ports/checksum.js';
import type { LinkDevice } from '../ports/link.js';
import type { RandomSource } from '../ports/random.js';
import type { TraceSink } from '../ports/trace.js';
import { ChaChaRandom, seededRandom } from '../random/chacha.js';
import type { Instant } from '../time/instant.js';
import { IPV6_UNSPECIFIED, type Ipv6Address, ipv6Equal, parseIpv4, parseIpv6, parseMac } from '../wire/address.js';
import { type DgramStack, type Socket, type SocketOptions, type SocketType, createDgramSocket } from './dgram.js';
import { NodeErrors } from './errors.js';
import { defaultChecksum } from './native.js';
import { Runtime, defaultRuntime } from './runtime.js';

/** Protocol modules createStack() can build by name, in dependency order. */
export const PROTOCOLS = ['arp', 'ipv4', 'ipv4-reassembly', 'icmpv4', 'igmp', 'ipv6', 'ipv6-reassembly', 'icmpv6', 'ndp', 'mld', 'slaac', 'udp'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

export interface InterfaceOptions {
  /** The link device (memory pair end, switch port, TAP adapter...). */
  readonly link: LinkDevice;
  /** CIDR strings, IPv4 and IPv6: ['198.51.100.2/24', '2001:db8::2/64']. */
  readonly addresses?: readonly string[];
  /** Default IPv4 gateway through this interface. */
  readonly gateway?: string;
  /** Default IPv6 gateway through this interface. */
  readonly gateway6?: string;
  readonly mtu?: number;
  /** 'aa:bb:cc:dd:ee:ff' or a 48-bit number; random locally administered when absent. */
  readonly mac?: string | number;
  readonly name?: string;
}

export interface CreateStackOptions {
  readonly interfaces?: readonly InterfaceOptions[];
  /** Protocols to install; default STACK_DEFAULTS.protocols, plus the IPv6 set when any address is IPv6. */
  readonly protocols?: readonly ProtocolName[];
  /** Extra modules (installed after the named protocols). */
  readonly modules?: readonly StackModule[];
  /** Add a loopback interface 'lo' with 127.0.0.1/8 (default true). */
  readonly loopback?: boolean;
  /** Deterministic randomness (tests, reproducible runs); default: crypto-strength. */
  readonly seed?: number | string;
  readonly random?: RandomSource;
  readonly checksum?: ChecksumProvider;
  /** Buffer pool for outgoing frames; false for plain allocations. Default: a SlabPool. */
  readonly pool?: BufferPool | false;
  readonly limits?: Partial<StackLimits>;
  readonly arp?: Partial<ArpOptions>;
  readonly ipv4?: Partial<Ipv4Options>;
  readonly icmpv4?: Partial<Icmpv4Options>;
  readonly ipv6?: Partial<Ipv6Options>;
  readonly icmpv6?: Partial<Icmpv6Options>;
  readonly ndp?: Partial<NdpOptions>;
  readonly udp?: Partial<UdpOptions>;
  /** The event-loop driver; default the process-wide one. */
  readonly runtime?: Runtime;
  readonly trace?: TraceSink;
}

/** Every default of createStack(), in one place. */
export const STACK_DEFAULTS = Object.freeze({
  protocols: Object.freeze(['arp', 'ipv4', 'ipv4-reassembly', 'icmpv4', 'igmp', 'udp'] as ProtocolName[]),
  ipv6Protocols: Object.freeze(['ipv6', 'ipv6-reassembly', 'icmpv6', 'ndp', 'mld'] as ProtocolName[]),
  loopback: true,
  loopbackAddress: '127.0.0.1/8',
  loopbackAddress6: '::1/128',
});

/** The options as validated and completed (stack.options). */
export interface ResolvedStackOptions {
  readonly protocols: readonly ProtocolName[];
  readonly loopback: boolean;
  readonly seeded: boolean;
  readonly interfaces: ReadonlyArray<{ readonly name: string; readonly addresses: readonly string[]; readonly gateway?: string; readonly gateway6?: string; readonly mtu: number }>;
}

const REQUIRES: Partial<Record<ProtocolName, readonly ProtocolName[]>> = {
  arp: ['ipv4'],
  'ipv4-reassembly': ['ipv4'],
  icmpv4: ['ipv4'],
  igmp: ['ipv4'],
  'ipv6-reassembly': ['ipv6'],
  icmpv6: ['ipv6'],
  ndp: ['ipv6', 'icmpv6'],
  mld: ['ipv6', 'icmpv6'],
  slaac: ['ipv6', 'icmpv6', 'ndp'],
};

function buildModule(name: ProtocolName, o: CreateStackOptions): StackModule {
  switch (name) {
    case 'arp': return new ArpModule(o.arp);
    case 'ipv4': return new Ipv4Module(o.ipv4);
    case 'ipv4-reassembly': return new Ipv4ReassemblyModule();
    case 'icmpv4': return new Icmpv4Module(o.icmpv4);
    case 'igmp': return new IgmpModule();
    case 'ipv6': return new Ipv6Module(o.ipv6);
    case 'ipv6-reassembly': return new Ipv6ReassemblyModule();
    case 'icmpv6': return new Icmpv6Module(o.icmpv6);
    case 'ndp': return new NdpModule(o.ndp);
    case 'mld': return new MldModule();
    case 'slaac': return new SlaacModule();
    case 'udp': return new UdpModule(o.udp);
  }
}

function isLinkDevice(x: unknown): x is LinkDevice {
  const d = x as Partial<LinkDevice> | null;
  return !!d && typeof d.transmit === 'function' && typeof d.receive === 'function' && typeof d.setListener === 'function' && typeof d.capabilities === 'object';
}

function resolveProtocols(opts: CreateStackOptions): ProtocolName[] {
  const anyV6 = (opts.interfaces ?? []).some((i) => (i.addresses ?? []).some((a) => a.includes(':')) || i.gateway6 !== undefined);
  const wanted = opts.protocols ?? [...STACK_DEFAULTS.protocols, ...(anyV6 ? STACK_DEFAULTS.ipv6Protocols : [])];
  for (const p of wanted) if (!PROTOCOLS.includes(p)) throw NodeErrors.invalidArgValue('options.protocols', p, `must be one of ${PROTOCOLS.join(', ')}`);
  const set = new Set(wanted);
  for (const p of set) {
    for (const r of REQUIRES[p] ?? []) if (!set.has(r)) throw NodeErrors.invalidArgValue('options.protocols', wanted, `lists '${p}', which needs '${r}'`);
  }
  return PROTOCOLS.filter((p) => set.has(p));
}

/** Builds a stack on the given links, attaches it to the runtime and returns the Node-facing handle. */
export function createStack(options: CreateStackOptions = {}): NodeStack {
  if (typeof options !== 'object' || options === null) throw NodeErrors.invalidArgType('options', 'of type object', options);
  const protocols = resolveProtocols(options);
  const ifaces = options.interfaces ?? [];
  if (!Array.isArray(ifaces)) throw NodeErrors.invalidArgType('options.interfaces', 'an instance of Array', ifaces);
  ifaces.forEach((i, n) => {
    if (!isLinkDevice(i?.link)) throw NodeErrors.invalidArgValue(`options.interfaces[${n}].link`, i?.link, 'must be a LinkDevice');
    for (const a of i.addresses ?? []) if (typeof a !== 'string' || !parseCidr(a)) throw NodeErrors.invalidArgValue(`options.interfaces[${n}].addresses`, a, 'must be CIDR strings like 198.51.100.2/24');
    if (i.gateway !== undefined && parseIpv4(i.gateway) === null) throw NodeErrors.invalidArgValue(`options.interfaces[${n}].gateway`, i.gateway, 'must be an IPv4 address');
    if (i.gateway6 !== undefined && parseIpv6(i.gateway6) === null) throw NodeErrors.invalidArgValue(`options.interfaces[${n}].gateway6`, i.gateway6, 'must be an IPv6 address');
    if (typeof i.mac === 'string' && parseMac(i.mac) === null) throw NodeErrors.invalidArgValue(`options.interfaces[${n}].mac`, i.mac, 'must look like 02:00:00:00:00:01');
  });
  if (options.seed !== undefined && options.random !== undefined) throw NodeErrors.invalidArgValue('options.seed', options.seed, 'cannot be combined with options.random');
  const random = options.random ?? (options.seed !== undefined ? seededRandom(options.seed) : new ChaChaRandom(globalThis.crypto.getRandomValues(new Uint8Array(32))));
  const runtime = options.runtime ?? defaultRuntime();
  const modules = [...protocols.map((p) => buildModule(p, options)), ...(options.modules ?? [])];
  const core = new Stack({
    random,
    checksum: options.checksum ?? defaultChecksum(),
    modules,
    ...(options.pool === false ? {} : { pool: options.pool ?? new SlabPool() }),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.trace ? { trace: options.trace } : {}),
    wake: () => runtime.wake(),
  });
  const now = runtime.now();
  const resolved: ResolvedStackOptions['interfaces'][number][] = [];
  for (const i of ifaces) {
    const mac = typeof i.mac === 'string' ? parseMac(i.mac)! : i.mac;
    const iface = core.addInterface(i.link, { ...(i.name ? { name: i.name } : {}), ...(mac !== undefined ? { mac } : {}), ...(i.mtu ? { mtu: i.mtu } : {}), addresses: i.addresses ?? [] }, now);
    if (i.gateway !== undefined) core.routes4.add({ network: 0, prefixLen: 0, gateway: parseIpv4(i.gateway)!, ifIndex: iface.index, metric: 100, origin: 'static' });
    if (i.gateway6 !== undefined) core.routes6.add({ network: IPV6_UNSPECIFIED.slice(), prefixLen: 0, gateway: parseIpv6(i.gateway6)!, ifIndex: iface.index, metric: 1024, origin: 'static' });
    resolved.push({ name: iface.name, addresses: [...(i.addresses ?? [])], mtu: iface.mtu, ...(i.gateway ? { gateway: i.gateway } : {}), ...(i.gateway6 ? { gateway6: i.gateway6 } : {}) });
  }
  // Added last so that "the first interface" (multicast without a route) is a real link.
  const loopback = (options.loopback ?? STACK_DEFAULTS.loopback) && (protocols.includes('ipv4') || protocols.includes('ipv6'));
  if (loopback) {
    const addrs = [
      ...(protocols.includes('ipv4') ? [STACK_DEFAULTS.loopbackAddress] : []),
      ...(protocols.includes('ipv6') ? [STACK_DEFAULTS.loopbackAddress6] : []),
    ];
    core.addInterface(new LoopbackDevice(), { name: 'lo', addresses: addrs }, now);
  }
  const stack = new NodeStack(core, runtime, Object.freeze({ protocols, loopback, seeded: options.seed !== undefined, interfaces: Object.freeze(resolved) }));
  runtime.attach(core);
  return stack;
}

export type { DgramStack };

/** A running stack: sockets, ping, statistics, and the core underneath. */
export class NodeStack implements DgramStack {
  private closed = false;
  /** @internal open dgram sockets (closed with the stack) */
  readonly sockets = new Set<Socket>();
  /** @internal pings in flight (finished early by close()) */
  readonly pings = new Set<() => void>();
  /** The dgram-compatible namespace: `const dgram = stack.dgram; dgram.createSocket('udp4')`. */
  readonly dgram: { createSocket: NodeStack['createSocket'] };

  /** @internal use createStack() */
  constructor(
    readonly core: Stack,
    readonly runtime: Runtime,
    readonly options: ResolvedStackOptions,
  ) {
    this.dgram = { createSocket: (type, listener) => this.createSocket(type, listener) };
  }

  get udp(): UdpModule | undefined {
    return this.core.module<UdpModule>('udp');
  }

  get interfaces(): readonly NetInterface[] {
    return this.core.interfaces;
  }

  now(): Instant {
    return this.runtime.now();
  }

  /** Like dgram.createSocket(), on this stack. */
  createSocket(type: SocketType | SocketOptions, listener?: (msg: Buffer, rinfo: import('./dgram.js').RemoteInfo) => void): Socket {
    if (this.closed) throw NodeErrors.socketDgramNotRunning();
    return createDgramSocket(this, type, listener);
  }

  /** ICMP echo (ping) to an IPv4 or IPv6 address: per-probe RTTs and a summary; never rejects on loss. */
  ping(address: string, opts: PingOptions = {}): Promise<PingResult> {
    if (this.closed) return Promise.reject(NodeErrors.socketDgramNotRunning());
    return runPing(this, address, opts);
  }

  /** Counters per layer and drop reason (a JSON-ready copy). */
  stats(): ReturnType<Stack['stats']['snapshot']> {
    return this.core.stats.snapshot();
  }

  /** Closes every socket, detaches from the runtime and releases held buffers. Devices stay open (the caller owns them). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.sockets]) s.close();
    for (const finish of [...this.pings]) finish();
    this.udp?.close();
    this.runtime.detach(this.core);
    this.core.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

// ---------------------------------------------------------------- ping

export interface PingOptions {
  /** ICMP data bytes per probe (default 56, like ping(8)); sizes above the MTU are sent fragmented. */
  readonly size?: number;
  /** Probes to send (default 4). */
  readonly count?: number;
  /** Milliseconds to wait for each reply (default 1000). */
  readonly timeout?: number;
  /** Milliseconds between probes (default 1000). */
  readonly interval?: number;
  /** TTL / hop limit of the probes. */
  readonly ttl?: number;
}

export const PING_DEFAULTS = Object.freeze({ size: 56, count: 4, timeout: 1000, interval: 1000 });

export interface PingProbe {
  readonly seq: number;
  /** Round-trip time, or null when no reply came in time (or the probe could not be sent). */
  readonly rttMs: number | null;
  /** ICMP bytes of the reply (header + data), as ping(8) prints them; 0 without a reply. */
  readonly bytes: number;
  /** TTL of the IPv4 reply (null without a reply, and for IPv6). */
  readonly ttl: number | null;
  /** Why the probe was not sent (errno name: EHOSTUNREACH, ENETUNREACH, EMSGSIZE, ENOBUFS...). */
  readonly error?: string;
}

export interface PingResult {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly probes: readonly PingProbe[];
  readonly transmitted: number;
  readonly received: number;
  readonly lossPercent: number;
  /** null when nothing was received. */
  readonly minMs: number | null;
  readonly avgMs: number | null;
  readonly maxMs: number | null;
}

function checkPingNumber(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw NodeErrors.invalidArgType(`options.${name}`, 'of type number', v);
  if (v < min || v > max) throw NodeErrors.outOfRange(`options.${name}`, `>= ${min} && <= ${max}`, v);
  return v;
}

/** Echo identifiers in use per stack (a reply is matched to its ping by identifier and sequence). */
const identsInUse = new WeakMap<Stack, Set<number>>();

function runPing(stack: NodeStack, address: string, opts: PingOptions): Promise<PingResult> {
  if (typeof address !== 'string') return Promise.reject(NodeErrors.invalidArgType('address', 'of type string', address));
  const v4 = parseIpv4(address);
  const v6 = v4 === null ? parseIpv6(address.replace(/%.*$/, '')) : null;
  if (v4 === null && v6 === null) return Promise.reject(NodeErrors.invalidArgValue('address', address, 'must be an IPv4 or IPv6 address'));
  let size: number, count: number, timeout: number, interval: number;
  try {
    size = checkPingNumber('size', opts.size ?? PING_DEFAULTS.size, 0, v4 !== null ? 65535 - 20 - 8 : 65535 - 8);
    count = checkPingNumber('count', opts.count ?? PING_DEFAULTS.count, 1, 65535);
    timeout = checkPingNumber('timeout', opts.timeout ?? PING_DEFAULTS.timeout, 1, 3_600_000);
    interval = checkPingNumber('interval', opts.interval ?? PING_DEFAULTS.interval, 0, 3_600_000);
    if (opts.ttl !== undefined) checkPingNumber('ttl', opts.ttl, 1, 255);
  } catch (err) {
    return Promise.reject(err);
  }
  const core = stack.core;
  const icmp4 = core.module<Icmpv4Module>('icmpv4');
  const icmp6 = core.module<Icmpv6Module>('icmpv6');
  if ((v4 !== null && !icmp4) || (v6 !== null && !icmp6)) {
    return Promise.reject(NodeErrors.invalidArgValue('address', address, `needs the '${v4 !== null ? 'icmpv4' : 'icmpv6'}' protocol`));
  }
  const used = identsInUse.get(core) ?? new Set<number>();
  identsInUse.set(core, used);
  if (used.size >= 0x10000) return Promise.reject(NodeErrors.socketBufferSize('no free ICMP echo identifier'));
  let ident = core.random.below(0x10000);
  while (used.has(ident)) ident = (ident + 1) & 0xffff;
  used.add(ident);

  const runtime = stack.runtime;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = i & 0xff;
  const sentAt: Array<Instant | undefined> = [];
  const probes: Array<PingProbe | undefined> = new Array(count).fill(undefined);
  const timers = new Set<NodeJS.Timeout>();
  let settled = 0;
  return new Promise<PingResult>((resolve) => {
    const finish = (): void => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (let i = 0; i < count; i++) probes[i] ??= { seq: i + 1, rttMs: null, bytes: 0, ttl: null };
      if (v4 !== null) icmp4!.onEchoReply(ident, null);
      else icmp6!.onEchoReply(ident, null);
      used.delete(ident);
      stack.pings.delete(finish);
      runtime.unref();
      const ok = probes.filter((p) => p!.rttMs !== null).map((p) => p!.rttMs!);
      const transmitted = probes.filter((p) => p!.error === undefined).length;
      resolve({
        address,
        family: v4 !== null ? 'IPv4' : 'IPv6',
        probes: probes as PingProbe[],
        transmitted,
        received: ok.length,
        lossPercent: transmitted === 0 ? 100 : Math.round(((transmitted - ok.length) / transmitted) * 1000) / 10,
        minMs: ok.length ? Math.min(...ok) : null,
        avgMs: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null,
        maxMs: ok.length ? Math.max(...ok) : null,
      });
    };
    const done = (i: number, p: PingProbe): void => {
      if (probes[i] !== undefined) return;
      probes[i] = p;
      if (++settled === count) finish();
    };
    const onReply = (seq: number, payload: Uint8Array, now: Instant, ttl: number | null): void => {
      const i = seq - 1;
      const t = sentAt[i];
      // Only our probe's reply: same sequence, still pending, same data (RFC 792: echoed unchanged).
      if (i < 0 || i >= count || t === undefined || probes[i] !== undefined || !sameBytes(payload, data)) return;
      done(i, { seq, rttMs: Math.max(0, now - t) / 1000, bytes: payload.length + 8, ttl });
    };
    if (v4 !== null) icmp4!.onEchoReply(ident, (from, _id, seq, payload, now, ttl) => from === v4 && onReply(seq, payload, now, ttl));
    else icmp6!.onEchoReply(ident, (from, _id, seq, payload, now) => ipv6Equal(from, v6 as Ipv6Address) && onReply(seq, payload, now, null));
    // A pending ping keeps the process alive, as a pending request would in Node.
    runtime.ref();
    stack.pings.add(finish);
    const send = (i: number): void => {
      const now = runtime.now();
      sentAt[i] = now;
      const err = v4 !== null
        ? icmp4!.sendEchoRequest(v4, ident, i + 1, data, now, opts.ttl)
        : icmp6!.sendEchoRequest(v6!, ident, i + 1, data, now, opts.ttl !== undefined ? { hopLimit: opts.ttl } : {});
      runtime.wake();
      if (err) return done(i, { seq: i + 1, rttMs: null, bytes: 0, ttl: null, error: err });
      const t = setTimeout(() => {
        timers.delete(t);
        done(i, { seq: i + 1, rttMs: null, bytes: 0, ttl: null });
      }, timeout);
      t.unref();
      timers.add(t);
    };
    for (let i = 0; i < count; i++) {
      if (i === 0) send(0);
      else {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!stack.isClosed) send(i);
        }, i * interval);
        t.unref();
        timers.add(t);
      }
    }
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

