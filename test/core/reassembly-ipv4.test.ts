// IPv4 reassembly through whole stacks on a memory pair (RFC 791 §3.2, RFC 1122 §3.3.2): large pings
// fragmented by the sender's IPv4 module and reassembled by the receiver, whose fragmented echo reply
// is reassembled back; injected fragments out of order, reversed and duplicated; the rebuilt header;
// and the 30 s timeout with ICMP Time Exceeded code 1 only when fragment 0 arrived.
import { describe, expect, it } from 'vitest';
import { ArpModule, Icmpv4Module, Ipv4Module, type StackModule } from '../../src/core/index.js';
import { IPV4_REASSEMBLY_LAYER, Ipv4ReassemblyModule } from '../../src/core/ipv4-reassembly.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { tsChecksum } from '../../src/checksum/index.js';
import { Duration, Instant } from '../../src/time/instant.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Icmpv4Packet } from '../../src/wire/icmpv4.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { IP4_A, IP4_B, MAC_A, MAC_B, ethernet, ipv4 } from '../support/build-l3.js';
import { icmpv4 } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const A = parseIpv4('198.51.100.1')!;
const B = parseIpv4('198.51.100.2')!;

function stackModules(): StackModule[] {
  return [new ArpModule(), new Ipv4Module(), new Icmpv4Module(), new Ipv4ReassemblyModule()];
}

/** Two full stacks with reassembly on a memory pair, ARP pre-resolved both ways. */
function twoHosts() {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const a = testStack('a', stackModules());
  const b = testStack('b', stackModules());
  const ia = a.stack.addInterface(pair.a, { addresses: ['198.51.100.1/24'], mac: 0x02000000000a }, clock.now);
  const ib = b.stack.addInterface(pair.b, { addresses: ['198.51.100.2/24'], mac: 0x02000000000b }, clock.now);
  // Static ARP: a 65000-byte datagram is 45 fragments, more than ARP queues while resolving.
  a.stack.module<ArpModule>('arp')!.addStatic(ia, B, 0x02000000000b, clock.now);
  b.stack.module<ArpModule>('arp')!.addStatic(ib, A, 0x02000000000a, clock.now);
  return { clock, pair, a, b, stacks: [a.stack, b.stack] };
}

/** One stack (192.0.2.2, MAC_B) whose peer end is driven by the test: frames in with `inject`, out with `drain`. */
function hostUnderTest() {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const b = testStack('b', stackModules());
  const ib = b.stack.addInterface(pair.b, { addresses: ['192.0.2.2/24'], mac: MAC_B }, clock.now);
  b.stack.module<ArpModule>('arp')!.addStatic(ib, IP4_A, MAC_A, clock.now);
  const inject = (frames: Uint8Array[]) => {
    for (const f of frames) expect(pair.a.transmit(f)).toBe(true);
    settle(clock, [b.stack]);
  };
  /** IPv4 packets B sent (ARP ignored). */
  const drain = (): Ipv4Packet[] => {
    const out: Ipv4Packet[] = [];
    pair.a.receive(10_000, (f) => {
      const e = EthernetFrame.check(f.slice());
      if (isWireError(e) || e.ethertype !== 0x0800) return;
      const p = Ipv4Packet.check(e.buf, e.payloadOffset, e.payloadLength);
      if (!isWireError(p)) out.push(p);
    });
    return out;
  };
  return { clock, pair, b, inject, drain, reasm: b.stack.module<Ipv4ReassemblyModule>('ipv4-reassembly')! };
}

/** An ICMP echo request of `dataLen` bytes from A to B, cut into IPv4 fragments of at most `chunk` payload bytes. */
function echoFragments(ident: number, dataLen: number, chunk: number, seq = 1): Uint8Array[] {
  const data = new Uint8Array(dataLen);
  for (let i = 0; i < dataLen; i++) data[i] = (i * 13 + 5) & 0xff;
  const msg = icmpv4({ type: 8, ident: 0x4242, seq, data });
  const frames: Uint8Array[] = [];
  for (let off = 0; off < msg.length; off += chunk) {
    const n = Math.min(chunk, msg.length - off);
    const ip = ipv4({ src: IP4_A, dst: IP4_B, protocol: 1, ident, fragOffset: off, mf: off + n < msg.length, payload: msg.subarray(off, off + n) });
    frames.push(ethernet({ dst: MAC_B, src: MAC_A, payload: ip }));
  }
  return frames;
}

