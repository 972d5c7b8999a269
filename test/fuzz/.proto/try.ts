import { fuzz, formatProgress } from '../engine.js';
const [target, mode, batch, secs, seed] = process.argv.slice(2);
const mod = target === 'udp' ? undefined : new URL(process.env.TOY ?? '../planted/toy-options.ts', import.meta.url);
const r = await fuzz({ target: target!, targetsModule: mod, mode: mode as 'guided', batchSize: Number(batch), seconds: Number(secs), seed: seed ?? 1, hangTimeoutMs: 250, inWorkerTimeout: process.env.SOFT !== '0', findingsDir: '/tmp/fz-findings', corpusDir: process.env.CORPUS,
  onProgress: (p) => console.error(formatProgress(p)), onFinding: (f) => console.error('FINDING', f.kind, f.execs, Buffer.from(f.input).toString('hex'), f.message.split('\n')[0]),
  stopWhen: (p) => p.crashes > 0 && p.hangs > 0 });
console.log(JSON.stringify({ ...r, findings: r.findings.length }));
