// Fuzz target shape and the round-trip helper most wire codecs register with. A target's `run` must
// return normally on rejected input (parsers return WireError, never throw) and throw only when an
// invariant breaks, so the engine can treat every exception as a crash.

import { isDeepStrictEqual } from 'node:util';
import { isWireError } from '../../src/wire/error.js';
import type { WireError } from '../../src/wire/error.js';

export interface FuzzTarget {
  readonly name: string;
  /** Valid (or interesting) inputs the corpus starts from. */
  readonly seeds: readonly Uint8Array[];
  /** Protocol tokens the mutator inserts or overwrites with. */
  readonly dictionary?: readonly Uint8Array[];
  /** Inputs are never longer than this. */
  readonly maxLen: number;
  /** URL substrings selecting the scripts whose coverage guides this target (default: `/src/`). */
  readonly coverage?: readonly string[];
  /** The parser entry point: a WireError on rejection, anything else on acceptance. Used by test/regress. */
  parse(data: Uint8Array): unknown;
  /** `parse` plus invariant checks; throws only on a violated invariant. */
  run(data: Uint8Array): void;
}

/** Thrown by a target when parsed output breaks an invariant (out-of-buffer view, lossy round trip). */
export class FuzzInvariantError extends Error {
  override readonly name = 'FuzzInvariantError';
}

/** Tokens shared by several link/network targets (also listed in SECURITY-CASES §7.3). */
export const COMMON_TOKENS: readonly Uint8Array[] = [
  [0xc0, 0x0c], // DNS compression pointer to offset 12
  [0x02, 0x04], // TCP MSS option kind + length
  [0x01, 0x01], // two TCP NOPs
  [0x81, 0x00], // 802.1Q ethertype
  [0x86, 0xdd], // IPv6 ethertype
  [0x08, 0x00], // IPv4 ethertype
  [0x08, 0x06], // ARP ethertype
  [0xff, 0xff],
  [0x00, 0x00],
].map((t) => Uint8Array.from(t));

/** Bytes a checked view covers in the input it was built over. */
export interface Extent {
  readonly off: number;
  readonly len: number;
}

export interface RoundTripSpec<V, R> {
  readonly name: string;
  readonly seeds: readonly Uint8Array[];
  readonly dictionary?: readonly Uint8Array[];
  readonly maxLen: number;
  readonly coverage?: readonly string[];
  /** Checked constructor: a view or the reason for rejection. */
  check(data: Uint8Array): V | WireError;
  /** Where the view lies in `data`; defaults to the view's own `off`/`len` when it has them. */
  extent?(view: V): Extent;
  /** High-level parse of a checked view; may still reject (e.g. a bad checksum). */
  parse(view: V): R | WireError;
  bufferLen(repr: R): number;
  /** Emits `repr` at offset 0 of a buffer of exactly `bufferLen(repr)` bytes. */
  emit(repr: R, buf: Uint8Array): void;
  /** Further invariants on an accepted input; throw FuzzInvariantError on violation. */
  extra?(view: V, repr: R, data: Uint8Array): void;
}

// Emitted buffers larger than this mean bufferLen trusted an attacker-sized field.
const MAX_EMIT_LEN = 1 << 20;

function fail(target: string, what: string): never {
  throw new FuzzInvariantError(`${target}: ${what}`);
}

function defaultExtent(view: unknown): Extent | undefined {
  const v = view as { off?: unknown; len?: unknown };
  return typeof v.off === 'number' && typeof v.len === 'number' ? { off: v.off, len: v.len } : undefined;
}

/**
 * A target for a two-level codec (checked view + Repr): check, then parse, then emit into a fresh
 * buffer and check + parse again; the two Reprs must be deep-equal and the view must lie inside the
 * input. This is smoltcp's parse/emit round trip as a fuzz oracle.
 */
export function roundTripTarget<V, R>(spec: RoundTripSpec<V, R>): FuzzTarget {
  const name = spec.name;
  const parse = (data: Uint8Array): unknown => {
    const view = spec.check(data);
    return isWireError(view) ? view : spec.parse(view);
  };
  const run = (data: Uint8Array): void => {
    const view = spec.check(data);
    if (isWireError(view)) return;
    const ext = spec.extent ? spec.extent(view) : defaultExtent(view);
    if (ext) {
      const { off, len } = ext;
      if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > data.length) {
        fail(name, `view [${off}, +${len}) outside the ${data.length}-byte input`);
      }
    }
    const repr = spec.parse(view);
    if (isWireError(repr)) return;
    const n = spec.bufferLen(repr);
    if (!Number.isInteger(n) || n < 0 || n > MAX_EMIT_LEN) fail(name, `bufferLen ${n} out of range`);
    const out = new Uint8Array(n);
    spec.emit(repr, out);
    const view2 = spec.check(out);
    if (isWireError(view2)) fail(name, `emitted bytes fail check: ${view2.toString()}`);
    const repr2 = spec.parse(view2);
    if (isWireError(repr2)) fail(name, `emitted bytes fail parse: ${repr2.toString()}`);
    if (!isDeepStrictEqual(repr, repr2)) {
      fail(name, `round trip changed the repr: ${describe(repr)} became ${describe(repr2)}`);
    }
    spec.extra?.(view, repr, data);
  };
  return {
    name,
    seeds: spec.seeds,
    maxLen: spec.maxLen,
    parse,
    run,
    ...(spec.dictionary ? { dictionary: spec.dictionary } : {}),
    ...(spec.coverage ? { coverage: spec.coverage } : {}),
  };
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x) : x));
  } catch {
    return String(v);
  }
}
