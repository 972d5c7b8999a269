// Byte-level builders for transport and control messages, written independently of the codecs'
// emit paths so tests can check parsers against hand-laid bytes. Lengths, counts and checksums are
// computed from the parts unless a spec overrides them (to build hostile inputs).

import { finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../src/checksum/internet.js';
import { tsSum } from '../../src/checksum/ts-checksum.js';
import { parseIpv4, parseIpv6 } from '../../src/wire/address.js';
import type { Ipv4Address, Ipv6Address, MacAddress } from '../../src/wire/address.js';

export type Bytes = ArrayLike<number>;

export const V4_SRC: Ipv4Address = parseIpv4('198.51.100.1')!;
export const V4_DST: Ipv4Address = parseIpv4('198.51.100.2')!;
export const V6_SRC: Ipv6Address = parseIpv6('fe80::1')!;
export const V6_DST: Ipv6Address = parseIpv6('ff02::1')!;

export function concat(...parts: Bytes[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(Array.from(p), o);
    o += p.length;
  }
  return out;
}

export const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
export const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export const mac = (m: MacAddress): number[] => [...u16(Math.floor(m / 0x1_0000_0000)), ...u32(m >>> 0)];

/** Pseudo-header sum for `proto` over IPv4 (number addresses) or IPv6 (16-byte addresses). */
export function pseudoSum(proto: number, src: Ipv4Address | Ipv6Address, dst: Ipv4Address | Ipv6Address, len: number): number {
  if (typeof src === 'number' && typeof dst === 'number') return pseudoHeaderSumV4(src, dst, proto, len);
  return pseudoHeaderSumV6(src as Ipv6Address, dst as Ipv6Address, proto, len);
}

/** Stores at `at` the Internet checksum of `b` seeded with `seed`, unless `override` is given. */
function setChecksum(b: Uint8Array, at: number, seed: number, override?: number): Uint8Array {
  b[at] = 0;
  b[at + 1] = 0;
  const c = override ?? finishChecksum(tsSum(b, 0, b.length, seed));
  b[at] = c >>> 8;
  b[at + 1] = c & 0xff;
  return b;
}

// ---------------------------------------------------------------- TCP

/** TCP option byte lists, to combine with tcpOptions(). */
export const tcpOpt = {
  eol: (): number[] => [0],
  nop: (): number[] => [1],
  mss: (v: number): number[] => [2, 4, ...u16(v)],
  ws: (shift: number): number[] => [3, 3, shift],
  sackPerm: (): number[] => [4, 2],
  sack: (...blocks: [number, number][]): number[] => [5, 2 + 8 * blocks.length, ...blocks.flatMap(([l, r]) => [...u32(l), ...u32(r)])],
  ts: (val: number, ecr: number): number[] => [8, 10, ...u32(val), ...u32(ecr)],
};

/** Concatenates option byte lists, padded with EOL (zero) bytes to a multiple of 4. */
export function tcpOptions(...parts: Bytes[]): Uint8Array {
  const raw = concat(...parts);
  return concat(raw, new Uint8Array((4 - (raw.length % 4)) % 4));
}

export interface TcpSpec {
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  ack?: number;
  /** 9-bit flags (bit 8 = AE). Default ACK. */
  flags?: number;
  window?: number;
  urgent?: number;
  /** Options area; padded with zeros to a multiple of 4. */
  options?: Bytes;
  payload?: Bytes;
  /** Data offset in words; default 5 + options/4. */
  dataOffset?: number;
  /** Reserved bits (3 bits). */
  reserved?: number;
  checksum?: number;
  src?: Ipv4Address | Ipv6Address;
  dst?: Ipv4Address | Ipv6Address;
}

export function tcp(s: TcpSpec = {}): Uint8Array {
  const opts = tcpOptions(s.options ?? []);
  const flags = s.flags ?? 0x10;
  const dataOffset = s.dataOffset ?? 5 + opts.length / 4;
  const hdr = [
    ...u16(s.srcPort ?? 40000),
    ...u16(s.dstPort ?? 80),
    ...u32(s.seq ?? 1000),
    ...u32(s.ack ?? 2000),
    ((dataOffset & 0xf) << 4) | (((s.reserved ?? 0) & 7) << 1) | ((flags >>> 8) & 1),
    flags & 0xff,
    ...u16(s.window ?? 65535),
    0,
    0,
    ...u16(s.urgent ?? 0),
  ];
  const b = concat(hdr, opts, s.payload ?? []);
  return setChecksum(b, 16, pseudoSum(6, s.src ?? V4_SRC, s.dst ?? V4_DST, b.length), s.checksum);
}

// ---------------------------------------------------------------- ICMPv4 / ICMPv6

export interface IcmpSpec {
  type?: number;
  code?: number;
  /** Bytes 4..7 as a uint32 (ignored if ident/seq given). */
  rest?: number;
  ident?: number;
  seq?: number;
  data?: Bytes;
  /** Raw bytes after the checksum, replacing rest/ident/seq/data (short or NDP/MLD bodies). */
  body?: Bytes;
  checksum?: number;
}

function icmpBytes(s: IcmpSpec, defType: number): Uint8Array {
  const rest = s.ident !== undefined || s.seq !== undefined ? [...u16(s.ident ?? 0), ...u16(s.seq ?? 0)] : u32(s.rest ?? 0);
  const body = s.body ?? concat(rest, s.data ?? []);
  return concat([s.type ?? defType, s.code ?? 0, 0, 0], body);
}

/** ICMPv4 message (default echo request) with its checksum. */
export function icmpv4(s: IcmpSpec = {}): Uint8Array {
  return setChecksum(icmpBytes(s, 8), 2, 0, s.checksum);
}

export interface Icmpv6Spec extends IcmpSpec {
  src?: Ipv6Address;
  dst?: Ipv6Address;
}

/** ICMPv6 message (default echo request) with its pseudo-header checksum. */
export function icmpv6(s: Icmpv6Spec = {}): Uint8Array {
  const b = icmpBytes(s, 128);
  return setChecksum(b, 2, pseudoHeaderSumV6(s.src ?? V6_SRC, s.dst ?? V6_DST, 58, b.length), s.checksum);
}

/** A minimal IPv4 header (for quoting in ICMP errors); `ihl` in words may lie about the size. */
export function ipv4Header(o: { ihl?: number; totalLength?: number; protocol?: number; src?: Ipv4Address; dst?: Ipv4Address; fragOffset?: number; extra?: Bytes } = {}): Uint8Array {
  const extra = o.extra ?? [];
  const ihl = o.ihl ?? 5 + Math.ceil(extra.length / 4);
  return concat(
    [0x40 | (ihl & 0xf), 0, ...u16(o.totalLength ?? 60), 0x12, 0x34, ...u16((o.fragOffset ?? 0) >>> 3), 64, o.protocol ?? 6, 0, 0],
    u32(o.src ?? V4_DST),
    u32(o.dst ?? V4_SRC),
    extra,
  );
}

/** A minimal IPv6 fixed header (for quoting in ICMPv6 errors). */
export function ipv6Header(o: { nextHeader?: number; payloadLength?: number; src?: Ipv6Address; dst?: Ipv6Address } = {}): Uint8Array {
  return concat([0x60, 0, 0, 0, ...u16(o.payloadLength ?? 20), o.nextHeader ?? 6, 64], o.src ?? V6_DST, o.dst ?? V6_SRC);
}

// ---------------------------------------------------------------- NDP

/** One NDP option: type, length in 8-byte units (computed from the padded body unless given), body. */
export function ndpOption(type: number, body: Bytes, lengthUnits?: number): Uint8Array {
  const padded = concat(body, new Uint8Array((8 - ((2 + body.length) % 8)) % 8));
  return concat([type, lengthUnits ?? (2 + padded.length) / 8], padded);
}

export const ndpOpt = {
  slla: (m: MacAddress): Uint8Array => ndpOption(1, mac(m)),
  tlla: (m: MacAddress): Uint8Array => ndpOption(2, mac(m)),
  prefix: (p: { prefixLength?: number; flags?: number; valid?: number; preferred?: number; prefix: Ipv6Address }): Uint8Array =>
    ndpOption(3, concat([p.prefixLength ?? 64, p.flags ?? 0xc0], u32(p.valid ?? 86400), u32(p.preferred ?? 14400), u32(0), p.prefix)),
  mtu: (mtu: number): Uint8Array => ndpOption(5, concat([0, 0], u32(mtu))),
  nonce: (n: Bytes): Uint8Array => ndpOption(14, n),
  rdnss: (lifetime: number, ...servers: Ipv6Address[]): Uint8Array => ndpOption(25, concat([0, 0], u32(lifetime), ...servers)),
};

export function ndpRs(options: Bytes[] = [], s: Icmpv6Spec = {}): Uint8Array {
  return icmpv6({ ...s, type: 133, body: concat([0, 0, 0, 0], ...options) });
}

export function ndpRa(
  f: { curHopLimit?: number; flags?: number; routerLifetime?: number; reachable?: number; retrans?: number } = {},
  options: Bytes[] = [],
  s: Icmpv6Spec = {},
): Uint8Array {
  const fixed = concat([f.curHopLimit ?? 64, f.flags ?? 0], u16(f.routerLifetime ?? 1800), u32(f.reachable ?? 0), u32(f.retrans ?? 0));
  return icmpv6({ ...s, type: 134, body: concat(fixed, ...options) });
}

export function ndpNs(target: Ipv6Address, options: Bytes[] = [], s: Icmpv6Spec = {}): Uint8Array {
  return icmpv6({ ...s, type: 135, body: concat([0, 0, 0, 0], target, ...options) });
}

/** `flags`: R 0x80, S 0x40, O 0x20. */
export function ndpNa(flags: number, target: Ipv6Address, options: Bytes[] = [], s: Icmpv6Spec = {}): Uint8Array {
  return icmpv6({ ...s, type: 136, body: concat([flags, 0, 0, 0], target, ...options) });
}

// ---------------------------------------------------------------- IGMP

export interface IgmpSpec {
  type?: number;
  maxResp?: number;
  group?: Ipv4Address;
  /** Bytes after the 8-byte header. */
  extra?: Bytes;
  checksum?: number;
}

/** IGMP v1/v2 message (default v2 report for 224.0.0.251). */
export function igmp(s: IgmpSpec = {}): Uint8Array {
  const b = concat([s.type ?? 0x16, s.maxResp ?? 0, 0, 0], u32(s.group ?? 0xe00000fb), s.extra ?? []);
  return setChecksum(b, 2, 0, s.checksum);
}

export function igmpv3Query(
  q: { maxResp?: number; group?: Ipv4Address; s?: boolean; qrv?: number; qqic?: number; sources?: Ipv4Address[]; nsrc?: number; checksum?: number } = {},
): Uint8Array {
  const sources = q.sources ?? [];
  const b = concat(
    [0x11, q.maxResp ?? 100, 0, 0],
    u32(q.group ?? 0),
    [(q.s ? 0x08 : 0) | ((q.qrv ?? 2) & 7), q.qqic ?? 125, ...u16(q.nsrc ?? sources.length)],
    ...sources.map(u32),
  );
  return setChecksum(b, 2, 0, q.checksum);
}

export interface GroupRecordSpec<A> {
  type?: number;
  group: A;
  sources?: A[];
  /** Aux data (multiple of 4 bytes unless auxLen overrides the length byte). */
  aux?: Bytes;
  auxLen?: number;
  nsrc?: number;
}

export function igmpv3Report(records: GroupRecordSpec<Ipv4Address>[], o: { nrec?: number; checksum?: number } = {}): Uint8Array {
  const recs = records.map((r) =>
    concat(
      [r.type ?? 2, r.auxLen ?? (r.aux?.length ?? 0) / 4, ...u16(r.nsrc ?? r.sources?.length ?? 0)],
      u32(r.group),
      ...(r.sources ?? []).map(u32),
      r.aux ?? [],
    ),
  );
  const b = concat([0x22, 0, 0, 0, 0, 0, ...u16(o.nrec ?? records.length)], ...recs);
  return setChecksum(b, 2, 0, o.checksum);
}

// ---------------------------------------------------------------- MLD

/** MLDv1 message (130 query, 131 report, 132 done). */
export function mldV1(type: number, maxResp: number, group: Ipv6Address, s: Icmpv6Spec = {}): Uint8Array {
  return icmpv6({ ...s, type, body: concat(u16(maxResp), [0, 0], group) });
}

export function mldV2Query(
  q: { maxResp?: number; group?: Ipv6Address; s?: boolean; qrv?: number; qqic?: number; sources?: Ipv6Address[]; nsrc?: number } = {},
  s: Icmpv6Spec = {},
): Uint8Array {
  const sources = q.sources ?? [];
  return icmpv6({
    ...s,
    type: 130,
    body: concat(
      u16(q.maxResp ?? 10000),
      [0, 0],
      q.group ?? new Uint8Array(16),
      [(q.s ? 0x08 : 0) | ((q.qrv ?? 2) & 7), q.qqic ?? 125, ...u16(q.nsrc ?? sources.length)],
      ...sources,
    ),
  });
}

export function mldV2Report(records: GroupRecordSpec<Ipv6Address>[], o: { nrec?: number } = {}, s: Icmpv6Spec = {}): Uint8Array {
  const recs = records.map((r) =>
    concat(
      [r.type ?? 2, r.auxLen ?? (r.aux?.length ?? 0) / 4, ...u16(r.nsrc ?? r.sources?.length ?? 0)],
      r.group,
      ...(r.sources ?? []),
      r.aux ?? [],
    ),
  );
  return icmpv6({ ...s, type: 143, body: concat([0, 0, ...u16(o.nrec ?? records.length)], ...recs) });
}

// ---------------------------------------------------------------- captured frames

export interface L4Slice {
  frame: Uint8Array;
  /** Offset and length of the transport/control message in `frame` (IP length fields honoured). */
  off: number;
  len: number;
  /** IP protocol / final next header. */
  proto: number;
  src: Ipv4Address | Ipv6Address;
  dst: Ipv4Address | Ipv6Address;
}

/**
 * Locates the L4 message in an Ethernet frame given as hex (as printed by `tshark -x`): skips
 * 802.1Q/802.1ad tags, an IPv4 header by IHL, or an IPv6 header plus Hop-by-Hop/Destination options.
 * Test-only and trusting: the frames are known-good captures.
 */
export function l4FromFrame(hex: string): L4Slice {
  const frame = Uint8Array.from(hex.replace(/\s/g, '').match(/../g)!.map((h) => Number.parseInt(h, 16)));
  let p = 12;
  let etherType = (frame[p]! << 8) | frame[p + 1]!;
  while (etherType === 0x8100 || etherType === 0x88a8) {
    p += 4;
    etherType = (frame[p]! << 8) | frame[p + 1]!;
  }
  p += 2;
  const rd32 = (o: number) => ((frame[o]! << 24) | (frame[o + 1]! << 16) | (frame[o + 2]! << 8) | frame[o + 3]!) >>> 0;
  if (etherType === 0x0800) {
    const ihl = (frame[p]! & 0xf) * 4;
    const total = (frame[p + 2]! << 8) | frame[p + 3]!;
    return { frame, off: p + ihl, len: total - ihl, proto: frame[p + 9]!, src: rd32(p + 12), dst: rd32(p + 16) };
  }
  if (etherType !== 0x86dd) throw new Error(`not IP: ${etherType.toString(16)}`);
  const plen = (frame[p + 4]! << 8) | frame[p + 5]!;
  let nh = frame[p + 6]!;
  const src = frame.slice(p + 8, p + 24);
  const dst = frame.slice(p + 24, p + 40);
  const end = p + 40 + plen;
  let q = p + 40;
  while (nh === 0 || nh === 60) {
    const next = frame[q]!;
    q += (frame[q + 1]! + 1) * 8;
    nh = next;
  }
  return { frame, off: q, len: end - q, proto: nh, src, dst };
}
