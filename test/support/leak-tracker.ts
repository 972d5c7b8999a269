// Test helper: assert that a pool is back to zero buffers in use (STYLE.md §8, after lwIP's unit
// tests). With a TrackedPool the failure lists where each leaked buffer was acquired.
import { expect } from 'vitest';
import type { BufferPool } from '../../src/ports/buffer-pool.js';
import { TrackedPool, formatLeakReport } from '../../src/pool/index.js';

/** Fails the current test if `pool` has buffers in use, with their acquisition stacks if tracked. */
export function expectNoLeaks(pool: BufferPool): void {
  if (pool instanceof TrackedPool) {
    const report = pool.report();
    if (report.inUse !== 0 || report.leaks.length !== 0) expect.fail(`buffer pool leak: ${formatLeakReport(report)}`);
    return;
  }
  if (pool.inUse !== 0) {
    expect.fail(`buffer pool leak: ${pool.inUse} buffer(s) still in use (wrap the pool in TrackedPool to see where they were acquired)`);
  }
}
