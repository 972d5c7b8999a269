// UDP over IPv4 between stacks on in-memory links: scripted exchanges through the whole stack
// (Ethernet, ARP, IPv4, ICMP), hostile datagrams injected as raw frames, queue bounds, ports.
import { describe, expect, it } from 'vitest';
import { ArpModule, Icmpv4Module, Ipv4Module } from '../../src/core/index.js';
import { UdpModule, type UdpOptions, type UdpSocket } from '../../src/core/udp.js';
import { createMemoryPair, MemorySwitch } from '../../src/phy/index.js';
import { finishChecksum, pseudoHeaderSumV4 } from '../../src/checksum/internet.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { writeU16 } from '../../src/wire/bytes.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { ethernet, ipv4 } from '../support/build-l3.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack, type TestStack } from '../support/stack-harness.js';

const A = parseIpv4('198.51.100.1')!;
const B = parseIpv4('198.51.100.2')!;
const MAC_A = 0x02000000000a;
const MAC_B = 0x02000000000b;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function hosts(udp: Partial<UdpOptions> = {}, icmp: ConstructorParameters<typeof Icmpv4Module>[0] = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const mods = () => [new ArpModule(), new Ipv4Module(), new Icmpv4Module(icmp), new UdpModule(udp)];
  const a = testStack('a', mods());
  const b = testStack('b', mods());
  const ia = a.stack.addInterface(pair.a, { addresses: ['198.51.100.1/24'], mac: MAC_A }, clock.now);
  const ib = b.stack.addInterface(pair.b, { addresses: ['198.51.100.2/24'], mac: MAC_B }, clock.now);
  const udpA = a.stack.module<UdpModule>('udp')!;
  const udpB = b.stack.module<UdpModule>('udp')!;
  return { clock, pair, a, b, ia, ib, udpA, udpB, stacks: [a.stack, b.stack] };
}

function sock(udp: UdpModule, opts: { reuseAddr?: boolean } = {}): UdpSocket {
  const s = udp.socket(4, opts);
  if (typeof s === 'string') throw new Error(s);
  return s;
}

function drain(s: UdpSocket) {
  const out: Array<{ data: string; address: number; port: number }> = [];
  for (let d = s.recv(); d; d = s.recv()) out.push({ data: text(d.data), address: d.address as number, port: d.port });
  return out;
}

/** A raw UDP header + payload with optional overrides (length, checksum); checksum computed for src/dst unless given. */
function udpBytes(o: { src?: number; dst?: number; sport?: number; dport?: number; payload?: Uint8Array; length?: number; checksum?: number } = {}): Uint8Array {
  const payload = o.payload ?? bytes('hello');
  const b = new Uint8Array(8 + payload.length);
  writeU16(b, 0, o.sport ?? 5000);
  writeU16(b, 2, o.dport ?? 7);
  writeU16(b, 4, o.length ?? b.length);
  b.set(payload, 8);
  if (o.checksum !== undefined) writeU16(b, 6, o.checksum);
  else {
    const c = finishChecksum(tsChecksum.sum(b, 0, b.length, pseudoHeaderSumV4(o.src ?? A, o.dst ?? B, 17, o.length ?? b.length)));
    writeU16(b, 6, c === 0 ? 0xffff : c);
  }
  return b;
}

/** Puts a frame from A's MAC on the wire towards stack B and lets B process it. */
function inject(t: ReturnType<typeof hosts>, l3: Uint8Array, dstMac = MAC_B): void {
  expect(t.pair.a.transmit(ethernet({ src: MAC_A, dst: dstMac, payload: l3 }))).toBe(true);
  settle(t.clock, t.stacks);
}

function icmpSent(s: TestStack): number {
  return s.stack.stats.get('icmpv4', 'errors_sent');
}

