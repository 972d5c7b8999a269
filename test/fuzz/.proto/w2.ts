import { parentPort } from 'node:worker_threads';
import { Session } from 'node:inspector';
const s = new Session(); s.connect();
function post(m: string, p?: object): any { let r: any, e: any; let done = false; s.post(m, p ?? {}, (err, res) => { e = err; r = res; done = true; }); if (!done) throw new Error('async'); if (e) throw e; return r; }
post('Profiler.enable'); post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
const { UdpPacket } = await import('../../../src/wire/udp.js');
const measure = (label: string) => {
  const b = new Uint8Array(20); b[5] = 12;
  post('Profiler.takePreciseCoverage');
  const t0 = performance.now(); let n = 0; let c: any;
  while (performance.now() - t0 < 500) { UdpPacket.check(b); c = post('Profiler.takePreciseCoverage'); n++; }
  const fns = c.result.reduce((a: number, x: any) => a + x.functions.length, 0);
  parentPort!.postMessage([label, 'takes/s', n * 2, 'scripts', c.result.length, 'fns', fns, c.result.filter((x: any) => x.functions.length > 20).map((x: any) => x.url + ':' + x.functions.length).join(' ')]);
};
measure('base');
await import('../mutate.js'); await import('../coverage.js'); await import('../harness.js');
measure('after engine');
parentPort!.postMessage('done');
