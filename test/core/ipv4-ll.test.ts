// IPv4 link-local autoconfiguration (RFC 3927): one stack scripted against a peer played by the test,
// and stacks on a memory switch finding distinct addresses, resolving collisions and defending.
import { describe, expect, it } from 'vitest';
import { ArpModule } from '../../src/core/arp.js';
import { Icmpv4Module } from '../../src/core/icmpv4.js';
import { IPV4_LINK_LOCAL_FIRST, IPV4_LINK_LOCAL_LAST, Ipv4LinkLocalModule, type Ipv4LinkLocalOptions } from '../../src/core/ipv4-ll.js';
import { Ipv4Module } from '../../src/core/ipv4.js';
import { createMemoryPair, MemorySwitch } from '../../src/phy/index.js';
import type { LinkDevice } from '../../src/ports/link.js';
import { Duration, Instant } from '../../src/time/instant.js';
import { type Ipv4Address, MAC_BROADCAST, formatIpv4, parseIpv4, readMac } from '../../src/wire/address.js';
import { ArpPacket, ArpRepr } from '../../src/wire/arp.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { arp, ethernet } from '../support/build-l3.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const ip = (s: string): Ipv4Address => parseIpv4(s)!;
const MAC_X = 0x02000000ee01; // a peer played by the test
const inRange = (a: Ipv4Address) => a >= IPV4_LINK_LOCAL_FIRST && a <= IPV4_LINK_LOCAL_LAST;

function node(clock: FakeClock, name: string, device: LinkDevice, mac: number, ll: Partial<Ipv4LinkLocalOptions> = {}, addresses: string[] = []) {
  const t = testStack(name, [new ArpModule(), new Ipv4Module(), new Icmpv4Module(), new Ipv4LinkLocalModule(ll)]);
  const iface = t.stack.addInterface(device, { mac, addresses }, clock.now);
  return { t, iface, ll: t.stack.module<Ipv4LinkLocalModule>('ipv4-ll')!, arp: t.stack.module<ArpModule>('arp')!, icmp: t.stack.module<Icmpv4Module>('icmpv4')!, stats: t.stack.stats };
}

/** One stack on a cable whose other end the test drives. */
function single(ll: Partial<Ipv4LinkLocalOptions> = {}, addresses: string[] = []) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const n = node(clock, 'll', pair.b, 0x02000000000b, ll, addresses);
  const out = (): Array<{ macDst: number; arp: ArpRepr }> => {
    const r: Array<{ macDst: number; arp: ArpRepr }> = [];
    pair.a.receive(1 << 20, (f) => {
      const e = EthernetFrame.check(f);
      if (isWireError(e) || e.ethertype !== 0x0806) return;
      const a = ArpPacket.check(f, e.payloadOffset, e.payloadLength);
      if (!isWireError(a)) r.push({ macDst: readMac(f, 0), arp: ArpRepr.parse(a) });
    });
    return r;
  };
  const arpIn = (a: Parameters<typeof arp>[0] & {}, dst = MAC_BROADCAST) => {
    pair.a.transmit(ethernet({ dst, src: a.sha ?? MAC_X, ethertype: 0x0806, payload: arp(a), pad: true }));
    settle(clock, [n.t.stack]);
  };
  return { clock, pair, ...n, out, arpIn, run: (ms: number) => runFor(clock, [n.t.stack], ms) };
}

