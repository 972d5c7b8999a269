// Neighbor Discovery (RFC 4861) messages carried in ICMPv6: Router Solicitation/Advertisement,
// Neighbor Solicitation/Advertisement and Redirect, with their options (RFC 4861 §4.6, RFC 3971
// nonce, RFC 8106 RDNSS/DNSSL). check() validates the fixed part by length and walks every option:
// an option of length 0 invalidates the WHOLE message (RFC 4861 §4.6, H30) and an option running
// past the end is rejected, so parsing the options afterwards cannot fail. Known options with a
// wrong length are ignored and listed in `malformed`; unknown options (e.g. PREF64, 38) are
// skipped and listed in `unknown`. Hop limit 255, code 0, source address and option-presence rules
// (RFC 4861 §6.1, §7.1) are core policy. The ICMPv6 checksum is verified by Icmpv6Packet.

import type { ChecksumProvider } from '../ports/checksum.js';
import { IPV6_UNSPECIFIED, readIpv6, readMac, writeIpv6, writeMac } from './address.js';
import type { Ipv6Address, MacAddress } from './address.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';
import { fillIcmpv6Checksum } from './icmpv6.js';

export const NdpType = {
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
} as const;

export const NdpOptionType = {
  SOURCE_LINK_ADDR: 1,
  TARGET_LINK_ADDR: 2,
  PREFIX_INFO: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
  NONCE: 14,
  RDNSS: 25,
  DNSSL: 31,
  PREF64: 38,
} as const;

/** Offsets of the fixed-part fields (relative to the ICMPv6 type byte). */
export const NdpField = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  RA_CUR_HOP_LIMIT: 4,
  RA_FLAGS: 5,
  RA_ROUTER_LIFETIME: 6,
  RA_REACHABLE_TIME: 8,
  RA_RETRANS_TIMER: 12,
  NA_FLAGS: 4,
  TARGET: 8,
  REDIRECT_DESTINATION: 24,
} as const;

export const NdpRaFlags = { MANAGED: 0x80, OTHER: 0x40 } as const;
export const NdpNaFlags = { ROUTER: 0x80, SOLICITED: 0x40, OVERRIDE: 0x20 } as const;
export const NdpPrefixFlags = { ON_LINK: 0x80, AUTONOMOUS: 0x40 } as const;

/** Length of the fixed part before the options, or -1 if `type` is not an NDP message. */
export function ndpFixedLen(type: number): number {
  switch (type) {
    case 133:
      return 8;
    case 134:
      return 16;
    case 135:
    case 136:
      return 24;
    case 137:
      return 40;
    default:
      return -1;
  }
}

export interface NdpPrefixInfo {
  prefixLength: number;
  onLink: boolean;
  autonomous: boolean;
  /** Seconds; 0xffffffff means infinity. */
  validLifetime: number;
  preferredLifetime: number;
  prefix: Ipv6Address;
}

export interface NdpRdnss {
  /** Seconds; 0xffffffff means infinity, 0 means remove. */
  lifetime: number;
  servers: Ipv6Address[];
}

export interface NdpDnssl {
  lifetime: number;
  /** Domain names in dotted form, without the trailing dot. */
  domains: string[];
}

/** An option by type; `offset` is relative to the message start (the ICMPv6 type byte), `length` in bytes. */
export interface NdpOptionRef {
  type: number;
  offset: number;
  length: number;
}

export interface NdpOptions {
  /** Ethernet (RFC 2464 §6) link-layer addresses; other option sizes are listed as malformed. */
  sourceLinkAddr?: MacAddress;
  targetLinkAddr?: MacAddress;
  prefixes: NdpPrefixInfo[];
  /** Redirected Header option: absolute offset and length of the quoted packet. */
  redirectedHeader?: { offset: number; length: number };
  mtu?: number;
  /** RFC 3971 §5.3.2 nonce (copied). */
  nonce?: Uint8Array;
  rdnss: NdpRdnss[];
  dnssl: NdpDnssl[];
  unknown: NdpOptionRef[];
  malformed: NdpOptionRef[];
}

