// The generic reassembly engine on its own: ordering, duplicates, overlap tombstones (RFC 5722),
// conflicts (H13), size and alignment rules (H08, H11), the per-datagram fragment cap (E4), the
// concurrent-datagram cap and memory watermarks with oldest-first eviction (E3), memory accounting
// with overheads, and deadlines (pollAt/poll, Time Exceeded only when fragment 0 arrived).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IPV4_REASSEMBLY_OPTIONS,
  DEFAULT_IPV6_REASSEMBLY_OPTIONS,
  type ExpiredDatagram,
  type FragmentIn,
  type FragmentVerdict,
  REASSEMBLY_DATAGRAM_OVERHEAD,
  REASSEMBLY_FRAGMENT_OVERHEAD,
  ReassemblyEngine,
  type ReassemblyOptions,
  reassemblyOptions,
} from '../../src/core/reassembly.js';
import { Stats } from '../../src/core/stats.js';
import { Duration, Instant } from '../../src/time/instant.js';

const LAYER = 'test-reasm';
const HDR = 20;
const T0 = Instant.fromMillis(1000);

interface Frag {
  key?: string;
  offset: number;
  len: number;
  more: boolean;
  protocol?: number;
  /** Byte value for every data byte (default: a position-dependent pattern). */
  fill?: number;
  headroom?: number;
  meta?: string;
}

/** Datagram byte at position i (so any misplaced range shows up). */
const pattern = (i: number) => (i * 7 + (i >> 8)) & 0xff;

function frag(f: Frag): FragmentIn<string> {
  const buf = new Uint8Array(HDR + f.len);
  buf.fill(0xee, 0, HDR);
  for (let i = 0; i < f.len; i++) buf[HDR + i] = f.fill ?? pattern(f.offset + i);
  return {
    key: f.key ?? 'k',
    protocol: f.protocol ?? 17,
    offset: f.offset,
    more: f.more,
    buf,
    headerOffset: 0,
    dataOffset: HDR,
    dataLength: f.len,
    headroom: f.headroom ?? HDR,
    meta: f.meta ?? `m${f.offset}`,
  };
}

function engine(opts: Partial<ReassemblyOptions> = {}, protocolMustMatch = true) {
  const stats = new Stats();
  const expired: ExpiredDatagram<string>[] = [];
  const e = new ReassemblyEngine<string>(reassemblyOptions(DEFAULT_IPV4_REASSEMBLY_OPTIONS, opts), stats, LAYER, {
    protocolMustMatch,
    onExpire: (d) => expired.push(d),
  });
  return { e, stats, expired, drops: (r: string) => stats.drops(LAYER, r), count: (c: string) => stats.get(LAYER, c) };
}

function payloadOf(v: FragmentVerdict<string>): Uint8Array {
  if (v.kind !== 'complete') throw new Error(`expected complete, got ${JSON.stringify(v)}`);
  const out = new Uint8Array(v.datagram.length);
  v.datagram.writePayload(out, 0);
  return out;
}

function expectPattern(data: Uint8Array, len: number): void {
  expect(data.length).toBe(len);
  let bad = -1;
  for (let i = 0; i < len; i++) if (data[i] !== pattern(i)) { bad = i; break; }
  expect(bad).toBe(-1);
}

/** Three fragments of a 2000-byte datagram: [0,800) [800,1600) [1600,2000). */
const THREE: Frag[] = [
  { offset: 0, len: 800, more: true },
  { offset: 800, len: 800, more: true },
  { offset: 1600, len: 400, more: false },
];

