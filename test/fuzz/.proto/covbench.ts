import { CoverageDecoder, CoverageSession, FeatureMap } from '../coverage.js';
const cov = new CoverageSession((u) => u.includes('/test/fuzz/.proto/toy'));
cov.start();
const { parseToyOptions } = await import('./toy-nohang.js');
cov.take();
const fm = new FeatureMap(); const dec = new CoverageDecoder();
const inputs = ['fe040000', '01fe044d50', '0101fe044d50', '01010101', '020405b40402080a000000010000000001030307', '0303036103130303030303030204e1030303030303030303030303030303030303030204'].map((h) => Buffer.from(h, 'hex'));
let tTake = 0, tDec = 0, n = 0;
const t0 = performance.now();
while (performance.now() - t0 < 2000) {
  for (let i = 0; i < 16; i++) parseToyOptions(inputs[(n + i) % inputs.length]!);
  const a = performance.now(); const c = cov.take(); const b = performance.now(); fm.merge(dec.decode(c)); const e = performance.now();
  tTake += b - a; tDec += e - b; n++;
}
console.log('takes', n, 'take ms', (tTake / n).toFixed(3), 'decode ms', (tDec / n).toFixed(3));
