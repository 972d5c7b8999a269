import type { Instant } from '../time/instant.js';

export type TraceDirection = 'rx' | 'tx' | 'drop';

export interface TraceEvent {
  readonly time: Instant;
  readonly direction: TraceDirection;
  /** Which device or interface, e.g. 'eth0'. */
  readonly source: string;
  /** The frame, lent for the call only. */
  readonly frame: Uint8Array;
  /** Why it was dropped, for direction 'drop' (e.g. 'ipv4.bad_checksum'). */
  readonly reason?: string;
}

/** Receives every frame a traced device or the stack sees; used by tracers, recorders and tests. */
export interface TraceSink {
  trace(event: TraceEvent): void;
}
