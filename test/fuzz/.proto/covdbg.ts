import { CoverageDecoder, CoverageSession, FeatureMap } from '../coverage.js';
const cov = new CoverageSession((u) => u.includes('/test/fuzz/.proto/toy'));
cov.start();
const { parseToyOptions } = await import('./toy-nohang.js');
cov.take();
const fm = new FeatureMap(); const dec = new CoverageDecoder();
for (const hex of ['fe040000', 'fe040000', 'fe044000', 'fe044d00', 'fe044d50', '01fe044d50', '0101fe044d50', '01010101', 'fe040000']) {
  parseToyOptions(Buffer.from(hex, 'hex'));
  const c = cov.take();
  const n = fm.merge(dec.decode(c));
  console.log(hex, 'new', n, 'total', fm.size);
}
