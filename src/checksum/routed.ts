// Size-routed checksum provider: short inputs to one provider, long ones to another. Used to put
// the pure-TS sum in front of the native one, whose fixed call cost dominates for small packets.

import type { ChecksumProvider } from '../ports/checksum.js';

export interface SizeRoutedChecksum extends ChecksumProvider {
  /** Sums of `len < threshold` bytes go to `small`, the rest to `large`. */
  readonly threshold: number;
  readonly small: ChecksumProvider;
  readonly large: ChecksumProvider;
}

/**
 * A provider that sends sums of fewer than `threshold` bytes to `small` and all others to `large`.
 * Both must implement the same sum (they are interchangeable by contract); `threshold` is 0 (always
 * `large`) or more, and Infinity means always `small`.
 */
export function sizeRoutedChecksum(small: ChecksumProvider, large: ChecksumProvider, threshold: number): SizeRoutedChecksum {
  if (!(threshold >= 0) || (threshold !== Infinity && !Number.isInteger(threshold))) {
    throw new RangeError(`sizeRoutedChecksum: threshold must be a non-negative integer or Infinity, got ${threshold}`);
  }
  return {
    name: `${small.name}<${threshold}<=${large.name}`,
    threshold,
    small,
    large,
    sum(buf: Uint8Array, off: number, len: number, seed: number): number {
      return len < threshold ? small.sum(buf, off, len, seed) : large.sum(buf, off, len, seed);
    },
  };
}