function readU8s(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/**
 * RFC 8106 §5.2: uncompressed DNS names followed by zero padding. Returns null on any label that
 * is a pointer/extended label, runs past the option, or makes a name longer than 255 bytes.
 */
function decodeDomainNames(buf: Uint8Array, p: number, end: number): string[] | null {
  const names: string[] = [];
  while (p < end && buf[p] !== 0) {
    const labels: string[] = [];
    let wire = 1;
    for (;;) {
      if (p >= end) return null;
      const l = buf[p]!;
      if (l === 0) {
        p++;
        break;
      }
      if (l > 63 || l + 1 > end - p) return null;
      wire += l + 1;
      if (wire > 255) return null;
      labels.push(readU8s(buf, p + 1, p + 1 + l));
      p += 1 + l;
    }
    names.push(labels.join('.'));
  }
  return names;
}

/** Zero-copy view of an NDP message at `buf[off, off+len)` (the whole ICMPv6 message). */
export class NdpPacket {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    /** Length of the fixed part; options start at off + fixedLen. */
    readonly fixedLen: number,
  ) {}

  static check(buf: Uint8Array, off = 0, avail = buf.length - off): NdpPacket | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('ndp', 'buffer', 'range outside buffer', off);
    if (avail < 1) return new WireError('ndp', 'header', 'empty message', 0);
    const type = buf[off]!;
    const fixed = ndpFixedLen(type);
    if (fixed < 0) return new WireError('ndp', 'type', `${type} is not an NDP message`, 0);
    if (avail < fixed) return new WireError('ndp', 'length', `type ${type} needs ${fixed} bytes, ${avail} present`, 0);
    // Each step advances >= 8 bytes, so the walk is bounded by avail/8.
    for (let p = fixed; p < avail; ) {
      if (avail - p < 2) return new WireError('ndp', 'option_length', `${avail - p} trailing byte(s) are not an option`, p);
      const olen = buf[off + p + 1]! * 8;
      if (olen === 0) return new WireError('ndp', 'option_length', `option ${buf[off + p]} has length 0 (RFC 4861 §4.6)`, p + 1);
      if (olen > avail - p) return new WireError('ndp', 'option_length', `option ${buf[off + p]} of ${olen} bytes overruns ${avail - p}`, p + 1);
      p += olen;
    }
    return new NdpPacket(buf, off, avail, fixed);
  }

  get type(): number {
    return this.buf[this.off]!;
  }
  get code(): number {
    return this.buf[this.off + NdpField.CODE]!;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + NdpField.CHECKSUM);
  }

  private get isRa(): boolean {
    return this.type === NdpType.ROUTER_ADVERTISEMENT;
  }
  // RA fields (0 for other types, which do not have them).
  get curHopLimit(): number {
    return this.isRa ? this.buf[this.off + NdpField.RA_CUR_HOP_LIMIT]! : 0;
  }
  get raFlags(): number {
    return this.isRa ? this.buf[this.off + NdpField.RA_FLAGS]! : 0;
  }
  get managed(): boolean {
    return (this.raFlags & NdpRaFlags.MANAGED) !== 0;
  }
  get other(): boolean {
    return (this.raFlags & NdpRaFlags.OTHER) !== 0;
  }
  /** RFC 4191 §2.2 Prf bits, raw: 1 high, 0 medium, 3 low, 2 reserved (treat as medium). */
  get routerPreference(): number {
    return (this.raFlags >>> 3) & 0x3;
  }
  /** Seconds; 0 means "not a default router". */
  get routerLifetime(): number {
    return this.isRa ? readU16(this.buf, this.off + NdpField.RA_ROUTER_LIFETIME) : 0;
  }
  /** Milliseconds; 0 means unspecified. */
  get reachableTime(): number {
    return this.isRa ? readU32(this.buf, this.off + NdpField.RA_REACHABLE_TIME) : 0;
  }
  get retransTimer(): number {
    return this.isRa ? readU32(this.buf, this.off + NdpField.RA_RETRANS_TIMER) : 0;
  }
  // NA flags.
  private get naFlags(): number {
    return this.type === NdpType.NEIGHBOR_ADVERTISEMENT ? this.buf[this.off + NdpField.NA_FLAGS]! : 0;
  }
  get router(): boolean {
    return (this.naFlags & NdpNaFlags.ROUTER) !== 0;
  }
  get solicited(): boolean {
    return (this.naFlags & NdpNaFlags.SOLICITED) !== 0;
  }
  get override(): boolean {
    return (this.naFlags & NdpNaFlags.OVERRIDE) !== 0;
  }
  /** NS/NA/Redirect target address (copied); :: for RS/RA. */
  get target(): Ipv6Address {
    return this.fixedLen >= 24 ? readIpv6(this.buf, this.off + NdpField.TARGET) : IPV6_UNSPECIFIED.slice();
  }
  /** Redirect destination address (copied); :: for other types. */
  get destination(): Ipv6Address {
    return this.fixedLen >= 40 ? readIpv6(this.buf, this.off + NdpField.REDIRECT_DESTINATION) : IPV6_UNSPECIFIED.slice();
  }
  get optionsOffset(): number {
    return this.off + this.fixedLen;
  }
  get optionsLength(): number {
    return this.len - this.fixedLen;
  }

  /** Parses the options validated by check() (allocates). Never fails. */
  options(): NdpOptions {
    const out: NdpOptions = { prefixes: [], rdnss: [], dnssl: [], unknown: [], malformed: [] };
    const b = this.buf;
    const O = NdpOptionType;
    for (let rel = this.fixedLen; rel < this.len; ) {
      const p = this.off + rel;
      const type = b[p]!;
      const olen = b[p + 1]! * 8;
      let ok = true;
      switch (type) {
        case O.SOURCE_LINK_ADDR:
        case O.TARGET_LINK_ADDR:
          ok = olen === 8;
          if (ok) {
            if (type === O.SOURCE_LINK_ADDR) out.sourceLinkAddr = readMac(b, p + 2);
            else out.targetLinkAddr = readMac(b, p + 2);
          }
          break;
        case O.PREFIX_INFO:
          ok = olen === 32 && b[p + 2]! <= 128;
          if (ok) {
            out.prefixes.push({
              prefixLength: b[p + 2]!,
              onLink: (b[p + 3]! & NdpPrefixFlags.ON_LINK) !== 0,
              autonomous: (b[p + 3]! & NdpPrefixFlags.AUTONOMOUS) !== 0,
              validLifetime: readU32(b, p + 4),
              preferredLifetime: readU32(b, p + 8),
              prefix: readIpv6(b, p + 16),
            });
          }
          break;
        case O.REDIRECTED_HEADER:
          out.redirectedHeader = { offset: p + 8, length: olen - 8 };
          break;
        case O.MTU:
          ok = olen === 8;
          if (ok) out.mtu = readU32(b, p + 4);
          break;
        case O.NONCE:
          out.nonce = b.slice(p + 2, p + olen);
          break;
        case O.RDNSS:
          // RFC 8106 §5.1: length is 1 + 2n with n >= 1.
          ok = olen >= 24 && (olen / 8) % 2 === 1;
          if (ok) {
            const servers: Ipv6Address[] = [];
            for (let a = p + 8; a < p + olen; a += 16) servers.push(readIpv6(b, a));
            out.rdnss.push({ lifetime: readU32(b, p + 4), servers });
          }
          break;
        case O.DNSSL: {
          const domains = olen >= 16 ? decodeDomainNames(b, p + 8, p + olen) : null;
          ok = domains !== null;
          if (ok) out.dnssl.push({ lifetime: readU32(b, p + 4), domains: domains! });
          break;
        }
        default:
          out.unknown.push({ type, offset: rel, length: olen });
      }
      if (!ok) out.malformed.push({ type, offset: rel, length: olen });
      rel += olen;
    }
    return out;
  }
}

