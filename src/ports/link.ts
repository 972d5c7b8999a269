import type { Instant } from '../time/instant.js';

/** What the frames on a link are: Ethernet II frames, or bare IPv4/IPv6 packets (TUN, PPP). */
export type Medium = 'ethernet' | 'ip';

/** Per-direction checksum handling of a device. */
export interface ChecksumOffload {
  /** 'none': the stack computes/verifies; 'rx': device verified received checksums; 'tx': device fills them; 'both'. */
  readonly ipv4: 'none' | 'rx' | 'tx' | 'both';
  readonly tcp: 'none' | 'rx' | 'tx' | 'both';
  readonly udp: 'none' | 'rx' | 'tx' | 'both';
  readonly icmp: 'none' | 'rx' | 'tx' | 'both';
}

export interface LinkCapabilities {
  readonly medium: Medium;
  /** Largest frame the device carries, excluding the Ethernet header (i.e. IP MTU). */
  readonly mtu: number;
  /** Largest number of frames worth handing over per receive/transmit burst. */
  readonly maxBurst: number;
  readonly checksum: ChecksumOffload;
}

/** Metadata lent with a received frame. */
export interface RxMeta {
  /** Capture or arrival time when the device knows it (pcap replay), else undefined. */
  readonly timestamp?: Instant;
  /** Interface index within the device (pcapng files carry several), default 0. */
  readonly interfaceId?: number;
}

/** The device tells its owner when it has input or room for output; the runtime then polls. */
export interface LinkListener {
  onReadable(): void;
  onWritable(): void;
  onLinkState?(up: boolean): void;
}

/**
 * A link device: the port every adapter (memory, TAP, AF_PACKET, VDE, pcap) implements.
 * Received bytes are lent for the duration of the callback only: keep a copy to retain them.
 */
export interface LinkDevice {
  readonly capabilities: LinkCapabilities;
  readonly up: boolean;
  /**
   * Delivers up to `budget` pending frames to `sink`, synchronously. Returns how many were delivered.
   * `frame` is valid only during the call.
   */
  receive(budget: number, sink: (frame: Uint8Array, meta: RxMeta) => void): number;
  /**
   * Sends one frame. Returns false when the device is busy: the frame was NOT taken and the caller
   * must hold it and retry after onWritable(). The device is done with `frame` when this returns.
   */
  transmit(frame: Uint8Array): boolean;
  /**
   * Earliest time at which the device will have something to deliver without further input (a delayed
   * frame in a fault injector, the next frame of a timed pcap replay). Absent or Instant.NEVER: no timer.
   */
  pollAt?(now: Instant): Instant;
  /** Registers the single listener (the stack runtime). Passing null detaches. */
  setListener(listener: LinkListener | null): void;
  close(): void;
}
