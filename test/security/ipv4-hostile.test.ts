// SECURITY-CASES §5 H03, H07, H14, H15, H17 (the IPv4/ICMP core parts), H18, H19 and H20 against a
// host running arp, ipv4, ipv4-reassembly, icmpv4 and udp (and, for the router variants of H18, a
// router running ipv4-forward). Each case injects the exact hostile bytes, asserts the counted drop
// reason, that no frame leaves where none is allowed, and ends with a liveness ping.
import { describe, expect, it } from 'vitest';
import { ArpModule } from '../../src/core/arp.js';
import { Icmpv4Module, type Icmpv4ErrorReport } from '../../src/core/icmpv4.js';
import { IPV4_FORWARD_LAYER, Ipv4ForwardModule } from '../../src/core/ipv4-forward.js';
import { Ipv4ReassemblyModule } from '../../src/core/ipv4-reassembly.js';
import { Ipv4Module } from '../../src/core/ipv4.js';
import { UdpModule } from '../../src/core/udp.js';
import { finishChecksum, pseudoHeaderSumV4 } from '../../src/checksum/internet.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { type Ipv4Address, MAC_BROADCAST, formatIpv4, ipv4MulticastMac, parseIpv4 } from '../../src/wire/address.js';
import { readU32, writeU16 } from '../../src/wire/bytes.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { arp, concat, ethernet, ipv4 } from '../support/build-l3.js';
import { icmpv4, ipv4Header, tcp } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const ip = (s: string): Ipv4Address => parseIpv4(s)!;
const MAC_H = 0x02000000000a;
const MAC_P = 0x02000000000b;
const H = ip('192.0.2.2');
const P = ip('192.0.2.1');

interface Out {
  src: string;
  dst: string;
  ihl: number;
  protocol: number;
  icmpType: number;
  icmpCode: number;
  icmpRest: number;
  /** ICMP error: the quoted bytes. */
  quoted: number[];
}

function decodeOut(f: Uint8Array): Out | null {
  const e = EthernetFrame.check(f);
  if (isWireError(e) || e.ethertype !== 0x0800) return null;
  const p = Ipv4Packet.check(f, e.payloadOffset, e.payloadLength);
  if (isWireError(p)) throw new Error(`stack emitted malformed IPv4: ${p}`);
  expect(p.verifyChecksum(tsChecksum)).toBe(true);
  const u = p.payloadOffset;
  const icmp = p.protocol === 1;
  return {
    src: formatIpv4(p.src),
    dst: formatIpv4(p.dst),
    ihl: p.ihl,
    protocol: p.protocol,
    icmpType: icmp ? f[u]! : -1,
    icmpCode: icmp ? f[u + 1]! : -1,
    icmpRest: icmp ? readU32(f, u + 4) : -1,
    quoted: icmp ? [...f.subarray(u + 8, p.off + p.len)] : [],
  };
}

function udp(o: { src?: Ipv4Address; dst?: Ipv4Address; dport?: number } = {}): Uint8Array {
  const b = new Uint8Array(12);
  writeU16(b, 0, 5000);
  writeU16(b, 2, o.dport ?? 9999);
  writeU16(b, 4, 12);
  b.set([1, 2, 3, 4], 8);
  const c = finishChecksum(tsChecksum.sum(b, 0, 12, pseudoHeaderSumV4(o.src ?? P, o.dst ?? H, 17, 12)));
  writeU16(b, 6, c === 0 ? 0xffff : c);
  return b;
}

const echo = (seq: number) => icmpv4({ type: 8, ident: 0x99, seq, data: [1, 2, 3, 4] });

