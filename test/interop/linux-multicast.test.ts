// Multicast group membership against the Linux kernel (issue 3, "Tests": IGMP join seen by the
// kernel's multicast sender), over IPv4 (IGMPv3) and IPv6 (MLDv2), each in its own topology
// (fixtures/linux-peer.ts). tcpdump on the Linux side of the TAP captures what our stack announces and
// tshark decodes it (an independent dissector: checksums verified); socat in the namespace is the
// multicast sender (and, the other way round, a receiver that joined a group we send to).
//   - before a join, a datagram to the group does not reach our socket (dropped by the MAC filter);
//   - addMembership: exactly [Robustness Variable] = 2 unsolicited state-change reports
//     (CHANGE_TO_EXCLUDE {}) reach Linux, then Linux's datagram to the group reaches our socket;
//   - dropMembership: 2 reports with CHANGE_TO_INCLUDE {} reach Linux, later datagrams are not delivered;
//   - we send to a group Linux joined: its socket receives the bytes (multicast MAC mapping on transmit).
// Needs root, /dev/net/tun, iproute2 (ip, ss), vde_plug, socat, tcpdump and tshark.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { RemoteInfo, Socket } from '../../src/api/dgram.js';
import { formatMac } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { EtherType } from '../../src/wire/ethertype.js';
import { isWireError } from '../../src/wire/error.js';
import { IpProtocol } from '../../src/wire/ip-protocol.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
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
  dropCount,
  openLinuxPeer,
  pattern,
  runWithInput,
  sha256,
  sleep,
  startCapture,
  stderrOf,
  stopChild,
  unexpectedDrops,
  waitUdpBound,
  waitUntil,
} from './fixtures/linux-peer.js';
import type { LinuxPeer, LoggedFrame } from './fixtures/linux-peer.js';

/** RFC 3376 §5.1 / RFC 3810 §6.1 record types of unsolicited (state-change) reports. */
const CHANGE_TO_INCLUDE = 3;
const CHANGE_TO_EXCLUDE = 4;
/** Default Robustness Variable: each state change is sent this many times in all. */
const ROBUSTNESS = 2;

interface Family {
  readonly name: 'IPv4' | 'IPv6';
  readonly type: 'udp4' | 'udp6';
  readonly socat: 'UDP4' | 'UDP6';
  readonly linux: string;
  readonly us: string;
  /** The group our socket joins, and its Ethernet mapping (RFC 1112 §6.4, RFC 2464 §7). */
  readonly group: string;
  readonly groupMac: string;
  /** A group Linux joins and we send to. */
  readonly linuxGroup: string;
  readonly linuxGroupMac: string;
  readonly host: (a: string) => string;
  /** socat options that pick the TAP for Linux's multicast sends. */
  readonly sendIf: string;
  /** socat option joining `linuxGroup` on the TAP. */
  readonly joinOpt: string;
  /** Report messages in our own transmit log (to know when to stop the capture). */
  readonly isReport: (f: LoggedFrame) => boolean;
  /** tshark display filter and fields of the report messages. */
  readonly tshark: { filter: string; fields: readonly string[] };
  /** Normalises one tshark row into a comparable record. */
  readonly row: (r: string[]) => Report;
}

interface Report {
  readonly ethDst: string;
  readonly src: string;
  readonly dst: string;
  readonly hopLimit: number;
  readonly routerAlert: boolean;
  readonly checksumGood: boolean;
  readonly records: Array<{ type: number; group: string; sources: number }>;
}

function ipv4Proto(f: LoggedFrame): number | null {
  const eth = EthernetFrame.check(f.bytes);
  if (isWireError(eth) || eth.ethertype !== EtherType.IPV4) return null;
  const p = Ipv4Packet.check(f.bytes, eth.payloadOffset, eth.payloadLength);
  return isWireError(p) ? null : p.protocol;
}

