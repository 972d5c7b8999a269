// The sans-I/O stack: owns interfaces, routing tables, statistics and the registered protocol
// modules. It never reads a clock, schedules a timer or performs I/O by itself: the runtime (src/api)
// calls poll(now) when a device has input or a deadline passes, and asks pollAt(now) for the next
// deadline. Every received frame is processed under a per-packet guard, so no malformed input can
// throw out of the stack (the exception is counted and, in tests, surfaced).

import type { BufferPool } from '../ports/buffer-pool.js';
import type { ChecksumProvider } from '../ports/checksum.js';
import type { LinkDevice, RxMeta } from '../ports/link.js';
import type { RandomSource } from '../ports/random.js';
import type { TraceSink } from '../ports/trace.js';
import { Instant } from '../time/instant.js';
import { MAC_BROADCAST, type Ipv4Address, type MacAddress, isMacMulticast } from '../wire/address.js';
import { writeU16 } from '../wire/bytes.js';
import { EthernetFrame } from '../wire/ethernet.js';
import { EtherType } from '../wire/ethertype.js';
import { isWireError } from '../wire/error.js';
import { writeMac } from '../wire/address.js';
import { type Ipv4Cidr, ipv4Network, parseCidr } from './cidr.js';
import { NetInterface, type InterfaceConfig } from './interface.js';
import type { EthertypeHandler, LinkRxInfo, StackModule } from './module.js';
import { Ipv4RoutingTable, Ipv6RoutingTable } from './route.js';
import { Stats } from './stats.js';

export const ETHERNET_HEADROOM = 14;

export interface StackLimits {
  /** Frames taken from one device per poll before moving on (fairness between interfaces). */
  readonly rxBudget: number;
  /** Frames held per interface while its device is busy; beyond it new frames are dropped. */
  readonly txHoldFrames: number;
}

export const DEFAULT_STACK_LIMITS: StackLimits = { rxBudget: 64, txHoldFrames: 256 };

export interface StackOptions {
  readonly random: RandomSource;
  readonly checksum: ChecksumProvider;
  readonly modules: readonly StackModule[];
  /** Pool for outgoing frames; without one, frames are plain allocations. */
  readonly pool?: BufferPool;
  readonly limits?: Partial<StackLimits>;
  readonly trace?: TraceSink;
  /** Called when a handler threw while processing a packet (after counting it). Tests rethrow. */
  readonly onInternalError?: (err: unknown) => void;
  /** Called when a device has input or room for output: the runtime schedules a poll. */
  readonly wake?: () => void;
}

/** An outgoing frame buffer: `buf` is what was allocated (returned to the pool after sending). */
export interface TxBuffer {
  readonly buf: Uint8Array;
  /** Offset of the network-layer header in buf (after the link headroom). */
  readonly l3Offset: number;
}

/** What protocol modules see of the stack. */
export interface StackContext {
  readonly stats: Stats;
  readonly random: RandomSource;
  readonly checksum: ChecksumProvider;
  readonly interfaces: readonly NetInterface[];
  readonly routes4: Ipv4RoutingTable;
  readonly routes6: Ipv6RoutingTable;
  registerEthertype(ethertype: number, handler: EthertypeHandler): void;
  module<T extends StackModule>(name: string): T | undefined;
  /** A buffer for an outgoing packet of `l3Len` bytes with link-layer headroom; null when out of memory. */
  allocTx(l3Len: number): TxBuffer | null;
  /** Returns a buffer from allocTx() that will not be sent. */
  freeTx(tx: TxBuffer): void;
  /**
   * Frames and sends `tx` (network packet at tx.l3Offset, l3Len bytes) on `iface`. Takes ownership
   * of tx in every case. `dstMac` is ignored on IP-medium links.
   */
  sendL3(iface: NetInterface, tx: TxBuffer, l3Len: number, dstMac: MacAddress, ethertype: number): void;
  /** Assigns an IPv4 address (and its connected route) and tells every module; false when present. */
  addIpv4Address(iface: NetInterface, cidr: Ipv4Cidr, now: Instant): boolean;
  /** Takes an IPv4 address off `iface` (and its connected route when no other address needs it). */
  removeIpv4Address(iface: NetInterface, address: Ipv4Address, now: Instant): boolean;
}

