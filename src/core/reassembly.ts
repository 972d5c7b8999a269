// Generic IP fragment reassembly engine, shared by IPv4 (RFC 791 §3.2, RFC 1122 §3.3.2) and IPv6
// (RFC 8200 §4.5). It knows nothing about header formats: the family glue (ipv4-reassembly.ts,
// ipv6-reassembly.ts) computes a key, the fragment's offset/length/more flag and which bytes are its
// header, and builds the final packet from what the engine returns.
//
// Each pending datagram keeps its fragments as sorted, non-overlapping ranges of copied bytes
// (received frames are only lent for the call). Policy, with SECURITY-CASES references:
//  - any overlap discards the whole datagram and leaves a tombstone under its key until the
//    datagram's original deadline, so fragments still in flight are dropped too, without ICMP
//    (RFC 5722, H09, H10, H26a). Exact duplicates (same range, same bytes) are dropped one by one;
//    the same range with different bytes is an overlap;
//  - a non-last fragment must carry a non-zero multiple of 8 bytes (H11); offset+length must keep the
//    datagram within `maxDatagramSize` counting the family's header room (H08 Ping of Death, H26c);
//  - two different totals, a fragment beyond a known total, or (when the family asks for it) a
//    protocol that differs from the datagram's are conflicts that discard the datagram (H13);
//  - at most `maxFragmentsPerDatagram` fragments per datagram, then it is discarded (E4,
//    FragmentSmack); per-fragment work is a binary search plus an insert into at most that many ranges;
//  - memory is accounted per datagram and per fragment, overheads included; when an insert would pass
//    `highWatermark` the oldest datagrams are evicted until `lowWatermark` (E3), and at most
//    `maxDatagrams` are pending (oldest evicted first);
//  - a datagram expires `timeout` after its first fragment arrived (30 s IPv4, 60 s IPv6). Deadlines
//    are fixed at creation, so the table's insertion order is also expiry order: pollAt() is O(1).
// Tombstones count against both caps and are evicted like any other entry.
// Deterministic: time is passed in, nothing here reads a clock or allocates timers.

import { Duration, Instant } from '../time/instant.js';
import type { Stats } from './stats.js';

export interface ReassemblyOptions {
  /** Fragments kept per datagram; one more discards it (E4). */
  readonly maxFragmentsPerDatagram: number;
  /** Largest reassembled datagram in the family's terms (IPv4 Total Length / IPv6 Payload Length). */
  readonly maxDatagramSize: number;
  /** Accounted bytes (data + overheads) above which the oldest datagrams are evicted (E3). */
  readonly highWatermark: number;
  /** Eviction stops once the accounted bytes, including the incoming fragment, are at or below this. */
  readonly lowWatermark: number;
  /** Lifetime of a reassembly from its first fragment (and of a tombstone). */
  readonly timeout: Duration;
  /** Concurrent reassemblies (tombstones included); the oldest is evicted to admit a new one. */
  readonly maxDatagrams: number;
}

/** Accounted cost of one pending datagram besides its fragments (entry object, key, table slot). */
export const REASSEMBLY_DATAGRAM_OVERHEAD = 256;
/** Accounted cost of one stored fragment besides its data (range object, typed array header). */
export const REASSEMBLY_FRAGMENT_OVERHEAD = 128;

const BASE_OPTIONS = {
  maxFragmentsPerDatagram: 64,
  maxDatagramSize: 65535,
  highWatermark: 4 << 20,
  lowWatermark: 3 << 20,
  maxDatagrams: 4096,
} as const;

/** IPv4 defaults: RFC 1122 §3.3.2 suggests 60-120 s; 30 s as Linux and gVisor use (E3). */
export const DEFAULT_IPV4_REASSEMBLY_OPTIONS: ReassemblyOptions = { ...BASE_OPTIONS, timeout: Duration.seconds(30) };
/** IPv6 defaults: RFC 8200 §4.5 fixes the timeout at 60 s. */
export const DEFAULT_IPV6_REASSEMBLY_OPTIONS: ReassemblyOptions = { ...BASE_OPTIONS, timeout: Duration.seconds(60) };

