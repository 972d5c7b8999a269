// Pure TypeScript RFC 1071 ones'-complement sum. The hot loop reads aligned 32-bit little-endian
// words through a Uint32Array over the same memory and accumulates them in a double (exact up to
// 2^53, i.e. 8 MiB of input between folds); byte order is fixed up once at the end (RFC 1071 §2B).

import type { ChecksumProvider } from '../ports/checksum.js';

/** Folds a non-negative integer (< 2^53) to a 16-bit ones'-complement sum. */
export function fold16(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >>> 8);
}

// Byte-at-a-time path for short inputs: word k is (b[off+2k] << 8) | b[off+2k+1].
function sumBytes(b: Uint8Array, off: number, len: number): number {
  let acc = 0;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (i === end) acc += b[i]! << 8;
  return acc;
}

const WORDS_PER_FOLD = 1 << 20; // 4 MiB of input per double accumulator before folding

/** Ones'-complement sum; see ChecksumProvider.sum. */
export function tsSum(b: Uint8Array, off: number, len: number, seed: number): number {
  if (len < 64) return fold16(sumBytes(b, off, len) + seed);
  const abs = b.byteOffset + off;
  const lead = (4 - (abs & 3)) & 3;
  let acc = seed + sumBytes(b, off, lead);
  const wordStart = abs + lead;
  const words = (len - lead) >>> 2;
  const u32 = new Uint32Array(b.buffer, wordStart, words);
  let wordSum = 0;
  for (let base = 0; base < words; base += WORDS_PER_FOLD) {
    const stop = Math.min(words, base + WORDS_PER_FOLD);
    let s = 0;
    for (let i = base; i < stop; i++) s += u32[i]!;
    wordSum = fold16(wordSum + fold16(s));
  }
  // Little-endian words put the byte at even relative position in the low half: swap back when
  // the aligned block started on an even (high-byte) position relative to `off`.
  acc += (lead & 1) === 0 ? swap16(wordSum) : wordSum;
  const tailStart = lead + words * 4;
  const tailLen = len - tailStart;
  if (tailLen > 0) {
    const t = sumBytes(b, off + tailStart, tailLen);
    // The tail starts at an even relative offset only if tailStart is even.
    acc += (tailStart & 1) === 0 ? t : swap16(fold16(t));
  }
  return fold16(acc);
}

export const tsChecksum: ChecksumProvider = { name: 'ts', sum: tsSum };
