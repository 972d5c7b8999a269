// Coverage-guided fuzz engine, main-thread side. The target runs in a worker (see worker.ts); this side
// owns the time budget, the corpus across worker restarts, the findings on disk, and a watchdog that
// terminates the worker when its exec counter stalls inside the target. The worker catches ordinary
// hangs itself; the watchdog is for a worker that cannot (or runs with inWorkerTimeout: false).
// Crashes are reported by the worker; a worker that dies inside the target (out of memory) counts as
// a crash too.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FuzzTarget } from './harness.js';
import { Slot, allocShared, readSharedInput, watchdogMs } from './shared.js';
import type { FuzzMode, FuzzWorkerData, ReplayWorkerData, SharedViews, Verdict, WorkerData, WorkerMessage } from './shared.js';

export const DEFAULT_TARGETS_MODULE = new URL('./targets.ts', import.meta.url).href;
export const DEFAULT_FINDINGS_DIR = fileURLToPath(new URL('./findings/', import.meta.url));
export const DEFAULT_CORPUS_DIR = fileURLToPath(new URL('./corpus/', import.meta.url));
const WORKER_URL = new URL('./worker.ts', import.meta.url).href;

export type FindingKind = 'crash' | 'hang';

export interface Finding {
  readonly kind: FindingKind;
  readonly target: string;
  readonly input: Uint8Array;
  readonly sha1: string;
  /** Error message and stack (crash) or the watchdog's verdict (hang). */
  readonly message: string;
  /** Executions done when it was found. */
  readonly execs: number;
  /** Where it was written, if findings are written. */
  readonly file: string | null;
}

export interface FuzzOptions {
  readonly target: string;
  /** Module exporting `fuzzTargets: FuzzTarget[]` (default: test/fuzz/targets.ts). */
  readonly targetsModule?: string | URL;
  /** Wall-clock budget including worker start-up (default 10). */
  readonly seconds?: number;
  /** Stop after this many executions, plus at most one batch's re-runs (default: time budget only). */
  readonly maxExecs?: number;
  readonly seed?: string | number;
  /** 'random' mutates the starting corpus blindly, without coverage feedback (a baseline). */
  readonly mode?: FuzzMode;
  /** Inputs per coverage snapshot; 1 = one snapshot per input; 0 (default) adapts it (schedule.ts). */
  readonly batchSize?: number;
  /**
   * An execution inside the target longer than this is a hang (default 1000 ms). The worker suspects
   * hangs sooner, with a limit calibrated from the corpus, and confirms against this one.
   */
  readonly hangTimeoutMs?: number;
  /**
   * The worker interrupts an overrunning execution itself and keeps fuzzing (default true); the
   * main-thread watchdog then terminates a worker only when that fails (see watchdogMs). When false,
   * the watchdog alone enforces the limit and every hang costs a worker restart.
   */
  readonly inWorkerTimeout?: boolean;
  /** Corpus root: loaded from and new entries saved to `<dir>/<target>/`. Not persisted when absent. */
  readonly corpusDir?: string;
  /** Findings root (`<dir>/<target>/<kind>-<sha1>.bin`); null disables writing. */
  readonly findingsDir?: string | null;
  /** Findings kept per kind; later ones are only counted. */
  readonly maxFindings?: number;
  readonly progressIntervalMs?: number;
  readonly onProgress?: (p: FuzzProgress) => void;
  readonly onFinding?: (f: Finding) => void;
  /** Checked after each finding and progress tick; true ends the run early. */
  readonly stopWhen?: (p: FuzzProgress) => boolean;
  readonly maxOldGenerationSizeMb?: number;
}

export interface FuzzProgress {
  readonly target: string;
  readonly elapsedMs: number;
  readonly execs: number;
  /** Executions per second since the first worker became ready. */
  readonly execsPerSec: number;
  readonly corpus: number;
  readonly features: number;
  readonly crashes: number;
  readonly hangs: number;
  /** Hangs that ran the same blocks as one already reported (guided mode; not reported again). */
  readonly repeatHangs: number;
  readonly restarts: number;
}

