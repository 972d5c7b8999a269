// The fuzz target registry. The engine's worker imports this module and picks a target by name, so a
// new codec is fuzzed (by `npm run test:fuzz`, the smoke test and the regression runner) as soon as it
// is listed in `fuzzTargets`. Most codecs need only roundTripTarget (see harness.ts).

import { fromHex } from '../../src/wire/bytes.js';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr } from '../../src/wire/udp.js';
import { COMMON_TOKENS, FuzzInvariantError, roundTripTarget } from './harness.js';
import type { FuzzTarget } from './harness.js';
import { wireTargets } from './targets-wire.js';

const udp = roundTripTarget({
  name: 'udp',
  maxLen: 1500,
  seeds: [
    fromHex('d2ba0035002c0000' + '0000'.repeat(18)), // DNS query, checksum 0 (allowed over IPv4)
    fromHex('004400430010abcd' + '0102030405060708'), // DHCP client → server, 8-byte payload
    fromHex('14e914e900080000'), // mDNS, empty payload
    fromHex('30393039000c1234' + 'deadbeef' + 'cafe'), // length 12 in 14 bytes: trimmed
  ],
  dictionary: [
    ...COMMON_TOKENS,
    fromHex('0035'), // DNS
    fromHex('0043'), // DHCP server
    fromHex('0044'), // DHCP client
    fromHex('14e9'), // mDNS 5353
    fromHex('0008'), // minimum length
    fromHex('0007'), // one below the minimum (H44)
  ],
  check: (b) => UdpPacket.check(b),
  parse: (p) => UdpRepr.parse(p),
  bufferLen: (r) => UdpRepr.bufferLen(r),
  emit: (r, b) => UdpRepr.emit(r, b, 0),
  extra: (p, r, data) => {
    // The payload view must be exactly the bytes the length field claims, inside the input.
    const payload = p.payload();
    if (payload.length !== r.payloadLen || p.len !== UDP_HEADER_LEN + r.payloadLen || p.len > data.length) {
      throw new FuzzInvariantError(`udp: payload ${payload.length} bytes, repr says ${r.payloadLen}, input ${data.length}`);
    }
  },
});

export const fuzzTargets: readonly FuzzTarget[] = [udp, ...wireTargets];

export const targetNames: readonly string[] = fuzzTargets.map((t) => t.name);

export function findTarget(name: string): FuzzTarget | undefined {
  return fuzzTargets.find((t) => t.name === name);
}