/** ICMPv6 type after a Hop-by-Hop header (MLD messages carry Router Alert in one, RFC 3810 §5). */
function mldType(f: LoggedFrame): number | null {
  const eth = EthernetFrame.check(f.bytes);
  if (isWireError(eth) || eth.ethertype !== EtherType.IPV6) return null;
  const p = Ipv6Packet.check(f.bytes, eth.payloadOffset, eth.payloadLength);
  if (isWireError(p) || p.nextHeader !== 0) return null;
  const hbh = eth.payloadOffset + 40;
  if (f.bytes[hbh] !== IpProtocol.ICMPV6) return null;
  return f.bytes[hbh + (f.bytes[hbh + 1]! + 1) * 8] ?? null;
}

const split = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(','));

const FAMILIES: readonly Family[] = [
  {
    name: 'IPv4',
    type: 'udp4',
    socat: 'UDP4',
    linux: LINUX_IP4,
    us: STACK_IP4,
    group: '239.1.2.3',
    groupMac: '01:00:5e:01:02:03',
    linuxGroup: '239.1.2.4',
    linuxGroupMac: '01:00:5e:01:02:04',
    host: (a) => a,
    sendIf: `ip-multicast-if=${LINUX_IP4},bind=${LINUX_IP4}:40002`,
    joinOpt: `ip-add-membership=239.1.2.4:${LINUX_IP4}`,
    isReport: (f) => f.dir === 'tx' && ipv4Proto(f) === IpProtocol.IGMP,
    tshark: {
      filter: 'igmp.type == 0x22',
      fields: ['eth.dst', 'ip.src', 'ip.dst', 'ip.ttl', 'ip.opt.type', 'igmp.checksum.status', 'ip.checksum.status', 'igmp.record_type', 'igmp.maddr', 'igmp.num_src'],
    },
    row: (r) => {
      const types = split(r[7]);
      const groups = split(r[8]);
      const nsrc = split(r[9]);
      return {
        ethDst: r[0]!,
        src: r[1]!,
        dst: r[2]!,
        hopLimit: Number(r[3]),
        routerAlert: split(r[4]).includes('148'),
        checksumGood: r[5] === '1' && r[6] === '1',
        records: types.map((t, i) => ({ type: Number(t), group: groups[i]!, sources: Number(nsrc[i]) })),
      };
    },
  },
  {
    name: 'IPv6',
    type: 'udp6',
    socat: 'UDP6',
    linux: LINUX_IP6,
    us: STACK_IP6,
    group: 'ff15::7002',
    groupMac: '33:33:00:00:70:02',
    linuxGroup: 'ff15::7005',
    linuxGroupMac: '33:33:00:00:70:05',
    host: (a) => `[${a}]`,
    sendIf: `bind=[${LINUX_IP6}]:40002`,
    joinOpt: `ipv6-join-group=[ff15::7005]:${TAP}`,
    isReport: (f) => f.dir === 'tx' && mldType(f) === 143,
    tshark: {
      filter: 'icmpv6.type == 143',
      fields: ['eth.dst', 'ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'ipv6.opt.router_alert', 'icmpv6.checksum.status', 'icmpv6.type', 'icmpv6.mldr.mar.record_type', 'icmpv6.mldr.mar.multicast_address', 'icmpv6.mldr.mar.nb_sources'],
    },
    row: (r) => {
      const types = split(r[7]);
      const groups = split(r[8]);
      const nsrc = split(r[9]);
      return {
        ethDst: r[0]!,
        src: r[1]!,
        dst: r[2]!,
        hopLimit: Number(r[3]),
        routerAlert: r[4] !== '',
        checksumGood: r[5] === '1',
        records: types.map((t, i) => ({ type: Number(t), group: groups[i]!, sources: Number(nsrc[i]) })),
      };
    },
  },
];

for (const f of FAMILIES) {
  describeNet(`${f.name === 'IPv4' ? 'IGMPv3' : 'MLDv2'} membership against the Linux kernel over a TAP`, () => {
    let peer: LinuxPeer;
    let sock: Socket;
    const inbox: Array<{ msg: Buffer; rinfo: RemoteInfo }> = [];
    const children: ChildProcess[] = [];
    let captureSeq = 0;

    /** Runs `action` with tcpdump capturing on the TAP; returns the reports from our MAC as Linux captured them (tshark). */
    const captureReports = async (action: () => void | Promise<void>, expected: number): Promise<Report[]> => {
      const file = join(peer.tmp, `cap-${f.type}-${++captureSeq}.pcap`);
      const cap = await startCapture(peer.topo, peer.ns, file, '');
      children.push(cap);
      const mark = peer.log.mark();
      await action();
      // Our own transmit log says when the reports went out; a little later they are in the capture.
      await waitUntil(() => peer.log.since(mark).filter(f.isReport).length >= expected, 5000);
      // Long enough for an extra (wrong) retransmission to show up as well: the interval is 1 s.
      await sleep(1500);
      await stopChild(cap);
      const r = await peer.exec(
        'tshark',
        ['-n', '-r', file, '-o', 'ip.check_checksum:TRUE', '-Y', f.tshark.filter, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'eth.src', ...f.tshark.fields.flatMap((x) => ['-e', x])],
        { timeoutMs: 30_000, allowFail: true },
      );
      if (r.code !== 0) throw new Error(`tshark failed: ${r.stderr}`);
      return r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.split('|'))
        .filter((cols) => cols[0] === STACK_MAC)
        .map((cols) => f.row(cols.slice(1)));
    };

    /** Linux's multicast sender: one datagram to the group. */
    const linuxSends = async (payload: Buffer): Promise<void> => {
      const r = await runWithInput(peer.topo, peer.ns, 'socat', ['-u', '-', `${f.socat}-DATAGRAM:${f.host(f.group)}:7002,${f.sendIf}`], payload, 10_000);
      expect(r.code, r.stderr).toBe(0);
    };

    /** Frames that reached our device addressed to the group's MAC, since `mark`. */
    const groupFramesSince = (mark: number): LoggedFrame[] =>
      peer.log.since(mark, 'rx').filter((x) => {
        const eth = EthernetFrame.check(x.bytes);
        return !isWireError(eth) && formatMac(eth.dst) === f.groupMac;
      });

    beforeAll(async () => {
      peer = await openLinuxPeer({ label: `mcast${f.name === 'IPv4' ? 4 : 6}` });
      expect(peer.stack.core.module(f.name === 'IPv4' ? 'igmp' : 'mld'), 'the stack has no group membership module').toBeDefined();
      sock = peer.stack.createSocket({ type: f.type, reuseAddr: true });
      sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => inbox.push({ msg: Buffer.from(msg), rinfo }));
      await new Promise<void>((resolve) => sock.bind(7002, () => resolve()));
    });

    afterEach(async () => {
      for (const c of children.splice(0)) await stopChild(c);
    });

    afterAll(async () => {
      sock?.close();
      await peer?.destroy();
    });

    it('datagram_to_the_group_before_joining_is_not_delivered', async () => {
      const before = peer.stack.stats();
      const mark = peer.log.mark();
      await linuxSends(pattern(32, 1));
      // It reaches our device and stops at the MAC filter.
      expect(await waitUntil(() => groupFramesSince(mark).length >= 1, 3000), peer.log.tail()).toBe(true);
      await sleep(500);
      const after = peer.stack.stats();
      expect(inbox).toEqual([]);
      expect(dropCount(after, 'link', 'not_for_us') - dropCount(before, 'link', 'not_for_us')).toBeGreaterThanOrEqual(1);
      expect(counter(after, 'udp', 'rx')).toBe(counter(before, 'udp', 'rx'));
    });

    it('join_sends_change_to_exclude_reports_that_linux_captures', async () => {
      const reports = await captureReports(() => sock.addMembership(f.group, f.us), ROBUSTNESS);
      const ours = reports.filter((r) => r.records.some((rec) => rec.group === f.group));
      expect(ours.length, `${JSON.stringify(reports)}\n  ${peer.log.tail()}`).toBe(ROBUSTNESS);
      for (const r of ours) {
        expect(r.records).toEqual([{ type: CHANGE_TO_EXCLUDE, group: f.group, sources: 0 }]);
        expect(r.hopLimit).toBe(1);
        expect(r.routerAlert).toBe(true);
        expect(r.checksumGood, JSON.stringify(r)).toBe(true);
        if (f.name === 'IPv4') expect([r.src, r.dst, r.ethDst]).toEqual([STACK_IP4, '224.0.0.22', '01:00:5e:00:00:16']);
        // RFC 3810 §5.2.13: from our link-local address once it passed DAD.
        else expect([r.src.startsWith('fe80::'), r.dst, r.ethDst]).toEqual([true, 'ff02::16', '33:33:00:00:00:16']);
      }
    });

    it('datagram_from_the_linux_multicast_sender_reaches_our_socket', async () => {
      const payload = pattern(700, 2);
      const before = peer.stack.stats();
      await linuxSends(payload);
      expect(await waitUntil(() => inbox.length >= 1, 5000), peer.log.tail()).toBe(true);
      await sleep(300);
      const after = peer.stack.stats();
      expect(inbox.length).toBe(1);
      expect([inbox[0]!.msg.length, sha256(inbox[0]!.msg)]).toEqual([700, sha256(payload)]);
      expect(inbox[0]!.rinfo).toMatchObject({ address: f.linux, port: 40002, family: f.name, size: 700 });
      expect(unexpectedDrops(before, after)).toEqual({});
      inbox.length = 0;
    });

    it('leave_sends_change_to_include_reports_and_later_datagrams_are_not_delivered', async () => {
      const reports = await captureReports(() => sock.dropMembership(f.group, f.us), ROBUSTNESS);
      const ours = reports.filter((r) => r.records.some((rec) => rec.group === f.group));
      expect(ours.length, `${JSON.stringify(reports)}\n  ${peer.log.tail()}`).toBe(ROBUSTNESS);
      for (const r of ours) {
        expect(r.records).toEqual([{ type: CHANGE_TO_INCLUDE, group: f.group, sources: 0 }]);
        expect(r.hopLimit).toBe(1);
        expect(r.routerAlert).toBe(true);
        expect(r.checksumGood, JSON.stringify(r)).toBe(true);
      }
      const before = peer.stack.stats();
      const mark = peer.log.mark();
      await linuxSends(pattern(32, 3));
      expect(await waitUntil(() => groupFramesSince(mark).length >= 1, 3000), peer.log.tail()).toBe(true);
      await sleep(500);
      const after = peer.stack.stats();
      expect(inbox).toEqual([]);
      expect(counter(after, 'udp', 'rx')).toBe(counter(before, 'udp', 'rx'));
      expect(dropCount(after, 'link', 'not_for_us') - dropCount(before, 'link', 'not_for_us')).toBeGreaterThanOrEqual(1);
    });

    it('we_send_to_a_group_linux_joined_and_its_socket_receives_it', async () => {
      const out = join(peer.tmp, `mrecv-${f.type}.bin`);
      const rx = peer.topo.spawnInNamespace(peer.ns, 'socat', ['-u', '-b', '65536', `${f.socat}-RECV:7005,${f.joinOpt}`, `CREATE:${out}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(rx);
      const err = stderrOf(rx);
      await waitUdpBound(peer.topo, peer.ns, 7005);
      const tx = peer.stack.createSocket(f.type);
      try {
        await new Promise<void>((resolve) => tx.bind(() => resolve()));
        if (f.name === 'IPv4') tx.setMulticastInterface(STACK_IP4);
        const payload = pattern(900, 4);
        const mark = peer.log.mark();
        await new Promise<void>((resolve, reject) => tx.send(payload, 7005, f.linuxGroup, (e) => (e ? reject(e) : resolve())));
        const size = (): number => {
          try {
            return statSync(out).size;
          } catch {
            return -1;
          }
        };
        expect(await waitUntil(() => size() >= 900, 5000), `file has ${size()} bytes; socat: ${err.text()}\n  ${peer.log.tail()}`).toBe(true);
        const got = readFileSync(out);
        expect([got.length, sha256(got)]).toEqual([900, sha256(payload)]);
        // RFC 1112 §6.4 / RFC 2464 §7: the group's MAC, our MAC as the source, hop limit 1 by default.
        const sent = peer.log.since(mark, 'tx').map((x) => EthernetFrame.check(x.bytes)).filter((e) => !isWireError(e) && formatMac(e.dst) === f.linuxGroupMac);
        expect(sent.length).toBe(1);
        expect(formatMac((sent[0] as EthernetFrame).src)).toBe(STACK_MAC);
      } finally {
        tx.close();
      }
    });
  }, [...NET_BINARIES, 'socat', 'ss', 'tcpdump', 'tshark']);
}