describe('IPv4 link-local configuration (RFC 3927 §2)', () => {
  it('RFC3927_2.1_2.2: picks 169.254.1.0-169.254.254.255, probes it, binds it as /16 with a route, announces it twice', () => {
    const h = single();
    const cand = h.ll.status(h.iface)!;
    expect(cand.state).toBe('probing');
    expect(inRange(cand.address)).toBe(true);
    expect(h.iface.ipv4).toEqual([]);
    h.run(10_000);
    const sent = h.out();
    expect(sent.filter((s) => s.arp.senderIp === 0).map((s) => s.arp.targetIp)).toEqual([cand.address, cand.address, cand.address]);
    expect(sent.filter((s) => s.arp.senderIp === cand.address && s.arp.targetIp === cand.address).length).toBe(2);
    expect(h.ll.address(h.iface)).toBe(cand.address);
    expect(h.iface.ipv4).toEqual([{ family: 4, address: cand.address, prefixLen: 16 }]);
    expect(h.t.stack.routes4.lookup(ip('169.254.200.1'))?.ifIndex).toBe(h.iface.index);
    closeAndCheckLeaks(h.t);
  });

  it('RFC3927_2.5_broadcast_replies: requests for a link-local address are answered by link-layer broadcast', () => {
    const h = single();
    h.run(10_000);
    h.out();
    const a = h.ll.address(h.iface)!;
    h.arpIn({ op: 1, sha: MAC_X, spa: ip('169.254.77.77'), tpa: a }, 0x02000000000b);
    expect(h.out()).toEqual([{ macDst: MAC_BROADCAST, arp: { operation: 2, senderMac: 0x02000000000b, senderIp: a, targetMac: MAC_X, targetIp: ip('169.254.77.77') } }]);
    closeAndCheckLeaks(h.t);
  });

  it('RFC3927_2.2.1_probe_conflict: a host answering for the candidate makes the module pick another one', () => {
    const h = single({ preferredAddress: ip('169.254.10.10') });
    h.run(1500);
    // The owner of 169.254.10.10 defends it (a broadcast reply, as RFC 3927 §2.5 owners send).
    h.arpIn({ op: 2, sha: MAC_X, spa: ip('169.254.10.10'), tha: 0x02000000000b, tpa: 0 });
    const next = h.ll.status(h.iface)!;
    expect(next).toMatchObject({ state: 'probing', conflicts: 1 });
    expect(next.address).not.toBe(ip('169.254.10.10'));
    h.run(10_000);
    expect(h.ll.address(h.iface)).toBe(next.address);
    expect(h.iface.hasIpv4(ip('169.254.10.10'))).toBe(false);
    closeAndCheckLeaks(h.t);
  });

  it('RFC3927_2.5_defend_then_retreat: one conflict is defended; a second within DEFEND_INTERVAL moves to a new address', () => {
    const h = single();
    h.run(10_000);
    const first = h.ll.address(h.iface)!;
    h.out();
    h.arpIn({ op: 1, sha: MAC_X, spa: first, tpa: first });
    expect(h.out().map((s) => s.arp)).toEqual([{ operation: 1, senderMac: 0x02000000000b, senderIp: first, targetMac: 0, targetIp: first }]);
    expect(h.ll.address(h.iface)).toBe(first);
    h.run(3000);
    h.arpIn({ op: 1, sha: MAC_X, spa: first, tpa: first });
    expect(h.iface.hasIpv4(first)).toBe(false);
    expect(h.ll.status(h.iface)).toMatchObject({ state: 'probing', conflicts: 1 });
    h.run(10_000);
    const second = h.ll.address(h.iface)!;
    expect(second).not.toBe(first);
    expect(inRange(second)).toBe(true);
    expect(h.stats.get('arp', 'conflict_retreated')).toBe(1);
    closeAndCheckLeaks(h.t);
  });

  it('RFC3927_2.2.1_rate_limit: against a host claiming every address, after MAX_CONFLICTS one candidate per RATE_LIMIT_INTERVAL', () => {
    const h = single();
    const { maxConflicts, rateLimitInterval } = h.ll.options;
    const probeStarts: Instant[] = [];
    let last = -1;
    const start = h.clock.now;
    // 10 minutes; the attacker answers each probe as soon as it sees it.
    for (let ms = 0; ms < 600_000; ms += 100) {
      h.run(100);
      const s = h.ll.status(h.iface)!;
      if (s.state === 'probing' && s.address !== last) {
        probeStarts.push(h.clock.now);
        last = s.address;
      }
      for (const f of h.out()) if (f.arp.senderIp === 0) h.arpIn({ op: 2, sha: MAC_X, spa: f.arp.targetIp, tpa: 0 });
    }
    expect(h.ll.address(h.iface)).toBeUndefined();
    const conflicts = h.ll.status(h.iface)!.conflicts;
    // 10 quick attempts, then one per minute over the remaining ~10 minutes.
    expect(conflicts).toBeGreaterThanOrEqual(maxConflicts);
    expect(conflicts).toBeLessThanOrEqual(maxConflicts + Math.ceil((600_000_000 - 0) / rateLimitInterval));
    const late = probeStarts.slice(maxConflicts);
    for (let i = 1; i < late.length; i++) expect(late[i]! - late[i - 1]!).toBeGreaterThanOrEqual(rateLimitInterval);
    expect(probeStarts[maxConflicts - 1]! - start).toBeLessThan(Duration.seconds(maxConflicts * 2));
    expect(h.stats.get('ipv4-ll', 'rate_limited')).toBeGreaterThan(0);
    closeAndCheckLeaks(h.t);
  });

  it('autoStart no-address: an interface with a configured address is left alone; start() and stop() work by hand', () => {
    const h = single({}, ['192.0.2.2/24']);
    expect(h.ll.status(h.iface)).toBeUndefined();
    expect(h.ll.start(h.iface, h.clock.now)).toBe(true);
    expect(h.ll.start(h.iface, h.clock.now)).toBe(false);
    h.run(10_000);
    const a = h.ll.address(h.iface)!;
    expect(h.iface.ipv4.map((c) => formatIpv4(c.address))).toEqual(['192.0.2.2', formatIpv4(a)]);
    h.ll.stop(h.iface, h.clock.now);
    expect(h.iface.ipv4.map((c) => formatIpv4(c.address))).toEqual(['192.0.2.2']);
    expect(h.ll.status(h.iface)!.state).toBe('stopped');
    h.run(60_000);
    expect(h.iface.ipv4.length).toBe(1);
    closeAndCheckLeaks(h.t);
  });
});