export interface FuzzResult extends FuzzProgress {
  readonly mode: FuzzMode;
  readonly seed: string;
  readonly findings: readonly Finding[];
  /** Execution count at the first finding of each kind, or null. */
  readonly firstCrashAt: number | null;
  readonly firstHangAt: number | null;
  /** Guided batch mode: batches whose summed coverage was examined, and how many were re-run singly. */
  readonly batches: number;
  readonly reruns: number;
  /** Wall time spent starting workers (tsx, target import, corpus replay), summed over restarts. */
  readonly startupMs: number;
}

export const DEFAULT_BATCH_SIZE = 0;
const STARTUP_TIMEOUT_MS = 60_000;
// After a stop request the worker finishes one batch; a batch never takes this long unless stuck.
const STOP_GRACE_MS = 5_000;
// Consecutive worker failures outside the target mean the engine itself is broken.
const MAX_ENGINE_FAILURES = 3;

export function sha1Hex(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

export async function loadTargets(targetsModule: string | URL = DEFAULT_TARGETS_MODULE): Promise<readonly FuzzTarget[]> {
  const mod = (await import(String(targetsModule))) as { fuzzTargets?: readonly FuzzTarget[] };
  if (!mod.fuzzTargets) throw new Error(`${String(targetsModule)} does not export fuzzTargets`);
  return mod.fuzzTargets;
}

async function loadTarget(targetsModule: string, name: string): Promise<FuzzTarget> {
  const t = (await loadTargets(targetsModule)).find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target '${name}' in ${targetsModule}`);
  return t;
}

// A worker is a fresh isolate without the parent's loader hooks: Node 20 neither inherits them nor
// applies `--import tsx` from execArgv to the entry module (ERR_UNKNOWN_FILE_EXTENSION), so a small
// bootstrap registers tsx and then imports worker.ts. Works the same under vitest and `node --import tsx`.
function bootstrapSource(): string {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); });`;
}

type WorkerEnd =
  | { readonly kind: 'done' }
  | { readonly kind: 'hang'; readonly input: Uint8Array; readonly index: number }
  | { readonly kind: 'died'; readonly error: Error; readonly inTarget: boolean; readonly input: Uint8Array; readonly index: number };

interface WorkerRun {
  readonly data: WorkerData;
  readonly shared: SharedViews;
  /** Terminate the worker when its exec counter stalls this long inside the target. */
  readonly stallMs: number;
  readonly maxOldGenerationSizeMb: number;
  readonly onMessage: (m: WorkerMessage) => void;
  readonly onExecs: (delta: number) => void;
  /** Called once with the time from spawning to the worker's 'ready' message. */
  readonly onReady?: (startupMs: number) => void;
}

/** Runs one worker until it reports done, hangs, or dies; never rejects. */
function runWorker(r: WorkerRun): Promise<WorkerEnd> {
  const slots = r.shared.slots;
  Atomics.store(slots, Slot.IN_TARGET, 0);
  return new Promise((resolve) => {
    let lastExecs = Atomics.load(slots, Slot.EXECS);
    const started = performance.now();
    let lastChange = started;
    let stopSeenAt = 0;
    let ready = false;
    let settled = false;
    const worker = new Worker(bootstrapSource(), {
      eval: true,
      workerData: r.data,
      resourceLimits: { maxOldGenerationSizeMb: r.maxOldGenerationSizeMb },
    });
    const sample = (now: number): void => {
      const cur = Atomics.load(slots, Slot.EXECS);
      const delta = (cur - lastExecs) | 0;
      if (delta !== 0) {
        lastExecs = cur;
        lastChange = now;
        r.onExecs(delta);
      }
    };
    const finish = (end: () => WorkerEnd): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      sample(performance.now());
      const result = end();
      void worker.terminate().then(
        () => resolve(result),
        () => resolve(result),
      );
    };
    const where = (): { input: Uint8Array; index: number } => ({
      input: readSharedInput(r.shared),
      index: Atomics.load(slots, Slot.INDEX),
    });
    const tick = Math.max(5, Math.min(100, Math.floor(r.stallMs / 5)));
    const timer = setInterval(() => {
      const now = performance.now();
      sample(now);
      if (Atomics.load(slots, Slot.IN_TARGET) === 1 && now - lastChange >= r.stallMs) {
        finish(() => ({ kind: 'hang', ...where() }));
      } else if (!ready && now - started > STARTUP_TIMEOUT_MS) {
        finish(() => ({ kind: 'died', error: new Error('fuzz worker did not start'), inTarget: false, ...where() }));
      } else if (Atomics.load(slots, Slot.STOP) !== 0) {
        if (stopSeenAt === 0) stopSeenAt = now;
        else if (now - stopSeenAt > STOP_GRACE_MS) finish(() => ({ kind: 'done' }));
      }
    }, tick);
    worker.on('message', (m: WorkerMessage) => {
      if (settled) return;
      if (m.type === 'ready') {
        ready = true;
        r.onReady?.(performance.now() - started);
      }
      r.onMessage(m);
      if (m.type === 'done') finish(() => ({ kind: 'done' }));
    });
    worker.on('error', (error: Error) => {
      const inTarget = Atomics.load(slots, Slot.IN_TARGET) === 1;
      finish(() => ({ kind: 'died', error, inTarget, ...where() }));
    });
    worker.on('exit', (code: number) => {
      finish(() => ({ kind: 'died', error: new Error(`fuzz worker exited with code ${code}`), inTarget: false, ...where() }));
    });
  });
}