/** High-level NDP message; options not listed for a kind are ignored on parse and not emitted. */
export type NdpRepr =
  | { kind: 'routerSolicit'; sourceLinkAddr?: MacAddress }
  | {
      kind: 'routerAdvert';
      curHopLimit: number;
      managed: boolean;
      other: boolean;
      /** RFC 4191 Prf bits, raw (0 medium). */
      routerPreference: number;
      routerLifetime: number;
      reachableTime: number;
      retransTimer: number;
      sourceLinkAddr?: MacAddress;
      mtu?: number;
      prefixes: NdpPrefixInfo[];
      rdnss: NdpRdnss[];
      dnssl: NdpDnssl[];
    }
  | { kind: 'neighborSolicit'; target: Ipv6Address; sourceLinkAddr?: MacAddress; nonce?: Uint8Array }
  | { kind: 'neighborAdvert'; router: boolean; solicited: boolean; override: boolean; target: Ipv6Address; targetLinkAddr?: MacAddress }
  | { kind: 'redirect'; target: Ipv6Address; destination: Ipv6Address; targetLinkAddr?: MacAddress };

function dnsslWireLen(domains: string[]): number {
  let n = 0;
  for (const d of domains) {
    if (d.length === 0) throw new EmitError('ndp: empty DNSSL domain');
    const labels = d.split('.');
    let wire = 1;
    for (const l of labels) {
      if (l.length === 0 || l.length > 63 || !/^[\x00-\xff]*$/.test(l)) throw new EmitError(`ndp: bad DNSSL label in '${d}'`);
      wire += l.length + 1;
    }
    if (wire > 255) throw new EmitError(`ndp: DNSSL name '${d}' longer than 255 bytes`);
    n += wire;
  }
  return n;
}

