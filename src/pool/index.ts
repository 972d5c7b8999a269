// Buffer pools: the size-class slab pool, its memory providers and the leak-tracking decorator.
export { DEFAULT_SIZE_CLASSES, SLAB_POOL_DEFAULTS, SlabPool } from './slab-pool.js';
export type { SlabPoolOptions, SlabPoolStats } from './slab-pool.js';
export { heapSlabMemory } from './slab-memory.js';
export type { SlabMemory } from './slab-memory.js';
export { TrackedPool, formatLeakReport } from './leak-tracker.js';
export type { LeakRecord, LeakReport, TrackedPoolOptions } from './leak-tracker.js';
