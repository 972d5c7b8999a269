// IPv6, ICMPv6, NDP and SLAAC against the Linux kernel (issue 3, "Tests"): our stack on a TAP in a
// private namespace (fixtures/linux-peer.ts). Linux pings us with ping(8) (global and link-local,
// small and 4000-byte: our reassembly, our fragmented replies, Linux reassembling them), we ping
// Linux with NodeStack.ping, the kernel's NUD probe is answered, and in a second topology radvd
// advertises 2001:db8:1::/64 (no default router): our stack forms an address there after DAD and
// Linux reaches it. Linux's /proc/net/snmp6 in the namespace is the witness of what it accepted.
// Needs root, /dev/net/tun, iproute2, vde_plug, iputils ping and radvd (Debian package radvd).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PROTOCOLS } from '../../src/api/stack.js';
import type { Ipv6Module } from '../../src/core/ipv6.js';
import { formatIpv6, formatMac, parseIpv6 } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { EtherType } from '../../src/wire/ethertype.js';
import { isWireError } from '../../src/wire/error.js';
import { Icmpv6Type } from '../../src/wire/icmpv6.js';
import { IpProtocol } from '../../src/wire/ip-protocol.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { NET_BINARIES, describeNet } from '../support/netns.js';
import {
  LINUX_IP4,
  LINUX_IP6,
  STACK_IP4,
  STACK_IP6,
  STACK_MAC,
  TAP,
  counter,
  fragmentsIn,
  linuxSnmp,
  openLinuxPeer,
  parsePing,
  snmpDelta,
  stderrOf,
  stopChild,
  unexpectedDrops,
  waitUntil,
} from './fixtures/linux-peer.js';
import type { LinuxPeer, LoggedFrame } from './fixtures/linux-peer.js';

/** 4000 data + 8 ICMPv6 = 4008 fragmentable bytes; 1500 - 40 - 8 = 1452, rounded down to 1448 per fragment. */
const BIG = 4000;
const BIG_FRAGMENT_OFFSETS = [0, 1448, 2896];

interface NdSeen {
  readonly dir: 'tx' | 'rx';
  readonly at: number;
  readonly ethDst: string;
  readonly src: string;
  readonly dst: string;
  readonly type: number;
  /** NS/NA target address. */
  readonly target: string | null;
}

/** ICMPv6 messages (no extension headers) among `frames`, with the NS/NA target. */
function icmpv6In(frames: readonly LoggedFrame[]): NdSeen[] {
  const out: NdSeen[] = [];
  for (const f of frames) {
    const b = f.bytes;
    const eth = EthernetFrame.check(b);
    if (isWireError(eth) || eth.ethertype !== EtherType.IPV6) continue;
    const p = Ipv6Packet.check(b, eth.payloadOffset, eth.payloadLength);
    if (isWireError(p) || p.nextHeader !== IpProtocol.ICMPV6) continue;
    const o = eth.payloadOffset + 40;
    const type = b[o]!;
    const nsOrNa = type === Icmpv6Type.NEIGHBOR_SOLICITATION || type === Icmpv6Type.NEIGHBOR_ADVERTISEMENT;
    const target = nsOrNa && o + 24 <= b.length ? formatIpv6(b.slice(o + 8, o + 24)) : null;
    out.push({ dir: f.dir, at: f.at, ethDst: formatMac(eth.dst), src: formatIpv6(p.src), dst: formatIpv6(p.dst), type, target });
  }
  return out;
}

function delta(before: ReturnType<LinuxPeer['stack']['stats']>, after: ReturnType<LinuxPeer['stack']['stats']>, layer: string, name: string): number {
  return counter(after, layer, name) - counter(before, layer, name);
}

