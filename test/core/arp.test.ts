// ARP neighbour cache (RFC 826, RFC 1122 §2.3.2) scripted on one stack: the test plays the other hosts
// on the far end of the cable. Covers the merge rule, unicast requests, SECURITY-CASES H03 and the
// cache-flooding scenario E6 with the bounds read from the configured options.
import { describe, expect, it } from 'vitest';
import { ArpModule, type ArpOptions } from '../../src/core/arp.js';
import { Icmpv4Module } from '../../src/core/icmpv4.js';
import { Ipv4Module } from '../../src/core/ipv4.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { seededRandom } from '../../src/random/chacha.js';
import { type Ipv4Address, MAC_BROADCAST, parseIpv4, readMac } from '../../src/wire/address.js';
import { ArpPacket, ArpRepr } from '../../src/wire/arp.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { arp, ethernet } from '../support/build-l3.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const ip = (s: string): Ipv4Address => parseIpv4(s)!;
const MAC_B = 0x02000000000b; // the stack under test
const MAC_P = 0x02000000000c; // a peer played by the test
const B = ip('192.0.2.2');
const P = ip('192.0.2.3');

interface Out {
  macDst: number;
  arp?: ArpRepr;
  ipv4?: { dst: Ipv4Address };
}

function host(o: { arp?: Partial<ArpOptions>; address?: string; queueFrames?: number } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync', queueFrames: o.queueFrames ?? 256, queueBytes: 64 << 20 });
  const t = testStack('arp', [new ArpModule(o.arp), new Ipv4Module(), new Icmpv4Module()]);
  const iface = t.stack.addInterface(pair.b, { mac: MAC_B, addresses: [o.address ?? '192.0.2.2/24'] }, clock.now);
  const mod = t.stack.module<ArpModule>('arp')!;
  const h = {
    clock,
    t,
    iface,
    arp: mod,
    stats: t.stack.stats,
    ip: t.stack.module<Ipv4Module>('ipv4')!,
    /** Frames the stack sent since the last call. */
    out(): Out[] {
      const r: Out[] = [];
      pair.a.receive(1 << 30, (f) => {
        const e = EthernetFrame.check(f);
        if (isWireError(e)) throw new Error('stack emitted a malformed frame');
        const o: Out = { macDst: readMac(f, 0) };
        if (e.ethertype === 0x0806) {
          const a = ArpPacket.check(f, e.payloadOffset, e.payloadLength);
          if (isWireError(a)) throw new Error('stack emitted a malformed ARP packet');
          o.arp = ArpRepr.parse(a);
        } else {
          const p = Ipv4Packet.check(f, e.payloadOffset, e.payloadLength);
          if (!isWireError(p)) o.ipv4 = { dst: p.dst };
        }
        r.push(o);
      });
      return r;
    },
    /** One ARP packet from the far end (Ethernet source = sha unless given). */
    arpIn(a: Parameters<typeof arp>[0] & {}, ethDst = MAC_BROADCAST, ethSrc = a.sha ?? MAC_P): void {
      pair.a.transmit(ethernet({ dst: ethDst, src: ethSrc, ethertype: 0x0806, payload: arp(a), pad: true }));
      settle(clock, [t.stack]);
    },
    /** Injects many ARP packets, polling whenever the receive queue is half full. */
    flood(n: number, make: (i: number) => Parameters<typeof arp>[0] & {}): void {
      for (let i = 0; i < n; i++) {
        const a = make(i);
        if (!pair.a.transmit(ethernet({ dst: MAC_BROADCAST, src: a.sha ?? MAC_P, ethertype: 0x0806, payload: arp(a), pad: true }))) throw new Error('queue full');
        if (i % 100 === 99) {
          settle(clock, [t.stack]);
          h.out();
        }
      }
      settle(clock, [t.stack]);
    },
    /** Sends a small datagram of an unregistered protocol to `dst` (exercises resolution). */
    sendTo(dst: Ipv4Address) {
      return h.ip.send({ dst, protocol: 253 }, 8, () => {}, clock.now);
    },
    run: (ms: number) => runFor(clock, [t.stack], ms),
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

describe('ARP replies and the RFC 826 merge rule', () => {
  it('request_unicast_RFC826: a unicast request (Linux re-validating its entry) is answered by unicast and the requester is learnt', () => {
    const h = host();
    h.arpIn({ op: 1, sha: MAC_P, spa: P, tpa: B }, MAC_B);
    const r = h.out();
    expect(r).toEqual([{ macDst: MAC_P, arp: { operation: 2, senderMac: MAC_B, senderIp: B, targetMac: MAC_P, targetIp: P } }]);
    expect(h.arp.lookup(h.iface, P)).toBe(MAC_P);
    // A request for someone else is not answered and teaches nothing.
    h.arpIn({ op: 1, sha: 0x02000000000d, spa: ip('192.0.2.4'), tpa: ip('192.0.2.99') });
    expect(h.out()).toEqual([]);
    expect(h.arp.lookup(h.iface, ip('192.0.2.4'))).toBeUndefined();
    h.close();
  });

  it('resolution_RFC826: a pending entry is completed by the reply, the queued packets leave, and a gratuitous ARP refreshes (moves) it', () => {
    const h = host();
    h.sendTo(P);
    h.sendTo(P);
    expect(h.out()).toEqual([{ macDst: MAC_BROADCAST, arp: { operation: 1, senderMac: MAC_B, senderIp: B, targetMac: 0, targetIp: P } }]);
    h.arpIn({ op: 2, sha: MAC_P, spa: P, tha: MAC_B, tpa: B }, MAC_B);
    expect(h.out()).toEqual([{ macDst: MAC_P, ipv4: { dst: P } }, { macDst: MAC_P, ipv4: { dst: P } }]);
    // RFC 826 merge: a gratuitous ARP for a known address updates it, whatever its target.
    const moved = 0x02000000000e;
    h.arpIn({ op: 1, sha: moved, spa: P, tpa: P });
    expect(h.arp.lookup(h.iface, P)).toBe(moved);
    expect(h.out()).toEqual([]);
    h.close();
  });

  it('pending_timeout_RFC1122_2.3.2.2: at most maxPending packets wait; after maxRequests unanswered requests they are freed', () => {
    const h = host();
    const { maxPending, maxRequests, retransmitInterval } = h.arp.options;
    for (let i = 0; i < maxPending + 2; i++) h.sendTo(P);
    expect(h.stats.drops('arp', 'pending_queue_full')).toBe(2);
    h.run((maxRequests * retransmitInterval) / 1000 + 100);
    expect(h.out().filter((f) => f.arp).length).toBe(maxRequests);
    expect(h.stats.drops('arp', 'unresolved')).toBe(maxPending);
    expect(h.arp.size).toBe(0);
    h.close();
  });
});

describe('hostile ARP (SECURITY-CASES H03)', () => {
  it('H03_unsolicited_reply: a reply nobody asked for creates no entry, even when addressed to us', () => {
    const h = host();
    h.arpIn({ op: 2, sha: MAC_P, spa: P, tha: MAC_B, tpa: B }, MAC_B);
    h.arpIn({ op: 2, sha: MAC_P, spa: ip('192.0.2.50'), tpa: ip('192.0.2.51') });
    expect(h.arp.size).toBe(0);
    expect(h.stats.get('arp', 'unsolicited_replies')).toBe(2);
    expect(h.out()).toEqual([]);
    // A later resolution still works (the reply is not remembered either).
    h.sendTo(P);
    expect(h.out().map((f) => f.arp?.operation)).toEqual([1]);
    h.close();
  });

  it('H03_bad_sender_mac: broadcast, multicast and zero sender MACs are never cached or answered, whatever the packet', () => {
    const h = host();
    h.sendTo(P); // a pending entry an attacker would like to complete
    h.out();
    for (const sha of [MAC_BROADCAST, 0x01005e000001, 0x333300000001, 0]) {
      h.arpIn({ op: 1, sha, spa: ip('192.0.2.60'), tpa: B }, MAC_B, MAC_P);
      h.arpIn({ op: 2, sha, spa: P, tha: MAC_B, tpa: B }, MAC_B, MAC_P);
    }
    expect(h.stats.drops('arp', 'bad_sender_mac')).toBe(8);
    expect(h.arp.lookup(h.iface, P)).toBeUndefined();
    expect(h.arp.lookup(h.iface, ip('192.0.2.60'))).toBeUndefined();
    expect(h.out()).toEqual([]);
    h.close();
  });

  it('H03_bad_sender_ip: requests from 0.0.0.0 (a probe), broadcast or multicast sender IPs are answered at most, never cached', () => {
    const h = host();
    h.arpIn({ op: 1, sha: MAC_P, spa: 0, tpa: B });
    // RFC 5227 §2.1.1: answering the probe tells the prober the address is taken.
    expect(h.out()).toEqual([{ macDst: MAC_P, arp: { operation: 2, senderMac: MAC_B, senderIp: B, targetMac: MAC_P, targetIp: 0 } }]);
    h.arpIn({ op: 1, sha: MAC_P, spa: ip('192.0.2.255'), tpa: B });
    h.arpIn({ op: 1, sha: MAC_P, spa: ip('255.255.255.255'), tpa: B });
    h.arpIn({ op: 1, sha: MAC_P, spa: ip('224.0.0.1'), tpa: B });
    expect(h.stats.drops('arp', 'bad_sender_ip')).toBe(3);
    expect(h.arp.size).toBe(0);
    h.out();
    h.close();
  });
});

describe('ARP cache flooding (SECURITY-CASES E6)', () => {
  it('E6_flood: 100,000 unsolicited replies, gratuitous ARPs and requests from random senders keep the cache within maxEntries', () => {
    const h = host({ address: '10.0.0.2/8' });
    h.t.pool.enabled = false; // no acquisition stacks for 35,000 replies (the in-use count is still checked)
    const cap = h.arp.options.maxEntries;
    const rnd = seededRandom('e6');
    const randomIp = () => (0x0a000000 | (rnd.u32() & 0x00ffffff)) >>> 0;
    const randomMac = () => 0x020000000000 + rnd.u32();
    // Phase 1: unsolicited replies, half of them addressed to us: nothing is created.
    h.flood(30_000, (i) => ({ op: 2, sha: randomMac(), spa: randomIp(), tha: MAC_B, tpa: i % 2 ? ip('10.0.0.2') : randomIp() }));
    expect(h.arp.size).toBe(0);
    expect(h.stats.get('arp', 'unsolicited_replies')).toBe(30_000);
    // Phase 2: gratuitous announcements (not for us: nothing created) and requests to us (learnt, LRU).
    h.flood(70_000, (i) => {
      const spa = randomIp();
      return i % 2 ? { op: 1, sha: randomMac(), spa, tpa: spa } : { op: 1, sha: randomMac(), spa, tpa: ip('10.0.0.2') };
    });
    expect(h.arp.size).toBeLessThanOrEqual(cap);
    expect(h.arp.size).toBe(cap);
    // Every new sender beyond the cap evicted the least recently used entry (random IPs may repeat).
    expect(h.stats.get('arp', 'evicted')).toBeGreaterThan(35_000 - cap - 50);
    expect(h.stats.get('arp', 'replies_sent')).toBe(35_000);
    h.close();
  });

  it('E6_scan: sending to 65,536 addresses of a /16 at once: cache <= maxEntries, <= 1 request/s per target, <= maxPending queued, all time out', () => {
    const h = host({ address: '10.1.0.1/16', queueFrames: 1 << 20 });
    h.t.pool.enabled = false; // no acquisition stacks for 65,000 sends (the in-use count is still checked)
    const { maxEntries, maxPending, maxRequests, retransmitInterval } = h.arp.options;
    const perTarget = new Map<Ipv4Address, number[]>();
    const collect = () => {
      for (const f of h.out()) {
        if (!f.arp) continue;
        const list = perTarget.get(f.arp.targetIp) ?? [];
        list.push(h.clock.now);
        perTarget.set(f.arp.targetIp, list);
      }
    };
    for (let i = 0; i < 65_536; i++) {
      const dst = (0x0a010000 | i) >>> 0;
      if (dst === ip('10.1.0.1')) continue;
      h.sendTo(dst);
      if (i < 8) for (let k = 0; k < maxPending + 2; k++) h.sendTo(dst); // a few targets get a burst
    }
    collect();
    // 65,536 minus our own address and the subnet broadcast (sent to ff:ff:ff:ff:ff:ff) need ARP.
    expect(h.arp.size).toBe(maxEntries);
    expect(h.stats.drops('arp', 'cache_full')).toBe(65_534 - maxEntries);
    const bursts = 7; // targets 10.1.0.0 and .2-.7 (.1 is ours)
    expect(h.stats.drops('arp', 'pending_queue_full')).toBe(bursts * 3);
    for (let ms = 0; ms < 5000; ms += 100) {
      h.run(100);
      collect();
    }
    expect(perTarget.size).toBe(maxEntries);
    for (const times of perTarget.values()) {
      expect(times.length).toBe(maxRequests);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(retransmitInterval);
    }
    expect(h.stats.drops('arp', 'unresolved')).toBe(maxEntries + bursts * (maxPending - 1));
    expect(h.stats.get('arp', 'resolution_failed')).toBe(maxEntries);
    expect(h.arp.size).toBe(0);
    expect(h.t.pool.inUse).toBe(0);
    h.close();
  });
});
