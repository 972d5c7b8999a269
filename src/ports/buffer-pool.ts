/**
 * Fixed-size-class buffer pool. Buffers have exactly one owner: whoever acquired it must release it
 * exactly once, and never touch it after. Users never see reference counts.
 */
export interface BufferPool {
  /** A buffer of at least `size` bytes (length is exactly `size`), or null if the pool is exhausted. */
  acquire(size: number): Uint8Array | null;
  /** Returns a buffer obtained from acquire(). Throws on double release or a foreign buffer. */
  release(buf: Uint8Array): void;
  /** Buffers currently acquired and not released. */
  readonly inUse: number;
  stats(): BufferPoolStats;
}

export interface BufferPoolStats {
  readonly inUse: number;
  readonly acquired: number;
  readonly released: number;
  readonly exhausted: number;
  readonly bytesReserved: number;
  readonly classes: ReadonlyArray<{ readonly size: number; readonly capacity: number; readonly inUse: number }>;
}
