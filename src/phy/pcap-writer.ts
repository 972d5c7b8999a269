// PcapWriterDevice: records every frame a device receives and every frame it accepts for transmit
// into a pcap or pcapng stream handed chunk by chunk to a sink (a file writer, a buffer, a socket).
// pcapng marks direction with epb_flags (inbound/outbound); classic pcap cannot. Timestamps come from
// the injected clock (or the receive metadata) plus `epochUs`, so captures are deterministic in tests.
// A frame refused by the inner device (busy) is not recorded: it was not sent.

import type { Clock } from '../ports/clock.js';
import type { LinkDevice, RxMeta } from '../ports/link.js';
import { createCaptureWriter } from '../wire/capture.js';
import type { CaptureWriter } from '../wire/capture.js';
import { LinkDecorator } from './decorator.js';

export interface PcapWriterDeviceOptions {
  /** Receives the file header at construction, then one chunk per frame; owns each chunk. */
  readonly sink: (chunk: Uint8Array) => void;
  readonly clock: Clock;
  /** Default 'pcapng'. */
  readonly format?: 'pcap' | 'pcapng';
  /** LINKTYPE_*; default from the medium: 1 (Ethernet) or 101 (raw IP). */
  readonly linkType?: number;
  /** Added to clock time (µs) to make Unix time; default 0. */
  readonly epochUs?: number;
  /** pcapng if_name. */
  readonly interfaceName?: string;
  readonly snaplen?: number;
}

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

export class PcapWriterDevice extends LinkDecorator {
  private readonly writer: CaptureWriter;
  private readonly clock: Clock;
  private readonly epochUs: number;
  private userSink: ((frame: Uint8Array, meta: RxMeta) => void) | null = null;
  /** Frames recorded so far. */
  recorded = 0;

  constructor(inner: LinkDevice, opts: PcapWriterDeviceOptions) {
    super(inner);
    this.clock = opts.clock;
    this.epochUs = opts.epochUs ?? 0;
    this.writer = createCaptureWriter(opts.sink, {
      format: opts.format ?? 'pcapng',
      linkType: opts.linkType ?? (inner.capabilities.medium === 'ethernet' ? LINKTYPE_ETHERNET : LINKTYPE_RAW),
      resolution: 'us',
      interfaceName: opts.interfaceName,
      snaplen: opts.snaplen,
    });
  }

  override receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number {
    // Saved and restored so a sink that re-enters receive() still gets its own frames.
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
    if (ok) this.record(frame, this.clock.now(), 'outbound');
    return ok;
  }

  private readonly tap = (frame: Uint8Array, meta: RxMeta): void => {
    this.record(frame, meta.timestamp ?? this.clock.now(), 'inbound');
    this.userSink!(frame, meta);
  };

  private record(frame: Uint8Array, us: number, direction: 'inbound' | 'outbound'): void {
    const t = us + this.epochUs;
    const sec = Math.floor(t / 1_000_000);
    this.writer.writePacket(frame, sec, (t - sec * 1_000_000) * 1000, { direction });
    this.recorded++;
  }
}
