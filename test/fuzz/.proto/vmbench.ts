import { Script } from 'node:vm';
import { CoverageSession } from '../coverage.js';
const cov = new CoverageSession((u) => u.includes('/test/fuzz/.proto/toy'));
cov.start();
const { Mutator } = await import('../mutate.js');
const { seededRandom } = await import('../../../src/random/chacha.js');
const { parseToyOptions } = await import('./toy-nohang.js');
const m = new Mutator(seededRandom(1), { maxLen: 40 });
const base = Buffer.from('020405b40402080a000000010000000001030307', 'hex');
let takeMs = 0;
const work = (ms: number) => { let n = 0; const t0 = performance.now(); while (performance.now() - t0 < ms) { for (let i = 0; i < 16; i++) { parseToyOptions(m.mutate(base, () => base)); n++; } const a = performance.now(); cov.take(); takeMs += performance.now() - a; } return n; };
(globalThis as any).__w = () => { (globalThis as any).__n = work(50); };
const sc = new Script('__w()');
const res: Record<string, [number, number]> = { plain: [0, 0], vm: [0, 0] };
for (let rep = 0; rep < 6; rep++) {
  for (const mode of ['plain', 'vm'] as const) {
    let n = 0; takeMs = 0; const t0 = performance.now();
    while (performance.now() - t0 < 300) { if (mode === 'vm') { sc.runInThisContext({ timeout: 1100 }); n += (globalThis as any).__n; } else n += work(50); }
    res[mode]![0] += n; res[mode]![1] += takeMs;
  }
}
console.log(JSON.stringify(res));