describe('ReassemblyEngine: ordering and duplicates', () => {
  for (const [name, order] of [
    ['in order', [0, 1, 2]],
    ['reverse', [2, 1, 0]],
    ['last first', [2, 0, 1]],
    ['middle first', [1, 2, 0]],
  ] as const) {
    it(`reassembles_${name.replace(' ', '_')}: data intact, header/meta from fragment 0, table and memory empty after`, () => {
      const t = engine();
      let v: FragmentVerdict<string> = { kind: 'pending' };
      for (const i of order) {
        expect(v.kind).toBe('pending');
        v = t.e.add(frag(THREE[i]!), T0);
      }
      expectPattern(payloadOf(v), 2000);
      if (v.kind !== 'complete') return;
      expect(v.datagram.header).toEqual(new Uint8Array(HDR).fill(0xee));
      expect(v.datagram.meta).toBe('m0');
      expect(v.datagram.protocol).toBe(17);
      expect(t.e.datagrams).toBe(0);
      expect(t.e.bytesInUse).toBe(0);
      expect(t.count('reassembled')).toBe(1);
      expect(t.stats.totalDrops()).toBe(0);
    });
  }

  it('drops an exact duplicate alone (RFC 8200 §4.5) and still completes', () => {
    const t = engine();
    t.e.add(frag(THREE[0]!), T0);
    t.e.add(frag(THREE[2]!), T0);
    expect(t.e.add(frag(THREE[2]!), T0)).toEqual({ kind: 'drop', reason: 'duplicate' });
    expect(t.e.add(frag(THREE[0]!), T0)).toEqual({ kind: 'drop', reason: 'duplicate' });
    expect(t.e.inspect('k')).toMatchObject({ fragments: 2, received: 1200, total: 2000, discarded: false });
    expectPattern(payloadOf(t.e.add(frag(THREE[1]!), T0)), 2000);
    expect(t.drops('duplicate')).toBe(2);
  });

  it('treats the same range with different bytes as an overlap (RFC 5722)', () => {
    const t = engine();
    t.e.add(frag(THREE[0]!), T0);
    expect(t.e.add(frag({ ...THREE[0]!, fill: 0x41 }), T0)).toEqual({ kind: 'drop', reason: 'overlap' });
    expect(t.e.inspect('k')?.discarded).toBe(true);
  });

  it('keeps distinct keys apart', () => {
    const t = engine();
    t.e.add(frag({ ...THREE[0]!, key: 'x' }), T0);
    t.e.add(frag({ ...THREE[0]!, key: 'y' }), T0);
    expect(t.e.datagrams).toBe(2);
    t.e.add(frag({ ...THREE[1]!, key: 'x' }), T0);
    expectPattern(payloadOf(t.e.add(frag({ ...THREE[2]!, key: 'x' }), T0)), 2000);
    expect(t.e.inspect('y')).toMatchObject({ fragments: 1, received: 800 });
  });
});

describe('ReassemblyEngine: overlap discards the whole datagram and remembers it (RFC 5722, H09, H10)', () => {
  const cases: Array<[string, Frag[]]> = [
    ['tail overlaps the next range', [{ offset: 800, len: 800, more: true }, { offset: 0, len: 808, more: true }]],
    ['head overlaps the previous range', [{ offset: 0, len: 800, more: true }, { offset: 792, len: 16, more: true }]],
    ['contained in a range', [{ offset: 0, len: 1600, more: true }, { offset: 800, len: 400, more: true }]],
    ['contains a range', [{ offset: 800, len: 400, more: true }, { offset: 0, len: 1600, more: true }]],
    ['teardrop: last fragment ending before the previous end', [{ offset: 0, len: 40, more: true }, { offset: 24, len: 4, more: false }]],
  ];
  for (const [name, frags] of cases) {
    it(`overlap_${name.replace(/[ :]+/g, '_')}`, () => {
      const t = engine();
      expect(t.e.add(frag(frags[0]!), T0).kind).toBe('pending');
      const v = t.e.add(frag(frags[1]!), T0);
      expect(v.kind).toBe('drop');
      expect(t.e.inspect('k')).toMatchObject({ discarded: true, fragments: 0, received: 0 });
      // Only the tombstone is accounted.
      expect(t.e.bytesInUse).toBe(REASSEMBLY_DATAGRAM_OVERHEAD);
      // Fragments still in flight for that datagram are dropped until its deadline, so the
      // remaining pieces cannot assemble a datagram that skips the overlapping bytes.
      for (const f of THREE) expect(t.e.add(frag(f), T0)).toEqual({ kind: 'drop', reason: 'discarded_datagram' });
      expect(t.count('datagrams_discarded')).toBe(1);
    });
  }

  it('the tombstone lives until the original deadline, expires without Time Exceeded, then the key is usable', () => {
    const t = engine();
    t.e.add(frag(THREE[0]!), T0);
    t.e.add(frag({ offset: 400, len: 800, more: true }), Instant.fromMillis(5000));
    const deadline = Instant.add(T0, DEFAULT_IPV4_REASSEMBLY_OPTIONS.timeout);
    expect(t.e.pollAt()).toBe(deadline);
    const late = Instant.fromMicros(deadline - 1);
    expect(t.e.add(frag(THREE[1]!), late)).toEqual({ kind: 'drop', reason: 'discarded_datagram' });
    t.e.poll(deadline);
    expect(t.e.datagrams).toBe(0);
    expect(t.e.bytesInUse).toBe(0);
    expect(t.expired).toEqual([]);
    expect(t.drops('timeout')).toBe(0);
    let v: FragmentVerdict<string> = { kind: 'pending' };
    for (const f of THREE) v = t.e.add(frag(f), deadline);
    expectPattern(payloadOf(v), 2000);
  });
});

