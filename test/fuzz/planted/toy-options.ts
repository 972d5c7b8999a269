// A deliberately buggy TCP-options walker (RFC 9293 §3.2 layout) for the fuzzer's self-test. It is not
// project code and is registered only in this module's own `fuzzTargets`, never in test/fuzz/targets.ts.
// Two planted bugs:
//  - HANG: the TCP Fast Open branch (kind 34, RFC 7413) accepts length 0, so the cursor never moves;
//  - CRASH: an experimental option (kind 254, RFC 6994) with ExID 4d 5a throws. The ExID is compared
//    a nibble at a time, each comparison its own block, so coverage feedback reaches it in four small
//    steps while blind mutation has to guess kind, length and all 16 bits at once.

import { WireError } from '../../../src/wire/error.js';
import { COMMON_TOKENS } from '../harness.js';
import type { FuzzTarget } from '../harness.js';

export interface ToyOption {
  readonly kind: number;
  readonly data: Uint8Array;
}

function bad(field: string, reason: string, at: number): WireError {
  return new WireError('toy-options', field, reason, at);
}

export function parseToyOptions(b: Uint8Array): ToyOption[] | WireError {
  const out: ToyOption[] = [];
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === 0) break; // End of option list
    if (kind === 1) {
      i++; // NOP
      continue;
    }
    if (i + 1 >= b.length) return bad('length', 'missing length byte', i);
    const len = b[i + 1]!;
    if (len > b.length - i) return bad('length', `${len} exceeds the ${b.length - i} bytes left`, i + 1);
    switch (kind) {
      case 2: // MSS
        if (len !== 4) return bad('length', 'MSS length must be 4', i + 1);
        break;
      case 3: // Window scale
        if (len !== 3) return bad('length', 'window scale length must be 3', i + 1);
        if (b[i + 2]! > 14) return bad('shift', 'shift count above 14', i + 2);
        break;
      case 4: // SACK permitted
        if (len !== 2) return bad('length', 'SACK-permitted length must be 2', i + 1);
        break;
      case 5: // SACK
        if (len < 10 || (len - 2) % 8 !== 0) return bad('length', 'SACK length must be 2 + 8n', i + 1);
        break;
      case 8: // Timestamps
        if (len !== 10) return bad('length', 'timestamps length must be 10', i + 1);
        break;
      case 34: // Fast Open cookie: 2 (request) or 6..18. PLANTED HANG: 0 slips through.
        if (len !== 0 && len !== 2 && (len < 6 || len > 18)) return bad('length', 'bad cookie length', i + 1);
        break;
      case 254: {
        // Experimental with a 16-bit ExID, compared a nibble at a time (as compare-splitting compilers
        // do for fuzzers): each comparison is a block, so coverage can climb to the planted crash.
        if (len < 4) return bad('length', 'experimental option needs an ExID', i + 1);
        const hi = b[i + 2]!;
        const lo = b[i + 3]!;
        if (hi >> 4 === 0x4) {
          if (lo >> 4 === 0x5) {
            if ((hi & 0xf) === 0xd) {
              if ((lo & 0xf) === 0xa) throw new Error('toy-options: planted crash on ExID 4d5a'); // PLANTED CRASH
            }
          }
        }
        break;
      }
      default:
        if (len < 2) return bad('length', 'option length below 2', i + 1);
    }
    out.push({ kind, data: b.subarray(i + 2, i + len) });
    i += len;
  }
  return out;
}

/**
 * Whether parseToyOptions would hang on `b`: its walk reaches a zero-length Fast Open option. Walks the
 * same layout but always advances, so it is safe to call on any input.
 */
export function reachesZeroLengthFastOpen(b: Uint8Array): boolean {
  return parseToyOptionsBounded(b) === 'hang';
}

/** parseToyOptions' control flow without the bugs: 'hang', 'crash', or 'ok' (accepted or rejected). */
export function parseToyOptionsBounded(b: Uint8Array): 'hang' | 'crash' | 'ok' {
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === 0) return 'ok';
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= b.length) return 'ok';
    const len = b[i + 1]!;
    if (len > b.length - i) return 'ok';
    if (kind === 34 && len === 0) return 'hang';
    if (kind === 254 && len >= 4 && b[i + 2] === 0x4d && b[i + 3] === 0x5a) return 'crash';
    // The real parser on this one option (safe now): a rejection ends the walk there too.
    if (parseToyOptions(b.subarray(i, i + Math.max(len, 2))) instanceof WireError) return 'ok';
    i += len;
  }
  return 'ok';
}

const SYN_OPTIONS = [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];

function toyTarget(name: string, seeds: readonly number[][]): FuzzTarget {
  return {
    name,
    maxLen: 24, // short inputs keep positions few (the TCP options area allows 40)
    coverage: ['/test/fuzz/planted/'],
    dictionary: COMMON_TOKENS,
    seeds: seeds.map((s) => Uint8Array.from(s)),
    parse: (data) => parseToyOptions(data),
    run: (data) => {
      parseToyOptions(data);
    },
  };
}

/** Targets module for the engine self-test (same shape as test/fuzz/targets.ts). */
export const fuzzTargets: readonly FuzzTarget[] = [
  // SYN options (MSS 1460, SACK permitted, timestamps, NOP, window scale 7) and NOP NOP timestamps.
  toyTarget('toy-options', [SYN_OPTIONS, [1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0]]),
  // Starting corpora that already contain a bug, for the watchdog and crash-deduplication tests.
  toyTarget('toy-hang-seed', [[1, 34, 0, 1], SYN_OPTIONS]),
  toyTarget('toy-crash-seed', [[254, 4, 0x4d, 0x5a], SYN_OPTIONS]),
];
