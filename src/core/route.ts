// Routing tables for IPv4 and IPv6: longest prefix match, then lowest metric. Routes are on-link
// (no gateway) or via a gateway; each names the interface it leaves through. Tables are small in a
// host stack (tens of routes), so lookup scans routes kept sorted by (prefix length desc, metric asc):
// the first match is the answer, and the order makes that obviously correct.

import type { Ipv4Address, Ipv6Address } from '../wire/address.js';
import { ipv4Mask, ipv6PrefixMatch } from './cidr.js';

export interface Ipv4Route {
  readonly network: Ipv4Address;
  readonly prefixLen: number;
  /** Next hop; undefined for on-link destinations. */
  readonly gateway?: Ipv4Address;
  readonly ifIndex: number;
  readonly metric: number;
  /** Where the route came from, for listing and for withdrawing (e.g. 'connected', 'static', 'dhcp'). */
  readonly origin: string;
}

export interface Ipv6Route {
  readonly network: Ipv6Address;
  readonly prefixLen: number;
  readonly gateway?: Ipv6Address;
  readonly ifIndex: number;
  readonly metric: number;
  readonly origin: string;
}

function byPrecedence(a: { prefixLen: number; metric: number }, b: { prefixLen: number; metric: number }): number {
  return b.prefixLen - a.prefixLen || a.metric - b.metric;
}

export class Ipv4RoutingTable {
  private routes: Ipv4Route[] = [];

  /** Adds a route; an identical (network, prefix, gateway, interface) route is replaced. */
  add(route: Ipv4Route): void {
    const network = (route.network & ipv4Mask(route.prefixLen)) >>> 0;
    const r = { ...route, network };
    this.routes = this.routes.filter((x) => !sameV4(x, r));
    this.routes.push(r);
    this.routes.sort(byPrecedence);
  }

  /** Removes routes matching every given field; returns how many were removed. */
  remove(match: Partial<Ipv4Route>): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !matches(r, match));
    return before - this.routes.length;
  }

  lookup(dst: Ipv4Address): Ipv4Route | undefined {
    for (const r of this.routes) {
      if (((dst & ipv4Mask(r.prefixLen)) >>> 0) === r.network) return r;
    }
    return undefined;
  }

  list(): readonly Ipv4Route[] {
    return this.routes;
  }
}

export class Ipv6RoutingTable {
  private routes: Ipv6Route[] = [];

  add(route: Ipv6Route): void {
    this.routes = this.routes.filter((x) => !sameV6(x, route));
    this.routes.push(route);
    this.routes.sort(byPrecedence);
  }

  remove(match: Partial<Ipv6Route>): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !matches(r, match));
    return before - this.routes.length;
  }

  lookup(dst: Ipv6Address): Ipv6Route | undefined {
    for (const r of this.routes) if (ipv6PrefixMatch(dst, r.network, r.prefixLen)) return r;
    return undefined;
  }

  list(): readonly Ipv6Route[] {
    return this.routes;
  }
}

function sameV4(a: Ipv4Route, b: Ipv4Route): boolean {
  return a.network === b.network && a.prefixLen === b.prefixLen && a.gateway === b.gateway && a.ifIndex === b.ifIndex;
}

function sameV6(a: Ipv6Route, b: Ipv6Route): boolean {
  return (
    a.prefixLen === b.prefixLen &&
    a.ifIndex === b.ifIndex &&
    bytesEqual(a.network, b.network) &&
    (a.gateway === b.gateway || (a.gateway !== undefined && b.gateway !== undefined && bytesEqual(a.gateway, b.gateway)))
  );
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function matches<T extends object>(r: T, match: Partial<T>): boolean {
  for (const [k, v] of Object.entries(match)) {
    const rv = (r as Record<string, unknown>)[k];
    if (v instanceof Uint8Array ? !(rv instanceof Uint8Array && bytesEqual(rv, v)) : rv !== v) return false;
  }
  return true;
}