describe('ReassemblyEngine: per-fragment rules', () => {
  it('non-last fragment not a multiple of 8 bytes: dropped alone (H11); an odd last fragment is fine', () => {
    const t = engine();
    expect(t.e.add(frag({ offset: 0, len: 1001, more: true }), T0)).toEqual({ kind: 'drop', reason: 'unaligned' });
    expect(t.e.datagrams).toBe(0);
    t.e.add(frag({ offset: 0, len: 1000, more: true }), T0);
    expectPattern(payloadOf(t.e.add(frag({ offset: 1000, len: 1001, more: false }), T0)), 2001);
  });

  it('empty fragments are dropped', () => {
    const t = engine();
    expect(t.e.add(frag({ offset: 8, len: 0, more: true }), T0)).toEqual({ kind: 'drop', reason: 'empty' });
    expect(t.e.add(frag({ offset: 8, len: 0, more: false }), T0)).toEqual({ kind: 'drop', reason: 'empty' });
    expect(t.e.datagrams).toBe(0);
  });

  it('Ping of Death: offset 65528 + 100 bytes is refused before any allocation (H08); the exact limit is accepted', () => {
    const t = engine();
    expect(t.e.add(frag({ offset: 65528, len: 100, more: false }), T0)).toEqual({ kind: 'drop', reason: 'too_big' });
    expect(t.e.datagrams).toBe(0);
    // headroom 20 + end 65515 = 65535: the largest legal IPv4 datagram.
    expect(t.e.add(frag({ offset: 65512, len: 3, more: false }), T0).kind).toBe('pending');
    expect(t.e.add(frag({ key: 'z', offset: 65512, len: 4, more: false }), T0)).toEqual({ kind: 'drop', reason: 'too_big' });
    // With more headroom (options), the limit moves.
    expect(t.e.add(frag({ key: 'o', offset: 65472, len: 40, more: false, headroom: 60 }), T0)).toEqual({ kind: 'drop', reason: 'too_big' });
    expect(t.drops('too_big')).toBe(3);
  });

  it('the complete datagram is re-checked against fragment 0\'s header room', () => {
    const t = engine();
    t.e.add(frag({ offset: 65496, len: 19, more: false, headroom: 20 }), T0);
    // Fragment 0 carries a 60-byte header (options): 60 + 65515 > 65535.
    const v = t.e.add(frag({ offset: 0, len: 65496, more: true, headroom: 60 }), T0);
    // 65496 is 8187 * 8: both fragments passed their own checks; the assembled datagram would not fit.
    expect(v).toEqual({ kind: 'drop', reason: 'too_big' });
  });

  it('two different totals discard the datagram (H13 conflict)', () => {
    const t = engine();
    t.e.add(frag({ offset: 0, len: 1000, more: true }), T0);
    t.e.add(frag({ offset: 2000, len: 1000, more: false }), T0);
    expect(t.e.add(frag({ offset: 1000, len: 1000, more: false }), T0)).toEqual({ kind: 'drop', reason: 'conflict_total' });
    expect(t.e.inspect('k')?.discarded).toBe(true);
  });

  it('a fragment beyond a known total, or a last fragment below data already held, discards it (H13)', () => {
    const t = engine();
    t.e.add(frag({ offset: 8, len: 992, more: false, key: 'a' }), T0);
    expect(t.e.add(frag({ offset: 1000, len: 8, more: true, key: 'a' }), T0)).toEqual({ kind: 'drop', reason: 'beyond_total' });
    t.e.add(frag({ offset: 2000, len: 1000, more: true, key: 'b' }), T0);
    expect(t.e.add(frag({ offset: 1000, len: 500, more: false, key: 'b' }), T0)).toEqual({ kind: 'drop', reason: 'beyond_total' });
    expect(t.drops('beyond_total')).toBe(2);
  });

  it('the same range arriving again as the last fragment is a conflict, not a duplicate', () => {
    const t = engine();
    t.e.add(frag({ offset: 0, len: 800, more: true }), T0);
    t.e.add(frag({ offset: 800, len: 800, more: true }), T0);
    expect(t.e.add(frag({ offset: 800, len: 800, more: false }), T0)).toEqual({ kind: 'drop', reason: 'conflict_total' });
    expect(t.e.inspect('k')?.discarded).toBe(true);
  });

  it('protocol must match for IPv4 (H13); for IPv6 the offset-0 fragment\'s Next Header wins (RFC 8200 §4.5)', () => {
    const v4 = engine();
    v4.e.add(frag({ offset: 0, len: 800, more: true, protocol: 1 }), T0);
    expect(v4.e.add(frag({ offset: 800, len: 8, more: false, protocol: 6 }), T0)).toEqual({ kind: 'drop', reason: 'conflict_protocol' });
    const v6 = engine({}, false);
    v6.e.add(frag({ offset: 800, len: 8, more: false, protocol: 6 }), T0);
    const v = v6.e.add(frag({ offset: 0, len: 800, more: true, protocol: 58 }), T0);
    expect(v.kind === 'complete' && v.datagram.protocol).toBe(58);
  });
});

