// Scripted NDP (RFC 4861) and DAD (RFC 4862 §5.4, RFC 7527) exchanges on one stack: the test plays
// the neighbours and routers on the other end of a memory cable, with a fake clock.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module } from '../../src/core/icmpv6.js';
import { Ipv6Module, linkLocalFromMac, solicitedNodeAddress } from '../../src/core/ipv6.js';
import { MldModule } from '../../src/core/mld.js';
import { NdpModule, type NdpOptions } from '../../src/core/ndp.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { type Ipv6Address, formatIpv6, ipv6MulticastMac, parseIpv6 } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { Ipv6ParamProblem, walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { NdpPacket } from '../../src/wire/ndp.js';
import { ethernet, ipv6 } from '../support/build-l3.js';
import { ndpNa, ndpNs, ndpOpt, ndpRa } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const MAC_H = 0x02000000000a;
const MAC_P = 0x02000000000b;
const ip = (s: string): Ipv6Address => parseIpv6(s)!;
const H = ip('2001:db8::1');
const H_LL = linkLocalFromMac(MAC_H);
const P = ip('2001:db8::99');
const P_LL = linkLocalFromMac(MAC_P);
const ALL_NODES = ip('ff02::1');
const R = 0x80;
const S = 0x40;
const O = 0x20;

interface Out {
  dstMac: number;
  src: string;
  dst: string;
  hopLimit: number;
  type: number;
  /** NA flags byte, or the first byte after the ICMPv6 checksum. */
  flags: number;
  target: string;
  nd: NdpPacket | null;
}

function decodeOut(f: Uint8Array): Out {
  const e = EthernetFrame.check(f);
  if (isWireError(e)) throw new Error('bad frame');
  const p = Ipv6Packet.check(f, e.payloadOffset, e.payloadLength);
  if (isWireError(p)) throw new Error('bad ipv6');
  const c = walkIpv6Chain(p);
  if (c instanceof Ipv6ParamProblem) throw new Error('bad chain');
  const u = p.off + c.upperOffset;
  const nd = c.upperProtocol === 58 ? NdpPacket.check(f, u, p.off + p.len - u) : null;
  const ndp = nd && !isWireError(nd) ? nd : null;
  return {
    dstMac: e.dst,
    src: formatIpv6(p.src),
    dst: formatIpv6(p.dst),
    hopLimit: p.hopLimit,
    type: c.upperProtocol === 58 ? f[u]! : -1,
    flags: f[u + 4]!,
    target: ndp && ndp.fixedLen >= 24 ? formatIpv6(ndp.target) : '',
    nd: ndp,
  };
}

