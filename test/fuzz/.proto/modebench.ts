import { Session } from 'node:inspector';
const mode = process.argv[2]!;
const s = new Session(); s.connect();
const post = (m: string, p?: object): any => { let r: any; s.post(m, p ?? {}, (e, x) => { if (e) throw e; r = x; }); return r; };
if (mode !== 'none') { post('Profiler.enable'); post('Profiler.startPreciseCoverage', mode === 'count' ? { callCount: true, detailed: true } : mode === 'binary' ? { callCount: false, detailed: true } : { callCount: true, detailed: false }); }
const { Mutator } = await import('../mutate.js');
const { seededRandom } = await import('../../../src/random/chacha.js');
const { parseToyOptions } = await import('./toy-nohang.js');
const m = new Mutator(seededRandom(1), { maxLen: 40 });
const base = Buffer.from('020405b40402080a000000010000000001030307', 'hex');
let n = 0; const t0 = performance.now();
while (performance.now() - t0 < 1500) { for (let i = 0; i < 16; i++) { parseToyOptions(m.mutate(base, () => base)); n++; } if (mode !== 'none' && n % Number(process.argv[3] ?? 1600) === 0) post('Profiler.takePreciseCoverage'); }
console.log(mode, Math.round(n / 1.5), 'execs/s');
