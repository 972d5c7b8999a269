// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018): a bounded walker over the options area and an
// emitter. Parsing is separate from TcpPacket.check so the per-segment fast path never touches the
// options; the core parses them only when it needs them (SYN, timestamps, SACK).
//
// Walker rules (SECURITY-CASES H32–H35):
//  - EOL ends the list, NOP is one byte, every other option needs a length byte >= 2; a length of
//    0 or 1 makes the whole segment malformed (WireError; CVE-2020-24337: length 0 looped forever).
//    Each step advances >= 2 bytes, so the walk is linear in the area length.
//  - An option that runs past the end of the area (or has no room for its length byte) ends the
//    walk: it is listed in `malformed` and the options before it stand, as Linux does ("don't parse
//    partial options"). The segment stays valid, so a bogus SACK cannot kill a connection (H33).
//  - A known kind with a wrong length (MSS != 4, WS != 3, SACK-permitted != 2, SACK != 2+8n with
//    1..4 blocks, Timestamps != 10) is ignored and listed in `malformed`; the segment stays valid.
//  - Unknown kinds are skipped by their length. A repeated option overwrites the earlier one.
// Values are reported as received: the core applies policy (MSS floor, window-shift clamp, SACK
// block validation against SND.UNA..SND.NXT, WS only on SYN).

import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { EmitError, WireError } from './error.js';

export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
} as const;

/** Largest options area a TCP header can carry (data offset 15 → 60 − 20 bytes). */
export const TCP_MAX_OPTIONS_LEN = 40;
/** RFC 7323 §2.3: a received shift above 14 is used as 14. */
export const TCP_MAX_WINDOW_SHIFT = 14;
/** RFC 2018 §3: at most 4 SACK blocks fit in 40 bytes. */
export const TCP_MAX_SACK_BLOCKS = 4;

/** One SACK block: [left edge, right edge) as raw 32-bit sequence numbers. */
export type TcpSackBlock = [left: number, right: number];

export interface TcpTimestamps {
  tsVal: number;
  tsEcr: number;
}

/** A known option with a wrong length that was ignored. `offset` is relative to the TCP header start when parsed through TcpPacket. */
export interface TcpMalformedOption {
  kind: number;
  length: number;
  offset: number;
}

/** Options to emit (and the common part of a parsed result). */
export interface TcpOptionsRepr {
  mss?: number;
  /** Raw shift count as received or to send (emit accepts 0..14). */
  windowScale?: number;
  sackPermitted?: boolean;
  sackBlocks?: TcpSackBlock[];
  timestamps?: TcpTimestamps;
  /** Filled by parse; ignored by emit. */
  malformed?: TcpMalformedOption[];
}

/** Parse result: absent fields were not present (or were malformed and are listed in `malformed`). */
export interface TcpOptions extends TcpOptionsRepr {
  sackPermitted: boolean;
  malformed: TcpMalformedOption[];
}

/** RFC 7323 §2.3: the shift the core must use for a received Window Scale value. */
export function clampWindowShift(shift: number): number {
  return shift > TCP_MAX_WINDOW_SHIFT ? TCP_MAX_WINDOW_SHIFT : shift;
}

const K = TcpOptionKind;

function optErr(reason: string, offset: number): WireError {
  return new WireError('tcp', 'option_length', reason, offset);
}

