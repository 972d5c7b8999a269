// Two full IPv6 stacks (ipv6, icmpv6, ndp, mld, slaac) over an in-memory cable with a fake clock:
// link-local addresses and DAD, ping6 both ways (incl. fragmented output), NUD, router mode + SLAAC,
// DAD conflicts and MLD joins. A tap on each end records what the stack transmitted.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module } from '../../src/core/icmpv6.js';
import { Ipv6Module, linkLocalFromMac, solicitedNodeAddress } from '../../src/core/ipv6.js';
import { Ipv6ReassemblyModule } from '../../src/core/ipv6-reassembly.js';
import { MldModule } from '../../src/core/mld.js';
import { NdpModule, type NdpOptions } from '../../src/core/ndp.js';
import { SlaacModule, type SlaacOptions } from '../../src/core/slaac.js';
import { LinkDecorator, createMemoryPair } from '../../src/phy/index.js';
import { type Ipv6Address, formatIpv6, ipv6MulticastMac, parseIpv6 } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { Ipv6ParamProblem, walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { FakeClock, type TestStack, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const MAC_A = 0x02000000000a;
const MAC_B = 0x02000000000b;
const LL_A = linkLocalFromMac(MAC_A);
const LL_B = linkLocalFromMac(MAC_B);
const ip = (s: string): Ipv6Address => parseIpv6(s)!;

class Tap extends LinkDecorator {
  readonly sent: Uint8Array[] = [];
  readonly times: number[] = [];
  clock: FakeClock | undefined;
  override transmit(frame: Uint8Array): boolean {
    const ok = this.inner.transmit(frame);
    if (ok) {
      this.sent.push(frame.slice());
      this.times.push(this.clock?.now ?? 0);
    }
    return ok;
  }
}

interface Decoded {
  dstMac: number;
  src: string;
  dst: string;
  hopLimit: number;
  fragment: boolean;
  routerAlert: number;
  proto: number;
  icmpType: number;
  len: number;
}

function decode(frame: Uint8Array): Decoded | null {
  const e = EthernetFrame.check(frame);
  if (isWireError(e) || e.ethertype !== 0x86dd) return null;
  const p = Ipv6Packet.check(frame, e.payloadOffset, e.payloadLength);
  if (isWireError(p)) return null;
  const c = walkIpv6Chain(p);
  if (c instanceof Ipv6ParamProblem) return null;
  const upper = p.off + c.upperOffset;
  return {
    dstMac: e.dst,
    src: formatIpv6(p.src),
    dst: formatIpv6(p.dst),
    hopLimit: p.hopLimit,
    fragment: c.fragment !== null,
    routerAlert: c.routerAlert,
    proto: c.upperProtocol,
    icmpType: c.upperProtocol === 58 && (c.fragment === null || c.fragment.fragOffset === 0) ? frame[upper]! : -1,
    len: p.len,
  };
}

function modules(ndp: Partial<NdpOptions> = {}, slaac: Partial<SlaacOptions> = {}, reassembly = false) {
  return [new Ipv6Module(), new Icmpv6Module(), new NdpModule(ndp), new MldModule(), new SlaacModule(slaac), ...(reassembly ? [new Ipv6ReassemblyModule()] : [])];
}

function twoHosts(o: { addrA?: string[]; addrB?: string[]; ndp?: Partial<NdpOptions>; slaacA?: Partial<SlaacOptions>; slaacB?: Partial<SlaacOptions>; settle?: boolean; reassembly?: boolean } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const tapA = new Tap(pair.a);
  const tapB = new Tap(pair.b);
  tapA.clock = clock;
  tapB.clock = clock;
  const a = testStack('a', modules(o.ndp, o.slaacA, o.reassembly));
  const b = testStack('b', modules(o.ndp, o.slaacB, o.reassembly));
  const ia = a.stack.addInterface(tapA, { mac: MAC_A, addresses: o.addrA ?? [] }, clock.now);
  const ib = b.stack.addInterface(tapB, { mac: MAC_B, addresses: o.addrB ?? [] }, clock.now);
  const stacks = [a.stack, b.stack];
  if (o.settle !== false) runFor(clock, stacks, 3000);
  const m = (t: TestStack) => ({
    ip: t.stack.module<Ipv6Module>('ipv6')!,
    icmp: t.stack.module<Icmpv6Module>('icmpv6')!,
    ndp: t.stack.module<NdpModule>('ndp')!,
    mld: t.stack.module<MldModule>('mld')!,
    slaac: t.stack.module<SlaacModule>('slaac')!,
  });
  return { clock, pair, tapA, tapB, a, b, ia, ib, stacks, A: m(a), B: m(b) };
}

describe('IPv6 between two stacks: addresses and DAD (RFC 4862 §5.4, RFC 4291 §2.5.1)', () => {
  it('forms fe80::/64 + modified EUI-64 link-local addresses, probes them once from :: with a nonce, then assigns them', () => {
    const t = twoHosts({ settle: false });
    // Tentative at first: not usable, not in iface.ipv6.
    // 02:00:00:00:00:0a → 0000:00ff:fe00:000a (U/L bit flipped, ff:fe inserted).
    expect(t.A.ip.addresses(t.ia).map((a) => [formatIpv6(a.address), a.state])).toEqual([['fe80::ff:fe00:a', 'tentative']]);
    expect(t.ia.ipv6).toEqual([]);
    expect(t.ia.multicastMacs.has(ipv6MulticastMac(solicitedNodeAddress(LL_A)))).toBe(true);
    runFor(t.clock, t.stacks, 3000);
    expect(t.A.ip.addresses(t.ia)[0]!.state).toBe('preferred');
    expect(t.ia.ipv6.map((c) => formatIpv6(c.address))).toEqual(['fe80::ff:fe00:a']);
    expect(t.ib.ipv6.map((c) => formatIpv6(c.address))).toEqual(['fe80::ff:fe00:b']);
    expect(t.a.stack.stats.get('ndp', 'dad_ns_sent')).toBe(1);
    expect(t.a.stack.stats.get('ndp', 'dad_succeeded')).toBe(1);
    const dadNs = t.tapA.sent.map(decode).filter((d) => d?.icmpType === 135);
    expect(dadNs).toHaveLength(1);
    expect(dadNs[0]).toMatchObject({ src: '::', dst: formatIpv6(solicitedNodeAddress(LL_A)), hopLimit: 255 });
    closeAndCheckLeaks(t.a, t.b);
  });

  it('DAD conflict: a static address already in use by the peer is marked duplicate and never used (RFC 4862 §5.4.5)', () => {
    const t = twoHosts({ addrA: ['2001:db8::5/64'] });
    expect(t.A.ip.findAddress(t.ia, ip('2001:db8::5'))!.state).toBe('preferred');
    // B claims the same address on the shared link after A: A defends with an NA to all-nodes.
    t.B.ip.addAddress(t.ib, ip('2001:db8::5'), 64, t.clock.now);
    runFor(t.clock, t.stacks, 3000);
    expect(t.a.stack.stats.get('ndp', 'dad_defended')).toBe(1);
    expect(t.B.ip.findAddress(t.ib, ip('2001:db8::5'))!.state).toBe('duplicate');
    expect(t.ib.ipv6.some((c) => formatIpv6(c.address) === '2001:db8::5')).toBe(false);
    expect(t.b.stack.stats.get('ndp', 'dad_conflicts')).toBe(1);
    // A keeps its address.
    expect(t.A.ip.findAddress(t.ia, ip('2001:db8::5'))!.state).toBe('preferred');
    closeAndCheckLeaks(t.a, t.b);
  });

  it('DAD conflict: when both stacks probe one address, the later prober hears a foreign probe (nonce not its own) and gives it up', () => {
    const t = twoHosts({ addrA: ['2001:db8::7/64'], addrB: ['2001:db8::7/64'], settle: false });
    runFor(t.clock, t.stacks, 3000);
    const states = [t.A.ip.findAddress(t.ia, ip('2001:db8::7'))!.state, t.B.ip.findAddress(t.ib, ip('2001:db8::7'))!.state].sort();
    expect(states).toEqual(['duplicate', 'preferred']);
    expect(t.a.stack.stats.get('ndp', 'dad_conflicts') + t.b.stack.stats.get('ndp', 'dad_conflicts')).toBe(1);
    // Their link-local addresses were unaffected.
    expect(t.A.ip.linkLocalAddress(t.ia)).toEqual(LL_A);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('ping6 between two stacks (RFC 4443 §4, RFC 4861 §7.2)', () => {
  it('resolves the neighbour with NS/NA and gets echo replies both ways over link-local and global addresses', () => {
    const t = twoHosts({ addrA: ['2001:db8::1/64'], addrB: ['2001:db8::2/64'] });
    const got: string[] = [];
    t.A.icmp.onEchoReply(7, (from, _i, seq, data) => got.push(`A<-${formatIpv6(from)}#${seq}:${data.length}`));
    t.B.icmp.onEchoReply(8, (from, _i, seq, data) => got.push(`B<-${formatIpv6(from)}#${seq}:${data.length}`));
    expect(t.A.icmp.sendEchoRequest(LL_B, 7, 1, new Uint8Array(32), t.clock.now, { iface: t.ia })).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(t.A.icmp.sendEchoRequest(ip('2001:db8::2'), 7, 2, new Uint8Array(100), t.clock.now)).toBeUndefined();
    expect(t.B.icmp.sendEchoRequest(ip('2001:db8::1'), 8, 3, new Uint8Array(0), t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(got).toEqual([`A<-${formatIpv6(LL_B)}#1:32`, 'A<-2001:db8::2#2:100', 'B<-2001:db8::1#3:0']);
    // One multicast NS per new neighbour (LL_B, then 2001:db8::2); B learnt A from the NS SLLA.
    expect(t.a.stack.stats.get('ndp', 'ns_sent')).toBe(2);
    expect(t.A.ndp.neighbor(t.ia, LL_B)).toMatchObject({ mac: MAC_B });
    const ns = t.tapA.sent.map(decode).filter((d) => d?.icmpType === 135 && d.src !== '::');
    expect(ns[0]).toMatchObject({ dst: formatIpv6(solicitedNodeAddress(LL_B)), hopLimit: 255, dstMac: ipv6MulticastMac(solicitedNodeAddress(LL_B)) });
    // Global destination: RFC 6724 picks the global source, not the link-local one.
    const echo = t.tapA.sent.map(decode).filter((d) => d?.icmpType === 128);
    expect(echo.map((d) => d!.src)).toEqual([formatIpv6(LL_A), '2001:db8::1']);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('fragments a 4000-byte echo to the 1500-byte MTU (RFC 8200 §4.5); without reassembly the receiver drops and counts the fragments', () => {
    const t = twoHosts({ addrA: ['2001:db8::1/64'], addrB: ['2001:db8::2/64'] });
    t.A.icmp.sendEchoRequest(ip('2001:db8::2'), 9, 1, new Uint8Array(4000).fill(0x5a), t.clock.now);
    settle(t.clock, t.stacks);
    const frags = t.tapA.sent.map(decode).filter((d) => d?.fragment);
    expect(frags.map((d) => d!.len)).toEqual([1496, 1496, 40 + 8 + 4008 - 2 * 1448]);
    expect(t.a.stack.stats.get('ipv6', 'tx_fragments')).toBe(3);
    expect(t.b.stack.stats.drops('ipv6', 'fragment_no_reassembly')).toBe(3);
    expect(t.b.stack.stats.get('icmpv6', 'echo_requests_received')).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('with the reassembly module on both stacks, a 4000-byte ping6 is reassembled and its fragmented reply too', () => {
    const t = twoHosts({ addrA: ['2001:db8::1/64'], addrB: ['2001:db8::2/64'], reassembly: true });
    const got: number[] = [];
    t.A.icmp.onEchoReply(9, (_f, _i, _s, data) => got.push(data.length, data[3999]!));
    t.A.icmp.sendEchoRequest(ip('2001:db8::2'), 9, 1, new Uint8Array(4000).fill(0x5a), t.clock.now);
    settle(t.clock, t.stacks);
    expect(got).toEqual([4000, 0x5a]);
    expect(t.tapB.sent.map(decode).filter((d) => d?.fragment)).toHaveLength(3);
    expect(t.b.stack.stats.get('ipv6', 'reassembled')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('pings its own address through the loopback queue without touching the link', () => {
    const t = twoHosts({ addrA: ['2001:db8::1/64'] });
    const seqs: number[] = [];
    t.A.icmp.onEchoReply(1, (_f, _i, seq) => seqs.push(seq));
    const before = t.tapA.sent.length;
    t.A.icmp.sendEchoRequest(ip('2001:db8::1'), 1, 5, new Uint8Array(8), t.clock.now);
    t.A.icmp.sendEchoRequest(ip('::1'), 1, 6, new Uint8Array(8), t.clock.now);
    settle(t.clock, t.stacks);
    expect(seqs).toEqual([5, 6]);
    expect(t.tapA.sent.length).toBe(before);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('IP-medium links (TUN-like): no link layer, so no NDP or DAD', () => {
  it('assigns addresses at once and pings over bare IPv6 packets', () => {
    const clock = new FakeClock();
    const pair = createMemoryPair({ notify: 'sync', capabilities: { medium: 'ip', mtu: 1500 } });
    const a = testStack('a', modules());
    const b = testStack('b', modules());
    a.stack.addInterface(pair.a, { addresses: ['2001:db8::1/64'] }, clock.now);
    const ib = b.stack.addInterface(pair.b, { addresses: ['2001:db8::2/64'] }, clock.now);
    expect(b.stack.module<Ipv6Module>('ipv6')!.findAddress(ib, ip('2001:db8::2'))!.state).toBe('preferred');
    const seqs: number[] = [];
    const icmpA = a.stack.module<Icmpv6Module>('icmpv6')!;
    icmpA.onEchoReply(1, (_f, _i, seq) => seqs.push(seq));
    icmpA.sendEchoRequest(ip('2001:db8::2'), 1, 1, new Uint8Array(16), clock.now);
    settle(clock, [a.stack, b.stack]);
    expect(seqs).toEqual([1]);
    expect(a.stack.stats.get('ndp', 'ns_sent') + a.stack.stats.get('ndp', 'dad_ns_sent')).toBe(0);
    closeAndCheckLeaks(a, b);
  });
});

describe('NUD (RFC 4861 §7.3, Appendix C)', () => {
  it('walks REACHABLE → STALE → DELAY → PROBE → removed when the neighbour goes silent', () => {
    const t = twoHosts({ addrA: ['2001:db8::1/64'], addrB: ['2001:db8::2/64'] });
    const B = ip('2001:db8::2');
    t.A.icmp.sendEchoRequest(B, 1, 1, new Uint8Array(8), t.clock.now);
    settle(t.clock, t.stacks);
    expect(t.A.ndp.neighbor(t.ia, B)!.state).toBe('REACHABLE');
    // ReachableTime is random in [15, 45] s with the 30 s base.
    runFor(t.clock, t.stacks, 46_000);
    expect(t.A.ndp.neighbor(t.ia, B)!.state).toBe('STALE');
    // B goes silent: cut the cable's B side from answering by closing B's interface.
    t.ib.adminUp = false;
    t.A.icmp.sendEchoRequest(B, 1, 2, new Uint8Array(8), t.clock.now);
    settle(t.clock, t.stacks);
    expect(t.A.ndp.neighbor(t.ia, B)!.state).toBe('DELAY');
    runFor(t.clock, t.stacks, 5000);
    expect(t.A.ndp.neighbor(t.ia, B)!.state).toBe('PROBE');
    const probes = t.tapA.sent.map(decode).filter((d) => d?.icmpType === 135 && d.dst === '2001:db8::2');
    expect(probes.length).toBe(1);
    expect(probes[0]!.dstMac).toBe(MAC_B); // unicast probe to the cached address
    runFor(t.clock, t.stacks, 3000);
    expect(t.A.ndp.neighbor(t.ia, B)).toBeUndefined();
    expect(t.a.stack.stats.get('ndp', 'ns_probes_sent')).toBe(3);
    expect(t.a.stack.stats.get('ndp', 'nud_failed')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('a DELAY entry confirmed by a solicited NA goes back to REACHABLE without probing', () => {
    const t = twoHosts({ addrA: ['2001:db8::1/64'], addrB: ['2001:db8::2/64'] });
    const B = ip('2001:db8::2');
    t.A.icmp.sendEchoRequest(B, 1, 1, new Uint8Array(8), t.clock.now);
    runFor(t.clock, t.stacks, 46_000);
    expect(t.A.ndp.neighbor(t.ia, B)!.state).toBe('STALE');
    t.A.icmp.sendEchoRequest(B, 1, 2, new Uint8Array(8), t.clock.now);
    settle(t.clock, t.stacks);
    expect(t.A.ndp.neighbor(t.ia, B)!.state).toBe('DELAY');
    t.A.ndp.confirmReachable(t.ia, B, t.clock.now); // e.g. TCP progress
    expect(t.A.ndp.neighbor(t.ia, B)!.state).toBe('REACHABLE');
    runFor(t.clock, t.stacks, 6000);
    expect(t.a.stack.stats.get('ndp', 'ns_probes_sent')).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('router mode + SLAAC (RFC 4861 §6.2, RFC 4862 §5.5)', () => {
  it('stack A advertises 2001:db8:1::/64; stack B autoconfigures a stable-privacy address and a default route via A', () => {
    const t = twoHosts({
      addrA: ['2001:db8:1::1/64'],
      slaacA: { router: { prefixes: [{ prefix: '2001:db8:1::/64' }], dnsServers: ['2001:db8:1::53'], mtu: 1400 } },
      slaacB: { secret: new Uint8Array(32).fill(7) },
      settle: false,
    });
    runFor(t.clock, t.stacks, 6000);
    const ras = t.tapA.sent.map(decode).filter((d) => d?.icmpType === 134);
    expect(ras.length).toBeGreaterThanOrEqual(1);
    expect(ras[0]).toMatchObject({ src: formatIpv6(LL_A), dst: 'ff02::1', hopLimit: 255 });
    const auto = t.B.slaac.addresses(t.ib);
    expect(auto).toHaveLength(1);
    const addr = auto[0]!;
    expect(formatIpv6(addr).startsWith('2001:db8:1:0:')).toBe(true);
    // RFC 7217: the identifier is not the EUI-64 one and is reproducible from the same secret.
    expect(addr.subarray(8)).not.toEqual(LL_B.subarray(8));
    expect(t.B.slaac.interfaceId(addr, t.ib, 0)).toEqual(addr.subarray(8));
    expect(t.B.ip.findAddress(t.ib, addr)!.state).toBe('preferred');
    const def = t.b.stack.routes6.list().find((r) => r.prefixLen === 0)!;
    expect(formatIpv6(def.gateway!)).toBe(formatIpv6(LL_A));
    expect(t.B.ndp.dnsServers()).toEqual([ip('2001:db8:1::53')]);
    expect(t.B.ip.linkMtu(t.ib)).toBe(1400);
    // B reaches an off-prefix destination through A (the default router) and A's global address on-link.
    const seqs: number[] = [];
    t.B.icmp.onEchoReply(3, (_f, _i, seq) => seqs.push(seq));
    t.B.icmp.sendEchoRequest(ip('2001:db8:1::1'), 3, 1, new Uint8Array(4), t.clock.now);
    settle(t.clock, t.stacks);
    expect(seqs).toEqual([1]);
    const echo = t.tapB.sent.map(decode).find((d) => d?.icmpType === 128)!;
    expect(echo.src).toBe(formatIpv6(addr));
    const r = t.B.ip.route(ip('2001:db8:99::1'));
    expect(typeof r === 'string' ? r : formatIpv6(r.nextHop)).toBe(formatIpv6(LL_A));
    closeAndCheckLeaks(t.a, t.b);
  });

  it('an RS from a new host is answered within MAX_RA_DELAY_TIME, not after the periodic interval', () => {
    const t = twoHosts({ slaacA: { router: { prefixes: [{ prefix: '2001:db8:2::/64' }], maxInterval: 600_000_000 as never } }, settle: false });
    runFor(t.clock, t.stacks, 60_000);
    // The first three RAs came at most 16 s apart (RFC 4861 §6.2.4), then the interval grows.
    expect(t.a.stack.stats.get('slaac', 'ra_sent')).toBe(4);
    const mark = t.tapA.sent.length;
    // B re-solicits after its link flaps; A answers well before its next periodic RA.
    t.pair.setUp(false);
    t.pair.setUp(true);
    runFor(t.clock, t.stacks, 4000);
    const rs = t.tapB.sent.map(decode).findIndex((d, i) => d?.icmpType === 133 && t.tapB.times[i]! > t.tapA.times[mark - 1]!);
    expect(rs).toBeGreaterThanOrEqual(0);
    expect(t.tapB.sent.map(decode)[rs]).toMatchObject({ dst: 'ff02::2', src: formatIpv6(LL_B), hopLimit: 255 });
    const ra = t.tapA.sent.slice(mark).map(decode).findIndex((d) => d?.icmpType === 134);
    const delay = t.tapA.times[mark + ra]! - t.tapB.times[rs]!;
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(500_000);
    expect(t.a.stack.stats.get('slaac', 'ra_solicited')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('MLD (RFC 3810 §6.1) and the link filter', () => {
  it('a join sends a v2 report to ff02::16 with hop limit 1 and router alert; the group then passes the Ethernet filter', () => {
    const t = twoHosts({ addrA: ['2001:db8::1/64'], addrB: ['2001:db8::2/64'] });
    const group = ip('ff05::1:3');
    // Before the join B's link layer drops A's multicast echo.
    t.A.icmp.sendEchoRequest(group, 4, 1, new Uint8Array(4), t.clock.now, { iface: t.ia });
    const filtered = t.b.stack.stats.drops('link', 'not_for_us');
    settle(t.clock, t.stacks);
    expect(t.b.stack.stats.drops('link', 'not_for_us')).toBe(filtered + 1);
    const mark = t.tapB.sent.length;
    expect(t.B.mld.join(t.ib, group, t.clock.now)).toBe(true);
    const reports = t.tapB.sent.slice(mark).map(decode).filter((d) => d?.icmpType === 143);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ dst: 'ff02::16', hopLimit: 1, routerAlert: 0, src: formatIpv6(LL_B), dstMac: ipv6MulticastMac(ip('ff02::16')) });
    expect(t.ib.multicastMacs.has(ipv6MulticastMac(group))).toBe(true);
    // Robustness 2: one retransmission within the Unsolicited Report Interval.
    runFor(t.clock, t.stacks, 1000);
    expect(t.b.stack.stats.get('mld', 'v2_reports_sent')).toBeGreaterThanOrEqual(2);
    const replies: string[] = [];
    t.A.icmp.onEchoReply(4, (from) => replies.push(formatIpv6(from)));
    t.A.icmp.sendEchoRequest(group, 4, 2, new Uint8Array(4), t.clock.now, { iface: t.ia });
    settle(t.clock, t.stacks);
    // Echo to a multicast group is answered from a unicast address (RFC 4443 §4.2).
    expect(replies).toEqual(['2001:db8::2']);
    const leaveMark = t.tapB.sent.length;
    t.B.mld.leave(t.ib, group, t.clock.now);
    expect(t.ib.multicastMacs.has(ipv6MulticastMac(group))).toBe(false);
    expect(t.tapB.sent.slice(leaveMark).map(decode).filter((d) => d?.icmpType === 143)).toHaveLength(1);
    closeAndCheckLeaks(t.a, t.b);
  });
});
