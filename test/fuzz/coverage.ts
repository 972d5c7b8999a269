// V8 precise block coverage as fuzzing feedback. A feature is (script, block start, block end, log2
// bucket of the block's hit count), as in libFuzzer's counters. takePreciseCoverage also resets the
// counters, so each call reports what ran since the previous one. The inspector session connects to
// the current thread and answers synchronously, which keeps the fuzz loop free of awaits.

import { Session } from 'node:inspector';

export interface RangeCoverage {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly count: number;
}
export interface FunctionCoverage {
  readonly ranges: readonly RangeCoverage[];
}
export interface ScriptCoverage {
  readonly scriptId: string;
  readonly url: string;
  readonly functions: readonly FunctionCoverage[];
}

/** log2 bucket of a hit count: 1 → 1, 2-3 → 2, 4-7 → 3, ... (0 for count 0). */
export function countBucket(count: number): number {
  return count <= 0 ? 0 : 32 - Math.clz32(Math.min(count, 0x7fffffff));
}

export class CoverageSession {
  private readonly session = new Session();
  // scriptId → whether the script's coverage counts (decided once per script from its URL).
  private readonly tracked = new Map<string, boolean>();
  private started = false;

  /** `include(url)` selects the scripts whose blocks are features. */
  constructor(private readonly include: (url: string) => boolean) {}

  start(): void {
    if (this.started) return;
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    this.started = true;
  }

  /** Coverage of tracked scripts since the previous call (the call resets the counters). */
  take(): ScriptCoverage[] {
    const res = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const out: ScriptCoverage[] = [];
    for (const s of res.result) {
      let keep = this.tracked.get(s.scriptId);
      if (keep === undefined) {
        keep = s.url !== '' && this.include(s.url);
        this.tracked.set(s.scriptId, keep);
      }
      if (keep) out.push(s);
    }
    return out;
  }

  /** Discards counts accumulated so far. */
  reset(): void {
    this.post('Profiler.takePreciseCoverage');
  }

  stop(): void {
    if (!this.started) return;
    this.post('Profiler.stopPreciseCoverage');
    this.post('Profiler.disable');
    this.session.disconnect();
    this.started = false;
  }

  private post(method: string, params?: object): unknown {
    let done = false;
    let error: Error | null = null;
    let result: unknown;
    this.session.post(method, params ?? {}, (err: Error | null, res?: unknown) => {
      done = true;
      error = err;
      result = res;
    });
    // A same-thread session dispatches synchronously; if that ever changes the loop must not guess.
    if (!done) throw new Error(`inspector ${method} did not answer synchronously`);
    if (error) throw error;
    return result;
  }
}

// Offsets fold into 23 bits each so a feature is one exact JS number: (start, end, bucket) → 51 bits.
const OFFSET_LIMIT = 1 << 23;

function featureKey(start: number, end: number, bucket: number): number {
  return ((start % OFFSET_LIMIT) * OFFSET_LIMIT + (end % OFFSET_LIMIT)) * 32 + bucket;
}

/** Features of one snapshot: per script URL, numeric (start, end, bucket) keys. */
export type Features = Map<string, number[]>;

interface Block {
  readonly start: number;
  readonly end: number;
}

/**
 * Turns V8's reports into per-block hit counts. Two V8 behaviours shape this (checked on V8 11.3):
 *  - Post-processing merges a nested range whose count equals its parent's, so a branch taken exactly
 *    as often as its function was called is not reported; only branches not taken show up (count 0).
 *    Reading reported ranges as features would miss "this branch now runs". Instead every range ever
 *    reported is remembered as a block of its function, and each snapshot gives every known block the
 *    count of the innermost reported range containing it.
 *  - A function's own range carries its invocation count, which TurboFan-optimised code does not
 *    increment (after warm-up, hot getters are reported with count 0 or not at all), while block
 *    counters keep counting. So the function range is never a feature and never means "did not run";
 *    with the parent's count wrong, V8 reports the executed blocks explicitly instead of merging them,
 *    and the reconstruction above yields the same counts cold or hot.
 */
export class CoverageDecoder {
  // url → function (start * OFFSET_LIMIT + end) → blocks learned so far (the function range excluded).
  private readonly blocks = new Map<string, Map<number, { list: Block[]; keys: Set<number> }>>();

