// Address representations used throughout the stack:
//  - IPv4: an unsigned 32-bit number (host arithmetic, cheap Map keys, no allocation).
//  - MAC: a 48-bit unsigned number (exact in a double).
//  - IPv6: a 16-byte Uint8Array that the holder owns (parsers copy out of frames).
// Text parsing returns null on bad input (user input is not wire input, but is untrusted too).

import { readU16, readU48, writeU48 } from './bytes.js';

export type Ipv4Address = number;
export type MacAddress = number;
export type Ipv6Address = Uint8Array;

export const MAC_BROADCAST: MacAddress = 0xffff_ffff_ffff;
export const IPV4_BROADCAST: Ipv4Address = 0xffff_ffff;
export const IPV4_UNSPECIFIED: Ipv4Address = 0;

export function readIpv4(b: Uint8Array, o: number): Ipv4Address {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function writeIpv4(b: Uint8Array, o: number, a: Ipv4Address): void {
  b[o] = a >>> 24;
  b[o + 1] = a >>> 16;
  b[o + 2] = a >>> 8;
  b[o + 3] = a;
}

export function formatIpv4(a: Ipv4Address): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

export function parseIpv4(s: string): Ipv4Address | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

export function isIpv4Multicast(a: Ipv4Address): boolean {
  return a >>> 28 === 0xe;
}

export function isIpv4Loopback(a: Ipv4Address): boolean {
  return a >>> 24 === 127;
}

export function readMac(b: Uint8Array, o: number): MacAddress {
  return readU48(b, o);
}

export function writeMac(b: Uint8Array, o: number, m: MacAddress): void {
  writeU48(b, o, m);
}

export function formatMac(m: MacAddress): string {
  return m.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

export function parseMac(s: string): MacAddress | null {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) return null;
  return Number.parseInt(s.replace(/[:-]/g, ''), 16);
}

/** Group bit (I/G): multicast or broadcast. */
export function isMacMulticast(m: MacAddress): boolean {
  return Math.floor(m / 0x100_0000_0000) % 2 === 1;
}

export function readIpv6(b: Uint8Array, o: number): Ipv6Address {
  return b.slice(o, o + 16);
}

export function writeIpv6(b: Uint8Array, o: number, a: Ipv6Address): void {
  b.set(a.subarray(0, 16), o);
}

export function ipv6Equal(a: Ipv6Address, b: Ipv6Address): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const IPV6_UNSPECIFIED: Ipv6Address = new Uint8Array(16);

export function isIpv6Multicast(a: Ipv6Address): boolean {
  return a[0] === 0xff;
}

export function isIpv6LinkLocal(a: Ipv6Address): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

export function isIpv6Unspecified(a: Ipv6Address): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

/** RFC 5952 text form: lowercase, longest run of two or more zero groups compressed. */
export function formatIpv6(a: Ipv6Address): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(readU16(a, i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped addresses print their tail dotted, as every tool does.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(((groups[6]! << 16) | groups[7]!) >>> 0)}`;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hexes.join(':');
  const head = hexes.slice(0, bestStart).join(':');
  const tail = hexes.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

export function parseIpv6(s: string): Ipv6Address | null {
  let text = s;
  const out = new Uint8Array(16);
  // Embedded dotted IPv4 tail (e.g. ::ffff:198.51.100.1).
  let v4: number | null = null;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const gs = part.split(':');
    const out: number[] = [];
    for (const g of gs) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return null;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >>> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  if (v4 !== null) {
    out[12] = v4 >>> 24;
    out[13] = (v4 >>> 16) & 0xff;
    out[14] = (v4 >>> 8) & 0xff;
    out[15] = v4 & 0xff;
  }
  return out;
}

/** Ethernet multicast MAC for an IPv4 group (RFC 1112 §6.4): 01:00:5e + low 23 bits. */
export function ipv4MulticastMac(group: Ipv4Address): MacAddress {
  return 0x01005e000000 + (group & 0x7fffff);
}

/** Ethernet multicast MAC for an IPv6 group (RFC 2464 §7): 33:33 + low 32 bits. */
export function ipv6MulticastMac(group: Ipv6Address): MacAddress {
  return 0x333300000000 + (((group[12]! << 24) | (group[13]! << 16) | (group[14]! << 8) | group[15]!) >>> 0);
}
