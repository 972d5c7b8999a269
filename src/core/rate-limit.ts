// Token bucket for rate limits (ICMP errors, RSTs, ARP requests): `rate` tokens per second, up to
// `burst` banked. Time comes from the caller (sans-I/O).

import type { Instant } from '../time/instant.js';

export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token if available. */
  take(now: Instant): boolean {
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1e6) * this.ratePerSecond);
    }
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
