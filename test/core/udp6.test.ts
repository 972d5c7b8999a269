// UDP over IPv6 between two stacks (ipv6, icmpv6, ndp) on a memory pair: exchange, the RFC 8200
// §8.1 zero-checksum rule (H43), length rules (H44), ICMPv6 port unreachable and its suppression
// for multicast, and ECONNREFUSED on a connected socket.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module } from '../../src/core/icmpv6.js';
import { IPV6_ALL_NODES, Ipv6Module } from '../../src/core/ipv6.js';
import { NdpModule } from '../../src/core/ndp.js';
import { type IpAddress, UdpModule, type UdpSocket } from '../../src/core/udp.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { finishChecksum, pseudoHeaderSumV6 } from '../../src/checksum/internet.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { type Ipv6Address, formatIpv6, parseIpv6 } from '../../src/wire/address.js';
import { writeU16 } from '../../src/wire/bytes.js';
import { ethernet, ipv6 } from '../support/build-l3.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const MAC_A = 0x02000000000a;
const MAC_B = 0x02000000000b;
const A = parseIpv6('2001:db8::1')!;
const B = parseIpv6('2001:db8::2')!;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function hosts() {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const mods = () => [new Ipv6Module(), new Icmpv6Module(), new NdpModule({ dupAddrDetectTransmits: 0 }), new UdpModule()];
  const a = testStack('a', mods());
  const b = testStack('b', mods());
  const ia = a.stack.addInterface(pair.a, { addresses: ['2001:db8::1/64'], mac: MAC_A }, clock.now);
  const ib = b.stack.addInterface(pair.b, { addresses: ['2001:db8::2/64'], mac: MAC_B }, clock.now);
  const stacks = [a.stack, b.stack];
  runFor(clock, stacks, 2000);
  return { clock, pair, a, b, ia, ib, stacks, udpA: a.stack.module<UdpModule>('udp')!, udpB: b.stack.module<UdpModule>('udp')! };
}

function sock(udp: UdpModule): UdpSocket {
  const s = udp.socket(6);
  if (typeof s === 'string') throw new Error(s);
  return s;
}

function udp6(o: { src?: Ipv6Address; dst?: Ipv6Address; dport?: number; payload?: Uint8Array; length?: number; checksum?: number }): Uint8Array {
  const payload = o.payload ?? bytes('hello');
  const b = new Uint8Array(8 + payload.length);
  writeU16(b, 0, 5000);
  writeU16(b, 2, o.dport ?? 7);
  writeU16(b, 4, o.length ?? b.length);
  b.set(payload, 8);
  if (o.checksum !== undefined) writeU16(b, 6, o.checksum);
  else {
    const c = finishChecksum(tsChecksum.sum(b, 0, b.length, pseudoHeaderSumV6(o.src ?? A, o.dst ?? B, 17, b.length)));
    writeU16(b, 6, c === 0 ? 0xffff : c);
  }
  return b;
}

function inject(t: ReturnType<typeof hosts>, payload: Uint8Array, dst: Ipv6Address = B, dstMac = MAC_B): void {
  t.pair.a.transmit(ethernet({ src: MAC_A, dst: dstMac, ethertype: 0x86dd, payload: ipv6({ src: A, dst, nextHeader: 17, payload }) }));
  settle(t.clock, t.stacks);
}

const errorsSent = (t: ReturnType<typeof hosts>) => t.b.stack.stats.get('icmpv6', 'errors_sent');