/** Test-side reassembly of the packets B sent (sorted by offset; asserts they tile exactly). */
function joinFragments(ps: Ipv4Packet[]): Uint8Array {
  const sorted = [...ps].sort((x, y) => x.fragOffset - y.fragOffset);
  const total = sorted.reduce((n, p) => n + p.payloadLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of sorted) {
    expect(p.fragOffset).toBe(at);
    out.set(p.payload(), at);
    at += p.payloadLength;
  }
  expect(sorted[sorted.length - 1]!.moreFrags).toBe(false);
  return out;
}

function expectEchoReply(ps: Ipv4Packet[], dataLen: number): void {
  expect(ps.length).toBeGreaterThan(0);
  expect(new Set(ps.map((p) => p.ident)).size).toBe(1);
  const msg = joinFragments(ps);
  const icmp = Icmpv4Packet.check(msg);
  if (isWireError(icmp)) throw icmp;
  expect(icmp.type).toBe(0);
  expect(icmp.verifyChecksum(tsChecksum)).toBe(true);
  expect(icmp.dataLength).toBe(dataLen);
  const data = icmp.data();
  let bad = -1;
  for (let i = 0; i < dataLen; i++) if (data[i] !== ((i * 13 + 5) & 0xff)) { bad = i; break; }
  expect(bad).toBe(-1);
}