export class Stack implements StackContext {
  readonly stats = new Stats();
  readonly random: RandomSource;
  readonly checksum: ChecksumProvider;
  readonly interfaces: NetInterface[] = [];
  readonly routes4 = new Ipv4RoutingTable();
  readonly routes6 = new Ipv6RoutingTable();
  readonly limits: StackLimits;
  private readonly modules: StackModule[];
  private readonly byName = new Map<string, StackModule>();
  private readonly ethertypes = new Map<number, EthertypeHandler>();
  private readonly pool: BufferPool | undefined;
  private readonly trace: TraceSink | undefined;
  private readonly onInternalError: ((err: unknown) => void) | undefined;
  private readonly wake: () => void;
  /** Interfaces whose device said readable since the last poll. */
  private readonly readable = new Set<NetInterface>();
  private now: Instant = Instant.ZERO;

  constructor(opts: StackOptions) {
    this.random = opts.random;
    this.checksum = opts.checksum;
    this.pool = opts.pool;
    this.trace = opts.trace;
    this.onInternalError = opts.onInternalError;
    this.wake = opts.wake ?? (() => {});
    this.limits = { ...DEFAULT_STACK_LIMITS, ...opts.limits };
    this.modules = [...opts.modules];
    for (const m of this.modules) {
      if (this.byName.has(m.name)) throw new Error(`module '${m.name}' registered twice`);
      this.byName.set(m.name, m);
    }
    for (const m of this.modules) m.install(this);
  }

  module<T extends StackModule>(name: string): T | undefined {
    return this.byName.get(name) as T | undefined;
  }

  registerEthertype(ethertype: number, handler: EthertypeHandler): void {
    if (this.ethertypes.has(ethertype)) throw new Error(`ethertype 0x${ethertype.toString(16)} already registered`);
    this.ethertypes.set(ethertype, handler);
  }

  /** Attaches a device as a new interface. Throws on invalid configuration (a programmer error). */
  addInterface(device: LinkDevice, cfg: InterfaceConfig = {}, now: Instant = this.now): NetInterface {
    const index = this.interfaces.length + 1;
    const mtu = cfg.mtu ?? device.capabilities.mtu;
    if (!(mtu >= 68 && mtu <= device.capabilities.mtu)) throw new RangeError(`MTU ${mtu} outside 68..${device.capabilities.mtu}`);
    const mac = cfg.mac ?? this.randomMac();
    const iface = new NetInterface(index, cfg.name ?? `eth${index - 1}`, device, mac, mtu);
    for (const text of cfg.addresses ?? []) {
      const c = parseCidr(text);
      if (!c) throw new RangeError(`invalid address '${text}' (expected CIDR like 198.51.100.2/24 or 2001:db8::2/64)`);
      if (c.family === 4) iface.ipv4.push(c);
      else iface.ipv6.push(c);
    }
    this.interfaces.push(iface);
    device.setListener({
      onReadable: () => {
        this.readable.add(iface);
        this.wake();
      },
      onWritable: () => this.wake(),
      onLinkState: (up) => {
        for (const m of this.modules) m.linkChanged?.(iface, up, this.now);
        this.wake();
      },
    });
    // Frames may already be waiting (a device attached after traffic started).
    this.readable.add(iface);
    for (const m of this.modules) m.interfaceAdded?.(iface, now);
    return iface;
  }

