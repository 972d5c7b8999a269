// FaultInjectorDevice: a seeded, clock-driven impairment layer for either direction of a device —
// loss, duplication, reordering, single-bit corruption, delay with jitter, and a token-bucket rate
// limit. Given the same seed, options and sequence of calls with the same clock readings, the outcome
// is identical (random draws happen in a fixed order per frame, only for the faults configured).
//
// Held frames (delayed, shaped or reordered) are copies kept in a per-direction queue ordered by
// release time; they leave on the next receive()/transmit() at or after that time, and pollAt()
// reports the earliest. The rate limit holds (shapes, like tc-tbf) rather than drops; only a full
// queue (maxQueue) drops on receive. On transmit a full queue answers "busy" before any random draw,
// and onWritable follows once it drains. Jitter can reorder frames, as netem's does.

import type { Clock } from '../ports/clock.js';
import type { LinkDevice, LinkListener, RxMeta } from '../ports/link.js';
import type { RandomSource } from '../ports/random.js';
import { Instant } from '../time/instant.js';
import { LinkDecorator } from './decorator.js';
import { EMPTY_META, ListenerSlot } from './support.js';
import type { NotifyMode } from './support.js';

export interface FaultSpec {
  /** Probability in [0, 1] that a frame is dropped. */
  readonly loss?: number;
  /** Probability that a frame is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a frame is held back until the next frame has gone (or reorderHoldUs passes). */
  readonly reorder?: number;
  /** Probability that one uniformly chosen bit of the frame is flipped. */
  readonly corrupt?: number;
  /** Fixed delay, µs. */
  readonly delayUs?: number;
  /** Extra delay uniform in [0, jitterUs], µs. */
  readonly jitterUs?: number;
  /** Token-bucket rate, bits per second; frames wait for tokens (0 or absent: unlimited). */
  readonly rateBitsPerSec?: number;
  /** Bucket depth in bytes; default 1518 (one full Ethernet frame, i.e. no burst beyond a frame). */
  readonly burstBytes?: number;
  /** Longest wait of a reordered frame for a successor, µs; default 10 ms. */
  readonly reorderHoldUs?: number;
  /** Frames held at most; default 1024. */
  readonly maxQueue?: number;
}

export interface FaultCounters {
  /** Frames offered to the lane. */
  offered: number;
  /** Frames (including duplicates) handed on. */
  passed: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  /** Frames given a non-zero delay (fixed or jitter). */
  delayed: number;
  /** Frames that had to wait for rate-limit tokens. */
  shaped: number;
  /** Frames dropped because the queue was full. */
  queueFull: number;
}

export interface FaultInjectorOptions {
  readonly random: RandomSource;
  readonly clock: Clock;
  readonly rx?: FaultSpec;
  readonly tx?: FaultSpec;
  /** How onWritable is delivered when the transmit queue drains; default 'microtask'. */
  readonly notify?: NotifyMode;
}

interface Held {
  readonly frame: Uint8Array;
  readonly meta: RxMeta;
  /** Release time, µs (fractional under rate limiting). */
  readonly at: number;
}

const TWO32 = 4294967296;

