// ICMPv4 (RFC 792, RFC 1122 §3.2.2, RFC 1191, RFC 6918): checked view, a checked view of the datagram
// quoted by error messages, and Repr. Every message has the 8-byte header (type, code, checksum,
// 4 bytes that depend on the type); anything shorter is rejected so no length arithmetic can wrap
// (H16). Deprecated types (RFC 6918) are recognised as such so the core can ignore them (H19).
// What to answer, rate limiting and PMTU floors are core policy.

import type { ChecksumProvider } from '../ports/checksum.js';
import { finishChecksum } from '../checksum/internet.js';
import { readIpv4 } from './address.js';
import type { Ipv4Address } from './address.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const ICMPV4_HEADER_LEN = 8;

/** Field offsets within an ICMPv4 message. */
export const Icmpv4Field = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  /** The 4 type-specific bytes ("rest of header"). */
  REST: 4,
  ECHO_IDENT: 4,
  ECHO_SEQ: 6,
  /** Parameter Problem pointer (RFC 792). */
  POINTER: 4,
  /** Redirect gateway address. */
  GATEWAY: 4,
  /** Next-hop MTU of Destination Unreachable code 4 (RFC 1191 §4). */
  NEXT_HOP_MTU: 6,
  DATA: 8,
} as const;

export const Icmpv4Type = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ALTERNATE_HOST_ADDRESS: 6,
  ECHO_REQUEST: 8,
  ROUTER_ADVERTISEMENT: 9,
  ROUTER_SOLICITATION: 10,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
  INFORMATION_REQUEST: 15,
  INFORMATION_REPLY: 16,
  ADDRESS_MASK_REQUEST: 17,
  ADDRESS_MASK_REPLY: 18,
  TRACEROUTE: 30,
} as const;

export const Icmpv4DestUnreachableCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAGMENTATION_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
  NET_PROHIBITED: 9,
  HOST_PROHIBITED: 10,
  ADMIN_PROHIBITED: 13,
} as const;

export const Icmpv4TimeExceededCode = { TTL: 0, REASSEMBLY: 1 } as const;

/** RFC 6918 §2–3 (and RFC 6633 for Source Quench): types a host must not act upon. */
export function isIcmpv4Deprecated(type: number): boolean {
  return type === 4 || type === 6 || (type >= 15 && type <= 18) || (type >= 30 && type <= 39);
}

/** Error messages (RFC 1122 §3.2.2): never sent in response to one of these. */
export function isIcmpv4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/**
 * Zero-copy view of an ICMPv4 message at `buf[off, off+len)` (len = the IP payload length).
 * Type-specific getters read fixed offsets within the 8-byte header and are always in bounds;
 * interpret them only for the matching type.
 */
export class Icmpv4Packet {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
  ) {}

  static check(buf: Uint8Array, off = 0, avail = buf.length - off): Icmpv4Packet | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('icmpv4', 'buffer', 'range outside buffer', off);
    if (avail < ICMPV4_HEADER_LEN) return new WireError('icmpv4', 'header', `truncated: ${avail} < 8 bytes`, 0);
    return new Icmpv4Packet(buf, off, avail);
  }

  static unchecked(buf: Uint8Array, off: number, len: number): Icmpv4Packet {
    return new Icmpv4Packet(buf, off, len);
  }

  get type(): number {
    return this.buf[this.off + Icmpv4Field.TYPE]!;
  }
  get code(): number {
    return this.buf[this.off + Icmpv4Field.CODE]!;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + Icmpv4Field.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + Icmpv4Field.CHECKSUM, v);
  }
  /** The 4 type-specific header bytes as a uint32. */
  get rest(): number {
    return readU32(this.buf, this.off + Icmpv4Field.REST);
  }
  get echoIdent(): number {
    return readU16(this.buf, this.off + Icmpv4Field.ECHO_IDENT);
  }
  get echoSeq(): number {
    return readU16(this.buf, this.off + Icmpv4Field.ECHO_SEQ);
  }
  /** Next-hop MTU (Destination Unreachable code 4); 0 from pre-RFC 1191 routers. Unvalidated (H17c). */
  get nextHopMtu(): number {
    return readU16(this.buf, this.off + Icmpv4Field.NEXT_HOP_MTU);
  }
  /** Parameter Problem: octet offset of the error in the quoted header. */
  get pointer(): number {
    return this.buf[this.off + Icmpv4Field.POINTER]!;
  }
  get gateway(): Ipv4Address {
    return readIpv4(this.buf, this.off + Icmpv4Field.GATEWAY);
  }
  get isError(): boolean {
    return isIcmpv4Error(this.type);
  }
  get isDeprecated(): boolean {
    return isIcmpv4Deprecated(this.type);
  }
  /** Absolute offset of the bytes after the header: echo data, or the quoted datagram of an error. */
  get dataOffset(): number {
    return this.off + ICMPV4_HEADER_LEN;
  }
  get dataLength(): number {
    return this.len - ICMPV4_HEADER_LEN;
  }
  data(): Uint8Array {
    return this.buf.subarray(this.off + ICMPV4_HEADER_LEN, this.off + this.len);
  }
  /** For error messages: the quoted original datagram's header and first 8 transport bytes, validated (H17a). */
  quoted(): Icmpv4Quoted | WireError {
    return Icmpv4Quoted.check(this.buf, this.off + ICMPV4_HEADER_LEN, this.len - ICMPV4_HEADER_LEN);
  }

  verifyChecksum(cs: ChecksumProvider): boolean {
    return cs.sum(this.buf, this.off, this.len, 0) === 0xffff;
  }

  fillChecksum(cs: ChecksumProvider): void {
    this.checksum = 0;
    this.checksum = finishChecksum(cs.sum(this.buf, this.off, this.len, 0));
  }
}

