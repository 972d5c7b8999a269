// TracerDevice: one text line per frame received or transmitted, `<time> <name> <dir> <frame>`, to an
// output function (console.log, a log file, a test array), and optionally a TraceEvent to a TraceSink.
// The frame formatter is injected (the pretty printer plugs in here); the default prints the length
// and the first bytes in hex. A transmit the inner device refused is traced as `busy`.

import type { Clock } from '../ports/clock.js';
import type { LinkDevice, RxMeta } from '../ports/link.js';
import type { TraceSink } from '../ports/trace.js';
import type { Instant } from '../time/instant.js';
import { LinkDecorator } from './decorator.js';

export interface TracerDeviceOptions {
  readonly clock: Clock;
  readonly out: (line: string) => void;
  /** Device name in each line; default 'link'. */
  readonly name?: string;
  readonly format?: (frame: Uint8Array) => string;
  readonly trace?: TraceSink;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `len=N` and up to `max` leading bytes in hex. */
export function defaultFrameFormat(frame: Uint8Array, max = 32): string {
  let s = `len=${frame.length} `;
  const n = Math.min(frame.length, max);
  for (let i = 0; i < n; i++) s += HEX[frame[i]!];
  return frame.length > max ? `${s}...` : s;
}

/** Microsecond instant as seconds with six decimals. */
export function formatInstant(t: Instant): string {
  const sec = Math.floor(t / 1_000_000);
  return `${sec}.${String(t - sec * 1_000_000).padStart(6, '0')}`;
}

export class TracerDevice extends LinkDecorator {
  private readonly clock: Clock;
  private readonly out: (line: string) => void;
  private readonly format: (frame: Uint8Array) => string;
  private readonly traceSink: TraceSink | undefined;
  readonly name: string;
  private userSink: ((frame: Uint8Array, meta: RxMeta) => void) | null = null;

  constructor(inner: LinkDevice, opts: TracerDeviceOptions) {
    super(inner);
    this.clock = opts.clock;
    this.out = opts.out;
    this.format = opts.format ?? ((f) => defaultFrameFormat(f));
    this.traceSink = opts.trace;
    this.name = opts.name ?? 'link';
  }

  override receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number {
    const prev = this.userSink;
    this.userSink = sink;
    try {
      return this.inner.receive(budget, this.tap);
    } finally {
      this.userSink = prev;
    }
  }

  override transmit(frame: Uint8Array): boolean {
    const ok = this.inner.transmit(frame);
    this.emit(frame, ok ? 'tx' : 'busy');
    return ok;
  }

  private readonly tap = (frame: Uint8Array, meta: RxMeta): void => {
    this.emit(frame, 'rx');
    this.userSink!(frame, meta);
  };

  private emit(frame: Uint8Array, dir: 'rx' | 'tx' | 'busy'): void {
    const time = this.clock.now();
    this.out(`${formatInstant(time)} ${this.name} ${dir} ${this.format(frame)}`);
    if (this.traceSink !== undefined && dir !== 'busy') this.traceSink.trace({ time, direction: dir, source: this.name, frame });
  }
}
