// Conformance of the frame decoder (src/wire/decode.ts) against tshark: every frame of every capture in
// the shared corpus manifest and of test/fixtures/linux-sample.pcapng is decoded and compared field by
// field with tshark `-T fields` (rules in decode-oracle.ts). Any mismatch fails with the file, frame
// number, field, our value and tshark's. Hostile files must decode without an exception; the
// unparseable one must be refused by the capture reader with a CaptureError.
//
// Without tshark the comparison is skipped with a visible reason, except in CI (CI=true) or with
// PICOTCP_REQUIRE_NET=1, where a missing tshark (or corpus) is a failure.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tsChecksum } from '../../src/checksum/index.js';
import { copyRecord, readCaptureBytes } from '../../src/wire/capture.js';
import type { CaptureError, OwnedCaptureRecord } from '../../src/wire/capture.js';
import { decodeFrame } from '../../src/wire/decode.js';
import { compareFrame, FIELDS, KNOWN_DIFFERENCES, ORACLE_PREFS } from './decode-oracle.js';
import { tsharkAvailable, tsharkExperts, tsharkFields } from './tshark.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = path.resolve(repoRoot, '..', 'shared');
const PCAPS = path.join(SHARED, 'pcaps');
const MANIFEST = path.join(PCAPS, 'manifest.tsv');
const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'linux-sample.pcapng');

const required = process.env.CI === 'true' || process.env.PICOTCP_REQUIRE_NET === '1';
const haveTshark = tsharkAvailable();
const haveCorpus = existsSync(MANIFEST);

interface Case {
  name: string;
  file: string;
  hostile: boolean;
  invalid: boolean;
  packets: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  if (haveCorpus) {
    const lines = readFileSync(MANIFEST, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const cols = lines[0]!.split('\t');
    const col = (row: string[], name: string): string => row[cols.indexOf(name)] ?? '';
    for (const l of lines.slice(1)) {
      const row = l.split('\t');
      const contents = col(row, 'contents');
      out.push({
        name: col(row, 'file'),
        file: path.join(PCAPS, col(row, 'file')),
        hostile: contents.startsWith('HOSTILE'),
        invalid: col(row, 'format') === 'invalid',
        packets: Number(col(row, 'packets')),
      });
    }
  }
  out.push({ name: 'linux-sample.pcapng', file: FIXTURE, hostile: false, invalid: false, packets: 76 });
  return out;
}

function readAll(file: string): { records: OwnedCaptureRecord[]; error: CaptureError | null } {
  const records: OwnedCaptureRecord[] = [];
  const s = readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => records.push(copyRecord(r)));
  return { records, error: s.error };
}

const usedDifferences = new Set<string>();

describe('decodeFrame vs tshark', () => {
  if ((!haveTshark || !haveCorpus) && !required) {
    const why = !haveTshark ? 'tshark is not installed' : `shared corpus not found at ${PCAPS}`;
    it.skip(`SKIPPED: ${why} (set CI=true or PICOTCP_REQUIRE_NET=1 to make this a failure)`, () => {});
    return;
  }

  it('has tshark and the shared corpus', () => {
    expect(haveTshark, 'tshark is required here (CI=true or PICOTCP_REQUIRE_NET=1) but not installed').toBe(true);
    expect(haveCorpus, `shared corpus required but ${MANIFEST} is missing`).toBe(true);
  });

  for (const c of cases()) {
    it(c.name, () => {
      const { records, error } = readAll(c.file);
      if (c.invalid) {
        // The unparseable capture: the reader must refuse it with a CaptureError, and deliver nothing.
        expect(error, `${c.name}: expected a CaptureError`).not.toBeNull();
        expect(error!.code).toBe('ECAPTURE');
        expect(records.length).toBe(0);
        return;
      }
      // Hostile captures may be cut short by the reader (a CaptureError, never an exception); every
      // other file must read cleanly and completely.
      if (!c.hostile) {
        expect(error, `${c.name}: ${error?.message}`).toBeNull();
        expect(records.length).toBe(c.packets);
      }
      const decoded = records.map((r) => decodeFrame(r.linkType, r.data, { checksum: tsChecksum, originalLength: r.originalLength }));
      for (const d of decoded) expect(d.error?.proto, `${c.name}: internal decoder error ${d.error?.reason}`).not.toBe('decode');

      // tshark also lists non-packet pcapng blocks (custom, DSB...) as frames with no encapsulation.
      const all = tsharkFields(c.file, FIELDS, ORACLE_PREFS);
      const experts = tsharkExperts(c.file, ORACLE_PREFS);
      const numbered = all.map((t, i) => ({ t, no: i + 1 })).filter((x) => x.t['frame.encap_type']!.length > 0);
      if (error === null) expect(numbered.length, `${c.name}: frame count vs tshark`).toBe(records.length);
      else expect(numbered.length).toBeGreaterThanOrEqual(records.length);

      const problems: string[] = [];
      decoded.forEach((d, i) => {
        const { t, no } = numbered[i]!;
        const key = `${c.name}#${no}`;
        for (const p of compareFrame(d, t, experts.get(no))) {
          // A documented difference forgives only the malformation verdict of its frame.
          if (p.startsWith('malformed:') && KNOWN_DIFFERENCES[key] !== undefined) usedDifferences.add(key);
          else problems.push(`${c.name} frame ${no} (record ${i}) ${p}`);
        }
      });
      expect(problems, problems.slice(0, 40).join('\n')).toEqual([]);
    });
  }

  it('uses every KNOWN_DIFFERENCES entry (stale exceptions are removed)', () => {
    const stale = Object.keys(KNOWN_DIFFERENCES).filter((k) => !usedDifferences.has(k));
    expect(stale).toEqual([]);
  });
});
