// ICMPv6 (RFC 4443): checked view, a checked view of the packet quoted by error messages, and Repr
// for echo and error messages. NDP (ndp.ts) and MLD (mld.ts) validate their own bodies on the same
// bytes after this view has checked the common header and checksum. Echo and error messages shorter
// than 8 bytes are rejected (H29, CVE-2020-17443). The checksum covers the IPv6 pseudo-header
// (RFC 4443 §2.3), whose sum the caller supplies.

import type { ChecksumProvider } from '../ports/checksum.js';
import { finishChecksum } from '../checksum/internet.js';
import { readIpv6 } from './address.js';
import type { Ipv6Address } from './address.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';

/** Type, code, checksum. */
export const ICMPV6_BASE_LEN = 4;
/** Base header plus the 4 type-specific bytes of echo and error messages. */
export const ICMPV6_HEADER_LEN = 8;

export const Icmpv6Field = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  REST: 4,
  ECHO_IDENT: 4,
  ECHO_SEQ: 6,
  MTU: 4,
  POINTER: 4,
  DATA: 8,
} as const;

export const Icmpv6Type = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  MLD_QUERY: 130,
  MLD_REPORT: 131,
  MLD_DONE: 132,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
  MLDV2_REPORT: 143,
} as const;

export const Icmpv6DestUnreachableCode = {
  NO_ROUTE: 0,
  ADMIN_PROHIBITED: 1,
  BEYOND_SCOPE: 2,
  ADDRESS: 3,
  PORT: 4,
  SOURCE_POLICY: 5,
  REJECT_ROUTE: 6,
} as const;

export const Icmpv6ParamProblemCode = { HEADER_FIELD: 0, NEXT_HEADER: 1, OPTION: 2, FIRST_FRAGMENT_INCOMPLETE: 3 } as const;

/** RFC 4443 §2.1: types 0..127 are errors. */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

// Types whose fixed part is the 8-byte header: shorter messages are malformed.
function needsFullHeader(type: number): boolean {
  return type <= 4 || type === Icmpv6Type.ECHO_REQUEST || type === Icmpv6Type.ECHO_REPLY;
}

/** Zero-copy view of an ICMPv6 message at `buf[off, off+len)` (len = the upper-layer length). */
export class Icmpv6Packet {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  static check(buf: Uint8Array, off = 0, avail = buf.length - off): Icmpv6Packet | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('icmpv6', 'buffer', 'range outside buffer', off);
    if (avail < ICMPV6_BASE_LEN) return new WireError('icmpv6', 'header', `truncated: ${avail} < 4 bytes`, 0);
    if (avail < ICMPV6_HEADER_LEN && needsFullHeader(buf[off]!)) {
      return new WireError('icmpv6', 'header', `type ${buf[off]} truncated: ${avail} < 8 bytes`, 0);
    }
    return new Icmpv6Packet(buf, off, avail);
  }

  static unchecked(buf: Uint8Array, off: number, len: number): Icmpv6Packet {
    return new Icmpv6Packet(buf, off, len);
  }

  get type(): number {
    return this.buf[this.off + Icmpv6Field.TYPE]!;
  }
  get code(): number {
    return this.buf[this.off + Icmpv6Field.CODE]!;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + Icmpv6Field.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + Icmpv6Field.CHECKSUM, v);
  }
  // The getters below read the 4 type-specific bytes; they are in bounds for echo and error types
  // (check() guarantees 8 bytes) and return 0 for a shorter message of another type.
  get rest(): number {
    return this.len < ICMPV6_HEADER_LEN ? 0 : readU32(this.buf, this.off + Icmpv6Field.REST);
  }
  get echoIdent(): number {
    return this.len < ICMPV6_HEADER_LEN ? 0 : readU16(this.buf, this.off + Icmpv6Field.ECHO_IDENT);
  }
  get echoSeq(): number {
    return this.len < ICMPV6_HEADER_LEN ? 0 : readU16(this.buf, this.off + Icmpv6Field.ECHO_SEQ);
  }
  /** Packet Too Big MTU; unvalidated (the core never lowers PMTU below 1280, H28). */
  get mtu(): number {
    return this.rest;
  }
  /** Parameter Problem pointer: octet offset in the quoted packet. */
  get pointer(): number {
    return this.rest;
  }
  get isError(): boolean {
    return isIcmpv6Error(this.type);
  }
  /** Echo data or the quoted packet of an error (after the 8-byte header). */
  get dataOffset(): number {
    return this.off + ICMPV6_HEADER_LEN;
  }
  get dataLength(): number {
    return Math.max(0, this.len - ICMPV6_HEADER_LEN);
  }
  data(): Uint8Array {
    return this.buf.subarray(this.dataOffset, this.dataOffset + this.dataLength);
  }
  quoted(): Icmpv6Quoted | WireError {
    return Icmpv6Quoted.check(this.buf, this.dataOffset, this.dataLength);
  }

  verifyChecksum(cs: ChecksumProvider, pseudoSum: number): boolean {
    return cs.sum(this.buf, this.off, this.len, pseudoSum) === 0xffff;
  }

  fillChecksum(cs: ChecksumProvider, pseudoSum: number): void {
    fillIcmpv6Checksum(this.buf, this.off, this.len, cs, pseudoSum);
  }
}

