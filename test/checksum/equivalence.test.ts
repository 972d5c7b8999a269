// Property tests: every checksum implementation in the process — the pure-TS provider and each
// native kernel (scalar, sse2, avx2 as the CPU allows) — returns exactly what a naive reference
// returns, for any alignment, offset, length and seed.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tsSum } from '../../src/checksum/index.js';
import { defaultChecksum, loadNative } from '../../src/api/native.js';
import { fill, referenceSum } from './reference.js';
import type { FillPattern } from './reference.js';

const native = loadNative();
const kernels = native?.checksumKernels() ?? [];

// Lengths weighted toward the small sizes packets have and the SIMD block edges (16/32/64/128
// bytes, where a kernel switches from vector body to tail), with some up to 70 000 bytes.
const edge = fc
  .tuple(fc.constantFrom(16, 32, 64, 128, 256), fc.integer({ min: 1, max: 4 }), fc.integer({ min: -3, max: 3 }))
  .map(([block, k, d]) => Math.max(0, block * k + d));
const length = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 80 }) },
  { weight: 4, arbitrary: edge },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
);

const caseArb = fc.record({
  byteOffset: fc.integer({ min: 0, max: 63 }), // of the Uint8Array within its ArrayBuffer
  off: fc.integer({ min: 0, max: 63 }), // passed to sum()
  len: length,
  slack: fc.integer({ min: 0, max: 9 }),
  seed: fc.integer({ min: 0, max: 0xffff }),
  pattern: fc.constantFrom<FillPattern>('random', 'random', 'ones', 'zeros', 'sparse'),
  fillSeed: fc.integer(),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function makeView(c: Case): Uint8Array {
  const ab = new ArrayBuffer(c.byteOffset + c.off + c.len + c.slack);
  const all = new Uint8Array(ab);
  fill(all, c.pattern, c.fillSeed);
  return new Uint8Array(ab, c.byteOffset);
}

describe('checksum equivalence', () => {
  it('ts_matches_the_reference_for_random_buffers_offsets_lengths_and_seeds', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const view = makeView(c);
        expect(tsSum(view, c.off, c.len, c.seed)).toBe(referenceSum(view, c.off, c.len, c.seed));
      }),
      { numRuns: 600 },
    );
  });

  it('default_provider_matches_the_reference', () => {
    const p = defaultChecksum();
    fc.assert(
      fc.property(caseArb, (c) => {
        const view = makeView(c);
        expect(p.sum(view, c.off, c.len, c.seed)).toBe(referenceSum(view, c.off, c.len, c.seed));
      }),
      { numRuns: 300 },
    );
  });

  it('ts_is_exact_for_16_MiB_of_ones_and_of_random_bytes_at_odd_offsets', () => {
    const big = new Uint8Array(16 * 1024 * 1024 + 5);
    big.fill(0xff);
    expect(tsSum(big, 1, big.length - 1, 0x1234)).toBe(referenceSum(big, 1, big.length - 1, 0x1234));
    fill(big, 'random', 99);
    expect(tsSum(big, 3, big.length - 3, 7)).toBe(referenceSum(big, 3, big.length - 3, 7));
  });
});

describe.skipIf(!native)('native checksum kernels equal TS and the reference', () => {
  it('exposes_at_least_the_scalar_kernel_and_an_active_one_among_them', () => {
    expect(kernels).toContain('scalar');
    expect(kernels).toContain(native!.checksumImpl());
  });

  it.each(kernels)('%s_matches_ts_and_reference_byte_for_byte', (k) => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const view = makeView(c);
        const want = referenceSum(view, c.off, c.len, c.seed);
        expect(native!.checksumSumWith(k, view, c.off, c.len, c.seed)).toBe(want);
        expect(tsSum(view, c.off, c.len, c.seed)).toBe(want);
      }),
      { numRuns: 500 },
    );
  });

  it.each(kernels)('%s_has_no_accumulator_overflow_up_to_16_MiB', (k) => {
    // All-ones maximises every lane; all-zeros drives the biased SIMD lanes to their most negative
    // value; random catches lost carries. Odd offsets put the body on both word parities.
    const big = new Uint8Array(16 * 1024 * 1024 + 7);
    for (const pattern of ['ones', 'zeros', 'random'] as const) {
      fill(big, pattern, 1234);
      for (const off of [0, 1, 6]) {
        const len = big.length - off;
        expect(native!.checksumSumWith(k, big, off, len, 0xabc)).toBe(referenceSum(big, off, len, 0xabc));
      }
    }
  });

  it('checksumSum_uses_the_active_kernel_and_matches_checksumSumWith', () => {
    const b = new Uint8Array(3001);
    fill(b, 'random', 5);
    const impl = native!.checksumImpl();
    expect(native!.checksumSum(b, 1, 3000, 9)).toBe(native!.checksumSumWith(impl, b, 1, 3000, 9));
    expect(native!.checksumSum(b, 1, 3000, 9)).toBe(referenceSum(b, 1, 3000, 9));
  });

  it('accepts_seeds_up_to_2_32_minus_1_with_the_same_result_as_ts', () => {
    const b = new Uint8Array(100).fill(0x5a);
    for (const seed of [0x10000, 0x12345678, 0xffff_ffff]) {
      expect(native!.checksumSum(b, 0, 100, seed)).toBe(tsSum(b, 0, 100, seed));
    }
  });
});
