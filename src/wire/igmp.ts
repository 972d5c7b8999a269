// IGMP (RFC 1112 v1, RFC 2236 v2, RFC 3376 v3): checked view and Repr. Every message has at least
// the 8-byte header (H53: shorter is rejected). Queries are versioned by length and Max Resp Code as
// RFC 3376 §7.1 prescribes; a query of 9..11 bytes matches no version and is rejected. IGMPv3 source
// and record counts are upper bounds checked against the bytes present, never trusted (H53,
// URGENT/11 CVE-2019-12265). The checksum covers the whole IGMP message (no pseudo-header).
// Which messages to act on (router alert, TTL 1, source checks) is core policy.

import type { ChecksumProvider } from '../ports/checksum.js';
import { finishChecksum } from '../checksum/internet.js';
import { readIpv4, writeIpv4 } from './address.js';
import type { Ipv4Address } from './address.js';
import { readU16, writeU16 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const IGMP_HEADER_LEN = 8;
export const IGMPV3_QUERY_MIN_LEN = 12;
const RECORD_HEADER_LEN = 8;

export const IgmpType = {
  MEMBERSHIP_QUERY: 0x11,
  V1_MEMBERSHIP_REPORT: 0x12,
  V2_MEMBERSHIP_REPORT: 0x16,
  LEAVE_GROUP: 0x17,
  V3_MEMBERSHIP_REPORT: 0x22,
} as const;

export const IgmpField = {
  TYPE: 0,
  MAX_RESP_CODE: 1,
  CHECKSUM: 2,
  GROUP_ADDRESS: 4,
  /** v3 query: Resv(4) | S(1) | QRV(3). */
  QUERY_FLAGS: 8,
  QQIC: 9,
  NUMBER_OF_SOURCES: 10,
  SOURCES: 12,
  /** v3 report. */
  NUMBER_OF_RECORDS: 6,
  RECORDS: 8,
} as const;

/** Group record types (RFC 3376 §4.2.12, RFC 3810 §5.2.12). */
export const GroupRecordType = {
  MODE_IS_INCLUDE: 1,
  MODE_IS_EXCLUDE: 2,
  CHANGE_TO_INCLUDE: 3,
  CHANGE_TO_EXCLUDE: 4,
  ALLOW_NEW_SOURCES: 5,
  BLOCK_OLD_SOURCES: 6,
} as const;

/**
 * RFC 3376 §4.1.1/§4.1.7, RFC 3810 §5.1.9: an 8-bit code below 128 is the value itself; otherwise
 * it is 1|exp(3)|mant(4) meaning (mant | 0x10) << (exp + 3).
 */
export function decodeFloatCode8(code: number): number {
  return code < 128 ? code : ((code & 0x0f) | 0x10) << (((code >>> 4) & 0x7) + 3);
}

/** Inverse of decodeFloatCode8, rounding down; values above the largest encodable become 0xff. */
export function encodeFloatCode8(value: number): number {
  const v = Math.floor(value);
  if (!(v > 0)) return 0;
  if (v < 128) return v;
  if (v >= 31744) return 0xff;
  let exp = 0;
  while (v >>> (exp + 3) > 0x1f) exp++;
  return 0x80 | (exp << 4) | ((v >>> (exp + 3)) & 0x0f);
}

export interface IgmpGroupRecord {
  recordType: number;
  group: Ipv4Address;
  sources: Ipv4Address[];
  /** Auxiliary data (copied; length a multiple of 4). Absent when the record has none. */
  auxData?: Uint8Array;
}

/** Zero-copy view of an IGMP message at `buf[off, off+len)` (len = the IP payload length). */
export class IgmpPacket {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    /** Query: 1, 2 or 3 per RFC 3376 §7.1. Reports: 1 (0x12), 2 (0x16, 0x17), 3 (0x22). Other types: 0. */
    readonly version: number,
  ) {}

  static check(buf: Uint8Array, off = 0, avail = buf.length - off): IgmpPacket | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('igmp', 'buffer', 'range outside buffer', off);
    if (avail < IGMP_HEADER_LEN) return new WireError('igmp', 'header', `truncated: ${avail} < 8 bytes`, 0);
    const T = IgmpType;
    switch (buf[off]!) {
      case T.MEMBERSHIP_QUERY: {
        if (avail === IGMP_HEADER_LEN) return new IgmpPacket(buf, off, avail, buf[off + 1] === 0 ? 1 : 2);
        if (avail < IGMPV3_QUERY_MIN_LEN) return new WireError('igmp', 'length', `query of ${avail} bytes matches no version`, 0);
        const n = readU16(buf, off + IgmpField.NUMBER_OF_SOURCES);
        if (IGMPV3_QUERY_MIN_LEN + 4 * n > avail) {
          return new WireError('igmp', 'number_of_sources', `${n} sources need ${4 * n} bytes, ${avail - 12} present`, IgmpField.NUMBER_OF_SOURCES);
        }
        return new IgmpPacket(buf, off, avail, 3);
      }
      case T.V3_MEMBERSHIP_REPORT: {
        const n = readU16(buf, off + IgmpField.NUMBER_OF_RECORDS);
        let p = IgmpField.RECORDS;
        // Every record consumes >= 8 bytes, so the loop is bounded by avail/8 whatever n says.
        for (let i = 0; i < n; i++) {
          if (avail - p < RECORD_HEADER_LEN) return new WireError('igmp', 'number_of_records', `record ${i} of ${n} truncated`, p);
          const rl = RECORD_HEADER_LEN + 4 * readU16(buf, off + p + 2) + 4 * buf[off + p + 1]!;
          if (rl > avail - p) return new WireError('igmp', 'number_of_sources', `record ${i} of ${rl} bytes overruns ${avail - p}`, p + 2);
          p += rl;
        }
        return new IgmpPacket(buf, off, avail, 3);
      }
      case T.V1_MEMBERSHIP_REPORT:
        return new IgmpPacket(buf, off, avail, 1);
      case T.V2_MEMBERSHIP_REPORT:
      case T.LEAVE_GROUP:
        return new IgmpPacket(buf, off, avail, 2);
      default:
        return new IgmpPacket(buf, off, avail, 0);
    }
  }

  static unchecked(buf: Uint8Array, off: number, len: number): IgmpPacket {
    return new IgmpPacket(buf, off, len, 0);
  }

  get type(): number {
    return this.buf[this.off]!;
  }
  /** Raw Max Resp Code (v1: unused, v2: tenths of a second, v3: float code). */
  get maxRespCode(): number {
    return this.buf[this.off + IgmpField.MAX_RESP_CODE]!;
  }
  /** Max response time in tenths of a second (0 for v1 queries and non-queries). */
  get maxRespTime(): number {
    if (this.type !== IgmpType.MEMBERSHIP_QUERY || this.version === 1) return 0;
    return this.version === 3 ? decodeFloatCode8(this.maxRespCode) : this.maxRespCode;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + IgmpField.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + IgmpField.CHECKSUM, v);
  }
  /** Group address (queries, v1/v2 reports, leave); 0 for a v3 report. */
  get groupAddress(): Ipv4Address {
    return this.type === IgmpType.V3_MEMBERSHIP_REPORT ? 0 : readIpv4(this.buf, this.off + IgmpField.GROUP_ADDRESS);
  }
  private get isV3Query(): boolean {
    return this.version === 3 && this.type === IgmpType.MEMBERSHIP_QUERY;
  }
  get suppressRouterProcessing(): boolean {
    return this.isV3Query && (this.buf[this.off + IgmpField.QUERY_FLAGS]! & 0x08) !== 0;
  }
  /** Querier's Robustness Variable (v3 query; 0 otherwise). */
  get qrv(): number {
    return this.isV3Query ? this.buf[this.off + IgmpField.QUERY_FLAGS]! & 0x07 : 0;
  }
  get qqic(): number {
    return this.isV3Query ? this.buf[this.off + IgmpField.QQIC]! : 0;
  }
  /** Querier's query interval in seconds (decoded QQIC). */
  get queryInterval(): number {
    return decodeFloatCode8(this.qqic);
  }
  get numberOfSources(): number {
    return this.isV3Query ? readU16(this.buf, this.off + IgmpField.NUMBER_OF_SOURCES) : 0;
  }
  /** Source `i` of a v3 query; check() guaranteed all numberOfSources are present. */
  source(i: number): Ipv4Address {
    if (!(i >= 0 && i < this.numberOfSources)) throw new RangeError(`igmp: source ${i} of ${this.numberOfSources}`);
    return readIpv4(this.buf, this.off + IgmpField.SOURCES + 4 * i);
  }
  sources(): Ipv4Address[] {
    const out: Ipv4Address[] = [];
    for (let i = 0; i < this.numberOfSources; i++) out.push(readIpv4(this.buf, this.off + IgmpField.SOURCES + 4 * i));
    return out;
  }
  get numberOfRecords(): number {
    return this.type === IgmpType.V3_MEMBERSHIP_REPORT ? readU16(this.buf, this.off + IgmpField.NUMBER_OF_RECORDS) : 0;
  }
  /** Group records of a v3 report (allocates; bounds were validated by check()). */
  records(): IgmpGroupRecord[] {
    const out: IgmpGroupRecord[] = [];
    const b = this.buf;
    let p = this.off + IgmpField.RECORDS;
    for (let i = 0; i < this.numberOfRecords; i++) {
      const aux = b[p + 1]! * 4;
      const ns = readU16(b, p + 2);
      const sources: Ipv4Address[] = [];
      for (let s = 0; s < ns; s++) sources.push(readIpv4(b, p + 8 + 4 * s));
      const rec: IgmpGroupRecord = { recordType: b[p]!, group: readIpv4(b, p + 4), sources };
      if (aux > 0) rec.auxData = b.slice(p + 8 + 4 * ns, p + 8 + 4 * ns + aux);
      out.push(rec);
      p += RECORD_HEADER_LEN + 4 * ns + aux;
    }
    return out;
  }

  verifyChecksum(cs: ChecksumProvider): boolean {
    return cs.sum(this.buf, this.off, this.len, 0) === 0xffff;
  }

  fillChecksum(cs: ChecksumProvider): void {
    this.checksum = 0;
    this.checksum = finishChecksum(cs.sum(this.buf, this.off, this.len, 0));
  }
}

