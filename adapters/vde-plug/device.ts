// A LinkDevice over a spawned `vde_plug URL` process (vdeplug4): frames travel over its stdin/stdout
// as a length-prefixed byte stream (see framing.ts), so any vdeplug4 plugin works without a native
// addon: tap://NAME (a Linux TAP device), vde:///switch/dir, ptp://, udp://, vxvde://, hub://, ...
// With `netns` the plug runs as `ip netns exec NS vde_plug URL` (iproute2 execs in place, so the
// child's PID is vde_plug's own). The device owns the process: it never outlives close(), and it
// exits on its own when our end of its stdin closes (vde_plug stops at EOF), e.g. if Node dies.
// Receive side: a bounded queue like a NIC's ring; transmit side: Node's pipe write buffer, busy
// above its high-water mark until 'drain'. Protocol logic lives elsewhere.

import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { LinkCapabilities, LinkDevice, LinkListener, RxMeta } from '../../src/ports/link.js';
import { countDrop, EMPTY_META, FrameQueue, ListenerSlot, makeCapabilities, maxFrameLen, newCounters, snapshot } from '../../src/phy/support.js';
import type { CapabilitiesInit, LinkCounters, NotifyMode } from '../../src/phy/support.js';
import { encodeVdeFrame, VDE_STREAM_MAX_LEN, VdeStreamDecoder } from './framing.js';
import type { VdeStreamError } from './framing.js';

/** Smallest frame handed to the plug: an Ethernet header. Shorter writes are refused by TAP and switches. */
const MIN_TX_FRAME = 14;
/** Bytes of vde_plug's stderr kept for error messages. */
const STDERR_KEEP = 4096;
const TAP_POLL_MS = 20;
const PROBE_TIMEOUT_MS = 2000;
/** How long after 'exit' to wait for 'close' (the last stderr bytes) before reporting the exit. */
const EXIT_GRACE_MS = 500;

export interface VdePlugOptions {
  /** A vdeplug4 URL: tap://NAME, vde:///path, ptp:///path, udp://..., hub:///path, ... */
  readonly url: string;
  /** Run the plug inside this network namespace (`ip netns exec NS ...`; needs CAP_SYS_ADMIN). */
  readonly netns?: string;
  /** vde_plug executable (default 'vde_plug', looked up on PATH). */
  readonly vdePlugPath?: string;
  /** iproute2 executable used for `netns exec` and the TAP readiness probe (default 'ip'). */
  readonly ipPath?: string;
  /** Arguments placed before the URL, e.g. ['-D', 'description']. */
  readonly extraArgs?: readonly string[];
  /** Medium is always 'ethernet'; MTU (default 1500) and maxBurst may be set. No checksum offload. */
  readonly capabilities?: Omit<CapabilitiesInit, 'medium' | 'checksum'>;
  /** Largest frame in either direction (default MTU + 18: header and one 802.1Q tag = 1518). */
  readonly maxFrameLen?: number;
  /** Receive queue bound in frames (default 1024) and bytes (default 2 MiB). */
  readonly rxQueueFrames?: number;
  readonly rxQueueBytes?: number;
  /**
   * What to do when the receive queue is full. 'drop' (default): count and discard, like a NIC whose
   * ring is full; receive and transmit stay independent. 'pause': hold the rest of the current stdout
   * chunk and stop reading until receive() drains the queue to half, so the loss happens in the
   * kernel/switch instead. While paused the plug blocks and stops taking transmitted frames too: use
   * only with a consumer that keeps receiving.
   */
  readonly rxOverflow?: 'drop' | 'pause';
  /**
   * transmit() answers busy while this many bytes wait in the stdin buffer (default 256 KiB, at least
   * the pipe stream's own high-water mark); onWritable follows when the buffer has drained.
   */
  readonly txHighWaterBytes?: number;
  /** How long `opened` may take before it rejects and the device closes (default 5000 ms). */
  readonly openTimeoutMs?: number;
  /** URLs without a readiness probe count as open once the plug survived this long (default 100 ms). */
  readonly settleMs?: number;
  /** Custom readiness probe, polled until true (replaces the TAP-exists probe and the settle delay). */
  readonly readyProbe?: () => Promise<boolean>;
  /** Time between SIGTERM and SIGKILL on close() (default 2000 ms). */
  readonly killTimeoutMs?: number;
  /** Listener notification mode (default 'microtask'). */
  readonly notify?: NotifyMode;
  /** Environment of the child (default: inherited). */
  readonly env?: NodeJS.ProcessEnv;
  /** Called once if the device fails (unframeable stream, spawn error); the device then closes. */
  readonly onError?: (err: Error) => void;
}

