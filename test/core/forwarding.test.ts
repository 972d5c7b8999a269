// IPv4 forwarding (router mode, RFC 1812): frame-in/frame-out scripts through a router whose two
// links the test drives, and an end-to-end A —pair— R —pair— B topology with routes via R.
import { describe, expect, it } from 'vitest';
import { ArpModule } from '../../src/core/arp.js';
import { Icmpv4Module, type Icmpv4ErrorReport } from '../../src/core/icmpv4.js';
import { IPV4_FORWARD_LAYER, Ipv4ForwardModule, ipv4ChecksumAdjust } from '../../src/core/ipv4-forward.js';
import { Ipv4ReassemblyModule } from '../../src/core/ipv4-reassembly.js';
import { Ipv4Module } from '../../src/core/ipv4.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { tsChecksum } from '../../src/checksum/index.js';
import { seededRandom } from '../../src/random/chacha.js';
import { type Ipv4Address, MAC_BROADCAST, parseIpv4, readMac } from '../../src/wire/address.js';
import { readU16 } from '../../src/wire/bytes.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Icmpv4Packet } from '../../src/wire/icmpv4.js';
import { Ipv4Packet, Ipv4Repr, parseIpv4Options } from '../../src/wire/ipv4.js';
import { concat, ethernet, ipv4 } from '../support/build-l3.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const ip = (s: string): Ipv4Address => parseIpv4(s)!;
const A = ip('10.0.1.2');
const R1 = ip('10.0.1.1');
const R2 = ip('10.0.2.1');
const B = ip('10.0.2.2');
const MAC_A = 0x0200000000a0;
const MAC_B = 0x0200000000b0;
const MAC_R1 = 0x0200000000e1;
const MAC_R2 = 0x0200000000e2;

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

interface Out {
  macDst: number;
  p: Ipv4Packet;
}

/** A router between two links driven by the test: A's side (link 1) and B's side (link 2), static ARP. */
function router(o: { mtu2?: number; defaultRoute?: boolean } = {}) {
  const clock = new FakeClock();
  const p1 = createMemoryPair({ notify: 'sync' });
  const p2 = createMemoryPair({ notify: 'sync' });
  const r = testStack('r', [new ArpModule(), new Ipv4Module({ forwarding: true }), new Icmpv4Module(), new Ipv4ForwardModule()]);
  const i1 = r.stack.addInterface(p1.b, { mac: MAC_R1, addresses: ['10.0.1.1/24'] }, clock.now);
  const i2 = r.stack.addInterface(p2.b, { mac: MAC_R2, addresses: ['10.0.2.1/24'], ...(o.mtu2 ? { mtu: o.mtu2 } : {}) }, clock.now);
  const arpR = r.stack.module<ArpModule>('arp')!;
  arpR.addStatic(i1, A, MAC_A, clock.now);
  arpR.addStatic(i2, B, MAC_B, clock.now);
  if (o.defaultRoute) r.stack.routes4.add({ network: 0, prefixLen: 0, gateway: B, ifIndex: i2.index, metric: 0, origin: 'static' });
  const drain = (end: typeof p1.a): Out[] => {
    const res: Out[] = [];
    end.receive(1 << 20, (f) => {
      const copy = f.slice();
      const e = EthernetFrame.check(copy);
      if (isWireError(e) || e.ethertype !== 0x0800) return;
      const p = Ipv4Packet.check(copy, e.payloadOffset, e.payloadLength);
      if (isWireError(p)) throw new Error('router emitted a malformed IPv4 packet');
      expect(p.verifyChecksum(tsChecksum)).toBe(true);
      res.push({ macDst: readMac(copy, 0), p });
    });
    return res;
  };
  return {
    clock,
    r,
    i1,
    i2,
    stats: r.stack.stats,
    /** An IPv4 datagram from A's side (to R's MAC unless told otherwise). */
    inject(l3: Uint8Array, macDst = MAC_R1): void {
      p1.a.transmit(ethernet({ dst: macDst, src: MAC_A, ethertype: 0x0800, payload: l3 }));
      settle(clock, [r.stack]);
    },
    out1: () => drain(p1.a),
    out2: () => drain(p2.a),
    fwdDrops: (reason: string) => r.stack.stats.drops(IPV4_FORWARD_LAYER, reason),
    close: () => closeAndCheckLeaks(r),
  };
}

