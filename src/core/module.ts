// The contract between the stack and its protocol modules. A stack is built from the modules the
// user picks (arp, ipv4, icmpv4, udp, ...): each installs its handlers into the stack context; what
// is not picked is never imported, so it is not in the bundle.

import type { Instant } from '../time/instant.js';
import type { Ipv4Cidr } from './cidr.js';
import type { NetInterface } from './interface.js';
import type { StackContext } from './stack.js';

export interface StackModule {
  /** Unique name, e.g. 'arp'; other modules look each other up by it. */
  readonly name: string;
  /** Called once while the stack is built: register ethertype/protocol handlers here. */
  install(ctx: StackContext): void;
  /** Earliest deadline of this module's timers (Instant.NEVER when none). */
  pollAt?(now: Instant): Instant;
  /** Runs the timers that are due at `now`. */
  poll?(now: Instant): void;
  /** An interface was added to the stack. */
  interfaceAdded?(iface: NetInterface, now: Instant): void;
  /** An interface went up or down. */
  linkChanged?(iface: NetInterface, up: boolean, now: Instant): void;
  /** An IPv4 address was assigned to an interface after it was added (Stack.addIpv4Address). */
  ipv4AddressAdded?(iface: NetInterface, cidr: Ipv4Cidr, now: Instant): void;
  /** An IPv4 address was taken off an interface (Stack.removeIpv4Address). */
  ipv4AddressRemoved?(iface: NetInterface, cidr: Ipv4Cidr, now: Instant): void;
  /** The stack is closing: release pooled buffers the module holds (queued packets). */
  close?(): void;
}

/** Receives frames of one EtherType on Ethernet interfaces (or, on IP-medium links, by IP version). */
export type EthertypeHandler = (iface: NetInterface, frame: Uint8Array, off: number, len: number, now: Instant, linkInfo: LinkRxInfo) => void;

/** Link-layer facts about a received packet that upper layers need. */
export interface LinkRxInfo {
  /** Source MAC (0 on IP-medium links). */
  readonly srcMac: number;
  /** The frame was sent to a broadcast or multicast MAC (RFC 1122 §3.3.6: no ICMP errors about it). */
  readonly linkMulticast: boolean;
}
