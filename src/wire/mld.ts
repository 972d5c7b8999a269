// Multicast Listener Discovery carried in ICMPv6: MLDv1 (RFC 2710) query/report/done and MLDv2
// (RFC 3810) query and report. Query versions are told apart by length (RFC 3810 §8.1: 24 bytes is
// v1, >= 28 is v2, anything else is ignored → WireError). Source and record counts are upper bounds
// checked against the bytes present (H53, picoTCP 069836cb). Link-local source and hop limit 1
// checks are core policy; the ICMPv6 checksum is verified by Icmpv6Packet.

import type { ChecksumProvider } from '../ports/checksum.js';
import { IPV6_UNSPECIFIED, readIpv6, writeIpv6 } from './address.js';
import type { Ipv6Address } from './address.js';
import { readU16, writeU16 } from './bytes.js';
import { EmitError, WireError } from './error.js';
import { fillIcmpv6Checksum } from './icmpv6.js';
import { decodeFloatCode8 } from './igmp.js';

export const MLD_V1_LEN = 24;
export const MLD_V2_QUERY_MIN_LEN = 28;
export const MLD_V2_REPORT_MIN_LEN = 8;
const RECORD_HEADER_LEN = 20;

export const MldType = { QUERY: 130, V1_REPORT: 131, V1_DONE: 132, V2_REPORT: 143 } as const;

export const MldField = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  MAX_RESPONSE_CODE: 4,
  MULTICAST_ADDRESS: 8,
  /** v2 query: Resv(4) | S(1) | QRV(3). */
  QUERY_FLAGS: 24,
  QQIC: 25,
  NUMBER_OF_SOURCES: 26,
  SOURCES: 28,
  /** v2 report. */
  NUMBER_OF_RECORDS: 6,
  RECORDS: 8,
} as const;

/** RFC 3810 §5.1.3: Maximum Response Code to milliseconds (values >= 32768 are 1|exp(3)|mant(12)). */
export function decodeMldMaxRespCode(code: number): number {
  return code < 32768 ? code : ((code & 0x0fff) | 0x1000) << (((code >>> 12) & 0x7) + 3);
}

/** Inverse of decodeMldMaxRespCode, rounding down; values above the largest encodable become 0xffff. */
export function encodeMldMaxRespCode(ms: number): number {
  const v = Math.floor(ms);
  if (!(v > 0)) return 0;
  if (v < 32768) return v;
  if (v >= 8387584) return 0xffff;
  let exp = 0;
  while (v >>> (exp + 3) > 0x1fff) exp++;
  return 0x8000 | (exp << 12) | ((v >>> (exp + 3)) & 0x0fff);
}

export interface MldAddressRecord {
  recordType: number;
  multicastAddress: Ipv6Address;
  sources: Ipv6Address[];
  /** Auxiliary data (copied; length a multiple of 4). Absent when the record has none. */
  auxData?: Uint8Array;
}