function ensureFindingsRoot(root: string): void {
  mkdirSync(root, { recursive: true });
  const ignore = join(root, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# Fuzzer output: reproduce, fix, then move the input to test/regress/.\n*\n!.gitignore\n');
}

function loadCorpusDir(dir: string): Uint8Array[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .map((p) => new Uint8Array(readFileSync(p)));
}

/** Fuzzes one target until the time or exec budget runs out (or `stopWhen`), restarting after hangs. */
export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const targetsModule = String(opts.targetsModule ?? DEFAULT_TARGETS_MODULE);
  const target = await loadTarget(targetsModule, opts.target);
  const seconds = opts.seconds ?? 10;
  const maxExecs = opts.maxExecs ?? Number.MAX_SAFE_INTEGER;
  if (!(seconds > 0 && Number.isFinite(seconds))) throw new RangeError(`seconds must be a positive number, got ${seconds}`);
  if (!(maxExecs > 0)) throw new RangeError(`maxExecs must be positive, got ${maxExecs}`);
  const mode = opts.mode ?? 'guided';
  const seed = String(opts.seed ?? 1);
  const hangTimeoutMs = opts.hangTimeoutMs ?? 1000;
  if (!(hangTimeoutMs >= 1)) throw new RangeError(`hangTimeoutMs must be at least 1, got ${hangTimeoutMs}`);
  const softTimeout = opts.inWorkerTimeout ?? true;
  const watchdog = watchdogMs(hangTimeoutMs, softTimeout);
  const maxFindings = opts.maxFindings ?? 100;
  const findingsRoot = opts.findingsDir === undefined ? DEFAULT_FINDINGS_DIR : opts.findingsDir;
  const corpusDir = opts.corpusDir ? join(opts.corpusDir, target.name) : null;

  const corpus: Uint8Array[] = [];
  const corpusKeys = new Set<string>();
  const addCorpus = (input: Uint8Array, persist: boolean): void => {
    const key = sha1Hex(input);
    if (corpusKeys.has(key)) return;
    corpusKeys.add(key);
    corpus.push(input);
    if (persist && corpusDir) {
      mkdirSync(corpusDir, { recursive: true });
      writeFileSync(join(corpusDir, `${key}.bin`), input);
    }
  };
  for (const s of target.seeds) addCorpus(s.subarray(0, target.maxLen), false);
  if (corpusDir) for (const s of loadCorpusDir(corpusDir)) addCorpus(s.subarray(0, target.maxLen), false);

  const shared = allocShared(target.maxLen);
  const findings: Finding[] = [];
  const knownCrashes = new Set<string>();
  const hangKeys = new Set<string>();
  let crashes = 0;
  let hangs = 0;
  let firstCrashAt: number | null = null;
  let firstHangAt: number | null = null;
  let execs = 0;
  let restarts = 0;
  let features = 0;
  let stopping = false;
  let startupMs = 0;
  const t0 = performance.now();
  let readyAt: number | null = null;

  const snapshot = (): FuzzProgress => {
    const now = performance.now();
    const fuzzMs = readyAt === null ? 0 : now - readyAt;
    features = Math.max(features, Atomics.load(shared.slots, Slot.FEATURES));
    return {
      target: target.name,
      elapsedMs: now - t0,
      execs,
      execsPerSec: fuzzMs > 0 ? (execs * 1000) / fuzzMs : 0,
      corpus: corpus.length,
      features,
      crashes,
      hangs,
      repeatHangs: Atomics.load(shared.slots, Slot.REPEAT_HANGS),
      restarts,
    };
  };
  const requestStop = (): void => {
    stopping = true;
    Atomics.store(shared.slots, Slot.STOP, 1);
  };
  const checkStop = (): void => {
    if (opts.stopWhen?.(snapshot())) requestStop();
  };
  const record = (kind: FindingKind, input: Uint8Array, message: string, at: number): void => {
    if (kind === 'crash') {
      crashes++;
      firstCrashAt ??= at;
    } else {
      hangs++;
      firstHangAt ??= at;
    }
    const sha1 = sha1Hex(input);
    if (findings.filter((f) => f.kind === kind).length < maxFindings) {
      let file: string | null = null;
      if (findingsRoot !== null) {
        ensureFindingsRoot(findingsRoot);
        const dir = join(findingsRoot, target.name);
        mkdirSync(dir, { recursive: true });
        file = join(dir, `${kind}-${sha1}.bin`);
        writeFileSync(file, input);
        writeFileSync(join(dir, `${kind}-${sha1}.txt`), `${message}\n`);
      }
      const f: Finding = { kind, target: target.name, input, sha1, message, execs: at, file };
      findings.push(f);
      opts.onFinding?.(f);
    }
    checkStop();
  };

  const recordHang = (input: Uint8Array, message: string, at: number): void => {
    const key = sha1Hex(input);
    if (hangKeys.has(key)) return;
    hangKeys.add(key);
    record('hang', input, message, at);
  };

  const onMessage = (m: WorkerMessage): void => {
    switch (m.type) {
      case 'ready':
        readyAt ??= performance.now();
        break;
      case 'corpus':
        addCorpus(m.input, true);
        break;
      case 'hang':
        recordHang(m.input, `exceeded ${hangTimeoutMs} ms inside the target`, m.execs);
        break;
      case 'crash':
        if (knownCrashes.has(m.signature)) break;
        knownCrashes.add(m.signature);
        record('crash', m.input, m.message, m.execs);
        break;
      case 'done':
        features = Math.max(features, m.features);
        break;
      case 'replayed':
        break;
    }
  };

  const deadline = setTimeout(requestStop, seconds * 1000);
  const progress = setInterval(() => {
    opts.onProgress?.(snapshot());
    checkStop();
  }, opts.progressIntervalMs ?? 1000);
  let generation = 0;
  let engineFailures = 0;
  try {
    while (!stopping && execs < maxExecs) {
      const data: FuzzWorkerData = {
        kind: 'fuzz',
        sab: shared.sab,
        targetsModule,
        target: target.name,
        seed,
        generation,
        mode,
        batchSize: opts.batchSize ?? DEFAULT_BATCH_SIZE,
        corpus: corpus.slice(),
        knownCrashes: [...knownCrashes],
        execsBefore: execs,
        maxExecs,
        hangTimeoutMs,
        softTimeout,
      };
      generation++;
      const end = await runWorker({
        data,
        shared,
        stallMs: watchdog,
        maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? 512,
        onMessage,
        onExecs: (d) => (execs += d),
        onReady: (ms) => (startupMs += ms),
      });
      if (end.kind === 'done') break;
      restarts++;
      if (end.kind === 'hang') {
        engineFailures = 0;
        recordHang(end.input, `no progress for ${watchdog} ms inside the target (worker terminated)`, execs);
        // A starting input that hangs would hang every restarted worker.
        const key = sha1Hex(end.input);
        const at = corpus.findIndex((c) => sha1Hex(c) === key);
        if (at >= 0) corpus.splice(at, 1);
      } else if (end.inTarget) {
        engineFailures = 0;
        const sig = `worker died: ${end.error.message}`;
        if (!knownCrashes.has(sig)) {
          knownCrashes.add(sig);
          record('crash', end.input, end.error.stack ?? end.error.message, execs);
        }
      } else if (++engineFailures >= MAX_ENGINE_FAILURES) {
        throw new Error(`fuzz worker for '${target.name}' failed outside the target: ${end.error.stack ?? end.error.message}`);
      }
    }
  } finally {
    clearTimeout(deadline);
    clearInterval(progress);
  }
  return {
    ...snapshot(),
    mode,
    seed,
    findings,
    firstCrashAt,
    firstHangAt,
    batches: Atomics.load(shared.slots, Slot.BATCHES),
    reruns: Atomics.load(shared.slots, Slot.RERUNS),
    startupMs,
  };
}

