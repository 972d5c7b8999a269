// IGMPv3 host behaviour (RFC 3376) with v2/v1 compatibility (RFC 2236, RFC 3376 §7.2.1), scripted on
// one stack: the test plays the querier (and other members) on the far end of the cable with a fake clock.
import { describe, expect, it } from 'vitest';
import { ArpModule } from '../../src/core/arp.js';
import { Icmpv4Module } from '../../src/core/icmpv4.js';
import { IGMPV3_ROUTERS, IPV4_ALL_ROUTERS, IgmpModule, type IgmpOptions } from '../../src/core/igmp.js';
import { IPV4_ALL_HOSTS, Ipv4Module, type Ipv4Options } from '../../src/core/ipv4.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { type Ipv4Address, formatIpv4, ipv4MulticastMac, parseIpv4, readMac } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { IgmpPacket, IgmpRepr } from '../../src/wire/igmp.js';
import { Ipv4Packet, parseIpv4Options } from '../../src/wire/ipv4.js';
import { ethernet, ipv4 } from '../support/build-l3.js';
import { icmpv4, igmp, igmpv3Query } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const ip = (s: string): Ipv4Address => parseIpv4(s)!;
const MAC_H = 0x02000000000a;
const MAC_Q = 0x02000000000b;
const Q = ip('192.0.2.9');
const G1 = ip('239.1.2.3');
const G2 = ip('224.5.6.7');
const G3 = ip('239.20.0.1');
const RA = Uint8Array.of(0x94, 4, 0, 0);

interface Msg {
  macDst: number;
  src: string;
  dst: string;
  ttl: number;
  routerAlert: boolean;
  repr: IgmpRepr;
}

