// Drives sans-I/O stacks deterministically: a fake clock and a loop that polls every stack until
// none has work due, so a scripted exchange runs to quiescence without real timers.
import { expect } from 'vitest';
import { Stack, type StackModule } from '../../src/core/index.js';
import { tsChecksum } from '../../src/checksum/index.js';
import { seededRandom } from '../../src/random/chacha.js';
import { SlabPool } from '../../src/pool/index.js';
import { TrackedPool } from '../../src/pool/leak-tracker.js';
import { Instant, Duration } from '../../src/time/instant.js';
import { expectNoLeaks } from './leak-tracker.js';

export class FakeClock {
  now: Instant = Instant.fromMillis(1000);
  advance(ms: number): Instant {
    this.now = Instant.add(this.now, Duration.millis(ms));
    return this.now;
  }
}

export interface TestStack {
  readonly stack: Stack;
  readonly pool: TrackedPool;
}

/** A stack with a seeded random source, the TS checksum and a leak-tracked pool; handler exceptions rethrow. */
export function testStack(seed: string, modules: StackModule[]): TestStack {
  const pool = new TrackedPool(new SlabPool(), { enabled: true });
  const stack = new Stack({
    random: seededRandom(seed),
    checksum: tsChecksum,
    modules,
    pool,
    onInternalError: (err) => {
      throw err;
    },
  });
  return { stack, pool };
}

/** Polls all stacks until nothing is due at the current time (bounded: fails after `maxRounds`). */
export function settle(clock: FakeClock, stacks: readonly Stack[], maxRounds = 10_000): void {
  for (let round = 0; round < maxRounds; round++) {
    let busy = false;
    for (const s of stacks) {
      if (s.pollAt(clock.now) <= clock.now) {
        s.poll(clock.now);
        busy = true;
      }
    }
    if (!busy) return;
  }
  throw new Error(`stacks still busy after ${maxRounds} rounds`);
}

/** Advances the clock to each stack deadline in turn (up to `ms`), settling at each step. */
export function runFor(clock: FakeClock, stacks: readonly Stack[], ms: number): void {
  const end = Instant.add(clock.now, Duration.millis(ms));
  settle(clock, stacks);
  for (let i = 0; i < 100_000; i++) {
    let next = end;
    for (const s of stacks) next = Instant.min(next, s.pollAt(clock.now));
    if (next <= clock.now) next = Instant.fromMicros(clock.now + 1);
    if (next > end) break;
    clock.now = next;
    settle(clock, stacks);
  }
  clock.now = end;
  settle(clock, stacks);
}

export function closeAndCheckLeaks(...ts: TestStack[]): void {
  for (const t of ts) {
    t.stack.close();
    expectNoLeaks(t.pool);
    expect(t.stack.stats.drops('stack', 'internal_error')).toBe(0);
  }
}
