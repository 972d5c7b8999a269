// IPv6 extension headers (RFC 8200 §4): a bounded chain walker over Hop-by-Hop (0), Routing (43),
// Fragment (44) and Destination Options (60), stopping at No Next Header (59) or any other protocol; an
// option TLV walker for Hop-by-Hop / Destination Options; and Reprs for the Fragment header and option
// headers. Errors are `Ipv6ParamProblem`s carrying the ICMPv6 Parameter Problem code and pointer (offset
// from the IPv6 header start, RFC 4443 §3.4) plus how the RFCs say to answer, so the core only applies
// policy (rate limits, RFC 4443 §2.4(e) source checks). Lengths use full-width arithmetic and every step
// advances, so no header can wrap a length or loop (picoTCP CVE-2020-17442/-17444/-17445, H22-H24).
// Upper-layer protocols are not interpreted beyond the RFC 7112 first-fragment check.

import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';
import type { Ipv6Packet } from './ipv6.js';
import { IPV6_HEADER_LEN, IPV6_OPT_JUMBO, Ipv6Field } from './ipv6.js';

/** Extension header types walked here (IANA protocol numbers). */
export const Ipv6ExtType = { HOP_BY_HOP: 0, ROUTING: 43, FRAGMENT: 44, NO_NEXT_HEADER: 59, DEST_OPTS: 60 } as const;

/** Option types in Hop-by-Hop / Destination Options headers. */
export const Ipv6OptionType = { PAD1: 0x00, PADN: 0x01, ROUTER_ALERT: 0x05, JUMBO: IPV6_OPT_JUMBO } as const;

/** ICMPv6 Parameter Problem codes (RFC 4443 §3.4, RFC 7112 §3). */
export const ParamProblemCode = {
  ERRONEOUS_HEADER_FIELD: 0,
  UNRECOGNIZED_NEXT_HEADER: 1,
  UNRECOGNIZED_OPTION: 2,
  INCOMPLETE_HEADER_CHAIN: 3,
} as const;

export const IPV6_FRAG_HEADER_LEN = 8;
/** Default bound on extension headers per packet; real traffic carries at most three or four. */
export const DEFAULT_MAX_EXT_HEADERS = 8;
/** Largest option header: (255 + 1) * 8 bytes. */
export const IPV6_MAX_OPT_HEADER_LEN = 2048;

/** Field offsets within extension headers (relative to the header start). */
export const Ipv6ExtField = { NEXT_HEADER: 0, HDR_EXT_LEN: 1, ROUTING_TYPE: 2, SEGMENTS_LEFT: 3, FRAG_OFFSET: 2, FRAG_IDENT: 4 } as const;

/**
 * How the RFCs say to answer: 'icmp' = send Parameter Problem even to a multicast destination (option
 * action 10, RFC 4443 §2.4(e.3) exception); 'icmp-unless-multicast' = send unless the destination is
 * multicast; 'silent' = drop without ICMP (truncation, action 01, local limits).
 */
export type Ipv6ErrorReport = 'icmp' | 'icmp-unless-multicast' | 'silent';

/** A malformed or refused IPv6 packet, with what an ICMPv6 Parameter Problem needs. */
export class Ipv6ParamProblem extends WireError {
  /** ICMPv6 Parameter Problem code (`ParamProblemCode`). */
  readonly code: number;
  readonly report: Ipv6ErrorReport;
  /** Action bits (RFC 8200 §4.2) of an unrecognised option, else -1. */
  readonly optionAction: number;

  constructor(field: string, reason: string, code: number, pointer: number, report: Ipv6ErrorReport, optionAction = -1) {
    super('ipv6', field, reason, pointer);
    this.code = code;
    this.report = report;
    this.optionAction = optionAction;
  }

  /** Parameter Problem pointer: offset from the start of the IPv6 header (same as `offset`). */
  get pointer(): number {
    return this.offset;
  }
}

/** One extension header; offsets are from the IPv6 header start. */
export interface Ipv6ExtHeader {
  type: number;
  offset: number;
  /** Full header length in bytes. */
  length: number;
}

/** Fragment header (RFC 8200 §4.5). */
export interface Ipv6FragmentRepr {
  nextHeader: number;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset: number;
  moreFrags: boolean;
  ident: number;
}