export type IgmpRepr =
  /** A v2 query with Max Resp Code 0 is indistinguishable from v1 (RFC 3376 §7.1); v1 emits 0. */
  | { kind: 'query'; version: 1 | 2; maxRespCode: number; group: Ipv4Address }
  | {
      kind: 'query';
      version: 3;
      maxRespCode: number;
      group: Ipv4Address;
      suppressRouterProcessing: boolean;
      qrv: number;
      qqic: number;
      sources: Ipv4Address[];
    }
  | { kind: 'reportV1' | 'reportV2' | 'leave'; group: Ipv4Address }
  | { kind: 'reportV3'; records: IgmpGroupRecord[] }
  /** Other types (mtrace, DVMRP...): the 8-byte header only. */
  | { kind: 'other'; type: number; maxRespCode: number; group: Ipv4Address };

function recordsLen(records: IgmpGroupRecord[]): number {
  let n = 0;
  for (const r of records) {
    const aux = r.auxData?.length ?? 0;
    if (aux % 4 !== 0 || aux > 255 * 4) throw new EmitError(`igmp: aux data of ${aux} bytes`);
    if (r.sources.length > 0xffff) throw new EmitError('igmp: too many sources');
    n += RECORD_HEADER_LEN + 4 * r.sources.length + aux;
  }
  return n;
}