describe('RFC 1624 incremental checksum update', () => {
  it('ipv4ChecksumAdjust_RFC1624_eqn3: equals a full recomputation after a TTL decrement, for 10,000 random headers', () => {
    const rnd = seededRandom('1624');
    const buf = new Uint8Array(20);
    for (let i = 0; i < 10_000; i++) {
      const repr: Ipv4Repr = {
        src: rnd.u32(),
        dst: rnd.u32(),
        protocol: rnd.below(256),
        ttl: 1 + rnd.below(255),
        dscp: rnd.below(64),
        ecn: rnd.below(4),
        ident: rnd.below(0x10000),
        dontFrag: rnd.below(2) === 1,
        moreFrags: false,
        fragOffset: 0,
        payloadLen: rnd.below(1000),
      };
      Ipv4Repr.emit(repr, buf, 0, tsChecksum);
      const oldWord = readU16(buf, 8);
      buf[8] = repr.ttl - 1;
      const adjusted = ipv4ChecksumAdjust(readU16(buf, 10), oldWord, readU16(buf, 8));
      const p = Ipv4Packet.unchecked(buf, 0, 20);
      p.fillChecksum(tsChecksum);
      expect(adjusted).toBe(p.checksum);
    }
  });
});

describe('forwarding decisions, frame in / frame out (RFC 1812 §5.2–5.3)', () => {
  it('forward_RFC1812_5.3.1: a datagram for B leaves on link 2 to B\'s MAC with TTL - 1 and everything else unchanged', () => {
    const h = router();
    const l3 = ipv4({ src: A, dst: B, ttl: 64, protocol: 253, ident: 0x5151, payload: pattern(100) });
    h.inject(l3);
    const [f, ...rest] = h.out2();
    expect(rest).toEqual([]);
    expect(f!.macDst).toBe(MAC_B);
    expect(f!.p.ttl).toBe(63);
    const bytes = f!.p.buf.subarray(f!.p.off, f!.p.off + f!.p.len);
    const expected = ipv4({ src: A, dst: B, ttl: 63, protocol: 253, ident: 0x5151, payload: pattern(100) });
    expect([...bytes]).toEqual([...expected]);
    expect(h.out1()).toEqual([]);
    expect(h.stats.get(IPV4_FORWARD_LAYER, 'forwarded')).toBe(1);
    h.close();
  });

  it('ttl_exceeded_RFC1812_5.3.1: TTL 1 and TTL 0 are not forwarded; Time Exceeded code 0 goes back from the ingress address quoting IHL+8 bytes', () => {
    const h = router();
    for (const ttl of [1, 0]) {
      h.inject(ipv4({ src: A, dst: B, ttl, protocol: 253, payload: pattern(40) }));
      expect(h.out2()).toEqual([]);
      const [e] = h.out1();
      expect(e!.macDst).toBe(MAC_A);
      expect([e!.p.src, e!.p.dst, e!.p.protocol]).toEqual([R1, A, 1]);
      const icmp = Icmpv4Packet.check(e!.p.buf, e!.p.payloadOffset, e!.p.payloadLength) as Icmpv4Packet;
      expect([icmp.type, icmp.code, icmp.dataLength]).toEqual([11, 0, 28]);
      const q = icmp.quoted();
      expect(!isWireError(q) && [q.src, q.dst, q.ttl]).toEqual([A, B, ttl]);
    }
    expect(h.fwdDrops('ttl_exceeded')).toBe(2);
    h.close();
  });

  it('frag_needed_RFC1191: DF set and larger than the egress MTU: dropped, Destination Unreachable code 4 carries the next-hop MTU', () => {
    const h = router({ mtu2: 576 });
    h.inject(ipv4({ src: A, dst: B, df: true, protocol: 253, payload: pattern(1000) }));
    expect(h.out2()).toEqual([]);
    const [e] = h.out1();
    const icmp = Icmpv4Packet.check(e!.p.buf, e!.p.payloadOffset, e!.p.payloadLength) as Icmpv4Packet;
    expect([icmp.type, icmp.code, icmp.nextHopMtu]).toEqual([3, 4, 576]);
    expect(h.fwdDrops('fragmentation_needed')).toBe(1);
    h.close();
  });

  it('fragment_RFC791_3.2: split to the egress MTU in multiples of 8; only copied options repeat; the pieces rebuild the payload', () => {
    const h = router({ mtu2: 576 });
    // Record Route (not copied) + Router Alert (copied): 11 bytes, padded to 12 (IHL 8).
    const rr = [0x07, 0x07, 0x04, 0, 0, 0, 0];
    const ra = [0x94, 0x04, 0x00, 0x00];
    const payload = pattern(1200);
    h.inject(ipv4({ src: A, dst: B, ttl: 9, protocol: 253, ident: 0x7777, options: Uint8Array.from([...rr, ...ra]), payload }));
    const frags = h.out2();
    expect(frags.map((f) => [f.p.headerLen, f.p.payloadLength, f.p.fragOffset, f.p.moreFrags])).toEqual([
      [32, 544, 0, true],
      [24, 552, 544, true],
      [24, 104, 1096, false],
    ]);
    for (const [i, f] of frags.entries()) {
      expect([f.p.ttl, f.p.ident, f.p.protocol, f.p.dontFrag]).toEqual([8, 0x7777, 253, false]);
      const opts = parseIpv4Options(f.p.buf, f.p.off, f.p.headerLen);
      expect(!isWireError(opts) && [opts.recordRoute, opts.routerAlert]).toEqual([i === 0, true]);
    }
    expect([...concat(...frags.map((f) => f.p.payload()))]).toEqual([...payload]);
    expect(h.stats.get(IPV4_FORWARD_LAYER, 'fragments_created')).toBe(3);
    h.close();
  });

  it('refragment_RFC791_3.2: a fragment (offset 800, MF set) is split keeping its offset base and MF on every piece', () => {
    const h = router({ mtu2: 576 });
    h.inject(ipv4({ src: A, dst: B, protocol: 253, mf: true, fragOffset: 800, payload: pattern(1000) }));
    expect(h.out2().map((f) => [f.p.fragOffset, f.p.payloadLength, f.p.moreFrags])).toEqual([
      [800, 552, true],
      [1352, 448, true],
    ]);
    h.close();
  });

  it('not_forwarded_RFC1812_5.3.4_5.3.7: link broadcasts, martians, link-local, directed broadcasts, multicast and our own source stay put', () => {
    const h = router();
    const cases: Array<[string, Uint8Array, number?]> = [
      ['link_broadcast', ipv4({ src: A, dst: B, protocol: 253 }), MAC_BROADCAST],
      ['martian_destination', ipv4({ src: A, dst: ip('0.1.2.3'), protocol: 253 })],
      ['martian_destination', ipv4({ src: A, dst: ip('240.0.0.1'), protocol: 253 })],
      ['martian_source', ipv4({ src: ip('0.1.2.3'), dst: B, protocol: 253 })],
      ['martian_source', ipv4({ src: R2, dst: B, protocol: 253 })],
      ['link_local', ipv4({ src: ip('169.254.3.4'), dst: B, protocol: 253 })],
      ['link_local', ipv4({ src: A, dst: ip('169.254.3.4'), protocol: 253 })],
      ['directed_broadcast', ipv4({ src: A, dst: ip('10.0.2.255'), protocol: 253 })],
    ];
    for (const [, l3, mac] of cases) h.inject(l3, mac);
    for (const reason of new Set(cases.map((c) => c[0]))) expect(h.fwdDrops(reason)).toBe(cases.filter((c) => c[0] === reason).length);
    // Decided by the IPv4 input before forwarding: limited broadcast (local), multicast, source routes, loopback.
    h.inject(ipv4({ src: A, dst: ip('255.255.255.255'), protocol: 253 }), MAC_BROADCAST);
    h.inject(ipv4({ src: A, dst: ip('239.1.1.1'), protocol: 253 }), 0x01005e010101);
    h.inject(ipv4({ src: A, dst: B, protocol: 253, options: Uint8Array.from([0x83, 7, 4, 10, 0, 2, 2]) }));
    h.inject(ipv4({ src: A, dst: ip('127.0.0.1'), protocol: 253 }));
    expect(h.stats.drops('ipv4', 'source_route')).toBe(1);
    expect(h.stats.drops('ipv4', 'martian_source')).toBe(1);
    expect(h.stats.get(IPV4_FORWARD_LAYER, 'rx')).toBe(cases.length);
    expect(h.out2()).toEqual([]);
    expect(h.out1()).toEqual([]); // and no ICMP error about any of them
    expect(h.stats.get(IPV4_FORWARD_LAYER, 'forwarded')).toBe(0);
    // Liveness: an ordinary datagram still goes through.
    h.inject(ipv4({ src: A, dst: B, protocol: 253 }));
    expect(h.out2().length).toBe(1);
    h.close();
  });

  it('no_route_RFC1812_5.2.7.1: a destination without a route gets Destination Unreachable (net); with a default route it is forwarded to the gateway', () => {
    const h = router();
    h.inject(ipv4({ src: A, dst: ip('203.0.113.9'), protocol: 253 }));
    const [e] = h.out1();
    const icmp = Icmpv4Packet.check(e!.p.buf, e!.p.payloadOffset, e!.p.payloadLength) as Icmpv4Packet;
    expect([icmp.type, icmp.code]).toEqual([3, 0]);
    expect(h.fwdDrops('no_route')).toBe(1);
    h.r.stack.routes4.add({ network: 0, prefixLen: 0, gateway: B, ifIndex: h.i2.index, metric: 0, origin: 'static' });
    h.inject(ipv4({ src: A, dst: ip('203.0.113.9'), protocol: 253 }));
    const [f] = h.out2();
    expect([f!.macDst, f!.p.dst]).toEqual([MAC_B, ip('203.0.113.9')]);
    h.close();
  });

  it('module_requires_forwarding: installing ipv4-forward on a host without forwarding is a configuration error', () => {
    expect(() => testStack('h', [new Ipv4Module(), new Ipv4ForwardModule()])).toThrow(/forwarding/);
  });
});

