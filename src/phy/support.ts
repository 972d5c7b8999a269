// Shared pieces of the in-memory devices: default capabilities, the largest frame a device accepts,
// a bounded FIFO of owned frames, and listener notification (coalesced on a microtask, or synchronous
// but never nested for one listener).

import type { ChecksumOffload, LinkCapabilities, LinkListener, RxMeta } from '../ports/link.js';

export const NO_OFFLOAD: ChecksumOffload = Object.freeze({ ipv4: 'none', tcp: 'none', udp: 'none', icmp: 'none' });

/** Capabilities given in part; `checksum` may itself be partial. */
export type CapabilitiesInit = Partial<Omit<LinkCapabilities, 'checksum'>> & { readonly checksum?: Partial<ChecksumOffload> };

/** Ethernet, MTU 1500, bursts of 64, no checksum offload, unless overridden. */
export function makeCapabilities(init: CapabilitiesInit = {}, base: Partial<LinkCapabilities> = {}): LinkCapabilities {
  const caps: LinkCapabilities = {
    medium: init.medium ?? base.medium ?? 'ethernet',
    mtu: init.mtu ?? base.mtu ?? 1500,
    maxBurst: init.maxBurst ?? base.maxBurst ?? 64,
    checksum: Object.freeze({ ...NO_OFFLOAD, ...base.checksum, ...init.checksum }),
  };
  if (!Number.isInteger(caps.mtu) || caps.mtu < 68 || caps.mtu > 65535 * 4) throw new RangeError(`mtu ${caps.mtu} out of range`);
  if (!Number.isInteger(caps.maxBurst) || caps.maxBurst < 1) throw new RangeError(`maxBurst ${caps.maxBurst} out of range`);
  return Object.freeze(caps);
}

/** Largest frame a device takes: the MTU plus, on Ethernet, a header with one 802.1Q tag. */
export function maxFrameLen(caps: LinkCapabilities): number {
  return caps.medium === 'ethernet' ? caps.mtu + 18 : caps.mtu;
}

/** The metadata lent with frames that carry none. */
export const EMPTY_META: RxMeta = Object.freeze({});

/**
 * Bounded FIFO of frames the queue owns. Limits are in frames and bytes; an empty queue always takes
 * one frame so a frame larger than the byte limit cannot wedge a sender forever.
 */
export class FrameQueue {
  private ring: Array<Uint8Array | undefined> = new Array(16);
  private head = 0;
  private count = 0;
  private byteCount = 0;

  constructor(
    readonly maxFrames: number,
    readonly maxBytes: number,
  ) {
    if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new RangeError(`queue frames ${maxFrames} must be >= 1`);
    if (!(maxBytes >= 1)) throw new RangeError(`queue bytes ${maxBytes} must be >= 1`);
  }

  get length(): number {
    return this.count;
  }
  get bytes(): number {
    return this.byteCount;
  }

  canAccept(len: number): boolean {
    return this.count === 0 || (this.count < this.maxFrames && this.byteCount + len <= this.maxBytes);
  }

  /** Appends an owned frame; the caller checked canAccept(). */
  push(frame: Uint8Array): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) % this.ring.length] = frame;
    this.count++;
    this.byteCount += frame.length;
  }

  shift(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const f = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    this.byteCount -= f.length;
    return f;
  }

  /** Drops everything; returns how many frames were dropped. */
  clear(): number {
    const n = this.count;
    this.ring = new Array(16);
    this.head = 0;
    this.count = 0;
    this.byteCount = 0;
    return n;
  }

  private grow(): void {
    const next = new Array<Uint8Array | undefined>(this.ring.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = next;
    this.head = 0;
  }
}

/**
 * How a device calls its listener. 'microtask' (default): notifications are coalesced and delivered
 * from a microtask, so a listener never runs inside the transmit()/receive() call that caused it.
 * 'sync': delivered before the causing call returns, but never nested for the same listener: a
 * notification raised while that listener is already being notified is delivered right after it
 * returns (a trampoline), so two stacks ping-ponging over a pair cannot recurse without bound.
 */
export type NotifyMode = 'microtask' | 'sync';

const READABLE = 1;
const WRITABLE = 2;
const LINK = 4;

export class ListenerSlot {
  private listener: LinkListener | null = null;
  private pending = 0;
  private linkUp = true;
  private scheduled = false;
  private delivering = false;

  constructor(private readonly mode: NotifyMode = 'microtask') {}

  get attached(): LinkListener | null {
    return this.listener;
  }

  set(listener: LinkListener | null): void {
    this.listener = listener;
    if (listener === null) this.pending = 0;
  }

  readable(): void {
    this.post(READABLE);
  }
  writable(): void {
    this.post(WRITABLE);
  }
  linkState(up: boolean): void {
    this.linkUp = up;
    this.post(LINK);
  }

  private post(bit: number): void {
    if (this.listener === null) return;
    this.pending |= bit;
    if (this.mode === 'sync') {
      if (!this.delivering) this.deliver();
    } else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.onMicrotask);
    }
  }

  private readonly onMicrotask = (): void => {
    this.scheduled = false;
    this.deliver();
  };

  private deliver(): void {
    this.delivering = true;
    try {
      while (this.pending !== 0 && this.listener !== null) {
        const p = this.pending;
        this.pending = 0;
        const l = this.listener;
        if (p & LINK) l.onLinkState?.(this.linkUp);
        if (p & READABLE) l.onReadable();
        if (p & WRITABLE) l.onWritable();
      }
    } finally {
      this.delivering = false;
    }
  }
}

/** Frame counters of a device; `drops` counts frames discarded, by reason. */
export interface LinkCounters {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** transmit() calls answered "busy" (frame not taken). */
  txBusy: number;
  drops: Record<string, number>;
}

export function newCounters(): LinkCounters {
  return { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, txBusy: 0, drops: {} };
}

export function countDrop(c: LinkCounters, reason: string): void {
  c.drops[reason] = (c.drops[reason] ?? 0) + 1;
}

export function snapshot(c: LinkCounters): LinkCounters {
  return { ...c, drops: { ...c.drops } };
}
