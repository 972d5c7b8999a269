// Size-class slab pool: the BufferPool behind packet buffers. Memory is reserved a slab at a time
// and carved into fixed slots whose Uint8Array views are created once, so acquire/release are a
// stack pop/push plus a Map lookup: no allocation in the steady state and no native call per
// buffer. Single owner (STYLE.md §8): no reference counts; misuse throws at release.
//
// It does not zero recycled buffers unless asked (`zeroOnAcquire`): callers write before they send.

import type { BufferPool, BufferPoolStats } from '../ports/buffer-pool.js';
import type { SlabMemory } from './slab-memory.js';
import { heapSlabMemory } from './slab-memory.js';

/**
 * Default size classes, in bytes. Each is a multiple of 64 so every slot starts on a cache line.
 *  - 256: control traffic (TCP ACK/SYN/FIN/RST, ARP, ICMP, NDP, DNS queries), the most frequent
 *    frames; 256 leaves room for options, IPv6 headers and link headroom.
 *  - 2048: one full frame at the common 1500-byte MTU (1518 with Ethernet + VLAN), rounded to a
 *    power of two.
 *  - 9216: one jumbo frame (9000-byte MTU plus link headers; 9216 is the usual switch maximum).
 *  - 65600: one maximal IPv4 datagram (65535) plus up to 64 bytes of link header, e.g. a 65536-MTU
 *    loopback or a reassembled datagram; 64 KiB alone would not hold the datagram and its header.
 */
export const DEFAULT_SIZE_CLASSES: readonly number[] = Object.freeze([256, 2048, 9216, 65600]);

export interface SlabPoolOptions {
  /** Slot sizes in bytes, strictly ascending positive integers. Default DEFAULT_SIZE_CLASSES. */
  readonly classes?: readonly number[];
  /** Target bytes per slab: a slab holds max(1, floor(slabBytes / size)) slots. Default 256 KiB. */
  readonly slabBytes?: number;
  /** Cap on bytes reserved across all classes; growth stops there. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Slab memory provider. Default heap ArrayBuffers; see nativeSlabMemory() in src/api/native.ts. */
  readonly memory?: SlabMemory;
  /** Zero each buffer on acquire, so stale packet bytes can never leak out. Default false. */
  readonly zeroOnAcquire?: boolean;
}

/** Defaults of SlabPoolOptions, in one place and readable at run time. */
export const SLAB_POOL_DEFAULTS = Object.freeze({
  classes: DEFAULT_SIZE_CLASSES,
  slabBytes: 256 * 1024,
  maxBytes: 64 * 1024 * 1024,
  zeroOnAcquire: false,
});

export interface SlabPoolStats extends BufferPoolStats {
  /** acquire() calls larger than the largest class (returned null; not counted as exhausted). */
  readonly oversize: number;
  /** Slab allocations that threw (counted as exhaustion of the requesting acquire as well). */
  readonly growthFailures: number;
  readonly slabs: number;
}

// Per-class state. `free` is a stack of global slot ids; slots never move between classes.
interface SizeClass {
  readonly size: number;
  readonly slotsPerSlab: number;
  free: Int32Array;
  top: number;
  capacity: number;
  inUse: number;
}

const NOT_FROM_POOL = 'SlabPool.release: buffer was not acquired from this pool (a foreign buffer, a subarray of a pooled one, or a view already released)';

export class SlabPool implements BufferPool {
  private readonly classes: SizeClass[];
  private readonly largest: number;
  private readonly maxBytes: number;
  private readonly memory: SlabMemory;
  private readonly zeroOnAcquire: boolean;

  // Global slot tables, indexed by slot id.
  private readonly full: Uint8Array[] = []; // the slot's whole view, created with its slab
  private readonly short: (Uint8Array | null)[] = []; // cached shorter view of the slot, if any
  private readonly lent: (Uint8Array | null)[] = []; // the view now handed out; null when free
  private readonly classOf: number[] = [];
  // Every view that may come back to release(): full views always, short views while cached.
  private readonly owner = new Map<Uint8Array, number>();

  private live = 0;
  private acquiredCount = 0;
  private releasedCount = 0;
  private exhaustedCount = 0;
  private oversizeCount = 0;
  private growthFailureCount = 0;
  private reserved = 0;
  private slabCount = 0;

