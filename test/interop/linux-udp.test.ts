// UDP through the dgram-compatible API against the Linux kernel (issue 3, "Tests"), once over IPv4
// and once over IPv6, each in its own topology (fixtures/linux-peer.ts): a socat echo server in the
// namespace answers our socket; our echo server answers a socat client; Linux reassembles our
// fragmented 6000-byte datagram (socat writes it to a file, sha256 compared) and we reassemble
// Linux's; ICMP port unreachable works both ways (ECONNREFUSED on our connected socket, "Connection
// refused" in socat). Linux's /proc/net/snmp{,6} in the namespace is the witness.
// Needs root, /dev/net/tun, iproute2 (ip, ss), vde_plug and socat.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { RemoteInfo, Socket } from '../../src/api/dgram.js';
import { IpProtocol } from '../../src/wire/ip-protocol.js';
import { NET_BINARIES, addAddress, describeNet } from '../support/netns.js';
import {
  LINUX_IP4,
  LINUX_IP6,
  STACK_IP4,
  STACK_IP6,
  TAP,
  counter,
  fragmentsIn,
  linuxSnmp,
  openLinuxPeer,
  pattern,
  runWithInput,
  sha256,
  snmpDelta,
  stderrOf,
  stopChild,
  unexpectedDrops,
  waitUdpBound,
  waitUntil,
} from './fixtures/linux-peer.js';
import type { LinuxPeer } from './fixtures/linux-peer.js';

interface Received {
  readonly msg: Buffer;
  readonly rinfo: RemoteInfo;
}

/** Messages of a socket, in arrival order, with a bounded wait for the n-th. */
class Inbox {
  readonly items: Received[] = [];
  constructor(sock: Socket) {
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.items.push({ msg: Buffer.from(msg), rinfo }));
  }
  async waitFor(n: number, ms: number): Promise<Received[]> {
    await waitUntil(() => this.items.length >= n, ms, 20);
    return this.items;
  }
}

function bind(sock: Socket, port?: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ ...(port !== undefined ? { port } : {}), ...(address !== undefined ? { address } : {}) }, () => {
      sock.removeListener('error', reject);
      resolve();
    });
  });
}

function send(sock: Socket, data: Uint8Array, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => sock.send(data, port, address, (err) => (err ? reject(err) : resolve())));
}

interface Family {
  readonly name: 'IPv4' | 'IPv6';
  readonly type: 'udp4' | 'udp6';
  readonly socat: 'UDP4' | 'UDP6';
  readonly linux: string;
  readonly us: string;
  /** socat address syntax of a host (brackets for IPv6). */
  readonly host: (a: string) => string;
  readonly ipProto: number;
  /** Data bytes per non-last fragment on a 1500-byte MTU (1480 for IPv4, 1448 for IPv6). */
  readonly fragData: number;
  readonly reassembly: 'ipv4-reassembly' | 'ipv6-reassembly';
  readonly snmp: { reasmOk: string; reasmFails: string; udpIn: string; udpInErrors: string; destUnreachIn: string; portUnreachOut?: string };
  readonly icmpLayer: 'icmpv4' | 'icmpv6';
}

const FAMILIES: readonly Family[] = [
  {
    name: 'IPv4',
    type: 'udp4',
    socat: 'UDP4',
    linux: LINUX_IP4,
    us: STACK_IP4,
    host: (a) => a,
    ipProto: IpProtocol.UDP,
    fragData: 1480,
    reassembly: 'ipv4-reassembly',
    snmp: { reasmOk: 'Ip.ReasmOKs', reasmFails: 'Ip.ReasmFails', udpIn: 'Udp.InDatagrams', udpInErrors: 'Udp.InErrors', destUnreachIn: 'Icmp.InDestUnreachs', portUnreachOut: 'Udp.NoPorts' },
    icmpLayer: 'icmpv4',
  },
  {
    name: 'IPv6',
    type: 'udp6',
    socat: 'UDP6',
    linux: LINUX_IP6,
    us: STACK_IP6,
    host: (a) => `[${a}]`,
    ipProto: IpProtocol.UDP,
    fragData: 1448,
    reassembly: 'ipv6-reassembly',
    snmp: { reasmOk: 'Ip6ReasmOKs', reasmFails: 'Ip6ReasmFails', udpIn: 'Udp6InDatagrams', udpInErrors: 'Udp6InErrors', destUnreachIn: 'Icmp6InDestUnreachs', portUnreachOut: 'Udp6NoPorts' },
    icmpLayer: 'icmpv6',
  },
];