export const IgmpRepr = {
  parse(p: IgmpPacket): IgmpRepr {
    const T = IgmpType;
    switch (p.type) {
      case T.MEMBERSHIP_QUERY:
        if (p.version === 3) {
          return {
            kind: 'query',
            version: 3,
            maxRespCode: p.maxRespCode,
            group: p.groupAddress,
            suppressRouterProcessing: p.suppressRouterProcessing,
            qrv: p.qrv,
            qqic: p.qqic,
            sources: p.sources(),
          };
        }
        return { kind: 'query', version: p.version === 1 ? 1 : 2, maxRespCode: p.maxRespCode, group: p.groupAddress };
      case T.V1_MEMBERSHIP_REPORT:
        return { kind: 'reportV1', group: p.groupAddress };
      case T.V2_MEMBERSHIP_REPORT:
        return { kind: 'reportV2', group: p.groupAddress };
      case T.LEAVE_GROUP:
        return { kind: 'leave', group: p.groupAddress };
      case T.V3_MEMBERSHIP_REPORT:
        return { kind: 'reportV3', records: p.records() };
      default:
        return { kind: 'other', type: p.type, maxRespCode: p.maxRespCode, group: p.groupAddress };
    }
  },

  bufferLen(r: IgmpRepr): number {
    if (r.kind === 'query' && r.version === 3) return IGMPV3_QUERY_MIN_LEN + 4 * r.sources.length;
    if (r.kind === 'reportV3') return IGMP_HEADER_LEN + recordsLen(r.records);
    return IGMP_HEADER_LEN;
  },

  /** Writes the whole message at `buf[off]`; with `cs`, also the checksum. */
  emit(r: IgmpRepr, buf: Uint8Array, off: number, cs?: ChecksumProvider): void {
    const len = IgmpRepr.bufferLen(r);
    if (off < 0 || off + len > buf.length) throw new EmitError('igmp: buffer too small');
    buf.fill(0, off, off + len);
    const T = IgmpType;
    switch (r.kind) {
      case 'query':
        buf[off] = T.MEMBERSHIP_QUERY;
        buf[off + 1] = r.version === 1 ? 0 : r.maxRespCode;
        writeIpv4(buf, off + IgmpField.GROUP_ADDRESS, r.group);
        if (r.version === 3) {
          if (r.sources.length > 0xffff) throw new EmitError('igmp: too many sources');
          buf[off + IgmpField.QUERY_FLAGS] = (r.suppressRouterProcessing ? 0x08 : 0) | (r.qrv & 0x07);
          buf[off + IgmpField.QQIC] = r.qqic;
          writeU16(buf, off + IgmpField.NUMBER_OF_SOURCES, r.sources.length);
          r.sources.forEach((s, i) => writeIpv4(buf, off + IgmpField.SOURCES + 4 * i, s));
        }
        break;
      case 'reportV1':
      case 'reportV2':
      case 'leave':
        buf[off] = r.kind === 'reportV1' ? T.V1_MEMBERSHIP_REPORT : r.kind === 'reportV2' ? T.V2_MEMBERSHIP_REPORT : T.LEAVE_GROUP;
        writeIpv4(buf, off + IgmpField.GROUP_ADDRESS, r.group);
        break;
      case 'reportV3': {
        if (r.records.length > 0xffff) throw new EmitError('igmp: too many records');
        buf[off] = T.V3_MEMBERSHIP_REPORT;
        writeU16(buf, off + IgmpField.NUMBER_OF_RECORDS, r.records.length);
        let p = off + IgmpField.RECORDS;
        for (const rec of r.records) {
          const aux = rec.auxData?.length ?? 0;
          buf[p] = rec.recordType;
          buf[p + 1] = aux / 4;
          writeU16(buf, p + 2, rec.sources.length);
          writeIpv4(buf, p + 4, rec.group);
          rec.sources.forEach((s, i) => writeIpv4(buf, p + 8 + 4 * i, s));
          if (rec.auxData) buf.set(rec.auxData, p + 8 + 4 * rec.sources.length);
          p += RECORD_HEADER_LEN + 4 * rec.sources.length + aux;
        }
        break;
      }
      case 'other':
        buf[off] = r.type;
        buf[off + 1] = r.maxRespCode;
        writeIpv4(buf, off + IgmpField.GROUP_ADDRESS, r.group);
        break;
    }
    if (cs) IgmpPacket.unchecked(buf, off, len).fillChecksum(cs);
  },
};