/** Zero-copy view of an MLD message at `buf[off, off+len)` (the whole ICMPv6 message). */
export class MldPacket {
  private constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    /** 1 for 24-byte queries, reports (131) and done (132); 2 for long queries and 143 reports. */
    readonly version: 1 | 2,
  ) {}

  static check(buf: Uint8Array, off = 0, avail = buf.length - off): MldPacket | WireError {
    if (off < 0 || avail < 0 || off + avail > buf.length) return new WireError('mld', 'buffer', 'range outside buffer', off);
    if (avail < 1) return new WireError('mld', 'header', 'empty message', 0);
    const type = buf[off]!;
    switch (type) {
      case MldType.QUERY: {
        if (avail < MLD_V1_LEN) return new WireError('mld', 'length', `query of ${avail} bytes < 24`, 0);
        if (avail === MLD_V1_LEN) return new MldPacket(buf, off, avail, 1);
        if (avail < MLD_V2_QUERY_MIN_LEN) return new WireError('mld', 'length', `query of ${avail} bytes matches no version`, 0);
        const n = readU16(buf, off + MldField.NUMBER_OF_SOURCES);
        if (MLD_V2_QUERY_MIN_LEN + 16 * n > avail) {
          return new WireError('mld', 'number_of_sources', `${n} sources need ${16 * n} bytes, ${avail - 28} present`, MldField.NUMBER_OF_SOURCES);
        }
        return new MldPacket(buf, off, avail, 2);
      }
      case MldType.V1_REPORT:
      case MldType.V1_DONE:
        if (avail < MLD_V1_LEN) return new WireError('mld', 'length', `type ${type} of ${avail} bytes < 24`, 0);
        return new MldPacket(buf, off, avail, 1);
      case MldType.V2_REPORT: {
        if (avail < MLD_V2_REPORT_MIN_LEN) return new WireError('mld', 'length', `report of ${avail} bytes < 8`, 0);
        const n = readU16(buf, off + MldField.NUMBER_OF_RECORDS);
        let p = MldField.RECORDS;
        // Every record consumes >= 20 bytes, so the loop is bounded by avail/20 whatever n says.
        for (let i = 0; i < n; i++) {
          if (avail - p < RECORD_HEADER_LEN) return new WireError('mld', 'number_of_records', `record ${i} of ${n} truncated`, p);
          const rl = RECORD_HEADER_LEN + 16 * readU16(buf, off + p + 2) + 4 * buf[off + p + 1]!;
          if (rl > avail - p) return new WireError('mld', 'number_of_sources', `record ${i} of ${rl} bytes overruns ${avail - p}`, p + 2);
          p += rl;
        }
        return new MldPacket(buf, off, avail, 2);
      }
      default:
        return new WireError('mld', 'type', `${type} is not an MLD message`, 0);
    }
  }

  get type(): number {
    return this.buf[this.off]!;
  }
  get code(): number {
    return this.buf[this.off + MldField.CODE]!;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + MldField.CHECKSUM);
  }
  private get isV2Report(): boolean {
    return this.type === MldType.V2_REPORT;
  }
  private get isV2Query(): boolean {
    return this.version === 2 && this.type === MldType.QUERY;
  }
  /** Raw Maximum Response Code/Delay (0 for reports). */
  get maxResponseCode(): number {
    return this.isV2Report ? 0 : readU16(this.buf, this.off + MldField.MAX_RESPONSE_CODE);
  }
  /** Maximum response delay in milliseconds (v2 queries decode the float format). */
  get maxResponseDelay(): number {
    return this.isV2Query ? decodeMldMaxRespCode(this.maxResponseCode) : this.maxResponseCode;
  }
  /** Multicast address of a query/v1 report/done (copied); :: for a v2 report. */
  get multicastAddress(): Ipv6Address {
    return this.isV2Report ? IPV6_UNSPECIFIED.slice() : readIpv6(this.buf, this.off + MldField.MULTICAST_ADDRESS);
  }
  get suppressRouterProcessing(): boolean {
    return this.isV2Query && (this.buf[this.off + MldField.QUERY_FLAGS]! & 0x08) !== 0;
  }
  get qrv(): number {
    return this.isV2Query ? this.buf[this.off + MldField.QUERY_FLAGS]! & 0x07 : 0;
  }
  get qqic(): number {
    return this.isV2Query ? this.buf[this.off + MldField.QQIC]! : 0;
  }
  /** Querier's query interval in seconds (decoded QQIC, RFC 3810 §5.1.9). */
  get queryInterval(): number {
    return decodeFloatCode8(this.qqic);
  }
  get numberOfSources(): number {
    return this.isV2Query ? readU16(this.buf, this.off + MldField.NUMBER_OF_SOURCES) : 0;
  }
  source(i: number): Ipv6Address {
    if (!(i >= 0 && i < this.numberOfSources)) throw new RangeError(`mld: source ${i} of ${this.numberOfSources}`);
    return readIpv6(this.buf, this.off + MldField.SOURCES + 16 * i);
  }
  sources(): Ipv6Address[] {
    const out: Ipv6Address[] = [];
    for (let i = 0; i < this.numberOfSources; i++) out.push(readIpv6(this.buf, this.off + MldField.SOURCES + 16 * i));
    return out;
  }
  get numberOfRecords(): number {
    return this.isV2Report ? readU16(this.buf, this.off + MldField.NUMBER_OF_RECORDS) : 0;
  }
  /** Multicast address records of a v2 report (allocates; bounds validated by check()). */
  records(): MldAddressRecord[] {
    const out: MldAddressRecord[] = [];
    const b = this.buf;
    let p = this.off + MldField.RECORDS;
    for (let i = 0; i < this.numberOfRecords; i++) {
      const aux = b[p + 1]! * 4;
      const ns = readU16(b, p + 2);
      const sources: Ipv6Address[] = [];
      for (let s = 0; s < ns; s++) sources.push(readIpv6(b, p + 20 + 16 * s));
      const rec: MldAddressRecord = { recordType: b[p]!, multicastAddress: readIpv6(b, p + 4), sources };
      if (aux > 0) rec.auxData = b.slice(p + 20 + 16 * ns, p + 20 + 16 * ns + aux);
      out.push(rec);
      p += RECORD_HEADER_LEN + 16 * ns + aux;
    }
    return out;
  }
}