export const TcpOptionsRepr = {
  /**
   * Walks `buf[off, off+len)`. Offsets in the result and in errors are `base` + position within
   * the area (TcpPacket passes 20 so they are relative to the TCP header).
   */
  parse(buf: Uint8Array, off: number, len: number, base = 0): TcpOptions | WireError {
    if (off < 0 || len < 0 || off + len > buf.length) return new WireError('tcp', 'options', 'range outside buffer', base);
    const out: TcpOptions = { sackPermitted: false, malformed: [] };
    const end = off + len;
    let i = off;
    while (i < end) {
      const kind = buf[i]!;
      if (kind === K.EOL) break;
      if (kind === K.NOP) {
        i++;
        continue;
      }
      const at = base + (i - off);
      if (i + 1 >= end) {
        out.malformed.push({ kind, length: 0, offset: at });
        break;
      }
      const olen = buf[i + 1]!;
      if (olen < 2) return optErr(`kind ${kind} length ${olen} < 2`, at + 1);
      if (olen > end - i) {
        out.malformed.push({ kind, length: olen, offset: at });
        break;
      }
      let ok = true;
      switch (kind) {
        case K.MSS:
          ok = olen === 4;
          if (ok) out.mss = readU16(buf, i + 2);
          break;
        case K.WINDOW_SCALE:
          ok = olen === 3;
          if (ok) out.windowScale = buf[i + 2]!;
          break;
        case K.SACK_PERMITTED:
          ok = olen === 2;
          if (ok) out.sackPermitted = true;
          break;
        case K.SACK: {
          const n = (olen - 2) >>> 3;
          ok = (olen - 2) % 8 === 0 && n >= 1 && n <= TCP_MAX_SACK_BLOCKS;
          if (ok) {
            const blocks: TcpSackBlock[] = [];
            for (let b = 0; b < n; b++) blocks.push([readU32(buf, i + 2 + 8 * b), readU32(buf, i + 6 + 8 * b)]);
            out.sackBlocks = blocks;
          }
          break;
        }
        case K.TIMESTAMPS:
          ok = olen === 10;
          if (ok) out.timestamps = { tsVal: readU32(buf, i + 2), tsEcr: readU32(buf, i + 6) };
          break;
        default:
          break; // unknown kind: skipped by its length
      }
      if (!ok) out.malformed.push({ kind, length: olen, offset: at });
      i += olen;
    }
    return out;
  },

  /** Bytes emit() writes: always a multiple of 4 (NOP-aligned layout). */
  bufferLen(o: TcpOptionsRepr): number {
    let n = 0;
    if (o.mss !== undefined) n += 4;
    // SACK-permitted + Timestamps share one 12-byte slot (Linux layout); either alone is NOP-padded.
    if (o.timestamps) n += 12;
    else if (o.sackPermitted) n += 4;
    if (o.windowScale !== undefined) n += 4;
    if (o.sackBlocks && o.sackBlocks.length > 0) n += 4 + 8 * o.sackBlocks.length;
    return n;
  },

  /** Writes the options at `buf[off]` and returns the byte count (bufferLen). Throws EmitError on invalid values. */
  emit(o: TcpOptionsRepr, buf: Uint8Array, off: number): number {
    const len = TcpOptionsRepr.bufferLen(o);
    if (len > TCP_MAX_OPTIONS_LEN) throw new EmitError(`tcp: ${len} bytes of options exceed 40`);
    if (off < 0 || off + len > buf.length) throw new EmitError('tcp: buffer too small for options');
    let i = off;
    if (o.mss !== undefined) {
      if (!(o.mss >= 0 && o.mss <= 0xffff)) throw new EmitError(`tcp: MSS ${o.mss} out of range`);
      buf[i] = K.MSS;
      buf[i + 1] = 4;
      writeU16(buf, i + 2, o.mss);
      i += 4;
    }
    if (o.timestamps) {
      if (o.sackPermitted) {
        buf[i] = K.SACK_PERMITTED;
        buf[i + 1] = 2;
      } else {
        buf[i] = K.NOP;
        buf[i + 1] = K.NOP;
      }
      buf[i + 2] = K.TIMESTAMPS;
      buf[i + 3] = 10;
      writeU32(buf, i + 4, o.timestamps.tsVal);
      writeU32(buf, i + 8, o.timestamps.tsEcr);
      i += 12;
    } else if (o.sackPermitted) {
      buf[i] = K.NOP;
      buf[i + 1] = K.NOP;
      buf[i + 2] = K.SACK_PERMITTED;
      buf[i + 3] = 2;
      i += 4;
    }
    if (o.windowScale !== undefined) {
      if (!(o.windowScale >= 0 && o.windowScale <= TCP_MAX_WINDOW_SHIFT)) {
        throw new EmitError(`tcp: window shift ${o.windowScale} out of 0..14`);
      }
      buf[i] = K.NOP;
      buf[i + 1] = K.WINDOW_SCALE;
      buf[i + 2] = 3;
      buf[i + 3] = o.windowScale;
      i += 4;
    }
    if (o.sackBlocks && o.sackBlocks.length > 0) {
      const n = o.sackBlocks.length;
      if (n > TCP_MAX_SACK_BLOCKS) throw new EmitError(`tcp: ${n} SACK blocks exceed 4`);
      buf[i] = K.NOP;
      buf[i + 1] = K.NOP;
      buf[i + 2] = K.SACK;
      buf[i + 3] = 2 + 8 * n;
      for (let b = 0; b < n; b++) {
        writeU32(buf, i + 4 + 8 * b, o.sackBlocks[b]![0]);
        writeU32(buf, i + 8 + 8 * b, o.sackBlocks[b]![1]);
      }
      i += 4 + 8 * n;
    }
    return i - off;
  },
};
