// Smoke test: every registered fuzz target survives its own seeds and a short bounded fuzz run.

import { describe, expect, it } from 'vitest';
import { fuzz } from './engine.js';
import { fuzzTargets } from './targets.js';

describe('fuzz target registry', () => {
  it('has unique names and sane limits', () => {
    const names = fuzzTargets.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of fuzzTargets) {
      expect(t.seeds.length, t.name).toBeGreaterThan(0);
      expect(t.maxLen, t.name).toBeGreaterThan(0);
      for (const s of t.seeds) expect(s.length, t.name).toBeLessThanOrEqual(t.maxLen);
    }
  });

  it.each(fuzzTargets.map((t) => [t.name, t] as const))('%s: seeds parse and pass the invariants', (_name, t) => {
    for (const s of t.seeds) {
      expect(() => t.parse(s)).not.toThrow();
      expect(() => t.run(s)).not.toThrow();
    }
  });

  it.each(fuzzTargets.map((t) => [t.name] as const))(
    '%s: 2 s / 5k executions of guided fuzzing find nothing',
    async (name) => {
      const r = await fuzz({ target: name, seconds: 2, maxExecs: 5_000, seed: 'smoke' });
      const detail = r.findings.map((f) => `${f.kind} ${f.file ?? f.sha1}: ${f.message.split('\n')[0]}`).join('\n');
      expect(r.crashes + r.hangs, detail).toBe(0);
      expect(r.execs).toBeGreaterThan(0);
    },
    30_000,
  );
});
