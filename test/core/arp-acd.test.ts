// IPv4 Address Conflict Detection (RFC 5227) scripted on one stack: announcements when an address is
// assigned, probing before a configured address is used, defence and retreat. The test plays the
// other hosts on the cable with a fake clock.
import { describe, expect, it } from 'vitest';
import { type AddressConflict, ArpModule, type ArpOptions } from '../../src/core/arp.js';
import { Icmpv4Module } from '../../src/core/icmpv4.js';
import { Ipv4Module } from '../../src/core/ipv4.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { Duration, Instant } from '../../src/time/instant.js';
import { type Ipv4Address, MAC_BROADCAST, formatIpv4, parseIpv4, readMac } from '../../src/wire/address.js';
import { ArpPacket, ArpRepr } from '../../src/wire/arp.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { arp, ethernet } from '../support/build-l3.js';
import { FakeClock, closeAndCheckLeaks, settle, testStack } from '../support/stack-harness.js';

const ip = (s: string): Ipv4Address => parseIpv4(s)!;
const MAC_B = 0x02000000000b;
const MAC_X = 0x02000000000c; // the other claimant
const B = ip('192.0.2.2');
const B2 = ip('192.0.2.20');

interface Sent {
  /** Microseconds since the host was created. */
  at: number;
  macDst: number;
  arp: ArpRepr;
}

