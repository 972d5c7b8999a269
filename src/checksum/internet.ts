// Internet checksum helpers built on a ChecksumProvider: the final complement, pseudo-headers for
// TCP/UDP/ICMPv6 (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1) and incremental update (RFC 1624).

import type { Ipv4Address, Ipv6Address } from '../wire/address.js';
import type { ChecksumProvider } from '../ports/checksum.js';
import { fold16 } from './ts-checksum.js';

/** The value to store in a checksum field: complement of the folded sum (0 is sent as 0xffff by UDP callers). */
export function finishChecksum(sum: number): number {
  return ~fold16(sum) & 0xffff;
}

/** RFC 1071 Internet checksum of a byte range with an optional seed (partial sum). */
export function internetChecksum(p: ChecksumProvider, b: Uint8Array, off: number, len: number, seed = 0): number {
  return finishChecksum(p.sum(b, off, len, fold16(seed)));
}

/**
 * Continues a partial sum over a further byte range, as if both ranges were one contiguous buffer
 * (scatter-gather: a header in one buffer, the payload in another). `bytesSoFar` is how many bytes
 * `sumSoFar` covers. After an even count the next byte is the high half of a word, so the seed just
 * carries on. After an odd count the next byte is the LOW half of the word whose high half ended the
 * previous range (which the provider padded with zero): by RFC 1071 §2(B) byte-order independence,
 * summing the new range with byte-swapped words is equivalent, so swap the seed in and the result out.
 */
export function continueSum(p: ChecksumProvider, sumSoFar: number, bytesSoFar: number, b: Uint8Array, off: number, len: number): number {
  if ((bytesSoFar & 1) === 0) return p.sum(b, off, len, sumSoFar);
  return swap16(p.sum(b, off, len, swap16(fold16(sumSoFar))));
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >>> 8);
}

/** Partial sum of the IPv4 pseudo-header: src, dst, zero, protocol, upper-layer length. */
export function pseudoHeaderSumV4(src: Ipv4Address, dst: Ipv4Address, protocol: number, length: number): number {
  return fold16((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length);
}

/** Partial sum of the IPv6 pseudo-header: src, dst, 32-bit length, 24 zero bits, next header. */
export function pseudoHeaderSumV6(src: Ipv6Address, dst: Ipv6Address, nextHeader: number, length: number): number {
  let s = 0;
  for (let i = 0; i < 16; i += 2) s += ((src[i]! << 8) | src[i + 1]!) + ((dst[i]! << 8) | dst[i + 1]!);
  s += Math.floor(length / 0x10000) + (length & 0xffff) + nextHeader;
  return fold16(s);
}

/**
 * RFC 1624 eqn. 3: new checksum after one 16-bit word of the covered data changes from `oldWord`
 * to `newWord`, without re-summing. HC' = ~(~HC + ~m + m').
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  return ~fold16((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** Same as updateChecksum16 for a 32-bit field (an IPv4 address rewrite in NAT, for example). */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  const c = updateChecksum16(checksum, oldValue >>> 16, newValue >>> 16);
  return updateChecksum16(c, oldValue & 0xffff, newValue & 0xffff);
}
