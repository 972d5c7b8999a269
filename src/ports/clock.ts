import type { Instant } from '../time/instant.js';

/** Monotonic clock, microsecond resolution. Injected; the core itself never reads time. */
export interface Clock {
  now(): Instant;
}
