import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IPV6_HEADER_LEN, Ipv6Packet, Ipv6Repr } from '../../src/wire/ipv6.js';
import { EmitError, isWireError, WireError } from '../../src/wire/error.js';
import { fromHex, writeU32 } from '../../src/wire/bytes.js';
import { formatIpv6, parseIpv6 } from '../../src/wire/address.js';
import { concat, ipv6 } from '../support/build-l3.js';

// PcapPlusPlus ip6_fragments.pcap frames 1 and 7 (first and last fragment of an mDNS response) and
// the recorded dnsmasq capture frame 3 (MLDv2 report behind a Hop-by-Hop Router Alert), Ethernet-framed.
const FRAG_FIRST = fromHex(
  '3333000000fb001ff3cdf61786dd6000000000802cfffe80000000000000021ff3fffecdf617ff0200000000000000000000000000fb11000001002c5323' +
    '14e914e902e1f77b0000000000170000000b00010b5f6166706f766572746370045f746370056c6f63616c00000c8001045f736d62c018000c8001045f7266' +
    '62c018000c8001065f616469736bc018000c8001085f616972706f7274c018000c80010d5f6170706c6574762d70616972c018000c8001085f',
);
const FRAG_LAST = fromHex(
  '3333000000fb001ff3cdf61786dd60000000001d2cfffe80000000000000021ff3fffecdf617ff0200000000000000000000000000fb110002d0002c5323' +
    '001194000c00040008000b001ff3cdf6175127c6b5',
);
const MLD_REPORT = fromHex(
  '33330000001602000000000b86dd600000000038000100000000000000000000000000000000ff0200000000000000000000000000163a000502000001008f' +
    '006d630000000204000000ff0200000000000000000001ff00000204000000ff0200000000000000000001ff00000b',
);

function ok(r: Ipv6Packet | WireError): Ipv6Packet {
  if (isWireError(r)) throw new Error(`unexpected ${r.toString()}`);
  return r;
}

