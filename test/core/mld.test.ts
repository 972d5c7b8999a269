// MLDv2 host behaviour (RFC 3810) with MLDv1 compatibility (RFC 2710 / RFC 3810 §8), scripted on one
// stack: the test plays the querier on the other end of the cable with a fake clock.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module } from '../../src/core/icmpv6.js';
import { Ipv6Module, type Ipv6Options, linkLocalFromMac, solicitedNodeAddress } from '../../src/core/ipv6.js';
import { MldModule, MldRecordType } from '../../src/core/mld.js';
import { NdpModule } from '../../src/core/ndp.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { type Ipv6Address, formatIpv6, ipv6MulticastMac, parseIpv6 } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { Ipv6ParamProblem, walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { MldPacket, MldRepr } from '../../src/wire/mld.js';
import { ethernet, ipv6 } from '../support/build-l3.js';
import { mldV1, mldV2Query } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const MAC_H = 0x02000000000a;
const ip = (s: string): Ipv6Address => parseIpv6(s)!;
const Q_LL = linkLocalFromMac(0x02000000000b);
const H_LL = linkLocalFromMac(MAC_H);
const ALL_NODES = ip('ff02::1');
const G1 = ip('ff05::1:3');
const G2 = ip('ff0e::1234');

interface Msg {
  src: string;
  dst: string;
  hopLimit: number;
  routerAlert: number;
  repr: MldRepr;
}

function host(o: { ipv6?: Partial<Ipv6Options>; mtu?: number; settle?: boolean } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const t = testStack('mld', [new Ipv6Module(o.ipv6), new Icmpv6Module(), new NdpModule(), new MldModule()]);
  const iface = t.stack.addInterface(pair.a, { mac: MAC_H, addresses: ['2001:db8::1/64'], ...(o.mtu ? { mtu: o.mtu } : {}) }, clock.now);
  const out = (): Msg[] => {
    const r: Msg[] = [];
    pair.b.receive(10_000, (f) => {
      const e = EthernetFrame.check(f);
      if (isWireError(e)) return;
      const p = Ipv6Packet.check(f, e.payloadOffset, e.payloadLength);
      if (isWireError(p)) return;
      const c = walkIpv6Chain(p);
      if (c instanceof Ipv6ParamProblem || c.upperProtocol !== 58) return;
      const m = MldPacket.check(f, p.off + c.upperOffset, p.len - c.upperOffset);
      if (isWireError(m)) return;
      r.push({ src: formatIpv6(p.src), dst: formatIpv6(p.dst), hopLimit: p.hopLimit, routerAlert: c.routerAlert, repr: MldRepr.parse(m) });
    });
    return r;
  };
  const h = {
    clock,
    t,
    iface,
    stats: t.stack.stats,
    ip: t.stack.module<Ipv6Module>('ipv6')!,
    mld: t.stack.module<MldModule>('mld')!,
    out,
    query(payload: (s: { src: Ipv6Address; dst: Ipv6Address }) => Uint8Array, dst = ALL_NODES, src = Q_LL): void {
      const l3 = ipv6({ src, dst, hopLimit: 1, nextHeader: 58, ext: [{ type: 'hbh', options: Uint8Array.from([5, 2, 0, 0]) }], payload: payload({ src, dst }) });
      pair.b.transmit(ethernet({ dst: ipv6MulticastMac(dst), src: 0x02000000000b, ethertype: 0x86dd, payload: l3 }));
      settle(clock, [t.stack]);
    },
    run: (ms: number) => runFor(clock, [t.stack], ms),
    close: () => closeAndCheckLeaks(t),
  };
  if (o.settle !== false) {
    h.run(5000);
    out();
  }
  return h;
}

const groupsOf = (m: Msg) => (m.repr.kind === 'reportV2' ? m.repr.records.map((r) => `${r.recordType}:${formatIpv6(r.multicastAddress)}`) : []);
const sn = (a: string) => formatIpv6(solicitedNodeAddress(ip(a)));

describe('MLDv2 reports (RFC 3810 §6)', () => {
  it('address configuration reports the solicited-node groups, from :: while the link-local address is tentative (§5.2.13)', () => {
    const h = host({ settle: false });
    h.run(10);
    const first = h.out();
    expect(first.length).toBeGreaterThanOrEqual(1);
    expect(first[0]).toMatchObject({ src: '::', dst: 'ff02::16', hopLimit: 1, routerAlert: 0 });
    expect([...new Set(first.flatMap(groupsOf))].sort()).toEqual([`4:${sn('2001:db8::1')}`, `4:${formatIpv6(solicitedNodeAddress(H_LL))}`].sort());
    // ff02::1 is never reported.
    expect(first.flatMap(groupsOf).some((g) => g.endsWith('ff02::1'))).toBe(false);
    h.close();
  });

  it('joins are reference counted: the second join and the first leave send nothing; the last leave sends CHANGE_TO_INCLUDE twice', () => {
    const h = host();
    h.mld.join(h.iface, G1, h.clock.now);
    h.mld.join(h.iface, G1, h.clock.now);
    h.run(2000);
    expect(h.out().flatMap(groupsOf)).toEqual([`4:${formatIpv6(G1)}`, `4:${formatIpv6(G1)}`]);
    h.mld.leave(h.iface, G1, h.clock.now);
    h.run(2000);
    expect(h.out()).toEqual([]);
    expect(h.ip.isMember(h.iface, G1)).toBe(true);
    h.mld.leave(h.iface, G1, h.clock.now);
    h.run(2000);
    expect(h.out().flatMap(groupsOf)).toEqual([`3:${formatIpv6(G1)}`, `3:${formatIpv6(G1)}`]);
    expect(h.ip.isMember(h.iface, G1)).toBe(false);
    h.close();
  });
});

