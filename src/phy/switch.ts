// An in-memory Ethernet switch with N ports, each a LinkDevice a stack can attach to. Learning mode
// keeps a MAC table (source address -> port) that ages entries by an injected Clock and holds at most
// `maxEntries` (the least recently seen entry is evicted when a new address arrives at a full table);
// unknown unicast, broadcast and multicast are flooded. Hub mode floods everything. Each port has a
// bounded egress queue: like a real switch it never pushes back on the sender, it drops and counts.

import type { Clock } from '../ports/clock.js';
import type { LinkCapabilities, LinkDevice, LinkListener, RxMeta } from '../ports/link.js';
import { readU48 } from '../wire/bytes.js';
import { countDrop, EMPTY_META, FrameQueue, ListenerSlot, makeCapabilities, maxFrameLen, newCounters, snapshot } from './support.js';
import type { CapabilitiesInit, LinkCounters, NotifyMode } from './support.js';

export interface MemorySwitchOptions {
  readonly ports: number;
  /** 'learning' (default) or 'hub'. */
  readonly mode?: 'learning' | 'hub';
  /** Time source for MAC aging; without one, learned entries never age. */
  readonly clock?: Clock;
  /** MAC entry lifetime in microseconds; default 300 s (IEEE 802.1Q default ageing time). */
  readonly agingUs?: number;
  /** MAC table capacity; default 1024. */
  readonly maxEntries?: number;
  /** Egress queue per port: frames (default 256) and bytes (default 1 MiB). */
  readonly queueFrames?: number;
  readonly queueBytes?: number;
  readonly notify?: NotifyMode;
  /** Medium must be 'ethernet'. */
  readonly capabilities?: CapabilitiesInit;
}

export interface MacEntry {
  /** aa:bb:cc:dd:ee:ff */
  readonly mac: string;
  readonly port: number;
  readonly lastSeen: number;
}

export interface SwitchCounters {
  /** Frames sent to one known port. */
  forwarded: number;
  /** Frames copied to every other port (unknown unicast, broadcast, multicast, hub). */
  flooded: number;
  /** Unicast to a host on the port it came from: not sent back. */
  filtered: number;
  learned: number;
  /** Station seen on a different port than its entry said. */
  moved: number;
  aged: number;
  evicted: number;
}

interface Entry {
  port: number;
  lastSeen: number;
}

/** One switch port: transmit() hands a frame to the switch, receive() drains the port's egress queue. */
export class SwitchPort implements LinkDevice {
  readonly capabilities: LinkCapabilities;
  /** @internal */ readonly q: FrameQueue;
  /** @internal */ readonly slot: ListenerSlot;
  /** @internal */ readonly counters = newCounters();
  /** @internal */ portUp = true;
  /** @internal */ closed = false;

  /** @internal use MemorySwitch */
  constructor(
    private readonly sw: MemorySwitch,
    readonly index: number,
    caps: LinkCapabilities,
    frames: number,
    bytes: number,
    notify: NotifyMode,
  ) {
    this.capabilities = caps;
    this.q = new FrameQueue(frames, bytes);
    this.slot = new ListenerSlot(notify);
  }

  get up(): boolean {
    return this.portUp && !this.closed;
  }

  receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number {
    let n = 0;
    while (n < budget) {
      const f = this.q.shift();
      if (f === undefined) break;
      n++;
      this.counters.rxFrames++;
      this.counters.rxBytes += f.length;
      sink(f, EMPTY_META);
    }
    return n;
  }

  /** Always takes the frame (a switch drops rather than pushing back). */
  transmit(frame: Uint8Array): boolean {
    this.sw.ingress(this, frame);
    return true;
  }

  setListener(listener: LinkListener | null): void {
    this.slot.set(listener);
    if (listener !== null && this.q.length > 0) this.slot.readable();
  }

  close(): void {
    this.closed = true;
    this.q.clear();
    this.slot.set(null);
  }

  stats(): LinkCounters {
    return snapshot(this.counters);
  }
}

export class MemorySwitch {
  readonly ports: readonly SwitchPort[];
  readonly mode: 'learning' | 'hub';
  private readonly table = new Map<number, Entry>();
  private readonly clock: Clock | undefined;
  private readonly agingUs: number;
  private readonly maxEntries: number;
  private readonly maxFrame: number;
  private readonly counters: SwitchCounters = { forwarded: 0, flooded: 0, filtered: 0, learned: 0, moved: 0, aged: 0, evicted: 0 };

