// Base of the device decorators (pcap writer, tracer, fault injector): a LinkDevice that wraps another
// and forwards everything, so a subclass overrides only what it observes or alters. Backpressure
// (transmit's false, onWritable) and pollAt() pass through unchanged unless overridden.

import { Instant } from '../time/instant.js';
import type { LinkCapabilities, LinkDevice, LinkListener, RxMeta } from '../ports/link.js';

export class LinkDecorator implements LinkDevice {
  constructor(readonly inner: LinkDevice) {}

  get capabilities(): LinkCapabilities {
    return this.inner.capabilities;
  }

  get up(): boolean {
    return this.inner.up;
  }

  receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number {
    return this.inner.receive(budget, sink);
  }

  transmit(frame: Uint8Array): boolean {
    return this.inner.transmit(frame);
  }

  pollAt(now: Instant): Instant {
    return this.inner.pollAt === undefined ? Instant.NEVER : this.inner.pollAt(now);
  }

  setListener(listener: LinkListener | null): void {
    this.inner.setListener(listener);
  }

  close(): void {
    this.inner.close();
  }
}