/** Result of walking the header chain. All offsets are from the IPv6 header start. */
export interface Ipv6Chain {
  headers: Ipv6ExtHeader[];
  /** Protocol after the last extension header (59 = none). For a non-first fragment: the Fragment header's Next Header. */
  upperProtocol: number;
  /** Offset of the upper-layer header, or of the fragment data after a non-first Fragment header. */
  upperOffset: number;
  /** Offset of the Next Header field naming `upperProtocol`: the pointer for a code 1 Parameter Problem. */
  nextHeaderPointer: number;
  fragment: Ipv6FragmentRepr | null;
  /** Offset of the Fragment header, or -1. */
  fragmentOffset: number;
  /** Value of a Hop-by-Hop Router Alert option (RFC 2711; 0 = MLD), or -1. */
  routerAlert: number;
  /** True when a valid Jumbo Payload option was found (RFC 2675). */
  jumbo: boolean;
}

/** One option TLV; offsets are from the IPv6 header start. */
export interface Ipv6Option {
  type: number;
  offset: number;
  /** Option Data Length (0 for Pad1). */
  dataLength: number;
  /** Top two bits of the type: what to do if unrecognised (RFC 8200 §4.2). */
  action: number;
}

/** True for the Next Header values the chain walker descends into. */
export function isIpv6ExtensionHeader(nh: number): boolean {
  return nh === 0 || nh === 43 || nh === 44 || nh === 60;
}

const hex2 = (t: number): string => `0x${t.toString(16).padStart(2, '0')}`;

/**
 * Walks the extension header chain of a checked packet. Rules: Hop-by-Hop only first (else code 1 at the
 * Next Header field naming it); header lengths within the packet (code 0 at Hdr Ext Len, or code 3 with
 * pointer 0 inside a first fragment, RFC 7112); at most `maxHeaders` headers; a Routing header with
 * Segments Left > 0 is refused with code 0 at the Routing Type (this host forwards nothing; RFC 5095
 * for type 0), with Segments Left 0 it is skipped (RFC 8200 §4.4); after a non-first Fragment header the
 * rest is fragment data. Options are checked as in `parseIpv6Options`. Fragment sanity (RFC 8200 §4.5):
 * a non-final fragment must carry a multiple of 8 bytes (code 0 at Payload Length) and end within 65535
 * (code 0 at Fragment Offset).
 */
