// Sequence arithmetic mod 2^32 (RFC 9293 §3.4): property tests across the wrap.
import { describe, expect, it } from 'vitest';
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin } from '../../../src/core/tcp/seq.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

describe('seq arithmetic (RFC 9293 §3.4)', () => {
  it('seq_add_wraps_at_2^32', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0xffffff00, 0x200)).toBe(0x100);
    expect(seqAdd(5, -10)).toBe(0xfffffffb);
  });

  it('seq_compare_isn_0xFFFFFF00_orders_across_wrap', () => {
    const isn = 0xffffff00;
    expect(seqLt(isn, seqAdd(isn, 1))).toBe(true);
    expect(seqLt(isn, 0x10)).toBe(true);
    expect(seqGt(0x10, isn)).toBe(true);
    expect(seqDiff(0x10, isn)).toBe(0x110);
    expect(seqInRange(0x5, isn, seqAdd(isn, 0x1000))).toBe(true);
    expect(seqInRange(isn - 1, isn, seqAdd(isn, 0x1000))).toBe(false);
    expect(seqInRange(seqAdd(isn, 0x1000), isn, seqAdd(isn, 0x1000))).toBe(false);
    expect(seqMax(isn, 3)).toBe(3);
    expect(seqMin(isn, 3)).toBe(isn);
  });

  it('seq_property_random_pairs_consistent_with_offset', () => {
    const r = rng(42);
    for (let i = 0; i < 20_000; i++) {
      const a = r();
      const d = (r() % 0x7fffffff) + 1; // 1 .. 2^31-1
      const b = seqAdd(a, d);
      expect(seqLt(a, b)).toBe(true);
      expect(seqGt(b, a)).toBe(true);
      expect(seqLe(a, a)).toBe(true);
      expect(seqGe(b, a)).toBe(true);
      expect(seqDiff(b, a)).toBe(d);
      expect(seqDiff(a, b)).toBe(-d);
      expect(seqAdd(b, -d)).toBe(a);
      expect(seqInRange(a, a, b)).toBe(true);
      expect(seqInRange(b, a, b)).toBe(false);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(2 ** 32);
    }
  });
});
