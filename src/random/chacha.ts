// ChaCha20 keystream (RFC 8439 §2.3) as a RandomSource: crypto-strength and, given a seed,
// reproducible, so deterministic tests use the same generator as production. The default seed comes
// from the platform CSPRNG (globalThis.crypto, present in Node 20 and browsers; no node:* import).

import type { RandomSource } from '../ports/random.js';

function rotl(v: number, n: number): number {
  return (v << n) | (v >>> (32 - n));
}

function quarter(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  x[a] = (x[a]! + x[b]!) | 0; x[d] = rotl(x[d]! ^ x[a]!, 16);
  x[c] = (x[c]! + x[d]!) | 0; x[b] = rotl(x[b]! ^ x[c]!, 12);
  x[a] = (x[a]! + x[b]!) | 0; x[d] = rotl(x[d]! ^ x[a]!, 8);
  x[c] = (x[c]! + x[d]!) | 0; x[b] = rotl(x[b]! ^ x[c]!, 7);
}

/** Computes one 64-byte ChaCha20 block for `state` into `out` (16 words). */
export function chachaBlock(state: Uint32Array, out: Uint32Array): void {
  out.set(state);
  for (let i = 0; i < 10; i++) {
    quarter(out, 0, 4, 8, 12); quarter(out, 1, 5, 9, 13); quarter(out, 2, 6, 10, 14); quarter(out, 3, 7, 11, 15);
    quarter(out, 0, 5, 10, 15); quarter(out, 1, 6, 11, 12); quarter(out, 2, 7, 8, 13); quarter(out, 3, 4, 9, 14);
  }
  for (let i = 0; i < 16; i++) out[i] = (out[i]! + state[i]!) | 0;
}

export class ChaChaRandom implements RandomSource {
  private readonly state = new Uint32Array(16);
  private readonly block = new Uint32Array(16);
  private readonly blockBytes = new Uint8Array(this.block.buffer);
  private pos = 64;

  /** `key` is 32 bytes; the nonce is zero (one stream per key). */
  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError('ChaChaRandom needs a 32-byte key');
    this.state.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
    const kv = new DataView(key.buffer, key.byteOffset, 32);
    for (let i = 0; i < 8; i++) this.state[4 + i] = kv.getUint32(i * 4, true);
  }

  private refill(): void {
    chachaBlock(this.state, this.block);
    // 64-bit block counter in words 12..13 (nonce words 14..15 stay zero).
    this.state[12] = (this.state[12]! + 1) | 0;
    if (this.state[12] === 0) this.state[13] = (this.state[13]! + 1) | 0;
    this.pos = 0;
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) {
      if (this.pos === 64) this.refill();
      out[i] = this.blockBytes[this.pos++]!;
    }
  }

  u32(): number {
    if (this.pos > 60) this.refill();
    const p = this.pos;
    this.pos += 4;
    const b = this.blockBytes;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  below(bound: number): number {
    if (!(bound > 0 && bound <= 0x1_0000_0000)) throw new RangeError(`bound ${bound} out of range`);
    // Rejection sampling keeps the result unbiased.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
    for (;;) {
      const v = this.u32();
      if (v < limit) return v % bound;
    }
  }
}

/** Deterministic generator for tests and `--seed`: the seed expands to a ChaCha key. */
export function seededRandom(seed: number | bigint | string): RandomSource {
  const key = new Uint8Array(32);
  const text = String(seed);
  // Spread the seed text over the key, then stir with one block so similar seeds diverge.
  for (let i = 0; i < text.length; i++) key[i % 32] = (key[i % 32]! * 31 + text.charCodeAt(i)) & 0xff;
  key[31] = text.length & 0xff;
  const stir = new ChaChaRandom(key);
  const stirred = new Uint8Array(32);
  stir.fill(stirred);
  return new ChaChaRandom(stirred);
}

/** Crypto-strength generator keyed from the platform CSPRNG. */
export function cryptoRandom(): RandomSource {
  const c = (globalThis as { crypto?: { getRandomValues(a: Uint8Array): Uint8Array } }).crypto;
  if (!c) throw new Error('no platform CSPRNG (globalThis.crypto) available; pass a RandomSource');
  const key = new Uint8Array(32);
  c.getRandomValues(key);
  return new ChaChaRandom(key);
}