const addrArb = fc.uint8Array({ minLength: 16, maxLength: 16 });
const reprArb: fc.Arbitrary<Ipv6Repr> = fc.record({
  src: addrArb,
  dst: addrArb,
  nextHeader: fc.integer({ min: 1, max: 255 }),
  hopLimit: fc.integer({ min: 0, max: 255 }),
  trafficClass: fc.integer({ min: 0, max: 255 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLen: fc.integer({ min: 1, max: 300 }),
});

describe('ipv6', () => {
  it('reads the first captured fragment as tshark does (PL 128, NH 44, HL 255)', () => {
    const p = ok(Ipv6Packet.check(FRAG_FIRST, 14));
    expect([p.version, p.trafficClass, p.flowLabel, p.payloadLength, p.nextHeader, p.hopLimit]).toEqual([6, 0, 0, 128, 44, 255]);
    expect(formatIpv6(p.src)).toBe('fe80::21f:f3ff:fecd:f617');
    expect(formatIpv6(p.dst)).toBe('ff02::fb');
    expect(p.dstIsMulticast).toBe(true);
    expect([p.len, p.payloadOffset, p.payloadLen]).toEqual([168, 54, 128]);
  });

  it('reads the last captured fragment (PL 29) and the MLD report (PL 56, HbH, HL 1, from ::)', () => {
    const last = ok(Ipv6Packet.check(FRAG_LAST, 14));
    expect([last.payloadLength, last.len]).toEqual([29, 69]);
    const mld = ok(Ipv6Packet.check(MLD_REPORT, 14));
    expect([mld.payloadLength, mld.nextHeader, mld.hopLimit]).toEqual([56, 0, 1]);
    expect(formatIpv6(mld.src)).toBe('::');
    expect(formatIpv6(mld.dst)).toBe('ff02::16');
  });

  it('trims link padding and rejects a Payload Length beyond the bytes present (H21)', () => {
    const padded = concat(ipv6({ nextHeader: 17, payload: new Uint8Array(8) }), new Uint8Array(10));
    const p = ok(Ipv6Packet.check(padded));
    expect([p.len, p.payloadLen]).toEqual([48, 8]);
    expect(p.payload().length).toBe(8);
    const long = Ipv6Packet.check(ipv6({ nextHeader: 17, payload: new Uint8Array(100), payloadLength: 1000 })) as WireError;
    expect([long.field, long.offset]).toEqual(['payload_length', 4]);
    expect(long.reason).toMatch(/1000 exceeds 100/);
  });

  it('rejects version != 6 and short headers', () => {
    const v4 = Ipv6Packet.check(ipv6({ version: 4, nextHeader: 59, payload: new Uint8Array(8) })) as WireError;
    expect([v4.field, v4.offset]).toEqual(['version', 0]);
    expect((Ipv6Packet.check(new Uint8Array(39).fill(0x60)) as WireError).field).toBe('header');
  });

  it('accepts Payload Length 0 only for a jumbogram with a valid Jumbo option (RFC 2675)', () => {
    const noJumbo = Ipv6Packet.check(ipv6({ nextHeader: 17, payload: new Uint8Array(8), payloadLength: 0 })) as WireError;
    expect([noJumbo.field, noJumbo.offset]).toEqual(['payload_length', 4]);
    const jumboLen = 70000;
    const hbh = fromHex('11 00 c204 00000000'); // HbH: NH UDP, len 0, Jumbo at offset 42 (4n+2)
    writeU32(hbh, 4, jumboLen);
    const b = ipv6({ payload: concat(hbh, new Uint8Array(jumboLen - 8)), nextHeader: 0, payloadLength: 0 });
    const p = ok(Ipv6Packet.check(b));
    expect([p.payloadLength, p.payloadLen, p.len]).toEqual([0, jumboLen, 40 + jumboLen]);
    const short = Ipv6Packet.check(b.subarray(0, b.length - 1)) as WireError;
    expect(short.field).toBe('jumbo_payload_length');
    writeU32(b, 44, 65535);
    expect((Ipv6Packet.check(b) as WireError).field).toBe('jumbo_payload_length');
  });

  it('traffic class and flow label setters keep the neighbouring bits', () => {
    const p = ok(Ipv6Packet.check(ipv6({ trafficClass: 0xb8, flowLabel: 0xabcde, payload: new Uint8Array(1), nextHeader: 17 })));
    expect([p.trafficClass, p.dscp, p.ecn, p.flowLabel]).toEqual([0xb8, 46, 0, 0xabcde]);
    p.trafficClass = 0x03;
    expect([p.version, p.trafficClass, p.flowLabel]).toEqual([6, 0x03, 0xabcde]);
    p.flowLabel = 0x12345;
    expect([p.version, p.trafficClass, p.flowLabel]).toEqual([6, 0x03, 0x12345]);
    p.hopLimit = 1;
    p.nextHeader = 58;
    p.src = parseIpv6('fe80::1')!;
    expect([p.hopLimit, p.nextHeader, formatIpv6(p.src)]).toEqual([1, 58, 'fe80::1']);
    expect(p.buf[p.srcOffset + 15]).toBe(1);
  });

  it('emit then check round-trips', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(3), fc.nat(16), (r, off, trailer) => {
        const b = new Uint8Array(off + Ipv6Repr.bufferLen(r) + trailer).fill(0x77);
        Ipv6Repr.emit(r, b, off);
        const p = ok(Ipv6Packet.check(b, off));
        expect(p.len).toBe(IPV6_HEADER_LEN + r.payloadLen);
        expect(Ipv6Repr.parse(p)).toEqual(r);
      }),
    );
  });

  it('emit refuses out-of-range fields as programmer errors', () => {
    const r: Ipv6Repr = { src: new Uint8Array(16), dst: new Uint8Array(16), nextHeader: 17, hopLimit: 64, trafficClass: 0, flowLabel: 0, payloadLen: 8 };
    const b = new Uint8Array(48);
    expect(() => Ipv6Repr.emit({ ...r, payloadLen: 65536 }, b, 0)).toThrow(EmitError);
    expect(() => Ipv6Repr.emit({ ...r, flowLabel: 0x100000 }, b, 0)).toThrow(EmitError);
    expect(() => Ipv6Repr.emit({ ...r, src: new Uint8Array(4) }, b, 0)).toThrow(EmitError);
    expect(() => Ipv6Repr.emit(r, new Uint8Array(39), 0)).toThrow(EmitError);
  });

  it('never throws on random bytes and stays in bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(130), fc.nat(130), (b, off, len) => {
        if (b.length > 0) b[0] = 0x60 | (b[0]! & 0x0f);
        if (b.length > 5 && b[5]! & 1) b[4] = 0; // exercise small payload lengths
        const r = Ipv6Packet.check(b, off, len);
        if (!isWireError(r)) {
          expect(r.off + r.len).toBeLessThanOrEqual(Math.min(b.length, off + len));
          expect(r.payloadLen).toBeGreaterThanOrEqual(0);
          Ipv6Repr.parse(r);
        }
      }),
      { numRuns: 10000 },
    );
  });
});
