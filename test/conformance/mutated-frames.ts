// Seeded mutations of real frames for the differential test against tshark: each mutant keeps the
// original link type and wire length, and changes header bytes (the first 96 bytes, where every
// header we decode lives), flips bits, or cuts the capture short as a snaplen would.
import { readFileSync } from 'node:fs';
import { seededRandom } from '../../src/random/chacha.js';
import { copyRecord, createCaptureWriter, readCaptureBytes } from '../../src/wire/capture.js';

export interface Mutant {
  linkType: number;
  data: Uint8Array;
  originalLength: number;
  /** What was done, for failure messages. */
  how: string;
}

/** Frames (copied) of the given capture files, grouped by link type. */
export function framesByLinkType(files: readonly string[]): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  for (const f of files) {
    readCaptureBytes(new Uint8Array(readFileSync(f)), (r) => {
      const rec = copyRecord(r);
      if (rec.capturedLength !== rec.originalLength) return; // mutate whole frames only
      let list = out.get(rec.linkType);
      if (!list) out.set(rec.linkType, (list = []));
      list.push(rec.data);
    });
  }
  return out;
}

/** `count` mutants of `frames` (one link type), deterministic for a given seed. */
export function mutate(linkType: number, frames: readonly Uint8Array[], count: number, seed: string): Mutant[] {
  const rnd = seededRandom(seed);
  const out: Mutant[] = [];
  for (let n = 0; n < count; n++) {
    const src = frames[rnd.below(frames.length)]!;
    const data = src.slice();
    const steps: string[] = [];
    const edits = 1 + rnd.below(3);
    for (let e = 0; e < edits; e++) {
      const at = rnd.below(Math.min(96, data.length));
      const kind = rnd.below(4);
      if (kind === 0) {
        const bit = 1 << rnd.below(8);
        data[at] ^= bit;
        steps.push(`flip ${at}:${bit}`);
      } else if (kind === 1) {
        const v = rnd.below(256);
        data[at] = v;
        steps.push(`set ${at}=${v}`);
      } else if (kind === 2) {
        // Small deltas on a 16-bit field (lengths, offsets) find off-by-one checks.
        const d = rnd.below(9) - 4;
        const w = (((data[at]! << 8) | (data[at + 1] ?? 0)) + d) & 0xffff;
        data[at] = w >>> 8;
        if (at + 1 < data.length) data[at + 1] = w & 0xff;
        steps.push(`add16 ${at}${d >= 0 ? '+' : ''}${d}`);
      } else {
        data[at] = [0, 0xff, 0x80, 1][rnd.below(4)]!;
        steps.push(`edge ${at}=${data[at]}`);
      }
    }
    let captured = data;
    if (rnd.below(5) === 0) {
      const cut = rnd.below(data.length);
      captured = data.subarray(0, cut);
      steps.push(`snap ${cut}/${data.length}`);
    }
    out.push({ linkType, data: captured.slice(), originalLength: data.length, how: steps.join(', ') });
  }
  return out;
}

/** A pcap (one link type) of the mutants, with their original lengths. */
export function toPcap(linkType: number, mutants: readonly Mutant[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = createCaptureWriter((c) => chunks.push(c), { format: 'pcap', linkType, resolution: 'us' });
  mutants.forEach((m, i) => w.writePacket(m.data, 1_700_000_000 + i, 0, { originalLength: m.originalLength }));
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
