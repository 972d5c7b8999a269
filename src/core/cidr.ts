// Address-with-prefix values ('198.51.100.2/24', '2001:db8::1/64') as used in configuration and the
// routing table. Parsing returns null on bad input; callers turn that into a clear error.

import {
  type Ipv4Address,
  type Ipv6Address,
  formatIpv4,
  formatIpv6,
  parseIpv4,
  parseIpv6,
} from '../wire/address.js';

export interface Ipv4Cidr {
  readonly family: 4;
  readonly address: Ipv4Address;
  readonly prefixLen: number;
}

export interface Ipv6Cidr {
  readonly family: 6;
  readonly address: Ipv6Address;
  readonly prefixLen: number;
}

export type Cidr = Ipv4Cidr | Ipv6Cidr;

export function ipv4Mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffff_ffff << (32 - prefixLen)) >>> 0;
}

export function ipv4Network(a: Ipv4Address, prefixLen: number): Ipv4Address {
  return (a & ipv4Mask(prefixLen)) >>> 0;
}

export function ipv4SubnetBroadcast(a: Ipv4Address, prefixLen: number): Ipv4Address {
  return (ipv4Network(a, prefixLen) | ~ipv4Mask(prefixLen)) >>> 0;
}

/** True if the first `prefixLen` bits of a and b agree. */
export function ipv6PrefixMatch(a: Ipv6Address, b: Ipv6Address, prefixLen: number): boolean {
  const full = prefixLen >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = prefixLen & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & mask) === (b[full]! & mask);
}

export function ipv6Network(a: Ipv6Address, prefixLen: number): Ipv6Address {
  const out = new Uint8Array(16);
  const full = prefixLen >>> 3;
  out.set(a.subarray(0, full));
  const rest = prefixLen & 7;
  if (rest) out[full] = a[full]! & ((0xff << (8 - rest)) & 0xff);
  return out;
}

/** Parses 'a.b.c.d/n' or 'x::y/n'; a bare address gets /32 or /128. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? null : text.slice(slash + 1);
  if (lenText !== null && !/^\d{1,3}$/.test(lenText)) return null;
  if (addr.includes(':')) {
    const a = parseIpv6(addr);
    const n = lenText === null ? 128 : Number(lenText);
    if (!a || n > 128) return null;
    return { family: 6, address: a, prefixLen: n };
  }
  const a = parseIpv4(addr);
  const n = lenText === null ? 32 : Number(lenText);
  if (a === null || n > 32) return null;
  return { family: 4, address: a, prefixLen: n };
}

export function formatCidr(c: Cidr): string {
  return `${c.family === 4 ? formatIpv4(c.address) : formatIpv6(c.address)}/${c.prefixLen}`;
}