function host(o: { igmp?: Partial<IgmpOptions>; ipv4?: Partial<Ipv4Options>; mtu?: number } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const t = testStack('igmp', [new ArpModule(), new Ipv4Module(o.ipv4), new Icmpv4Module(), new IgmpModule(o.igmp)]);
  const iface = t.stack.addInterface(pair.a, { mac: MAC_H, addresses: ['192.0.2.2/24'], ...(o.mtu ? { mtu: o.mtu } : {}) }, clock.now);
  const igmpMod = t.stack.module<IgmpModule>('igmp')!;
  const other: Uint8Array[] = [];
  const out = (): Msg[] => {
    const r: Msg[] = [];
    pair.b.receive(10_000, (f) => {
      const e = EthernetFrame.check(f);
      const p = isWireError(e) ? e : Ipv4Packet.check(f, e.payloadOffset, e.payloadLength);
      if (isWireError(e) || isWireError(p) || p.protocol !== 2) return void other.push(f.slice());
      const opts = parseIpv4Options(f, p.off, p.headerLen);
      const m = IgmpPacket.check(f, p.payloadOffset, p.payloadLength);
      if (isWireError(m) || isWireError(opts)) throw new Error('stack emitted a malformed IGMP message');
      expect(m.verifyChecksum(t.stack.checksum)).toBe(true);
      r.push({ macDst: readMac(f, 0), src: formatIpv4(p.src), dst: formatIpv4(p.dst), ttl: p.ttl, routerAlert: opts.routerAlert, repr: IgmpRepr.parse(m) });
    });
    return r;
  };
  const h = {
    clock,
    t,
    iface,
    pair,
    other,
    stats: t.stack.stats,
    ip: t.stack.module<Ipv4Module>('ipv4')!,
    igmp: igmpMod,
    out,
    /** Sends an IPv4 datagram from the querier's side of the cable. */
    inject(l3: Uint8Array, macDst: number): void {
      pair.b.transmit(ethernet({ dst: macDst, src: MAC_Q, ethertype: 0x0800, payload: l3 }));
      settle(clock, [t.stack]);
    },
    /** An IGMP message from the querier (TTL 1, Router Alert) to `dst`. */
    send(payload: Uint8Array, dst: Ipv4Address = IPV4_ALL_HOSTS, ttl = 1, src = Q): void {
      h.inject(ipv4({ src, dst, ttl, protocol: 2, options: RA, payload }), ipv4MulticastMac(dst));
    },
    run: (ms: number) => runFor(clock, [t.stack], ms),
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

/** "type:group" per v3 record, or "kind:group" for v1/v2 messages. */
function records(m: Msg): string[] {
  const r = m.repr;
  if (r.kind === 'reportV3') return r.records.map((x) => `${x.recordType}:${formatIpv4(x.group)}${x.sources.length ? `[${x.sources.map(formatIpv4).join(',')}]` : ''}`);
  if (r.kind === 'reportV1' || r.kind === 'reportV2' || r.kind === 'leave') return [`${r.kind}:${formatIpv4(r.group)}`];
  return [r.kind];
}

describe('IGMP membership and the IPv4 multicast filter (RFC 1112 §6, RFC 3376 §5.1)', () => {
  it('join_v3_RFC3376_5.1: CHANGE_TO_EXCLUDE {} to 224.0.0.22 with TTL 1 and Router Alert, sent twice within the Unsolicited Report Interval', () => {
    const h = host();
    settle(h.clock, [h.t.stack]);
    // All-hosts is joined silently: its MAC is accepted, nothing is reported.
    expect(h.iface.multicastMacs.has(ipv4MulticastMac(IPV4_ALL_HOSTS))).toBe(true);
    expect(h.out()).toEqual([]);
    expect(h.igmp.join(h.iface, G1, h.clock.now)).toBe(true);
    const first = h.out();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ macDst: ipv4MulticastMac(IGMPV3_ROUTERS), src: '192.0.2.2', dst: '224.0.0.22', ttl: 1, routerAlert: true });
    expect(records(first[0]!)).toEqual(['4:239.1.2.3']);
    h.run(1000);
    expect(h.out().flatMap(records)).toEqual(['4:239.1.2.3']);
    h.run(10_000);
    expect(h.out()).toEqual([]);
    expect(h.igmp.groups(h.iface)).toEqual([G1]);
    expect(h.iface.multicastMacs.has(ipv4MulticastMac(G1))).toBe(true);
    h.close();
  });

  it('leave_v3_RFC3376_5.1: joins are reference counted; the last leave sends CHANGE_TO_INCLUDE {} twice and drops the MAC', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.igmp.join(h.iface, G1, h.clock.now);
    h.run(2000);
    expect(h.out().flatMap(records)).toEqual(['4:239.1.2.3', '4:239.1.2.3']);
    h.igmp.leave(h.iface, G1, h.clock.now);
    h.run(2000);
    expect(h.out()).toEqual([]);
    expect(h.igmp.isMember(h.iface, G1)).toBe(true);
    h.igmp.leave(h.iface, G1, h.clock.now);
    h.run(2000);
    expect(h.out().flatMap(records)).toEqual(['3:239.1.2.3', '3:239.1.2.3']);
    expect(h.igmp.isMember(h.iface, G1)).toBe(false);
    expect(h.iface.multicastMacs.has(ipv4MulticastMac(G1))).toBe(false);
    expect(h.igmp.groups(h.iface)).toEqual([]);
    h.close();
  });

  it('multicast MACs are counted per MAC: groups sharing 01:00:5e:01:02:03 keep it until both leave; 224.0.0.1 survives a colliding group', () => {
    const h = host();
    const twin = ip('224.1.2.3'); // same low 23 bits as 239.1.2.3
    const allHostsTwin = ip('224.128.0.1'); // same MAC as 224.0.0.1
    h.igmp.join(h.iface, G1, h.clock.now);
    h.igmp.join(h.iface, twin, h.clock.now);
    h.igmp.join(h.iface, allHostsTwin, h.clock.now);
    h.igmp.leave(h.iface, G1, h.clock.now);
    expect(h.iface.multicastMacs.has(ipv4MulticastMac(G1))).toBe(true);
    h.igmp.leave(h.iface, twin, h.clock.now);
    expect(h.iface.multicastMacs.has(ipv4MulticastMac(G1))).toBe(false);
    h.igmp.leave(h.iface, allHostsTwin, h.clock.now);
    expect(h.iface.multicastMacs.has(ipv4MulticastMac(IPV4_ALL_HOSTS))).toBe(true);
    // 224.0.0.1 can be neither joined again nor left.
    expect(h.igmp.join(h.iface, IPV4_ALL_HOSTS, h.clock.now)).toBe(true);
    expect(h.igmp.leave(h.iface, IPV4_ALL_HOSTS, h.clock.now)).toBe(false);
    expect(h.igmp.isMember(h.iface, IPV4_ALL_HOSTS)).toBe(true);
    h.run(3000);
    expect(h.out().flatMap(records).some((r) => r.endsWith('224.0.0.1'))).toBe(false);
    h.close();
  });

  it('input filter RFC1112_6.2: a group sharing a joined MAC passes the link but IPv4 drops it (not_member); joined groups and 224.0.0.1 are delivered', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.run(2000);
    h.out();
    const sameMac = ip('225.1.2.3');
    // Protocol 253 has no handler: delivery shows up as unknown_protocol, and multicast gets no ICMP error.
    h.inject(ipv4({ src: Q, dst: sameMac, protocol: 253, payload: new Uint8Array(8) }), ipv4MulticastMac(sameMac));
    expect(h.stats.drops('ipv4', 'not_member')).toBe(1);
    expect(h.stats.drops('ipv4', 'unknown_protocol')).toBe(0);
    h.inject(ipv4({ src: Q, dst: G1, protocol: 253, payload: new Uint8Array(8) }), ipv4MulticastMac(G1));
    expect(h.stats.drops('ipv4', 'unknown_protocol')).toBe(1);
    h.inject(ipv4({ src: Q, dst: IPV4_ALL_HOSTS, protocol: 1, payload: icmpv4({ ident: 1, seq: 1 }) }), ipv4MulticastMac(IPV4_ALL_HOSTS));
    expect(h.stats.drops('icmpv4', 'echo_to_broadcast')).toBe(1);
    expect(h.stats.get('icmpv4', 'errors_sent')).toBe(0);
    expect(h.out()).toEqual([]);
    expect(h.other).toEqual([]);
    h.close();
  });

  it('caps: the interface group table (shared with IPv4) refuses a join beyond it; pending state-change records evict the oldest', () => {
    // Robustness 3 keeps each change pending for two retransmissions, so three joins overflow 2 slots.
    const h = host({ ipv4: { maxGroupsPerInterface: 4 }, igmp: { maxPendingChanges: 2, robustness: 3 } });
    // 224.0.0.1 takes one slot.
    expect([G1, G2, G3].map((g) => h.igmp.join(h.iface, g, h.clock.now))).toEqual([true, true, true]);
    expect(h.igmp.join(h.iface, ip('239.99.0.1'), h.clock.now)).toBe(false);
    expect(h.stats.drops('ipv4', 'group_table_full')).toBe(1);
    expect(h.stats.drops('igmp', 'pending_changes_evicted')).toBe(1);
    // Each report carries every pending change (RFC 3376 §5.1); G1's record was evicted by G3's.
    expect(h.out().map(records)).toEqual([['4:239.1.2.3'], ['4:239.1.2.3', '4:224.5.6.7'], ['4:224.5.6.7', '4:239.20.0.1']]);
    h.run(3000);
    expect(h.out().flatMap(records)).toEqual(['4:224.5.6.7', '4:239.20.0.1', '4:239.20.0.1']);
    h.close();
  });

  it('link down and up RFC3376_5.1: pending retransmissions are dropped with the link and every group is reported again on link up', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.igmp.join(h.iface, G2, h.clock.now);
    h.out();
    h.pair.setUp(false);
    h.run(3000);
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('link', 'interface_down')).toBe(0);
    h.pair.setUp(true);
    settle(h.clock, [h.t.stack]);
    // One report naming every group, then its retransmission.
    expect(h.out().map(records)).toEqual([['4:239.1.2.3', '4:224.5.6.7']]);
    h.run(1000);
    expect(h.out().map(records)).toEqual([['4:239.1.2.3', '4:224.5.6.7']]);
    h.close();
  });
});