describe('UDP over IPv4: exchanges between two stacks', () => {
  it('bound socket receives a datagram with the sender address and port; the reply goes back (RFC 768)', () => {
    const t = hosts();
    const server = sock(t.udpB);
    expect(server.bind(null, 7)).toBeUndefined();
    const client = sock(t.udpA);
    expect(client.send(bytes('ping'), { address: B, port: 7 }, t.clock.now)).toBeUndefined();
    // Implicit bind: an ephemeral port in the default range.
    expect(client.localPort).toBeGreaterThanOrEqual(49152);
    settle(t.clock, t.stacks);
    const got = drain(server);
    expect(got).toEqual([{ data: 'ping', address: A, port: client.localPort }]);
    expect(server.send(bytes('pong'), { address: A, port: client.localPort }, t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(drain(client)).toEqual([{ data: 'pong', address: B, port: 7 }]);
    expect(t.b.stack.stats.get('udp', 'delivered')).toBe(1);
    client.close(t.clock.now);
    server.close(t.clock.now);
    expect(t.udpA.socketCount + t.udpB.socketCount).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('sends a scatter list as one datagram and computes a valid checksum', () => {
    const t = hosts();
    const server = sock(t.udpB);
    server.bind(B, 9);
    const client = sock(t.udpA);
    client.send([bytes('ab'), bytes('c'), bytes('def')], { address: B, port: 9 }, t.clock.now);
    settle(t.clock, t.stacks);
    const d = server.recv();
    expect(d && text(d.data)).toBe('abcdef');
    // The frame on the wire: capture what A transmits for a second, identical send.
    const frames: Uint8Array[] = [];
    const orig = t.pair.a.transmit.bind(t.pair.a);
    t.pair.a.transmit = (f: Uint8Array) => {
      frames.push(f.slice());
      return orig(f);
    };
    client.send([bytes('ab'), bytes('c'), bytes('def')], { address: B, port: 9 }, t.clock.now);
    settle(t.clock, t.stacks);
    const frame = frames.find((f) => {
      const e = EthernetFrame.check(f);
      return !isWireError(e) && e.ethertype === 0x0800;
    });
    expect(frame).toBeDefined();
    const ip = Ipv4Packet.check(frame!, 14);
    if (isWireError(ip)) throw ip;
    const u = ip.payloadOffset;
    expect(frame![u + 6]! << 8 | frame![u + 7]!).not.toBe(0);
    expect(tsChecksum.sum(frame!, u, 14, pseudoHeaderSumV4(A, B, 17, 14))).toBe(0xffff);
    expect(text(frame!.subarray(u + 8, u + 14))).toBe('abcdef');
    closeAndCheckLeaks(t.a, t.b);
  });

  it('connected socket only accepts datagrams from its peer; others go to the wildcard socket', () => {
    const t = hosts();
    const wild = sock(t.udpB, { reuseAddr: true });
    wild.bind(null, 53);
    const conn = sock(t.udpB, { reuseAddr: true });
    conn.bind(null, 53);
    expect(conn.connect(A, 1111)).toBeUndefined();
    // connect() fixed the local address from the route (Linux ip4_datagram_connect).
    expect(conn.localAddress).toBe(B);
    const c1 = sock(t.udpA);
    c1.bind(null, 1111);
    const c2 = sock(t.udpA);
    c2.bind(null, 2222);
    c1.send(bytes('from-1111'), { address: B, port: 53 }, t.clock.now);
    c2.send(bytes('from-2222'), { address: B, port: 53 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(drain(conn).map((d) => d.data)).toEqual(['from-1111']);
    expect(drain(wild).map((d) => d.data)).toEqual(['from-2222']);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('bind conflicts: EADDRINUSE unless both sockets set reuseAddr; a specific address conflicts with any', () => {
    const t = hosts();
    const s1 = sock(t.udpB);
    expect(s1.bind(null, 4000)).toBeUndefined();
    expect(sock(t.udpB).bind(null, 4000)).toBe('EADDRINUSE');
    expect(sock(t.udpB).bind(B, 4000)).toBe('EADDRINUSE');
    expect(sock(t.udpB).bind(parseIpv4('203.0.113.9')!, 4001)).toBe('EADDRNOTAVAIL');
    const r1 = sock(t.udpB, { reuseAddr: true });
    const r2 = sock(t.udpB, { reuseAddr: true });
    expect(r1.bind(null, 5000)).toBeUndefined();
    expect(r2.bind(null, 5000)).toBeUndefined();
    expect(s1.bind(null, 4002)).toBe('EINVAL');
    s1.close(t.clock.now);
    expect(sock(t.udpB).bind(null, 4000)).toBeUndefined();
    // Unicast to a shared port goes to the most recently bound socket.
    sock(t.udpA).send(bytes('x'), { address: B, port: 5000 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect([r1.queued, r2.queued]).toEqual([0, 1]);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('disconnect releases an automatically chosen port and local address, like Linux', () => {
    const t = hosts();
    const s = sock(t.udpA);
    s.connect(B, 9);
    expect(s.localPort).toBeGreaterThan(0);
    expect(s.localAddress).toBe(A);
    s.disconnect();
    expect([s.localAddress, s.localPort, s.connected]).toEqual([0, 0, false]);
    const k = sock(t.udpA);
    k.bind(null, 3000);
    k.connect(B, 9);
    k.disconnect();
    expect([k.localAddress, k.localPort]).toEqual([0, 3000]);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('UDP: closed ports and ICMP (RFC 1122 §4.1.3.1, §3.2.2; H18)', () => {
  it('closed port answered with ICMP port unreachable; a connected sender gets ECONNREFUSED', () => {
    const t = hosts();
    const c = sock(t.udpA);
    let errors = 0;
    c.listener = { readable: () => {}, error: () => errors++ };
    c.connect(B, 9999);
    c.send(bytes('knock'), null, t.clock.now);
    settle(t.clock, t.stacks);
    expect(icmpSent(t.b)).toBe(1);
    expect(t.b.stack.stats.drops('udp', 'no_socket')).toBe(1);
    expect(errors).toBe(1);
    expect(c.takeError()).toBe('ECONNREFUSED');
    expect(c.takeError()).toBeUndefined();
    closeAndCheckLeaks(t.a, t.b);
  });

  it('an unconnected sender is not told about port unreachable (Linux without IP_RECVERR)', () => {
    const t = hosts();
    const c = sock(t.udpA);
    c.send(bytes('knock'), { address: B, port: 9999 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(icmpSent(t.b)).toBe(1);
    expect(c.takeError()).toBeUndefined();
    expect(t.a.stack.stats.get('udp', 'icmp_error_ignored')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('no ICMP error for a closed port reached by limited or subnet broadcast', () => {
    const t = hosts();
    const c = sock(t.udpA);
    c.broadcast = true;
    c.send(bytes('b1'), { address: 0xffff_ffff, port: 9999 }, t.clock.now);
    c.send(bytes('b2'), { address: parseIpv4('198.51.100.255')!, port: 9999 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(t.b.stack.stats.drops('udp', 'no_socket')).toBe(2);
    expect(icmpSent(t.b)).toBe(0);
    expect(t.b.stack.stats.drops('icmpv4', 'error_suppressed_broadcast')).toBe(2);
    // A unicast IP datagram inside a broadcast frame is not answered either.
    inject(t, ipv4({ src: A, dst: B, payload: udpBytes({ dport: 9999 }) }), 0xffff_ffff_ffff);
    expect(icmpSent(t.b)).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('no ICMP error for a closed port reached by multicast (224.0.0.251)', () => {
    const t = hosts();
    const mdns = parseIpv4('224.0.0.251')!;
    // Some socket on B joined the group (on another port), so the frame passes the MAC filter.
    const member = sock(t.udpB);
    member.bind(null, 5353);
    expect(member.addMembership(mdns, null, t.clock.now)).toBeUndefined();
    const c = sock(t.udpA);
    c.send(bytes('m'), { address: mdns, port: 9999 }, t.clock.now);
    c.send(bytes('m'), { address: mdns, port: 5353 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(member.queued).toBe(1);
    expect(t.b.stack.stats.drops('udp', 'no_socket')).toBe(1);
    expect(icmpSent(t.b)).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('no ICMP error about a non-first fragment (the reassembly-less receiver drops fragments)', () => {
    const t = hosts();
    inject(t, ipv4({ src: A, dst: B, fragOffset: 8, payload: udpBytes({ dport: 9999 }) }));
    expect(icmpSent(t.b)).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('E11: 100,000 datagrams to closed ports in one second produce no more ICMP errors than the token bucket allows', () => {
    const t = hosts();
    const icmp = t.b.stack.module<Icmpv4Module>('icmpv4')!;
    const { errorRate, errorBurst } = icmp.options;
    const ip = ipv4({ src: A, dst: B, payload: udpBytes({ dport: 1, checksum: 0 }) });
    const frame = ethernet({ src: MAC_A, dst: MAC_B, payload: ip });
    const portAt = 14 + 20 + 2;
    const total = 100_000;
    const batch = 100;
    const start = t.clock.now;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < total; i += batch) {
      for (let k = 0; k < batch; k++) {
        writeU16(frame, portAt, 1 + ((i + k) % 60000));
        t.pair.a.transmit(frame);
      }
      settle(t.clock, t.stacks);
      t.clock.advance(1); // 100 datagrams per ms = 100,000 per second
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const seconds = (t.clock.now - start) / 1e6;
    expect(seconds).toBeCloseTo(1, 5);
    expect(t.b.stack.stats.drops('udp', 'no_socket')).toBe(total);
    const sent = icmpSent(t.b);
    expect(sent).toBeLessThanOrEqual(Math.ceil(errorBurst + errorRate * seconds));
    expect(sent).toBeGreaterThan(errorRate * seconds * 0.9);
    expect(sent + t.b.stack.stats.drops('icmpv4', 'error_rate_limited')).toBe(total);
    // Informational: per-datagram CPU of the whole path (frame in, drop, rate-limited ICMP), including A's side.
    console.log(`E11: ${(ns / total / 1000).toFixed(2)} µs per datagram to a closed port (both stacks), ${sent} ICMP errors sent`);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('UDP: hostile datagrams through the whole stack (H43, H44)', () => {
  it('bad checksum is dropped silently: no delivery, no ICMP', () => {
    const t = hosts();
    const s = sock(t.udpB);
    s.bind(null, 7);
    const good = udpBytes({ dport: 7 });
    const bad = good.slice();
    bad[6] ^= 0x55;
    inject(t, ipv4({ src: A, dst: B, payload: bad }));
    // Also to a closed port: still silence.
    const bad2 = udpBytes({ dport: 9999 });
    bad2[7] ^= 1;
    inject(t, ipv4({ src: A, dst: B, payload: bad2 }));
    expect(s.queued).toBe(0);
    expect(t.b.stack.stats.drops('udp', 'bad_checksum')).toBe(2);
    expect(icmpSent(t.b)).toBe(0);
    inject(t, ipv4({ src: A, dst: B, payload: good }));
    expect(drain(s).map((d) => d.data)).toEqual(['hello']);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('zero checksum over IPv4 means "no checksum" and is accepted', () => {
    const t = hosts();
    const s = sock(t.udpB);
    s.bind(null, 7);
    inject(t, ipv4({ src: A, dst: B, payload: udpBytes({ dport: 7, checksum: 0 }) }));
    expect(drain(s).map((d) => d.data)).toEqual(['hello']);
    expect(t.b.stack.stats.get('udp', 'rx_no_checksum')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it.each([
    ['0', 0],
    ['7', 7],
    ['1000 with a 100-byte IP payload', 1000],
  ])('UDP length %s is dropped without ICMP', (_name, length) => {
    const t = hosts();
    const s = sock(t.udpB);
    s.bind(null, 7);
    const u = udpBytes({ dport: 7, payload: new Uint8Array(92), length, checksum: 0 });
    expect(u.length).toBe(100);
    inject(t, ipv4({ src: A, dst: B, payload: u }));
    expect(s.queued).toBe(0);
    expect(t.b.stack.stats.drops('udp', 'malformed_length')).toBe(1);
    expect(icmpSent(t.b)).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('UDP length 20 with a 100-byte IP payload is trimmed to 12 payload bytes (checksum over the UDP length)', () => {
    const t = hosts();
    const s = sock(t.udpB);
    s.bind(null, 7);
    const payload = new Uint8Array(92).map((_, i) => i);
    const u = udpBytes({ dport: 7, payload, length: 20 });
    // Checksum as a correct sender computes it: over the 20 bytes the length field covers.
    writeU16(u, 6, 0);
    writeU16(u, 6, finishChecksum(tsChecksum.sum(u, 0, 20, pseudoHeaderSumV4(A, B, 17, 20))));
    inject(t, ipv4({ src: A, dst: B, payload: u }));
    const d = s.recv();
    expect(d && [...d.data]).toEqual([...payload.subarray(0, 12)]);
    expect(t.b.stack.stats.get('udp', 'rx_trimmed')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('a datagram shorter than the header is dropped', () => {
    const t = hosts();
    inject(t, ipv4({ src: A, dst: B, payload: new Uint8Array([0, 1, 0, 7, 0, 8]) }));
    expect(t.b.stack.stats.drops('udp', 'malformed_header')).toBe(1);
    expect(icmpSent(t.b)).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('UDP: receive queue bounds', () => {
  it('drops beyond the datagram cap and counts them per socket and per stack', () => {
    const t = hosts({ rxQueueDatagrams: 4 });
    const s = sock(t.udpB);
    s.bind(null, 7);
    const c = sock(t.udpA);
    // Resolve ARP first (ARP queues only a few packets per unresolved address).
    c.send(bytes('prime'), { address: B, port: 7 }, t.clock.now);
    settle(t.clock, t.stacks);
    s.recv();
    for (let i = 0; i < 10; i++) c.send(bytes(`d${i}`), { address: B, port: 7 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(s.queued).toBe(4);
    expect(s.rxDropped).toBe(6);
    expect(t.b.stack.stats.drops('udp', 'rcvbuf_full')).toBe(6);
    expect(drain(s).map((d) => d.data)).toEqual(['d0', 'd1', 'd2', 'd3']);
    // Draining makes room again.
    c.send(bytes('again'), { address: B, port: 7 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(drain(s).map((d) => d.data)).toEqual(['again']);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('drops beyond the byte cap, but an empty queue always takes one datagram', () => {
    const t = hosts({ rxQueueBytes: 1000 });
    const s = sock(t.udpB);
    s.bind(null, 7);
    const c = sock(t.udpA);
    c.send(new Uint8Array(1400), { address: B, port: 7 }, t.clock.now);
    c.send(new Uint8Array(10), { address: B, port: 7 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(s.queued).toBe(1);
    expect(s.recv()!.data.length).toBe(1400);
    for (let i = 0; i < 5; i++) c.send(new Uint8Array(300), { address: B, port: 7 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(s.queued).toBe(3);
    expect(t.b.stack.stats.drops('udp', 'rcvbuf_full')).toBe(3);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('UDP: ephemeral ports (RFC 6056)', () => {
  it('1000 implicit binds get distinct ports in range that are not sequential', () => {
    const t = hosts();
    const ports: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = sock(t.udpA);
      expect(s.bind(null, 0)).toBeUndefined();
      ports.push(s.localPort);
    }
    expect(new Set(ports).size).toBe(1000);
    expect(Math.min(...ports)).toBeGreaterThanOrEqual(49152);
    expect(Math.max(...ports)).toBeLessThanOrEqual(65535);
    let sequential = 0;
    for (let i = 1; i < ports.length; i++) if (Math.abs(ports[i]! - ports[i - 1]!) <= 1) sequential++;
    expect(sequential).toBeLessThan(10);
    // Spread over the range: every quarter gets a fair share.
    const quarters = [0, 0, 0, 0];
    for (const p of ports) quarters[Math.floor(((p - 49152) / 16384) * 4)]!++;
    for (const q of quarters) expect(q).toBeGreaterThan(150);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('two stacks with different seeds choose different sequences', () => {
    const t = hosts();
    const pa = Array.from({ length: 20 }, () => { const s = sock(t.udpA); s.bind(null, 0); return s.localPort; });
    const pb = Array.from({ length: 20 }, () => { const s = sock(t.udpB); s.bind(null, 0); return s.localPort; });
    expect(pa).not.toEqual(pb);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('exhaustion of a configured range gives EADDRINUSE, and a freed port is reused', () => {
    const t = hosts({ ephemeral: { low: 50000, high: 50003 } });
    const socks = Array.from({ length: 4 }, () => sock(t.udpA));
    for (const s of socks) expect(s.bind(null, 0)).toBeUndefined();
    expect(new Set(socks.map((s) => s.localPort))).toEqual(new Set([50000, 50001, 50002, 50003]));
    const extra = sock(t.udpA);
    expect(extra.bind(null, 0)).toBe('EADDRINUSE');
    expect(extra.send(bytes('x'), { address: B, port: 7 }, t.clock.now)).toBe('EADDRINUSE');
    const freed = socks[2]!.localPort;
    socks[2]!.close(t.clock.now);
    expect(extra.bind(null, 0)).toBeUndefined();
    expect(extra.localPort).toBe(freed);
    closeAndCheckLeaks(t.a, t.b);
  });
});

describe('UDP: broadcast and multicast', () => {
  it('sending to a broadcast address needs the broadcast flag (EACCES, like Linux)', () => {
    const t = hosts();
    const c = sock(t.udpA);
    expect(c.send(bytes('x'), { address: 0xffff_ffff, port: 7 }, t.clock.now)).toBe('EACCES');
    expect(c.send(bytes('x'), { address: parseIpv4('198.51.100.255')!, port: 7 }, t.clock.now)).toBe('EACCES');
    expect(c.connect(0xffff_ffff, 7)).toBe('EACCES');
    c.broadcast = true;
    const r = sock(t.udpB);
    r.bind(null, 7);
    expect(c.send(bytes('all'), { address: 0xffff_ffff, port: 7 }, t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(drain(r)).toEqual([{ data: 'all', address: A, port: c.localPort }]);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('join adds the group MAC to the interface filter, leave removes it; datagrams follow membership', () => {
    const t = hosts();
    const g = parseIpv4('239.1.2.3')!;
    const mac = 0x01005e010203;
    const s = sock(t.udpB, { reuseAddr: true });
    s.bind(null, 6000);
    const s2 = sock(t.udpB, { reuseAddr: true });
    s2.bind(null, 6000);
    expect(s.addMembership(g, null, t.clock.now)).toBeUndefined();
    expect(s.addMembership(g, null, t.clock.now)).toBe('EADDRINUSE');
    expect(s.addMembership(B, null, t.clock.now)).toBe('EINVAL');
    expect(s.addMembership(g, parseIpv4('203.0.113.1')!, t.clock.now)).toBe('ENODEV');
    expect(t.ib.multicastMacs.has(mac)).toBe(true);
    const c = sock(t.udpA);
    c.send(bytes('g1'), { address: g, port: 6000 }, t.clock.now);
    settle(t.clock, t.stacks);
    // Both sockets sharing the port hear the group (delivery to every matching socket).
    expect([drain(s).map((d) => d.data), drain(s2).map((d) => d.data)]).toEqual([['g1'], ['g1']]);
    expect(s.dropMembership(g, null, t.clock.now)).toBeUndefined();
    expect(s.dropMembership(g, null, t.clock.now)).toBe('EADDRNOTAVAIL');
    expect(t.ib.multicastMacs.has(mac)).toBe(false);
    c.send(bytes('g2'), { address: g, port: 6000 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(s.queued + s2.queued).toBe(0);
    expect(t.b.stack.stats.drops('link', 'not_for_us')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('closing a socket leaves its groups; the membership cap gives ENOBUFS', () => {
    const t = hosts({ maxMembershipsPerSocket: 2 });
    const s = sock(t.udpB);
    expect(s.addMembership(parseIpv4('239.0.0.1')!, null, t.clock.now)).toBeUndefined();
    expect(s.addMembership(parseIpv4('239.0.0.2')!, B, t.clock.now)).toBeUndefined();
    expect(s.addMembership(parseIpv4('239.0.0.3')!, null, t.clock.now)).toBe('ENOBUFS');
    expect(t.ib.multicastMacs.size).toBe(2);
    s.close(t.clock.now);
    expect(t.ib.multicastMacs.size).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('multicast sent to a group joined locally loops back unless multicastLoop is off', () => {
    const t = hosts();
    const g = parseIpv4('239.9.9.9')!;
    const r = sock(t.udpA);
    r.bind(null, 7000);
    r.addMembership(g, null, t.clock.now);
    const c = sock(t.udpA);
    c.send(bytes('loop'), { address: g, port: 7000 }, t.clock.now);
    c.multicastLoop = false;
    c.send(bytes('noloop'), { address: g, port: 7000 }, t.clock.now);
    settle(t.clock, t.stacks);
    expect(drain(r)).toEqual([{ data: 'loop', address: A, port: c.localPort }]);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('echo over a 3-port MemorySwitch: a broadcast reaches both other stacks, unicast replies come back', () => {
    const clock = new FakeClock();
    const sw = new MemorySwitch({ ports: 3, notify: 'sync' });
    const mk = (name: string, i: number) => {
      const ts = testStack(name, [new ArpModule(), new Ipv4Module(), new Icmpv4Module(), new UdpModule()]);
      ts.stack.addInterface(sw.port(i), { addresses: [`192.0.2.${i + 1}/24`], mac: 0x020000000100 + i }, clock.now);
      return ts;
    };
    const ts = [mk('s0', 0), mk('s1', 1), mk('s2', 2)];
    const stacks = ts.map((x) => x.stack);
    const udp = ts.map((x) => x.stack.module<UdpModule>('udp')!);
    const echo = [1, 2].map((i) => {
      const s = sock(udp[i]!);
      s.bind(null, 7);
      return s;
    });
    const c = sock(udp[0]!);
    c.broadcast = true;
    c.bind(null, 5555);
    c.send(bytes('who'), { address: parseIpv4('192.0.2.255')!, port: 7 }, clock.now);
    settle(clock, stacks);
    for (const e of echo) {
      const got = drain(e);
      expect(got).toEqual([{ data: 'who', address: parseIpv4('192.0.2.1')!, port: 5555 }]);
      e.send(bytes(`me ${e.localAddress}`), { address: got[0]!.address, port: got[0]!.port }, clock.now);
    }
    runFor(clock, stacks, 10);
    const replies = drain(c).map((d) => d.address).sort();
    expect(replies).toEqual([parseIpv4('192.0.2.2')!, parseIpv4('192.0.2.3')!]);
    closeAndCheckLeaks(...ts);
  });
});

describe('UDP: socket API edges', () => {
  it('EMSGSIZE above 65507 bytes; fragmented send within the limit reaches a reassembling peer or is counted', () => {
    const t = hosts();
    const c = sock(t.udpA);
    expect(c.send(new Uint8Array(65508), { address: B, port: 7 }, t.clock.now)).toBe('EMSGSIZE');
    expect(c.send(new Uint8Array(3000), { address: B, port: 7 }, t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(t.a.stack.stats.get('ipv4', 'tx_fragments')).toBe(3);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('operations on a closed socket answer EBADF; unconnected send without a target is EDESTADDRREQ', () => {
    const t = hosts();
    const c = sock(t.udpA);
    expect(c.send(bytes('x'), null, t.clock.now)).toBe('EDESTADDRREQ');
    expect(c.send(bytes('x'), { address: B, port: 0 }, t.clock.now)).toBe('EINVAL');
    c.close(t.clock.now);
    c.close(t.clock.now);
    expect(c.bind(null, 0)).toBe('EBADF');
    expect(c.send(bytes('x'), { address: B, port: 7 }, t.clock.now)).toBe('EBADF');
    expect(c.connect(B, 7)).toBe('EBADF');
    closeAndCheckLeaks(t.a, t.b);
  });

  it('no route: ENETUNREACH from send and connect', () => {
    const t = hosts();
    const c = sock(t.udpA);
    const far = parseIpv4('203.0.113.5')!;
    expect(c.send(bytes('x'), { address: far, port: 7 }, t.clock.now)).toBe('ENETUNREACH');
    expect(c.connect(far, 7)).toBe('ENETUNREACH');
    closeAndCheckLeaks(t.a, t.b);
  });

  it('socket() for a family without its network module is EAFNOSUPPORT', () => {
    const t = hosts();
    expect(t.udpA.socket(6)).toBe('EAFNOSUPPORT');
    expect(t.udpA.supports(4)).toBe(true);
    closeAndCheckLeaks(t.a, t.b);
  });
});

