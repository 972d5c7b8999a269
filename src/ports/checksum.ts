/**
 * RFC 1071 Internet checksum arithmetic. Implementations (pure TS, native SIMD) must be
 * byte-identical; property tests enforce it.
 */
export interface ChecksumProvider {
  /** Human-readable name for stats and benchmarks, e.g. 'ts' or 'native-avx2'. */
  readonly name: string;
  /**
   * Ones'-complement sum of `len` bytes of `buf` starting at `off`, as 16-bit big-endian words
   * (an odd trailing byte is padded with zero), added to `seed` (a previous partial sum, 0..0xffff).
   * Returns the folded 16-bit sum, NOT complemented.
   */
  sum(buf: Uint8Array, off: number, len: number, seed: number): number;
}
