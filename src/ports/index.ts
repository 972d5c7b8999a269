// Interfaces only: what the core needs from the outside world.
export type { Clock } from './clock.js';
export type { RandomSource } from './random.js';
export type { ChecksumProvider } from './checksum.js';
export type { BufferPool, BufferPoolStats } from './buffer-pool.js';
export type {
  ChecksumOffload,
  LinkCapabilities,
  LinkDevice,
  LinkListener,
  Medium,
  RxMeta,
} from './link.js';
export type { TraceDirection, TraceEvent, TraceSink } from './trace.js';
