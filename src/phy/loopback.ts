// Loopback device: every frame transmitted is queued (copied) for receive() on the same device.
// Bounded like a memory pair: a full queue refuses transmit() and onWritable follows the next drain.

import type { LinkCapabilities, LinkDevice, LinkListener, RxMeta } from '../ports/link.js';
import { countDrop, EMPTY_META, FrameQueue, ListenerSlot, makeCapabilities, maxFrameLen, newCounters, snapshot } from './support.js';
import type { CapabilitiesInit, LinkCounters, NotifyMode } from './support.js';

export interface LoopbackOptions {
  /** Default: medium 'ip', MTU 65535. */
  readonly capabilities?: CapabilitiesInit;
  readonly queueFrames?: number;
  readonly queueBytes?: number;
  readonly notify?: NotifyMode;
}

export class LoopbackDevice implements LinkDevice {
  readonly capabilities: LinkCapabilities;
  readonly up = true;
  private readonly q: FrameQueue;
  private readonly slot: ListenerSlot;
  private readonly counters = newCounters();
  private readonly maxFrame: number;
  private wantWritable = false;
  private closed = false;

  constructor(opts: LoopbackOptions = {}) {
    this.capabilities = makeCapabilities(opts.capabilities, { medium: 'ip', mtu: 65535 });
    this.maxFrame = maxFrameLen(this.capabilities);
    this.q = new FrameQueue(opts.queueFrames ?? 256, opts.queueBytes ?? 4 << 20);
    this.slot = new ListenerSlot(opts.notify ?? 'microtask');
  }

  get pending(): number {
    return this.q.length;
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
    if (n > 0 && this.wantWritable) {
      this.wantWritable = false;
      this.slot.writable();
    }
    return n;
  }

  transmit(frame: Uint8Array): boolean {
    if (this.closed) {
      countDrop(this.counters, 'closed');
      return true;
    }
    if (frame.length > this.maxFrame) {
      countDrop(this.counters, 'oversize');
      return true;
    }
    if (!this.q.canAccept(frame.length)) {
      this.counters.txBusy++;
      this.wantWritable = true;
      return false;
    }
    this.q.push(frame.slice());
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
    this.slot.readable();
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