  constructor(options: SlabPoolOptions = {}) {
    const sizes = options.classes ?? SLAB_POOL_DEFAULTS.classes;
    if (sizes.length === 0) throw new RangeError('SlabPool: at least one size class is required');
    for (let i = 0; i < sizes.length; i++) {
      const s = sizes[i]!;
      if (!Number.isInteger(s) || s <= 0 || s > 0x4000_0000) throw new RangeError(`SlabPool: bad class size ${s}`);
      if (i > 0 && s <= sizes[i - 1]!) throw new RangeError('SlabPool: class sizes must be strictly ascending');
    }
    const slabBytes = options.slabBytes ?? SLAB_POOL_DEFAULTS.slabBytes;
    if (!Number.isInteger(slabBytes) || slabBytes <= 0) throw new RangeError(`SlabPool: bad slabBytes ${slabBytes}`);
    const maxBytes = options.maxBytes ?? SLAB_POOL_DEFAULTS.maxBytes;
    if (!(maxBytes >= 0) || Number.isNaN(maxBytes)) throw new RangeError(`SlabPool: bad maxBytes ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.memory = options.memory ?? heapSlabMemory;
    this.zeroOnAcquire = options.zeroOnAcquire ?? SLAB_POOL_DEFAULTS.zeroOnAcquire;
    this.classes = sizes.map((size) => ({
      size,
      slotsPerSlab: Math.max(1, Math.floor(slabBytes / size)),
      free: new Int32Array(0),
      top: 0,
      capacity: 0,
      inUse: 0,
    }));
    this.largest = sizes[sizes.length - 1]!;
  }

  get inUse(): number {
    return this.live;
  }

  /**
   * A view of exactly `size` bytes from the smallest class that fits, or null when that class is
   * exhausted (its slabs are all lent and the byte cap is reached) or `size` exceeds every class.
   * Contents are whatever the previous owner left unless zeroOnAcquire is set.
   */
  acquire(size: number): Uint8Array | null {
    if (!(size >= 0) || !Number.isInteger(size)) throw new RangeError(`SlabPool.acquire: bad size ${size}`);
    if (size > this.largest) {
      this.oversizeCount++;
      return null;
    }
    const classes = this.classes;
    let c = 0;
    while (classes[c]!.size < size) c++; // a handful of classes: a scan beats a search
    const cls = classes[c]!;
    if (cls.top === 0 && !this.grow(c)) {
      this.exhaustedCount++;
      return null;
    }
    const slot = cls.free[--cls.top]!;
    let view = this.full[slot]!;
    if (size !== cls.size) view = this.shortView(slot, view, size);
    this.lent[slot] = view;
    cls.inUse++;
    this.live++;
    this.acquiredCount++;
    if (this.zeroOnAcquire) view.fill(0);
    return view;
  }

  /**
   * Returns a buffer obtained from acquire(). Throws on a second release of the same buffer, on
   * buffers this pool did not hand out and on subarrays of pooled buffers. A stale release made
   * after the slot was re-acquired with an identical view cannot be told apart from the new
   * owner's: single ownership is what rules that out.
   */
  release(buf: Uint8Array): void {
    const slot = this.owner.get(buf);
    if (slot === undefined) throw new Error(NOT_FROM_POOL);
    const current = this.lent[slot];
    if (current !== buf) {
      if (current === null) throw new Error('SlabPool.release: double release (the buffer is already free)');
      throw new Error('SlabPool.release: stale view; this slot was released and re-acquired since');
    }
    this.lent[slot] = null;
    const cls = this.classes[this.classOf[slot]!]!;
    cls.free[cls.top++] = slot;
    cls.inUse--;
    this.live--;
    this.releasedCount++;
  }

  stats(): SlabPoolStats {
    return {
      inUse: this.live,
      acquired: this.acquiredCount,
      released: this.releasedCount,
      exhausted: this.exhaustedCount,
      bytesReserved: this.reserved,
      classes: this.classes.map((c) => ({ size: c.size, capacity: c.capacity, inUse: c.inUse })),
      oversize: this.oversizeCount,
      growthFailures: this.growthFailureCount,
      slabs: this.slabCount,
    };
  }

  // A view of the first `size` bytes of the slot, kept for the next acquire of the same size so a
  // steady stream of equal-sized packets allocates nothing.
  private shortView(slot: number, full: Uint8Array, size: number): Uint8Array {
    const cached = this.short[slot]!;
    if (cached !== null && cached.length === size) return cached;
    if (cached !== null) this.owner.delete(cached);
    const view = full.subarray(0, size);
    this.short[slot] = view;
    this.owner.set(view, slot);
    return view;
  }

  // Adds one slab to class `c` (smaller than usual if the byte cap leaves less room).
  private grow(c: number): boolean {
    const cls = this.classes[c]!;
    const slots = Math.min(cls.slotsPerSlab, Math.floor((this.maxBytes - this.reserved) / cls.size));
    if (slots <= 0) return false;
    const bytes = slots * cls.size;
    let slab: ArrayBuffer;
    try {
      slab = this.memory(bytes);
    } catch {
      // Out of memory is exhaustion, not a crash: the caller drops and counts, like any full pool.
      this.growthFailureCount++;
      return false;
    }
    if (!(slab?.byteLength >= bytes)) {
      throw new TypeError(`SlabPool: memory provider returned ${String(slab?.byteLength)} bytes for a ${bytes}-byte slab`);
    }
    if (cls.free.length < cls.capacity + slots) {
      const free = new Int32Array(Math.max(cls.capacity + slots, cls.free.length * 2));
      free.set(cls.free.subarray(0, cls.top));
      cls.free = free;
    }
    const first = this.full.length;
    for (let k = 0; k < slots; k++) {
      const view = new Uint8Array(slab, k * cls.size, cls.size);
      this.full.push(view);
      this.short.push(null);
      this.lent.push(null);
      this.classOf.push(c);
      this.owner.set(view, first + k);
    }
    // Push in reverse so the lowest addresses are handed out first.
    for (let k = slots - 1; k >= 0; k--) cls.free[cls.top++] = first + k;
    cls.capacity += slots;
    this.reserved += bytes;
    this.slabCount++;
    return true;
  }
}