export function walkIpv6Chain(p: Ipv6Packet, maxHeaders = DEFAULT_MAX_EXT_HEADERS): Ipv6Chain | Ipv6ParamProblem {
  const buf = p.buf;
  const base = p.off;
  const end = p.len;
  const plZero = p.payloadLength === 0;
  const chain: Ipv6Chain = {
    headers: [],
    upperProtocol: 0,
    upperOffset: 0,
    nextHeaderPointer: Ipv6Field.NEXT_HEADER,
    fragment: null,
    fragmentOffset: -1,
    routerAlert: -1,
    jumbo: false,
  };
  let nh = buf[base + Ipv6Field.NEXT_HEADER]!;
  let nhPtr: number = Ipv6Field.NEXT_HEADER;
  let at = IPV6_HEADER_LEN;
  let firstFragment = false;
  while (isIpv6ExtensionHeader(nh)) {
    if (nh === Ipv6ExtType.HOP_BY_HOP && at !== IPV6_HEADER_LEN) {
      return new Ipv6ParamProblem('next_header', 'Hop-by-Hop header not directly after the IPv6 header', ParamProblemCode.UNRECOGNIZED_NEXT_HEADER, nhPtr, 'icmp-unless-multicast');
    }
    if (chain.headers.length >= maxHeaders) {
      return new Ipv6ParamProblem('next_header', `more than ${maxHeaders} extension headers`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, nhPtr, 'silent');
    }
    const left = end - at;
    if (left < 8) return truncated(firstFragment, `${hex2(nh)} header truncated: ${left} < 8 bytes`, nhPtr);
    // Full-width arithmetic: (255 + 1) * 8 = 2048 never wraps (CVE-2020-17444 wrapped it in a byte).
    const hlen = nh === Ipv6ExtType.FRAGMENT ? IPV6_FRAG_HEADER_LEN : (buf[base + at + 1]! + 1) * 8;
    if (hlen > left) return truncated(firstFragment, `${hex2(nh)} header length ${hlen} exceeds ${left} bytes left`, at + 1);
    chain.headers.push({ type: nh, offset: at, length: hlen });
    if (nh === Ipv6ExtType.ROUTING) {
      const segmentsLeft = buf[base + at + Ipv6ExtField.SEGMENTS_LEFT]!;
      if (segmentsLeft > 0) {
        const type = buf[base + at + Ipv6ExtField.ROUTING_TYPE]!;
        return new Ipv6ParamProblem('routing_type', `routing type ${type} with ${segmentsLeft} segments left`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, at + Ipv6ExtField.ROUTING_TYPE, 'icmp-unless-multicast');
      }
    } else if (nh === Ipv6ExtType.FRAGMENT) {
      if (chain.fragment !== null) return new Ipv6ParamProblem('next_header', 'second Fragment header', ParamProblemCode.ERRONEOUS_HEADER_FIELD, nhPtr, 'silent');
      // RFC 2675 §3: a jumbogram cannot be fragmented.
      if (chain.jumbo) return new Ipv6ParamProblem('fragment', 'Fragment header in a jumbogram', ParamProblemCode.ERRONEOUS_HEADER_FIELD, at, 'icmp-unless-multicast');
      const w = readU16(buf, base + at + Ipv6ExtField.FRAG_OFFSET);
      const frag: Ipv6FragmentRepr = {
        nextHeader: buf[base + at]!,
        fragOffset: w & 0xfff8,
        moreFrags: (w & 1) !== 0,
        ident: readU32(buf, base + at + Ipv6ExtField.FRAG_IDENT),
      };
      chain.fragment = frag;
      chain.fragmentOffset = at;
      const dataLen = end - at - IPV6_FRAG_HEADER_LEN;
      if (frag.moreFrags && (dataLen & 7) !== 0) {
        return new Ipv6ParamProblem('payload_length', `non-final fragment of ${dataLen} bytes is not a multiple of 8`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, Ipv6Field.PAYLOAD_LENGTH, 'icmp-unless-multicast');
      }
      if (frag.fragOffset + dataLen > 0xffff) {
        return new Ipv6ParamProblem('fragment_offset', `fragment ends at ${frag.fragOffset + dataLen} > 65535`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, at + Ipv6ExtField.FRAG_OFFSET, 'icmp-unless-multicast');
      }
      if (frag.fragOffset !== 0) {
        // Non-first fragment: what follows is data, not headers.
        chain.upperProtocol = frag.nextHeader;
        chain.upperOffset = at + IPV6_FRAG_HEADER_LEN;
        chain.nextHeaderPointer = at;
        return chain;
      }
      if (frag.moreFrags) firstFragment = true;
    } else {
      const err = scanOptions(buf, base, at, hlen, nh === Ipv6ExtType.HOP_BY_HOP, plZero, chain, null);
      if (err !== null) return err;
    }
    nhPtr = at;
    nh = buf[base + at]!;
    at += hlen;
  }
  chain.upperProtocol = nh;
  chain.upperOffset = at;
  chain.nextHeaderPointer = nhPtr;
  return chain;
}

function truncated(firstFragment: boolean, reason: string, pointer: number): Ipv6ParamProblem {
  // RFC 7112 §5: a first fragment without the whole header chain gets code 3 with pointer 0.
  if (firstFragment) return new Ipv6ParamProblem('header_chain', `first fragment: ${reason}`, ParamProblemCode.INCOMPLETE_HEADER_CHAIN, 0, 'icmp-unless-multicast');
  return new Ipv6ParamProblem('hdr_ext_len', reason, ParamProblemCode.ERRONEOUS_HEADER_FIELD, pointer, 'silent');
}

/**
 * Lists the options of the Hop-by-Hop or Destination Options header `h` (from `walkIpv6Chain`) of `p`.
 * Each option must fit the header (H22); Router Alert needs length 2; Jumbo Payload (Hop-by-Hop only)
 * needs length 4, alignment 4n+2, a value > 65535 and Payload Length 0 (RFC 2675 §3). An unrecognised
 * option whose action bits are not 00 ends the walk with code 2 at its type byte; 00 ones are listed.
 */
export function parseIpv6Options(p: Ipv6Packet, h: Ipv6ExtHeader): Ipv6Option[] | Ipv6ParamProblem {
  if (h.type !== Ipv6ExtType.HOP_BY_HOP && h.type !== Ipv6ExtType.DEST_OPTS) {
    return new Ipv6ParamProblem('next_header', `${hex2(h.type)} is not an options header`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, h.offset, 'silent');
  }
  if (!(h.offset >= IPV6_HEADER_LEN && h.length >= 8 && h.offset + h.length <= p.len)) {
    return new Ipv6ParamProblem('hdr_ext_len', 'header outside the packet', ParamProblemCode.ERRONEOUS_HEADER_FIELD, h.offset, 'silent');
  }
  const list: Ipv6Option[] = [];
  const err = scanOptions(p.buf, p.off, h.offset, h.length, h.type === Ipv6ExtType.HOP_BY_HOP, p.payloadLength === 0, null, list);
  return err ?? list;
}