const roundUp8 = (n: number): number => (n + 7) & ~7;

function optionsLen(r: NdpRepr): number {
  let n = 0;
  if ('sourceLinkAddr' in r && r.sourceLinkAddr !== undefined) n += 8;
  if ('targetLinkAddr' in r && r.targetLinkAddr !== undefined) n += 8;
  if (r.kind === 'neighborSolicit' && r.nonce) {
    if ((r.nonce.length + 2) % 8 !== 0 || r.nonce.length < 6) throw new EmitError(`ndp: nonce of ${r.nonce.length} bytes (need 6 + 8k)`);
    n += r.nonce.length + 2;
  }
  if (r.kind === 'routerAdvert') {
    if (r.mtu !== undefined) n += 8;
    n += 32 * r.prefixes.length;
    for (const d of r.rdnss) {
      if (d.servers.length === 0) throw new EmitError('ndp: RDNSS needs at least one server');
      n += 8 + 16 * d.servers.length;
    }
    for (const d of r.dnssl) n += roundUp8(8 + dnsslWireLen(d.domains));
  }
  return n;
}

const KIND_TYPE = {
  routerSolicit: 133,
  routerAdvert: 134,
  neighborSolicit: 135,
  neighborAdvert: 136,
  redirect: 137,
} as const;

