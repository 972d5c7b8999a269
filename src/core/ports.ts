// Ephemeral port selection (RFC 6056), shared by the transport protocols. Algorithm 4 ("double-hash
// port selection", §3.3.4): the search starts at offset F(endpoints, k1) and a per-bucket counter
// table[G(endpoints, k2)] that advances by a random step (the random increments of Algorithm 5,
// §3.3.5), so ports are unpredictable to an off-path attacker even when the endpoints are constant
// (a UDP bind has no remote yet). F and G are HalfSipHash-2-4 with secret keys from the stack's
// injected random source. Collision-free: a candidate is used only if the caller says it is free, and
// when the randomised probes find nothing a full scan decides between a free port and exhaustion.

import type { RandomSource } from '../ports/random.js';

export interface EphemeralPortOptions {
  /** Inclusive range; default 49152–65535 (the IANA dynamic range, RFC 6335 §6). */
  readonly low: number;
  readonly high: number;
  /** Counter buckets of Algorithm 4 (RFC 6056 suggests a table of a few tens to thousands). */
  readonly tableSize: number;
  /** Largest random step of a bucket counter (Algorithm 5's N); 1 makes it plain Algorithm 4. */
  readonly maxIncrement: number;
  /** Randomised candidates tried before the exhaustive scan. */
  readonly probes: number;
}

export const DEFAULT_EPHEMERAL_PORT_OPTIONS: EphemeralPortOptions = {
  low: 49152,
  high: 65535,
  tableSize: 256,
  maxIncrement: 500,
  probes: 64,
};

/** Validates a port range, throwing a RangeError (configuration is a programmer error). */
export function checkPortRange(low: number, high: number): void {
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high) {
    throw new RangeError(`ephemeral port range ${low}-${high} must satisfy 1 <= low <= high <= 65535`);
  }
}

export class EphemeralPorts {
  readonly options: EphemeralPortOptions;
  private readonly k1: Uint32Array;
  private readonly k2: Uint32Array;
  private readonly table: Uint32Array;

  constructor(
    private readonly random: RandomSource,
    options: Partial<EphemeralPortOptions> = {},
  ) {
    this.options = { ...DEFAULT_EPHEMERAL_PORT_OPTIONS, ...options };
    const o = this.options;
    checkPortRange(o.low, o.high);
    if (!Number.isInteger(o.tableSize) || o.tableSize < 1 || o.tableSize > 65536) throw new RangeError(`tableSize ${o.tableSize} out of 1..65536`);
    if (!Number.isInteger(o.maxIncrement) || o.maxIncrement < 1) throw new RangeError(`maxIncrement ${o.maxIncrement} must be >= 1`);
    if (!Number.isInteger(o.probes) || o.probes < 1) throw new RangeError(`probes ${o.probes} must be >= 1`);
    this.k1 = Uint32Array.of(random.u32(), random.u32());
    this.k2 = Uint32Array.of(random.u32(), random.u32());
    this.table = new Uint32Array(o.tableSize);
    for (let i = 0; i < this.table.length; i++) this.table[i] = random.u32();
  }

  /** Size of the range. */
  get count(): number {
    return this.options.high - this.options.low + 1;
  }

  /**
   * Picks a port for which `isFree(port)` is true, or returns 'EADDRINUSE' when none is. `endpoints`
   * are 32-bit words identifying the flow (local address, remote address, remote port, protocol);
   * they only spread the starting points and may be empty.
   */
  allocate(isFree: (port: number) => boolean, endpoints: readonly number[] = []): number | 'EADDRINUSE' {
    const { low, probes, maxIncrement } = this.options;
    const n = this.count;
    const offset = halfSipHash(this.k1, endpoints);
    const idx = halfSipHash(this.k2, endpoints) % this.table.length;
    for (let i = 0; i < probes && i < n; i++) {
      const step = maxIncrement === 1 ? 1 : 1 + this.random.below(maxIncrement);
      this.table[idx] = (this.table[idx]! + step) >>> 0;
      const port = low + ((offset + this.table[idx]!) >>> 0) % n;
      if (isFree(port)) return port;
    }
    // A nearly full range: scan every port once from a random start (bounded by the range size).
    const start = this.random.below(n);
    for (let i = 0; i < n; i++) {
      const port = low + ((start + i) % n);
      if (isFree(port)) return port;
    }
    return 'EADDRINUSE';
  }
}

/** Words of an address for `allocate` endpoints: an IPv4 number or a 16-byte IPv6 address. */
export function addressWords(a: number | Uint8Array, out: number[]): void {
  if (typeof a === 'number') {
    out.push(a >>> 0);
    return;
  }
  for (let i = 0; i < 16; i += 4) out.push(((a[i]! << 24) | (a[i + 1]! << 16) | (a[i + 2]! << 8) | a[i + 3]!) >>> 0);
}

function rotl(x: number, b: number): number {
  return ((x << b) | (x >>> (32 - b))) >>> 0;
}

/** HalfSipHash-2-4 (32-bit output) of a word sequence under a 64-bit key. */
export function halfSipHash(key: Uint32Array, words: readonly number[]): number {
  let v0 = key[0]! >>> 0;
  let v1 = key[1]! >>> 0;
  let v2 = (0x6c796765 ^ v0) >>> 0;
  let v3 = (0x74656462 ^ v1) >>> 0;
  const round = (): void => {
    v0 = (v0 + v1) >>> 0; v1 = rotl(v1, 5); v1 = (v1 ^ v0) >>> 0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) >>> 0; v3 = rotl(v3, 8); v3 = (v3 ^ v2) >>> 0;
    v0 = (v0 + v3) >>> 0; v3 = rotl(v3, 7); v3 = (v3 ^ v0) >>> 0;
    v2 = (v2 + v1) >>> 0; v1 = rotl(v1, 13); v1 = (v1 ^ v2) >>> 0; v2 = rotl(v2, 16);
  };
  const absorb = (m: number): void => {
    v3 = (v3 ^ m) >>> 0;
    round();
    round();
    v0 = (v0 ^ m) >>> 0;
  };
  for (const w of words) absorb(w >>> 0);
  // Final block: the message length in bytes in the top byte (words are 4 bytes each).
  absorb(((words.length * 4) << 24) >>> 0);
  v2 = (v2 ^ 0xff) >>> 0;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}
