import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ChecksumProvider } from '../../src/ports/checksum.js';
import {
  continueSum,
  finishChecksum,
  fold16,
  internetChecksum,
  pseudoHeaderSumV4,
  sizeRoutedChecksum,
  tsChecksum,
  tsSum,
} from '../../src/checksum/index.js';
import { defaultChecksum, loadNative } from '../../src/api/native.js';
import { fill, referenceSum, swap16 } from './reference.js';

const native = loadNative();

// Every provider available in this process: TS always, plus each native kernel when the addon loaded.
const providers: ChecksumProvider[] = [
  tsChecksum,
  defaultChecksum(),
  ...(native?.checksumKernels() ?? []).map((k) => ({
    name: `native-${k}`,
    sum: (b: Uint8Array, off: number, len: number, seed: number) => native!.checksumSumWith(k, b, off, len, seed),
  })),
];

const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));

// A captured IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) with its valid checksum 0xb861.
const IPV4_HEADER = hex('450000730000400040 11b861c0a80001c0a800c7'.replace(/ /g, ''));

describe.each(providers.map((p) => [p.name, p] as const))('checksum known answers: %s', (_name, p) => {
  it('rfc1071_s3_example_sums_to_ddf2', () => {
    // RFC 1071 §3: 0001 + f203 + f4f5 + f6f7 = 0x2ddf0, folded 0xddf2.
    expect(p.sum(hex('0001f203f4f5f6f7'), 0, 8, 0)).toBe(0xddf2);
  });

  it('rfc1071_s3_example_at_every_offset_within_a_larger_buffer', () => {
    const b = new Uint8Array(200);
    for (let off = 0; off < 100; off++) {
      b.fill(0xee);
      b.set(hex('0001f203f4f5f6f7'), off);
      expect(p.sum(b, off, 8, 0)).toBe(0xddf2);
    }
  });

  it('valid_ipv4_header_sums_to_ffff', () => {
    expect(p.sum(IPV4_HEADER, 0, 20, 0)).toBe(0xffff);
    const zeroed = IPV4_HEADER.slice();
    zeroed[10] = zeroed[11] = 0;
    expect(internetChecksum(p, zeroed, 0, 20)).toBe(0xb861);
  });

  it('odd_length_pads_the_last_byte_as_a_high_byte', () => {
    // 0x0102 + 0x0300 = 0x0402
    expect(p.sum(hex('010203'), 0, 3, 0)).toBe(0x0402);
    expect(p.sum(hex('ab'), 0, 1, 0)).toBe(0xab00);
    expect(p.sum(hex('ab'), 0, 0, 0x1234)).toBe(0x1234);
  });

  it('all_zero_data_sums_to_0_but_nonzero_multiples_of_ffff_fold_to_ffff', () => {
    expect(p.sum(new Uint8Array(300), 0, 300, 0)).toBe(0);
    expect(p.sum(new Uint8Array(300).fill(0xff), 0, 300, 0)).toBe(0xffff);
    expect(p.sum(hex('fffe0001'), 0, 4, 0)).toBe(0xffff);
    expect(p.sum(new Uint8Array(300), 0, 300, 0xffff)).toBe(0xffff);
  });

  it('seed_is_added_with_end_around_carry', () => {
    // 0xffff + 0x0001 wraps to 0x0001; 0x8000 + 0x8000 wraps to 0x0001.
    expect(p.sum(hex('0001'), 0, 2, 0xffff)).toBe(0x0001);
    expect(p.sum(hex('8000'), 0, 2, 0x8000)).toBe(0x0001);
  });

  it('seed_chaining_at_an_even_split_equals_the_one_shot_sum', () => {
    const b = new Uint8Array(3000);
    fill(b, 'random', 7);
    for (const split of [0, 2, 64, 1000, 2998]) {
      const first = p.sum(b, 0, split, 0);
      expect(p.sum(b, split, b.length - split, first)).toBe(p.sum(b, 0, b.length, 0));
    }
  });

  it('seed_chaining_at_an_odd_split_needs_the_byte_swap_rule', () => {
    // After an odd number of bytes the next byte is a LOW byte: plain chaining is wrong,
    // continueSum (swap seed in, result out) is right.
    const b = hex('0102030405');
    const whole = p.sum(b, 0, 5, 0); // 0x0102 + 0x0304 + 0x0500 = 0x0906
    expect(whole).toBe(0x0906);
    const first = p.sum(b, 0, 3, 0); // 0x0102 + 0x0300
    expect(p.sum(b, 3, 2, first)).not.toBe(whole);
    expect(continueSum(p, first, 3, b, 3, 2)).toBe(whole);
    expect(swap16(p.sum(b, 3, 2, swap16(first)))).toBe(whole);
  });

  it('continueSum_over_random_splits_equals_the_one_shot_sum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (bytes, a, c, seed) => {
        const n = bytes.length;
        const s1 = n === 0 ? 0 : a % (n + 1);
        const s2 = s1 + (n - s1 === 0 ? 0 : c % (n - s1 + 1));
        let acc = p.sum(bytes, 0, s1, seed);
        acc = continueSum(p, acc, s1, bytes, s1, s2 - s1);
        acc = continueSum(p, acc, s2, bytes, s2, n - s2);
        expect(acc).toBe(p.sum(bytes, 0, n, seed));
        expect(acc).toBe(referenceSum(bytes, 0, n, seed));
      }),
      { numRuns: 200 },
    );
  });
});