function host(o: { ndp?: Partial<NdpOptions>; addresses?: string[]; settle?: boolean } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const t = testStack('ndp', [new Ipv6Module(), new Icmpv6Module(), new NdpModule(o.ndp), new MldModule()]);
  const iface = t.stack.addInterface(pair.a, { mac: MAC_H, addresses: o.addresses ?? ['2001:db8::1/64'] }, clock.now);
  const out = (): Out[] => {
    const r: Out[] = [];
    pair.b.receive(10_000, (f) => r.push(decodeOut(f)));
    return r;
  };
  if (o.settle !== false) {
    runFor(clock, [t.stack], 3000);
    out();
  }
  const h = {
    clock,
    t,
    iface,
    stats: t.stack.stats,
    ip: t.stack.module<Ipv6Module>('ipv6')!,
    icmp: t.stack.module<Icmpv6Module>('icmpv6')!,
    ndp: t.stack.module<NdpModule>('ndp')!,
    out,
    inject(l3: Uint8Array, srcMac = MAC_P): void {
      const mac = l3[24] === 0xff ? ipv6MulticastMac(l3.subarray(24, 40)) : MAC_H;
      pair.b.transmit(ethernet({ dst: mac, src: srcMac, ethertype: 0x86dd, payload: l3 }));
      settle(clock, [t.stack]);
    },
    /** An NDP message; hop limit 255. */
    nd(body: (s: { src: Ipv6Address; dst: Ipv6Address }) => Uint8Array, src: Ipv6Address, dst: Ipv6Address, srcMac = MAC_P): void {
      h.inject(ipv6({ src, dst, hopLimit: 255, nextHeader: 58, payload: body({ src, dst }) }), srcMac);
    },
    run: (ms: number) => runFor(clock, [t.stack], ms),
    ping: (dst: Ipv6Address, seq = 1) => h.icmp.sendEchoRequest(dst, 0x42, seq, new Uint8Array(4), clock.now),
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

describe('address resolution (RFC 4861 §7.2)', () => {
  it('answers an NS for our address with a solicited NA (S, O, TLLA) and caches the solicitor as STALE', () => {
    const h = host();
    h.nd((s) => ndpNs(H, [ndpOpt.slla(MAC_P)], s), P, solicitedNodeAddress(H));
    const [na] = h.out();
    expect(na).toMatchObject({ type: 136, src: '2001:db8::1', dst: '2001:db8::99', hopLimit: 255, dstMac: MAC_P, target: '2001:db8::1' });
    expect(na!.flags & (R | S | O)).toBe(S | O);
    expect(na!.nd!.options().targetLinkAddr).toBe(MAC_H);
    expect(h.ndp.neighbor(h.iface, P)).toMatchObject({ state: 'DELAY', mac: MAC_P }); // STALE, then the NA was sent
    h.close();
  });

  it('resolves INCOMPLETE → REACHABLE on a solicited NA and sends the queued packets; the queue keeps the newest three', () => {
    const h = host();
    for (let i = 1; i <= 5; i++) h.ping(P, i);
    const ns = h.out();
    expect(ns.map((x) => [x.type, x.dst, x.dstMac])).toEqual([[135, formatIpv6(solicitedNodeAddress(P)), ipv6MulticastMac(solicitedNodeAddress(P))]]);
    expect(ns[0]!.nd!.options().sourceLinkAddr).toBe(MAC_H);
    expect(h.ndp.neighbor(h.iface, P)!.state).toBe('INCOMPLETE');
    // An NA without TLLA cannot complete an INCOMPLETE entry.
    h.nd((s) => ndpNa(S | O, P, [], s), P, H);
    expect(h.stats.drops('ndp', 'na_without_tlla')).toBe(1);
    h.nd((s) => ndpNa(S | O, P, [ndpOpt.tlla(MAC_P)], s), P, H);
    const sent = h.out();
    expect(sent.map((x) => [x.type, x.dstMac])).toEqual([[128, MAC_P], [128, MAC_P], [128, MAC_P]]);
    expect(h.stats.drops('ndp', 'pending_queue_full')).toBe(2);
    expect(h.ndp.neighbor(h.iface, P)!.state).toBe('REACHABLE');
    h.close();
  });

  it('gives up after MAX_MULTICAST_SOLICIT NSs one RetransTimer apart and frees the queued packets', () => {
    const h = host();
    h.ping(P);
    h.run(5000);
    expect(h.out().filter((x) => x.type === 135)).toHaveLength(3);
    expect(h.ndp.neighbor(h.iface, P)).toBeUndefined();
    expect(h.stats.get('ndp', 'resolution_failed')).toBe(1);
    expect(h.stats.drops('ndp', 'unresolved')).toBe(1);
    h.close();
  });

  it('NA rules (§7.2.5): unsolicited NA creates nothing; O=0 with a new address only marks STALE; O=1 overrides', () => {
    const h = host();
    h.nd((s) => ndpNa(O, P, [ndpOpt.tlla(MAC_P)], s), P, ALL_NODES);
    expect(h.ndp.neighbor(h.iface, P)).toBeUndefined();
    expect(h.stats.drops('ndp', 'na_no_entry')).toBe(1);
    // A solicited NA sent to a multicast address is invalid.
    h.nd((s) => ndpNa(S | O, P, [ndpOpt.tlla(MAC_P)], s), P, ALL_NODES);
    expect(h.stats.drops('ndp', 'na_solicited_to_multicast')).toBe(1);
    h.ping(P);
    h.nd((s) => ndpNa(S, P, [ndpOpt.tlla(MAC_P)], s), P, H);
    expect(h.ndp.neighbor(h.iface, P)).toMatchObject({ state: 'REACHABLE', mac: MAC_P });
    h.nd((s) => ndpNa(0, P, [ndpOpt.tlla(0x0200000000ee)], s), P, H);
    expect(h.ndp.neighbor(h.iface, P)).toMatchObject({ state: 'STALE', mac: MAC_P });
    h.nd((s) => ndpNa(O, P, [ndpOpt.tlla(0x0200000000ee)], s), P, H);
    expect(h.ndp.neighbor(h.iface, P)).toMatchObject({ state: 'STALE', mac: 0x0200000000ee });
    // Never a multicast link-layer address.
    h.nd((s) => ndpNa(S | O, P, [ndpOpt.tlla(0x333300000001)], s), P, H);
    expect(h.ndp.neighbor(h.iface, P)!.mac).toBe(0x0200000000ee);
    h.close();
  });

  it('the cache is capped: the least recently used entry is evicted, one we keep using survives (E7)', () => {
    const h = host({ ndp: { maxEntries: 8 } });
    const peer = (i: number) => ip(`2001:db8::2:${i}`);
    h.nd((s) => ndpNs(H, [ndpOpt.slla(0x020000000100)], s), peer(0), H, 0x020000000100);
    for (let i = 1; i < 20; i++) {
      h.nd((s) => ndpNs(H, [ndpOpt.slla(0x020000000100 + i)], s), peer(i), H, 0x020000000100 + i);
      h.ping(peer(0), i); // keeps peer 0 recently used
    }
    expect(h.ndp.size).toBe(8);
    expect(h.ndp.neighbor(h.iface, peer(0))).toBeDefined();
    expect(h.ndp.neighbor(h.iface, peer(1))).toBeUndefined();
    expect(h.stats.get('ndp', 'neighbor_evicted')).toBe(12);
    h.close();
  });
});

describe('Router Advertisements (RFC 4861 §6.3.4)', () => {
  it('sets hop limit, timers and MTU within bounds, and installs the default router and on-link prefixes', () => {
    const h = host();
    h.nd(
      (s) => ndpRa({ curHopLimit: 77, routerLifetime: 600, reachable: 10_000, retrans: 5 }, [ndpOpt.slla(MAC_P), ndpOpt.mtu(1400), ndpOpt.prefix({ prefix: ip('2001:db8:7::'), flags: 0x80, valid: 100 })], s),
      P_LL,
      ALL_NODES,
    );
    expect(h.ip.hopLimit(h.iface)).toBe(77);
    expect(h.ndp.retransTimer(h.iface)).toBe(100_000); // clamped up from 5 ms
    expect(h.ndp.reachableTime(h.iface)).toBeGreaterThanOrEqual(5_000_000);
    expect(h.ndp.reachableTime(h.iface)).toBeLessThanOrEqual(15_000_000);
    expect(h.ip.linkMtu(h.iface)).toBe(1400);
    expect(h.ndp.neighbor(h.iface, P_LL)).toMatchObject({ state: 'STALE', isRouter: true });
    const routes = h.t.stack.routes6.list().filter((r) => r.origin === 'ra').map((r) => [formatIpv6(r.network), r.prefixLen]);
    expect(routes).toEqual([['2001:db8:7::', 64], ['::', 0]]);
    // Out-of-range MTUs are ignored.
    h.nd((s) => ndpRa({ routerLifetime: 600 }, [ndpOpt.mtu(1000)], s), P_LL, ALL_NODES);
    h.nd((s) => ndpRa({ routerLifetime: 600 }, [ndpOpt.mtu(9000)], s), P_LL, ALL_NODES);
    expect(h.stats.drops('ndp', 'ra_mtu_ignored')).toBe(2);
    expect(h.ip.linkMtu(h.iface)).toBe(1400);
    // Lifetimes expire: the prefix after 100 s, the router after 600 s.
    h.run(101_000);
    expect(h.ndp.prefixes(h.iface)).toEqual([]);
    h.run(500_000);
    expect(h.ndp.defaultRouters(h.iface)).toEqual([]);
    expect(h.t.stack.routes6.list().filter((r) => r.origin === 'ra')).toEqual([]);
    h.close();
  });

  it('router lifetime 0 removes the router; RDNSS list (RFC 8106 §5.3.1) is capped and honours lifetime 0', () => {
    const h = host();
    const dns = (lt: number, ...a: string[]) => ndpOpt.rdnss(lt, ...a.map(ip));
    h.nd((s) => ndpRa({ routerLifetime: 600 }, [dns(300, '2001:db8::53', '2001:db8::54')], s), P_LL, ALL_NODES);
    expect(h.ndp.defaultRouters(h.iface)).toHaveLength(1);
    h.nd((s) => ndpRa({ routerLifetime: 0 }, [dns(600, '2001:db8::55'), dns(100, '2001:db8::56')], s), P_LL, ALL_NODES);
    expect(h.ndp.defaultRouters(h.iface)).toEqual([]);
    // Full at 3: the longer-lived ::55 replaced the shortest-lived; ::56 (100 s) did not fit.
    expect(h.ndp.dnsServers().map(formatIpv6).sort()).toEqual(['2001:db8::53', '2001:db8::54', '2001:db8::55']);
    expect(h.stats.drops('ndp', 'dns_list_full')).toBe(1);
    h.nd((s) => ndpRa({ routerLifetime: 0 }, [dns(0, '2001:db8::53')], s), P_LL, ALL_NODES);
    expect(h.ndp.dnsServers().map(formatIpv6).sort()).toEqual(['2001:db8::54', '2001:db8::55']);
    h.run(301_000);
    expect(h.ndp.dnsServers().map(formatIpv6)).toEqual(['2001:db8::55']);
    h.close();
  });

  it('prefers a reachable router: one whose resolution failed is demoted (§6.3.6)', () => {
    const h = host();
    const R2 = linkLocalFromMac(0x0200000000cc);
    h.nd((s) => ndpRa({ routerLifetime: 600 }, [], s), P_LL, ALL_NODES);
    h.nd((s) => ndpRa({ routerLifetime: 600 }, [], s), R2, ALL_NODES, 0x0200000000cc);
    const far = ip('2001:db8:99::1');
    const first = h.ip.route(far);
    expect(typeof first !== 'string' && formatIpv6(first.nextHop)).toBe(formatIpv6(P_LL));
    h.ping(far);
    h.run(4000); // P_LL never answers
    const next = h.ip.route(far);
    expect(typeof next !== 'string' && formatIpv6(next.nextHop)).toBe(formatIpv6(R2));
    h.close();
  });

  it('solicits routers on start: up to 3 RSs from the link-local address with SLLA, 4 s apart (§6.3.7); an RA stops them', () => {
    const h = host({ settle: false });
    h.run(30_000);
    const rs = h.out().filter((x) => x.type === 133);
    expect(rs.length).toBe(3);
    expect(rs[0]).toMatchObject({ src: formatIpv6(H_LL), dst: 'ff02::2', hopLimit: 255 });
    expect(rs[0]!.nd!.options().sourceLinkAddr).toBe(MAC_H);
    expect(h.stats.get('ndp', 'rs_sent')).toBe(3);
    h.close();
    const g = host({ settle: false });
    g.run(3000);
    expect(g.out().filter((x) => x.type === 133)).toHaveLength(1);
    g.nd((s) => ndpRa({ routerLifetime: 600 }, [], s), P_LL, ALL_NODES);
    g.run(20_000);
    expect(g.out().filter((x) => x.type === 133)).toEqual([]);
    g.close();
  });
});

describe('DAD (RFC 4862 §5.4, RFC 7527)', () => {
  it('sends DupAddrDetectTransmits probes RetransTimer apart, then assigns; 0 assigns at once', () => {
    const h = host({ ndp: { dupAddrDetectTransmits: 3, maxRtrSolicitationDelay: 0 as never }, settle: false });
    h.run(2500);
    expect(h.ip.findAddress(h.iface, H)!.state).toBe('tentative');
    h.run(1000);
    const probes = h.out().filter((x) => x.type === 135 && x.target === '2001:db8::1');
    expect(probes).toHaveLength(3);
    expect(probes[0]!.nd!.options().nonce).toHaveLength(6);
    expect(probes[0]!.nd!.options().sourceLinkAddr).toBeUndefined();
    expect(h.ip.findAddress(h.iface, H)!.state).toBe('preferred');
    h.close();
    const z = host({ ndp: { dupAddrDetectTransmits: 0 }, settle: false });
    expect(z.ip.findAddress(z.iface, H)!.state).toBe('preferred');
    expect(z.out().filter((x) => x.type === 135)).toEqual([]);
    z.close();
  });

  it('our own probe looped back (same nonce) is not a conflict; a foreign probe or an NA for the target is', () => {
    const h = host({ addresses: ['2001:db8::1/64', '2001:db8::2/64', '2001:db8::3/64'], settle: false, ndp: { maxRtrSolicitationDelay: 0 as never } });
    h.run(10);
    const probes = h.out().filter((x) => x.type === 135 && x.src === '::');
    const own = probes.find((x) => x.target === '2001:db8::1')!;
    const nonce = [...own.nd!.options().nonce!];
    const sn = (a: Ipv6Address) => solicitedNodeAddress(a);
    h.nd((s) => ndpNs(H, [ndpOpt.nonce(nonce)], s), ip('::'), sn(H));
    expect(h.stats.get('ndp', 'dad_own_probe_looped')).toBe(1);
    h.nd((s) => ndpNs(ip('2001:db8::2'), [ndpOpt.nonce([9, 9, 9, 9, 9, 9])], s), ip('::'), sn(ip('2001:db8::2')));
    h.nd((s) => ndpNa(O, ip('2001:db8::3'), [ndpOpt.tlla(MAC_P)], s), P_LL, ALL_NODES);
    h.run(3000);
    expect(['2001:db8::1', '2001:db8::2', '2001:db8::3'].map((a) => h.ip.findAddress(h.iface, ip(a))!.state)).toEqual(['preferred', 'duplicate', 'duplicate']);
    expect(h.stats.get('ndp', 'dad_conflicts')).toBe(2);
    // A duplicate address is not ours: packets to it are dropped and it is never a source.
    expect(h.ip.isLocal(ip('2001:db8::2'))).toBe(false);
    expect(h.iface.multicastMacs.has(ipv6MulticastMac(sn(ip('2001:db8::2'))))).toBe(false);
    h.close();
  });

  it('defends an assigned address: a probe for it gets an NA to all-nodes with O set and S clear', () => {
    const h = host();
    h.nd((s) => ndpNs(H, [], s), ip('::'), solicitedNodeAddress(H));
    const [na] = h.out();
    expect(na).toMatchObject({ type: 136, dst: 'ff02::1', src: '2001:db8::1', target: '2001:db8::1' });
    expect(na!.flags & (S | O)).toBe(O);
    expect(h.ip.findAddress(h.iface, H)!.state).toBe('preferred');
    h.close();
  });
});

describe('router mode flags (RFC 4861 §7.2.4, §6.2.7)', () => {
  it('NAs carry R and RAs from others are not processed', () => {
    const h = host();
    h.ndp.setRouterMode(h.iface, true, h.clock.now);
    expect(h.ip.isMember(h.iface, ip('ff02::2'))).toBe(true);
    h.nd((s) => ndpNs(H, [ndpOpt.slla(MAC_P)], s), P, solicitedNodeAddress(H));
    expect(h.out().find((x) => x.type === 136)!.flags & R).toBe(R);
    h.nd((s) => ndpRa({ routerLifetime: 600 }, [], s), P_LL, ALL_NODES);
    expect(h.ndp.defaultRouters(h.iface)).toEqual([]);
    expect(h.stats.get('ndp', 'ra_ignored_router_mode')).toBe(1);
    h.close();
  });
});
