// TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4). Sequence numbers are plain unsigned
// 32-bit numbers; comparisons use the signed 32-bit difference, so they stay correct across the
// wrap (an ISN of 0xFFFFFF00 works like any other). Nothing here knows about connections.

/** a + n mod 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance a - b in (-2^31, 2^31]. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** lo <= x < hi, modulo 2^32 (an empty range when lo == hi). */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}

export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}
