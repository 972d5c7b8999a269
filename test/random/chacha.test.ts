import { describe, expect, it } from 'vitest';
import { ChaChaRandom, chachaBlock, cryptoRandom, seededRandom } from '../../src/random/chacha.js';

describe('ChaCha20 random source', () => {
  it('matches the RFC 8439 §2.3.2 block function test vector', () => {
    const state = new Uint32Array([
      0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c,
      0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c, 0x00000001, 0x09000000, 0x4a000000, 0x00000000,
    ]);
    const out = new Uint32Array(16);
    chachaBlock(state, out);
    expect(Array.from(out.slice(0, 4))).toEqual([0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3]);
    expect(out[15]).toBe(0x4e3c50a2);
  });

  it('is reproducible for a seed and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
  });

  it('below() stays in range and covers it roughly uniformly', () => {
    const r = seededRandom('uniform');
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) counts[r.below(10)]++;
    for (const n of counts) expect(Math.abs(n - 2000)).toBeLessThan(200);
    expect(() => r.below(0)).toThrow(RangeError);
  });

  it('crypto-keyed generators are independent', () => {
    const a = cryptoRandom();
    const b = cryptoRandom();
    expect(a.u32() === b.u32() && a.u32() === b.u32()).toBe(false);
    expect(() => new ChaChaRandom(new Uint8Array(16))).toThrow(RangeError);
  });
});