function host() {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const t = testStack('h', [new ArpModule(), new Ipv4Module(), new Ipv4ReassemblyModule(), new Icmpv4Module(), new UdpModule()]);
  const iface = t.stack.addInterface(pair.b, { mac: MAC_H, addresses: ['192.0.2.2/24'] }, clock.now);
  const arpMod = t.stack.module<ArpModule>('arp')!;
  arpMod.addStatic(iface, P, MAC_P, clock.now);
  let seq = 100;
  const h = {
    clock,
    t,
    iface,
    arp: arpMod,
    stats: t.stack.stats,
    ip: t.stack.module<Ipv4Module>('ipv4')!,
    icmp: t.stack.module<Icmpv4Module>('icmpv4')!,
    inject(l3: Uint8Array, mac = MAC_H): void {
      pair.a.transmit(ethernet({ dst: mac, src: MAC_P, ethertype: 0x0800, payload: l3 }));
      settle(clock, [t.stack]);
    },
    arpIn(a: Parameters<typeof arp>[0] & {}): void {
      pair.a.transmit(ethernet({ dst: MAC_BROADCAST, src: a.sha ?? MAC_P, ethertype: 0x0806, payload: arp(a), pad: true }));
      settle(clock, [t.stack]);
    },
    /** Every frame the host sent since the last call (non-IPv4 frames as null). */
    out(): Array<Out | null> {
      const r: Array<Out | null> = [];
      pair.a.receive(1 << 20, (f) => void r.push(decodeOut(f.slice())));
      return r;
    },
    /** SECURITY-CASES §4: after the hostile input, a valid echo request is still answered. */
    liveness(): void {
      const s = ++seq;
      h.inject(ipv4({ src: P, dst: H, protocol: 1, payload: echo(s) }));
      const r = h.out();
      expect(r.map((o) => o && [o.dst, o.icmpType, o.icmpRest & 0xffff])).toEqual([['192.0.2.1', 0, s]]);
    },
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

describe('H03 ARP: unsolicited replies and bogus sender MACs', () => {
  it('an unsolicited reply creates no entry; broadcast/multicast sender MACs are never cached', () => {
    const h = host();
    const Q = ip('192.0.2.77');
    h.arpIn({ op: 2, sha: 0x02000000000c, spa: Q, tha: MAC_H, tpa: H });
    h.arpIn({ op: 1, sha: MAC_BROADCAST, spa: ip('192.0.2.78'), tpa: H });
    h.arpIn({ op: 1, sha: 0x01005e000001, spa: ip('192.0.2.79'), tpa: H });
    // Nor may a multicast MAC overwrite the entry of a known host.
    h.arpIn({ op: 2, sha: 0x01005e000001, spa: P, tpa: H });
    expect(h.stats.get('arp', 'unsolicited_replies')).toBe(1);
    expect(h.stats.drops('arp', 'bad_sender_mac')).toBe(3);
    expect([Q, ip('192.0.2.78'), ip('192.0.2.79')].map((a) => h.arp.lookup(h.iface, a))).toEqual([undefined, undefined, undefined]);
    expect(h.arp.lookup(h.iface, P)).toBe(MAC_P);
    expect(h.out()).toEqual([]);
    h.liveness();
    h.close();
  });
});

describe('H07 IPv4 source routes', () => {
  const lsrr = Uint8Array.from([0x83, 0x07, 0x04, 0xc0, 0xa8, 0x00, 0x01]);
  const ssrr = Uint8Array.from([0x89, 0x07, 0x04, 0xc0, 0xa8, 0x00, 0x01]);

  it('LSRR or SSRR to the host, two SSRRs in one header, and source-routed UDP to a closed port: dropped, nothing reflected', () => {
    const h = host();
    h.inject(ipv4({ src: P, dst: H, protocol: 1, options: lsrr, payload: echo(1) }));
    h.inject(ipv4({ src: P, dst: H, protocol: 1, options: ssrr, payload: echo(2) }));
    h.inject(ipv4({ src: P, dst: H, protocol: 1, options: concat(ssrr, Uint8Array.of(1), ssrr), payload: echo(3) }));
    h.inject(ipv4({ src: P, dst: H, protocol: 17, options: lsrr, payload: udp() }));
    h.inject(ipv4({ src: P, dst: H, protocol: 253, options: ssrr, payload: new Uint8Array(8) }));
    expect(h.stats.drops('ipv4', 'source_route')).toBe(4);
    // The codec rejects a repeated source route while checking the header (H06/H07).
    expect(h.stats.drops('ipv4', 'malformed_option')).toBe(1);
    expect(h.out()).toEqual([]);
    expect(h.stats.get('icmpv4', 'errors_sent')).toBe(0);
    h.liveness();
    h.close();
  });

  it('a closed-port error about a datagram with (harmless) options quotes IHL*4 + 8 bytes and carries no options itself', () => {
    const h = host();
    const rr = Uint8Array.from([0x07, 0x07, 0x04, 0, 0, 0, 0]);
    const dgram = ipv4({ src: P, dst: H, protocol: 17, options: rr, payload: udp() });
    h.inject(dgram);
    const [e] = h.out();
    expect(e).toMatchObject({ dst: '192.0.2.1', ihl: 5, icmpType: 3, icmpCode: 3 });
    expect(e!.quoted).toEqual([...dgram.subarray(0, 28 + 8)]);
    h.liveness();
    h.close();
  });
});

describe('H14 IP-in-IP with inconsistent inner lengths', () => {
  it('protocol 4 and 41 with an inner total length of 1400 in 200 bytes: never parsed, protocol unreachable quoting 28 bytes', () => {
    const h = host();
    const inner4 = concat(ipv4Header({ totalLength: 1400, protocol: 17, src: ip('10.9.9.9'), dst: ip('10.8.8.8') }), new Uint8Array(180));
    const inner6 = concat(Uint8Array.of(0x60, 0, 0, 0, 0x05, 0x78, 17, 64), new Uint8Array(192));
    for (const [proto, inner] of [[4, inner4], [41, inner6]] as const) {
      const dgram = ipv4({ src: P, dst: H, protocol: proto, payload: inner });
      h.inject(dgram);
      const r = h.out();
      expect(r.map((o) => o && [o.icmpType, o.icmpCode])).toEqual([[3, 2]]);
      expect(r[0]!.quoted).toEqual([...dgram.subarray(0, 28)]);
    }
    expect(h.stats.drops('ipv4', 'unknown_protocol')).toBe(2);
    h.liveness();
    h.close();
  });

  it('the same tunnel packet in two fragments: reassembled, then answered the same way (the inner header is still never parsed)', () => {
    const h = host();
    const inner = concat(ipv4Header({ totalLength: 1400, protocol: 6 }), new Uint8Array(180));
    h.inject(ipv4({ src: P, dst: H, protocol: 4, ident: 0x4444, mf: true, payload: inner.subarray(0, 96) }));
    h.inject(ipv4({ src: P, dst: H, protocol: 4, ident: 0x4444, fragOffset: 96, payload: inner.subarray(96) }));
    expect(h.out().map((o) => o && [o.icmpType, o.icmpCode])).toEqual([[3, 2]]);
    expect(h.stats.drops('ipv4', 'unknown_protocol')).toBe(1);
    h.liveness();
    h.close();
  });
});

describe('H15 martian sources and Land', () => {
  it('sources 255.255.255.255, 224.0.0.1, 127.0.0.1, the subnet broadcast and 0.0.0.0 (non-DHCP) are dropped without an answer', () => {
    const h = host();
    for (const src of ['255.255.255.255', '224.0.0.1', '127.0.0.1', '192.0.2.255', '0.0.0.0']) {
      h.inject(ipv4({ src: ip(src), dst: H, protocol: 1, payload: echo(1) }));
    }
    expect(h.stats.drops('ipv4', 'martian_source')).toBe(5);
    // 0.0.0.0 is a legal UDP source (a DHCP client): delivered, but never answered with an ICMP error.
    h.inject(ipv4({ src: 0, dst: H, protocol: 17, payload: udp({ src: 0 }) }));
    expect(h.stats.drops('icmpv4', 'error_suppressed_source')).toBe(1);
    expect(h.out()).toEqual([]);
    h.liveness();
    h.close();
  });

  it('Land: a SYN with source = destination = our address and port 80 = 80 from the wire is dropped (land)', () => {
    const h = host();
    h.inject(ipv4({ src: H, dst: H, protocol: 6, payload: tcp({ src: H, dst: H, srcPort: 80, dstPort: 80, flags: 0x02 }) }));
    h.inject(ipv4({ src: H, dst: H, protocol: 1, payload: echo(1) }));
    expect(h.stats.drops('ipv4', 'land')).toBe(2);
    expect(h.out()).toEqual([]);
    h.liveness();
    h.close();
  });
});

describe('H17 ICMP errors about our traffic (IPv4/ICMP core parts)', () => {
  /** An ICMP error from P about a datagram H sent to P (`quoted` = the quoted bytes). */
  const icmpError = (type: number, code: number, rest: number, quoted: Uint8Array) => ipv4({ src: P, dst: H, protocol: 1, payload: icmpv4({ type, code, rest, data: quoted }) });

  it('(a) a quoted header claiming IHL 15 with 20 bytes present is dropped (bad_quoted_header)', () => {
    const h = host();
    h.inject(icmpError(3, 3, 0, ipv4Header({ ihl: 15, protocol: 17, src: H, dst: P })));
    expect(h.stats.drops('icmpv4', 'bad_quoted_header')).toBe(1);
    expect(h.out()).toEqual([]);
    h.liveness();
    h.close();
  });

  it('(b) an error quoting a TCP segment of no connection changes nothing and answers nothing', () => {
    const h = host();
    const seg = tcp({ src: H, dst: P, srcPort: 40000, dstPort: 80, seq: 0xdeadbeef });
    h.inject(icmpError(3, 3, 0, concat(ipv4Header({ protocol: 6, src: H, dst: P }), seg.subarray(0, 8))));
    h.inject(icmpError(3, 4, 8, concat(ipv4Header({ protocol: 6, src: H, dst: P }), seg.subarray(0, 8))));
    expect(h.stats.get('icmpv4', 'errors_unclaimed')).toBe(2);
    // An error about a datagram we never sent (someone else's source) is not even considered.
    h.inject(icmpError(3, 3, 0, concat(ipv4Header({ protocol: 6, src: ip('192.0.2.50'), dst: P }), seg.subarray(0, 8))));
    expect(h.stats.drops('icmpv4', 'error_not_ours')).toBe(1);
    expect(h.out()).toEqual([]);
    expect(h.iface.mtu).toBe(1500);
    h.liveness();
    h.close();
  });

  it('(c) type 3 code 4 with next-hop MTU 8 is raised to 68 before anyone sees it; 0 stays "unknown", sane values pass', () => {
    const h = host();
    const reports: Array<Pick<Icmpv4ErrorReport, 'code' | 'mtu'>> = [];
    h.icmp.onError(253, (r) => reports.push({ code: r.code, mtu: r.mtu }));
    const q = concat(ipv4Header({ protocol: 253, src: H, dst: P }), new Uint8Array(8));
    for (const mtu of [8, 0, 67, 68, 1000]) h.inject(icmpError(3, 4, mtu, q));
    expect(reports).toEqual([
      { code: 4, mtu: 68 },
      { code: 4, mtu: 0 },
      { code: 4, mtu: 68 },
      { code: 4, mtu: 68 },
      { code: 4, mtu: 1000 },
    ]);
    expect(h.stats.get('icmpv4', 'mtu_clamped')).toBe(2);
    expect(h.iface.mtu).toBe(1500);
    expect(h.out()).toEqual([]);
    h.liveness();
    h.close();
  });
});

describe('H18 no ICMP errors about broadcasts, multicasts, fragments or errors (RFC 1122 §3.2.2)', () => {
  it('UDP to a closed port and a raw unknown protocol, sent to 255.255.255.255, the subnet broadcast, a joined group, or unicast in a broadcast frame: no error', () => {
    const h = host();
    const mdns = ip('224.0.0.251');
    h.ip.joinGroup(h.iface, mdns, h.clock.now);
    const targets: Array<[Ipv4Address, number]> = [
      [ip('255.255.255.255'), MAC_BROADCAST],
      [ip('192.0.2.255'), MAC_BROADCAST],
      [mdns, ipv4MulticastMac(mdns)],
      [H, MAC_BROADCAST],
    ];
    for (const [dst, mac] of targets) {
      h.inject(ipv4({ src: P, dst, protocol: 17, payload: udp({ dst }) }), mac);
      h.inject(ipv4({ src: P, dst, protocol: 253, payload: new Uint8Array(8) }), mac);
    }
    expect(h.stats.drops('udp', 'no_socket')).toBe(4);
    expect(h.stats.drops('ipv4', 'unknown_protocol')).toBe(4);
    expect(h.stats.drops('icmpv4', 'error_suppressed_broadcast')).toBe(8);
    expect(h.out()).toEqual([]);
    // Control: the same datagrams unicast do get their errors.
    h.inject(ipv4({ src: P, dst: H, protocol: 17, payload: udp() }));
    h.inject(ipv4({ src: P, dst: H, protocol: 253, payload: new Uint8Array(8) }));
    expect(h.out().map((o) => o && [o.icmpType, o.icmpCode])).toEqual([[3, 3], [3, 2]]);
    h.liveness();
    h.close();
  });

  it('a lone non-first fragment to a closed port gets no error, neither now nor when its reassembly expires', () => {
    const h = host();
    h.inject(ipv4({ src: P, dst: H, protocol: 17, ident: 0x2222, fragOffset: 8, payload: udp() }));
    h.inject(ipv4({ src: P, dst: H, protocol: 253, ident: 0x2223, fragOffset: 1480, payload: new Uint8Array(8) }));
    runFor(h.clock, [h.t.stack], 31_000);
    expect(h.out()).toEqual([]);
    expect(h.stats.get('icmpv4', 'errors_sent')).toBe(0);
    h.liveness();
    h.close();
  });

  function router() {
    const clock = new FakeClock();
    const p1 = createMemoryPair({ notify: 'sync' });
    const p2 = createMemoryPair({ notify: 'sync' });
    const r = testStack('r', [new ArpModule(), new Ipv4Module({ forwarding: true }), new Icmpv4Module(), new Ipv4ForwardModule()]);
    const i1 = r.stack.addInterface(p1.b, { mac: MAC_H, addresses: ['192.0.2.2/24'] }, clock.now);
    const i2 = r.stack.addInterface(p2.b, { mac: 0x02000000000e, addresses: ['198.51.100.1/24'] }, clock.now);
    const arpR = r.stack.module<ArpModule>('arp')!;
    arpR.addStatic(i1, P, MAC_P, clock.now);
    arpR.addStatic(i2, ip('198.51.100.2'), 0x02000000000f, clock.now);
    const inject = (l3: Uint8Array) => {
      p1.a.transmit(ethernet({ dst: MAC_H, src: MAC_P, ethertype: 0x0800, payload: l3 }));
      settle(clock, [r.stack]);
    };
    const out = (end: typeof p1.a) => {
      const res: Array<Out | null> = [];
      end.receive(1 << 20, (f) => void res.push(decodeOut(f.slice())));
      return res;
    };
    return { r, inject, out1: () => out(p1.a), out2: () => out(p2.a) };
  }

  it('router: TTL expiring on a non-first fragment or on an ICMP error produces no Time Exceeded; an expiring echo request does', () => {
    const h = router();
    const far = ip('198.51.100.2');
    h.inject(ipv4({ src: P, dst: far, ttl: 1, protocol: 17, ident: 7, fragOffset: 1480, payload: udp({ dst: far }) }));
    const quoted = concat(ipv4Header({ protocol: 17, src: far, dst: P }), new Uint8Array(8));
    h.inject(ipv4({ src: P, dst: far, ttl: 1, protocol: 1, payload: icmpv4({ type: 3, code: 3, data: quoted }) }));
    h.inject(ipv4({ src: P, dst: far, ttl: 1, protocol: 1, payload: icmpv4({ type: 11, code: 0, data: quoted }) }));
    expect(h.out1()).toEqual([]);
    expect(h.out2()).toEqual([]);
    expect(h.r.stack.stats.drops(IPV4_FORWARD_LAYER, 'ttl_exceeded')).toBe(3);
    expect(h.r.stack.stats.drops('icmpv4', 'error_suppressed_fragment')).toBe(1);
    expect(h.r.stack.stats.drops('icmpv4', 'error_suppressed_icmp_error')).toBe(2);
    // Control and liveness: an echo request with TTL 1 gets Time Exceeded; with TTL 64 it is forwarded.
    h.inject(ipv4({ src: P, dst: far, ttl: 1, protocol: 1, payload: echo(1) }));
    expect(h.out1().map((o) => o && [o.src, o.icmpType, o.icmpCode])).toEqual([['192.0.2.2', 11, 0]]);
    h.inject(ipv4({ src: P, dst: far, ttl: 64, protocol: 1, payload: echo(2) }));
    expect(h.out2().map((o) => o && [o.dst, o.icmpType])).toEqual([['198.51.100.2', 8]]);
    closeAndCheckLeaks(h.r);
  });
});

describe('H19/H20 deprecated and unsafe ICMP types', () => {
  it('H19: Address Mask Reply (mask 0.0.0.0), Information Request and Source Quench are ignored and counted; nothing changes', () => {
    const h = host();
    const before = JSON.stringify(h.iface.ipv4);
    h.inject(ipv4({ src: P, dst: H, protocol: 1, payload: icmpv4({ type: 18, rest: 0, data: [0, 0, 0, 0] }) }));
    h.inject(ipv4({ src: P, dst: H, protocol: 1, payload: icmpv4({ type: 17, rest: 0, data: [0, 0, 0, 0] }) }));
    h.inject(ipv4({ src: P, dst: H, protocol: 1, payload: icmpv4({ type: 15, ident: 1, seq: 1 }) }));
    const quotedUdp = concat(ipv4Header({ protocol: 17, src: H, dst: P }), new Uint8Array(8));
    h.inject(ipv4({ src: P, dst: H, protocol: 1, payload: icmpv4({ type: 4, data: quotedUdp }) }));
    expect(h.stats.drops('icmpv4', 'deprecated_type')).toBe(4);
    expect(JSON.stringify(h.iface.ipv4)).toBe(before);
    expect(h.out()).toEqual([]);
    h.liveness();
    h.close();
  });

  it('H20: a Redirect (from a stranger, or to an off-link gateway) is ignored: routes unchanged, nothing sent', () => {
    const h = host();
    h.t.stack.routes4.add({ network: 0, prefixLen: 0, gateway: P, ifIndex: h.iface.index, metric: 0, origin: 'static' });
    const routes = JSON.stringify(h.t.stack.routes4.list());
    const quoted = concat(ipv4Header({ protocol: 17, src: H, dst: ip('203.0.113.5') }), new Uint8Array(8));
    h.inject(ipv4({ src: ip('192.0.2.66'), dst: H, protocol: 1, payload: icmpv4({ type: 5, code: 1, rest: ip('192.0.2.66'), data: quoted }) }));
    h.inject(ipv4({ src: P, dst: H, protocol: 1, payload: icmpv4({ type: 5, code: 1, rest: ip('203.0.113.1'), data: quoted }) }));
    expect(h.stats.drops('icmpv4', 'redirect_ignored')).toBe(2);
    expect(JSON.stringify(h.t.stack.routes4.list())).toBe(routes);
    expect(h.out()).toEqual([]);
    h.liveness();
    h.close();
  });
});