/** Merges `partial` over `defaults` and checks the result; throws RangeError on a programmer error. */
export function reassemblyOptions(defaults: ReassemblyOptions, partial: Partial<ReassemblyOptions> = {}): ReassemblyOptions {
  const o = { ...defaults, ...partial };
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!positiveInt(o.maxFragmentsPerDatagram)) throw new RangeError(`maxFragmentsPerDatagram ${o.maxFragmentsPerDatagram} must be a positive integer`);
  if (!positiveInt(o.maxDatagramSize) || o.maxDatagramSize > 0xffff) throw new RangeError(`maxDatagramSize ${o.maxDatagramSize} outside 1..65535`);
  if (!positiveInt(o.maxDatagrams)) throw new RangeError(`maxDatagrams ${o.maxDatagrams} must be a positive integer`);
  if (!positiveInt(o.highWatermark) || !(o.lowWatermark >= 0 && o.lowWatermark <= o.highWatermark)) {
    throw new RangeError(`watermarks low ${o.lowWatermark} / high ${o.highWatermark} must satisfy 0 <= low <= high`);
  }
  if (!(o.timeout > 0)) throw new RangeError(`timeout ${o.timeout} must be positive`);
  return o;
}

/** Why the engine refused a fragment (also the stats drop reason in the engine's layer). */
export type FragmentDropReason =
  | 'empty'
  | 'unaligned'
  | 'too_big'
  | 'overlap'
  | 'conflict_total'
  | 'conflict_protocol'
  | 'beyond_total'
  | 'too_many_fragments'
  | 'discarded_datagram'
  | 'duplicate'
  | 'memory_limit';

/** One received fragment. `buf` is lent for the call only: whatever is kept is copied. */
export interface FragmentIn<M> {
  /** Datagram identity chosen by the family (e.g. src, dst, ident). */
  readonly key: string;
  /** IPv4 Protocol / the Fragment header's Next Header. */
  readonly protocol: number;
  /** Offset of this fragment's data in the datagram, bytes (a multiple of 8). */
  readonly offset: number;
  readonly more: boolean;
  readonly buf: Uint8Array;
  /** The fragment's header is buf[headerOffset, dataOffset); it is kept from the offset-0 fragment. */
  readonly headerOffset: number;
  readonly dataOffset: number;
  readonly dataLength: number;
  /** Bytes that precede the data in `maxDatagramSize` terms (IPv4 header length; IPv6 extension headers before the Fragment header). */
  readonly headroom: number;
  /** Family context; the offset-0 fragment's is kept (for ICMP on timeout and for rebuilding). */
  readonly meta: M;
}

/** A complete datagram, already removed from the table. */
export interface ReassembledDatagram<M> {
  /** Copy of the offset-0 fragment's header bytes. */
  readonly header: Uint8Array;
  /** The datagram's protocol (see `protocolMustMatch`). */
  readonly protocol: number;
  /** Reassembled data length (everything after the header). */
  readonly length: number;
  readonly meta: M;
  /** Copies the reassembled data (`length` bytes) into buf at off. */
  writePayload(buf: Uint8Array, off: number): void;
}

/** A datagram that timed out after its offset-0 fragment had arrived (RFC 792 Time Exceeded code 1). */
export interface ExpiredDatagram<M> {
  readonly header: Uint8Array;
  /** Data of the offset-0 fragment, as received. */
  readonly firstData: Uint8Array;
  readonly meta: M;
}

export type FragmentVerdict<M> =
  | { readonly kind: 'pending' }
  | { readonly kind: 'complete'; readonly datagram: ReassembledDatagram<M> }
  | { readonly kind: 'drop'; readonly reason: FragmentDropReason };