/** How the plug process ended. */
export interface VdePlugExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned or the device failed. */
  readonly error?: Error;
  /** Last lines of the plug's stderr. */
  readonly stderr: string;
}

/** Device counters: the LinkCounters plus stream-level figures. */
export interface VdePlugCounters extends LinkCounters {
  /** stdout chunks read and zero-length records skipped. */
  rxChunks: number;
  rxEmptyRecords: number;
  /** Frames waiting in the receive queue now. */
  rxQueued: number;
}

/** The TAP interface name of a tap:// URL, or null for other URLs. */
export function tapNameOf(url: string): string | null {
  const m = /^tap:\/\/([^[/\s]+)/.exec(url);
  return m === null ? null : m[1]!;
}

export class VdePlugDevice implements LinkDevice {
  readonly capabilities: LinkCapabilities;
  readonly url: string;
  readonly netns: string | undefined;
  /** Resolves when the plug runs (for tap:// once the TAP exists); rejects with stderr if it exits first. */
  readonly opened: Promise<void>;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<VdePlugExit>;

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly decoder: VdeStreamDecoder;
  private readonly rxq: FrameQueue;
  private readonly slot: ListenerSlot;
  private readonly counters = newCounters();
  private readonly maxFrame: number;
  private readonly pauseOnFull: boolean;
  private readonly txHighWater: number;
  private readonly opts: VdePlugOptions;
  private stderrBuf = '';
  /** 'pause' mode: frames of the last chunk that did not fit in the queue. */
  private readonly held: Uint8Array[] = [];
  private rxChunks = 0;
  private running = true;
  private isOpen = false;
  private closed = false;
  private paused = false;
  private corked = false;
  private wantWritable = false;
  private exitReported = false;
  private failure: Error | null = null;
  private exitInfo: VdePlugExit | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private settleOpen!: (err?: Error) => void;
  private resolveExited!: (e: VdePlugExit) => void;

  constructor(opts: VdePlugOptions) {
    if (typeof opts.url !== 'string' || opts.url.length === 0) throw new TypeError('vde_plug: url must be a non-empty string');
    if (opts.netns !== undefined && !/^[A-Za-z0-9_.-]{1,200}$/.test(opts.netns)) throw new TypeError(`vde_plug: bad netns name ${JSON.stringify(opts.netns)}`);
    const tap = tapNameOf(opts.url);
    // vde_plug would silently truncate a longer name to IFNAMSIZ - 1 and run under a name nobody asked for.
    if (tap !== null && !/^[A-Za-z0-9_.:-]{1,15}$/.test(tap)) throw new TypeError(`vde_plug: TAP name ${JSON.stringify(tap)} must be 1-15 characters of [A-Za-z0-9_.:-]`);
    this.opts = opts;
    this.url = opts.url;
    this.netns = opts.netns;
    this.capabilities = makeCapabilities({ ...opts.capabilities, medium: 'ethernet' });
    this.maxFrame = opts.maxFrameLen ?? maxFrameLen(this.capabilities);
    if (!Number.isInteger(this.maxFrame) || this.maxFrame < MIN_TX_FRAME || this.maxFrame > VDE_STREAM_MAX_LEN) {
      throw new RangeError(`vde_plug: maxFrameLen ${this.maxFrame} must be in ${MIN_TX_FRAME}..${VDE_STREAM_MAX_LEN}`);
    }
    this.decoder = new VdeStreamDecoder(this.maxFrame);
    this.rxq = new FrameQueue(opts.rxQueueFrames ?? 1024, opts.rxQueueBytes ?? 2 << 20);
    this.pauseOnFull = opts.rxOverflow === 'pause';
    this.slot = new ListenerSlot(opts.notify ?? 'microtask');

    this.opened = new Promise<void>((resolve, reject) => {
      this.settleOpen = (err) => (err === undefined ? resolve() : reject(err));
    });
    // Callers that never await `opened` must not crash the process with an unhandled rejection.
    this.opened.catch(() => undefined);
    this.exited = new Promise<VdePlugExit>((resolve) => {
      this.resolveExited = resolve;
    });

    const plug = opts.vdePlugPath ?? 'vde_plug';
    const plugArgs = [...(opts.extraArgs ?? []), opts.url];
    const [cmd, args] = opts.netns === undefined ? [plug, plugArgs] : [opts.ipPath ?? 'ip', ['netns', 'exec', opts.netns, plug, ...plugArgs]];
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const c = this.child;
    c.on('error', (err) => this.onSpawnError(err));
    c.on('exit', (code, signal) => this.onExit(code, signal));
    c.once('spawn', () => this.startReadiness());
    this.txHighWater = Math.max(opts.txHighWaterBytes ?? 256 * 1024, c.stdin.writableHighWaterMark);
    c.stdin.on('drain', this.onDrain);
    // EPIPE after the plug died arrives here; the exit handler reports it, this keeps it from throwing.
    c.stdin.on('error', () => undefined);
    c.stdout.on('data', this.onData);
    c.stdout.on('error', () => undefined);
    c.stderr.setEncoding('utf8');
    c.stderr.on('data', (s: string) => {
      this.stderrBuf = (this.stderrBuf + s).slice(-STDERR_KEEP);
    });
    c.stderr.on('error', () => undefined);
  }

  /** True while the plug process runs and the device is not closed. */
  get up(): boolean {
    return this.running && !this.closed;
  }

  /** PID of the child: vde_plug itself (also with `netns`, since `ip netns exec` execs in place). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The plug's stderr so far (last 4 KiB). */
  get stderr(): string {
    return this.stderrBuf;
  }

  /** The error that failed the device, if any. */
  get error(): Error | null {
    return this.failure;
  }

  receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number {
    let n = 0;
    while (n < budget) {
      // Dequeue before calling out: the sink may re-enter transmit() or receive().
      let f = this.rxq.shift();
      if (f === undefined && this.held.length > 0) {
        this.refill();
        f = this.rxq.shift();
      }
      if (f === undefined) break;
      n++;
      this.counters.rxFrames++;
      this.counters.rxBytes += f.length;
      sink(f, EMPTY_META);
    }
    if (this.paused) {
      // Frames moved in now arrived earlier than any new notification: announce them.
      if (this.refill() > 0) this.slot.readable();
      if (this.held.length === 0 && this.rxq.length <= this.rxq.maxFrames >>> 1 && this.rxq.bytes <= this.rxq.maxBytes / 2) {
        this.paused = false;
        if (!this.closed) this.child.stdout.resume();
      }
    }
    return n;
  }

  transmit(frame: Uint8Array): boolean {
    const c = this.counters;
    if (this.closed) {
      countDrop(c, 'closed');
      return true;
    }
    if (!this.running) {
      countDrop(c, 'link_down');
      return true;
    }
    if (frame.length < MIN_TX_FRAME) {
      countDrop(c, 'runt');
      return true;
    }
    if (frame.length > this.maxFrame) {
      countDrop(c, 'oversize');
      return true;
    }
    const stdin = this.child.stdin;
    // Busy at or above our mark. It is never below the stream's own high-water mark, so the write that
    // crossed that one returned false and Node owes us a 'drain' once the buffer is empty.
    if (stdin.writableLength >= this.txHighWater) {
      c.txBusy++;
      this.wantWritable = true;
      return false;
    }
    // Frames written in one tick leave in a single writev() instead of one write() each.
    if (!this.corked) {
      this.corked = true;
      stdin.cork();
      process.nextTick(this.uncork);
    }
    stdin.write(encodeVdeFrame(frame));
    c.txFrames++;
    c.txBytes += frame.length;
    return true;
  }

  setListener(listener: LinkListener | null): void {
    this.slot.set(listener);
    if (listener !== null && this.rxq.length + this.held.length > 0) this.slot.readable();
  }

  /**
   * Stops the device: drops queued frames, ends the plug's stdin, sends SIGTERM to its PID and SIGKILL
   * after `killTimeoutMs` if it is still alive. Idempotent. Await `exited` to know it is gone.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const dropped = this.rxq.clear() + this.held.splice(0).length;
    if (dropped > 0) this.counters.drops.closed = (this.counters.drops.closed ?? 0) + dropped;
    this.slot.set(null);
    if (!this.isOpen) this.settleOpen(this.failure ?? new Error(`vde_plug ${this.url}: closed before it was open`));
    const c = this.child;
    c.stdout.off('data', this.onData);
    c.stdout.destroy();
    if (!c.stdin.destroyed) c.stdin.end();
    if (this.running && c.pid !== undefined) {
      c.kill('SIGTERM');
      this.killTimer = setTimeout(() => {
        if (this.running) c.kill('SIGKILL');
      }, this.opts.killTimeoutMs ?? 2000);
      this.killTimer.unref();
    }
  }

  /** Counters so far (a copy). */
  stats(): VdePlugCounters {
    return {
      ...snapshot(this.counters),
      rxChunks: this.rxChunks,
      rxEmptyRecords: this.decoder.emptyRecords,
      rxQueued: this.rxq.length + this.held.length,
    };
  }

  /** Lets Node exit while the plug still runs (the plug then ends at stdin EOF). */
  unref(): void {
    this.child.unref();
    for (const s of this.pipes()) s.unref?.();
  }

  /** Undoes unref(): the running plug keeps Node alive again (the default). */
  ref(): void {
    this.child.ref();
    for (const s of this.pipes()) s.ref?.();
  }

  // The stdio pipes are net.Sockets at run time; their types only promise streams.
  private pipes(): Array<{ ref?: () => unknown; unref?: () => unknown }> {
    const c = this.child;
    return [c.stdin, c.stdout, c.stderr] as Array<{ ref?: () => unknown; unref?: () => unknown }>;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    this.rxChunks++;
    const before = this.rxq.length;
    const err = this.decoder.push(chunk, this.onFrame);
    if (this.rxq.length !== before) this.slot.readable();
    if (err !== null) {
      this.fail(err);
      return;
    }
    if (this.held.length > 0 && !this.paused) {
      this.paused = true;
      this.child.stdout.pause();
    }
  };

  private readonly onFrame = (frame: Uint8Array): void => {
    // Frames are subarrays of stdout chunks that Node allocated for us alone: safe to keep uncopied.
    if (this.held.length === 0 && this.rxq.canAccept(frame.length)) {
      this.rxq.push(frame);
    } else if (this.pauseOnFull) {
      // The rest of this chunk waits here (at most one chunk: stdout is paused after it).
      this.held.push(frame);
    } else {
      countDrop(this.counters, 'rx_queue_full');
    }
  };

  /** Moves frames held back in 'pause' mode into the queue, in order, while there is room. */
  private refill(): number {
    let i = 0;
    while (i < this.held.length && this.rxq.canAccept(this.held[i]!.length)) this.rxq.push(this.held[i++]!);
    if (i > 0) this.held.splice(0, i);
    return i;
  }

  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.child.stdin.destroyed) this.child.stdin.uncork();
  };

  private readonly onDrain = (): void => {
    if (this.wantWritable) {
      this.wantWritable = false;
      this.slot.writable();
    }
  };

  private fail(err: VdeStreamError | Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.opts.onError?.(err);
    this.close();
  }

  private onSpawnError(err: Error): void {
    // 'error' also reports a failed kill(); only a process that never started (no PID) is fatal here.
    if (this.child.pid !== undefined) return;
    const e = new Error(`vde_plug ${this.url}: cannot start ${this.describeCommand()}: ${err.message}`, { cause: err });
    this.fail(e);
    this.onExit(null, null);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitInfo !== null) return;
    this.running = false;
    if (this.killTimer !== null) clearTimeout(this.killTimer);
    this.killTimer = null;
    this.exitInfo = { code, signal, stderr: '' };
    if (!this.closed) {
      this.slot.linkState(false);
      // A sender waiting for room would wait forever: wake it so its retry sees the link down.
      this.onDrain();
    }
    // 'exit' can precede the last stderr bytes: report once the pipes closed ('close'), or shortly
    // after if something else keeps them open.
    if (this.child.pid === undefined) return this.afterExit();
    const t = setTimeout(this.afterExit, EXIT_GRACE_MS);
    t.unref();
    this.child.once('close', () => {
      clearTimeout(t);
      this.afterExit();
    });
  }

  private readonly afterExit = (): void => {
    const e = this.exitInfo!;
    if (this.exitReported) return;
    this.exitReported = true;
    const info: VdePlugExit = { code: e.code, signal: e.signal, stderr: this.stderrBuf, ...(this.failure ? { error: this.failure } : {}) };
    if (!this.isOpen) {
      const how = e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`;
      const tail = this.stderrBuf.trim();
      this.settleOpen(this.failure ?? new Error(`vde_plug ${this.url}: exited with ${how} before it was open${tail ? `: ${tail}` : ''}`));
    }
    this.resolveExited(info);
  };

  private describeCommand(): string {
    const plug = this.opts.vdePlugPath ?? 'vde_plug';
    return this.netns === undefined ? plug : `${this.opts.ipPath ?? 'ip'} netns exec ${this.netns} ${plug}`;
  }

  private startReadiness(): void {
    const timeoutMs = this.opts.openTimeoutMs ?? 5000;
    const tap = tapNameOf(this.url);
    const probe = this.opts.readyProbe ?? (tap !== null ? () => this.tapExists(tap) : null);
    // One deadline for the whole opening, whatever the probe does (a custom one may never settle).
    const deadline = setTimeout(() => {
      if (this.running && !this.closed && !this.isOpen) this.openTimedOut(timeoutMs);
    }, timeoutMs);
    deadline.unref();
    const finish = (): void => {
      clearTimeout(deadline);
      if (!this.running || this.closed || this.isOpen) return;
      this.isOpen = true;
      this.settleOpen();
      this.slot.linkState(true);
    };
    if (probe === null) {
      setTimeout(finish, Math.min(this.opts.settleMs ?? 100, timeoutMs)).unref();
      return;
    }
    // Poll the probe, one call at a time, until it passes, the plug exits, or the deadline.
    const step = (): void => {
      if (!this.running || this.closed || this.isOpen) return;
      probe().then(
        (ok) => {
          if (ok) finish();
          else if (this.running && !this.closed && !this.isOpen) setTimeout(step, TAP_POLL_MS).unref();
        },
        (err: unknown) => this.fail(new Error(`vde_plug ${this.url}: readiness probe failed: ${String(err)}`)),
      );
    };
    step();
  }

  private openTimedOut(timeoutMs: number): void {
    const tail = this.stderrBuf.trim();
    this.fail(new Error(`vde_plug ${this.url}: not ready after ${timeoutMs} ms${tail ? `: ${tail}` : ''}`));
  }

  private tapExists(name: string): Promise<boolean> {
    const ns = this.netns === undefined ? [] : ['-n', this.netns];
    return new Promise((resolve) => {
      execFile(this.opts.ipPath ?? 'ip', [...ns, 'link', 'show', 'dev', name], { timeout: PROBE_TIMEOUT_MS }, (err) => resolve(err === null));
    });
  }
}
