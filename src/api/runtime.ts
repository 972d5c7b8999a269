// Drives sans-I/O stacks from Node's event loop (STYLE decision 2). One timer per runtime, re-armed
// to the earliest pollAt() of its stacks (no fixed-period ticker); device readiness (the stack's
// wake hook) schedules a poll on a microtask, coalesced, so a burst of frames costs one poll. A loop
// guard bounds the polls per event-loop turn: after `maxPollsPerTurn` microtask polls the next one
// waits for setImmediate, so two stacks ping-ponging over a memory link cannot starve I/O and timers.
//
// Liveness follows Node: the timer (and the guard's immediate) is unref'd, so the runtime alone never
// keeps the process alive. User handles that Node would keep alive (a bound dgram socket, a pending
// ping) take a reference with ref(); while any is held the timer is ref'd (armed far in the future
// when the stacks need no wake-up), and dropping the last one lets the process exit.
//
// User callbacks (socket events) never run inside Stack.poll(): the facades queue them with defer(),
// and they run from a setImmediate after the poll, as Node emits I/O events from a later event-loop
// phase: never between two microtasks of the user's code, and after its process.nextTick callbacks.
// An exception in a listener surfaces as an uncaught exception of the user's code, not a stack fault.

import type { Stack } from '../core/stack.js';
import { Instant } from '../time/instant.js';

export interface RuntimeOptions {
  /** Microtask-scheduled polls per event-loop turn before yielding with setImmediate (default 64). */
  readonly maxPollsPerTurn?: number;
  /** Passes over all stacks within one poll while work is still due at the same instant (default 16). */
  readonly maxRoundsPerPoll?: number;
  /** Monotonic clock; default process.hrtime.bigint() in microseconds. */
  readonly clock?: () => Instant;
}

/** The largest delay setTimeout accepts (about 24.8 days): the keep-alive arm when nothing is due. */
const MAX_TIMER_MS = 0x7fff_ffff;

/** Monotonic microseconds from process.hrtime.bigint(). */
export function hrtimeInstant(): Instant {
  return Instant.fromMicros(Number(process.hrtime.bigint() / 1000n));
}

export class Runtime {
  readonly maxPollsPerTurn: number;
  readonly maxRoundsPerPoll: number;
  private readonly clock: () => Instant;
  private readonly stacks = new Set<Stack>();
  private timer: NodeJS.Timeout | undefined;
  /** Deadline the timer is armed for (NEVER = keep-alive arm). */
  private timerAt: number = Number.NaN;
  private timerRefd = false;
  private scheduled = false;
  private immediate: NodeJS.Immediate | undefined;
  private flushImmediate: NodeJS.Immediate | undefined;
  private pollsThisTurn = 0;
  private running = false;
  private refs = 0;
  /** wake() arrived during a poll: run again afterwards. */
  private rerun = false;
  private deferred: Array<() => void> = [];
  private counters = { polls: 0, timerFires: 0, yields: 0 };

  constructor(opts: RuntimeOptions = {}) {
    this.maxPollsPerTurn = opts.maxPollsPerTurn ?? 64;
    this.maxRoundsPerPoll = opts.maxRoundsPerPoll ?? 16;
    if (!Number.isInteger(this.maxPollsPerTurn) || this.maxPollsPerTurn < 1) throw new RangeError(`maxPollsPerTurn ${this.maxPollsPerTurn} must be >= 1`);
    if (!Number.isInteger(this.maxRoundsPerPoll) || this.maxRoundsPerPoll < 1) throw new RangeError(`maxRoundsPerPoll ${this.maxRoundsPerPoll} must be >= 1`);
    this.clock = opts.clock ?? hrtimeInstant;
  }

  now(): Instant {
    return this.clock();
  }

  /** Starts driving `stack` (its wake hook should call wake()). */
  attach(stack: Stack): void {
    this.stacks.add(stack);
    this.wake();
  }

  detach(stack: Stack): void {
    this.stacks.delete(stack);
    this.rearm();
  }

  /** Something changed (a device has input or room, a user call queued work): poll soon. */
  wake(): void {
    if (this.scheduled || this.running) {
      // A poll in progress re-arms when it ends; one already scheduled covers this wake.
      if (this.running) this.rerun = true;
      return;
    }
    this.scheduled = true;
    if (this.pollsThisTurn < this.maxPollsPerTurn) {
      queueMicrotask(this.onMicrotask);
    } else {
      this.counters.yields++;
      this.immediate = setImmediate(this.onImmediate);
      if (this.refs === 0) this.immediate.unref();
    }
  }

