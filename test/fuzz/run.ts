// CLI for the coverage-guided fuzzer: `npm run test:fuzz -- --target udp --seconds 60`.
// Progress goes to stderr, the summary to stdout; the exit status is 1 if anything crashed or hung.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_CORPUS_DIR, formatProgress, fuzz, loadTargets, replay } from './engine.js';
import type { FuzzResult } from './engine.js';
import type { FuzzMode } from './shared.js';

const USAGE = `usage: node --import tsx test/fuzz/run.ts [options] [--replay FILE...]
  --target NAME|all   target to fuzz (default all; --list shows them)
  --seconds N         time budget per target (default 10)
  --max-execs N       also stop after N executions per target
  --seed S            seed for the mutation RNG (default 1)
  --corpus [DIR]      load and save the corpus under DIR/<target>/ (default dir test/fuzz/corpus)
  --findings DIR      where crashes and hangs are written (default test/fuzz/findings)
  --mode guided|random  coverage-guided (default) or blind mutation of the seeds
  --batch N           inputs per coverage snapshot (default: adaptive)
  --timeout MS        per-execution hang limit (default 1000)
  --progress S        seconds between progress lines (default 2)
  --replay FILE...    run the given inputs once through --target and print the verdicts
  --list              list the registered targets`;

function fail(msg: string): never {
  process.stderr.write(`${msg}\n${USAGE}\n`);
  process.exit(2);
}

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} needs a non-negative number, got '${v}'`);
  return n;
}

// `--corpus` may be given without a directory.
function withCorpusDefault(argv: string[]): string[] {
  const out = [...argv];
  const i = out.indexOf('--corpus');
  if (i >= 0 && (i + 1 >= out.length || out[i + 1]!.startsWith('--'))) out.splice(i + 1, 0, DEFAULT_CORPUS_DIR);
  return out;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: withCorpusDefault(process.argv.slice(2)),
      allowPositionals: true,
      options: {
        target: { type: 'string', default: 'all' },
        seconds: { type: 'string' },
        'max-execs': { type: 'string' },
        seed: { type: 'string', default: '1' },
        corpus: { type: 'string' },
        findings: { type: 'string' },
        mode: { type: 'string', default: 'guided' },
        batch: { type: 'string' },
        timeout: { type: 'string' },
        progress: { type: 'string' },
        replay: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const o = parsed.values;
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const targets = await loadTargets();
  const names = targets.map((t) => t.name);
  if (o.list) {
    process.stdout.write(`${names.join('\n')}\n`);
    return 0;
  }
  const selected = o.target === 'all' ? names : [o.target!];
  for (const n of selected) if (!names.includes(n)) fail(`unknown target '${n}' (have: ${names.join(', ')})`);
  const timeout = num(o.timeout, 'timeout', 1000);

  if (o.replay) {
    if (selected.length !== 1) fail('--replay needs one --target');
    if (parsed.positionals.length === 0) fail('--replay needs input files');
    const inputs = parsed.positionals.map((f) => new Uint8Array(readFileSync(f)));
    const outcomes = await replay({ target: selected[0]!, inputs, hangTimeoutMs: timeout });
    let bad = 0;
    for (const r of outcomes) {
      const v = r.verdict === null ? '-' : r.verdict.accepted ? 'accept' : `reject ${r.verdict.proto}.${r.verdict.field}: ${r.verdict.reason}`;
      process.stdout.write(`${parsed.positionals[r.index]}: ${r.outcome} (${v})${r.error ? `\n${r.error}` : ''}\n`);
      if (r.outcome !== 'ok') bad++;
    }
    return bad > 0 ? 1 : 0;
  }

  if (o.mode !== 'guided' && o.mode !== 'random') fail(`--mode must be guided or random`);
  const maxExecs = o['max-execs'] === undefined ? undefined : num(o['max-execs'], 'max-execs', 0);
  const results: FuzzResult[] = [];
  for (const name of selected) {
    const r = await fuzz({
      target: name,
      seconds: num(o.seconds, 'seconds', 10),
      ...(maxExecs ? { maxExecs } : {}),
      seed: o.seed!,
      mode: o.mode as FuzzMode,
      batchSize: num(o.batch, 'batch', 0),
      hangTimeoutMs: timeout,
      ...(o.corpus ? { corpusDir: o.corpus } : {}),
      ...(o.findings ? { findingsDir: o.findings } : {}),
      progressIntervalMs: num(o.progress, 'progress', 2) * 1000,
      onProgress: (p) => process.stderr.write(`${formatProgress(p)}\n`),
      onFinding: (f) => process.stderr.write(`[${f.target}] ${f.kind.toUpperCase()} after ${f.execs} execs: ${f.file ?? f.sha1}\n  ${f.message.split('\n')[0]}\n`),
    });
    results.push(r);
  }
  process.stdout.write('\nsummary\n');
  for (const r of results) {
    process.stdout.write(
      `  ${r.target.padEnd(16)} ${String(r.execs).padStart(10)} execs ${String(Math.round(r.execsPerSec)).padStart(7)}/s ` +
        `corpus ${r.corpus} features ${r.features} crashes ${r.crashes} hangs ${r.hangs}\n`,
    );
    for (const f of r.findings) process.stdout.write(`    ${f.kind} ${f.file ?? f.sha1}\n`);
  }
  return results.some((r) => r.crashes + r.hangs > 0) ? 1 : 0;
}

process.exitCode = await main();