/**
 * The IPv4 datagram quoted in an ICMPv4 error: its header (validated: version 4, IHL >= 5 and
 * IHL*4 within the bytes present, H17a) plus up to 8 transport bytes (RFC 792 quotes "the first 64
 * bits" of data, fewer when the datagram had fewer). Transport accessors return -1 when their bytes
 * were not quoted. Reads the few fields it needs directly; the quoted total length is not trusted.
 */
export class Icmpv4Quoted {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    readonly headerLen: number,
  ) {}

  static check(buf: Uint8Array, off: number, avail: number): Icmpv4Quoted | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('icmpv4', 'buffer', 'range outside buffer', off);
    const at = ICMPV4_HEADER_LEN;
    if (avail < 20) return new WireError('icmpv4', 'quoted', `quoted datagram of ${avail} bytes < 20`, at);
    const vihl = buf[off]!;
    if (vihl >>> 4 !== 4) return new WireError('icmpv4', 'quoted_version', `version ${vihl >>> 4}`, at);
    const hlen = (vihl & 0xf) << 2;
    if (hlen < 20) return new WireError('icmpv4', 'quoted_ihl', `${hlen >>> 2} < 5`, at);
    if (hlen > avail) {
      return new WireError('icmpv4', 'quoted_ihl', `quoted header of ${hlen} bytes exceeds ${avail} bytes present`, at);
    }
    return new Icmpv4Quoted(buf, off, avail, hlen);
  }

  get totalLength(): number {
    return readU16(this.buf, this.off + 2);
  }
  get ident(): number {
    return readU16(this.buf, this.off + 4);
  }
  get moreFragments(): boolean {
    return (this.buf[this.off + 6]! & 0x20) !== 0;
  }
  /** Fragment offset in bytes; non-zero means the transport bytes are not a transport header. */
  get fragmentOffset(): number {
    return (readU16(this.buf, this.off + 6) & 0x1fff) << 3;
  }
  get ttl(): number {
    return this.buf[this.off + 8]!;
  }
  get protocol(): number {
    return this.buf[this.off + 9]!;
  }
  get src(): Ipv4Address {
    return readIpv4(this.buf, this.off + 12);
  }
  get dst(): Ipv4Address {
    return readIpv4(this.buf, this.off + 16);
  }
  /** Absolute offset of the quoted transport bytes (transportLength of them present, possibly 0). */
  get transportOffset(): number {
    return this.off + this.headerLen;
  }
  get transportLength(): number {
    return this.len - this.headerLen;
  }
  /** TCP/UDP source port (ICMP: type and code), or -1 if not quoted. */
  get srcPort(): number {
    return this.transportLength >= 2 ? readU16(this.buf, this.off + this.headerLen) : -1;
  }
  get dstPort(): number {
    return this.transportLength >= 4 ? readU16(this.buf, this.off + this.headerLen + 2) : -1;
  }
  /** TCP sequence number of the quoted segment (bytes 4..7), or -1 if not quoted. */
  get tcpSeq(): number {
    return this.transportLength >= 8 ? readU32(this.buf, this.off + this.headerLen + 4) : -1;
  }
  /** Quoted ICMP echo identifier and sequence (bytes 4..5, 6..7), or -1 if not quoted. */
  get echoIdent(): number {
    return this.transportLength >= 6 ? readU16(this.buf, this.off + this.headerLen + 4) : -1;
  }
  get echoSeq(): number {
    return this.transportLength >= 8 ? readU16(this.buf, this.off + this.headerLen + 6) : -1;
  }
}