export interface ReassemblyPolicy<M> {
  /** IPv4 (RFC 791): every fragment carries the datagram's protocol; a different one is a conflict (H13).
   *  IPv6 (RFC 8200 §4.5): only the offset-0 fragment's Next Header counts. */
  readonly protocolMustMatch: boolean;
  /** Called for each datagram that times out after its offset-0 fragment arrived. */
  readonly onExpire?: (d: ExpiredDatagram<M>, now: Instant) => void;
}

/** What a test or `describe()` may read about one pending datagram. */
export interface PendingDatagramInfo {
  readonly fragments: number;
  /** Data bytes held. */
  readonly received: number;
  /** Total data length once the last fragment arrived, else -1. */
  readonly total: number;
  readonly discarded: boolean;
  readonly expires: Instant;
}

interface Range {
  readonly start: number;
  readonly end: number;
  readonly data: Uint8Array;
}

class Datagram<M> {
  ranges: Range[] = [];
  /** Data length fixed by the last fragment, -1 until it arrives. */
  total = -1;
  maxEnd = 0;
  received = 0;
  /** Accounted bytes (overheads included). */
  cost = REASSEMBLY_DATAGRAM_OVERHEAD;
  header: Uint8Array | null = null;
  headroom = 0;
  discarded = false;
  /** Out of the table (completed, expired or evicted); its slot in the order queue is skipped. */
  removed = false;

  constructor(
    readonly key: string,
    readonly expires: Instant,
    public protocol: number,
    public meta: M,
  ) {}
}

const PENDING = Object.freeze({ kind: 'pending' as const });
const DROPS = new Map<FragmentDropReason, { readonly kind: 'drop'; readonly reason: FragmentDropReason }>();
function dropVerdict(reason: FragmentDropReason): { readonly kind: 'drop'; readonly reason: FragmentDropReason } {
  let v = DROPS.get(reason);
  if (v === undefined) {
    v = Object.freeze({ kind: 'drop' as const, reason });
    DROPS.set(reason, v);
  }
  return v;
}

export class ReassemblyEngine<M> {
  /** The limits in force (validated copy of the constructor's). */
  readonly options: ReassemblyOptions;
  private readonly table = new Map<string, Datagram<M>>();
  /** Datagrams in creation (= expiry) order from `head`; removed ones are skipped and compacted away. */
  private order: Datagram<M>[] = [];
  private head = 0;
  private used = 0;
  private peak = 0;

  constructor(
    options: ReassemblyOptions,
    private readonly stats: Stats,
    /** Stats layer for counters and drop reasons, e.g. 'ipv4-reassembly'. */
    readonly layer: string,
    private readonly policy: ReassemblyPolicy<M>,
  ) {
    this.options = reassemblyOptions(options);
  }

  /** Accounted bytes currently held (data plus overheads). */
  get bytesInUse(): number {
    return this.used;
  }

  /** Highest `bytesInUse` seen. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Pending datagrams, tombstones included. */
  get datagrams(): number {
    return this.table.size;
  }

  inspect(key: string): PendingDatagramInfo | undefined {
    const d = this.table.get(key);
    if (d === undefined) return undefined;
    return { fragments: d.ranges.length, received: d.received, total: d.total, discarded: d.discarded, expires: d.expires };
  }