// Walks the TLVs of the options header at `at` (relative to the IPv6 header at `base`) of length `hlen`.
// Pad1 advances 1 and every other option 2 + its data length, so the loop ends within hlen steps.
function scanOptions(
  buf: Uint8Array,
  base: number,
  at: number,
  hlen: number,
  hbh: boolean,
  plZero: boolean,
  chain: Ipv6Chain | null,
  list: Ipv6Option[] | null,
): Ipv6ParamProblem | null {
  const end = at + hlen;
  let i = at + 2;
  while (i < end) {
    const t = buf[base + i]!;
    if (t === Ipv6OptionType.PAD1) {
      if (list) list.push({ type: t, offset: i, dataLength: 0, action: 0 });
      i++;
      continue;
    }
    if (end - i < 2) return new Ipv6ParamProblem('option', `option ${hex2(t)} truncated: no length byte`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, i, 'silent');
    const dl = buf[base + i + 1]!;
    if (dl > end - i - 2) return new Ipv6ParamProblem('option', `option ${hex2(t)} data length ${dl} exceeds ${end - i - 2} bytes left`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, i + 1, 'silent');
    let known = true;
    if (t === Ipv6OptionType.ROUTER_ALERT) {
      if (dl !== 2) return new Ipv6ParamProblem('option', `Router Alert length ${dl} != 2`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, i + 1, 'silent');
      if (hbh && chain) chain.routerAlert = readU16(buf, base + i + 2);
    } else if (t === Ipv6OptionType.JUMBO && hbh) {
      if (dl !== 4 || (i & 3) !== 2) return new Ipv6ParamProblem('option', `Jumbo Payload length ${dl} != 4 or misaligned`, ParamProblemCode.ERRONEOUS_HEADER_FIELD, i + 1, 'icmp-unless-multicast');
      if (!plZero) return new Ipv6ParamProblem('option', 'Jumbo Payload with a non-zero Payload Length', ParamProblemCode.ERRONEOUS_HEADER_FIELD, i, 'icmp-unless-multicast');
      if (readU32(buf, base + i + 2) <= 0xffff) return new Ipv6ParamProblem('option', 'Jumbo Payload Length <= 65535', ParamProblemCode.ERRONEOUS_HEADER_FIELD, i + 2, 'icmp-unless-multicast');
      if (chain) chain.jumbo = true;
    } else if (t !== Ipv6OptionType.PADN) {
      known = false;
    }
    const action = t >>> 6;
    if (!known && action !== 0) {
      const report: Ipv6ErrorReport = action === 1 ? 'silent' : action === 2 ? 'icmp' : 'icmp-unless-multicast';
      return new Ipv6ParamProblem('option', `unrecognised option ${hex2(t)} (action ${action})`, ParamProblemCode.UNRECOGNIZED_OPTION, i, report, action);
    }
    if (list) list.push({ type: t, offset: i, dataLength: dl, action });
    i += 2 + dl;
  }
  return null;
}

/** Minimum upper-layer header bytes RFC 7112 wants inside a first fragment. */
function upperHeaderLen(buf: Uint8Array, at: number, avail: number, protocol: number): number {
  switch (protocol) {
    case 6: // TCP: the data offset, when present, else the fixed 20 bytes
      return avail >= 13 ? Math.max(20, (buf[at + 12]! >>> 4) * 4) : 20;
    case 17: // UDP
    case 58: // ICMPv6: type, code, checksum and the first 4 body bytes every message has
      return 8;
    default:
      return 0;
  }
}

/**
 * RFC 7112 / RFC 8200 §4.5: false when `chain` is a first fragment (offset 0, M set) whose upper-layer
 * header is not wholly inside it; the core should then drop it (and may send code 3, pointer 0: H25).
 * True for unfragmented packets, atomic and non-first fragments, and unknown upper protocols.
 */
