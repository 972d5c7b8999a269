import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/random/chacha.js';
import { MUTATION_NAMES, Mutator } from './mutate.js';

const base = Uint8Array.from([2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1]);

describe('mutator', () => {
  it('is deterministic for a seed', () => {
    const run = (seed: string) => {
      const m = new Mutator(seededRandom(seed), { maxLen: 64, dictionary: [Uint8Array.from([0xc0, 0x0c])] });
      const out: string[] = [];
      let cur: Uint8Array = base;
      for (let i = 0; i < 500; i++) {
        cur = m.mutate(cur.length > 0 ? cur : base, () => base);
        out.push(Buffer.from(cur).toString('hex'));
      }
      return out;
    };
    expect(run('a')).toEqual(run('a'));
    expect(run('a')).not.toEqual(run('b'));
  });

  it('every mutation keeps the input within maxLen, including from empty and full inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (input, maxLen, seed) => {
        const m = new Mutator(seededRandom(seed), { maxLen, dictionary: [Uint8Array.from([1, 2, 3])] });
        for (const name of MUTATION_NAMES) {
          m.load(input);
          m.apply(name, () => Uint8Array.from([9, 9, 9, 9]));
          expect(m.current().length).toBeLessThanOrEqual(maxLen);
        }
        expect(m.mutate(input, () => undefined).length).toBeLessThanOrEqual(maxLen);
      }),
      { numRuns: 300 },
    );
  });

  it('writes interesting integers big-endian as 8, 16 and 32 bits', () => {
    const m = new Mutator(seededRandom(1), { maxLen: 8 });
    const words = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      m.load(new Uint8Array(8));
      expect(m.apply('interesting', () => undefined)).toBe(true);
      const b = m.current();
      for (let j = 0; j + 1 < 8; j++) words.add((b[j]! << 8) | b[j + 1]!);
    }
    for (const v of [0x8000, 0x7fff, 0xffff, 0x0080, 0x00ff, 0x0007, 0x0008, 0x0009]) expect(words.has(v)).toBe(true);
  });

  it('inserts or overwrites dictionary tokens, splices other entries, and changes one nibble at a time', () => {
    const m = new Mutator(seededRandom(2), { maxLen: 32, dictionary: [Uint8Array.from([0x86, 0xdd])] });
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    m.load(new Uint8Array(6));
    expect(m.apply('dictionary', () => undefined)).toBe(true);
    expect(hex(m.current())).toContain('86dd');
    m.load(new Uint8Array(6));
    expect(m.apply('splice', () => Uint8Array.from([0xaa, 0xbb, 0xcc]))).toBe(true);
    expect(m.current().some((x) => x === 0xaa || x === 0xbb || x === 0xcc)).toBe(true);
    expect(m.apply('splice', () => undefined)).toBe(false);
    for (let i = 0; i < 200; i++) {
      m.load(Uint8Array.from([0x12, 0x34]));
      m.apply('setNibble', () => undefined);
      const [a, b] = m.current();
      const changed = [a! >> 4 !== 1, (a! & 15) !== 2, b! >> 4 !== 3, (b! & 15) !== 4].filter(Boolean).length;
      expect(changed).toBeLessThanOrEqual(1);
    }
  });

  it('reports inapplicable mutations instead of failing', () => {
    const m = new Mutator(seededRandom(3), { maxLen: 4 });
    m.load(new Uint8Array(0));
    for (const name of ['flipBit', 'setNibble', 'setByte', 'addByte', 'interesting', 'deleteRange', 'duplicateRange', 'copyRange', 'dictionary'] as const) {
      expect(m.apply(name, () => undefined)).toBe(false);
    }
    m.load(new Uint8Array(4));
    expect(m.apply('insertBytes', () => undefined)).toBe(false); // full
    expect(() => new Mutator(seededRandom(3), { maxLen: 0 })).toThrow(RangeError);
  });
});