describeNet('IPv6 against the Linux kernel over a TAP', () => {
  let peer: LinuxPeer;

  beforeAll(async () => {
    peer = await openLinuxPeer({ label: 'ipv6', stackAddresses: [`${STACK_IP6}/64`] });
  });

  afterAll(async () => {
    await peer?.destroy();
  });

  it('our_addresses_passed_dad_link_local_and_global', () => {
    const addrs = peer.ipv6Addresses();
    expect(addrs.map((a) => [a.origin, a.state])).toEqual(expect.arrayContaining([['link-local', 'preferred'], ['static', 'preferred']]));
    expect(addrs.find((a) => a.origin === 'static')!.address).toBe(STACK_IP6);
    expect(addrs.find((a) => a.origin === 'link-local')!.address).toMatch(/^fe80::/);
  });

  it('linux_pings_us_all_replies_from_our_address_and_mac', async () => {
    const before = peer.stack.stats();
    const r = await peer.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', STACK_IP6], { timeoutMs: 20_000, allowFail: true });
    const out = parsePing(r.stdout);
    const after = peer.stack.stats();
    expect(out, `${r.stdout}${r.stderr}\n  ${peer.log.tail()}`).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0, trouble: [] });
    expect(out.replies.map((x) => [x.seq, x.bytes, x.from, x.ttl])).toEqual([1, 2, 3].map((s) => [s, 64, STACK_IP6, 64]));
    expect(delta(before, after, 'icmpv6', 'echo_requests_received')).toBe(3);
    expect(delta(before, after, 'icmpv6', 'echo_replies_sent')).toBe(3);
    expect(unexpectedDrops(before, after)).toEqual({});
    // The kernel resolved us through NDP to our MAC.
    const neigh = JSON.parse((await peer.exec('ip', ['-6', '-j', 'neigh', 'show', STACK_IP6, 'dev', TAP])).stdout) as Array<{ dst: string; lladdr?: string }>;
    expect(neigh.map((e) => [e.dst, e.lladdr])).toEqual([[STACK_IP6, STACK_MAC]]);
  });

  it('linux_pings_our_link_local_address', async () => {
    const ll = peer.ipv6Addresses().find((a) => a.origin === 'link-local')!.address;
    const r = await peer.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', `${ll}%${TAP}`], { timeoutMs: 20_000, allowFail: true });
    const out = parsePing(r.stdout);
    expect(out, `${r.stdout}${r.stderr}\n  ${peer.log.tail()}`).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0, trouble: [] });
    expect(out.replies.map((x) => [x.seq, x.bytes, x.from.replace(/%.*$/, '')])).toEqual([1, 2, 3].map((s) => [s, 64, ll]));
  });

  it('linux_pings_us_4000_bytes_we_reassemble_and_linux_reassembles_our_fragmented_replies', async () => {
    const before = peer.stack.stats();
    const snmp0 = await linuxSnmp(peer.topo, peer.ns);
    const mark = peer.log.mark();
    const r = await peer.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', '-s', String(BIG), '-p', 'a55a0ff0c3', STACK_IP6], { timeoutMs: 20_000, allowFail: true });
    const out = parsePing(r.stdout);
    const after = peer.stack.stats();
    const snmp1 = await linuxSnmp(peer.topo, peer.ns);
    expect(out, `${r.stdout}${r.stderr}\n  ${peer.log.tail()}`).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0, trouble: [] });
    expect(out.replies.map((x) => [x.seq, x.bytes, x.from])).toEqual([1, 2, 3].map((s) => [s, BIG + 8, STACK_IP6]));
    expect(delta(before, after, 'ipv6-reassembly', 'reassembled')).toBe(3);
    expect(delta(before, after, 'icmpv6', 'echo_replies_sent')).toBe(3);
    expect(unexpectedDrops(before, after)).toEqual({});
    const frags = fragmentsIn(peer.log.since(mark, 'tx')).filter((f) => f.protocol === IpProtocol.ICMPV6);
    expect(frags.length).toBe(9);
    for (const f of frags) expect(f.frameLen).toBeLessThanOrEqual(1514);
    const idents = [...new Set(frags.map((f) => f.ident))];
    expect(idents.length).toBe(3);
    for (const id of idents) {
      expect(frags.filter((f) => f.ident === id).map((f) => [f.offset, f.more])).toEqual(BIG_FRAGMENT_OFFSETS.map((o, i) => [o, i < 2]));
    }
    expect(snmpDelta(snmp0, snmp1, 'Ip6ReasmOKs')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip6ReasmReqds')).toBe(9);
    expect(snmpDelta(snmp0, snmp1, 'Ip6ReasmFails')).toBe(0);
    expect(snmpDelta(snmp0, snmp1, 'Icmp6InEchoReplies')).toBe(3);
  });

  it('we_ping_linux_all_replies_with_rtts', async () => {
    const snmp0 = await linuxSnmp(peer.topo, peer.ns);
    const res = await peer.stack.ping(LINUX_IP6, { count: 3, interval: 200, timeout: 3000 });
    const snmp1 = await linuxSnmp(peer.topo, peer.ns);
    expect(res, peer.log.tail()).toMatchObject({ address: LINUX_IP6, family: 'IPv6', transmitted: 3, received: 3, lossPercent: 0 });
    for (const p of res.probes) {
      expect(p.error).toBeUndefined();
      expect(p.rttMs).not.toBeNull();
      expect(p.rttMs!).toBeGreaterThan(0);
      expect(p.rttMs!).toBeLessThan(3000);
      expect(p.bytes).toBe(64);
    }
    expect(snmpDelta(snmp0, snmp1, 'Icmp6InEchos')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Icmp6OutEchoReplies')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip6InHdrErrors')).toBe(0);
  });

  it('we_ping_linux_4000_bytes_linux_reassembles_ours_and_we_reassemble_its_replies', async () => {
    const before = peer.stack.stats();
    const snmp0 = await linuxSnmp(peer.topo, peer.ns);
    const mark = peer.log.mark();
    const res = await peer.stack.ping(LINUX_IP6, { count: 3, size: BIG, interval: 200, timeout: 3000 });
    const after = peer.stack.stats();
    const snmp1 = await linuxSnmp(peer.topo, peer.ns);
    expect(res, peer.log.tail()).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0 });
    for (const p of res.probes) {
      expect(p.rttMs).not.toBeNull();
      expect(p.bytes).toBe(BIG + 8);
    }
    const frags = fragmentsIn(peer.log.since(mark, 'tx')).filter((f) => f.protocol === IpProtocol.ICMPV6);
    expect(frags.map((f) => f.offset)).toEqual([...BIG_FRAGMENT_OFFSETS, ...BIG_FRAGMENT_OFFSETS, ...BIG_FRAGMENT_OFFSETS]);
    for (const f of frags) expect(f.frameLen).toBeLessThanOrEqual(1514);
    expect(snmpDelta(snmp0, snmp1, 'Ip6ReasmOKs')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip6ReasmFails')).toBe(0);
    expect(snmpDelta(snmp0, snmp1, 'Icmp6InEchos')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip6FragCreates')).toBe(9);
    expect(delta(before, after, 'ipv6-reassembly', 'reassembled')).toBe(3);
    expect(unexpectedDrops(before, after)).toEqual({});
  });

  it('kernel_unicast_ns_probe_of_a_stale_entry_is_answered_and_the_entry_becomes_reachable', async () => {
    // RFC 4861 §7.3.3: a STALE entry used for sending goes to DELAY, then PROBE with a unicast NS.
    await peer.exec('ip', ['-6', 'neigh', 'replace', STACK_IP6, 'lladdr', STACK_MAC, 'nud', 'stale', 'dev', TAP]);
    const mark = peer.log.mark();
    const r = await peer.exec('ping', ['-6', '-c', '1', '-W', '2', STACK_IP6], { timeoutMs: 10_000, allowFail: true });
    expect(parsePing(r.stdout).received).toBe(1);
    const isProbe = (m: NdSeen): boolean => m.dir === 'rx' && m.type === Icmpv6Type.NEIGHBOR_SOLICITATION && m.ethDst === STACK_MAC && m.target === STACK_IP6;
    expect(await waitUntil(() => icmpv6In(peer.log.since(mark)).some(isProbe), 15_000, 100), peer.log.tail()).toBe(true);
    const probe = icmpv6In(peer.log.since(mark)).find(isProbe)!;
    expect(probe.dst).toBe(STACK_IP6);
    const isAnswer = (m: NdSeen): boolean => m.dir === 'tx' && m.type === Icmpv6Type.NEIGHBOR_ADVERTISEMENT && m.at >= probe.at && m.target === STACK_IP6;
    expect(await waitUntil(() => icmpv6In(peer.log.since(mark)).some(isAnswer), 2000), peer.log.tail()).toBe(true);
    expect(icmpv6In(peer.log.since(mark)).find(isAnswer)).toMatchObject({ dst: probe.src, src: STACK_IP6 });
    const reachable = await waitUntil(async () => {
      const n = JSON.parse((await peer.exec('ip', ['-6', '-j', 'neigh', 'show', STACK_IP6, 'dev', TAP])).stdout) as Array<{ state: string[] }>;
      return n.length === 1 && n[0]!.state.includes('REACHABLE');
    }, 3000);
    expect(reachable).toBe(true);
  });
}, [...NET_BINARIES, 'ping']);