function checkProbability(name: string, p: number | undefined): number {
  const v = p ?? 0;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} probability ${v} not in [0, 1]`);
  return v;
}

function checkNonNegative(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!(x >= 0) || !Number.isFinite(x)) throw new RangeError(`${name} ${x} must be a finite number >= 0`);
  return x;
}

/** One direction's impairments and its queue of held frames. */
class FaultLane {
  readonly counters: FaultCounters = { offered: 0, passed: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0, shaped: 0, queueFull: 0 };
  private readonly q: Held[] = [];
  private slot: Held | null = null;
  private slotDeadline = 0;
  // Thresholds on a u32 draw: p * 2^32 (p = 1 always fires since draws are < 2^32).
  private readonly loss: number;
  private readonly dup: number;
  private readonly reorder: number;
  private readonly corrupt: number;
  private readonly delay: number;
  private readonly jitter: number;
  /** Bits per µs, 0 = unlimited. */
  private readonly rate: number;
  private readonly bucketBits: number;
  private readonly hold: number;
  readonly maxQueue: number;
  private tokens: number;
  private tokenTime = Number.NEGATIVE_INFINITY;

  constructor(
    spec: FaultSpec,
    private readonly rnd: RandomSource,
  ) {
    this.loss = checkProbability('loss', spec.loss) * TWO32;
    this.dup = checkProbability('duplicate', spec.duplicate) * TWO32;
    this.reorder = checkProbability('reorder', spec.reorder) * TWO32;
    this.corrupt = checkProbability('corrupt', spec.corrupt) * TWO32;
    this.delay = checkNonNegative('delayUs', spec.delayUs, 0);
    this.jitter = Math.floor(checkNonNegative('jitterUs', spec.jitterUs, 0));
    this.rate = checkNonNegative('rateBitsPerSec', spec.rateBitsPerSec, 0) / 1e6;
    this.bucketBits = checkNonNegative('burstBytes', spec.burstBytes, 1518) * 8;
    this.tokens = this.bucketBits;
    this.hold = checkNonNegative('reorderHoldUs', spec.reorderHoldUs, 10_000);
    this.maxQueue = checkNonNegative('maxQueue', spec.maxQueue, 1024);
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 1) throw new RangeError(`maxQueue ${this.maxQueue} must be an integer >= 1`);
  }

  /** Frames held (queue and reorder slot). */
  get held(): number {
    return this.q.length + (this.slot === null ? 0 : 1);
  }

  /** Room for one more offered frame, counting a possible duplicate. */
  hasRoom(): boolean {
    return this.held + (this.dup > 0 ? 2 : 1) <= this.maxQueue;
  }

  /** Applies the faults to a frame (lent for the call) and queues what survives. */
  offer(frame: Uint8Array, meta: RxMeta, now: number): void {
    const c = this.counters;
    c.offered++;
    const r = this.rnd;
    if (this.loss > 0 && r.u32() < this.loss) {
      c.lost++;
      return;
    }
    let bytes = frame;
    if (this.corrupt > 0 && r.u32() < this.corrupt && frame.length > 0) {
      bytes = frame.slice();
      const bit = r.below(frame.length * 8);
      bytes[bit >>> 3]! ^= 1 << (bit & 7);
      c.corrupted++;
    }
    const copies = this.dup > 0 && r.u32() < this.dup ? 2 : 1;
    if (copies === 2) c.duplicated++;
    const reorder = this.reorder > 0 && r.u32() < this.reorder;
    let ready = now + this.delay;
    if (this.jitter > 0) ready += r.below(this.jitter + 1);
    if (ready > now) c.delayed++;
    if (this.held + copies > this.maxQueue) {
      c.queueFull++;
      return;
    }
    const owned = bytes === frame ? frame.slice() : bytes;
    const m = meta === EMPTY_META ? meta : { ...meta };
    for (let i = 0; i < copies; i++) {
      const f = i === 0 ? owned : owned.slice();
      if (i === 0 && reorder && this.slot === null) {
        // Held aside until a later frame of this lane has been released.
        c.reordered++;
        this.slot = { frame: f, meta: m, at: ready };
        this.slotDeadline = Math.max(ready, now + this.hold);
        continue;
      }
      this.insert({ frame: f, meta: m, at: this.shape(ready, f.length) });
    }
  }

  /** Earliest time something is releasable, or +Infinity. */
  nextDue(): number {
    const head = this.q.length > 0 ? this.q[0]!.at : Number.POSITIVE_INFINITY;
    return this.slot === null ? head : Math.min(head, this.slotDeadline);
  }

  /**
   * Hands due frames to `emit` in order, at most `budget`. emit returns false when it could not take
   * the frame (transmit busy): the frame stays first in line and release stops.
   */
  release(now: number, budget: number, emit: (frame: Uint8Array, meta: RxMeta) => boolean): number {
    let n = 0;
    while (n < budget) {
      const head = this.q[0];
      if (head !== undefined && head.at <= now) {
        if (!emit(head.frame, head.meta)) break;
        this.q.shift();
        n++;
        this.counters.passed++;
        // The frame held for reordering goes right behind the one that overtook it.
        if (this.slot !== null) {
          const s = this.slot;
          this.slot = null;
          this.q.unshift({ frame: s.frame, meta: s.meta, at: now });
        }
        continue;
      }
      if (this.slot !== null && this.slotDeadline <= now) {
        const s = this.slot;
        if (!emit(s.frame, s.meta)) break;
        this.slot = null;
        n++;
        this.counters.passed++;
        continue;
      }
      break;
    }
    return n;
  }

  /** Departure time under the token bucket (FIFO among shaped frames). */
  private shape(ready: number, len: number): number {
    if (this.rate === 0) return ready;
    const bits = len * 8;
    const t = Math.max(ready, this.tokenTime);
    const avail = Math.min(this.bucketBits, this.tokens + (t - this.tokenTime) * this.rate);
    if (avail >= bits) {
      this.tokens = avail - bits;
      this.tokenTime = t;
      if (t > ready) this.counters.shaped++;
      return t;
    }
    const depart = t + (bits - avail) / this.rate;
    this.tokens = 0;
    this.tokenTime = depart;
    this.counters.shaped++;
    return depart;
  }

  private insert(h: Held): void {
    const q = this.q;
    // Stable: after every frame due at the same time or earlier.
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (q[mid]!.at <= h.at) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, h);
  }
}

export class FaultInjectorDevice extends LinkDecorator {
  private readonly clock: Clock;
  private readonly rxLane: FaultLane;
  private readonly txLane: FaultLane;
  private readonly slot: ListenerSlot;
  private user: LinkListener | null = null;
  /** The inner device refused a frame: wait for its onWritable before pushing more. */
  private txBlocked = false;
  /** We refused a transmit(): owe the user an onWritable. */
  private owesWritable = false;
  private now = 0;

  constructor(inner: LinkDevice, opts: FaultInjectorOptions) {
    super(inner);
    this.clock = opts.clock;
    // One generator, draws in call order: both lanes share it so one seed fixes everything.
    this.rxLane = new FaultLane(opts.rx ?? {}, opts.random);
    this.txLane = new FaultLane(opts.tx ?? {}, opts.random);
    this.slot = new ListenerSlot(opts.notify ?? 'microtask');
    inner.setListener(this.innerListener);
  }

  /** Counters per direction (copies). */
  stats(): { rx: FaultCounters; tx: FaultCounters } {
    return { rx: { ...this.rxLane.counters }, tx: { ...this.txLane.counters } };
  }

  /** Frames currently held per direction. */
  get held(): { rx: number; tx: number } {
    return { rx: this.rxLane.held, tx: this.txLane.held };
  }

  override receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number {
    const now = this.clock.now();
    this.flushTx(now);
    const room = this.rxLane.maxQueue - this.rxLane.held;
    if (room > 0) {
      this.now = now;
      // Pull no more than the lane can hold: the rest waits in the inner device (its backpressure).
      this.inner.receive(Math.min(budget, room), this.rxOffer);
    }
    return this.rxLane.release(now, budget, (f, m) => {
      sink(f, m);
      return true;
    });
  }

  override transmit(frame: Uint8Array): boolean {
    const now = this.clock.now();
    this.flushTx(now);
    if (!this.txLane.hasRoom()) {
      this.owesWritable = true;
      return false;
    }
    this.txLane.offer(frame, EMPTY_META, now);
    this.flushTx(now);
    return true;
  }

  override pollAt(now: Instant): Instant {
    let t = this.inner.pollAt === undefined ? Number.POSITIVE_INFINITY : this.inner.pollAt(now);
    t = Math.min(t, this.rxLane.nextDue());
    if (!this.txBlocked) t = Math.min(t, this.txLane.nextDue());
    if (t === Number.POSITIVE_INFINITY) return Instant.NEVER;
    // Release times can be fractional under rate limiting; never report one in the past.
    return Math.max(now, Math.ceil(t)) as Instant;
  }

  override setListener(listener: LinkListener | null): void {
    this.user = listener;
    this.slot.set(listener);
  }

  override close(): void {
    this.user = null;
    this.slot.set(null);
    this.inner.close();
  }

  private readonly rxOffer = (frame: Uint8Array, meta: RxMeta): void => {
    this.rxLane.offer(frame, meta, this.now);
  };

  private readonly txEmit = (frame: Uint8Array): boolean => {
    if (this.inner.transmit(frame)) return true;
    this.txBlocked = true;
    return false;
  };

  private flushTx(now: number): void {
    if (this.txBlocked) return;
    this.txLane.release(now, Number.POSITIVE_INFINITY, this.txEmit);
    if (this.owesWritable && this.txLane.hasRoom()) {
      this.owesWritable = false;
      this.slot.writable();
    }
  }

  private readonly innerListener: LinkListener = {
    onReadable: () => this.user?.onReadable(),
    onWritable: () => {
      // The user is never refused because of the inner device (its frames queue here), so the
      // user's onWritable comes only from flushTx() freeing room in a queue that had refused it.
      this.txBlocked = false;
      this.flushTx(this.clock.now());
    },
    onLinkState: (up) => this.user?.onLinkState?.(up),
  };
}