  /**
   * Features of one snapshot. For a snapshot summed over a batch of `batch` inputs: counts are
   * averaged (rounded up), so the features do not shift whenever the batch size changes, and its
   * ranges are used but not remembered: merge patterns of a sum are ones no single input has, and
   * remembering them would give later inputs features their replay (after a restart) cannot reproduce.
   */
  decode(cov: readonly ScriptCoverage[], batch = 1): Features {
    const learn = batch === 1;
    const out: Features = new Map();
    for (const script of cov) {
      let perFn = this.blocks.get(script.url);
      const keys: number[] = [];
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        if (!ranges.some((r) => r.count > 0)) continue;
        const outer = ranges[0]!;
        if (!perFn) {
          perFn = new Map();
          this.blocks.set(script.url, perFn);
        }
        const fnKey = (outer.startOffset % OFFSET_LIMIT) * OFFSET_LIMIT + (outer.endOffset % OFFSET_LIMIT);
        let known = perFn.get(fnKey);
        if (!known) {
          known = { list: [], keys: new Set() };
          perFn.set(fnKey, known);
        }
        let blocks = known.list;
        for (let i = 1; i < ranges.length; i++) {
          const r = ranges[i]!;
          const k = featureKey(r.startOffset, r.endOffset, 0);
          if (known.keys.has(k)) continue;
          if (learn) {
            known.list.push({ start: r.startOffset, end: r.endOffset });
            known.keys.add(k);
          } else {
            if (blocks === known.list) blocks = [...known.list];
            blocks.push({ start: r.startOffset, end: r.endOffset });
          }
        }
        for (const b of blocks) {
          // Innermost reported range containing the block; the function's own range always does.
          let count = outer.count;
          let width = Infinity;
          for (const r of ranges) {
            if (r.startOffset <= b.start && b.end <= r.endOffset && r.endOffset - r.startOffset < width) {
              width = r.endOffset - r.startOffset;
              count = r.count;
            }
          }
          if (count > 0) keys.push(featureKey(b.start, b.end, countBucket(Math.ceil(count / batch))));
        }
      }
      if (keys.length > 0) out.set(script.url, keys);
    }
    return out;
  }
}

/**
 * The blocks of `features` with their count buckets dropped: which blocks ran, not how often. (Counts
 * are useless for a run cut short by a time limit: V8 then reports its loop blocks with count 1.)
 */
export function blocksOf(features: Features): Features {
  const out: Features = new Map();
  for (const [url, keys] of features) out.set(url, [...new Set(keys.map((k) => k - (k % 32)))]);
  return out;
}

/** The set of features seen so far, per script URL (URLs survive worker restarts; scriptIds do not). */
export class FeatureMap {
  private readonly perScript = new Map<string, Set<number>>();
  // Blocks seen with any count: a new block is rarer, and worth more, than a new count bucket.
  private readonly blocks = new Map<string, Set<number>>();
  private total = 0;
  /** How many blocks (not just count buckets) the last merge found for the first time. */
  lastNewBlocks = 0;

  get size(): number {
    return this.total;
  }

  /** How many of `features` are not in the map (nothing is added). */
  novel(features: Features): number {
    let fresh = 0;
    for (const [url, keys] of features) {
      const seen = this.perScript.get(url);
      for (const key of keys) if (!seen?.has(key)) fresh++;
    }
    return fresh;
  }

  /** How many of `features` are new; they are added too. */
  merge(features: Features): number {
    let fresh = 0;
    this.lastNewBlocks = 0;
    for (const [url, keys] of features) {
      let seen = this.perScript.get(url);
      let blocks = this.blocks.get(url);
      if (!seen || !blocks) {
        seen = new Set();
        blocks = new Set();
        this.perScript.set(url, seen);
        this.blocks.set(url, blocks);
      }
      for (const key of keys) {
        if (seen.has(key)) continue;
        seen.add(key);
        fresh++;
        this.total++;
        const block = key - (key % 32);
        if (!blocks.has(block)) {
          blocks.add(block);
          this.lastNewBlocks++;
        }
      }
    }
    return fresh;
  }
}
