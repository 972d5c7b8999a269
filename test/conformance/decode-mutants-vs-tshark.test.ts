// Differential test of the frame decoder against tshark on seeded mutations of real frames (every
// capture of the shared corpus and the fixture, one pcap per link type): header bytes are set, flipped
// and nudged, and some frames are cut short as by a snaplen. Every frame must decode without an
// exception and agree with tshark under the rules of decode-oracle.ts. Disagreements that are
// legitimate are classified by ACCEPTED_DIVERGENCES, each with its reason; how often each class was
// used is printed. Same skip rules as decode-vs-tshark.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tsChecksum } from '../../src/checksum/index.js';
import { LinkType } from '../../src/wire/link-type.js';
import { decodeFrame } from '../../src/wire/decode.js';
import { ACCEPTED_DIVERGENCES, compareFrame, FIELDS, ORACLE_PREFS } from './decode-oracle.js';
import { framesByLinkType, mutate, toPcap } from './mutated-frames.js';
import { tsharkAvailable, tsharkExperts, tsharkFields } from './tshark.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PCAPS = path.resolve(repoRoot, '..', 'shared', 'pcaps');
const MANIFEST = path.join(PCAPS, 'manifest.tsv');
const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'linux-sample.pcapng');
const required = process.env.CI === 'true' || process.env.PICOTCP_REQUIRE_NET === '1';
const haveTshark = tsharkAvailable();
const haveCorpus = existsSync(MANIFEST);
/** Mutants per link type; PICOTCP_MUTANTS raises it for a longer hunt. */
const PER_LINK_TYPE = Number(process.env.PICOTCP_MUTANTS ?? 2500);
const SEED = process.env.PICOTCP_MUTANT_SEED ?? 'decode-vs-tshark-1';

function corpusFiles(): string[] {
  const out = [FIXTURE];
  if (!haveCorpus) return out;
  const lines = readFileSync(MANIFEST, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const cols = lines[0]!.split('\t');
  for (const l of lines.slice(1)) {
    const row = l.split('\t');
    // Files the capture reader refuses (or stops early in) are read for whatever frames they yield.
    if (row[cols.indexOf('format')] === 'invalid') continue;
    out.push(path.join(PCAPS, row[cols.indexOf('file')]!));
  }
  return out;
}

describe('decodeFrame vs tshark on mutated frames', () => {
  if ((!haveTshark || !haveCorpus) && !required) {
    const why = !haveTshark ? 'tshark is not installed' : `shared corpus not found at ${PCAPS}`;
    it.skip(`SKIPPED: ${why} (set CI=true or PICOTCP_REQUIRE_NET=1 to make this a failure)`, () => {});
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'picotcp-mutants-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const used = new Map<string, number>();
  const groups = haveCorpus ? framesByLinkType(corpusFiles()) : new Map<number, Uint8Array[]>();

  for (const lt of [LinkType.ETHERNET, LinkType.RAW, LinkType.LINUX_SLL, LinkType.NULL]) {
    it(`link type ${lt}: ${PER_LINK_TYPE} mutants agree with tshark`, () => {
      const frames = groups.get(lt);
      expect(frames?.length, `no frames of link type ${lt} in the corpus`).toBeGreaterThan(0);
      const mutants = mutate(lt, frames!, PER_LINK_TYPE, `${SEED}-${lt}`);
      const file = path.join(tmp, `lt${lt}.pcap`);
      writeFileSync(file, toPcap(lt, mutants));
      const fields = tsharkFields(file, FIELDS, ORACLE_PREFS);
      const experts = tsharkExperts(file, ORACLE_PREFS);
      expect(fields.length).toBe(mutants.length);
      const problems: string[] = [];
      mutants.forEach((m, i) => {
        const d = decodeFrame(lt, m.data, { checksum: tsChecksum, originalLength: m.originalLength });
        if (d.error?.proto === 'decode') problems.push(`#${i + 1} [${m.how}] internal decoder exception: ${d.error.reason}`);
        const ex = experts.get(i + 1);
        const messages = (ex ?? []).map((e) => e.message);
        for (const p of compareFrame(d, fields[i]!, ex)) {
          const div = ACCEPTED_DIVERGENCES.find((x) => x.applies(d, p, messages));
          if (div) used.set(div.id, (used.get(div.id) ?? 0) + 1);
          else problems.push(`#${i + 1} [${m.how}] ${p}`);
        }
      });
      expect(problems, `${problems.length} disagreements (mutant file ${file}):\n${problems.slice(0, 30).join('\n')}`).toEqual([]);
    });
  }

  it('reports which accepted divergences were used', () => {
    const lines = ACCEPTED_DIVERGENCES.map((x) => `  ${String(used.get(x.id) ?? 0).padStart(5)}  ${x.id}`);
    console.log(`accepted divergences (seed ${SEED}):\n${lines.join('\n')}`);
    expect(ACCEPTED_DIVERGENCES.every((x) => x.reason.length > 40)).toBe(true);
  });
});
