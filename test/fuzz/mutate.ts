// libFuzzer-style byte mutators, stacked. Deterministic for a given RandomSource: the engine seeds it
// with seededRandom, so a run with the same seed and the same coverage feedback replays exactly.

import type { RandomSource } from '../../src/ports/random.js';

export interface MutatorOptions {
  readonly maxLen: number;
  readonly dictionary?: readonly Uint8Array[];
  /** Mutations per input are 1, 2, 4 ... up to 2^(maxStackLog2 - 1), uniformly. */
  readonly maxStackLog2?: number;
}

export const MUTATION_NAMES = [
  'flipBit',
  'setNibble',
  'setByte',
  'addByte',
  'interesting',
  'insertBytes',
  'deleteRange',
  'duplicateRange',
  'copyRange',
  'splice',
  'dictionary',
] as const;
export type MutationName = (typeof MUTATION_NAMES)[number];

// Values that sit on boundaries of length and counter checks; len-relative ones are added per input.
const INTERESTING = [0, 1, 2, 7, 8, 63, 64, 127, 128, 255, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
// Keeps insertions small so one mutation does not bury the structure of the input.
const MAX_CHUNK = 16;

export class Mutator {
  private readonly work: Uint8Array;
  private len = 0;
  private readonly dict: readonly Uint8Array[];
  private readonly stackLog2: number;
  /** How often each mutation was applied (for tests and tuning). */
  readonly applied = new Map<MutationName, number>();

  constructor(
    private readonly rng: RandomSource,
    opts: MutatorOptions,
  ) {
    if (!(opts.maxLen > 0 && Number.isInteger(opts.maxLen))) throw new RangeError(`maxLen ${opts.maxLen}`);
    this.work = new Uint8Array(opts.maxLen);
    this.dict = (opts.dictionary ?? []).filter((t) => t.length > 0 && t.length <= opts.maxLen);
    this.stackLog2 = Math.max(1, opts.maxStackLog2 ?? 4);
  }

  get maxLen(): number {
    return this.work.length;
  }

  /**
   * A mutated copy of `base` (truncated to maxLen). `other` supplies a splice partner, typically a
   * random corpus entry; when it returns undefined splicing falls back to another mutation.
   */
  mutate(base: Uint8Array, other: () => Uint8Array | undefined): Uint8Array {
    this.len = Math.min(base.length, this.work.length);
    this.work.set(base.subarray(0, this.len));
    const stack = 1 << this.rng.below(this.stackLog2);
    for (let i = 0; i < stack; i++) {
      // A mutation can be inapplicable (e.g. delete on empty input); retry a bounded number of times.
      for (let attempt = 0; attempt < 8; attempt++) {
        const name = MUTATION_NAMES[this.rng.below(MUTATION_NAMES.length)]!;
        if (this.apply(name, other)) {
          this.applied.set(name, (this.applied.get(name) ?? 0) + 1);
          break;
        }
      }
    }
    return this.work.slice(0, this.len);
  }

  /** Applies one named mutation in place; false if it does not apply to the current input. */
  apply(name: MutationName, other: () => Uint8Array | undefined): boolean {
    switch (name) {
      case 'flipBit':
        return this.flipBit();
      case 'setNibble':
        return this.setNibble();
      case 'setByte':
        return this.setByte();
      case 'addByte':
        return this.addByte();
      case 'interesting':
        return this.interesting();
      case 'insertBytes':
        return this.insertBytes();
      case 'deleteRange':
        return this.deleteRange();
      case 'duplicateRange':
        return this.duplicateRange();
      case 'copyRange':
        return this.copyRange();
      case 'splice':
        return this.splice(other());
      case 'dictionary':
        return this.dictionary();
    }
  }

  /** The bytes currently in the work buffer (for tests of single mutations). */
  current(): Uint8Array {
    return this.work.slice(0, this.len);
  }

  load(base: Uint8Array): void {
    this.len = Math.min(base.length, this.work.length);
    this.work.set(base.subarray(0, this.len));
  }

  private flipBit(): boolean {
    if (this.len === 0) return false;
    this.work[this.rng.below(this.len)] ^= 1 << this.rng.below(8);
    return true;
  }

  /** Network headers are full of 4-bit fields (IP version and IHL, TCP data offset): change one. */
  private setNibble(): boolean {
    if (this.len === 0) return false;
    const pos = this.rng.below(this.len);
    const v = this.rng.below(16);
    const old = this.work[pos]!;
    this.work[pos] = this.rng.below(2) === 0 ? (old & 0x0f) | (v << 4) : (old & 0xf0) | v;
    return true;
  }

  private setByte(): boolean {
    if (this.len === 0) return false;
    this.work[this.rng.below(this.len)] = this.rng.below(256);
    return true;
  }

  private addByte(): boolean {
    if (this.len === 0) return false;
    const pos = this.rng.below(this.len);
    const delta = 1 + this.rng.below(35);
    this.work[pos] = this.work[pos]! + (this.rng.below(2) === 0 ? delta : -delta);
    return true;
  }

  private interestingValue(pos: number): number {
    const extra = [this.len - 1, this.len, this.len + 1, this.len - pos, this.len - pos - 1];
    const k = this.rng.below(INTERESTING.length + extra.length);
    return k < INTERESTING.length ? INTERESTING[k]! : extra[k - INTERESTING.length]!;
  }

  /** An interesting integer written big-endian as 8, 16 or 32 bits. */
  private interesting(): boolean {
    const width = [1, 2, 4][this.rng.below(3)]!;
    if (this.len < width) return false;
    const pos = this.rng.below(this.len - width + 1);
    const v = this.interestingValue(pos) >>> 0;
    for (let i = 0; i < width; i++) this.work[pos + i] = v >>> (8 * (width - 1 - i));
    return true;
  }

  /** Opens a gap of `n` bytes at `pos` (n already clamped to the room left). */
  private openGap(pos: number, n: number): void {
    this.work.copyWithin(pos + n, pos, this.len);
    this.len += n;
  }

  private room(): number {
    return this.work.length - this.len;
  }

  private insertBytes(): boolean {
    const n = Math.min(1 + this.rng.below(MAX_CHUNK), this.room());
    if (n === 0) return false;
    const pos = this.rng.below(this.len + 1);
    this.openGap(pos, n);
    // Half the time a run of one byte (padding-like), otherwise random bytes.
    const fill = this.rng.below(2) === 0 ? this.rng.below(256) : -1;
    for (let i = 0; i < n; i++) this.work[pos + i] = fill >= 0 ? fill : this.rng.below(256);
    return true;
  }

  private deleteRange(): boolean {
    if (this.len === 0) return false;
    const n = 1 + this.rng.below(Math.min(MAX_CHUNK, this.len));
    const pos = this.rng.below(this.len - n + 1);
    this.work.copyWithin(pos, pos + n, this.len);
    this.len -= n;
    return true;
  }

  /** Inserts a copy of a range of the input elsewhere in it (repeats an option or header). */
  private duplicateRange(): boolean {
    if (this.len === 0) return false;
    const n = Math.min(1 + this.rng.below(Math.min(MAX_CHUNK * 4, this.len)), this.room());
    if (n === 0) return false;
    const from = this.rng.below(this.len - n + 1);
    const chunk = this.work.slice(from, from + n);
    const pos = this.rng.below(this.len + 1);
    this.openGap(pos, n);
    this.work.set(chunk, pos);
    return true;
  }

  /** Overwrites a range with a copy of another range of the input. */
  private copyRange(): boolean {
    if (this.len < 2) return false;
    const n = 1 + this.rng.below(Math.min(MAX_CHUNK * 4, this.len - 1));
    const from = this.rng.below(this.len - n + 1);
    const to = this.rng.below(this.len - n + 1);
    if (from === to) return false;
    this.work.copyWithin(to, from, from + n);
    return true;
  }

  /** Crossover with another corpus entry: our prefix + its suffix, or a chunk of it inserted. */
  private splice(other: Uint8Array | undefined): boolean {
    if (!other || other.length === 0) return false;
    if (this.rng.below(2) === 0) {
      const cut = this.rng.below(this.len + 1);
      const from = this.rng.below(other.length);
      const n = Math.min(other.length - from, this.work.length - cut);
      this.work.set(other.subarray(from, from + n), cut);
      this.len = cut + n;
    } else {
      const n = Math.min(1 + this.rng.below(Math.min(MAX_CHUNK * 4, other.length)), this.room());
      if (n === 0) return false;
      const from = this.rng.below(other.length - n + 1);
      const pos = this.rng.below(this.len + 1);
      this.openGap(pos, n);
      this.work.set(other.subarray(from, from + n), pos);
    }
    return true;
  }

  /** A dictionary token, inserted or overwriting in place. */
  private dictionary(): boolean {
    if (this.dict.length === 0) return false;
    const tok = this.dict[this.rng.below(this.dict.length)]!;
    if (this.rng.below(2) === 0 && this.len >= tok.length) {
      this.work.set(tok, this.rng.below(this.len - tok.length + 1));
      return true;
    }
    if (this.room() < tok.length) return false;
    const pos = this.rng.below(this.len + 1);
    this.openGap(pos, tok.length);
    this.work.set(tok, pos);
    return true;
  }
}