  /**
   * Assigns an IPv4 address after the interface was added (DHCP, link-local, RFC 5227 probing): adds
   * the connected route and calls every module's ipv4AddressAdded (ARP announces it). False when the
   * interface has the address already.
   */
  addIpv4Address(iface: NetInterface, cidr: Ipv4Cidr, now: Instant = this.now): boolean {
    if (iface.hasIpv4(cidr.address)) return false;
    const c: Ipv4Cidr = { family: 4, address: cidr.address >>> 0, prefixLen: cidr.prefixLen };
    iface.ipv4.push(c);
    this.routes4.add({ network: c.address, prefixLen: c.prefixLen, ifIndex: iface.index, metric: 0, origin: 'connected' });
    for (const m of this.modules) m.ipv4AddressAdded?.(iface, c, now);
    return true;
  }

  /** Takes an IPv4 address off `iface`; its connected route goes unless another address is in that subnet. */
  removeIpv4Address(iface: NetInterface, address: Ipv4Address, now: Instant = this.now): boolean {
    const i = iface.ipv4.findIndex((c) => c.address === address);
    if (i < 0) return false;
    const c = iface.ipv4.splice(i, 1)[0]!;
    const net = ipv4Network(c.address, c.prefixLen);
    if (!iface.ipv4.some((o) => o.prefixLen === c.prefixLen && ipv4Network(o.address, o.prefixLen) === net)) {
      this.routes4.remove({ network: net, prefixLen: c.prefixLen, ifIndex: iface.index, origin: 'connected' });
    }
    for (const m of this.modules) m.ipv4AddressRemoved?.(iface, c, now);
    return true;
  }

  /** A locally administered unicast MAC (02:xx:xx:xx:xx:xx) from the stack's random source. */
  private randomMac(): MacAddress {
    return 0x02_00_0000_0000 + this.random.u32() * 0x100 + this.random.below(0x100);
  }

  /** Processes pending input, flushes held output and runs due timers. */
  poll(now: Instant): void {
    this.now = now;
    for (const iface of this.interfaces) this.flushHeld(iface);
    // Receive from every interface that signalled (and any whose device still has frames).
    for (const iface of this.interfaces) {
      const budget = this.limits.rxBudget;
      const n = iface.device.receive(budget, (frame, meta) => this.guardedInput(iface, frame, meta, now));
      if (n < budget) this.readable.delete(iface);
      else this.readable.add(iface);
    }
    for (const m of this.modules) {
      if (m.poll && (m.pollAt?.(now) ?? Instant.NEVER) <= now) m.poll(now);
    }
  }

  /** When poll() should next run: now if input is pending, else the earliest timer. */
  pollAt(now: Instant): Instant {
    if (this.readable.size > 0) return now;
    let t = Instant.NEVER;
    for (const m of this.modules) {
      const d = m.pollAt?.(now);
      if (d !== undefined && d < t) t = d;
    }
    for (const iface of this.interfaces) {
      const d = iface.device.pollAt?.(now);
      if (d !== undefined && d < t) t = d;
      if (iface.held.length > 0 && iface.device.up) t = Instant.min(t, now);
    }
    return t;
  }

  private guardedInput(iface: NetInterface, frame: Uint8Array, meta: RxMeta, now: Instant): void {
    try {
      this.input(iface, frame, now);
    } catch (err) {
      this.stats.drop('stack', 'internal_error');
      this.onInternalError?.(err);
    }
    void meta;
  }