describe('link-local hosts on a switch (RFC 3927 §2)', () => {
  function lan(n: number, ll: Array<Partial<Ipv4LinkLocalOptions>> = []) {
    const clock = new FakeClock();
    const sw = new MemorySwitch({ ports: n, notify: 'sync' });
    const nodes = Array.from({ length: n }, (_, i) => node(clock, `n${i}`, sw.port(i), 0x020000000100 + i, ll[i] ?? {}));
    const stacks = nodes.map((x) => x.t.stack);
    return { clock, nodes, stacks, run: (ms: number) => runFor(clock, stacks, ms) };
  }

  it('two_hosts: pick distinct addresses and ping each other', () => {
    const l = lan(2);
    l.run(15_000);
    const [a, b] = l.nodes.map((x) => x.ll.address(x.iface)!);
    expect(inRange(a!) && inRange(b!)).toBe(true);
    expect(a).not.toBe(b);
    const got: number[] = [];
    l.nodes[0]!.icmp.onEchoReply(9, (_f, _i, seq) => got.push(seq));
    l.nodes[0]!.icmp.sendEchoRequest(b!, 9, 1, new Uint8Array(8), l.clock.now);
    l.run(100);
    expect(got).toEqual([1]);
    closeAndCheckLeaks(...l.nodes.map((x) => x.t));
  });

  it('forced_collision: three hosts preferring the same address end up on distinct addresses', () => {
    const same = ip('169.254.10.10');
    const l = lan(3, [{ preferredAddress: same }, { preferredAddress: same }, { preferredAddress: same }]);
    l.run(60_000);
    const addrs = l.nodes.map((x) => x.ll.address(x.iface));
    expect(addrs.every((a) => a !== undefined && inRange(a))).toBe(true);
    expect(new Set(addrs).size).toBe(3);
    const conflicts = l.nodes.reduce((n, x) => n + x.ll.status(x.iface)!.conflicts, 0);
    expect(conflicts).toBeGreaterThanOrEqual(2);
    // Every host answers for its own address only.
    for (const x of l.nodes) expect(x.iface.ipv4.length).toBe(1);
    closeAndCheckLeaks(...l.nodes.map((x) => x.t));
  });

  it('defended_address: a newcomer preferring a bound host\'s address is refused and moves on; the owner keeps it', () => {
    const clock = new FakeClock();
    const sw = new MemorySwitch({ ports: 2, notify: 'sync' });
    const owner = node(clock, 'owner', sw.port(0), 0x020000000200, { preferredAddress: ip('169.254.10.10') });
    runFor(clock, [owner.t.stack], 10_000);
    expect(owner.ll.address(owner.iface)).toBe(ip('169.254.10.10'));
    const late = node(clock, 'late', sw.port(1), 0x020000000201, { preferredAddress: ip('169.254.10.10') });
    runFor(clock, [owner.t.stack, late.t.stack], 20_000);
    expect(owner.ll.address(owner.iface)).toBe(ip('169.254.10.10'));
    const got = late.ll.address(late.iface)!;
    expect(got).not.toBe(ip('169.254.10.10'));
    expect(late.ll.status(late.iface)!.conflicts).toBe(1);
    expect(owner.stats.get('arp', 'conflict_defended') + owner.stats.get('arp', 'conflict_retreated')).toBe(0);
    closeAndCheckLeaks(owner.t, late.t);
  });
});