export type MldRepr =
  | { kind: 'query'; version: 1; maxResponseCode: number; multicastAddress: Ipv6Address }
  | {
      kind: 'query';
      version: 2;
      maxResponseCode: number;
      multicastAddress: Ipv6Address;
      suppressRouterProcessing: boolean;
      qrv: number;
      qqic: number;
      sources: Ipv6Address[];
    }
  | { kind: 'report' | 'done'; multicastAddress: Ipv6Address }
  | { kind: 'reportV2'; records: MldAddressRecord[] };

function recordsLen(records: MldAddressRecord[]): number {
  let n = 0;
  for (const r of records) {
    const aux = r.auxData?.length ?? 0;
    if (aux % 4 !== 0 || aux > 255 * 4) throw new EmitError(`mld: aux data of ${aux} bytes`);
    if (r.sources.length > 0xffff) throw new EmitError('mld: too many sources');
    n += RECORD_HEADER_LEN + 16 * r.sources.length + aux;
  }
  return n;
}

export const MldRepr = {
  parse(p: MldPacket): MldRepr {
    switch (p.type) {
      case MldType.QUERY:
        if (p.version === 2) {
          return {
            kind: 'query',
            version: 2,
            maxResponseCode: p.maxResponseCode,
            multicastAddress: p.multicastAddress,
            suppressRouterProcessing: p.suppressRouterProcessing,
            qrv: p.qrv,
            qqic: p.qqic,
            sources: p.sources(),
          };
        }
        return { kind: 'query', version: 1, maxResponseCode: p.maxResponseCode, multicastAddress: p.multicastAddress };
      case MldType.V1_REPORT:
        return { kind: 'report', multicastAddress: p.multicastAddress };
      case MldType.V1_DONE:
        return { kind: 'done', multicastAddress: p.multicastAddress };
      default:
        return { kind: 'reportV2', records: p.records() };
    }
  },

  bufferLen(r: MldRepr): number {
    if (r.kind === 'query' && r.version === 2) return MLD_V2_QUERY_MIN_LEN + 16 * r.sources.length;
    if (r.kind === 'reportV2') return MLD_V2_REPORT_MIN_LEN + recordsLen(r.records);
    return MLD_V1_LEN;
  },

  /** Writes the whole message at `buf[off]`; with `cs`, also the ICMPv6 checksum (pseudoSum covers bufferLen). */
  emit(r: MldRepr, buf: Uint8Array, off: number, cs?: ChecksumProvider, pseudoSum = 0): void {
    const len = MldRepr.bufferLen(r);
    if (off < 0 || off + len > buf.length) throw new EmitError('mld: buffer too small');
    buf.fill(0, off, off + len);
    switch (r.kind) {
      case 'query':
        buf[off] = MldType.QUERY;
        writeU16(buf, off + MldField.MAX_RESPONSE_CODE, r.maxResponseCode);
        writeIpv6(buf, off + MldField.MULTICAST_ADDRESS, r.multicastAddress);
        if (r.version === 2) {
          if (r.sources.length > 0xffff) throw new EmitError('mld: too many sources');
          buf[off + MldField.QUERY_FLAGS] = (r.suppressRouterProcessing ? 0x08 : 0) | (r.qrv & 0x07);
          buf[off + MldField.QQIC] = r.qqic;
          writeU16(buf, off + MldField.NUMBER_OF_SOURCES, r.sources.length);
          r.sources.forEach((s, i) => writeIpv6(buf, off + MldField.SOURCES + 16 * i, s));
        }
        break;
      case 'report':
      case 'done':
        buf[off] = r.kind === 'report' ? MldType.V1_REPORT : MldType.V1_DONE;
        writeIpv6(buf, off + MldField.MULTICAST_ADDRESS, r.multicastAddress);
        break;
      case 'reportV2': {
        if (r.records.length > 0xffff) throw new EmitError('mld: too many records');
        buf[off] = MldType.V2_REPORT;
        writeU16(buf, off + MldField.NUMBER_OF_RECORDS, r.records.length);
        let p = off + MldField.RECORDS;
        for (const rec of r.records) {
          const aux = rec.auxData?.length ?? 0;
          buf[p] = rec.recordType;
          buf[p + 1] = aux / 4;
          writeU16(buf, p + 2, rec.sources.length);
          writeIpv6(buf, p + 4, rec.multicastAddress);
          rec.sources.forEach((s, i) => writeIpv6(buf, p + 20 + 16 * i, s));
          if (rec.auxData) buf.set(rec.auxData, p + 20 + 16 * rec.sources.length);
          p += RECORD_HEADER_LEN + 16 * rec.sources.length + aux;
        }
        break;
      }
    }
    if (cs) fillIcmpv6Checksum(buf, off, len, cs, pseudoSum);
  },
};
