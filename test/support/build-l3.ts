// Test frame builders for link and network layers (SECURITY-CASES §7.2). Every field defaults to a valid
// value; lengths and checksums are recomputed unless the test overrides that field, so a hostile case
// reads as one override (`ipv4({ ihl: 4 })`, `ipv4({ totalLength: 1500 })`). The builders write bytes
// directly rather than through the codecs under test, so a codec bug cannot hide in its own builder.

import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { finishChecksum } from '../../src/checksum/internet.js';
import { fromHex, writeU16, writeU32 } from '../../src/wire/bytes.js';
import { parseIpv4, parseIpv6, parseMac, writeIpv4, writeMac } from '../../src/wire/address.js';

export const MAC_A = parseMac('02:00:00:00:00:01')!;
export const MAC_B = parseMac('02:00:00:00:00:02')!;
export const IP4_A = parseIpv4('192.0.2.1')!;
export const IP4_B = parseIpv4('192.0.2.2')!;
export const IP6_A = parseIpv6('2001:db8::1')!;
export const IP6_B = parseIpv6('2001:db8::2')!;

/** Hex (whitespace and colons ignored) to bytes. */
export const hexBytes = fromHex;

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface VlanSpec {
  tpid?: number;
  pcp?: number;
  dei?: boolean;
  vid: number;
}

export interface EthernetOpts {
  dst?: number;
  src?: number;
  vlans?: VlanSpec[];
  ethertype?: number;
  payload?: Uint8Array;
  /** Zero-pad to the 60-byte minimum. */
  pad?: boolean;
}

export function ethernet(o: EthernetOpts = {}): Uint8Array {
  const vlans = o.vlans ?? [];
  const payload = o.payload ?? new Uint8Array(0);
  const hdr = 14 + vlans.length * 4;
  const n = Math.max(hdr + payload.length, o.pad ? 60 : 0);
  const b = new Uint8Array(n);
  writeMac(b, 0, o.dst ?? MAC_B);
  writeMac(b, 6, o.src ?? MAC_A);
  let at = 12;
  for (const v of vlans) {
    writeU16(b, at, v.tpid ?? 0x8100);
    writeU16(b, at + 2, ((v.pcp ?? 0) << 13) | (v.dei ? 0x1000 : 0) | v.vid);
    at += 4;
  }
  writeU16(b, at, o.ethertype ?? 0x0800);
  b.set(payload, hdr);
  return b;
}

export interface ArpOpts {
  htype?: number;
  ptype?: number;
  hlen?: number;
  plen?: number;
  op?: number;
  sha?: number;
  spa?: number;
  tha?: number;
  tpa?: number;
  /** Cut the packet to this many bytes. */
  truncate?: number;
}

export function arp(o: ArpOpts = {}): Uint8Array {
  const b = new Uint8Array(28);
  writeU16(b, 0, o.htype ?? 1);
  writeU16(b, 2, o.ptype ?? 0x0800);
  b[4] = o.hlen ?? 6;
  b[5] = o.plen ?? 4;
  writeU16(b, 6, o.op ?? 1);
  writeMac(b, 8, o.sha ?? MAC_A);
  writeIpv4(b, 14, o.spa ?? IP4_A);
  writeMac(b, 18, o.tha ?? 0);
  writeIpv4(b, 24, o.tpa ?? IP4_B);
  return o.truncate === undefined ? b : b.slice(0, o.truncate);
}

export interface Ipv4Opts {
  src?: number;
  dst?: number;
  protocol?: number;
  ttl?: number;
  dscp?: number;
  ecn?: number;
  ident?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes (written as bytes / 8). */
  fragOffset?: number;
  /** Raw option bytes, zero-padded to a multiple of 4. */
  options?: Uint8Array;
  payload?: Uint8Array;
  // Overrides that skip recomputation:
  version?: number;
  ihl?: number;
  totalLength?: number;
  checksum?: number;
}

export function ipv4(o: Ipv4Opts = {}): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const optLen = (opts.length + 3) & ~3;
  const hlen = 20 + optLen;
  const payload = o.payload ?? new Uint8Array(0);
  const b = new Uint8Array(hlen + payload.length);
  b[0] = ((o.version ?? 4) << 4) | ((o.ihl ?? hlen / 4) & 0x0f);
  b[1] = ((o.dscp ?? 0) << 2) | (o.ecn ?? 0);
  writeU16(b, 2, o.totalLength ?? b.length);
  writeU16(b, 4, o.ident ?? 0x1234);
  writeU16(b, 6, (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >>> 3));
  b[8] = o.ttl ?? 64;
  b[9] = o.protocol ?? 17;
  writeIpv4(b, 12, o.src ?? IP4_A);
  writeIpv4(b, 16, o.dst ?? IP4_B);
  b.set(opts, 20);
  b.set(payload, hlen);
  writeU16(b, 10, o.checksum ?? finishChecksum(tsChecksum.sum(b, 0, hlen, 0)));
  return b;
}