describe('MLDv2 queries (RFC 3810 §6.2, §6.3)', () => {
  it('a General Query is answered within Maximum Response Delay with MODE_IS_EXCLUDE for every reportable group', () => {
    const h = host();
    h.mld.join(h.iface, G1, h.clock.now);
    h.run(3000);
    h.out();
    h.query((s) => mldV2Query({ maxResp: 1000 }, s));
    h.run(999);
    const [r, ...rest] = h.out();
    expect(rest).toEqual([]);
    expect(groupsOf(r!).sort()).toEqual([`2:${formatIpv6(G1)}`, `2:${sn('2001:db8::1')}`, `2:${formatIpv6(solicitedNodeAddress(H_LL))}`].sort());
    h.close();
  });

  it('a Group-Specific Query gets a record for that group only; a query for a group we are not in gets nothing', () => {
    const h = host();
    h.mld.join(h.iface, G1, h.clock.now);
    h.mld.join(h.iface, G2, h.clock.now);
    h.run(3000);
    h.out();
    h.query((s) => mldV2Query({ maxResp: 500, group: G2 }, s), G2);
    h.query((s) => mldV2Query({ maxResp: 500, group: ip('ff05::99') }, s), ip('ff05::99'));
    h.run(600);
    expect(h.out().flatMap(groupsOf)).toEqual([`2:${formatIpv6(G2)}`]);
    expect(h.stats.get('mld', 'query_not_member')).toBe(0); // ff05::99's MAC is not in the filter: dropped at the link
    h.close();
  });

  it('a Group-and-Source-Specific Query is answered with MODE_IS_INCLUDE of the queried sources (EXCLUDE {} state)', () => {
    const h = host();
    h.mld.join(h.iface, G1, h.clock.now);
    h.run(3000);
    h.out();
    const S1 = ip('2001:db8::a');
    const S2 = ip('2001:db8::b');
    h.query((s) => mldV2Query({ maxResp: 500, group: G1, sources: [S1, S2] }, s), G1);
    h.run(600);
    const [r] = h.out();
    expect(r!.repr.kind === 'reportV2' && r!.repr.records).toEqual([{ recordType: MldRecordType.MODE_IS_INCLUDE, multicastAddress: G1, sources: [S1, S2] }]);
    h.close();
  });

  it('splits a long report to fit the link MTU', () => {
    const h = host({ mtu: 1280, ipv6: { maxGroupsPerInterface: 100 } });
    for (let i = 0; i < 70; i++) h.mld.join(h.iface, ip(`ff05::2:${i.toString(16)}`), h.clock.now);
    h.run(3000);
    h.out();
    h.query((s) => mldV2Query({ maxResp: 100 }, s));
    h.run(200);
    const reports = h.out();
    expect(reports.map((m) => groupsOf(m).length)).toEqual([61, 11]); // 70 joined + 2 solicited-node groups
    h.close();
  });
});

describe('MLDv1 compatibility (RFC 3810 §8.2, RFC 2710 §4)', () => {
  it('a v1 query switches to v1 reports (to the group), suppression by other reports, Done on leave; v2 again after the timeout', () => {
    const h = host();
    h.mld.join(h.iface, G1, h.clock.now);
    h.mld.join(h.iface, G2, h.clock.now);
    h.run(3000);
    h.out();
    h.query((s) => mldV1(130, 1000, new Uint8Array(16), s));
    expect(h.mld.version(h.iface, h.clock.now)).toBe(1);
    // Another listener reports G2 first: ours is suppressed.
    h.query((s) => mldV1(131, 0, G2, s), G2);
    h.run(1000);
    const v1 = h.out();
    expect(v1.every((m) => m.repr.kind === 'report' && m.hopLimit === 1 && m.routerAlert === 0)).toBe(true);
    const reported = v1.map((m) => (m.repr.kind === 'report' ? formatIpv6(m.repr.multicastAddress) : '')).sort();
    expect(reported).toEqual([formatIpv6(G1), sn('2001:db8::1'), formatIpv6(solicitedNodeAddress(H_LL))].sort());
    expect(v1.find((m) => m.repr.kind === 'report' && formatIpv6(m.repr.multicastAddress) === formatIpv6(G1))!.dst).toBe(formatIpv6(G1));
    expect(h.stats.get('mld', 'report_suppressed')).toBe(1);
    h.mld.leave(h.iface, G1, h.clock.now);
    const done = h.out();
    expect(done.map((m) => [m.repr.kind, m.dst])).toEqual([['done', 'ff02::2']]);
    // Older Version Querier Present Timeout: 2 × 125 s + 10 s.
    h.run(260_000);
    expect(h.mld.version(h.iface, h.clock.now)).toBe(2);
    h.out();
    h.mld.join(h.iface, G1, h.clock.now);
    expect(h.out().map((m) => m.repr.kind)).toEqual(['reportV2']);
    h.close();
  });
});
