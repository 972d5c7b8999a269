import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bsdFamilyToEtherType, LinkType, locateNetworkLayer, readBsdFamily } from '../../src/wire/link-type.js';
import type { NetworkLayer } from '../../src/wire/link-type.js';
import { isWireError, WireError } from '../../src/wire/error.js';
import { fromHex } from '../../src/wire/bytes.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { ArpPacket } from '../../src/wire/arp.js';
import { concat, ethernet, ipv4, ipv6 } from '../support/build-l3.js';

// tcpdump 802.1ad_QinQ.pcap frame 1 (Ethernet, two tags, ARP), LINKTYPE_RAW_ipv4.pcap frame 1 and
// tcp-handshake-nano.pcap frame 1 (LINUX_SLL).
const QINQ_ARP = fromHex(
  'ffffffffffff0020d25afb3f88a800c8810007d1080600010800060400010020d25afb3fac154f61000000000000ac154f640000000000000000000000000000',
);
const RAW_DNS = fromHex(
  '45000039000100004011a695c0a80164090909093039003500251976123401000001000000000000076578616d706c6503636f6d0000010001',
);
const SLL_SYN = fromHex(
  '000402000000000000000000000008004500003c29a940004006db5f839bd7458974515eb64000502f842acb00000000a0026a4050c40000020405500402080a436a03620000000001030307',
);

function at(r: NetworkLayer | WireError): NetworkLayer {
  if (isWireError(r)) throw new Error(`unexpected ${r.toString()}`);
  return r;
}