function host(o: { arp?: Partial<ArpOptions>; addresses?: string[] } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const t = testStack('acd', [new ArpModule(o.arp), new Ipv4Module(), new Icmpv4Module()]);
  const iface = t.stack.addInterface(pair.b, { mac: MAC_B, addresses: o.addresses ?? ['192.0.2.2/24'] }, clock.now);
  const mod = t.stack.module<ArpModule>('arp')!;
  const conflicts: Array<Omit<AddressConflict, 'iface'>> = [];
  mod.onConflict((c) => conflicts.push({ address: c.address, mac: c.mac, action: c.action }));
  const start = clock.now;
  const log: Sent[] = [];
  const collect = () => {
    pair.a.receive(1 << 20, (f) => {
      const e = EthernetFrame.check(f);
      if (isWireError(e) || e.ethertype !== 0x0806) return;
      const a = ArpPacket.check(f, e.payloadOffset, e.payloadLength);
      if (isWireError(a)) throw new Error('malformed ARP emitted');
      log.push({ at: clock.now - start, macDst: readMac(f, 0), arp: ArpRepr.parse(a) });
    });
  };
  const h = {
    clock,
    t,
    iface,
    pair,
    arp: mod,
    conflicts,
    stats: t.stack.stats,
    /** ARP frames sent so far (ms since start), taking them off the log. */
    out(): Sent[] {
      collect();
      return log.splice(0);
    },
    arpIn(a: Parameters<typeof arp>[0] & {}, ethDst = MAC_BROADCAST): void {
      pair.a.transmit(ethernet({ dst: ethDst, src: a.sha ?? MAC_X, ethertype: 0x0806, payload: arp(a), pad: true }));
      settle(clock, [t.stack]);
    },
    /** Advances from deadline to deadline, so every frame is stamped with the time it was sent. */
    run(ms: number): void {
      const end = Instant.add(clock.now, Duration.millis(ms));
      settle(clock, [t.stack]);
      collect();
      for (;;) {
        const next = t.stack.pollAt(clock.now);
        if (next > end) break;
        clock.now = next;
        settle(clock, [t.stack]);
        collect();
      }
      clock.now = end;
      settle(clock, [t.stack]);
      collect();
    },
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

const announcement = (a: Ipv4Address, mac = MAC_B): ArpRepr => ({ operation: 1, senderMac: mac, senderIp: a, targetMac: 0, targetIp: a });
const probeFor = (a: Ipv4Address): ArpRepr => ({ operation: 1, senderMac: MAC_B, senderIp: 0, targetMac: 0, targetIp: a });

describe('gratuitous ARP announcements (RFC 5227 §2.3)', () => {
  it('announce_on_add: an address added at run time is announced twice, ANNOUNCE_INTERVAL apart, and gets its connected route', () => {
    const h = host();
    settle(h.clock, [h.t.stack]);
    expect(h.out()).toEqual([]); // addresses configured with the interface are used silently
    expect(h.t.stack.addIpv4Address(h.iface, { family: 4, address: ip('198.51.100.7'), prefixLen: 24 }, h.clock.now)).toBe(true);
    expect(h.t.stack.routes4.lookup(ip('198.51.100.99'))?.ifIndex).toBe(h.iface.index);
    h.run(5000);
    expect(h.out()).toEqual([
      { at: 0, macDst: MAC_BROADCAST, arp: announcement(ip('198.51.100.7')) },
      { at: 2_000_000, macDst: MAC_BROADCAST, arp: announcement(ip('198.51.100.7')) },
    ]);
    expect(h.t.stack.addIpv4Address(h.iface, { family: 4, address: ip('198.51.100.7'), prefixLen: 24 }, h.clock.now)).toBe(false);
    expect(h.t.stack.removeIpv4Address(h.iface, ip('198.51.100.7'), h.clock.now)).toBe(true);
    expect(h.t.stack.routes4.lookup(ip('198.51.100.99'))).toBeUndefined();
    expect(h.iface.hasIpv4(ip('198.51.100.7'))).toBe(false);
    h.close();
  });

  it('announce_on_link_up: every address is announced again when the link comes back', () => {
    const h = host({ addresses: ['192.0.2.2/24', '192.0.2.20/24'] });
    h.pair.setUp(false);
    h.run(1000);
    h.pair.setUp(true);
    h.run(3000);
    const sent = h.out();
    expect(sent.map((s) => [s.at, formatIpv4(s.arp.senderIp)])).toEqual([
      [1_000_000, '192.0.2.2'],
      [1_000_000, '192.0.2.20'],
      [3_000_000, '192.0.2.2'],
      [3_000_000, '192.0.2.20'],
    ]);
    expect(sent.every((s) => s.arp.senderIp === s.arp.targetIp && s.macDst === MAC_BROADCAST)).toBe(true);
    h.close();
  });
});

describe('probing before use (RFC 5227 §2.1)', () => {
  it('probe_RFC5227_2.1.1: a configured address stays unused through PROBE_NUM probes from 0.0.0.0, then ANNOUNCE_WAIT, then is assigned and announced', () => {
    const h = host({ arp: { conflictDetection: true } });
    expect(h.iface.hasIpv4(B)).toBe(false);
    expect(h.arp.isProbing(h.iface, B)).toBe(true);
    // Nobody is answered for a tentative address.
    h.arpIn({ op: 1, sha: MAC_X, spa: ip('192.0.2.9'), tpa: B });
    expect(h.out()).toEqual([]);
    h.run(10_000);
    const sent = h.out();
    const probes = sent.filter((s) => s.arp.senderIp === 0);
    expect(probes.map((s) => s.arp)).toEqual([probeFor(B), probeFor(B), probeFor(B)]);
    expect(probes.every((s) => s.macDst === MAC_BROADCAST)).toBe(true);
    const t = h.arp.options.acd;
    expect(probes[0]!.at).toBeLessThanOrEqual(t.probeWait);
    for (let i = 1; i < probes.length; i++) {
      const gap = probes[i]!.at - probes[i - 1]!.at;
      expect(gap).toBeGreaterThanOrEqual(t.probeMin);
      expect(gap).toBeLessThanOrEqual(t.probeMax);
    }
    const announced = sent.filter((s) => s.arp.senderIp === B);
    expect(announced.map((s) => s.arp)).toEqual([announcement(B), announcement(B)]);
    // Assigned exactly ANNOUNCE_WAIT after the last probe, announced at once and ANNOUNCE_INTERVAL later.
    expect(announced[0]!.at - probes[2]!.at).toBe(t.announceWait);
    expect(announced[1]!.at - announced[0]!.at).toBe(t.announceInterval);
    expect(h.iface.hasIpv4(B)).toBe(true);
    expect(h.t.stack.routes4.lookup(ip('192.0.2.77'))?.ifIndex).toBe(h.iface.index);
    expect(h.stats.get('arp', 'probes_succeeded')).toBe(1);
    h.close();
  });

  it('probe_conflict_reply: a reply from the owner fails the probe; the address is never assigned and the listener hears of it', () => {
    const h = host({ arp: { conflictDetection: true } });
    h.run(1500);
    h.arpIn({ op: 2, sha: MAC_X, spa: B, tha: MAC_B, tpa: 0 }, MAC_B);
    h.run(10_000);
    expect(h.iface.hasIpv4(B)).toBe(false);
    expect(h.arp.isProbing(h.iface, B)).toBe(false);
    expect(h.conflicts).toEqual([{ address: B, mac: MAC_X, action: 'probe-failed' }]);
    expect(h.stats.get('arp', 'conflict_probe-failed')).toBe(1);
    expect(h.out().some((s) => s.arp.senderIp === B)).toBe(false);
    // No route to a subnet the host does not hold an address in.
    expect(h.t.stack.routes4.lookup(ip('192.0.2.77'))).toBeUndefined();
    h.close();
  });

  it('probe_conflict_simultaneous: another host probing for the same address is a conflict; a third party asking for it is not', () => {
    const h = host({ addresses: [] });
    const done: boolean[] = [];
    expect(h.arp.probe(h.iface, B2, h.clock.now, (ok) => done.push(ok))).toBe(true);
    expect(h.arp.probe(h.iface, B2, h.clock.now, () => {})).toBe(false); // one probe per address
    h.arpIn({ op: 1, sha: 0x02000000000d, spa: ip('192.0.2.9'), tpa: B2 });
    expect(done).toEqual([]);
    h.arpIn({ op: 1, sha: MAC_X, spa: 0, tpa: B2 });
    expect(done).toEqual([false]);
    h.run(10_000);
    expect(done).toEqual([false]);
    h.close();
  });

  it('probe_link_down: probes do not count while the link is down and start over when it returns', () => {
    const h = host({ addresses: [] });
    const done: number[] = [];
    h.arp.probe(h.iface, B2, h.clock.now, (ok, now) => done.push(ok ? now : -1));
    h.run(1500);
    h.pair.setUp(false);
    h.run(20_000);
    expect(done).toEqual([]);
    const upAt = h.clock.now;
    h.pair.setUp(true);
    h.run(10_000);
    expect(done.length).toBe(1);
    expect(done[0]! - upAt).toBeGreaterThanOrEqual(Duration.seconds(4)); // >= 2 gaps of PROBE_MIN + ANNOUNCE_WAIT
    expect(h.out().filter((s) => s.arp.senderIp === 0 && s.at > 1_500_000).length).toBe(3);
    h.close();
  });

  it('probe_cap: probes beyond maxProbes are refused and counted', () => {
    const h = host({ addresses: [], arp: { maxProbes: 2 } });
    expect([1, 2, 3].map((i) => h.arp.probe(h.iface, ip(`192.0.2.${100 + i}`), h.clock.now, () => {}))).toEqual([true, true, false]);
    expect(h.stats.drops('arp', 'probe_table_full')).toBe(1);
    h.close();
  });
});

describe('defending an address (RFC 5227 §2.4)', () => {
  it('defend_RFC5227_2.4: one announcement per DEFEND_INTERVAL answers conflicting ARPs; the address is kept', () => {
    const h = host({ arp: { conflictDetection: true } });
    h.run(10_000);
    expect(h.iface.hasIpv4(B)).toBe(true);
    h.out();
    const t0 = h.clock.now;
    h.arpIn({ op: 1, sha: MAC_X, spa: B, tpa: B });
    expect(h.out().map((s) => s.arp)).toEqual([announcement(B)]);
    h.run(5000);
    h.out();
    h.arpIn({ op: 2, sha: MAC_X, spa: B, tpa: ip('192.0.2.9') });
    expect(h.out()).toEqual([]);
    h.clock.now = Instant.add(t0, h.arp.options.acd.defendInterval);
    h.arpIn({ op: 1, sha: MAC_X, spa: B, tpa: B });
    expect(h.out().map((s) => s.arp)).toEqual([announcement(B)]);
    expect(h.conflicts.map((c) => c.action)).toEqual(['defended', 'ignored', 'defended']);
    expect(h.stats.drops('arp', 'address_conflict')).toBe(3);
    expect(h.iface.hasIpv4(B)).toBe(true);
    // The claimant was not learnt from its claim.
    expect(h.arp.lookup(h.iface, B)).toBeUndefined();
    h.close();
  });

  it('retreat_RFC5227_2.4b: with the retreat policy a second conflict within DEFEND_INTERVAL gives the address up', () => {
    const h = host({ addresses: [] });
    const results: boolean[] = [];
    h.arp.acquire(h.iface, { family: 4, address: B2, prefixLen: 24 }, h.clock.now, { probe: true, policy: 'retreat', done: (ok) => results.push(ok) });
    h.run(10_000);
    expect(results).toEqual([true]);
    expect(h.iface.hasIpv4(B2)).toBe(true);
    h.out();
    h.arpIn({ op: 1, sha: MAC_X, spa: B2, tpa: B2 });
    expect(h.out().map((s) => s.arp)).toEqual([announcement(B2)]);
    h.run(9000);
    h.out();
    h.arpIn({ op: 1, sha: MAC_X, spa: B2, tpa: B2 });
    expect(h.out()).toEqual([]);
    expect(h.conflicts.map((c) => c.action)).toEqual(['defended', 'retreated']);
    expect(h.iface.hasIpv4(B2)).toBe(false);
    expect(h.t.stack.routes4.lookup(ip('192.0.2.77'))).toBeUndefined();
    // Now a request for B2 is no longer answered.
    h.arpIn({ op: 1, sha: MAC_X, spa: ip('192.0.2.9'), tpa: B2 });
    expect(h.out()).toEqual([]);
    h.close();
  });

  it('no_acd: without conflict detection a conflict is counted and reported but not answered', () => {
    const h = host();
    h.arpIn({ op: 1, sha: MAC_X, spa: B, tpa: B });
    h.arpIn({ op: 2, sha: MAC_X, spa: B, tpa: B });
    expect(h.out()).toEqual([]);
    expect(h.conflicts.map((c) => c.action)).toEqual(['ignored', 'ignored']);
    expect(h.stats.drops('arp', 'address_conflict')).toBe(2);
    expect(h.iface.hasIpv4(B)).toBe(true);
    h.close();
  });

  it('own frames: our announcements and probes reflected back (a hub) are neither conflicts nor news', () => {
    const h = host({ arp: { conflictDetection: true } });
    h.run(1500);
    h.arpIn({ op: 1, sha: MAC_B, spa: 0, tpa: B });
    h.arpIn({ op: 1, sha: MAC_B, spa: B, tpa: B });
    expect(h.stats.drops('arp', 'own_frame')).toBe(2);
    h.run(10_000);
    expect(h.iface.hasIpv4(B)).toBe(true);
    expect(h.conflicts).toEqual([]);
    h.close();
  });
});
