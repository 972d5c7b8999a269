import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_SIZE_CLASSES, SlabPool, heapSlabMemory } from '../../src/pool/index.js';
import type { SlabMemory } from '../../src/pool/index.js';
import { loadNative, nativeSlabMemory } from '../../src/api/native.js';
import { expectNoLeaks } from '../support/leak-tracker.js';

const native = loadNative();
const classInUse = (p: SlabPool) => p.stats().classes.map((c) => c.inUse);

// Pools created by a test are checked for leaks after it, as every stack test should be.
const pools: SlabPool[] = [];
function pool(options?: ConstructorParameters<typeof SlabPool>[0]): SlabPool {
  const p = new SlabPool(options);
  pools.push(p);
  return p;
}
afterEach(() => {
  for (const p of pools.splice(0)) expectNoLeaks(p);
});

describe('SlabPool', () => {
  it('acquire_returns_exactly_the_requested_length_from_the_smallest_fitting_class', () => {
    const p = pool();
    expect(DEFAULT_SIZE_CLASSES).toEqual([256, 2048, 9216, 65600]);
    const cases: [number, number][] = [
      [0, 0],
      [1, 0],
      [256, 0],
      [257, 1],
      [1514, 1],
      [2048, 1],
      [2049, 2],
      [9000, 2],
      [9216, 2],
      [9217, 3],
      [65535 + 14, 3],
      [65600, 3],
    ];
    for (const [size, cls] of cases) {
      const b = p.acquire(size)!;
      expect(b.length).toBe(size);
      const expected = [0, 0, 0, 0];
      expected[cls] = 1;
      expect(classInUse(p)).toEqual(expected);
      p.release(b);
    }
  });

  it('full_class_size_reuses_the_slot_view_and_shorter_sizes_share_its_memory', () => {
    const p = pool({ classes: [64, 128] });
    const full = p.acquire(128)!;
    expect(full.byteLength).toBe(128);
    full.fill(0xaa);
    p.release(full);
    expect(p.acquire(128)).toBe(full); // same view object: no allocation in the steady state
    p.release(full);
    const short = p.acquire(100)!;
    expect(short.buffer).toBe(full.buffer);
    expect(short.byteOffset).toBe(full.byteOffset);
    expect(short[99]).toBe(0xaa); // not zeroed by default
    p.release(short);
    expect(p.acquire(100)).toBe(short); // the short view is cached for the next equal size
    p.release(short);
  });

  it('zeroOnAcquire_clears_stale_bytes', () => {
    const p = pool({ classes: [64], zeroOnAcquire: true });
    const a = p.acquire(64)!;
    a.fill(7);
    p.release(a);
    const b = p.acquire(40)!;
    expect(b.byteOffset).toBe(a.byteOffset); // the same slot: its bytes really were recycled
    expect(b.every((x) => x === 0)).toBe(true);
    p.release(b);
  });

  it('outstanding_buffers_never_overlap_and_keep_their_contents', () => {
    const p = pool({ classes: [32, 256], slabBytes: 512 });
    const bufs: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const b = p.acquire(i % 3 === 0 ? 200 : 17)!;
      b.fill(i + 1);
      bufs.push(b);
    }
    bufs.forEach((b, i) => expect(b.every((x) => x === i + 1)).toBe(true));
    for (const b of bufs) p.release(b);
  });

  it('exhaustion_returns_null_counts_it_and_recovers_after_release', () => {
    const p = pool({ classes: [1024], slabBytes: 2048, maxBytes: 4096 });
    const held = [p.acquire(1000), p.acquire(1000), p.acquire(1000), p.acquire(1000)];
    expect(held.every((b) => b !== null)).toBe(true);
    expect(p.acquire(1000)).toBeNull();
    expect(p.acquire(1)).toBeNull();
    let s = p.stats();
    expect(s.exhausted).toBe(2);
    expect(s.bytesReserved).toBe(4096);
    expect(s.inUse).toBe(4);
    p.release(held[2]!);
    const b = p.acquire(10)!;
    expect(b).not.toBeNull();
    s = p.stats();
    expect(s.exhausted).toBe(2);
    p.release(b);
    for (const h of [held[0], held[1], held[3]]) p.release(h!);
  });

  it('oversize_requests_return_null_and_are_counted_separately', () => {
    const p = pool({ classes: [100] });
    expect(p.acquire(101)).toBeNull();
    const s = p.stats();
    expect(s.oversize).toBe(1);
    expect(s.exhausted).toBe(0);
    expect(s.bytesReserved).toBe(0);
  });

  it('invalid_sizes_and_options_throw_range_errors', () => {
    const p = pool();
    for (const bad of [-1, 1.5, NaN, Infinity]) expect(() => p.acquire(bad)).toThrow(RangeError);
    expect(() => new SlabPool({ classes: [] })).toThrow(RangeError);
    expect(() => new SlabPool({ classes: [256, 128] })).toThrow(/ascending/);
    expect(() => new SlabPool({ classes: [0] })).toThrow(RangeError);
    expect(() => new SlabPool({ slabBytes: 0 })).toThrow(RangeError);
    expect(() => new SlabPool({ maxBytes: -1 })).toThrow(RangeError);
  });

  it('double_release_throws_a_clear_error', () => {
    const p = pool();
    const full = p.acquire(2048)!;
    p.release(full);
    expect(() => p.release(full)).toThrow(/double release/);
    const short = p.acquire(1500)!;
    p.release(short);
    expect(() => p.release(short)).toThrow(/double release/);
    expect(p.inUse).toBe(0);
    expect(p.stats().released).toBe(2);
  });

  it('foreign_buffers_and_subarrays_of_pooled_buffers_throw', () => {
    const p = pool();
    const other = pool();
    expect(() => p.release(new Uint8Array(256))).toThrow(/not acquired from this pool/);
    const b = p.acquire(256)!;
    expect(() => p.release(b.subarray(1))).toThrow(/not acquired from this pool/);
    expect(() => other.release(b)).toThrow(/not acquired from this pool/);
    expect(p.inUse).toBe(1);
    p.release(b);
  });

  it('a_stale_view_released_after_its_slot_was_reacquired_throws', () => {
    const p = pool({ classes: [256] });
    const old = p.acquire(100)!;
    p.release(old);
    const now = p.acquire(256)!; // same slot (LIFO), different view
    expect(now.byteOffset).toBe(old.byteOffset);
    expect(() => p.release(old)).toThrow(/stale view/);
    p.release(now);
  });

  it('grows_lazily_one_slab_at_a_time_up_to_the_byte_cap', () => {
    const p = pool({ classes: [256, 1024], slabBytes: 1024, maxBytes: 1024 * 3 + 256 });
    expect(p.stats().bytesReserved).toBe(0);
    const small = [1, 2, 3, 4, 5].map(() => p.acquire(200)!); // 4 slots per slab -> 2 slabs
    let s = p.stats();
    expect(s.slabs).toBe(2);
    expect(s.classes[0]).toEqual({ size: 256, capacity: 8, inUse: 5 });
    expect(s.bytesReserved).toBe(2048);
    const big = p.acquire(1024)!;
    s = p.stats();
    expect(s.slabs).toBe(3);
    expect(s.bytesReserved).toBe(3072);
    // 256 bytes of budget left: not enough for another 1024-byte slot
    expect(p.acquire(1024)).toBeNull();
    // but the small class may still grow by a partial slab of one slot
    const more = [1, 2, 3, 4].map(() => p.acquire(10));
    expect(more.filter((b) => b !== null)).toHaveLength(4); // 3 free in slab 2 + 1 in a partial slab
    s = p.stats();
    expect(s.bytesReserved).toBe(1024 * 3 + 256);
    expect(s.classes[0]!.capacity).toBe(9);
    expect(p.acquire(10)).toBeNull();
    for (const b of [...small, big, ...more]) p.release(b!);
    expect(p.stats().classes.map((c) => c.inUse)).toEqual([0, 0]);
  });

  it('asks_the_memory_provider_once_per_slab_never_per_buffer', () => {
    const requests: number[] = [];
    const memory: SlabMemory = (bytes) => {
      requests.push(bytes);
      return heapSlabMemory(bytes);
    };
    const p = pool({ classes: [512], slabBytes: 4096, memory });
    for (let round = 0; round < 100; round++) {
      const bufs = [1, 2, 3].map(() => p.acquire(500)!);
      for (const b of bufs) p.release(b);
    }
    expect(requests).toEqual([4096]);
    expect(p.stats().acquired).toBe(300);
  });

  it('a_throwing_memory_provider_counts_as_exhaustion_not_a_crash', () => {
    const p = pool({
      classes: [256],
      memory: () => {
        throw new RangeError('Array buffer allocation failed');
      },
    });
    expect(p.acquire(10)).toBeNull();
    const s = p.stats();
    expect(s.growthFailures).toBe(1);
    expect(s.exhausted).toBe(1);
    expect(s.bytesReserved).toBe(0);
  });

  it('a_memory_provider_returning_too_little_memory_is_a_programmer_error', () => {
    const p = pool({ classes: [256], memory: () => new ArrayBuffer(10) });
    expect(() => p.acquire(10)).toThrow(TypeError);
  });

  it('stats_count_acquired_released_and_per_class_use', () => {
    const p = pool();
    const a = p.acquire(10)!;
    const b = p.acquire(3000)!;
    const c = p.acquire(3000)!;
    p.release(b);
    const s = p.stats();
    expect(s.acquired).toBe(3);
    expect(s.released).toBe(1);
    expect(s.inUse).toBe(2);
    expect(p.inUse).toBe(2);
    expect(s.classes.map((k) => k.inUse)).toEqual([1, 0, 1, 0]);
    expect(s.classes.map((k) => k.capacity)).toEqual([1024, 0, 28, 0]); // 256 KiB slabs
    expect(s.bytesReserved).toBe(256 * 1024 + 28 * 9216);
    p.release(a);
    p.release(c);
  });

  it('matches_a_model_under_random_acquire_release_sequences', () => {
    const op = fc.oneof(fc.record({ kind: fc.constant('acquire' as const), size: fc.integer({ min: 0, max: 3000 }) }), fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const p = new SlabPool({ classes: [128, 1024, 4096], slabBytes: 4096, maxBytes: 32 * 1024 });
        const held: { buf: Uint8Array; tag: number }[] = [];
        let tag = 0;
        let exhausted = 0;
        for (const o of ops) {
          if (o.kind === 'acquire') {
            const buf = p.acquire(o.size);
            if (buf === null) {
              exhausted++;
              continue;
            }
            expect(buf.length).toBe(o.size);
            buf.fill(++tag & 0xff);
            held.push({ buf, tag });
          } else if (held.length > 0) {
            const [h] = held.splice(o.pick % held.length, 1);
            expect(h!.buf.every((x) => x === (h!.tag & 0xff))).toBe(true); // nobody else wrote here
            p.release(h!.buf);
          }
          expect(p.inUse).toBe(held.length);
        }
        expect(p.stats().exhausted).toBe(exhausted);
        for (const h of held) p.release(h.buf);
        expect(p.inUse).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('heap_memory_provider_slabs_are_plain_zeroed_array_buffers', () => {
    const p = pool({ classes: [256], memory: heapSlabMemory });
    const b = p.acquire(256)!;
    expect(b.buffer).toBeInstanceOf(ArrayBuffer);
    expect(b.every((x) => x === 0)).toBe(true);
    p.release(b);
  });
});

describe.skipIf(!native)('SlabPool with native slab memory', () => {
  it('works_like_the_heap_provider_on_aligned_external_memory', () => {
    const memory = nativeSlabMemory(4096)!;
    const p = pool({ classes: [256, 2048], slabBytes: 64 * 1024, memory });
    const bufs = Array.from({ length: 300 }, (_, i) => p.acquire(i % 2 === 0 ? 1500 : 100)!);
    expect(bufs.every((b) => b !== null && b.every((x) => x === 0))).toBe(true);
    bufs.forEach((b, i) => b.fill(i & 0xff));
    bufs.forEach((b, i) => expect(b[b.length - 1]).toBe(i & 0xff));
    expect(() => p.release(bufs[0]!.subarray(0, 10))).toThrow(/not acquired/);
    for (const b of bufs) p.release(b);
    expect(() => p.release(bufs[0]!)).toThrow(/double release/);
    // 150 x 256-byte slots fit one 64 KiB slab; 150 x 2048-byte slots need five of 32.
    expect(p.stats().slabs).toBe(6);
    expect(p.stats().bytesReserved).toBe(6 * 64 * 1024);
  });

  it('rejects_an_alignment_that_is_not_a_power_of_two', () => {
    expect(() => nativeSlabMemory(48)).toThrow(RangeError);
  });
});
