// What the fuzz engine's main thread and its worker share: the SharedArrayBuffer layout the watchdog
// reads (so it can recover the input of a worker stuck in a hang) and the messages the worker posts.
// No logic lives here; both sides import it so the layout is declared once.

/** Int32 slots at the start of the shared buffer. */
export const Slot = {
  /** Executions so far; wraps at 2^31, readers take deltas. Bumped before each run of the target. */
  EXECS: 0,
  /** 1 while the target is running, 0 otherwise: the watchdog only times execution inside the target. */
  IN_TARGET: 1,
  /** Set to 1 by the main thread to ask the worker to stop after the current batch. */
  STOP: 2,
  /** Length of the input stored after the header. */
  INPUT_LEN: 3,
  /** Feature count of the worker's coverage map (progress reporting). */
  FEATURES: 4,
  /** Replay mode: index of the input being run. */
  INDEX: 5,
  /** Guided batch mode: batches whose summed coverage was examined ... */
  BATCHES: 6,
  /** ... and how many of them were re-run one input at a time to attribute new coverage. */
  RERUNS: 7,
  /** Hangs that ran the same blocks as a hang already reported (not reported again). */
  REPEAT_HANGS: 8,
} as const;

export const HEADER_SLOTS = 12;

/**
 * The worker runs batches in chunks of CHUNK_MS under one vm time limit of 2 * CHUNK_MS + hangMs, so
 * any execution gets at least hangMs (a vm limit costs a watchdog thread per call, too much per input).
 */
export const CHUNK_MS = 50;

/**
 * How long the main thread lets the exec counter stall inside the target before terminating the
 * worker: just the per-exec limit when it alone enforces it, otherwise longer than the worker's own
 * chunk limit, so the cheap in-worker interrupt always wins unless the worker is truly stuck.
 */
export function watchdogMs(hangMs: number, inWorker: boolean): number {
  return inWorker ? 2 * CHUNK_MS + 2 * hangMs + 250 : hangMs;
}
export const HEADER_BYTES = HEADER_SLOTS * 4;

export interface SharedViews {
  readonly sab: SharedArrayBuffer;
  readonly slots: Int32Array;
  readonly input: Uint8Array;
}

export function sharedViews(sab: SharedArrayBuffer): SharedViews {
  return {
    sab,
    slots: new Int32Array(sab, 0, HEADER_SLOTS),
    input: new Uint8Array(sab, HEADER_BYTES),
  };
}

export function allocShared(maxLen: number): SharedViews {
  return sharedViews(new SharedArrayBuffer(HEADER_BYTES + Math.max(1, maxLen)));
}

/** The input the worker last published (a copy: the worker may overwrite it). */
export function readSharedInput(v: SharedViews): Uint8Array {
  const len = Math.min(Atomics.load(v.slots, Slot.INPUT_LEN), v.input.length);
  return v.input.slice(0, Math.max(0, len));
}

export type FuzzMode = 'guided' | 'random';

export interface FuzzWorkerData {
  readonly kind: 'fuzz';
  readonly sab: SharedArrayBuffer;
  readonly targetsModule: string;
  readonly target: string;
  readonly seed: string;
  readonly generation: number;
  readonly mode: FuzzMode;
  readonly batchSize: number;
  /** Inputs to start from: seeds, loaded corpus and everything found by earlier generations. */
  readonly corpus: readonly Uint8Array[];
  /** Crash signatures already reported, so a restarted worker does not repeat them. */
  readonly knownCrashes: readonly string[];
  readonly execsBefore: number;
  readonly maxExecs: number;
  /** Per-execution limit; the worker enforces it itself (vm timeout) when `softTimeout`. */
  readonly hangTimeoutMs: number;
  readonly softTimeout: boolean;
}

export interface ReplayWorkerData {
  readonly kind: 'replay';
  readonly sab: SharedArrayBuffer;
  readonly targetsModule: string;
  readonly target: string;
  readonly inputs: readonly Uint8Array[];
  readonly startIndex: number;
}

export type WorkerData = FuzzWorkerData | ReplayWorkerData;

/** A parse result made cloneable: accepted, or the WireError's fields. */
export type Verdict =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly proto: string; readonly field: string; readonly reason: string };

export type WorkerMessage =
  | { readonly type: 'ready'; readonly features: number }
  | { readonly type: 'corpus'; readonly input: Uint8Array }
  | { readonly type: 'hang'; readonly input: Uint8Array; readonly execs: number }
  | {
      readonly type: 'crash';
      readonly input: Uint8Array;
      readonly signature: string;
      readonly message: string;
      readonly execs: number;
    }
  | { readonly type: 'replayed'; readonly index: number; readonly verdict: Verdict | null; readonly error: string | null }
  | {
      readonly type: 'done';
      readonly features: number;
      readonly execs: number;
    };