export const NdpRepr = {
  parse(p: NdpPacket): NdpRepr {
    const o = p.options();
    const sll = o.sourceLinkAddr !== undefined ? { sourceLinkAddr: o.sourceLinkAddr } : {};
    const tll = o.targetLinkAddr !== undefined ? { targetLinkAddr: o.targetLinkAddr } : {};
    switch (p.type) {
      case NdpType.ROUTER_SOLICITATION:
        return { kind: 'routerSolicit', ...sll };
      case NdpType.ROUTER_ADVERTISEMENT:
        return {
          kind: 'routerAdvert',
          curHopLimit: p.curHopLimit,
          managed: p.managed,
          other: p.other,
          routerPreference: p.routerPreference,
          routerLifetime: p.routerLifetime,
          reachableTime: p.reachableTime,
          retransTimer: p.retransTimer,
          ...sll,
          ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
          prefixes: o.prefixes,
          rdnss: o.rdnss,
          dnssl: o.dnssl,
        };
      case NdpType.NEIGHBOR_SOLICITATION:
        return { kind: 'neighborSolicit', target: p.target, ...sll, ...(o.nonce ? { nonce: o.nonce } : {}) };
      case NdpType.NEIGHBOR_ADVERTISEMENT:
        return { kind: 'neighborAdvert', router: p.router, solicited: p.solicited, override: p.override, target: p.target, ...tll };
      default:
        return { kind: 'redirect', target: p.target, destination: p.destination, ...tll };
    }
  },

  bufferLen(r: NdpRepr): number {
    return ndpFixedLen(KIND_TYPE[r.kind]) + optionsLen(r);
  },

  /** Writes the whole message at `buf[off]`; with `cs`, also the ICMPv6 checksum (pseudoSum covers bufferLen). */
  emit(r: NdpRepr, buf: Uint8Array, off: number, cs?: ChecksumProvider, pseudoSum = 0): void {
    const type = KIND_TYPE[r.kind];
    const fixed = ndpFixedLen(type);
    const len = fixed + optionsLen(r);
    if (off < 0 || off + len > buf.length) throw new EmitError('ndp: buffer too small');
    buf.fill(0, off, off + len);
    buf[off] = type;
    let p = off + fixed;
    const opt = (t: number, bytes: number): number => {
      buf[p] = t;
      buf[p + 1] = bytes / 8;
      const at = p;
      p += bytes;
      return at;
    };
    switch (r.kind) {
      case 'routerSolicit':
        break;
      case 'routerAdvert':
        buf[off + NdpField.RA_CUR_HOP_LIMIT] = r.curHopLimit;
        buf[off + NdpField.RA_FLAGS] =
          (r.managed ? NdpRaFlags.MANAGED : 0) | (r.other ? NdpRaFlags.OTHER : 0) | ((r.routerPreference & 3) << 3);
        writeU16(buf, off + NdpField.RA_ROUTER_LIFETIME, r.routerLifetime);
        writeU32(buf, off + NdpField.RA_REACHABLE_TIME, r.reachableTime);
        writeU32(buf, off + NdpField.RA_RETRANS_TIMER, r.retransTimer);
        break;
      case 'neighborAdvert':
        buf[off + NdpField.NA_FLAGS] =
          (r.router ? NdpNaFlags.ROUTER : 0) | (r.solicited ? NdpNaFlags.SOLICITED : 0) | (r.override ? NdpNaFlags.OVERRIDE : 0);
        writeIpv6(buf, off + NdpField.TARGET, r.target);
        break;
      case 'neighborSolicit':
        writeIpv6(buf, off + NdpField.TARGET, r.target);
        break;
      case 'redirect':
        writeIpv6(buf, off + NdpField.TARGET, r.target);
        writeIpv6(buf, off + NdpField.REDIRECT_DESTINATION, r.destination);
        break;
    }
    if ('sourceLinkAddr' in r && r.sourceLinkAddr !== undefined) writeMac(buf, opt(NdpOptionType.SOURCE_LINK_ADDR, 8) + 2, r.sourceLinkAddr);
    if ('targetLinkAddr' in r && r.targetLinkAddr !== undefined) writeMac(buf, opt(NdpOptionType.TARGET_LINK_ADDR, 8) + 2, r.targetLinkAddr);
    if (r.kind === 'neighborSolicit' && r.nonce) buf.set(r.nonce, opt(NdpOptionType.NONCE, r.nonce.length + 2) + 2);
    if (r.kind === 'routerAdvert') {
      if (r.mtu !== undefined) writeU32(buf, opt(NdpOptionType.MTU, 8) + 4, r.mtu);
      for (const pi of r.prefixes) {
        const at = opt(NdpOptionType.PREFIX_INFO, 32);
        buf[at + 2] = pi.prefixLength;
        buf[at + 3] = (pi.onLink ? NdpPrefixFlags.ON_LINK : 0) | (pi.autonomous ? NdpPrefixFlags.AUTONOMOUS : 0);
        writeU32(buf, at + 4, pi.validLifetime);
        writeU32(buf, at + 8, pi.preferredLifetime);
        writeIpv6(buf, at + 16, pi.prefix);
      }
      for (const d of r.rdnss) {
        const at = opt(NdpOptionType.RDNSS, 8 + 16 * d.servers.length);
        writeU32(buf, at + 4, d.lifetime);
        d.servers.forEach((s, i) => writeIpv6(buf, at + 8 + 16 * i, s));
      }
      for (const d of r.dnssl) {
        const at = opt(NdpOptionType.DNSSL, roundUp8(8 + dnsslWireLen(d.domains)));
        writeU32(buf, at + 4, d.lifetime);
        let q = at + 8;
        for (const name of d.domains) {
          for (const label of name.split('.')) {
            buf[q++] = label.length;
            for (let i = 0; i < label.length; i++) buf[q++] = label.charCodeAt(i);
          }
          buf[q++] = 0;
        }
      }
    }
    if (cs) fillIcmpv6Checksum(buf, off, len, cs, pseudoSum);
  },
};
