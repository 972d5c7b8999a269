// Small shared pieces of the benny suites: entry-point detection, result files, plain tables and a
// tight-loop timer for scans where a full benny case per point would take minutes.
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when the module with this import.meta.url is the process entry point (not imported by bench/run.ts). */
export function isEntryPoint(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(fileURLToPath(metaUrl)) === realpathSync(entry);
  } catch {
    return false;
  }
}

/** Writes `data` as bench/results/<name>.json and returns the path. */
export function writeResults(name: string, data: unknown): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** Prints rows as an aligned text table (first row = header). */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/**
 * Nanoseconds per call of each function, best of `rounds` interleaved rounds of `iterations` calls.
 * Interleaving and taking the minimum keeps a noisy (shared) machine from favouring whichever
 * function happened to run during a quiet moment.
 */
export function bestNsPerCall(fns: readonly (() => unknown)[], iterations: number, rounds: number): number[] {
  const best = fns.map(() => Infinity);
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < iterations; k++) sink += fn() as number;
      const ns = Number(process.hrtime.bigint() - t0) / iterations;
      if (ns < best[i]!) best[i] = ns;
    });
  }
  if (sink === -1) console.log(sink); // keep the calls observable
  return best;
}
