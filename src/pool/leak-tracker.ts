// Leak tracking for any BufferPool: a decorator that remembers where each outstanding buffer was
// acquired, so a test (or a debug build) can say not just "3 buffers leaked" but "here". Costs a
// stack capture per acquire while enabled; forwards straight to the inner pool while disabled.

import type { BufferPool, BufferPoolStats } from '../ports/buffer-pool.js';

export interface LeakRecord {
  /** Requested size. */
  readonly size: number;
  /** Acquisition order within this tracker, from 1. */
  readonly sequence: number;
  /** Stack at acquire(), without the tracker's own frame. */
  readonly stack: string;
}

export interface LeakReport {
  /** Buffers the pool reports as in use. */
  readonly inUse: number;
  /** Outstanding buffers acquired through this tracker while enabled, oldest first. */
  readonly leaks: readonly LeakRecord[];
  /** In-use buffers without a record (acquired while disabled, or directly from the inner pool). */
  readonly untracked: number;
}

export interface TrackedPoolOptions {
  /** Record stacks from the start. Default true. */
  readonly enabled?: boolean;
  /** Frames kept per stack. Default 16. */
  readonly stackFrames?: number;
}

// V8's API; other engines get whatever `new Error().stack` provides.
type CaptureStackTrace = (target: object, constructorOpt?: (...args: never[]) => unknown) => void;

function captureStack(frames: number, above: (...args: never[]) => unknown): string {
  const ctor = Error as unknown as { captureStackTrace?: CaptureStackTrace; stackTraceLimit?: number };
  const holder: { stack?: string } = {};
  const limit = ctor.stackTraceLimit;
  ctor.stackTraceLimit = frames;
  try {
    if (typeof ctor.captureStackTrace === 'function') ctor.captureStackTrace(holder, above);
    else holder.stack = new Error().stack;
  } finally {
    ctor.stackTraceLimit = limit;
  }
  // Drop the "Error" header line; keep the frames.
  const stack = holder.stack ?? '';
  const nl = stack.indexOf('\n');
  return nl >= 0 && !stack.startsWith('    at') ? stack.slice(nl + 1) : stack;
}

export class TrackedPool implements BufferPool {
  private readonly live = new Map<Uint8Array, LeakRecord>();
  private sequence = 0;
  private readonly stackFrames: number;
  enabled: boolean;

  constructor(
    readonly inner: BufferPool,
    options: TrackedPoolOptions = {},
  ) {
    this.enabled = options.enabled ?? true;
    this.stackFrames = options.stackFrames ?? 16;
  }

  get inUse(): number {
    return this.inner.inUse;
  }

  acquire(size: number): Uint8Array | null {
    const buf = this.inner.acquire(size);
    if (buf !== null && this.enabled) {
      this.live.set(buf, { size, sequence: ++this.sequence, stack: captureStack(this.stackFrames, this.acquire) });
    }
    return buf;
  }

  release(buf: Uint8Array): void {
    this.inner.release(buf); // throws on misuse before we forget the record
    this.live.delete(buf);
  }

  stats(): BufferPoolStats {
    return this.inner.stats();
  }

  /** What is outstanding now, with acquisition stacks. */
  report(): LeakReport {
    const leaks = [...this.live.values()].sort((a, b) => a.sequence - b.sequence);
    const inUse = this.inner.inUse;
    return { inUse, leaks, untracked: Math.max(0, inUse - leaks.length) };
  }
}

/** Human-readable report: one block per leaked buffer with its acquisition stack. Empty if clean. */
export function formatLeakReport(report: LeakReport): string {
  if (report.inUse === 0 && report.leaks.length === 0) return '';
  const lines = [`${report.inUse} pooled buffer(s) still in use`];
  for (const leak of report.leaks) lines.push(`\n#${leak.sequence}: ${leak.size} bytes, acquired at:\n${leak.stack}`);
  if (report.untracked > 0) lines.push(`\n${report.untracked} buffer(s) acquired while tracking was off or around the tracker`);
  return lines.join('\n');
}