/** High-level ICMPv4 message. Echo data and quoted datagrams are carried by the caller at offset 8. */
export type Icmpv4Repr =
  | { kind: 'echoRequest' | 'echoReply'; ident: number; seq: number; dataLen: number }
  /** nextHopMtu is meaningful for code 4 only and is 0 otherwise. */
  | { kind: 'destUnreachable'; code: number; nextHopMtu: number; quotedLen: number }
  | { kind: 'timeExceeded'; code: number; quotedLen: number }
  | { kind: 'parameterProblem'; code: number; pointer: number; quotedLen: number }
  | { kind: 'redirect'; code: number; gateway: Ipv4Address; quotedLen: number }
  /** RFC 6918 types, to be ignored; `rest` is the 4 type-specific bytes. */
  | { kind: 'deprecated'; type: number; code: number; rest: number; dataLen: number }
  | { kind: 'other'; type: number; code: number; rest: number; dataLen: number };

export const Icmpv4Repr = {
  parse(p: Icmpv4Packet): Icmpv4Repr {
    const T = Icmpv4Type;
    const type = p.type;
    const code = p.code;
    const n = p.dataLength;
    switch (type) {
      case T.ECHO_REQUEST:
      case T.ECHO_REPLY:
        return { kind: type === T.ECHO_REQUEST ? 'echoRequest' : 'echoReply', ident: p.echoIdent, seq: p.echoSeq, dataLen: n };
      case T.DEST_UNREACHABLE:
        return { kind: 'destUnreachable', code, nextHopMtu: code === 4 ? p.nextHopMtu : 0, quotedLen: n };
      case T.TIME_EXCEEDED:
        return { kind: 'timeExceeded', code, quotedLen: n };
      case T.PARAMETER_PROBLEM:
        return { kind: 'parameterProblem', code, pointer: p.pointer, quotedLen: n };
      case T.REDIRECT:
        return { kind: 'redirect', code, gateway: p.gateway, quotedLen: n };
      default:
        return { kind: isIcmpv4Deprecated(type) ? 'deprecated' : 'other', type, code, rest: p.rest, dataLen: n };
    }
  },

  bufferLen(r: Icmpv4Repr): number {
    return ICMPV4_HEADER_LEN + ('dataLen' in r ? r.dataLen : r.quotedLen);
  },

  /**
   * Writes the header at `buf[off]`; the data (or quoted datagram) must already be at off+8 when
   * `cs` is given, since the checksum covers it.
   */
  emit(r: Icmpv4Repr, buf: Uint8Array, off: number, cs?: ChecksumProvider): void {
    const len = Icmpv4Repr.bufferLen(r);
    if (len > 0xffff - 20) throw new EmitError(`icmpv4: message of ${len} bytes too long`);
    if (off < 0 || off + len > buf.length) throw new EmitError('icmpv4: buffer too small');
    const T = Icmpv4Type;
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
        rest = r.nextHopMtu & 0xffff;
        break;
      case 'timeExceeded':
        type = T.TIME_EXCEEDED;
        code = r.code;
        break;
      case 'parameterProblem':
        type = T.PARAMETER_PROBLEM;
        code = r.code;
        rest = (r.pointer & 0xff) << 24;
        break;
      case 'redirect':
        type = T.REDIRECT;
        code = r.code;
        rest = r.gateway;
        break;
      default:
        type = r.type;
        code = r.code;
        rest = r.rest;
    }
    buf[off + Icmpv4Field.TYPE] = type;
    buf[off + Icmpv4Field.CODE] = code;
    writeU16(buf, off + Icmpv4Field.CHECKSUM, 0);
    writeU32(buf, off + Icmpv4Field.REST, rest >>> 0);
    if (cs) Icmpv4Packet.unchecked(buf, off, len).fillChecksum(cs);
  },
};