describe('UDP over IPv6', () => {
  it('exchanges datagrams after neighbour discovery; rinfo carries the IPv6 source', () => {
    const t = hosts();
    const server = sock(t.udpB);
    expect(server.bind(null, 7)).toBeUndefined();
    const c = sock(t.udpA);
    expect(c.send(bytes('ping6'), { address: B, port: 7 }, t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    const d = server.recv()!;
    expect([text(d.data), formatIpv6(d.address as Ipv6Address), d.port]).toEqual(['ping6', '2001:db8::1', c.localPort]);
    expect(server.send(bytes('pong6'), { address: d.address, port: d.port }, t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(text(c.recv()!.data)).toBe('pong6');
    closeAndCheckLeaks(t.a, t.b);
  });

  it('H43: a zero checksum over IPv6 is dropped silently (RFC 8200 §8.1)', () => {
    const t = hosts();
    const server = sock(t.udpB);
    server.bind(null, 7);
    inject(t, udp6({ checksum: 0 }));
    inject(t, udp6({ dport: 9999, checksum: 0 }));
    expect(server.queued).toBe(0);
    expect(t.b.stack.stats.drops('udp', 'zero_checksum_ipv6')).toBe(2);
    expect(errorsSent(t)).toBe(0);
    const bad = udp6({});
    bad[7] ^= 0x10;
    inject(t, bad);
    expect(t.b.stack.stats.drops('udp', 'bad_checksum')).toBe(1);
    inject(t, udp6({}));
    expect(text(server.recv()!.data)).toBe('hello');
    closeAndCheckLeaks(t.a, t.b);
  });

  it('H44: lengths 0, 7 and beyond the payload are dropped; a shorter length trims', () => {
    const t = hosts();
    const server = sock(t.udpB);
    server.bind(null, 7);
    for (const length of [0, 7, 1000]) inject(t, udp6({ payload: new Uint8Array(92), length, checksum: 0xffff }));
    expect(t.b.stack.stats.drops('udp', 'malformed_length')).toBe(3);
    const u = udp6({ payload: new Uint8Array(92).fill(7), length: 20 });
    writeU16(u, 6, 0);
    writeU16(u, 6, finishChecksum(tsChecksum.sum(u, 0, 20, pseudoHeaderSumV6(A, B, 17, 20))));
    inject(t, u);
    expect(server.recv()!.data.length).toBe(12);
    expect(errorsSent(t)).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('closed port: ICMPv6 port unreachable; a connected sender gets ECONNREFUSED; none for multicast', () => {
    const t = hosts();
    const c = sock(t.udpA);
    expect(c.connect(B, 9999)).toBeUndefined();
    expect(formatIpv6(c.localAddress as Ipv6Address)).toBe('2001:db8::1');
    c.send(bytes('knock'), null, t.clock.now);
    settle(t.clock, t.stacks);
    expect(errorsSent(t)).toBe(1);
    expect(c.takeError()).toBe('ECONNREFUSED');
    inject(t, udp6({ dst: IPV6_ALL_NODES, dport: 9999 }), IPV6_ALL_NODES, 0x333300000001);
    expect(t.b.stack.stats.drops('udp', 'no_socket')).toBe(2);
    expect(errorsSent(t)).toBe(1);
    expect(t.b.stack.stats.drops('icmpv6', 'error_suppressed_multicast')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('multicast membership joins through the IPv6 module (MAC filter) and delivers group datagrams', () => {
    const t = hosts();
    const g = parseIpv6('ff02::1:3')!;
    const r = sock(t.udpB);
    r.bind(null, 5355);
    expect(r.addMembership(g, null, t.clock.now)).toBeUndefined();
    expect(t.ib.multicastMacs.has(0x333300010003)).toBe(true);
    const c = sock(t.udpA);
    expect(c.send(bytes('llmnr'), { address: g as IpAddress, port: 5355 }, t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(text(r.recv()!.data)).toBe('llmnr');
    r.close(t.clock.now);
    expect(t.ib.multicastMacs.has(0x333300010003)).toBe(false);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('IPv4 and IPv6 port spaces are separate (udp6 sockets are IPv6-only)', () => {
    const t = hosts();
    expect(t.udpB.socket(4)).toBe('EAFNOSUPPORT');
    const s1 = sock(t.udpB);
    expect(s1.bind(null, 7)).toBeUndefined();
    expect(sock(t.udpB).bind(null, 7)).toBe('EADDRINUSE');
    closeAndCheckLeaks(t.a, t.b);
  });
});