describe('three stacks: A —pair— R —pair— B with routes via R', () => {
  function topology(o: { mtuB?: number } = {}) {
    const clock = new FakeClock();
    const pa = createMemoryPair({ notify: 'sync' });
    const pb = createMemoryPair({ notify: 'sync' });
    const host = (name: string) => testStack(name, [new ArpModule(), new Ipv4Module(), new Icmpv4Module(), new Ipv4ReassemblyModule()]);
    const a = host('a');
    const b = host('b');
    const r = testStack('r', [new ArpModule(), new Ipv4Module({ forwarding: true }), new Icmpv4Module(), new Ipv4ForwardModule()]);
    const ia = a.stack.addInterface(pa.a, { mac: MAC_A, addresses: ['10.0.1.2/24'] }, clock.now);
    r.stack.addInterface(pa.b, { mac: MAC_R1, addresses: ['10.0.1.1/24'] }, clock.now);
    r.stack.addInterface(pb.a, { mac: MAC_R2, addresses: ['10.0.2.1/24'], ...(o.mtuB ? { mtu: o.mtuB } : {}) }, clock.now);
    const ib = b.stack.addInterface(pb.b, { mac: MAC_B, addresses: ['10.0.2.2/24'], ...(o.mtuB ? { mtu: o.mtuB } : {}) }, clock.now);
    a.stack.routes4.add({ network: 0, prefixLen: 0, gateway: R1, ifIndex: ia.index, metric: 0, origin: 'static' });
    b.stack.routes4.add({ network: 0, prefixLen: 0, gateway: R2, ifIndex: ib.index, metric: 0, origin: 'static' });
    const stacks = [a.stack, r.stack, b.stack];
    return { clock, a, b, r, stacks, icmpA: a.stack.module<Icmpv4Module>('icmpv4')!, ipA: a.stack.module<Ipv4Module>('ipv4')! };
  }

  it('ping_through_router: A pings B via R (ARP on both links), each direction loses one TTL', () => {
    const t = topology();
    const replies: Array<[number, number, number]> = [];
    t.icmpA.onEchoReply(3, (from, _id, seq, _d, _now, ttl) => replies.push([from, seq, ttl]));
    t.icmpA.sendEchoRequest(B, 3, 1, pattern(56), t.clock.now);
    runFor(t.clock, t.stacks, 100);
    expect(replies).toEqual([[B, 1, 63]]);
    expect(t.r.stack.stats.get(IPV4_FORWARD_LAYER, 'forwarded')).toBe(2);
    closeAndCheckLeaks(t.a, t.r, t.b);
  });

  it('traceroute_RFC1812_5.3.1: TTL 1 expires at R (Time Exceeded from 10.0.1.1), TTL 2 reaches B (protocol unreachable from B)', () => {
    const t = topology();
    const errors: Array<Pick<Icmpv4ErrorReport, 'type' | 'code' | 'from'>> = [];
    t.icmpA.onError(253, (e) => errors.push({ type: e.type, code: e.code, from: e.from }));
    t.ipA.send({ dst: B, protocol: 253, ttl: 1 }, 8, () => {}, t.clock.now);
    runFor(t.clock, t.stacks, 100);
    t.ipA.send({ dst: B, protocol: 253, ttl: 2 }, 8, () => {}, t.clock.now);
    runFor(t.clock, t.stacks, 100);
    expect(errors).toEqual([
      { type: 11, code: 0, from: R1 },
      { type: 3, code: 2, from: B },
    ]);
    closeAndCheckLeaks(t.a, t.r, t.b);
  });

  it('fragment_end_to_end: a 3000-byte ping crosses R onto a 576-byte MTU link, is refragmented, reassembled by B and answered', () => {
    const t = topology({ mtuB: 576 });
    const replies: number[] = [];
    t.icmpA.onEchoReply(4, (_f, _i, seq, data) => {
      expect([...data]).toEqual([...pattern(seq === 7 ? 3000 : 8)]);
      replies.push(seq);
    });
    // A small ping first: ARP holds only maxPending packets per unresolved address, fewer than the fragments.
    t.icmpA.sendEchoRequest(B, 4, 6, pattern(8), t.clock.now);
    runFor(t.clock, t.stacks, 100);
    t.icmpA.sendEchoRequest(B, 4, 7, pattern(3000), t.clock.now);
    runFor(t.clock, t.stacks, 200);
    expect(replies).toEqual([6, 7]);
    expect(t.r.stack.stats.get(IPV4_FORWARD_LAYER, 'fragments_created')).toBeGreaterThan(3);
    closeAndCheckLeaks(t.a, t.r, t.b);
  });
});
