// RFC 1624 incremental update: rewriting fields (TTL, NAT addresses and ports) must give the same
// checksum as recomputing it, including the case where the right answer is 0x0000, which the older
// RFC 1141 formula gets wrong as 0xffff.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { finishChecksum, tsSum, updateChecksum16, updateChecksum32 } from '../../src/checksum/index.js';

const readU16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const writeU16 = (b: Uint8Array, o: number, v: number) => {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
};

// Checksum of a 20-byte IPv4 header with the checksum field (bytes 10-11) treated as zero.
function recompute(h: Uint8Array): number {
  const c = h.slice();
  writeU16(c, 10, 0);
  return finishChecksum(tsSum(c, 0, c.length, 0));
}

// Random IPv4-like headers: version/IHL fixed at 0x45 so the covered data is never all zero
// (the one input where RFC 1624 and recomputation legitimately differ: ~0 = 0xffff).
const header = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => {
  b[0] = 0x45;
  writeU16(b, 10, recompute(b));
  return b;
});
// Any 16-bit word of the header except the checksum field itself (word 5).
const wordIndex = fc.integer({ min: 0, max: 9 }).filter((i) => i !== 5);

describe('rfc1624 incremental checksum update', () => {
  it('update16_equals_recomputation_for_random_headers_and_word_changes', () => {
    fc.assert(
      fc.property(header, fc.array(fc.tuple(wordIndex, fc.integer({ min: 0, max: 0xffff })), { minLength: 1, maxLength: 6 }), (h, changes) => {
        let cs = readU16(h, 10);
        for (const [w, value] of changes) {
          cs = updateChecksum16(cs, readU16(h, w * 2), value);
          writeU16(h, w * 2, value);
        }
        expect(cs).toBe(recompute(h));
      }),
      { numRuns: 1000 },
    );
  });

  it('update32_equals_recomputation_for_a_nat_address_rewrite', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(12, 16), (h, addr, at) => {
        const old = ((readU16(h, at) << 16) | readU16(h, at + 2)) >>> 0;
        const cs = updateChecksum32(readU16(h, 10), old, addr);
        writeU16(h, at, addr >>> 16);
        writeU16(h, at + 2, addr & 0xffff);
        expect(cs).toBe(recompute(h));
      }),
      { numRuns: 500 },
    );
  });

  it('yields_0x0000_not_0xffff_when_the_new_data_sums_to_ffff', () => {
    // Pick a header and a new TTL/protocol word that make the covered data sum to 0xffff, so the
    // correct checksum is ~0xffff = 0x0000 (RFC 1624 §3-§5).
    const h = Uint8Array.from([0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 0x40, 0x06, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    writeU16(h, 10, recompute(h));
    const z = h.slice();
    writeU16(z, 8, 0); // the word we will rewrite
    writeU16(z, 10, 0); // the checksum field
    const target = ~tsSum(z, 0, 20, 0) & 0xffff; // the other words + target == 0xffff
    const hc = readU16(h, 10);
    const oldWord = readU16(h, 8);
    const updated = updateChecksum16(hc, oldWord, target);
    writeU16(h, 8, target);
    expect(recompute(h)).toBe(0x0000);
    expect(updated).toBe(0x0000);
    // RFC 1141's HC' = HC + m + ~m' lands on the other zero, 0xffff, for the same change.
    expect(rfc1141Update(hc, oldWord, target)).toBe(0xffff);
  });

  it('an_update_and_its_inverse_restore_any_checksum_eqn3_can_produce', () => {
    // Eqn 3 never yields 0xffff (that would need all-zero data), so 0..0xfffe are the reachable values.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xfffe }), (m, m2, hc) => {
        expect(updateChecksum16(updateChecksum16(hc, m, m2), m2, m)).toBe(hc);
      }),
    );
  });
});

function fold(n: number): number {
  while (n > 0xffff) n = (n & 0xffff) + Math.floor(n / 0x10000);
  return n;
}

// RFC 1141: HC' = HC + m + ~m' (ones' complement), shown by RFC 1624 to give 0xffff instead of 0.
function rfc1141Update(hc: number, m: number, m2: number): number {
  return fold(hc + m + (~m2 & 0xffff));
}