describe('ReassemblyEngine: limits', () => {
  it('per-datagram cap: the fragment past maxFragmentsPerDatagram discards the datagram (E4)', () => {
    const t = engine({ maxFragmentsPerDatagram: 4 });
    for (let i = 0; i < 4; i++) expect(t.e.add(frag({ offset: i * 8, len: 8, more: true }), T0).kind).toBe('pending');
    // A duplicate is not a new fragment.
    expect(t.e.add(frag({ offset: 0, len: 8, more: true }), T0)).toEqual({ kind: 'drop', reason: 'duplicate' });
    expect(t.e.add(frag({ offset: 32, len: 8, more: false }), T0)).toEqual({ kind: 'drop', reason: 'too_many_fragments' });
    expect(t.e.inspect('k')?.discarded).toBe(true);
    expect(t.e.bytesInUse).toBe(REASSEMBLY_DATAGRAM_OVERHEAD);
  });

  it('default cap is 64 fragments and admits a 64-fragment datagram', () => {
    const t = engine();
    expect(t.e.options.maxFragmentsPerDatagram).toBe(64);
    let v: FragmentVerdict<string> = { kind: 'pending' };
    for (let i = 63; i >= 0; i--) v = t.e.add(frag({ offset: i * 16, len: 16, more: i < 63 }), T0);
    expectPattern(payloadOf(v), 1024);
  });

  it('E4 at the engine: 8,000 8-byte fragments for one key cost little and leave only a tombstone', () => {
    for (const reverse of [false, true]) {
      const t = engine();
      const N = 8000;
      const frags = Array.from({ length: N }, (_, k) => {
        const i = reverse ? N - 1 - k : k;
        return frag({ offset: 8 * i, len: 8, more: i < N - 1 });
      });
      const start = performance.now();
      for (const f of frags) t.e.add(f, T0);
      const ms = performance.now() - start;
      expect(t.drops('too_many_fragments')).toBe(1);
      expect(t.drops('discarded_datagram')).toBe(N - 65);
      expect(t.e.bytesInUse).toBe(REASSEMBLY_DATAGRAM_OVERHEAD);
      // SECURITY-CASES E4: <= 1 ms per 100 fragments; this is the engine alone, with a wide margin.
      expect(ms).toBeLessThan(N / 100);
      if (process.env.REASSEMBLY_FIGURES !== undefined) console.log(`E4 engine ${reverse ? 'reverse' : 'in order'}: ${N} frags in ${ms.toFixed(2)} ms`);
    }
  });

  it('concurrent datagram cap evicts the oldest (maxDatagrams)', () => {
    const t = engine({ maxDatagrams: 3 });
    for (const k of ['a', 'b', 'c', 'd']) t.e.add(frag({ key: k, offset: 0, len: 800, more: true }), T0);
    expect(t.e.datagrams).toBe(3);
    expect(t.e.inspect('a')).toBeUndefined();
    expect(t.e.inspect('d')).toBeDefined();
    expect(t.drops('evicted_cap')).toBe(1);
    // The evicted datagram's later fragment starts over instead of completing it.
    expect(t.e.add(frag({ key: 'a', offset: 800, len: 8, more: false }), T0).kind).toBe('pending');
    expect(t.e.inspect('b')).toBeUndefined();
  });

  it('accounts data, headers and overheads; returns to zero when everything is gone', () => {
    const t = engine();
    t.e.add(frag({ offset: 0, len: 800, more: true }), T0);
    expect(t.e.bytesInUse).toBe(REASSEMBLY_DATAGRAM_OVERHEAD + 800 + HDR + REASSEMBLY_FRAGMENT_OVERHEAD);
    t.e.add(frag({ offset: 1600, len: 400, more: false }), T0);
    expect(t.e.bytesInUse).toBe(REASSEMBLY_DATAGRAM_OVERHEAD + 1200 + HDR + 2 * REASSEMBLY_FRAGMENT_OVERHEAD);
    t.e.add(frag({ key: 'z', offset: 8, len: 8, more: true }), T0);
    expect(t.e.bytesInUse).toBe(2 * REASSEMBLY_DATAGRAM_OVERHEAD + 1208 + HDR + 3 * REASSEMBLY_FRAGMENT_OVERHEAD);
    t.e.add(frag(THREE[1]!), T0);
    expect(t.e.bytesInUse).toBe(REASSEMBLY_DATAGRAM_OVERHEAD + 8 + REASSEMBLY_FRAGMENT_OVERHEAD);
    t.e.poll(Instant.add(T0, DEFAULT_IPV4_REASSEMBLY_OPTIONS.timeout));
    expect(t.e.bytesInUse).toBe(0);
  });

  it('memory: passing the high watermark evicts oldest-first down to the low watermark (E3)', () => {
    const per = REASSEMBLY_DATAGRAM_OVERHEAD + REASSEMBLY_FRAGMENT_OVERHEAD + HDR + 1000; // 1404
    const t = engine({ highWatermark: 10 * per, lowWatermark: 6 * per });
    for (let i = 0; i < 10; i++) t.e.add(frag({ key: `d${i}`, offset: 0, len: 1000, more: true }), T0);
    expect(t.e.bytesInUse).toBe(10 * per);
    expect(t.drops('evicted_memory')).toBe(0);
    t.e.add(frag({ key: 'd10', offset: 0, len: 1000, more: true }), T0);
    // 11 * per > high: evict the oldest until the new one fits under low (6 * per), i.e. 5 evicted.
    expect(t.drops('evicted_memory')).toBe(5);
    expect(t.e.bytesInUse).toBe(6 * per);
    for (let i = 0; i < 5; i++) expect(t.e.inspect(`d${i}`)).toBeUndefined();
    for (let i = 5; i <= 10; i++) expect(t.e.inspect(`d${i}`)).toBeDefined();
    expect(t.e.peakBytes).toBeLessThanOrEqual(10 * per);
  });

  it('memory: the datagram being extended is never evicted for its own fragment', () => {
    const per = REASSEMBLY_DATAGRAM_OVERHEAD + REASSEMBLY_FRAGMENT_OVERHEAD + HDR + 1000;
    const t = engine({ highWatermark: 3 * per, lowWatermark: 2 * per });
    t.e.add(frag({ key: 'old', offset: 0, len: 1000, more: true }), T0);
    t.e.add(frag({ key: 'x', offset: 0, len: 1000, more: true }), T0);
    t.e.add(frag({ key: 'y', offset: 0, len: 1000, more: true }), T0);
    // 'old' is the oldest but is the one being extended: 'x' and 'y' go instead.
    expect(t.e.add(frag({ key: 'old', offset: 1000, len: 1000, more: true }), T0).kind).toBe('pending');
    expect(t.e.inspect('old')?.fragments).toBe(2);
    expect(t.e.inspect('x')).toBeUndefined();
    expect(t.e.bytesInUse).toBeLessThanOrEqual(3 * per);
  });

  it('memory: a fragment that cannot fit even alone is refused (memory_limit)', () => {
    const t = engine({ highWatermark: 1000, lowWatermark: 500 });
    expect(t.e.add(frag({ offset: 0, len: 1480, more: true }), T0)).toEqual({ kind: 'drop', reason: 'memory_limit' });
    expect(t.e.datagrams).toBe(0);
    expect(t.e.bytesInUse).toBe(0);
  });

  it('options: defaults documented and validated', () => {
    expect(DEFAULT_IPV4_REASSEMBLY_OPTIONS).toEqual({
      maxFragmentsPerDatagram: 64,
      maxDatagramSize: 65535,
      highWatermark: 4 << 20,
      lowWatermark: 3 << 20,
      maxDatagrams: 4096,
      timeout: Duration.seconds(30),
    });
    expect(DEFAULT_IPV6_REASSEMBLY_OPTIONS.timeout).toBe(Duration.seconds(60));
    expect(() => reassemblyOptions(DEFAULT_IPV4_REASSEMBLY_OPTIONS, { lowWatermark: 5 << 20 })).toThrow(RangeError);
    expect(() => reassemblyOptions(DEFAULT_IPV4_REASSEMBLY_OPTIONS, { maxFragmentsPerDatagram: 0 })).toThrow(RangeError);
    expect(() => reassemblyOptions(DEFAULT_IPV4_REASSEMBLY_OPTIONS, { maxDatagramSize: 70000 })).toThrow(RangeError);
    expect(() => reassemblyOptions(DEFAULT_IPV4_REASSEMBLY_OPTIONS, { timeout: Duration.ZERO })).toThrow(RangeError);
  });
});