describe('IGMPv3 queries (RFC 3376 §5.2)', () => {
  it('general_query: one Current-State Report with IS_EXCLUDE {} for every group, within Max Resp Time; an earlier pending response is kept', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.igmp.join(h.iface, G2, h.clock.now);
    h.run(3000);
    h.out();
    h.send(igmpv3Query({ maxResp: 100 })); // 10 s
    h.send(igmpv3Query({ maxResp: 255 })); // a later query must not postpone the pending response
    h.run(10_000);
    const r = h.out();
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ dst: '224.0.0.22', ttl: 1, routerAlert: true });
    expect(records(r[0]!).sort()).toEqual(['2:224.5.6.7', '2:239.1.2.3']);
    h.run(60_000);
    expect(h.out()).toEqual([]);
    expect(h.stats.get('igmp', 'v3_queries_received')).toBe(2);
    h.close();
  });

  it('group_specific_query: a record for that group only; a query for a group we did not join gets nothing (query_not_member)', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.igmp.join(h.iface, G2, h.clock.now);
    h.run(3000);
    h.out();
    h.send(igmpv3Query({ maxResp: 50, group: G2 }), G2);
    h.send(igmpv3Query({ maxResp: 50, group: G3 })); // sent to all-hosts so that it gets past the filters
    h.run(5000);
    expect(h.out().flatMap(records)).toEqual(['2:224.5.6.7']);
    expect(h.stats.get('igmp', 'query_not_member')).toBe(1);
    h.close();
  });

  it('group_and_source_specific_query: IS_INCLUDE(queried sources) from EXCLUDE {}; sources accumulate up to maxQuerySources', () => {
    const h = host({ igmp: { maxQuerySources: 3 } });
    h.igmp.join(h.iface, G1, h.clock.now);
    h.run(3000);
    h.out();
    const S = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map(ip);
    h.send(igmpv3Query({ maxResp: 100, group: G1, sources: [S[0]!, S[1]!] }), G1);
    h.send(igmpv3Query({ maxResp: 100, group: G1, sources: [S[2]!, S[3]!] }), G1);
    h.run(10_000);
    expect(h.out().flatMap(records)).toEqual(['1:239.1.2.3[10.0.0.1,10.0.0.2,10.0.0.3]']);
    expect(h.stats.get('igmp', 'query_sources_capped')).toBe(1);
    // Rule 5: a group-wide query while a source-specific response is pending clears the source list.
    h.send(igmpv3Query({ maxResp: 100, group: G1, sources: [S[0]!] }), G1);
    h.send(igmpv3Query({ maxResp: 100, group: G1 }), G1);
    h.run(10_000);
    expect(h.out().flatMap(records)).toEqual(['2:239.1.2.3']);
    h.close();
  });

  it('report_split_mtu: a Current-State Report larger than the link MTU goes out as several reports (MTU 68: 4 records each)', () => {
    const h = host({ mtu: 68 });
    for (let i = 0; i < 9; i++) h.igmp.join(h.iface, ip(`239.0.0.${i + 10}`), h.clock.now);
    h.run(3000);
    h.out();
    h.send(igmpv3Query({ maxResp: 10 }));
    h.run(1000);
    const sizes = h.out().map((m) => records(m).length);
    expect(sizes).toEqual([4, 4, 1]);
    h.close();
  });
});

