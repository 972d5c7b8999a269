import { tsSum } from '../../src/checksum/ts-checksum.js';
import { bestNsPerCall } from './bench-kit.js';
function randomBuffer(size: number): Uint8Array {
  const u8 = new Uint8Array(new ArrayBuffer(size + 64), 0, size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; u8[i] = x; }
  return u8;
}
const size = 9000; const buf = randomBuffer(size);
for (const iters of [100, 1000, 10000, 100000]) {
  const ns = bestNsPerCall([() => tsSum(buf, 0, size, 0)], iters, 9)[0]!;
  console.log(`round of ${iters} calls (~${(iters * ns / 1e6).toFixed(1)} ms): ${(size / ns).toFixed(2)} GB/s`);
}
