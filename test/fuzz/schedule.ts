// Which corpus entry to mutate next, and how many inputs to run per coverage snapshot.
//
// Scheduling follows AFL's "favoured" entries: for every feature, the shortest entry that has it.
// Count buckets make many near-duplicate entries (one more NOP, one more loop turn); mutating the
// favoured ones most of the time keeps effort on the entries that alone reach the coverage frontier.
//
// Batch sizing: a coverage snapshot costs far more than running a parser once (~0.5 ms against a few
// µs), so inputs run in batches with one snapshot each, and a batch whose summed coverage looks new
// is re-run one input at a time. Per input that costs 1/B snapshots plus q·B re-runs (q = chance an
// input triggers a re-run), which is least at B = 1/√q.

import type { RandomSource } from '../../src/ports/random.js';
import type { Features } from './coverage.js';

// Newest entries sit where coverage just moved; some picks go to the last few.
const RECENT = 8;
// Entries that reached a block never run before: the deepest progress so far. A quarter of the picks
// go to the last few of them, so a chain of nested checks is climbed one step at a time.
const FRONTIER = 4;

export class CorpusScheduler {
  private readonly entries: Uint8Array[] = [];
  // url → feature key → index of the shortest entry that has the feature.
  private readonly best = new Map<string, Map<number, number>>();
  private favored: number[] = [];
  private dirty = false;
  private readonly frontier: number[] = [];
  private readonly hangProne = new Set<number>();

  constructor(
    private readonly rng: RandomSource,
    private readonly guided: boolean,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** Favoured entries right now (recomputed lazily after additions). */
  get favoredCount(): number {
    return this.favoredList().length;
  }

  /**
   * Adds an entry with all of its features (not just the new ones), which decide favouring;
   * `newBlocks` says it ran a block nothing had run before.
   */
  add(input: Uint8Array, features?: Features, newBlocks = false): void {
    const idx = this.entries.push(input) - 1;
    if (newBlocks) {
      this.frontier.push(idx);
      if (this.frontier.length > FRONTIER) this.frontier.shift();
    }
    if (!features) return;
    for (const [url, keys] of features) {
      let m = this.best.get(url);
      if (!m) {
        m = new Map();
        this.best.set(url, m);
      }
      for (const k of keys) {
        const cur = m.get(k);
        if (cur === undefined || this.entries[cur]!.length > input.length) {
          m.set(k, idx);
          this.dirty = true;
        }
      }
    }
  }

  get(index: number): Uint8Array {
    return this.entries[index]!;
  }

  /**
   * Index of the entry to mutate next. An entry whose mutants hung is picked 8x less often, so one
   * known hang that is easy to reach again does not eat the time budget in timeouts.
   */
  pick(): number {
    if (this.entries.length === 0) throw new Error('empty corpus');
    let idx = this.pickOnce();
    for (let retry = 0; retry < 3 && this.hangProne.has(idx); retry++) {
      if (this.rng.below(8) === 0) break;
      idx = this.pickOnce();
    }
    return idx;
  }

  /** Marks the entry a hanging input was mutated from. */
  penalize(index: number): void {
    if (index < 0 || index >= this.entries.length) return;
    this.hangProne.add(index);
    const f = this.frontier.indexOf(index);
    if (f >= 0) this.frontier.splice(f, 1);
  }

  private pickOnce(): number {
    const n = this.entries.length;
    if (!this.guided) return this.rng.below(n);
    // 2/8 frontier, 1/8 recent, 3/8 favoured, 2/8 uniform.
    const r = this.rng.below(8);
    if (r < 2 && this.frontier.length > 0) return this.frontier[this.rng.below(this.frontier.length)]!;
    if (r === 2 && n > RECENT) return n - 1 - this.rng.below(RECENT);
    if (r >= 3 && r < 6) {
      const f = this.favoredList();
      if (f.length > 0) return f[this.rng.below(f.length)]!;
    }
    return this.rng.below(n);
  }

  /** A uniformly chosen entry (splice partner). */
  other(): Uint8Array {
    return this.entries[this.rng.below(this.entries.length)]!;
  }

  private favoredList(): number[] {
    if (this.dirty) {
      const set = new Set<number>();
      for (const m of this.best.values()) for (const idx of m.values()) set.add(idx);
      this.favored = [...set].sort((a, b) => a - b);
      this.dirty = false;
    }
    return this.favored;
  }
}

export class BatchSizer {
  private execsW = 0;
  private triggersW = 0;
  private current: number;

  /** `fixed` > 0 pins the size; otherwise it adapts between 1 and `max`. */
  constructor(
    private readonly fixed: number,
    private readonly max = 64,
  ) {
    this.current = fixed > 0 ? fixed : 8;
  }

  get size(): number {
    return this.current;
  }

  /** Records one batch: how many inputs it ran and whether it was re-run. */
  record(inputs: number, rerun: boolean): void {
    if (this.fixed > 0) return;
    this.execsW += inputs;
    if (rerun) this.triggersW++;
    // Re-estimate every ~1k inputs, halving the history so the estimate follows the current phase.
    if (this.execsW < 1024) return;
    const q = (this.triggersW + 0.25) / this.execsW;
    this.current = Math.max(1, Math.min(this.max, Math.round(1 / Math.sqrt(q))));
    this.execsW /= 2;
    this.triggersW /= 2;
  }
}