/** Computes and stores the ICMPv6 checksum of `buf[off, off+len)` (shared by ndp.ts and mld.ts). */
export function fillIcmpv6Checksum(buf: Uint8Array, off: number, len: number, cs: ChecksumProvider, pseudoSum: number): void {
  writeU16(buf, off + Icmpv6Field.CHECKSUM, 0);
  writeU16(buf, off + Icmpv6Field.CHECKSUM, finishChecksum(cs.sum(buf, off, len, pseudoSum)));
}

const IPV6_HEADER_LEN = 40;
// Bound on the quoted extension-header walk; a real chain in a quote is a handful of headers.
const MAX_QUOTED_EXT_HEADERS = 8;

/**
 * The IPv6 packet quoted in an ICMPv6 error. check() requires the 40-byte fixed header (version 6);
 * it then walks Hop-by-Hop, Routing, Destination Options, Fragment and AH headers within the quoted
 * bytes to find the upper-layer header. If the walk cannot reach it (truncated quote, non-first
 * fragment, too many headers) `upperProtocol` is -1. RFC 4443 §2.4(c) quotes "as much as possible",
 * so the transport bytes may be short: port getters return -1 when absent.
 */
export class Icmpv6Quoted {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    /** Upper-layer protocol number, or -1 if not reachable in the quoted bytes. */
    readonly upperProtocol: number,
    /** Absolute offset of the upper-layer header in `buf` (meaningful when upperProtocol >= 0). */
    readonly upperOffset: number,
  ) {}

  static check(buf: Uint8Array, off: number, avail: number): Icmpv6Quoted | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('icmpv6', 'buffer', 'range outside buffer', off);
    const at = ICMPV6_HEADER_LEN;
    if (avail < IPV6_HEADER_LEN) return new WireError('icmpv6', 'quoted', `quoted packet of ${avail} bytes < 40`, at);
    if (buf[off]! >>> 4 !== 6) return new WireError('icmpv6', 'quoted_version', `version ${buf[off]! >>> 4}`, at);
    const end = off + avail;
    let nh = buf[off + 6]!;
    let p = off + IPV6_HEADER_LEN;
    let upper = -1;
    for (let n = 0; n <= MAX_QUOTED_EXT_HEADERS; n++) {
      let hlen: number;
      if (nh === 0 || nh === 43 || nh === 60) {
        if (end - p < 2) break;
        hlen = (buf[p + 1]! + 1) * 8;
      } else if (nh === 44) {
        if (end - p < 8) break;
        if ((readU16(buf, p + 2) & 0xfff8) !== 0) break; // non-first fragment: no upper header here
        hlen = 8;
      } else if (nh === 51) {
        if (end - p < 2) break;
        hlen = (buf[p + 1]! + 2) * 4;
      } else {
        upper = nh;
        break;
      }
      if (hlen > end - p) break;
      nh = buf[p]!;
      p += hlen;
    }
    return new Icmpv6Quoted(buf, off, avail, upper, upper >= 0 ? p : end);
  }

  get payloadLength(): number {
    return readU16(this.buf, this.off + 4);
  }
  /** Next Header of the fixed header (not necessarily the upper layer). */
  get nextHeader(): number {
    return this.buf[this.off + 6]!;
  }
  get hopLimit(): number {
    return this.buf[this.off + 7]!;
  }
  get src(): Ipv6Address {
    return readIpv6(this.buf, this.off + 8);
  }
  get dst(): Ipv6Address {
    return readIpv6(this.buf, this.off + 24);
  }
  /** Quoted upper-layer bytes present (0 when the upper layer was not reached). */
  get upperLength(): number {
    return this.upperProtocol < 0 ? 0 : this.off + this.len - this.upperOffset;
  }
  /** TCP/UDP source port, or -1 if fewer than 4 upper-layer bytes were quoted. */
  get srcPort(): number {
    return this.upperLength >= 4 ? readU16(this.buf, this.upperOffset) : -1;
  }
  get dstPort(): number {
    return this.upperLength >= 4 ? readU16(this.buf, this.upperOffset + 2) : -1;
  }
  /** TCP sequence number, or -1 if fewer than 8 upper-layer bytes were quoted. */
  get tcpSeq(): number {
    return this.upperLength >= 8 ? readU32(this.buf, this.upperOffset + 4) : -1;
  }
  /** Quoted ICMPv6 echo identifier/sequence, or -1 if absent. */
  get echoIdent(): number {
    return this.upperLength >= 8 ? readU16(this.buf, this.upperOffset + 4) : -1;
  }
  get echoSeq(): number {
    return this.upperLength >= 8 ? readU16(this.buf, this.upperOffset + 6) : -1;
  }
}