/** One extension header for `ipv6ext`; `nextHeader` overrides the chained value. */
export type ExtSpec =
  | { type: 'hbh' | 'dest'; options?: Uint8Array; hdrExtLen?: number; nextHeader?: number }
  | { type: 'routing'; routingType?: number; segmentsLeft?: number; addresses?: number; hdrExtLen?: number; nextHeader?: number }
  | { type: 'frag'; fragOffset?: number; more?: boolean; ident?: number; nextHeader?: number }
  | { type: 'raw'; protocol: number; bytes: Uint8Array; nextHeader?: number };

function extProtocol(s: ExtSpec): number {
  switch (s.type) {
    case 'hbh':
      return 0;
    case 'dest':
      return 60;
    case 'routing':
      return 43;
    case 'frag':
      return 44;
    case 'raw':
      return s.protocol;
  }
}

function extBytes(s: ExtSpec): Uint8Array {
  switch (s.type) {
    case 'hbh':
    case 'dest': {
      const opts = s.options ?? new Uint8Array(0);
      const used = 2 + opts.length;
      const len = Math.max(8, (used + 7) & ~7);
      const b = new Uint8Array(len);
      b.set(opts, 2);
      const pad = len - used;
      if (pad === 1) b[used] = 0;
      else if (pad > 1) {
        b[used] = 1;
        b[used + 1] = pad - 2;
      }
      b[1] = s.hdrExtLen ?? len / 8 - 1;
      return b;
    }
    case 'routing': {
      const sl = s.segmentsLeft ?? 0;
      const n = s.addresses ?? Math.max(1, sl);
      const b = new Uint8Array(8 + 16 * n);
      for (let i = 0; i < n; i++) {
        b.set(IP6_B, 8 + 16 * i);
        b[8 + 16 * i + 15] = 0x10 + i;
      }
      b[1] = s.hdrExtLen ?? 2 * n;
      b[2] = s.routingType ?? 0;
      b[3] = sl;
      return b;
    }
    case 'frag': {
      const b = new Uint8Array(8);
      writeU16(b, 2, (s.fragOffset ?? 0) | (s.more ? 1 : 0));
      writeU32(b, 4, s.ident ?? 0x0badcafe);
      return b;
    }
    case 'raw':
      return s.bytes.slice();
  }
}

/** Builds an extension header chain ending in `upper`; returns the first Next Header value and the bytes. */
export function ipv6ext(specs: ExtSpec[], upper: number): { nextHeader: number; bytes: Uint8Array } {
  const parts = specs.map(extBytes);
  for (let i = 0; i < specs.length; i++) {
    const chained = i + 1 < specs.length ? extProtocol(specs[i + 1]!) : upper;
    parts[i]![0] = specs[i]!.nextHeader ?? chained;
  }
  return { nextHeader: specs.length > 0 ? extProtocol(specs[0]!) : upper, bytes: concat(...parts) };
}

export interface Ipv6Opts {
  src?: Uint8Array;
  dst?: Uint8Array;
  /** Next Header of the fixed header, or of the last extension header when `ext` is given (default 59). */
  nextHeader?: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  ext?: ExtSpec[];
  payload?: Uint8Array;
  // Overrides that skip recomputation:
  version?: number;
  payloadLength?: number;
}

export function ipv6(o: Ipv6Opts = {}): Uint8Array {
  let nh = o.nextHeader ?? 59;
  let payload = o.payload ?? new Uint8Array(0);
  if (o.ext && o.ext.length > 0) {
    const chain = ipv6ext(o.ext, nh);
    nh = chain.nextHeader;
    payload = concat(chain.bytes, payload);
  }
  const b = new Uint8Array(40 + payload.length);
  writeU32(b, 0, (((o.version ?? 6) << 28) | ((o.trafficClass ?? 0) << 20) | (o.flowLabel ?? 0)) >>> 0);
  writeU16(b, 4, o.payloadLength ?? payload.length);
  b[6] = nh;
  b[7] = o.hopLimit ?? 64;
  b.set(o.src ?? IP6_A, 8);
  b.set(o.dst ?? IP6_B, 24);
  b.set(payload, 40);
  return b;
}

/** A minimal 20-byte TCP header (data offset 5) followed by `payloadLen` zero bytes; checksum not set. */
export function tcpStub(payloadLen = 0, dataOffsetWords = 5): Uint8Array {
  const b = new Uint8Array(dataOffsetWords * 4 + payloadLen);
  writeU16(b, 0, 40000);
  writeU16(b, 2, 80);
  b[12] = dataOffsetWords << 4;
  b[13] = 0x02;
  writeU16(b, 14, 65535);
  return b;
}
