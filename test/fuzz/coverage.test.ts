import { describe, expect, it } from 'vitest';
import { CoverageDecoder, FeatureMap, countBucket } from './coverage.js';
import type { RangeCoverage, ScriptCoverage } from './coverage.js';

const URL_ = 'file:///x/src/wire/toy.ts';
const snap = (...fns: RangeCoverage[][]): ScriptCoverage[] => [
  { scriptId: '1', url: URL_, functions: fns.map((ranges) => ({ ranges })) },
];
const r = (startOffset: number, endOffset: number, count: number): RangeCoverage => ({ startOffset, endOffset, count });
const keys = (f: Map<string, number[]>) => [...(f.get(URL_) ?? [])].sort((a, b) => a - b);

describe('coverage features', () => {
  it('buckets counts by log2', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 1000].map(countBucket)).toEqual([0, 1, 2, 2, 3, 3, 4, 10]);
  });

  it('a branch merged into its function by V8 still counts once its range is known', () => {
    const d = new CoverageDecoder();
    // Input A: function called 5 times, block [30,40) not taken (reported with 0), [10,20) taken every
    // time (merged away by V8 because its count equals the function's).
    const a = d.decode(snap([r(0, 100, 5), r(30, 40, 0)]));
    // Input B: now [30,40) runs every time and [10,20) never: only [10,20) is reported.
    const b = d.decode(snap([r(0, 100, 5), r(10, 20, 0)]));
    const fm = new FeatureMap();
    expect(fm.merge(a)).toBe(0); // nothing known ran yet (the function range itself is no feature)
    expect(fm.merge(b)).toBe(1); // [30,40) ran: a new feature, and a new block
    expect(fm.lastNewBlocks).toBe(1);
  });

  it('gives the same features whether the function ran interpreted or optimised', () => {
    const d = new CoverageDecoder();
    d.decode(snap([r(0, 100, 5), r(10, 20, 0), r(30, 40, 0)])); // learn both blocks
    const cold = d.decode(snap([r(0, 100, 5), r(10, 20, 0)])); // [30,40) ran 5 times, merged
    // Optimised code does not bump the invocation count, so V8 reports the function with 0 and the
    // executed block explicitly; the untaken one equals the (wrong) parent and is merged away.
    const hot = d.decode(snap([r(0, 100, 0), r(30, 40, 5)]));
    expect(keys(hot)).toEqual(keys(cold));
    expect(keys(cold)).toHaveLength(1);
  });

  it('averages a summed snapshot over its batch and does not learn from it', () => {
    const d = new CoverageDecoder();
    const summed = d.decode(snap([r(0, 100, 3), r(50, 60, 8)]), 4);
    expect(keys(summed)).toEqual(keys(d.decode(snap([r(0, 100, 3), r(50, 60, 2)]), 1)));
    // Not remembered from the sum (the single-input decode above did learn it, so use a fresh one).
    const fresh = new CoverageDecoder();
    fresh.decode(snap([r(0, 100, 3), r(50, 60, 8)]), 4);
    expect(keys(fresh.decode(snap([r(0, 100, 1)])))).toHaveLength(0);
  });

  it('counts loop turns into buckets and skips functions that did not run', () => {
    const d = new CoverageDecoder();
    const fm = new FeatureMap();
    d.decode(snap([r(0, 100, 1), r(10, 20, 0)]));
    expect(fm.merge(d.decode(snap([r(0, 100, 1), r(10, 20, 3)])))).toBe(1);
    expect(fm.merge(d.decode(snap([r(0, 100, 1), r(10, 20, 2)])))).toBe(0); // same bucket as 3
    expect(fm.merge(d.decode(snap([r(0, 100, 1), r(10, 20, 4)])))).toBe(1);
    expect(fm.lastNewBlocks).toBe(0);
    expect(fm.merge(d.decode(snap([r(0, 100, 0), r(10, 20, 0)])))).toBe(0);
    expect(fm.size).toBe(2);
  });
});
