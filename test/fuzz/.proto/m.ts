import { Worker } from 'node:worker_threads';
const t0 = performance.now();
const w = new Worker(new URL('./w.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
w.on('message', (m) => { console.log('msg', m, performance.now() - t0); w.terminate(); });
w.on('error', (e) => console.log('err', e));
w.on('online', () => console.log('online', performance.now() - t0));
