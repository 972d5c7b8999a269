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
 * Turns V8's reports into per-block hit counts. V8 post-processes block coverage: a nested range whose
 * count equals its parent's is merged away, so a branch taken exactly as often as its function was
 * called is not reported at all; only the branches not taken show up (with count 0). Reading reported
 * ranges as features would therefore miss "this branch now runs". Instead every range ever reported
 * is remembered as a block of its function, and each snapshot gives every known block the count of
 * the innermost reported range containing it.
 */
export class CoverageDecoder {
  // url → function (start * OFFSET_LIMIT + end) → blocks learned so far.
  private readonly blocks = new Map<string, Map<number, { list: Block[]; keys: Set<number> }>>();

  decode(cov: readonly ScriptCoverage[]): Features {
    const out: Features = new Map();
    for (const script of cov) {
      let perFn = this.blocks.get(script.url);
      const keys: number[] = [];
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        // A function not called since the last snapshot has count 0 on its outer range: nothing ran.
        if (ranges.length === 0 || ranges[0]!.count === 0) continue;
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
        for (const r of ranges) {
          const k = featureKey(r.startOffset, r.endOffset, 0);
          if (!known.keys.has(k)) {
            known.list.push({ start: r.startOffset, end: r.endOffset });
            known.keys.add(k);
          }
        }
        for (const b of known.list) {
          // Innermost reported range containing the block; the function's own range always does.
          let count = outer.count;
          let width = Infinity;
          for (const r of ranges) {
            if (r.startOffset <= b.start && b.end <= r.endOffset && r.endOffset - r.startOffset < width) {
              width = r.endOffset - r.startOffset;
              count = r.count;
            }
          }
          if (count > 0) keys.push(featureKey(b.start, b.end, countBucket(count)));
        }
      }
      if (keys.length > 0) out.set(script.url, keys);
    }
    return out;
  }
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
