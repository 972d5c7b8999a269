// Buffer pool cost: one SlabPool acquire+release (heap slabs, and native slabs when the addon is
// loaded) against the allocation it replaces, `new Uint8Array(n)` (zero-filled, later collected),
// for a 1500-byte frame and a 64 KiB datagram.
// Standalone: `node --import tsx bench/pool.bench.ts`; writes bench/results/pool.json.
import b from 'benny';
import { SlabPool } from '../src/pool/index.js';
import { nativeSlabMemory, nativeStatus } from '../src/api/native.js';
import { isEntryPoint, printTable, writeResults } from './support/bench-kit.js';

const SIZES = [1500, 65536];

export async function run(): Promise<unknown> {
  const heapPool = new SlabPool();
  const memory = nativeSlabMemory();
  const nativePool = memory ? new SlabPool({ memory }) : null;
  if (!nativePool) console.log(`native addon not loaded (${nativeStatus().reason}): heap slabs only`);

  // Short samples, best and mean both reported: see bench/checksum.bench.ts.
  const opts = { minTime: 0.002, minSamples: 40, maxTime: 1.5 };
  let sink = 0;
  const rows: { size: number; nsMean: Record<string, number>; nsBest: Record<string, number> }[] = [];
  for (const size of SIZES) {
    // Distinct function literals per case so each call site keeps its own type feedback.
    const cases = [
      b.add('new Uint8Array', () => {
        sink += new Uint8Array(size).length;
      }, opts),
      b.add('SlabPool heap', () => {
        const buf = heapPool.acquire(size)!;
        sink += buf.length;
        heapPool.release(buf);
      }, opts),
    ];
    if (nativePool) {
      cases.push(
        b.add('SlabPool native', () => {
          const buf = nativePool.acquire(size)!;
          sink += buf.length;
          nativePool.release(buf);
        }, opts),
      );
    }
    const summary = await b.suite(`pool ${size} B`, ...cases, b.cycle());
    const ns = (x: number) => +(x * 1e9).toFixed(1);
    rows.push({
      size,
      nsMean: Object.fromEntries(summary.results.map((r) => [r.name, ns(r.details.mean)])),
      nsBest: Object.fromEntries(summary.results.map((r) => [r.name, ns(r.details.min)])),
    });
  }
  if (heapPool.inUse !== 0 || (nativePool?.inUse ?? 0) !== 0) throw new Error('pool bench leaked buffers');

  const names = ['new Uint8Array', 'SlabPool heap', ...(nativePool ? ['SlabPool native'] : [])];
  const table = [['bytes', ...names.map((n) => `${n} ns mean/best`), 'new/pool(heap) mean/best']];
  for (const r of rows) {
    table.push([
      String(r.size),
      ...names.map((n) => `${r.nsMean[n]!.toFixed(1)} / ${r.nsBest[n]!.toFixed(1)}`),
      `x${(r.nsMean['new Uint8Array']! / r.nsMean['SlabPool heap']!).toFixed(1)} / x${(r.nsBest['new Uint8Array']! / r.nsBest['SlabPool heap']!).toFixed(1)}`,
    ]);
  }
  console.log('\nacquire+release vs allocate, ns per op (benny mean / fastest sample)');
  printTable(table);
  if (sink === -1) console.log(sink);

  const result = { node: process.version, arch: process.arch, sizes: rows, pool: heapPool.stats() };
  console.log(`results written to ${writeResults('pool', result)}`);
  return result;
}

if (isEntryPoint(import.meta.url)) await run();