export interface ReplayOutcome {
  readonly index: number;
  readonly outcome: 'ok' | 'crash' | 'hang';
  /** The parser's verdict; null when it threw or hung. */
  readonly verdict: Verdict | null;
  readonly error: string | null;
}

export interface ReplayOptions {
  readonly target: string;
  readonly inputs: readonly Uint8Array[];
  readonly targetsModule?: string | URL;
  readonly hangTimeoutMs?: number;
}

/** Runs each input once through the target's parse and run in a watched worker (regression corpus). */
export async function replay(opts: ReplayOptions): Promise<ReplayOutcome[]> {
  const targetsModule = String(opts.targetsModule ?? DEFAULT_TARGETS_MODULE);
  const target = await loadTarget(targetsModule, opts.target);
  const longest = opts.inputs.reduce((m, b) => Math.max(m, b.length), 0);
  const shared = allocShared(Math.max(target.maxLen, longest));
  const hangTimeoutMs = opts.hangTimeoutMs ?? 1000;
  const outcomes: (ReplayOutcome | undefined)[] = new Array(opts.inputs.length);
  let start = 0;
  // Each pass either finishes or consumes at least one input, so this runs at most inputs+1 times.
  while (start < opts.inputs.length) {
    const data: ReplayWorkerData = { kind: 'replay', sab: shared.sab, targetsModule, target: target.name, inputs: opts.inputs, startIndex: start };
    const end = await runWorker({
      data,
      shared,
      stallMs: hangTimeoutMs,
      maxOldGenerationSizeMb: 512,
      onExecs: () => {},
      onMessage: (m) => {
        if (m.type !== 'replayed') return;
        outcomes[m.index] = { index: m.index, outcome: m.error === null ? 'ok' : 'crash', verdict: m.verdict, error: m.error };
      },
    });
    if (end.kind === 'done') break;
    if (end.kind === 'died' && !end.inTarget) throw new Error(`replay worker failed: ${end.error.stack ?? end.error.message}`);
    const msg = end.kind === 'hang' ? `no progress for ${hangTimeoutMs} ms` : end.error.message;
    outcomes[end.index] = { index: end.index, outcome: end.kind === 'hang' ? 'hang' : 'crash', verdict: null, error: msg };
    start = end.index + 1;
  }
  return opts.inputs.map((_, i) => outcomes[i] ?? { index: i, outcome: 'crash', verdict: null, error: 'no result from worker' });
}

export function formatProgress(p: FuzzProgress): string {
  const s = (p.elapsedMs / 1000).toFixed(1).padStart(6);
  return (
    `[${p.target}] ${s}s execs ${p.execs} (${Math.round(p.execsPerSec)}/s) corpus ${p.corpus} ` +
    `features ${p.features} crashes ${p.crashes} hangs ${p.hangs} (+${p.repeatHangs} repeats) restarts ${p.restarts}`
  );
}
