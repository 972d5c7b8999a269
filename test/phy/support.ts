// Test helpers for in-memory devices: a settable clock, a listener that records its notifications,
// a receive-everything helper, and Ethernet frame builders.
import type { Clock } from '../../src/ports/clock.js';
import type { LinkDevice, LinkListener } from '../../src/ports/link.js';
import { Instant } from '../../src/time/instant.js';

export class FakeClock implements Clock {
  constructor(public t = 0) {}
  now(): Instant {
    return Instant.fromMicros(this.t);
  }
  advance(us: number): void {
    this.t += us;
  }
}

export interface RecordingListener extends LinkListener {
  readonly events: string[];
  count(kind: string): number;
}

export function recordingListener(onEvent?: (kind: string) => void): RecordingListener {
  const events: string[] = [];
  const push = (k: string): void => {
    events.push(k);
    onEvent?.(k);
  };
  return {
    events,
    count: (kind) => events.filter((e) => e === kind).length,
    onReadable: () => push('readable'),
    onWritable: () => push('writable'),
    onLinkState: (up) => push(up ? 'up' : 'down'),
  };
}

/** Receives everything pending (copies). */
export function drain(dev: LinkDevice, budget = 1_000_000): Uint8Array[] {
  const out: Uint8Array[] = [];
  dev.receive(budget, (f) => out.push(f.slice()));
  return out;
}

export const flushMicrotasks = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

export function mac(n: number): Uint8Array {
  return Uint8Array.of(0x02, 0, 0, 0, 0, n);
}

export const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** An Ethernet II frame dst|src|0x88b5|payload (local experimental ethertype). */
export function ether(dst: Uint8Array, src: Uint8Array, payload: Uint8Array | number = 46): Uint8Array {
  const body = typeof payload === 'number' ? new Uint8Array(payload) : payload;
  const f = new Uint8Array(14 + body.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f.set(body, 14);
  return f;
}

/** A frame whose payload starts with a 32-bit sequence number, to check order. */
export function numbered(seq: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  new DataView(f.buffer).setUint32(14, seq);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

export function seqOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(14);
}
