// Regression corpus loader: test/regress/<target>/<id>.bin with a sibling <id>.json
// ({ "target", "expect": "reject" | "accept", "field"?, "note" }). Problems with the corpus itself
// (orphan files, bad JSON, a target that does not match its directory) are collected, not thrown, so
// the test can list them all.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface RegressCase {
  readonly target: string;
  readonly id: string;
  readonly input: Uint8Array;
  readonly expect: 'reject' | 'accept';
  /** For a rejection: the WireError field the parser must name. */
  readonly field?: string;
  readonly note: string;
  /** `<target>/<id>` for messages. */
  readonly where: string;
}

export interface LoadedCases {
  readonly cases: RegressCase[];
  readonly problems: string[];
}

function validMeta(raw: unknown, dirTarget: string): { meta?: Omit<RegressCase, 'id' | 'input' | 'where'>; problem?: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'not a JSON object' };
  const o = raw as Record<string, unknown>;
  const known = new Set(['target', 'expect', 'field', 'note']);
  const extra = Object.keys(o).filter((k) => !known.has(k));
  if (extra.length > 0) return { problem: `unknown keys ${extra.join(', ')}` };
  if (o.target !== dirTarget) return { problem: `"target" is ${JSON.stringify(o.target)} but the file is in ${dirTarget}/` };
  if (o.expect !== 'reject' && o.expect !== 'accept') return { problem: `"expect" must be "reject" or "accept"` };
  if (o.field !== undefined && (typeof o.field !== 'string' || o.field === '')) return { problem: `"field" must be a non-empty string` };
  if (o.field !== undefined && o.expect === 'accept') return { problem: `"field" only makes sense with "expect": "reject"` };
  if (typeof o.note !== 'string' || o.note.trim().length < 10) return { problem: `"note" must say why the case exists` };
  return {
    meta: { target: o.target, expect: o.expect, note: o.note, ...(o.field !== undefined ? { field: o.field as string } : {}) },
  };
}

export function loadCases(root: string): LoadedCases {
  const cases: RegressCase[] = [];
  const problems: string[] = [];
  if (!existsSync(root)) return { cases, problems };
  for (const target of readdirSync(root).sort()) {
    const dir = join(root, target);
    if (target.startsWith('.') || !statSync(dir).isDirectory()) continue;
    const names = readdirSync(dir).filter((n) => !n.startsWith('.'));
    const ids = new Set(names.filter((n) => n.endsWith('.bin') || n.endsWith('.json')).map((n) => n.replace(/\.(bin|json)$/, '')));
    for (const n of names) if (!n.endsWith('.bin') && !n.endsWith('.json')) problems.push(`${target}/${n}: only <id>.bin and <id>.json belong here`);
    for (const id of [...ids].sort()) {
      const where = `${target}/${id}`;
      const bin = join(dir, `${id}.bin`);
      const json = join(dir, `${id}.json`);
      if (!existsSync(bin)) {
        problems.push(`${where}: ${id}.json has no ${id}.bin`);
        continue;
      }
      if (!existsSync(json)) {
        problems.push(`${where}: ${id}.bin has no ${id}.json describing the expected verdict`);
        continue;
      }
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(json, 'utf8'));
      } catch (e) {
        problems.push(`${where}: ${id}.json: ${(e as Error).message}`);
        continue;
      }
      const { meta, problem } = validMeta(raw, target);
      if (!meta) {
        problems.push(`${where}: ${id}.json: ${problem}`);
        continue;
      }
      cases.push({ ...meta, id, where, input: new Uint8Array(readFileSync(bin)) });
    }
  }
  return { cases, problems };
}