  private input(iface: NetInterface, frame: Uint8Array, now: Instant): void {
    this.stats.count('link', 'rx_frames');
    this.stats.count('link', 'rx_bytes', frame.length);
    this.trace?.trace({ time: now, direction: 'rx', source: iface.name, frame });
    if (!iface.adminUp) return this.stats.drop('link', 'interface_down');
    if (iface.medium === 'ip') {
      const version = frame.length > 0 ? frame[0]! >> 4 : 0;
      const et = version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : -1;
      const h = this.ethertypes.get(et);
      if (!h) return this.stats.drop('link', 'unknown_protocol');
      return h(iface, frame, 0, frame.length, now, NO_LINK_INFO);
    }
    const eth = EthernetFrame.check(frame);
    if (isWireError(eth)) return this.stats.drop('link', 'malformed');
    const dst = eth.dst;
    const multicast = isMacMulticast(dst);
    if (dst !== iface.mac && dst !== MAC_BROADCAST && !(multicast && iface.multicastMacs.has(dst))) {
      return this.stats.drop('link', 'not_for_us');
    }
    if (eth.vlanCount > 0) return this.stats.drop('link', 'vlan_tagged');
    if (eth.isLlc) return this.stats.drop('link', 'llc');
    const h = this.ethertypes.get(eth.ethertype);
    if (!h) return this.stats.drop('link', 'unknown_ethertype');
    h(iface, frame, eth.payloadOffset, eth.payloadLength, now, { srcMac: eth.src, linkMulticast: multicast });
  }

  allocTx(l3Len: number): TxBuffer | null {
    const size = ETHERNET_HEADROOM + l3Len;
    if (this.pool) {
      const buf = this.pool.acquire(size);
      if (!buf) {
        this.stats.drop('link', 'no_buffers');
        return null;
      }
      return { buf, l3Offset: ETHERNET_HEADROOM };
    }
    return { buf: new Uint8Array(size), l3Offset: ETHERNET_HEADROOM };
  }

  freeTx(tx: TxBuffer): void {
    this.pool?.release(tx.buf);
  }

  sendL3(iface: NetInterface, tx: TxBuffer, l3Len: number, dstMac: MacAddress, ethertype: number): void {
    let start = tx.l3Offset;
    if (iface.medium === 'ethernet') {
      start -= ETHERNET_HEADROOM;
      writeMac(tx.buf, start, dstMac);
      writeMac(tx.buf, start + 6, iface.mac);
      writeU16(tx.buf, start + 12, ethertype);
    }
    this.transmit(iface, tx, start, tx.l3Offset + l3Len);
  }

  /** Sends tx.buf[start, end) now or holds it while the device is busy; takes ownership of tx. */
  private transmit(iface: NetInterface, tx: TxBuffer, start: number, end: number): void {
    if (!iface.up) {
      this.stats.drop('link', 'interface_down');
      return this.freeTx(tx);
    }
    const frame = start === 0 && end === tx.buf.length ? tx.buf : tx.buf.subarray(start, end);
    if (iface.held.length === 0 && this.sendNow(iface, frame)) return this.freeTx(tx);
    if (iface.held.length >= this.limits.txHoldFrames) {
      this.stats.drop('link', 'tx_queue_full');
      return this.freeTx(tx);
    }
    iface.held.push(frame);
    this.heldOwners.set(frame, tx);
  }

  private readonly heldOwners = new WeakMap<Uint8Array, TxBuffer>();

  private sendNow(iface: NetInterface, frame: Uint8Array): boolean {
    if (!iface.device.transmit(frame)) return false;
    this.stats.count('link', 'tx_frames');
    this.stats.count('link', 'tx_bytes', frame.length);
    this.trace?.trace({ time: this.now, direction: 'tx', source: iface.name, frame });
    return true;
  }

  private flushHeld(iface: NetInterface): void {
    while (iface.held.length > 0) {
      const frame = iface.held[0]!;
      if (!iface.device.up) break;
      if (!this.sendNow(iface, frame)) break;
      iface.held.shift();
      const owner = this.heldOwners.get(frame);
      if (owner) this.freeTx(owner);
    }
  }

  /** Releases everything the stack holds: modules' queued buffers (close hook), then held frames. */
  close(): void {
    for (const m of this.modules) m.close?.();
    for (const iface of this.interfaces) {
      for (const frame of iface.held) {
        const owner = this.heldOwners.get(frame);
        if (owner) this.freeTx(owner);
      }
      iface.held.length = 0;
      iface.device.setListener(null);
    }
  }
}

const NO_LINK_INFO: LinkRxInfo = { srcMac: 0, linkMulticast: false };
