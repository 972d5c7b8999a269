import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ETHERNET_MIN_FRAME_LEN, EthernetFrame, EthernetRepr, MAX_VLAN_TAGS } from '../../src/wire/ethernet.js';
import type { VlanTag } from '../../src/wire/ethernet.js';
import { EmitError, isWireError, WireError } from '../../src/wire/error.js';
import { fromHex } from '../../src/wire/bytes.js';
import { MAC_BROADCAST, parseMac } from '../../src/wire/address.js';
import { EtherType, isEtherType } from '../../src/wire/ethertype.js';
import { ethernet } from '../support/build-l3.js';

// tcpdump tests/802.1ad_QinQ.pcap frame 1 (tshark -x): 802.1ad tag VID 200 around an 802.1Q tag VID 2001, ARP.
const QINQ_ARP = fromHex(
  'ffffffffffff0020d25afb3f88a800c8810007d1080600010800060400010020d25afb3fac154f61000000000000ac15' +
    '4f640000000000000000000000000000',
);
// PcapPlusPlus frag_with_padding.pcap frame 8: 802.1Q VID 19, IPv4 first fragment padded to 60 bytes.
const VLAN_PADDED_IPV4 = fromHex(
  '01005e0002023806b438b34281000013' + '08004500001c631260000311073f0a0d' + '0171e0000202a5a2a47624c1cf110000' + '000000000000000000000000',
);

function ok(r: EthernetFrame | WireError): EthernetFrame {
  if (isWireError(r)) throw new Error(`unexpected ${r.toString()}`);
  return r;
}

const vlanArb: fc.Arbitrary<VlanTag> = fc.record({
  tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100),
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.boolean(),
  vid: fc.integer({ min: 0, max: 4095 }),
});
const macArb = fc.integer({ min: 0, max: 0xffff_ffff_ffff });
const reprArb: fc.Arbitrary<EthernetRepr> = fc.record({
  dst: macArb,
  src: macArb,
  vlans: fc.array(vlanArb, { maxLength: MAX_VLAN_TAGS }),
  ethertype: fc.integer({ min: 0x0600, max: 0xffff }).filter((t) => t !== 0x8100 && t !== 0x88a8 && t !== 0x9100),
});

