// Two link devices connected back to back, as if by a cable: what one end transmits is copied into
// the other end's bounded receive queue. A full queue answers transmit() with false (the frame is not
// taken) and the sender gets onWritable once the peer has drained at least one frame, so backpressure
// is end to end. Frames transmitted while the link is down, oversized or after close() are taken and
// dropped with a counted reason (a cable does not push back).

import type { LinkCapabilities, LinkDevice, LinkListener, RxMeta } from '../ports/link.js';
import {
  countDrop,
  EMPTY_META,
  FrameQueue,
  ListenerSlot,
  makeCapabilities,
  maxFrameLen,
  newCounters,
  snapshot,
} from './support.js';
import type { CapabilitiesInit, LinkCounters, NotifyMode } from './support.js';

export interface MemoryPairOptions {
  readonly capabilities?: CapabilitiesInit;
  /** Receive queue bound of each end, in frames (default 256) and bytes (default 1 MiB). */
  readonly queueFrames?: number;
  readonly queueBytes?: number;
  /** Listener notification mode (see NotifyMode); default 'microtask'. */
  readonly notify?: NotifyMode;
  /** Initial link state; default up. */
  readonly up?: boolean;
  readonly names?: readonly [string, string];
}

/** One end of a memory pair. */
export class MemoryLink implements LinkDevice {
  readonly capabilities: LinkCapabilities;
  /** Frames the peer sent us, waiting for receive(). */
  private readonly rxq: FrameQueue;
  private readonly slot: ListenerSlot;
  private readonly counters = newCounters();
  private readonly maxFrame: number;
  private peer!: MemoryLink;
  /** A transmit() was refused: owe the listener an onWritable when the peer drains. */
  private wantWritable = false;
  private closed = false;

  /** @internal use createMemoryPair() */
  constructor(
    readonly name: string,
    caps: LinkCapabilities,
    queueFrames: number,
    queueBytes: number,
    notify: NotifyMode,
    private readonly cable: { up: boolean },
  ) {
    this.capabilities = caps;
    this.maxFrame = maxFrameLen(caps);
    this.rxq = new FrameQueue(queueFrames, queueBytes);
    this.slot = new ListenerSlot(notify);
  }

  /** @internal */
  connect(peer: MemoryLink): void {
    this.peer = peer;
  }

  get up(): boolean {
    return this.cable.up && !this.closed && !this.peer.closed;
  }

  /** Frames waiting in this end's receive queue. */
  get pending(): number {
    return this.rxq.length;
  }

  receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number {
    let n = 0;
    while (n < budget) {
      // Dequeue before calling out: the sink may re-enter transmit() or receive().
      const f = this.rxq.shift();
      if (f === undefined) break;
      n++;
      this.counters.rxFrames++;
      this.counters.rxBytes += f.length;
      sink(f, EMPTY_META);
    }
    if (n > 0) this.peer.roomFreed();
    return n;
  }

  transmit(frame: Uint8Array): boolean {
    const c = this.counters;
    if (this.closed || this.peer.closed) {
      countDrop(c, 'closed');
      return true;
    }
    if (!this.cable.up) {
      countDrop(c, 'link_down');
      return true;
    }
    if (frame.length > this.maxFrame) {
      countDrop(c, 'oversize');
      return true;
    }
    const q = this.peer.rxq;
    if (!q.canAccept(frame.length)) {
      c.txBusy++;
      this.wantWritable = true;
      return false;
    }
    q.push(frame.slice());
    c.txFrames++;
    c.txBytes += frame.length;
    this.peer.slot.readable();
    return true;
  }

  setListener(listener: LinkListener | null): void {
    this.slot.set(listener);
    // A listener attached late still learns about frames already queued.
    if (listener !== null && this.rxq.length > 0) this.slot.readable();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const dropped = this.rxq.clear();
    if (dropped > 0) this.counters.drops.closed = (this.counters.drops.closed ?? 0) + dropped;
    this.slot.set(null);
    this.peer.linkChanged(false);
    this.peer.roomFreed();
  }

  /** Counters so far (a copy). */
  stats(): LinkCounters {
    return snapshot(this.counters);
  }

  /** @internal the peer drained frames we sent (or went away). */
  roomFreed(): void {
    if (this.wantWritable) {
      this.wantWritable = false;
      this.slot.writable();
    }
  }

  /** @internal */
  linkChanged(up: boolean): void {
    if (!this.closed) this.slot.linkState(up);
  }
}

export interface MemoryPair {
  readonly a: MemoryLink;
  readonly b: MemoryLink;
  /** Cable state: both ends see it (onLinkState). */
  readonly up: boolean;
  setUp(up: boolean): void;
}

export function createMemoryPair(opts: MemoryPairOptions = {}): MemoryPair {
  const caps = makeCapabilities(opts.capabilities);
  const frames = opts.queueFrames ?? 256;
  const bytes = opts.queueBytes ?? 1 << 20;
  const notify = opts.notify ?? 'microtask';
  const cable = { up: opts.up ?? true };
  const [na, nb] = opts.names ?? ['a', 'b'];
  const a = new MemoryLink(na, caps, frames, bytes, notify, cable);
  const b = new MemoryLink(nb, caps, frames, bytes, notify, cable);
  a.connect(b);
  b.connect(a);
  return {
    a,
    b,
    get up() {
      return cable.up;
    },
    setUp(up: boolean) {
      if (cable.up === up) return;
      cable.up = up;
      a.linkChanged(up);
      b.linkChanged(up);
    },
  };
}