describe('checksum helpers', () => {
  it('fold16_folds_with_end_around_carry_and_keeps_zero_distinct_from_ffff', () => {
    expect(fold16(0)).toBe(0);
    expect(fold16(0xffff)).toBe(0xffff);
    expect(fold16(0x10000)).toBe(1);
    expect(fold16(0x2ddf0)).toBe(0xddf2);
    expect(fold16(0xffff_ffff)).toBe(0xffff);
    expect(fold16(0x1_0000_0000)).toBe(1);
    expect(fold16(2 ** 53 - 1)).toBe(referenceFold(2 ** 53 - 1));
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(fold16(n)).toBe(referenceFold(n));
      }),
    );
  });

  it('finishChecksum_complements_the_folded_sum', () => {
    expect(finishChecksum(0xddf2)).toBe(0x220d);
    expect(finishChecksum(0x2ddf0)).toBe(0x220d);
    expect(finishChecksum(0xffff)).toBe(0);
    expect(finishChecksum(0)).toBe(0xffff);
  });

  it('pseudoHeaderSumV4_matches_summing_the_pseudo_header_bytes', () => {
    const src = 0xc0a80001;
    const dst = 0xc0a800c7;
    const bytes = hex('c0a80001c0a800c7001100 5f'.replace(/ /g, ''));
    expect(pseudoHeaderSumV4(src, dst, 17, 0x5f)).toBe(tsSum(bytes, 0, 12, 0));
  });

  it('sizeRoutedChecksum_sends_short_sums_to_small_and_the_rest_to_large', () => {
    const calls: string[] = [];
    const spy = (name: string): ChecksumProvider => ({
      name,
      sum: (b, off, len, seed) => {
        calls.push(`${name}:${len}`);
        return tsSum(b, off, len, seed);
      },
    });
    const routed = sizeRoutedChecksum(spy('s'), spy('l'), 100);
    const b = new Uint8Array(200);
    routed.sum(b, 0, 99, 0);
    routed.sum(b, 0, 100, 0);
    routed.sum(b, 0, 0, 0);
    expect(calls).toEqual(['s:99', 'l:100', 's:0']);
    expect(routed.name).toBe('s<100<=l');
    expect(() => sizeRoutedChecksum(tsChecksum, tsChecksum, -1)).toThrow(RangeError);
    expect(() => sizeRoutedChecksum(tsChecksum, tsChecksum, 1.5)).toThrow(RangeError);
    expect(sizeRoutedChecksum(tsChecksum, tsChecksum, Infinity).threshold).toBe(Infinity);
  });

  it('tsSum_reads_correctly_after_the_word_view_cache_switches_buffers', () => {
    // The TS provider caches one word view per ArrayBuffer: alternate buffers and lengths.
    const a = new Uint8Array(5000);
    const b = new Uint8Array(7000);
    fill(a, 'random', 1);
    fill(b, 'random', 2);
    for (let i = 0; i < 20; i++) {
      const [buf, len] = i % 2 === 0 ? [a, 4999 - i] : [b, 6000 + i];
      expect(tsSum(buf, i, len - i, i)).toBe(referenceSum(buf, i, len - i, i));
    }
  });
});

function referenceFold(n: number): number {
  while (n > 0xffff) n = (n % 0x10000) + Math.floor(n / 0x10000);
  return n;
}
