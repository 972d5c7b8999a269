// IPv4 and ICMPv4 against the Linux kernel (issue 3, "Tests"): our stack on a TAP in a private
// namespace (fixtures/linux-peer.ts), Linux on the other side. Linux pings us with ping(8), small and
// 4000-byte (our reassembly, our fragmented replies, Linux reassembling them), and we ping Linux with
// NodeStack.ping (Linux reassembling our fragments, we reassembling its fragmented replies). Linux's
// own counters (/proc/net/snmp in the namespace) are the witness of what the kernel accepted.
// Needs root, /dev/net/tun, iproute2, vde_plug and iputils ping.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatIpv4, formatMac } from '../../src/wire/address.js';
import { ArpOp, ArpPacket } from '../../src/wire/arp.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { EtherType } from '../../src/wire/ethertype.js';
import { isWireError } from '../../src/wire/error.js';
import { IpProtocol } from '../../src/wire/ip-protocol.js';
import { NET_BINARIES, describeNet } from '../support/netns.js';
import {
  LINUX_IP4,
  STACK_IP4,
  STACK_MAC,
  TAP,
  counter,
  fragmentsIn,
  linuxSnmp,
  openLinuxPeer,
  parsePing,
  waitUntil,
  snmpDelta,
  unexpectedDrops,
} from './fixtures/linux-peer.js';
import type { LinuxPeer, LoggedFrame } from './fixtures/linux-peer.js';

interface ArpSeen {
  readonly dir: 'tx' | 'rx';
  readonly at: number;
  readonly ethDst: string;
  readonly op: number;
  readonly spa: string;
  readonly tpa: string;
  readonly sha: string;
}

function arpIn(frames: readonly LoggedFrame[]): ArpSeen[] {
  const out: ArpSeen[] = [];
  for (const f of frames) {
    const eth = EthernetFrame.check(f.bytes);
    if (isWireError(eth) || eth.ethertype !== EtherType.ARP) continue;
    const p = ArpPacket.check(f.bytes, eth.payloadOffset, eth.payloadLength);
    if (isWireError(p)) continue;
    out.push({ dir: f.dir, at: f.at, ethDst: formatMac(eth.dst), op: p.oper, spa: formatIpv4(p.spa), tpa: formatIpv4(p.tpa), sha: formatMac(p.sha) });
  }
  return out;
}

/** 4000 data bytes + 8 ICMP + 20 IP = 4028: 1480 + 1480 + 1048 on a 1500-byte MTU. */
const BIG = 4000;
const BIG_FRAGMENT_OFFSETS = [0, 1480, 2960];

