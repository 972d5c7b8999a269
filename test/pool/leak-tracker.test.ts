import { describe, expect, it } from 'vitest';
import { SlabPool, TrackedPool, formatLeakReport } from '../../src/pool/index.js';
import { expectNoLeaks } from '../support/leak-tracker.js';

// Named functions so the recorded stacks can be checked for the acquisition site.
function leakyRxHandler(pool: TrackedPool): Uint8Array {
  return pool.acquire(1500)!;
}
function tidyHandler(pool: TrackedPool): void {
  pool.release(pool.acquire(64)!);
}

describe('TrackedPool', () => {
  it('reports_a_deliberately_leaked_buffer_with_its_acquisition_stack', () => {
    const pool = new TrackedPool(new SlabPool());
    tidyHandler(pool);
    const leaked = leakyRxHandler(pool);
    const report = pool.report();
    expect(report.inUse).toBe(1);
    expect(report.leaks).toHaveLength(1);
    expect(report.leaks[0]!.size).toBe(1500);
    expect(report.leaks[0]!.sequence).toBe(2);
    expect(report.leaks[0]!.stack).toMatch(/leakyRxHandler/);
    expect(report.leaks[0]!.stack).not.toMatch(/TrackedPool\.acquire/);
    expect(report.leaks[0]!.stack).toMatch(/leak-tracker\.test\.ts/);
    const text = formatLeakReport(report);
    expect(text).toMatch(/1 pooled buffer\(s\) still in use/);
    expect(text).toMatch(/#2: 1500 bytes, acquired at:\n.*leakyRxHandler/);
    pool.release(leaked);
    expect(pool.report().leaks).toHaveLength(0);
    expect(formatLeakReport(pool.report())).toBe('');
  });

  it('lists_leaks_oldest_first', () => {
    const pool = new TrackedPool(new SlabPool());
    const bufs = [10, 20, 30].map((n) => pool.acquire(n)!);
    pool.release(bufs[1]!);
    expect(pool.report().leaks.map((l) => l.size)).toEqual([10, 30]);
    pool.release(bufs[0]!);
    pool.release(bufs[2]!);
  });

  it('counts_buffers_acquired_while_disabled_or_around_it_as_untracked', () => {
    const inner = new SlabPool();
    const pool = new TrackedPool(inner, { enabled: false });
    const a = pool.acquire(100)!;
    pool.enabled = true;
    const b = pool.acquire(100)!;
    const c = inner.acquire(100)!;
    const r = pool.report();
    expect(r.inUse).toBe(3);
    expect(r.leaks).toHaveLength(1);
    expect(r.untracked).toBe(2);
    expect(formatLeakReport(r)).toMatch(/2 buffer\(s\) acquired while tracking was off/);
    for (const x of [a, b]) pool.release(x);
    inner.release(c);
  });

  it('passes_misuse_errors_through_and_keeps_the_record_of_a_live_buffer', () => {
    const pool = new TrackedPool(new SlabPool());
    const b = pool.acquire(100)!;
    expect(() => pool.release(new Uint8Array(100))).toThrow(/not acquired from this pool/);
    expect(pool.report().leaks).toHaveLength(1);
    pool.release(b);
    expect(() => pool.release(b)).toThrow(/double release/);
    expect(pool.report().leaks).toHaveLength(0);
  });

  it('forwards_exhaustion_and_stats_from_the_inner_pool', () => {
    const pool = new TrackedPool(new SlabPool({ classes: [64], maxBytes: 64 }));
    const a = pool.acquire(64)!;
    expect(pool.acquire(64)).toBeNull();
    expect(pool.stats().exhausted).toBe(1);
    expect(pool.report().leaks).toHaveLength(1);
    pool.release(a);
  });
});

describe('expectNoLeaks', () => {
  it('passes_when_every_buffer_was_released', () => {
    const tracked = new TrackedPool(new SlabPool());
    tidyHandler(tracked);
    expect(() => expectNoLeaks(tracked)).not.toThrow();
    const plain = new SlabPool();
    plain.release(plain.acquire(10)!);
    expect(() => expectNoLeaks(plain)).not.toThrow();
  });

  it('fails_with_the_stack_of_each_leaked_buffer', () => {
    const pool = new TrackedPool(new SlabPool());
    const leaked = leakyRxHandler(pool);
    expect(() => expectNoLeaks(pool)).toThrow(/buffer pool leak: 1 pooled buffer\(s\) still in use[\s\S]*leakyRxHandler/);
    pool.release(leaked);
    expectNoLeaks(pool);
  });

  it('fails_with_a_count_for_an_untracked_pool', () => {
    const plain = new SlabPool();
    const b = plain.acquire(10)!;
    expect(() => expectNoLeaks(plain)).toThrow(/1 buffer\(s\) still in use/);
    plain.release(b);
  });
});
