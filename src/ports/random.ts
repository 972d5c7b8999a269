/**
 * Source of randomness for ISNs, ephemeral ports, IP IDs, DHCP xids, DNS ids.
 * Crypto-strength by default; seedable for deterministic tests. Two stacks never share one.
 */
export interface RandomSource {
  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void;
  /** A uniformly random unsigned 32-bit integer. */
  u32(): number;
  /** A uniformly random integer in [0, bound), bound <= 2^32. */
  below(bound: number): number;
}