describe('Host Compatibility Mode (RFC 3376 §7.2.1, RFC 2236 §3)', () => {
  it('v2_querier: switches to v2 reports to the group within Max Resp Time, Leave to 224.0.0.2; back to v3 after 260 s', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.run(3000);
    h.out();
    h.send(igmp({ type: 0x11, maxResp: 50, group: 0 }));
    expect(h.igmp.version(h.iface, h.clock.now)).toBe(2);
    h.run(5000);
    const r = h.out();
    expect(r.map(records)).toEqual([['reportV2:239.1.2.3']]);
    expect(r[0]).toMatchObject({ dst: '239.1.2.3', macDst: ipv4MulticastMac(G1), ttl: 1, routerAlert: true });
    h.igmp.leave(h.iface, G1, h.clock.now);
    const leave = h.out();
    expect(leave.map((m) => [records(m)[0], m.dst])).toEqual([['leave:239.1.2.3', formatIpv4(IPV4_ALL_ROUTERS)]]);
    // Older Version Querier Present Timeout: 2 x 125 s + 10 s after the query.
    h.run(254_000);
    expect(h.igmp.version(h.iface, h.clock.now)).toBe(2);
    h.run(1000);
    expect(h.igmp.version(h.iface, h.clock.now)).toBe(3);
    h.igmp.join(h.iface, G2, h.clock.now);
    expect(h.out().map((m) => m.repr.kind)).toEqual(['reportV3']);
    h.close();
  });

  it('v2_join_and_suppression: unsolicited v2 reports repeat within 10 s; another member\'s report suppresses ours and we then owe no Leave', () => {
    const h = host();
    h.send(igmp({ type: 0x11, maxResp: 100, group: 0 }));
    h.igmp.join(h.iface, G1, h.clock.now);
    expect(h.out().flatMap(records)).toEqual(['reportV2:239.1.2.3']);
    h.run(10_000);
    expect(h.out().flatMap(records)).toEqual(['reportV2:239.1.2.3']);
    h.send(igmp({ type: 0x11, maxResp: 100, group: G1 }), G1);
    h.send(igmp({ type: 0x16, group: G1 }), G1, 1, ip('192.0.2.77'));
    h.run(10_000);
    expect(h.out()).toEqual([]);
    expect(h.stats.get('igmp', 'report_suppressed')).toBe(1);
    h.igmp.leave(h.iface, G1, h.clock.now);
    expect(h.out()).toEqual([]);
    h.close();
  });

  it('mode_change_cancels_timers: a v2 query cancels the pending v3 retransmission (it is never sent)', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    expect(h.out().flatMap(records)).toEqual(['4:239.1.2.3']);
    // A group-specific v2 query for a group we are not in: nothing is owed for it.
    h.send(igmp({ type: 0x11, maxResp: 100, group: G3 }));
    h.run(5000);
    expect(h.out()).toEqual([]);
    expect(h.stats.get('igmp', 'compat_mode_changes')).toBe(1);
    h.close();
  });

  it('v1_querier: v1 takes precedence over v2; v1 reports (type 0x12) within 10 s and no Leave', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.run(3000);
    h.out();
    h.send(igmp({ type: 0x11, maxResp: 50, group: 0 }));
    h.send(igmp({ type: 0x11, maxResp: 0, group: 0 }));
    expect(h.igmp.version(h.iface, h.clock.now)).toBe(1);
    h.send(igmp({ type: 0x11, maxResp: 50, group: 0 }));
    expect(h.igmp.version(h.iface, h.clock.now)).toBe(1);
    h.run(10_000);
    expect(h.out().flatMap(records)).toEqual(['reportV1:239.1.2.3']);
    h.igmp.leave(h.iface, G1, h.clock.now);
    h.run(1000);
    expect(h.out()).toEqual([]);
    h.close();
  });

  it('maxVersion 2: a host configured for IGMPv2 never sends v3 reports', () => {
    const h = host({ igmp: { maxVersion: 2 } });
    h.igmp.join(h.iface, G1, h.clock.now);
    expect(h.out().map((m) => m.repr.kind)).toEqual(['reportV2']);
    h.send(igmpv3Query({ maxResp: 20 }));
    h.run(2000);
    expect(h.out().map((m) => m.repr.kind)).toEqual(['reportV2']);
    h.close();
  });
});

