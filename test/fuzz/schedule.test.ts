import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/random/chacha.js';
import { BatchSizer, CorpusScheduler } from './schedule.js';

const feat = (...k: number[]) => new Map([['u', k]]);

describe('corpus scheduler', () => {
  it('favours the shortest entry per feature and the newest frontier entries', () => {
    const s = new CorpusScheduler(seededRandom(1), true);
    for (let i = 0; i < 30; i++) s.add(new Uint8Array(20 + i), feat(1000 + i % 3));
    s.add(new Uint8Array(5), feat(1000, 1001, 1002)); // shortest for every feature: the only favourite
    s.add(new Uint8Array(9), feat(7), true); // reached a new block
    expect(s.favoredCount).toBe(2);
    const hits = new Map<number, number>();
    for (let i = 0; i < 8000; i++) {
      const idx = s.pick();
      hits.set(idx, (hits.get(idx) ?? 0) + 1);
    }
    expect(hits.get(30)! / 8000).toBeGreaterThan(0.15); // favoured
    expect(hits.get(31)! / 8000).toBeGreaterThan(0.3); // frontier + favoured + recent
    expect((hits.get(0) ?? 0) / 8000).toBeLessThan(0.03);
  });

  it('picks an entry whose mutants hung far less often', () => {
    const s = new CorpusScheduler(seededRandom(2), false);
    s.add(new Uint8Array(1));
    s.add(new Uint8Array(2));
    s.penalize(0);
    let zero = 0;
    for (let i = 0; i < 4000; i++) if (s.pick() === 0) zero++;
    expect(zero / 4000).toBeLessThan(0.15);
    expect(zero).toBeGreaterThan(0);
  });

  it('blind mode picks uniformly', () => {
    const s = new CorpusScheduler(seededRandom(3), false);
    for (let i = 0; i < 4; i++) s.add(new Uint8Array(i + 1), feat(i), true);
    const hits = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) hits[s.pick()]!++;
    for (const h of hits) expect(h).toBeGreaterThan(800);
  });
});

describe('batch sizer', () => {
  it('keeps a fixed size, and adapts towards 1/sqrt(re-run rate) otherwise', () => {
    const fixed = new BatchSizer(16);
    fixed.record(16, true);
    expect(fixed.size).toBe(16);

    const quiet = new BatchSizer(0);
    for (let i = 0; i < 2000; i++) quiet.record(quiet.size, false);
    expect(quiet.size).toBe(64);

    const busy = new BatchSizer(0);
    for (let i = 0; i < 2000; i++) busy.record(busy.size, true);
    expect(busy.size).toBeLessThanOrEqual(2);
  });
});