  /** Adds a fragment; returns the complete datagram when it was the missing piece. */
  add(f: FragmentIn<M>, now: Instant): FragmentVerdict<M> {
    const o = this.options;
    const len = f.dataLength;
    this.stats.count(this.layer, 'fragments');
    this.expireDue(now);
    if (len <= 0) return this.reject('empty');
    // RFC 791 §3.2 / RFC 8200 §4.5: only the last fragment may end off an 8-byte boundary.
    if ((f.more && (len & 7) !== 0) || (f.offset & 7) !== 0 || f.offset < 0) return this.reject('unaligned');
    const end = f.offset + len;
    // Ping of Death (H08): refuse before anything is sized from offset+length.
    if (f.headroom + end > o.maxDatagramSize) return this.reject('too_big');

    let d = this.table.get(f.key);
    let idx = 0;
    if (d !== undefined) {
      if (d.discarded) return this.reject('discarded_datagram');
      if (this.policy.protocolMustMatch && f.protocol !== d.protocol) return this.discard(d, 'conflict_protocol');
      if (!f.more) {
        if (d.total >= 0 && d.total !== end) return this.discard(d, 'conflict_total');
        if (d.maxEnd > end) return this.discard(d, 'beyond_total');
      } else if (d.total >= 0 && end > d.total) {
        return this.discard(d, 'beyond_total');
      }
      const ranges = d.ranges;
      idx = lowerBound(ranges, f.offset);
      const prev = idx > 0 ? ranges[idx - 1]! : undefined;
      if (prev !== undefined && prev.end > f.offset) return this.discard(d, 'overlap');
      const next = idx < ranges.length ? ranges[idx]! : undefined;
      if (next !== undefined) {
        if (next.start === f.offset && next.end === end) {
          // A "last" copy of a range that arrived as non-last would leave the total unknown: a conflict.
          if (!f.more && d.total < 0) return this.discard(d, 'conflict_total');
          // RFC 8200 §4.5 allows dropping exact duplicates alone; different bytes are an overlap (RFC 5722).
          return sameBytes(next.data, f.buf, f.dataOffset) ? this.reject('duplicate') : this.discard(d, 'overlap');
        }
        if (next.start < end) return this.discard(d, 'overlap');
      }
      if (ranges.length >= o.maxFragmentsPerDatagram) return this.discard(d, 'too_many_fragments');
    }

    const headerLen = f.offset === 0 ? f.dataOffset - f.headerOffset : 0;
    const fragCost = len + REASSEMBLY_FRAGMENT_OVERHEAD + headerLen;
    if (d === undefined) {
      if (this.table.size >= o.maxDatagrams) this.evictOldest();
      if (!this.makeRoom(fragCost + REASSEMBLY_DATAGRAM_OVERHEAD, null)) return this.reject('memory_limit');
      d = new Datagram<M>(f.key, Instant.add(now, o.timeout), f.protocol, f.meta);
      this.table.set(f.key, d);
      this.order.push(d);
      this.compactOrder();
      this.used += REASSEMBLY_DATAGRAM_OVERHEAD;
      this.stats.count(this.layer, 'datagrams_started');
    } else if (!this.makeRoom(fragCost, d)) {
      return this.reject('memory_limit');
    }
    d.ranges.splice(idx, 0, { start: f.offset, end, data: f.buf.slice(f.dataOffset, f.dataOffset + len) });
    if (f.offset === 0) {
      d.header = f.buf.slice(f.headerOffset, f.dataOffset);
      d.headroom = f.headroom;
      d.meta = f.meta;
      if (!this.policy.protocolMustMatch) d.protocol = f.protocol;
    }
    if (!f.more) d.total = end;
    if (end > d.maxEnd) d.maxEnd = end;
    d.received += len;
    d.cost += fragCost;
    this.used += fragCost;
    if (this.used > this.peak) this.peak = this.used;

    // Ranges are disjoint and inside [0, total), so covering it is a byte count.
    if (d.total < 0 || d.received !== d.total) return PENDING;
    const header = d.header;
    if (header === null || d.headroom + d.total > o.maxDatagramSize) return this.discard(d, 'too_big');
    const ranges = d.ranges;
    this.remove(d);
    this.stats.count(this.layer, 'reassembled');
    const datagram: ReassembledDatagram<M> = {
      header,
      protocol: d.protocol,
      length: d.total,
      meta: d.meta,
      writePayload(buf, off) {
        for (const r of ranges) buf.set(r.data, off + r.start);
      },
    };
    return { kind: 'complete', datagram };
  }