describeNet('IPv4 against the Linux kernel over a TAP', () => {
  let peer: LinuxPeer;

  beforeAll(async () => {
    peer = await openLinuxPeer({ label: 'ipv4', stackAddresses: [`${STACK_IP4}/24`] });
  });

  afterAll(async () => {
    // destroy() also checks that the namespace and the plug are gone.
    await peer?.destroy();
  });

  it('linux_pings_us_all_replies_from_our_address_and_mac', async () => {
    const before = peer.stack.stats();
    const r = await peer.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', STACK_IP4], { timeoutMs: 20_000, allowFail: true });
    const out = parsePing(r.stdout);
    const after = peer.stack.stats();
    expect(out, `${r.stdout}${r.stderr}\n  ${peer.log.tail()}`).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0, trouble: [] });
    expect(out.replies.map((x) => [x.seq, x.bytes, x.from, x.ttl])).toEqual([1, 2, 3].map((s) => [s, 64, STACK_IP4, 64]));
    expect(r.code).toBe(0);
    expect(counter(after, 'icmpv4', 'echo_requests_received') - counter(before, 'icmpv4', 'echo_requests_received')).toBe(3);
    expect(counter(after, 'icmpv4', 'echo_replies_sent') - counter(before, 'icmpv4', 'echo_replies_sent')).toBe(3);
    expect(unexpectedDrops(before, after)).toEqual({});
    // The kernel resolved us through ARP to our MAC.
    const neigh = await peer.exec('ip', ['-j', 'neigh', 'show', STACK_IP4, 'dev', TAP]);
    const entries = JSON.parse(neigh.stdout) as Array<{ dst: string; lladdr?: string; state: string[] }>;
    expect(entries.map((e) => [e.dst, e.lladdr])).toEqual([[STACK_IP4, STACK_MAC]]);
  });

  it('linux_pings_us_4000_bytes_we_reassemble_and_linux_reassembles_our_fragmented_replies', async () => {
    const before = peer.stack.stats();
    const snmp0 = await linuxSnmp(peer.topo, peer.ns);
    const mark = peer.log.mark();
    // -p: a data pattern, so that ping(8) checks every echoed byte ("wrong data byte" otherwise).
    const r = await peer.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', String(BIG), '-p', 'a55a0ff0c3', STACK_IP4], { timeoutMs: 20_000, allowFail: true });
    const out = parsePing(r.stdout);
    const after = peer.stack.stats();
    const snmp1 = await linuxSnmp(peer.topo, peer.ns);
    expect(out, `${r.stdout}${r.stderr}\n  ${peer.log.tail()}`).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0, trouble: [] });
    expect(out.replies.map((x) => [x.seq, x.bytes, x.from])).toEqual([1, 2, 3].map((s) => [s, BIG + 8, STACK_IP4]));
    // Our side: 3 requests of 3 fragments each reassembled, 3 replies sent as 3 fragments each.
    expect(counter(after, 'ipv4-reassembly', 'reassembled') - counter(before, 'ipv4-reassembly', 'reassembled')).toBe(3);
    expect(counter(after, 'icmpv4', 'echo_replies_sent') - counter(before, 'icmpv4', 'echo_replies_sent')).toBe(3);
    expect(unexpectedDrops(before, after)).toEqual({});
    const frags = fragmentsIn(peer.log.since(mark, 'tx')).filter((f) => f.protocol === IpProtocol.ICMP);
    expect(frags.length).toBe(9);
    for (const f of frags) expect(f.frameLen).toBeLessThanOrEqual(1514);
    const idents = [...new Set(frags.map((f) => f.ident))];
    expect(idents.length).toBe(3);
    for (const id of idents) {
      const mine = frags.filter((f) => f.ident === id);
      expect(mine.map((f) => [f.offset, f.more])).toEqual(BIG_FRAGMENT_OFFSETS.map((o, i) => [o, i < 2]));
    }
    // Linux's side: it reassembled our 3 replies (9 fragments) and failed none.
    expect(snmpDelta(snmp0, snmp1, 'Ip.ReasmOKs')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip.ReasmReqds')).toBe(9);
    expect(snmpDelta(snmp0, snmp1, 'Ip.ReasmFails')).toBe(0);
    expect(snmpDelta(snmp0, snmp1, 'Icmp.InEchoReps')).toBe(3);
  });

  it('we_ping_linux_all_replies_with_rtts', async () => {
    const snmp0 = await linuxSnmp(peer.topo, peer.ns);
    const res = await peer.stack.ping(LINUX_IP4, { count: 3, interval: 200, timeout: 3000 });
    const snmp1 = await linuxSnmp(peer.topo, peer.ns);
    expect(res, peer.log.tail()).toMatchObject({ address: LINUX_IP4, family: 'IPv4', transmitted: 3, received: 3, lossPercent: 0 });
    for (const p of res.probes) {
      expect(p.error).toBeUndefined();
      expect(p.rttMs).not.toBeNull();
      expect(p.rttMs!).toBeGreaterThan(0);
      expect(p.rttMs!).toBeLessThan(3000);
      expect(p.bytes).toBe(64);
      expect(p.ttl).toBe(64);
    }
    expect(res.probes.map((p) => p.seq)).toEqual([1, 2, 3]);
    expect(res.minMs).not.toBeNull();
    expect(snmpDelta(snmp0, snmp1, 'Icmp.InEchos')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Icmp.OutEchoReps')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip.InHdrErrors')).toBe(0);
  });

  it('we_ping_linux_4000_bytes_linux_reassembles_ours_and_we_reassemble_its_replies', async () => {
    const before = peer.stack.stats();
    const snmp0 = await linuxSnmp(peer.topo, peer.ns);
    const mark = peer.log.mark();
    const res = await peer.stack.ping(LINUX_IP4, { count: 3, size: BIG, interval: 200, timeout: 3000 });
    const after = peer.stack.stats();
    const snmp1 = await linuxSnmp(peer.topo, peer.ns);
    expect(res, peer.log.tail()).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0 });
    for (const p of res.probes) {
      expect(p.rttMs).not.toBeNull();
      expect(p.bytes).toBe(BIG + 8);
      expect(p.ttl).toBe(64);
    }
    // Our requests went out as 3 fragments each, no frame above the MTU.
    const frags = fragmentsIn(peer.log.since(mark, 'tx')).filter((f) => f.protocol === IpProtocol.ICMP);
    expect(frags.map((f) => f.offset)).toEqual([...BIG_FRAGMENT_OFFSETS, ...BIG_FRAGMENT_OFFSETS, ...BIG_FRAGMENT_OFFSETS]);
    for (const f of frags) expect(f.frameLen).toBeLessThanOrEqual(1514);
    // Linux reassembled all three and answered with fragmented replies, which we reassembled.
    expect(snmpDelta(snmp0, snmp1, 'Ip.ReasmOKs')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip.ReasmFails')).toBe(0);
    expect(snmpDelta(snmp0, snmp1, 'Icmp.InEchos')).toBe(3);
    expect(snmpDelta(snmp0, snmp1, 'Ip.FragCreates')).toBe(9);
    expect(counter(after, 'ipv4-reassembly', 'reassembled') - counter(before, 'ipv4-reassembly', 'reassembled')).toBe(3);
    expect(unexpectedDrops(before, after)).toEqual({});
  });

  it('kernel_unicast_arp_probe_of_a_stale_entry_is_answered_and_the_entry_becomes_reachable', async () => {
    // A STALE entry for us in the kernel, used for Linux's echo request, goes to DELAY and about 5 s
    // later Linux confirms it with a unicast request (PROBE; RFC 1122 §2.3.2.1, Linux NUD).
    await peer.exec('ip', ['neigh', 'replace', STACK_IP4, 'lladdr', STACK_MAC, 'nud', 'stale', 'dev', TAP]);
    const mark = peer.log.mark();
    const r = await peer.exec('ping', ['-c', '1', '-W', '2', STACK_IP4], { timeoutMs: 10_000, allowFail: true });
    expect(parsePing(r.stdout).received).toBe(1);
    const probed = await waitUntil(() => arpIn(peer.log.since(mark)).some((a) => a.dir === 'rx' && a.op === ArpOp.REQUEST && a.ethDst === STACK_MAC && a.tpa === STACK_IP4), 15_000, 100);
    expect(probed, peer.log.tail()).toBe(true);
    const arps = arpIn(peer.log.since(mark));
    const probe = arps.find((a) => a.dir === 'rx' && a.op === ArpOp.REQUEST && a.ethDst === STACK_MAC)!;
    expect(probe.spa).toBe(LINUX_IP4);
    const answered = await waitUntil(() => arpIn(peer.log.since(mark)).some((a) => a.dir === 'tx' && a.op === ArpOp.REPLY && a.at >= probe.at && a.tpa === LINUX_IP4), 2000);
    expect(answered, peer.log.tail()).toBe(true);
    const reply = arpIn(peer.log.since(mark)).find((a) => a.dir === 'tx' && a.op === ArpOp.REPLY && a.at >= probe.at)!;
    expect(reply).toMatchObject({ ethDst: probe.sha, spa: STACK_IP4, sha: STACK_MAC });
    const reachable = await waitUntil(async () => {
      const n = JSON.parse((await peer.exec('ip', ['-j', 'neigh', 'show', STACK_IP4, 'dev', TAP])).stdout) as Array<{ state: string[] }>;
      return n.length === 1 && n[0]!.state.includes('REACHABLE');
    }, 3000);
    expect(reachable).toBe(true);
  });

  it('we_ping_an_address_nobody_has_and_get_no_reply_and_no_hang', async () => {
    const t0 = Date.now();
    const res = await peer.stack.ping('198.51.100.77', { count: 2, interval: 100, timeout: 1500 });
    expect(res.received).toBe(0);
    expect(res.probes.map((p) => p.rttMs)).toEqual([null, null]);
    expect(res.minMs).toBeNull();
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
}, [...NET_BINARIES, 'ping']);