describe('ethernet', () => {
  it('reads the QinQ ARP frame as tshark does: 802.1ad VID 200, 802.1Q VID 2001, ARP', () => {
    const f = ok(EthernetFrame.check(QINQ_ARP));
    expect(f.dst).toBe(MAC_BROADCAST);
    expect(f.src).toBe(parseMac('00:20:d2:5a:fb:3f'));
    expect(f.vlanCount).toBe(2);
    expect(EthernetRepr.parse(f).vlans).toEqual([
      { tpid: 0x88a8, pcp: 0, dei: false, vid: 200 },
      { tpid: 0x8100, pcp: 0, dei: false, vid: 2001 },
    ]);
    expect(f.ethertype).toBe(EtherType.ARP);
    expect(f.isLlc).toBe(false);
    expect(f.headerLen).toBe(22);
    expect(f.payloadOffset).toBe(22);
    expect(f.payloadLength).toBe(64 - 22);
    expect(f.payload()[0]).toBe(0x00);
    expect(f.payload()[7]).toBe(0x01); // ARP opcode low byte: request
  });

  it('reads an 802.1Q-tagged IPv4 frame and leaves padding trimming to IPv4', () => {
    const f = ok(EthernetFrame.check(VLAN_PADDED_IPV4));
    expect(f.vlanCount).toBe(1);
    expect(f.vid(0)).toBe(19);
    expect(f.tpid(0)).toBe(0x8100);
    expect(f.ethertype).toBe(EtherType.IPV4);
    expect(f.payloadOffset).toBe(18);
    expect(f.payloadLength).toBe(60 - 18);
  });

  it('accepts runts of 14 bytes or more and rejects 13 (H01)', () => {
    const f = ok(EthernetFrame.check(ethernet({ ethertype: 0x86dd })));
    expect(f.len).toBe(14);
    expect(f.payloadLength).toBe(0);
    const r = EthernetFrame.check(ethernet().subarray(0, 13));
    expect(isWireError(r) && r.field).toBe('header');
  });

  it('accepts up to four stacked tags and rejects a fifth', () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ tpid: i % 2 ? 0x8100 : 0x88a8, vid: i + 1 }));
    const four = ok(EthernetFrame.check(ethernet({ vlans: tags(4), payload: new Uint8Array(20) })));
    expect(four.vlanCount).toBe(4);
    expect(four.vid(3)).toBe(4);
    expect(four.payloadOffset).toBe(30);
    const five = EthernetFrame.check(ethernet({ vlans: tags(5), payload: new Uint8Array(20) }));
    expect(isWireError(five) && five.field).toBe('vlan');
    expect((five as WireError).offset).toBe(12 + 4 * 4);
  });

  it('rejects a tag cut off before its inner type field', () => {
    const b = ethernet({ vlans: [{ vid: 5 }] }).subarray(0, 17);
    const r = EthernetFrame.check(b);
    expect(isWireError(r) && r.field).toBe('vlan');
  });

  it('reports 802.3 length frames as LLC, trimmed to their length, and never as an EtherType', () => {
    const llc = ethernet({ ethertype: 38, payload: new Uint8Array(46) });
    const f = ok(EthernetFrame.check(llc));
    expect(f.isLlc).toBe(true);
    expect(isEtherType(f.ethertype)).toBe(false);
    expect(f.len).toBe(14 + 38);
    expect(f.payloadLength).toBe(38);
    const long = EthernetFrame.check(ethernet({ ethertype: 100, payload: new Uint8Array(46) }));
    expect(isWireError(long) && long.field).toBe('length');
    const undefinedType = EthernetFrame.check(ethernet({ ethertype: 1501, payload: new Uint8Array(1501) }));
    expect(isWireError(undefinedType) && undefinedType.field).toBe('ethertype');
    expect(ok(EthernetFrame.check(ethernet({ ethertype: 1500, payload: new Uint8Array(1500) }))).isLlc).toBe(true);
  });

  it('setters write the addresses in place', () => {
    const b = ethernet({ vlans: [{ vid: 7 }] });
    const f = ok(EthernetFrame.check(b));
    f.dst = 0x0a0b0c0d0e0f;
    f.src = 0x111213141516;
    expect([...b.subarray(0, 12)]).toEqual([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16]);
    expect(() => f.vid(1)).toThrow(RangeError);
  });

  it('emit then check round-trips, pads only on request and zeroes the pad', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(80), fc.boolean(), fc.nat(3), (r, payloadLen, pad, off) => {
        const total = EthernetRepr.bufferLen(r, payloadLen, pad);
        const b = new Uint8Array(off + total).fill(0xaa);
        expect(EthernetRepr.emit(r, b, off, payloadLen, pad)).toBe(total);
        const hdr = EthernetRepr.headerLen(r);
        expect(total).toBe(pad ? Math.max(ETHERNET_MIN_FRAME_LEN, hdr + payloadLen) : hdr + payloadLen);
        for (let i = off + hdr + payloadLen; i < off + total; i++) expect(b[i]).toBe(0);
        const f = ok(EthernetFrame.check(b, off, total));
        expect(EthernetRepr.parse(f)).toEqual(r);
        expect(f.payloadOffset).toBe(off + hdr);
        expect(f.payloadLength).toBe(total - hdr);
      }),
    );
  });

  it('emit refuses bad input as a programmer error', () => {
    const base: EthernetRepr = { dst: 1, src: 2, vlans: [], ethertype: 0x0800 };
    const big = new Uint8Array(100);
    expect(() => EthernetRepr.emit({ ...base, vlans: Array(5).fill({ tpid: 0x8100, pcp: 0, dei: false, vid: 1 }) }, big, 0)).toThrow(EmitError);
    expect(() => EthernetRepr.emit({ ...base, vlans: [{ tpid: 0x0800, pcp: 0, dei: false, vid: 1 }] }, big, 0)).toThrow(EmitError);
    expect(() => EthernetRepr.emit({ ...base, vlans: [{ tpid: 0x8100, pcp: 8, dei: false, vid: 1 }] }, big, 0)).toThrow(EmitError);
    expect(() => EthernetRepr.emit(base, new Uint8Array(13), 0)).toThrow(EmitError);
    expect(() => EthernetRepr.emit(base, new Uint8Array(20), 0, 0, true)).toThrow(EmitError);
  });

  it('never throws on random bytes and stays in bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(90), fc.nat(90), (b, off, len) => {
        const r = EthernetFrame.check(b, off, len);
        if (!isWireError(r)) {
          expect(r.off + r.len).toBeLessThanOrEqual(b.length);
          expect(r.payloadOffset).toBeLessThanOrEqual(r.off + r.len);
          expect(r.payloadLength).toBeGreaterThanOrEqual(0);
          EthernetRepr.parse(r);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on mutated real frames', () => {
    fc.assert(
      fc.property(fc.constantFrom(QINQ_ARP, VLAN_PADDED_IPV4), fc.array(fc.tuple(fc.nat(63), fc.nat(255)), { maxLength: 6 }), fc.nat(64), (frame, muts, cut) => {
        const b = frame.slice(0, Math.max(0, frame.length - cut));
        for (const [i, v] of muts) if (i < b.length) b[i] = v;
        const r = EthernetFrame.check(b);
        if (!isWireError(r)) {
          expect(r.payloadOffset + r.payloadLength).toBeLessThanOrEqual(b.length);
          EthernetRepr.parse(r);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