  constructor(opts: MemorySwitchOptions) {
    if (!Number.isInteger(opts.ports) || opts.ports < 1) throw new RangeError(`ports ${opts.ports} must be >= 1`);
    const caps = makeCapabilities(opts.capabilities);
    if (caps.medium !== 'ethernet') throw new RangeError('a switch carries Ethernet frames');
    this.mode = opts.mode ?? 'learning';
    this.clock = opts.clock;
    this.agingUs = opts.agingUs ?? 300_000_000;
    this.maxEntries = opts.maxEntries ?? 1024;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError(`maxEntries ${this.maxEntries} must be >= 1`);
    this.maxFrame = maxFrameLen(caps);
    const ports: SwitchPort[] = [];
    for (let i = 0; i < opts.ports; i++) {
      ports.push(new SwitchPort(this, i, caps, opts.queueFrames ?? 256, opts.queueBytes ?? 1 << 20, opts.notify ?? 'microtask'));
    }
    this.ports = ports;
  }

  port(i: number): SwitchPort {
    const p = this.ports[i];
    if (p === undefined) throw new RangeError(`no port ${i} (${this.ports.length} ports)`);
    return p;
  }

  /** Administrative port state; the attached listener gets onLinkState. */
  setPortUp(i: number, up: boolean): void {
    const p = this.port(i);
    if (p.portUp === up) return;
    p.portUp = up;
    if (!up) {
      p.q.clear();
      // Stations behind a dead port are gone.
      for (const [mac, e] of this.table) if (e.port === i) this.table.delete(mac);
    }
    p.slot.linkState(up);
  }

  /** Current MAC table, least recently seen first. */
  macTable(): MacEntry[] {
    const out: MacEntry[] = [];
    for (const [mac, e] of this.table) out.push({ mac: formatMac(mac), port: e.port, lastSeen: e.lastSeen });
    return out;
  }

  stats(): SwitchCounters {
    return { ...this.counters };
  }

  /** @internal a frame from the host attached to `from`. */
  ingress(from: SwitchPort, frame: Uint8Array): void {
    const c = from.counters;
    if (!from.up) {
      countDrop(c, 'port_down');
      return;
    }
    if (frame.length < 14) {
      countDrop(c, 'runt');
      return;
    }
    if (frame.length > this.maxFrame) {
      countDrop(c, 'oversize');
      return;
    }
    c.txFrames++;
    c.txBytes += frame.length;
    if (this.mode === 'hub') {
      this.flood(from, frame);
      return;
    }
    const now = this.clock === undefined ? 0 : this.clock.now();
    // Group bit (I/G) of the source set: not a station address, never learned.
    if ((frame[6]! & 1) === 0) this.learn(readU48(frame, 6), from.index, now);
    if ((frame[0]! & 1) !== 0) {
      this.flood(from, frame);
      return;
    }
    const dst = readU48(frame, 0);
    const e = this.table.get(dst);
    if (e !== undefined && this.clock !== undefined && now - e.lastSeen >= this.agingUs) {
      this.table.delete(dst);
      this.counters.aged++;
      this.flood(from, frame);
    } else if (e === undefined) {
      this.flood(from, frame);
    } else if (e.port === from.index) {
      this.counters.filtered++;
      countDrop(c, 'filtered');
    } else {
      this.counters.forwarded++;
      this.enqueue(this.ports[e.port]!, frame);
    }
  }

  private learn(mac: number, port: number, now: number): void {
    const e = this.table.get(mac);
    if (e !== undefined) {
      if (e.port !== port) this.counters.moved++;
      // Re-insert so Map order stays least-recently-seen first.
      this.table.delete(mac);
      e.port = port;
      e.lastSeen = now;
      this.table.set(mac, e);
      return;
    }
    if (this.table.size >= this.maxEntries) {
      // Oldest first: drop the aged ones, then evict the least recently seen if still full.
      for (const [k, old] of this.table) {
        if (this.clock === undefined || now - old.lastSeen < this.agingUs) break;
        this.table.delete(k);
        this.counters.aged++;
      }
      if (this.table.size >= this.maxEntries) {
        const oldest = this.table.keys().next().value as number;
        this.table.delete(oldest);
        this.counters.evicted++;
      }
    }
    this.table.set(mac, { port, lastSeen: now });
    this.counters.learned++;
  }

  private flood(from: SwitchPort, frame: Uint8Array): void {
    this.counters.flooded++;
    for (const p of this.ports) if (p !== from) this.enqueue(p, frame);
  }

  private enqueue(to: SwitchPort, frame: Uint8Array): void {
    if (!to.up) {
      countDrop(to.counters, 'port_down');
      return;
    }
    if (!to.q.canAccept(frame.length)) {
      countDrop(to.counters, 'queue_full');
      return;
    }
    // One copy per egress port: receivers are lent their own bytes.
    to.q.push(frame.slice());
    to.slot.readable();
  }
}

function formatMac(v: number): string {
  return v.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}