/** High-level echo/error message. Other types (NDP, MLD) parse as 'other' and go to their codecs. */
export type Icmpv6Repr =
  | { kind: 'echoRequest' | 'echoReply'; ident: number; seq: number; dataLen: number }
  | { kind: 'destUnreachable'; code: number; quotedLen: number }
  | { kind: 'packetTooBig'; mtu: number; quotedLen: number }
  | { kind: 'timeExceeded'; code: number; quotedLen: number }
  | { kind: 'parameterProblem'; code: number; pointer: number; quotedLen: number }
  /** Any other type; `rest` is bytes 4..7 (0 if the message is shorter than 8 bytes) and `dataLen` the bytes after them. */
  | { kind: 'other'; type: number; code: number; rest: number; dataLen: number };

export const Icmpv6Repr = {
  parse(p: Icmpv6Packet): Icmpv6Repr {
    const T = Icmpv6Type;
    const n = p.dataLength;
    switch (p.type) {
      case T.ECHO_REQUEST:
        return { kind: 'echoRequest', ident: p.echoIdent, seq: p.echoSeq, dataLen: n };
      case T.ECHO_REPLY:
        return { kind: 'echoReply', ident: p.echoIdent, seq: p.echoSeq, dataLen: n };
      case T.DEST_UNREACHABLE:
        return { kind: 'destUnreachable', code: p.code, quotedLen: n };
      case T.PACKET_TOO_BIG:
        return { kind: 'packetTooBig', mtu: p.mtu, quotedLen: n };
      case T.TIME_EXCEEDED:
        return { kind: 'timeExceeded', code: p.code, quotedLen: n };
      case T.PARAMETER_PROBLEM:
        return { kind: 'parameterProblem', code: p.code, pointer: p.pointer, quotedLen: n };
      default:
        return { kind: 'other', type: p.type, code: p.code, rest: p.rest, dataLen: n };
    }
  },

  bufferLen(r: Icmpv6Repr): number {
    return ICMPV6_HEADER_LEN + ('dataLen' in r ? r.dataLen : r.quotedLen);
  },

  /** Writes the 8-byte header; with `cs`, the data must already be at off+8 (the checksum covers it). */
  emit(r: Icmpv6Repr, buf: Uint8Array, off: number, cs?: ChecksumProvider, pseudoSum = 0): void {
    const len = Icmpv6Repr.bufferLen(r);
    if (off < 0 || off + len > buf.length) throw new EmitError('icmpv6: buffer too small');
    const T = Icmpv6Type;
    let type: number;
    let code = 0;
    let rest = 0;
    switch (r.kind) {
      case 'echoRequest':
      case 'echoReply':
        type = r.kind === 'echoRequest' ? T.ECHO_REQUEST : T.ECHO_REPLY;
        rest = ((r.ident & 0xffff) << 16) | (r.seq & 0xffff);
        break;
      case 'destUnreachable':
        type = T.DEST_UNREACHABLE;
        code = r.code;
        break;
      case 'packetTooBig':
        type = T.PACKET_TOO_BIG;
        rest = r.mtu;
        break;
      case 'timeExceeded':
        type = T.TIME_EXCEEDED;
        code = r.code;
        break;
      case 'parameterProblem':
        type = T.PARAMETER_PROBLEM;
        code = r.code;
        rest = r.pointer;
        break;
      default:
        type = r.type;
        code = r.code;
        rest = r.rest;
    }
    buf[off + Icmpv6Field.TYPE] = type;
    buf[off + Icmpv6Field.CODE] = code;
    writeU32(buf, off + Icmpv6Field.REST, rest >>> 0);
    if (cs) fillIcmpv6Checksum(buf, off, len, cs, pseudoSum);
    else writeU16(buf, off + Icmpv6Field.CHECKSUM, 0);
  },
};
