import { readdirSync, readFileSync } from 'node:fs';
const dir = process.argv[2]!;
const depth = (b: Uint8Array): number => {
  let best = 0; let i = 0;
  while (i < b.length) {
    const k = b[i]!; if (k === 0) break; if (k === 1) { i++; continue; }
    if (i + 1 >= b.length) break; const len = b[i + 1]!; if (len > b.length - i) break;
    if (k === 254 && len >= 4) { let d = 1; const hi = b[i + 2]!, lo = b[i + 3]!; if (hi >> 4 === 4) { d = 2; if (lo >> 4 === 5) { d = 3; if ((hi & 15) === 13) d = 4; } } best = Math.max(best, d); }
    if (len < 2) break; i += len;
  }
  return best;
};
const hist = [0, 0, 0, 0, 0];
for (const f of readdirSync(dir)) hist[depth(readFileSync(dir + '/' + f))]!++;
console.log('depth histogram', hist);