describe('hostile IGMP (SECURITY-CASES H53)', () => {
  it('H53_malformed: short, overrunning, bad-checksum, off-link (TTL 2) and bad-group queries are dropped and counted; a valid query still works', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.run(3000);
    h.out();
    h.send(igmp({ type: 0x11 }).subarray(0, 7));
    h.send(igmpv3Query({ nsrc: 0xffff }));
    h.send(igmp({ type: 0x11, maxResp: 10, group: 0, extra: [0] })); // 9 bytes: no version
    h.send(igmp({ type: 0x11, maxResp: 10, group: 0, checksum: 0x1234 }));
    h.send(igmp({ type: 0x11, maxResp: 10, group: 0 }), IPV4_ALL_HOSTS, 2);
    h.send(igmpv3Query({ group: ip('10.1.2.3') }));
    expect({
      header: h.stats.drops('igmp', 'malformed_header'),
      nsrc: h.stats.drops('igmp', 'malformed_number_of_sources'),
      length: h.stats.drops('igmp', 'malformed_length'),
      checksum: h.stats.drops('igmp', 'bad_checksum'),
      ttl: h.stats.drops('igmp', 'bad_ttl'),
      group: h.stats.drops('igmp', 'query_bad_group'),
    }).toEqual({ header: 1, nsrc: 1, length: 1, checksum: 1, ttl: 1, group: 1 });
    h.run(30_000);
    expect(h.out()).toEqual([]);
    expect(h.igmp.version(h.iface, h.clock.now)).toBe(3);
    h.send(igmpv3Query({ maxResp: 10 }));
    h.run(1000);
    expect(h.out().flatMap(records)).toEqual(['2:239.1.2.3']);
    h.close();
  });

  it('H53_flood: 1000 group-and-source-specific queries keep one pending response per group with at most maxQuerySources sources', () => {
    const h = host();
    h.igmp.join(h.iface, G1, h.clock.now);
    h.run(3000);
    h.out();
    for (let i = 0; i < 1000; i++) h.send(igmpv3Query({ maxResp: 100, group: G1, sources: [ip(`10.0.${i >> 8}.${i & 0xff}`)] }), G1);
    expect(h.t.stack.pollAt(h.clock.now)).toBeGreaterThan(h.clock.now);
    h.run(10_000);
    const r = h.out();
    expect(r).toHaveLength(1);
    expect(r[0]!.repr.kind === 'reportV3' && r[0]!.repr.records[0]!.sources.length).toBe(64);
    h.close();
  });
});