  /** Runs `fn` from a later event-loop phase (setImmediate), after the current poll pass. */
  defer(fn: () => void): void {
    this.deferred.push(fn);
    if (this.flushImmediate === undefined) {
      this.flushImmediate = setImmediate(this.onFlush);
      if (this.refs === 0) this.flushImmediate.unref();
    }
  }

  /** A user handle that keeps the process alive was opened. */
  ref(): void {
    this.refs++;
    if (this.refs === 1) this.rearm();
  }

  /** ...and closed or unref'd. */
  unref(): void {
    if (this.refs === 0) throw new Error('Runtime.unref() without a matching ref()');
    this.refs--;
    if (this.refs === 0) this.rearm();
  }

  get refCount(): number {
    return this.refs;
  }

  /** Polls, timer fires and guard yields so far (for tests and diagnostics). */
  stats(): { polls: number; timerFires: number; yields: number; refs: number } {
    return { ...this.counters, refs: this.refs };
  }

  /** Detaches every stack and cancels the timer. */
  close(): void {
    this.stacks.clear();
    this.deferred = [];
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.flushImmediate = undefined;
    this.timerAt = Number.NaN;
  }

  private readonly onMicrotask = (): void => {
    this.scheduled = false;
    this.pollsThisTurn++;
    this.run();
  };

  private readonly onImmediate = (): void => {
    this.immediate = undefined;
    this.scheduled = false;
    this.pollsThisTurn = 0;
    this.run();
  };

  private readonly onFlush = (): void => {
    this.flushImmediate = undefined;
    try {
      this.flushDeferred();
    } finally {
      if (this.deferred.length > 0 && this.flushImmediate === undefined) {
        this.flushImmediate = setImmediate(this.onFlush);
        if (this.refs === 0) this.flushImmediate.unref();
      }
      // Listeners may have sent: let the stacks run.
      this.rearm();
    }
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.NaN;
    this.counters.timerFires++;
    this.pollsThisTurn = 0;
    this.run();
  };

  private run(): void {
    if (this.running) return;
    this.running = true;
    this.rerun = false;
    try {
      const now = this.clock();
      for (let round = 0; round < this.maxRoundsPerPoll; round++) {
        let busy = false;
        for (const s of this.stacks) {
          if (s.pollAt(now) <= now) {
            s.poll(now);
            busy = true;
          }
        }
        if (!busy) break;
      }
      this.counters.polls++;
    } finally {
      this.running = false;
    }
    this.rearm();
  }

  private flushDeferred(): void {
    // Callbacks deferred while these run wait for the next pass (bounded work per pass).
    const batch = this.deferred;
    if (batch.length === 0) return;
    this.deferred = [];
    for (let i = 0; i < batch.length; i++) {
      try {
        batch[i]!();
      } catch (err) {
        // Keep the rest for the next pass, then let the user's exception propagate.
        this.deferred = batch.slice(i + 1).concat(this.deferred);
        throw err;
      }
    }
  }

  /** Schedules the next poll: now if work is due, else the timer at the earliest deadline. */
  private rearm(): void {
    const now = this.clock();
    let at: number = Instant.NEVER;
    for (const s of this.stacks) {
      const d = s.pollAt(now);
      if (d < at) at = d;
    }
    if (at <= now || this.rerun) {
      this.rerun = false;
      this.wake();
      // Keep a timer only as the keep-alive while a handle is open.
      at = Instant.NEVER;
    }
    const wantRef = this.refs > 0;
    if (at === Instant.NEVER && !wantRef) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.NaN;
      return;
    }
    if (this.timer && this.timerAt === at) {
      if (this.timerRefd !== wantRef) {
        if (wantRef) this.timer.ref();
        else this.timer.unref();
        this.timerRefd = wantRef;
      }
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    const ms = at === Instant.NEVER ? MAX_TIMER_MS : Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil((at - now) / 1000)));
    this.timer = setTimeout(this.onTimer, ms);
    if (!wantRef) this.timer.unref();
    this.timerRefd = wantRef;
    this.timerAt = at;
  }
}

let shared: Runtime | undefined;

/** The process-wide runtime stacks use unless given their own. */
export function defaultRuntime(): Runtime {
  shared ??= new Runtime();
  return shared;
}