export function firstFragmentHasUpperHeader(p: Ipv6Packet, chain: Ipv6Chain): boolean {
  const f = chain.fragment;
  if (f === null || f.fragOffset !== 0 || !f.moreFrags) return true;
  const avail = p.len - chain.upperOffset;
  return avail >= upperHeaderLen(p.buf, p.off + chain.upperOffset, avail, chain.upperProtocol);
}

export const Ipv6FragmentRepr = {
  /** Reads the 8-byte Fragment header at `buf[off]`. */
  parse(buf: Uint8Array, off: number): Ipv6FragmentRepr | WireError {
    if (off < 0 || off + IPV6_FRAG_HEADER_LEN > buf.length) return new WireError('ipv6-frag', 'header', 'truncated: < 8 bytes', 0);
    const w = readU16(buf, off + Ipv6ExtField.FRAG_OFFSET);
    return { nextHeader: buf[off]!, fragOffset: w & 0xfff8, moreFrags: (w & 1) !== 0, ident: readU32(buf, off + Ipv6ExtField.FRAG_IDENT) };
  },

  bufferLen(_r?: Ipv6FragmentRepr): number {
    return IPV6_FRAG_HEADER_LEN;
  },

  emit(r: Ipv6FragmentRepr, buf: Uint8Array, off: number): void {
    if (!(r.fragOffset >= 0 && r.fragOffset <= 0xfff8) || (r.fragOffset & 7) !== 0) throw new EmitError(`ipv6: fragment offset ${r.fragOffset} invalid`);
    if (off < 0 || off + IPV6_FRAG_HEADER_LEN > buf.length) throw new EmitError('ipv6: buffer too small');
    buf[off] = r.nextHeader;
    buf[off + 1] = 0;
    writeU16(buf, off + Ipv6ExtField.FRAG_OFFSET, r.fragOffset | (r.moreFrags ? 1 : 0));
    writeU32(buf, off + Ipv6ExtField.FRAG_IDENT, r.ident >>> 0);
  },
};

/** One option to emit; Pad1 (type 0) takes no data. */
export interface Ipv6OptionRepr {
  type: number;
  data: Uint8Array;
}

/** Hop-by-Hop or Destination Options header to emit. */
export interface Ipv6OptionsHeaderRepr {
  nextHeader: number;
  options: Ipv6OptionRepr[];
}

function optionsBytes(r: Ipv6OptionsHeaderRepr): number {
  let n = 2;
  for (const o of r.options) n += o.type === Ipv6OptionType.PAD1 ? 1 : 2 + o.data.length;
  return n;
}

export const Ipv6OptionsHeaderRepr = {
  /** Header length: the options rounded up to a multiple of 8. */
  bufferLen(r: Ipv6OptionsHeaderRepr): number {
    return (optionsBytes(r) + 7) & ~7;
  },

  /**
   * Writes the header at `buf[off]`, padding the end with Pad1/PadN to a multiple of 8. Options are
   * written in order; the caller orders them to meet their alignment (RFC 8200 §4.2).
   */
  emit(r: Ipv6OptionsHeaderRepr, buf: Uint8Array, off: number): number {
    const used = optionsBytes(r);
    const len = (used + 7) & ~7;
    if (len > IPV6_MAX_OPT_HEADER_LEN) throw new EmitError(`ipv6: options header of ${len} bytes exceeds 2048`);
    if (off < 0 || off + len > buf.length) throw new EmitError('ipv6: buffer too small');
    buf[off] = r.nextHeader;
    buf[off + 1] = len / 8 - 1;
    let i = off + 2;
    for (const o of r.options) {
      buf[i++] = o.type;
      if (o.type === Ipv6OptionType.PAD1) continue;
      if (o.data.length > 255) throw new EmitError('ipv6: option data longer than 255 bytes');
      buf[i++] = o.data.length;
      buf.set(o.data, i);
      i += o.data.length;
    }
    const pad = len - used;
    if (pad === 1) buf[i] = Ipv6OptionType.PAD1;
    else if (pad > 1) {
      buf[i] = Ipv6OptionType.PADN;
      buf[i + 1] = pad - 2;
      buf.fill(0, i + 2, i + pad);
    }
    return len;
  },

  /** Router Alert header for MLD (RFC 2711, RFC 3810 §5): Hop-by-Hop with Router Alert 0 and PadN. */
  routerAlert(nextHeader: number, value = 0): Ipv6OptionsHeaderRepr {
    return { nextHeader, options: [{ type: Ipv6OptionType.ROUTER_ALERT, data: new Uint8Array([value >>> 8, value & 0xff]) }] };
  },
};