describe('ReassemblyEngine: deadlines', () => {
  it('pollAt is the oldest datagram\'s deadline; poll expires in creation order', () => {
    const t = engine();
    expect(t.e.pollAt()).toBe(Instant.NEVER);
    t.e.add(frag({ key: 'a', offset: 0, len: 800, more: true }), T0);
    const t1 = Instant.fromMillis(11_000);
    t.e.add(frag({ key: 'b', offset: 800, len: 8, more: false }), t1);
    // A later fragment does not extend the deadline (fixed from the first fragment).
    t.e.add(frag({ key: 'a', offset: 800, len: 8, more: true }), Instant.fromMillis(20_000));
    const da = Instant.add(T0, Duration.seconds(30));
    const db = Instant.add(t1, Duration.seconds(30));
    expect(t.e.pollAt()).toBe(da);
    t.e.poll(Instant.fromMicros(da - 1));
    expect(t.e.datagrams).toBe(2);
    t.e.poll(da);
    expect(t.e.datagrams).toBe(1);
    expect(t.e.pollAt()).toBe(db);
    // 'a' had fragment 0: onExpire with its header and first data; 'b' never had it: silent.
    expect(t.expired.length).toBe(1);
    expect(t.expired[0]!.meta).toBe('m0');
    expect(t.expired[0]!.header.length).toBe(HDR);
    expectPattern(t.expired[0]!.firstData, 800);
    t.e.poll(db);
    expect(t.expired.length).toBe(1);
    expect(t.drops('timeout')).toBe(2);
    expect(t.e.pollAt()).toBe(Instant.NEVER);
    expect(t.e.bytesInUse).toBe(0);
  });

  it('a fragment arriving after the deadline but before poll starts a new reassembly', () => {
    const t = engine();
    t.e.add(frag(THREE[0]!), T0);
    const late = Instant.add(T0, Duration.seconds(30));
    expect(t.e.add(frag(THREE[1]!), late).kind).toBe('pending');
    expect(t.expired.length).toBe(1);
    expect(t.e.inspect('k')).toMatchObject({ fragments: 1, received: 800 });
  });

  it('datagrams completing behind a long-lived one neither pile up in the expiry queue nor keep their data', () => {
    const t = engine();
    t.e.add(frag({ key: 'old', offset: 0, len: 800, more: true }), T0);
    for (let i = 0; i < 20_000; i++) {
      t.e.add(frag({ key: `d${i}`, offset: 0, len: 8, more: true }), T0);
      expect(t.e.add(frag({ key: `d${i}`, offset: 8, len: 8, more: false }), T0).kind).toBe('complete');
    }
    expect(t.e.datagrams).toBe(1);
    // Internal queue (private): bounded by twice the live entries plus slack, and its shells hold no data.
    const order = (t.e as unknown as { order: Array<{ ranges: unknown[]; removed: boolean }> }).order;
    expect(order.length).toBeLessThanOrEqual(2 * t.e.datagrams + 1024 + 1);
    expect(order.filter((d) => d.removed && d.ranges.length > 0)).toEqual([]);
    expect(t.e.pollAt()).toBe(Instant.add(T0, DEFAULT_IPV4_REASSEMBLY_OPTIONS.timeout));
  });

  it('the creation queue stays compact under churn (amortised O(1) oldest)', () => {
    const t = engine({ maxDatagrams: 16 });
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) t.e.add(frag({ key: `d${i}`, offset: 0, len: 8, more: true }), T0);
    expect(t.e.datagrams).toBe(16);
    expect(t.drops('evicted_cap')).toBe(20_000 - 16);
    expect(performance.now() - start).toBeLessThan(2000);
    t.e.poll(Instant.add(T0, Duration.seconds(30)));
    expect(t.e.datagrams).toBe(0);
    expect(t.e.bytesInUse).toBe(0);
  });
});
