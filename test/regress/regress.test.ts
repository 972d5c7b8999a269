// Regression corpus: every test/regress/<target>/<id>.bin runs through the named fuzz target's parser
// and invariants (in a watched worker, so a returning hang fails the test instead of stalling it), and
// the verdict must match its <id>.json. Fuzzer findings become entries here once fixed.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../fuzz/engine.js';
import type { ReplayOutcome } from '../fuzz/engine.js';
import { targetNames } from '../fuzz/targets.js';
import { loadCases } from './cases.js';
import type { RegressCase } from './cases.js';

const ROOT = fileURLToPath(new URL('./', import.meta.url));
const { cases, problems } = loadCases(ROOT);
const byTarget = new Map<string, RegressCase[]>();
for (const c of cases) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);

function verdictProblem(c: RegressCase, o: ReplayOutcome): string | null {
  if (o.outcome !== 'ok') return `${c.where}: ${o.outcome}: ${o.error ?? ''}`;
  const v = o.verdict!;
  if (c.expect === 'accept' && !v.accepted) return `${c.where}: expected accept, got reject ${v.proto}.${v.field}: ${v.reason}`;
  if (c.expect === 'reject' && v.accepted) return `${c.where}: expected reject${c.field ? ` (field '${c.field}')` : ''}, got accept`;
  if (c.expect === 'reject' && !v.accepted && c.field !== undefined && v.field !== c.field) {
    return `${c.where}: expected reject on field '${c.field}', got '${v.field}': ${v.reason}`;
  }
  return null;
}

describe('regression corpus', () => {
  it('is well formed: paired files, valid JSON, known targets', () => {
    expect(problems).toEqual([]);
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.filter((c) => !targetNames.includes(c.target)).map((c) => `${c.where}: no fuzz target '${c.target}'`)).toEqual([]);
  });

  it.each([...byTarget.keys()].filter((t) => targetNames.includes(t)).map((t) => [t]))(
    '%s: every case gets its expected verdict and passes the invariants',
    async (target) => {
      const list = byTarget.get(target)!;
      const out = await replay({ target, inputs: list.map((c) => c.input), hangTimeoutMs: 2_000 });
      const failures = list.map((c, i) => verdictProblem(c, out[i]!)).filter((p) => p !== null);
      expect(failures).toEqual([]);
    },
    60_000,
  );
});

describe('regression corpus loader', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'picotcp-regress-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reports orphans, bad metadata and misplaced files instead of skipping them', () => {
    const dir = join(tmp, 'udp');
    mkdirSync(dir, { recursive: true });
    const ok = { target: 'udp', expect: 'reject', field: 'length', note: 'length below the header' };
    writeFileSync(join(dir, 'good.bin'), Uint8Array.from([0, 0, 0, 0, 0, 7, 0, 0]));
    writeFileSync(join(dir, 'good.json'), JSON.stringify(ok));
    writeFileSync(join(dir, 'orphan.bin'), Uint8Array.from([1]));
    writeFileSync(join(dir, 'lonely.json'), JSON.stringify(ok));
    writeFileSync(join(dir, 'wrong-target.bin'), Uint8Array.from([1]));
    writeFileSync(join(dir, 'wrong-target.json'), JSON.stringify({ ...ok, target: 'tcp' }));
    writeFileSync(join(dir, 'bad-expect.bin'), Uint8Array.from([1]));
    writeFileSync(join(dir, 'bad-expect.json'), JSON.stringify({ ...ok, expect: 'maybe' }));
    writeFileSync(join(dir, 'no-note.bin'), Uint8Array.from([1]));
    writeFileSync(join(dir, 'no-note.json'), JSON.stringify({ target: 'udp', expect: 'accept' }));
    writeFileSync(join(dir, 'broken.bin'), Uint8Array.from([1]));
    writeFileSync(join(dir, 'broken.json'), '{ nope');
    writeFileSync(join(dir, 'README.txt'), 'x');
    const { cases: got, problems: found } = loadCases(tmp);
    expect(got.map((c) => c.where)).toEqual(['udp/good']);
    expect(got[0]).toMatchObject({ expect: 'reject', field: 'length', input: Uint8Array.from([0, 0, 0, 0, 0, 7, 0, 0]) });
    const text = found.join('\n');
    for (const what of ['orphan: orphan.bin has no orphan.json', 'lonely: lonely.json has no lonely.bin', 'wrong-target', 'bad-expect', 'no-note', 'broken', 'README.txt']) {
      expect(text).toContain(what);
    }
  });

  it('flags a verdict that does not match', () => {
    const c: RegressCase = { target: 'udp', id: 'x', where: 'udp/x', input: new Uint8Array(0), expect: 'reject', field: 'length', note: 'n' };
    const rejectedOnHeader: ReplayOutcome = { index: 0, outcome: 'ok', verdict: { accepted: false, proto: 'udp', field: 'header', reason: 'short' }, error: null };
    expect(verdictProblem(c, rejectedOnHeader)).toContain(`expected reject on field 'length', got 'header'`);
    expect(verdictProblem(c, { index: 0, outcome: 'ok', verdict: { accepted: true }, error: null })).toContain('got accept');
    expect(verdictProblem(c, { index: 0, outcome: 'hang', verdict: null, error: 'no progress' })).toContain('hang');
    expect(verdictProblem({ ...c, field: undefined } as unknown as RegressCase, rejectedOnHeader)).toBeNull();
  });
});
