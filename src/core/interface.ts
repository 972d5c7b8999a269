// A network interface: one link device plus the addresses and link parameters the stack uses on it.
// Frames the device refused (busy) wait in a bounded hold queue and go out on onWritable, in order.

import type { LinkDevice, Medium } from '../ports/link.js';
import type { MacAddress } from '../wire/address.js';
import type { Ipv4Cidr, Ipv6Cidr } from './cidr.js';

export interface InterfaceConfig {
  readonly name?: string;
  readonly mac?: MacAddress;
  /** IP MTU; defaults to the device's. */
  readonly mtu?: number;
  /** Addresses in CIDR form, IPv4 or IPv6 ('198.51.100.2/24', '2001:db8::2/64'). */
  readonly addresses?: readonly string[];
}

export class NetInterface {
  readonly ipv4: Ipv4Cidr[] = [];
  readonly ipv6: Ipv6Cidr[] = [];
  /** Multicast MACs this interface accepts besides its own and broadcast. */
  readonly multicastMacs = new Set<number>();
  /** Owned frames the device refused; sent first when it becomes writable. */
  readonly held: Uint8Array[] = [];
  adminUp = true;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly device: LinkDevice,
    public mac: MacAddress,
    public mtu: number,
  ) {}

  get medium(): Medium {
    return this.device.capabilities.medium;
  }

  /** Operationally up: administratively enabled and the link has carrier. */
  get up(): boolean {
    return this.adminUp && this.device.up;
  }

  hasIpv4(addr: number): boolean {
    for (const a of this.ipv4) if (a.address === addr) return true;
    return false;
  }
}