  /** Earliest deadline (the oldest entry's), or NEVER. */
  pollAt(): Instant {
    const first = this.oldest();
    return first === undefined ? Instant.NEVER : first.expires;
  }

  /** Expires what is due at `now`. */
  poll(now: Instant): void {
    this.expireDue(now);
  }

  /** Drops every pending datagram (no ICMP); used when the module is torn down. */
  clear(): void {
    this.table.clear();
    this.order = [];
    this.head = 0;
    this.used = 0;
  }

  /** The oldest live datagram; each removed entry is skipped once, so this is amortised O(1). */
  private oldest(): Datagram<M> | undefined {
    const order = this.order;
    while (this.head < order.length && order[this.head]!.removed) this.head++;
    return this.head < order.length ? order[this.head] : undefined;
  }

  /**
   * Keeps the queue within twice the live entries (plus slack): datagrams that completed behind an
   * old one stay queued until the head passes them, so they are filtered out in one O(n) pass after
   * at least n/2 removals (amortised O(1) per datagram).
   */
  private compactOrder(): void {
    if (this.order.length <= 2 * this.table.size + 1024) return;
    this.order = this.order.filter((d, i) => i >= this.head && !d.removed);
    this.head = 0;
  }

  private expireDue(now: Instant): void {
    for (let d = this.oldest(); d !== undefined && d.expires <= now; d = this.oldest()) {
      const { header, ranges, discarded } = d;
      this.remove(d);
      if (discarded) continue;
      this.stats.drop(this.layer, 'timeout');
      // RFC 1122 §3.3.2 / RFC 8200 §4.5: Time Exceeded only when the offset-0 fragment arrived.
      if (header !== null && this.policy.onExpire) this.policy.onExpire({ header, firstData: ranges[0]!.data, meta: d.meta }, now);
    }
  }

  private reject(reason: FragmentDropReason): FragmentVerdict<M> {
    this.stats.drop(this.layer, reason);
    return dropVerdict(reason);
  }

  /** Frees the datagram's data and keeps a tombstone under its key until its deadline (RFC 5722). */
  private discard(d: Datagram<M>, reason: FragmentDropReason): FragmentVerdict<M> {
    this.used -= d.cost - REASSEMBLY_DATAGRAM_OVERHEAD;
    d.cost = REASSEMBLY_DATAGRAM_OVERHEAD;
    d.ranges = [];
    d.header = null;
    d.received = 0;
    d.discarded = true;
    this.stats.count(this.layer, 'datagrams_discarded');
    return this.reject(reason);
  }

  /** Takes `d` out of the table and releases its data (its queue slot only holds the empty shell). */
  private remove(d: Datagram<M>): void {
    this.table.delete(d.key);
    d.removed = true;
    d.ranges = [];
    d.header = null;
    this.used -= d.cost;
  }

  /** Evicts the oldest datagram to admit a new one (maxDatagrams). */
  private evictOldest(): void {
    const d = this.oldest();
    if (d === undefined) return;
    this.remove(d);
    this.stats.drop(this.layer, 'evicted_cap');
  }

  /**
   * Ensures `cost` more bytes fit under the high watermark by evicting oldest-first (never `keep`, the
   * datagram being extended) down to the low watermark (E3). One pass over the creation queue.
   */
  private makeRoom(cost: number, keep: Datagram<M> | null): boolean {
    const o = this.options;
    if (this.used + cost <= o.highWatermark) return true;
    const order = this.order;
    for (let i = this.head; i < order.length && this.used + cost > o.lowWatermark; i++) {
      const d = order[i]!;
      if (d.removed || d === keep) continue;
      this.remove(d);
      this.stats.drop(this.layer, 'evicted_memory');
    }
    return this.used + cost <= o.highWatermark;
  }
}

function lowerBound(ranges: readonly Range[], start: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]!.start < start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameBytes(kept: Uint8Array, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < kept.length; i++) if (kept[i] !== buf[off + i]) return false;
  return true;
}
