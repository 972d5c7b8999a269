// Fuzz worker: runs the target in a tight synchronous loop so the main thread stays free to watch it.
// Before each execution the input goes into shared memory and the exec counter is bumped, so when the
// main thread's watchdog sees the counter stall it can terminate us and still know the stuck input.
// Normally it never has to: batches run under a vm time limit, so the worker interrupts a hanging
// input itself and carries on (see TimeLimit and `interrupted`). Exceptions from the target are
// crashes, reported by message and never fatal to the loop.
//
// Only node:* and test/fuzz modules are imported statically: coverage starts before any project
// source is loaded, and the engine's own project dependencies (the seeded RNG) are excluded from the
// feature map so they cannot pose as target coverage.

import { Script } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { CoverageDecoder, CoverageSession, FeatureMap, blocksOf } from './coverage.js';
import type { ScriptCoverage } from './coverage.js';
import { Mutator } from './mutate.js';
import { BatchSizer, CorpusScheduler } from './schedule.js';
import { CHUNK_MS, Slot, sharedViews } from './shared.js';
import type { FuzzWorkerData, ReplayWorkerData, SharedViews, Verdict, WorkerData, WorkerMessage } from './shared.js';
import type { FuzzTarget } from './harness.js';
import type { RandomSource } from '../../src/ports/random.js';

const port = parentPort;
if (!port) throw new Error('test/fuzz/worker.ts must run in a worker thread');
const data = workerData as WorkerData;

function post(msg: WorkerMessage): void {
  port!.postMessage(msg);
}

/** A stable identity for a crash: error type, message with numbers masked, and the top frames. */
function crashSignature(e: unknown): { signature: string; message: string } {
  if (e instanceof Error) {
    const first = (e.message.split('\n')[0] ?? '').replace(/\d+/g, '#').slice(0, 160);
    const frames = (e.stack ?? '')
      .split('\n')
      .filter((l) => /^\s+at /.test(l))
      .slice(0, 3)
      .map((l) => l.trim().slice(3));
    return { signature: `${e.name}: ${first} @ ${frames.join(' < ')}`, message: e.stack ?? `${e.name}: ${e.message}` };
  }
  const text = String(e);
  return { signature: `thrown ${typeof e}: ${text.replace(/\d+/g, '#').slice(0, 160)}`, message: `thrown ${typeof e}: ${text}` };
}

async function loadTarget(d: WorkerData): Promise<FuzzTarget> {
  const mod = (await import(d.targetsModule)) as { fuzzTargets?: readonly FuzzTarget[] };
  const t = mod.fuzzTargets?.find((x) => x.name === d.target);
  if (!t) throw new Error(`no fuzz target '${d.target}' in ${d.targetsModule}`);
  return t;
}

/** Publishes `input` for the watchdog, counts the execution, and marks entry into the target. */
function publish(v: SharedViews, input: Uint8Array): void {
  v.input.set(input);
  Atomics.store(v.slots, Slot.INPUT_LEN, input.length);
  Atomics.add(v.slots, Slot.EXECS, 1);
  Atomics.store(v.slots, Slot.IN_TARGET, 1);
}

/**
 * Runs a callback with V8 interrupting it after a time limit (a vm timeout on a one-call script).
 * The interrupt is uncatchable inside the callback, so a target's own try/catch cannot swallow it,
 * and the worker survives: a hang costs the time limit instead of a worker restart.
 */
class TimeLimit {
  private static readonly KEY = '__picotcpFuzzTimeLimited';
  private fn: () => void = () => {};
  private readonly script = new Script(`globalThis.${TimeLimit.KEY}()`);

  constructor(private readonly enabled: boolean) {
    (globalThis as Record<string, unknown>)[TimeLimit.KEY] = () => this.fn();
  }

  /** False if the limit interrupted `fn`. */
  run(fn: () => void, ms: number): boolean {
    if (!this.enabled) {
      fn();
      return true;
    }
    this.fn = fn;
    try {
      this.script.runInThisContext({ timeout: Math.max(1, Math.round(ms)) });
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return false;
      throw e;
    }
  }
}

// Without coverage there is nothing to snapshot between inputs.
const RANDOM_MODE_BATCH = 128;
// Hang detection limit: this many times the slowest starting input, at least MIN_DETECT_MS (thread
// stalls on a loaded machine reach a few ms) and at most the configured hang limit.
const DETECT_FACTOR = 20;
const MIN_DETECT_MS = 20;

