// Test-only helpers: a deliberately naive RFC 1071 sum to check the fast ones against, and a fast
// seeded filler for large buffers (fast-check byte arrays of 70 KB would dominate the run time).

/** Word by word, exactly as RFC 1071 §1 describes it: big-endian 16-bit words, odd byte padded. */
export function referenceSum(b: Uint8Array, off: number, len: number, seed: number): number {
  let s = seed;
  for (let i = 0; i < len; i += 2) {
    const hi = b[off + i]!;
    const lo = i + 1 < len ? b[off + i + 1]! : 0;
    s += hi * 256 + lo;
  }
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

export type FillPattern = 'random' | 'ones' | 'zeros' | 'sparse';

/** Fills `b` deterministically from `seed` (xorshift32) in one of a few patterns. */
export function fill(b: Uint8Array, pattern: FillPattern, seed: number): void {
  if (pattern === 'ones') return void b.fill(0xff);
  if (pattern === 'zeros') return void b.fill(0);
  let x = seed | 1;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = pattern === 'random' ? x & 0xff : (x & 0xff) < 8 ? x >>> 24 : 0;
  }
}

/** Byte-swaps a 16-bit value. */
export function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >>> 8);
}
