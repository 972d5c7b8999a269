// Where slab memory comes from. The pool asks once per slab (hundreds of buffers), never per buffer,
// so a provider may be slow (a native call, an mmap) without touching the data path.

/**
 * Returns a fresh, zero-filled ArrayBuffer of at least `bytes` bytes. May throw when memory is
 * short; the pool then reports exhaustion instead of growing.
 */
export type SlabMemory = (bytes: number) => ArrayBuffer;

/** Plain V8-heap memory: the default, and the fallback when the native addon is absent. */
export const heapSlabMemory: SlabMemory = (bytes) => new ArrayBuffer(bytes);