async function fuzz(d: FuzzWorkerData): Promise<void> {
  const v = sharedViews(d.sab);
  let include: (url: string) => boolean = () => false;
  const cov = d.mode === 'guided' ? new CoverageSession((url) => include(url)) : null;
  cov?.start();
  const { seededRandom } = await import('../../src/random/chacha.js');
  const rng: RandomSource = seededRandom(`${d.seed}/${d.target}/${d.generation}`);
  rng.u32();
  // Whatever has run so far belongs to the engine, not the target.
  const engineScripts = new Set<string>();
  if (cov) {
    include = (url) => (engineScripts.add(url), false);
    cov.take();
  }
  const target = await loadTarget(d);
  const wanted = target.coverage ?? ['/src/'];
  include = (url) => !engineScripts.has(url) && wanted.some((w) => url.includes(w));

  const decoder = new CoverageDecoder();
  const features = new FeatureMap();
  // Batch mode: features of summed counts already seen, so a sum-only feature triggers one re-run.
  const batchSeen = new FeatureMap();
  const mutator = new Mutator(rng, { maxLen: target.maxLen, ...(target.dictionary ? { dictionary: target.dictionary } : {}) });
  const known = new Set(d.knownCrashes);
  const corpus = new CorpusScheduler(rng, cov !== null);
  const limit = new TimeLimit(d.softTimeout);
  const hangMs = d.hangTimeoutMs;
  let execs = d.execsBefore;
  let current: Uint8Array = new Uint8Array(0);
  // Corpus index the running input was mutated from (-1: a replayed or re-run input).
  let currentParent = -1;

  const exec = (input: Uint8Array): boolean => {
    publish(v, input);
    current = input;
    execs++;
    try {
      target.run(input);
      return true;
    } catch (e) {
      const { signature, message } = crashSignature(e);
      if (!known.has(signature)) {
        known.add(signature);
        post({ type: 'crash', input: input.slice(), signature, message, execs });
      }
      return false;
    } finally {
      Atomics.store(v.slots, Slot.IN_TARGET, 0);
    }
  };
  // Hangs are caught in two stages, as AFL does: a short detection limit calibrated from the
  // corpus (cheap to hit again and again) and the full hangMs to confirm before reporting. A hang
  // whose stuck input ran no block that reported hangs did not also run is taken for the same bug
  // again (AFL's "unique hangs"); it costs two detection limits and is counted, not reported.
  let detectMs = hangMs;
  const hangBlocks = new FeatureMap();
  const interrupted = (): void => {
    Atomics.store(v.slots, Slot.IN_TARGET, 0);
    const stuck = current;
    const parent = currentParent;
    currentParent = -1;
    cov?.reset(); // counts of an interrupted chunk are partial
    // Alone and within the detection limit again: a slow input or a stall of the thread, not a hang.
    if (limit.run(() => void exec(stuck), detectMs)) {
      detectMs = Math.min(hangMs, 2 * detectMs);
      cov?.reset();
      return;
    }
    Atomics.store(v.slots, Slot.IN_TARGET, 0);
    if (parent >= 0) corpus.penalize(parent);
    const blocks = cov ? blocksOf(decoder.decode(cov.take())) : null;
    if (blocks && hangBlocks.novel(blocks) === 0) {
      Atomics.add(v.slots, Slot.REPEAT_HANGS, 1);
      return;
    }
    if (detectMs < hangMs && limit.run(() => void exec(stuck), hangMs)) {
      cov?.reset(); // finished within the real limit: slow, not a hang
      return;
    }
    Atomics.store(v.slots, Slot.IN_TARGET, 0);
    cov?.reset();
    if (blocks) hangBlocks.merge(blocks);
    post({ type: 'hang', input: stuck.slice(), execs });
  };
  /** Adds `input` to the corpus if its snapshot `c` has new features; true if it did. */
  const consider = (input: Uint8Array, c: ScriptCoverage[]): boolean => {
    const f = decoder.decode(c);
    if (features.merge(f) === 0) return false;
    Atomics.store(v.slots, Slot.FEATURES, features.size);
    corpus.add(input, f, features.lastNewBlocks > 0);
    post({ type: 'corpus', input });
    return true;
  };

  // Every starting input is kept unless it crashes or hangs: they are seeds or earlier finds. Guided
  // mode runs them twice: the decoder learns block ranges only as V8 reports them, so the first pass
  // teaches it every block these inputs can reveal and the second pass scores them all alike.
  const starting: Uint8Array[] = [];
  cov?.reset();
  for (const raw of d.corpus) {
    const input = raw.length > target.maxLen ? raw.subarray(0, target.maxLen) : raw;
    let ok = false;
    if (!limit.run(() => (ok = exec(input)), hangMs)) {
      interrupted();
      continue;
    }
    if (cov) decoder.decode(cov.take());
    if (ok) starting.push(input);
  }
  let slowest = 0;
  for (const input of starting) {
    const t0 = performance.now();
    exec(input);
    slowest = Math.max(slowest, performance.now() - t0);
    if (!cov) {
      corpus.add(input);
      continue;
    }
    const f = decoder.decode(cov.take());
    features.merge(f);
    corpus.add(input, f);
  }
  detectMs = Math.min(hangMs, Math.max(MIN_DETECT_MS, Math.ceil(DETECT_FACTOR * slowest)));
  if (corpus.size === 0) corpus.add(new Uint8Array(0));
  Atomics.store(v.slots, Slot.FEATURES, features.size);
  post({ type: 'ready', features: features.size });

  const other = (): Uint8Array => corpus.other();
  const sizer = new BatchSizer(cov ? d.batchSize : RANDOM_MODE_BATCH);
  const batch: Uint8Array[] = [];
  let rerunPending = false;
  /**
   * One batch: mutate and run, then (guided) snapshot coverage and keep inputs with new features.
   * True when the batch must be re-run one input at a time (done outside the time limit, see below).
   */
  const iterate = (): boolean => {
    batch.length = 0;
    const size = sizer.size;
    for (let i = 0; i < size && execs < d.maxExecs; i++) {
      const parent = corpus.pick();
      const input = mutator.mutate(corpus.get(parent), other);
      currentParent = parent;
      const ok = exec(input);
      currentParent = -1;
      if (ok) batch.push(input);
    }
    if (!cov) return false;
    const summed = cov.take();
    Atomics.add(v.slots, Slot.BATCHES, 1);
    if (size === 1) {
      sizer.record(1, batch.length === 1 && consider(batch[0]!, summed));
      return false;
    }
    // Counts are summed over the batch; only a re-run attributes a new feature to one input.
    const rerun = batchSeen.merge(decoder.decode(summed, size)) > 0;
    sizer.record(size, rerun);
    return rerun;
  };
  const running = (): boolean => execs < d.maxExecs && Atomics.load(v.slots, Slot.STOP) === 0;
  const chunk = (): void => {
    const until = performance.now() + CHUNK_MS;
    do rerunPending = iterate();
    while (!rerunPending && running() && performance.now() < until);
  };
  while (running()) {
    // An exec that starts inside a chunk has at least detectMs before the limit fires. A chunk
    // holds no re-runs (one snapshot per input: up to a batch's worth of milliseconds), so it never
    // outgrows the limit on its own and an interruption means an input is slow.
    if (!limit.run(chunk, 2 * CHUNK_MS + detectMs)) {
      interrupted();
      continue;
    }
    if (!rerunPending || !cov) continue;
    // These inputs just ran within the limit; the main thread's watchdog covers the re-run.
    Atomics.add(v.slots, Slot.RERUNS, 1);
    for (const input of batch) {
      const ok = exec(input);
      const c = cov.take();
      if (ok) consider(input, c);
    }
  }
  cov?.stop();
  post({ type: 'done', features: features.size, execs });
}

async function replay(d: ReplayWorkerData): Promise<void> {
  const v = sharedViews(d.sab);
  const target = await loadTarget(d);
  const { isWireError } = await import('../../src/wire/error.js');
  for (let i = d.startIndex; i < d.inputs.length; i++) {
    const input = d.inputs[i]!;
    Atomics.store(v.slots, Slot.INDEX, i);
    publish(v, input);
    let verdict: Verdict | null = null;
    let error: string | null = null;
    try {
      const r = target.parse(input);
      verdict = isWireError(r) ? { accepted: false, proto: r.proto, field: r.field, reason: r.reason } : { accepted: true };
      target.run(input);
    } catch (e) {
      error = crashSignature(e).message;
    } finally {
      Atomics.store(v.slots, Slot.IN_TARGET, 0);
    }
    post({ type: 'replayed', index: i, verdict, error });
  }
  post({ type: 'done', features: 0, execs: d.inputs.length - d.startIndex });
}

await (data.kind === 'fuzz' ? fuzz(data) : replay(data));