describe('IPv4 reassembly between two stacks', () => {
  for (const size of [4000, 65000]) {
    it(`ping_${size}_bytes: request fragmented by A and reassembled by B, fragmented reply reassembled by A`, () => {
      const t = twoHosts();
      const icmpA = t.a.stack.module<Icmpv4Module>('icmpv4')!;
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
      const replies: Uint8Array[] = [];
      icmpA.onEchoReply(0x77, (from, _id, seq, d) => {
        expect(from).toBe(B);
        expect(seq).toBe(3);
        replies.push(d.slice());
      });
      expect(icmpA.sendEchoRequest(B, 0x77, 3, data, t.clock.now)).toBeUndefined();
      settle(t.clock, t.stacks);
      expect(replies.length).toBe(1);
      expect(replies[0]).toEqual(data);
      const frags = Math.ceil((size + 8) / 1480);
      for (const s of [t.a.stack, t.b.stack]) {
        expect(s.stats.get('ipv4', 'tx_fragments')).toBe(frags);
        expect(s.stats.get(IPV4_REASSEMBLY_LAYER, 'fragments')).toBe(frags);
        expect(s.stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled')).toBe(1);
        expect(s.stats.snapshot()[IPV4_REASSEMBLY_LAYER]?.drops ?? {}).toEqual({});
        expect(s.module<Ipv4ReassemblyModule>('ipv4-reassembly')!.engine.bytesInUse).toBe(0);
      }
      expect(t.b.stack.stats.get('icmpv4', 'echo_replies_sent')).toBe(1);
      // Nothing left to time out.
      runFor(t.clock, t.stacks, 31_000);
      expect(replies.length).toBe(1);
      expect(t.a.stack.stats.get('icmpv4', 'errors_sent') + t.b.stack.stats.get('icmpv4', 'errors_sent')).toBe(0);
      closeAndCheckLeaks(t.a, t.b);
    });
  }

  it('without the reassembly module the receiver drops every fragment (counted) and sends nothing back', () => {
    const clock = new FakeClock();
    const pair = createMemoryPair({ notify: 'sync' });
    const a = testStack('a', stackModules());
    const b = testStack('b', [new ArpModule(), new Ipv4Module(), new Icmpv4Module()]);
    const ia = a.stack.addInterface(pair.a, { addresses: ['198.51.100.1/24'], mac: 0x02000000000a }, clock.now);
    b.stack.addInterface(pair.b, { addresses: ['198.51.100.2/24'], mac: 0x02000000000b }, clock.now);
    a.stack.module<ArpModule>('arp')!.addStatic(ia, B, 0x02000000000b, clock.now);
    a.stack.module<Icmpv4Module>('icmpv4')!.sendEchoRequest(B, 1, 1, new Uint8Array(4000), clock.now);
    settle(clock, [a.stack, b.stack]);
    expect(b.stack.stats.drops('ipv4', 'fragment_no_reassembly')).toBe(3);
    expect(b.stack.stats.get('link', 'tx_frames')).toBe(0);
    closeAndCheckLeaks(a, b);
  });
});

describe('IPv4 reassembly of injected fragments', () => {
  const orders: Array<[string, (fs: Uint8Array[]) => Uint8Array[]]> = [
    ['in_order', (fs) => fs],
    ['reverse', (fs) => [...fs].reverse()],
    ['shuffled', (fs) => [fs[3]!, fs[0]!, fs[4]!, fs[2]!, fs[1]!]],
    ['duplicated', (fs) => [fs[0]!, fs[1]!, fs[1]!, fs[0]!, fs[4]!, fs[2]!, fs[4]!, fs[3]!]],
  ];
  for (const [name, reorder] of orders) {
    it(`echo_${name}: 3000 data bytes in 5 fragments, one reassembled request, one fragmented reply`, () => {
      const h = hostUnderTest();
      const frames = echoFragments(0x1111, 3000, 608);
      expect(frames.length).toBe(5);
      h.inject(reorder(frames));
      const stats = h.b.stack.stats;
      expect(stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled')).toBe(1);
      expect(stats.get('icmpv4', 'echo_requests_received')).toBe(1);
      expect(stats.drops(IPV4_REASSEMBLY_LAYER, 'duplicate')).toBe(name === 'duplicated' ? 3 : 0);
      const out = h.drain();
      expect(out.length).toBe(3); // 3008-byte reply at MTU 1500
      expectEchoReply(out, 3000);
      expect(h.reasm.engine.datagrams).toBe(0);
      closeAndCheckLeaks(h.b);
    });
  }

  it('rebuilds the header from fragment 0: options kept, MF and offset cleared, total length and checksum recomputed', () => {
    const h = hostUnderTest();
    const seen: Uint8Array[] = [];
    // Observe the delivered datagram through a protocol handler for an otherwise unused protocol.
    h.b.stack.module<Ipv4Module>('ipv4')!.registerProtocol(253, (buf, off, len, info) => {
      seen.push(info.packet.slice(info.packetOffset, off + len));
    });
    const payload = new Uint8Array(100).map((_, i) => i);
    const nop4 = Uint8Array.from([1, 1, 1, 0]);
    const f0 = ipv4({ protocol: 253, ident: 9, mf: true, fragOffset: 0, options: nop4, ttl: 33, payload: payload.subarray(0, 48) });
    const f1 = ipv4({ protocol: 253, ident: 9, fragOffset: 48, payload: payload.subarray(48) });
    h.inject([ethernet({ payload: f1 }), ethernet({ payload: f0 })]);
    expect(seen.length).toBe(1);
    const d = Ipv4Packet.check(seen[0]!);
    if (isWireError(d)) throw d;
    expect(d.headerLen).toBe(24);
    expect(d.totalLength).toBe(124);
    expect(d.moreFrags).toBe(false);
    expect(d.fragOffset).toBe(0);
    expect(d.isFragment).toBe(false);
    expect(d.ttl).toBe(33);
    expect(d.ident).toBe(9);
    expect(d.verifyChecksum(tsChecksum)).toBe(true);
    expect([...seen[0]!.subarray(20, 24)]).toEqual([1, 1, 1, 0]);
    expect(d.payload()).toEqual(payload);
    closeAndCheckLeaks(h.b);
  });

  it('interleaved datagrams from one source with different idents stay apart', () => {
    const h = hostUnderTest();
    const x = echoFragments(0x2001, 2000, 1000, 1);
    const y = echoFragments(0x2002, 2000, 1000, 2);
    h.inject([x[0]!, y[2]!, y[0]!, x[2]!, y[1]!, x[1]!]);
    expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled')).toBe(2);
    expect(h.b.stack.stats.get('icmpv4', 'echo_replies_sent')).toBe(2);
    closeAndCheckLeaks(h.b);
  });
});

describe('IPv4 reassembly timeout (RFC 1122 §3.3.2)', () => {
  it('a datagram missing its last fragment expires at 30 s with ICMP Time Exceeded code 1 quoting fragment 0', () => {
    const h = hostUnderTest();
    const frames = echoFragments(0x3333, 3000, 1480);
    const start = h.clock.now;
    h.inject([frames[0]!, frames[1]!]);
    expect(h.drain()).toEqual([]);
    expect(h.b.stack.pollAt(h.clock.now)).toBe(Instant.add(start, Duration.seconds(30)));
    runFor(h.clock, [h.b.stack], 29_999);
    expect(h.drain()).toEqual([]);
    expect(h.reasm.engine.datagrams).toBe(1);
    runFor(h.clock, [h.b.stack], 1);
    const out = h.drain();
    expect(out.length).toBe(1);
    const p = out[0]!;
    expect(p.protocol).toBe(1);
    expect(p.dst).toBe(IP4_A);
    expect(p.src).toBe(IP4_B);
    const icmp = Icmpv4Packet.check(p.buf, p.payloadOffset, p.payloadLength);
    if (isWireError(icmp)) throw icmp;
    expect([icmp.type, icmp.code]).toEqual([11, 1]);
    const q = icmp.quoted();
    if (isWireError(q)) throw q;
    expect(q.ident).toBe(0x3333);
    expect(q.fragmentOffset).toBe(0);
    expect(q.moreFragments).toBe(true);
    expect(q.transportLength).toBe(8);
    expect([q.echoIdent, q.echoSeq]).toEqual([0x4242, 1]);
    expect(h.b.stack.stats.drops(IPV4_REASSEMBLY_LAYER, 'timeout')).toBe(1);
    expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'time_exceeded')).toBe(1);
    expect(h.reasm.engine.bytesInUse).toBe(0);
    // The late last fragment starts a new reassembly rather than completing the expired one.
    h.inject([frames[2]!]);
    expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled')).toBe(0);
    closeAndCheckLeaks(h.b);
  });

  it('no Time Exceeded when fragment 0 never arrived', () => {
    const h = hostUnderTest();
    const frames = echoFragments(0x3334, 3000, 1480);
    h.inject([frames[1]!, frames[2]!]);
    runFor(h.clock, [h.b.stack], 31_000);
    expect(h.drain()).toEqual([]);
    expect(h.b.stack.stats.drops(IPV4_REASSEMBLY_LAYER, 'timeout')).toBe(1);
    expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'time_exceeded')).toBe(0);
    expect(h.b.stack.stats.get('icmpv4', 'errors_sent')).toBe(0);
    expect(h.reasm.engine.datagrams).toBe(0);
    closeAndCheckLeaks(h.b);
  });

  it('the timeout is configurable and read from the module options', () => {
    const clock = new FakeClock();
    const pair = createMemoryPair({ notify: 'sync' });
    const mod = new Ipv4ReassemblyModule({ timeout: Duration.seconds(5) });
    const b = testStack('b', [new ArpModule(), new Ipv4Module(), new Icmpv4Module(), mod]);
    const ib = b.stack.addInterface(pair.b, { addresses: ['192.0.2.2/24'], mac: MAC_B }, clock.now);
    b.stack.module<ArpModule>('arp')!.addStatic(ib, IP4_A, MAC_A, clock.now);
    pair.a.transmit(echoFragments(0x3335, 3000, 1480)[0]!);
    settle(clock, [b.stack]);
    expect(mod.options.timeout).toBe(Duration.seconds(5));
    expect(b.stack.pollAt(clock.now)).toBe(Instant.add(clock.now, mod.options.timeout));
    runFor(clock, [b.stack], 4_999);
    expect(b.stack.stats.drops(IPV4_REASSEMBLY_LAYER, 'timeout')).toBe(0);
    runFor(clock, [b.stack], 1);
    expect(b.stack.stats.drops(IPV4_REASSEMBLY_LAYER, 'timeout')).toBe(1);
    expect(b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'time_exceeded')).toBe(1);
    closeAndCheckLeaks(b);
  });
});