describe('link types', () => {
  it('locates the network layer of captured Ethernet, raw and SLL frames', () => {
    const e = at(locateNetworkLayer(LinkType.ETHERNET, QINQ_ARP));
    expect(e).toEqual({ ethertype: 0x0806, offset: 22, length: 42 });
    expect(isWireError(ArpPacket.check(QINQ_ARP, e.offset, e.length))).toBe(false);
    expect(at(locateNetworkLayer(LinkType.RAW, RAW_DNS))).toEqual({ ethertype: 0x0800, offset: 0, length: 57 });
    const s = at(locateNetworkLayer(LinkType.LINUX_SLL, SLL_SYN));
    expect(s).toEqual({ ethertype: 0x0800, offset: 16, length: 60 });
    expect((Ipv4Packet.check(SLL_SYN, s.offset, s.length) as Ipv4Packet).protocol).toBe(6);
  });

  it('tells raw IPv4 from IPv6 by the version nibble and refuses anything else', () => {
    const v6 = ipv6({ nextHeader: 59 });
    expect(at(locateNetworkLayer(LinkType.RAW, v6)).ethertype).toBe(0x86dd);
    expect((locateNetworkLayer(LinkType.RAW, fromHex('55000014')) as WireError).field).toBe('version');
    expect(isWireError(locateNetworkLayer(LinkType.RAW, new Uint8Array(0)))).toBe(true);
    expect(at(locateNetworkLayer(LinkType.IPV4, RAW_DNS, 0, 20))).toEqual({ ethertype: 0x0800, offset: 0, length: 20 });
    expect(at(locateNetworkLayer(LinkType.IPV6, v6))).toEqual({ ethertype: 0x86dd, offset: 0, length: 40 });
  });

  it('refuses LLC frames and truncated Ethernet headers', () => {
    expect((locateNetworkLayer(LinkType.ETHERNET, ethernet({ ethertype: 46, payload: new Uint8Array(46) })) as WireError).field).toBe('ethertype');
    expect((locateNetworkLayer(LinkType.ETHERNET, new Uint8Array(13)) as WireError).field).toBe('header');
  });

  it('walks VLAN tags that libpcap re-inserts after cooked headers', () => {
    const inner = ipv4({ payload: new Uint8Array(4) });
    const sll = concat(fromHex('0000 0001 0006 020000000001 0000 8100'), fromHex('0064 0800'), inner);
    expect(at(locateNetworkLayer(LinkType.LINUX_SLL, sll))).toEqual({ ethertype: 0x0800, offset: 20, length: inner.length });
    const sll2 = concat(fromHex('88a8 0000 00000002 0001 00 06 020000000001 0000'), fromHex('00c8 8100 07d1 86dd'), ipv6());
    expect(at(locateNetworkLayer(LinkType.LINUX_SLL2, sll2))).toEqual({ ethertype: 0x86dd, offset: 28, length: 40 });
    expect((locateNetworkLayer(LinkType.LINUX_SLL, sll.subarray(0, 18)) as WireError).field).toBe('vlan');
    const fiveTags = concat(fromHex('0000 0001 0006 020000000001 0000 8100'), fromHex('00018100'.repeat(5) + '0800'), inner);
    expect((locateNetworkLayer(LinkType.LINUX_SLL, fiveTags) as WireError).field).toBe('vlan');
  });

  it('refuses cooked frames whose protocol is not an EtherType (netlink, raw 802.3)', () => {
    const netlink = concat(fromHex('0004 0338 0000 0000000000000000 0000'), new Uint8Array(16));
    const e = locateNetworkLayer(LinkType.LINUX_SLL, netlink) as WireError;
    expect([e.field, e.offset]).toEqual(['protocol', 14]);
    expect((locateNetworkLayer(LinkType.LINUX_SLL2, concat(fromHex('0001 0000 00000001 0001 00 00 0000000000000000'), new Uint8Array(4))) as WireError).field).toBe(
      'protocol',
    );
    expect((locateNetworkLayer(LinkType.LINUX_SLL2, new Uint8Array(19)) as WireError).field).toBe('header');
  });

  it('decodes NULL/LOOP address families in either byte order', () => {
    const v4 = ipv4();
    const v6 = ipv6();
    expect(at(locateNetworkLayer(LinkType.NULL, concat(fromHex('02000000'), v4)))).toEqual({ ethertype: 0x0800, offset: 4, length: 20 });
    expect(at(locateNetworkLayer(LinkType.NULL, concat(fromHex('00000002'), v4))).ethertype).toBe(0x0800);
    expect(at(locateNetworkLayer(LinkType.LOOP, concat(fromHex('00000018'), v6))).ethertype).toBe(0x86dd);
    for (const af of [10, 24, 28, 30]) {
      expect(bsdFamilyToEtherType(af)).toBe(0x86dd);
      const le = new Uint8Array([af, 0, 0, 0]);
      expect(readBsdFamily(le, 0)).toBe(af);
      expect(at(locateNetworkLayer(LinkType.NULL, concat(le, v6))).offset).toBe(4);
    }
    expect((locateNetworkLayer(LinkType.NULL, concat(fromHex('07000000'), v4)) as WireError).field).toBe('family');
    expect((locateNetworkLayer(LinkType.LOOP, fromHex('000002')) as WireError).field).toBe('family');
  });

  it('refuses link types without a network layer it reads', () => {
    for (const lt of [LinkType.NETLINK, 105, 127, 9999]) {
      expect((locateNetworkLayer(lt, RAW_DNS) as WireError).field).toBe('link_type');
    }
  });

  it('the located layer parses as the protocol it names', () => {
    const frames: [number, Uint8Array][] = [
      [LinkType.ETHERNET, ethernet({ vlans: [{ tpid: 0x88a8, vid: 1 }, { vid: 2 }], ethertype: 0x86dd, payload: ipv6({ nextHeader: 17, payload: new Uint8Array(8) }) })],
      [LinkType.ETHERNET, ethernet({ payload: ipv4({ payload: new Uint8Array(2) }), pad: true })],
      [LinkType.NULL, concat(fromHex('1e000000'), ipv6({ payload: new Uint8Array(8) }))],
    ];
    for (const [lt, f] of frames) {
      const n = at(locateNetworkLayer(lt, f));
      const p = n.ethertype === 0x0800 ? Ipv4Packet.check(f, n.offset, n.length) : Ipv6Packet.check(f, n.offset, n.length);
      expect(isWireError(p)).toBe(false);
    }
  });

  it('never throws on random bytes and stays in bounds for every link type', () => {
    const types = Object.values(LinkType);
    fc.assert(
      fc.property(fc.constantFrom(...types, 7), fc.uint8Array({ maxLength: 60 }), fc.nat(64), fc.nat(64), (lt, b, off, len) => {
        const r = locateNetworkLayer(lt, b, off, len);
        if (!isWireError(r)) {
          expect(r.offset).toBeGreaterThanOrEqual(off);
          expect(r.length).toBeGreaterThanOrEqual(0);
          expect(r.offset + r.length).toBeLessThanOrEqual(Math.min(b.length, off + len));
        }
      }),
      { numRuns: 10000 },
    );
  });
});
