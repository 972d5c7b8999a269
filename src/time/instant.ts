// Monotonic time as integer microseconds. The core never reads a clock: every entry point that can
// change timers takes `now: Instant`. Microseconds in a double are exact for 285 years.

declare const instantBrand: unique symbol;
declare const durationBrand: unique symbol;

/** A point on a monotonic clock, in integer microseconds since an arbitrary epoch. */
export type Instant = number & { readonly [instantBrand]: true };
/** A span of time in integer microseconds. */
export type Duration = number & { readonly [durationBrand]: true };

export const Instant = {
  ZERO: 0 as Instant,
  fromMicros: (us: number): Instant => Math.trunc(us) as Instant,
  fromMillis: (ms: number): Instant => Math.trunc(ms * 1000) as Instant,
  add: (t: Instant, d: Duration): Instant => (t + d) as Instant,
  since: (later: Instant, earlier: Instant): Duration => (later - earlier) as Duration,
  min: (a: Instant, b: Instant): Instant => (a < b ? a : b),
  /** Sentinel for "no deadline" in pollAt(). */
  NEVER: Number.POSITIVE_INFINITY as Instant,
} as const;

export const Duration = {
  ZERO: 0 as Duration,
  micros: (us: number): Duration => Math.trunc(us) as Duration,
  millis: (ms: number): Duration => Math.trunc(ms * 1000) as Duration,
  seconds: (s: number): Duration => Math.trunc(s * 1_000_000) as Duration,
  toMillis: (d: Duration): number => d / 1000,
} as const;