// ---------------------------------------------------------------- SLAAC from radvd

const SLAAC_PREFIX = '2001:db8:1::';
const LINUX_SLAAC_IP6 = '2001:db8:1::1';
const IPV6_PROTOCOLS: Array<(typeof PROTOCOLS)[number]> = ['arp', 'ipv4', 'ipv4-reassembly', 'icmpv4', 'ipv6', 'ipv6-reassembly', 'icmpv6', 'ndp', 'mld', 'slaac', 'udp'];

function inSlaacPrefix(a: string): boolean {
  const x = parseIpv6(a);
  const p = parseIpv6(SLAAC_PREFIX)!;
  return x !== null && x.subarray(0, 8).every((b, i) => b === p[i]);
}

/** ff02::1:ffXX:XXXX for `a` (RFC 4291 §2.7.1). */
function solicitedNode(a: string): string {
  const b = parseIpv6('ff02::1:ff00:0')!;
  b.set(parseIpv6(a)!.subarray(13), 13);
  return formatIpv6(b);
}

describeNet('SLAAC from radvd in the Linux namespace', () => {
  let peer: LinuxPeer;
  let radvd: ChildProcess | undefined;
  let radvdErr: { text: () => string } = { text: () => '' };

  beforeAll(async () => {
    peer = await openLinuxPeer({
      label: 'slaac',
      // Linux's TAP link-local must be usable at once: radvd sends from it.
      namespace: { noDad: true },
      linuxAddresses: [`${LINUX_IP4}/24`, `${LINUX_SLAAC_IP6}/64`],
      stackAddresses: [`${STACK_IP4}/24`],
      stack: { protocols: IPV6_PROTOCOLS },
      beforeStack: async (topo, ns, dir) => {
        const conf = join(dir, 'radvd.conf');
        // AdvDefaultLifetime 0: a router for the prefix only, never a default router (no default route).
        writeFileSync(
          conf,
          [
            `interface ${TAP} {`,
            '  AdvSendAdvert on;',
            '  MinRtrAdvInterval 3;',
            '  MaxRtrAdvInterval 4;',
            '  AdvDefaultLifetime 0;',
            `  prefix ${SLAAC_PREFIX}/64 {`,
            '    AdvOnLink on;',
            '    AdvAutonomous on;',
            '    AdvValidLifetime 3600;',
            '    AdvPreferredLifetime 1800;',
            '  };',
            '};',
            '',
          ].join('\n'),
        );
        radvd = topo.spawnInNamespace(ns, 'radvd', ['-n', '-C', conf, '-p', join(dir, 'radvd.pid'), '-m', 'stderr', '-d', '1', '-u', 'root'], { stdio: ['ignore', 'ignore', 'pipe'] });
        radvdErr = stderrOf(radvd);
        // radvd dies at once on a bad configuration; give it a moment to say so.
        await waitUntil(() => radvd!.exitCode !== null, 500);
        if (radvd.exitCode !== null) throw new Error(`radvd exited ${radvd.exitCode}: ${radvdErr.text()}`);
      },
    });
  });

  afterAll(async () => {
    if (radvd) await stopChild(radvd);
    await peer?.destroy();
  });

  it('stack_forms_an_address_in_the_advertised_prefix_after_dad', async () => {
    const formed = await waitUntil(() => peer.ipv6Addresses().some((a) => a.origin === 'slaac' && inSlaacPrefix(a.address) && a.state === 'preferred'), 30_000, 100);
    expect(formed, `addresses ${JSON.stringify(peer.ipv6Addresses())}; radvd: ${radvdErr.text()}\n  ${peer.log.tail()}`).toBe(true);
    const mine = peer.ipv6Addresses().filter((a) => a.origin === 'slaac');
    expect(mine.length).toBe(1);
    const addr = mine[0]!.address;
    const stats = peer.stack.stats();
    expect(counter(stats, 'ndp', 'ra_received')).toBeGreaterThanOrEqual(1);
    expect(counter(stats, 'slaac', 'addresses_formed')).toBe(1);
    // DAD (RFC 4862 §5.4.2): an NS from :: for the new address, to its solicited-node group, went out.
    const msgs = icmpv6In(peer.log.frames);
    const ra = msgs.find((m) => m.dir === 'rx' && m.type === Icmpv6Type.ROUTER_ADVERTISEMENT);
    expect(ra, peer.log.tail()).toBeDefined();
    const dad = msgs.find((m) => m.dir === 'tx' && m.type === Icmpv6Type.NEIGHBOR_SOLICITATION && m.target === addr);
    expect(dad).toMatchObject({ src: '::', dst: solicitedNode(addr) });
    expect(dad!.at).toBeGreaterThanOrEqual(ra!.at);
  });

  it('router_lifetime_0_gives_an_on_link_route_and_no_default_route', () => {
    const routes = peer.stack.core.routes6.list();
    expect(routes.filter((r) => r.prefixLen === 0)).toEqual([]);
    const onLink = routes.filter((r) => r.prefixLen === 64 && formatIpv6(r.network) === SLAAC_PREFIX);
    expect(onLink.length).toBe(1);
    expect(onLink[0]!.ifIndex).toBe(peer.iface.index);
    const ip6 = peer.stack.core.module<Ipv6Module>('ipv6')!;
    expect(ip6.route(parseIpv6('2001:db8:99::1')!)).toBe('ENETUNREACH');
  });

  it('linux_pings_our_slaac_address', async () => {
    const addr = peer.ipv6Addresses().find((a) => a.origin === 'slaac')!.address;
    const r = await peer.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', addr], { timeoutMs: 20_000, allowFail: true });
    const out = parsePing(r.stdout);
    expect(out, `${r.stdout}${r.stderr}\n  ${peer.log.tail()}`).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0, trouble: [] });
    expect(out.replies.map((x) => [x.seq, x.from])).toEqual([1, 2, 3].map((s) => [s, addr]));
    // And back: we reach Linux's address in that prefix from ours.
    const res = await peer.stack.ping(LINUX_SLAAC_IP6, { count: 2, interval: 200, timeout: 3000 });
    expect(res.received).toBe(2);
    expect(STACK_IP6).not.toBe(addr);
  });
}, [...NET_BINARIES, 'ping', 'radvd']);