/** Sizes for the echo cases: tiny, typical, the largest unfragmented on a 1500 MTU, and fragmented. */
function echoSizes(f: Family): number[] {
  return [1, 100, f.name === 'IPv4' ? 1472 : 1452, 3000];
}

/** Expected fragment offsets of a datagram with `udpLen` bytes of UDP (header included). */
function offsets(f: Family, udpLen: number): number[] {
  const out: number[] = [];
  for (let o = 0; o < udpLen; o += f.fragData) out.push(o);
  return out;
}

for (const f of FAMILIES) {
  describeNet(`UDP over ${f.name} against Linux socat over a TAP`, () => {
    let peer: LinuxPeer;
    const children: ChildProcess[] = [];
    const sockets: Socket[] = [];

    const socket = (): Socket => {
      const s = peer.stack.createSocket(f.type);
      sockets.push(s);
      return s;
    };
    const spawn = (args: readonly string[]): { child: ChildProcess; stderr: () => string } => {
      const child = peer.topo.spawnInNamespace(peer.ns, 'socat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      return { child, stderr: stderrOf(child).text };
    };

    beforeAll(async () => {
      peer = await openLinuxPeer({ label: `udp${f.name === 'IPv4' ? 4 : 6}` });
    });

    afterEach(async () => {
      for (const s of sockets.splice(0)) s.close();
      for (const c of children.splice(0)) await stopChild(c);
    });

    afterAll(async () => {
      await peer?.destroy();
    });

    it('linux_socat_echo_server_answers_our_socket_byte_for_byte', async () => {
      const server = spawn(['-b', '65536', `${f.socat}-RECVFROM:7000,fork`, 'PIPE']);
      await waitUdpBound(peer.topo, peer.ns, 7000);
      const sock = socket();
      const inbox = new Inbox(sock);
      await bind(sock);
      const before = peer.stack.stats();
      const payloads = echoSizes(f).map((n, i) => pattern(n, 100 + i));
      // One at a time: each datagram is answered by a fresh socat child, so order is not guaranteed otherwise.
      for (const [i, p] of payloads.entries()) {
        await send(sock, p, 7000, f.linux);
        const got = await inbox.waitFor(i + 1, 5000);
        expect(got.length, `reply ${i} (${p.length} bytes) missing; socat: ${server.stderr()}\n  ${peer.log.tail()}`).toBe(i + 1);
      }
      const after = peer.stack.stats();
      expect(inbox.items.map((r) => [r.msg.length, sha256(r.msg)])).toEqual(payloads.map((p) => [p.length, sha256(p)]));
      for (const r of inbox.items) expect(r.rinfo).toMatchObject({ address: f.linux, port: 7000, family: f.name, size: r.msg.length });
      // The 3000-byte one was fragmented both ways and reassembled here.
      expect(counter(after, f.reassembly, 'reassembled') - counter(before, f.reassembly, 'reassembled')).toBe(1);
      expect(unexpectedDrops(before, after)).toEqual({});
    });

    it('our_echo_server_answers_linux_socat_client_byte_for_byte', async () => {
      const sock = socket();
      await bind(sock, 7001, f.us);
      const seen: Received[] = [];
      sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
        seen.push({ msg: Buffer.from(msg), rinfo });
        sock.send(msg, rinfo.port, rinfo.address);
      });
      for (const [i, n] of [1, 1000, 3000].entries()) {
        const payload = pattern(n, 200 + i);
        const sport = 40001 + i;
        const r = await runWithInput(peer.topo, peer.ns, 'socat', ['-b', '65536', '-t', '2', '-T', '5', '-', `${f.socat}:${f.host(f.us)}:7001,sourceport=${sport}`], payload, 15_000);
        expect(r.code, `socat: ${r.stderr}\n  ${peer.log.tail()}`).toBe(0);
        expect([r.stdout.length, sha256(r.stdout)]).toEqual([n, sha256(payload)]);
        expect(seen[i]!.rinfo).toMatchObject({ address: f.linux, port: sport, family: f.name, size: n });
      }
      expect(seen.length).toBe(3);
    });

    it('linux_reassembles_our_6000_byte_datagram_sha256_equal', async () => {
      const out = join(peer.tmp, `recv-${f.type}.bin`);
      const rx = spawn(['-u', '-b', '65536', `${f.socat}-RECV:7003`, `CREATE:${out}`]);
      await waitUdpBound(peer.topo, peer.ns, 7003);
      const sock = socket();
      await bind(sock);
      const payload = pattern(6000, 300);
      const snmp0 = await linuxSnmp(peer.topo, peer.ns);
      const mark = peer.log.mark();
      await send(sock, payload, 7003, f.linux);
      const size = (): number => {
        try {
          return statSync(out).size;
        } catch {
          return -1;
        }
      };
      expect(await waitUntil(() => size() >= 6000, 5000), `file has ${size()} bytes; socat: ${rx.stderr()}\n  ${peer.log.tail()}`).toBe(true);
      const snmp1 = await linuxSnmp(peer.topo, peer.ns);
      const got = readFileSync(out);
      expect([got.length, sha256(got)]).toEqual([6000, sha256(payload)]);
      expect(snmpDelta(snmp0, snmp1, f.snmp.reasmOk)).toBe(1);
      expect(snmpDelta(snmp0, snmp1, f.snmp.reasmFails)).toBe(0);
      expect(snmpDelta(snmp0, snmp1, f.snmp.udpIn)).toBe(1);
      expect(snmpDelta(snmp0, snmp1, f.snmp.udpInErrors)).toBe(0);
      const frags = fragmentsIn(peer.log.since(mark, 'tx')).filter((x) => x.protocol === f.ipProto);
      expect(frags.map((x) => x.offset)).toEqual(offsets(f, 6008));
      expect(frags.map((x) => x.more)).toEqual(offsets(f, 6008).map((_, i, a) => i < a.length - 1));
      for (const x of frags) expect(x.frameLen).toBeLessThanOrEqual(1514);
    });

    it('first_6000_byte_datagram_to_an_unresolved_neighbour_arrives_whole', async () => {
      // A second Linux address we never talked to: the datagram's 5 fragments all wait for ARP/NDP.
      // Linux itself queues by bytes (unres_qlen_bytes, 212992 by default), so a whole 64 KiB
      // datagram survives resolution there; a user sending a big datagram to a new peer relies on it.
      const fresh = f.name === 'IPv4' ? '198.51.100.3' : '2001:db8::3';
      const cidr = `${fresh}/${f.name === 'IPv4' ? 24 : 64}`;
      await addAddress(peer.ns, TAP, cidr);
      try {
        const out = join(peer.tmp, `recv-fresh-${f.type}.bin`);
        const rx = spawn(['-u', '-b', '65536', `${f.socat}-RECV:7006`, `CREATE:${out}`]);
        await waitUdpBound(peer.topo, peer.ns, 7006);
        const sock = socket();
        await bind(sock);
        const payload = pattern(6000, 500);
        const before = peer.stack.stats();
        await send(sock, payload, 7006, fresh);
        const size = (): number => {
          try {
            return statSync(out).size;
          } catch {
            return -1;
          }
        };
        const arrived = await waitUntil(() => size() >= 6000, 5000);
        const after = peer.stack.stats();
        expect(arrived, `file has ${size()} bytes; our drops ${JSON.stringify(unexpectedDrops(before, after))}; socat: ${rx.stderr()}\n  ${peer.log.tail()}`).toBe(true);
        expect(sha256(readFileSync(out))).toBe(sha256(payload));
        expect(unexpectedDrops(before, after)).toEqual({});
      } finally {
        // Later tests expect Linux to pick its first address as the source again.
        await peer.exec('ip', ['addr', 'del', cidr, 'dev', TAP]);
      }
    });

    it('we_reassemble_linux_6000_byte_datagram_sha256_equal', async () => {
      const sock = socket();
      const inbox = new Inbox(sock);
      await bind(sock, 7004, f.us);
      const payload = pattern(6000, 400);
      const file = join(peer.tmp, `send-${f.type}.bin`);
      writeFileSync(file, payload);
      const before = peer.stack.stats();
      const snmp0 = await linuxSnmp(peer.topo, peer.ns);
      // -b above the file size: one read, one datagram.
      const r = await peer.exec('socat', ['-u', '-b', '65536', `OPEN:${file}`, `${f.socat}-SENDTO:${f.host(f.us)}:7004,sourceport=40100`], { timeoutMs: 10_000 });
      expect(r.code).toBe(0);
      const got = await inbox.waitFor(1, 5000);
      const after = peer.stack.stats();
      const snmp1 = await linuxSnmp(peer.topo, peer.ns);
      expect(got.length, peer.log.tail()).toBe(1);
      expect([got[0]!.msg.length, sha256(got[0]!.msg)]).toEqual([6000, sha256(payload)]);
      expect(got[0]!.rinfo).toMatchObject({ address: f.linux, port: 40100, size: 6000 });
      expect(snmpDelta(snmp0, snmp1, f.name === 'IPv4' ? 'Ip.FragCreates' : 'Ip6FragCreates')).toBe(offsets(f, 6008).length);
      expect(counter(after, f.reassembly, 'reassembled') - counter(before, f.reassembly, 'reassembled')).toBe(1);
      expect(unexpectedDrops(before, after)).toEqual({});
    });

    it('connected_socket_gets_econnrefused_from_linux_port_unreachable', async () => {
      const sock = socket();
      await bind(sock);
      await new Promise<void>((resolve) => sock.connect(7999, f.linux, () => resolve()));
      const err = new Promise<NodeJS.ErrnoException>((resolve) => sock.once('error', resolve));
      await new Promise<void>((resolve, reject) => sock.send(Buffer.from('anyone?'), (e) => (e ? reject(e) : resolve())));
      const e = await Promise.race([err, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      expect(e, peer.log.tail()).not.toBeNull();
      expect(e).toMatchObject({ code: 'ECONNREFUSED', syscall: 'recvmsg' });
    });

    it('linux_gets_port_unreachable_from_us_for_a_closed_port', async () => {
      const before = peer.stack.stats();
      const snmp0 = await linuxSnmp(peer.topo, peer.ns);
      // A connected socket in socat: the kernel turns our ICMP error into ECONNREFUSED on its read.
      const r = await runWithInput(peer.topo, peer.ns, 'socat', ['-t', '2', '-T', '5', '-', `${f.socat}:${f.host(f.us)}:7998`], Buffer.from('hello?'), 15_000);
      const snmp1 = await linuxSnmp(peer.topo, peer.ns);
      const after = peer.stack.stats();
      expect(r.stderr, peer.log.tail()).toMatch(/Connection refused/);
      expect(r.code).not.toBe(0);
      expect(snmpDelta(snmp0, snmp1, f.snmp.destUnreachIn)).toBe(1);
      // Our side: one datagram for nobody, counted, answered with a port unreachable.
      expect(unexpectedDrops(before, after)).toEqual({ 'udp.no_socket': 1 });
    });
  }, [...NET_BINARIES, 'socat', 'ss']);
}
