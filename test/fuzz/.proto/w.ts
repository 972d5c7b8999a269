import { parentPort, workerData } from 'node:worker_threads';
import { Session } from 'node:inspector';
const s = new Session(); s.connect();
function post(m: string, p?: object): any { let r: any, e: any; let done = false; s.post(m, p ?? {}, (err, res) => { e = err; r = res; done = true; }); if (!done) throw new Error('async'); if (e) throw e; return r; }
post('Profiler.enable'); post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
const { UdpPacket, UdpRepr } = await import('/work/main/src/wire/udp.ts');
const first = post('Profiler.takePreciseCoverage');
console.log('scripts', first.result.length, first.result.map((x: any) => x.url).filter((u: string) => !u.startsWith('node:')).slice(0, 20));
const b = new Uint8Array(20); b[5] = 12;
for (const batch of [1, 4, 16, 64]) {
  const t0 = performance.now(); let n = 0; let c: any;
  while (performance.now() - t0 < 1000) { for (let i = 0; i < batch; i++) { b[0] = n & 0xff; UdpPacket.check(b); n++; } c = post('Profiler.takePreciseCoverage'); }
  parentPort!.postMessage(['batch', batch, n, JSON.stringify(c).length]);
}
parentPort!.postMessage('done');
