// Packets waiting for link-layer address resolution (ARP, NDP). Bounded in datagrams and in bytes.
// Fragmentation happens before resolution and losing any fragment loses the whole datagram, so the
// fragments of one datagram count as one queued unit; the byte cap (Linux: unres_qlen_bytes) keeps
// memory bounded all the same.

import type { TxBuffer } from './stack.js';

export interface PendingPacket {
  readonly tx: TxBuffer;
  readonly len: number;
  /** Datagram identity for fragments (-1 for unfragmented packets: each is its own unit). */
  readonly unit: number;
}

/** Default per-neighbour byte cap: one maximal datagram with its fragment headers, plus a little. */
export const DEFAULT_PENDING_BYTES = 96 * 1024;

/** The fragment identity of an IPv4 packet at tx.l3Offset, or -1 when it is not a fragment. */
export function ipv4FragmentUnit(tx: TxBuffer): number {
  const b = tx.buf;
  const o = tx.l3Offset;
  if ((((b[o + 6]! << 8) | b[o + 7]!) & 0x3fff) === 0) return -1;
  return (b[o + 4]! << 8) | b[o + 5]!;
}

/** The fragment identity of an IPv6 packet whose Fragment header follows the fixed header, or -1. */
export function ipv6FragmentUnit(tx: TxBuffer): number {
  const b = tx.buf;
  const o = tx.l3Offset;
  if (b[o + 6] !== 44) return -1;
  return ((b[o + 44]! << 24) | (b[o + 45]! << 16) | (b[o + 46]! << 8) | b[o + 47]!) >>> 0;
}

function unitCount(q: readonly PendingPacket[]): number {
  let n = 0;
  const seen = new Set<number>();
  for (const p of q) {
    if (p.unit < 0) n++;
    else if (!seen.has(p.unit)) {
      seen.add(p.unit);
      n++;
    }
  }
  return n;
}

function bytes(q: readonly PendingPacket[]): number {
  let n = 0;
  for (const p of q) n += p.len;
  return n;
}

/**
 * Whether `p` may join `q` under `maxUnits` datagrams and `maxBytes`: a fragment of a datagram
 * already queued needs only byte room.
 */
export function pendingAdmits(q: readonly PendingPacket[], p: PendingPacket, maxUnits: number, maxBytes: number): boolean {
  if (bytes(q) + p.len > maxBytes) return false;
  if (p.unit >= 0 && q.some((x) => x.unit === p.unit)) return true;
  return unitCount(q) < maxUnits;
}

/** Removes every packet of the oldest unit from `q` and returns them (for freeing). */
export function takeOldestUnit(q: PendingPacket[]): PendingPacket[] {
  const first = q[0];
  if (!first) return [];
  if (first.unit < 0) return q.splice(0, 1);
  const out: PendingPacket[] = [];
  for (let i = q.length - 1; i >= 0; i--) if (q[i]!.unit === first.unit) out.unshift(...q.splice(i, 1));
  return out;
}
