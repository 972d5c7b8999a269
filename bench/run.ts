// `npm run bench [-- name ...]`: runs every bench/*.bench.ts (or the named ones) in one process, each
// printing its own table with ratios against a baseline measured in the same run, and writes all
// results to bench/results/all.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmarks match ${wanted.join(', ')}`);
  process.exit(2);
}

const results: Record<string, unknown> = {
  node: process.version,
  arch: process.arch,
  date: new Date().toISOString(),
};
for (const f of files) {
  const name = f.replace(/\.bench\.ts$/, '');
  console.log(`\n=== ${name} ===`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run?: () => Promise<unknown> };
  if (typeof mod.run !== 'function') {
    console.error(`${f} does not export run()`);
    process.exitCode = 1;
    continue;
  }
  results[name] = await mod.run();
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'all.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nresults written to bench/results/all.json`);
