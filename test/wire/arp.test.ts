import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ARP_LEN, ArpOp, ArpPacket, ArpRepr } from '../../src/wire/arp.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { EmitError, isWireError, WireError } from '../../src/wire/error.js';
import { fromHex } from '../../src/wire/bytes.js';
import { parseIpv4, parseMac } from '../../src/wire/address.js';
import { arp } from '../support/build-l3.js';

// tcpdump tests/802.1ad_QinQ.pcap frames 1 and 2 (QinQ-tagged ARP request and reply, padded to 64 bytes).
const REQUEST = fromHex(
  'ffffffffffff0020d25afb3f88a800c8810007d1080600010800060400010020d25afb3fac154f61000000000000ac154f640000000000000000000000000000',
);
const REPLY = fromHex(
  '0020d25afb3f0080ea81886388a800c8810007d1080600010800060400020080ea818863ac154f640020d25afb3fac154f610000000000000000000000000000',
);

function arpOf(frame: Uint8Array): ArpPacket {
  const f = EthernetFrame.check(frame) as EthernetFrame;
  const p = ArpPacket.check(frame, f.payloadOffset, f.payloadLength);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

describe('arp', () => {
  it('reads the captured request as tshark does', () => {
    const p = arpOf(REQUEST);
    expect(p.len).toBe(ARP_LEN); // the 14 bytes of Ethernet padding are not part of the packet
    expect(ArpRepr.parse(p)).toEqual({
      operation: ArpOp.REQUEST,
      senderMac: parseMac('00:20:d2:5a:fb:3f'),
      senderIp: parseIpv4('172.21.79.97'),
      targetMac: 0,
      targetIp: parseIpv4('172.21.79.100'),
    });
  });

  it('reads the captured reply as tshark does', () => {
    expect(ArpRepr.parse(arpOf(REPLY))).toEqual({
      operation: ArpOp.REPLY,
      senderMac: parseMac('00:80:ea:81:88:63'),
      senderIp: parseIpv4('172.21.79.100'),
      targetMac: parseMac('00:20:d2:5a:fb:3f'),
      targetIp: parseIpv4('172.21.79.97'),
    });
  });

  it('recognises RARP operations and rejects others', () => {
    expect(isWireError(ArpPacket.check(arp({ op: ArpOp.RARP_REQUEST })))).toBe(false);
    expect(isWireError(ArpPacket.check(arp({ op: ArpOp.RARP_REPLY })))).toBe(false);
    for (const op of [0, 5, 8, 0xffff]) {
      const r = ArpPacket.check(arp({ op }));
      expect(isWireError(r) && r.field).toBe('oper');
    }
  });

  it('rejects non-Ethernet/IPv4 forms by field, with the field offset', () => {
    const cases: [Uint8Array, string, number][] = [
      [arp({ htype: 6 }), 'htype', 0],
      [arp({ ptype: 0x86dd }), 'ptype', 2],
      [arp({ hlen: 8 }), 'hlen', 4],
      [arp({ plen: 16 }), 'plen', 5],
      [arp({ truncate: 27 }), 'header', 0],
      [arp({ truncate: 7 }), 'header', 0],
    ];
    for (const [b, field, offset] of cases) {
      const r = ArpPacket.check(b) as WireError;
      expect(isWireError(r)).toBe(true);
      expect([r.field, r.offset]).toEqual([field, offset]);
    }
  });

  it('setters write the fields in place', () => {
    const b = arp();
    const p = ArpPacket.check(b) as ArpPacket;
    p.oper = ArpOp.REPLY;
    p.sha = 0x020000000009;
    p.spa = 0x0a000001;
    p.tha = 0x02000000000a;
    p.tpa = 0x0a000002;
    expect(ArpRepr.parse(ArpPacket.check(b) as ArpPacket)).toEqual({
      operation: 2,
      senderMac: 0x020000000009,
      senderIp: 0x0a000001,
      targetMac: 0x02000000000a,
      targetIp: 0x0a000002,
    });
  });

  it('emit then check round-trips', () => {
    const mac = fc.integer({ min: 0, max: 0xffff_ffff_ffff });
    const ip = fc.integer({ min: 0, max: 0xffff_ffff });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), mac, ip, mac, ip, fc.nat(4), (operation, senderMac, senderIp, targetMac, targetIp, off) => {
        const r: ArpRepr = { operation, senderMac, senderIp, targetMac, targetIp };
        const b = new Uint8Array(off + ArpRepr.bufferLen(r) + 18);
        ArpRepr.emit(r, b, off);
        const p = ArpPacket.check(b, off) as ArpPacket;
        expect(ArpRepr.parse(p)).toEqual(r);
        expect([p.htype, p.ptype, p.hlen, p.plen]).toEqual([1, 0x0800, 6, 4]);
      }),
    );
    expect(() => ArpRepr.emit({ operation: 9, senderMac: 0, senderIp: 0, targetMac: 0, targetIp: 0 }, new Uint8Array(28), 0)).toThrow(EmitError);
    expect(() => ArpRepr.emit({ operation: 1, senderMac: 0, senderIp: 0, targetMac: 0, targetIp: 0 }, new Uint8Array(27), 0)).toThrow(EmitError);
  });

  it('never throws on random bytes and stays in bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(45), fc.nat(45), (b, off, len) => {
        const r = ArpPacket.check(b, off, len);
        if (!isWireError(r)) {
          expect(r.off + r.len).toBeLessThanOrEqual(b.length);
          ArpRepr.parse(r);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on mutated valid packets', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(27), fc.nat(255)), { maxLength: 4 }), fc.nat(28), (muts, cut) => {
        const b = arp().slice(0, 28 - cut);
        for (const [i, v] of muts) if (i < b.length) b[i] = v;
        const r = ArpPacket.check(b);
        if (!isWireError(r)) expect(b.length).toBe(ARP_LEN);
      }),
      { numRuns: 3000 },
    );
  });
});
