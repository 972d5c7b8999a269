import { describe, expect, it } from 'vitest';
import { ArpModule, Icmpv4Module, Ipv4Module } from '../../src/core/index.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const A = parseIpv4('198.51.100.1')!;
const B = parseIpv4('198.51.100.2')!;

function twoHosts() {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const a = testStack('a', [new ArpModule(), new Ipv4Module(), new Icmpv4Module()]);
  const b = testStack('b', [new ArpModule(), new Ipv4Module(), new Icmpv4Module()]);
  const ia = a.stack.addInterface(pair.a, { addresses: ['198.51.100.1/24'], mac: 0x02000000000a }, clock.now);
  const ib = b.stack.addInterface(pair.b, { addresses: ['198.51.100.2/24'], mac: 0x02000000000b }, clock.now);
  return { clock, pair, a, b, ia, ib, stacks: [a.stack, b.stack] };
}

describe('IPv4 + ARP + ICMP echo between two stacks over a memory pair', () => {
  it('resolves with ARP, then ping gets a reply with the same id, seq and data', () => {
    const t = twoHosts();
    const icmpA = t.a.stack.module<Icmpv4Module>('icmpv4')!;
    const replies: Array<{ from: number; seq: number; data: number[] }> = [];
    icmpA.onEchoReply(0x1234, (from, _id, seq, data) => replies.push({ from, seq, data: [...data] }));
    expect(icmpA.sendEchoRequest(B, 0x1234, 1, Uint8Array.from([1, 2, 3, 4]), t.clock.now)).toBeUndefined();
    settle(t.clock, t.stacks);
    expect(replies).toEqual([{ from: B, seq: 1, data: [1, 2, 3, 4] }]);
    expect(t.a.stack.stats.get('arp', 'requests_sent')).toBe(1);
    expect(t.b.stack.stats.get('arp', 'replies_sent')).toBe(1);
    // B learnt A from the request addressed to it, so it needed no ARP request of its own.
    expect(t.b.stack.stats.get('arp', 'requests_sent')).toBe(0);
    expect(t.a.stack.module<ArpModule>('arp')!.lookup(t.ia, B)).toBe(0x02000000000b);
    // A second ping goes straight out.
    icmpA.sendEchoRequest(B, 0x1234, 2, new Uint8Array(0), t.clock.now);
    settle(t.clock, t.stacks);
    expect(replies.map((r) => r.seq)).toEqual([1, 2]);
    expect(t.a.stack.stats.get('arp', 'requests_sent')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('fragments a 4000-byte ping on output (MTU 1500); without reassembly the receiver drops the fragments', () => {
    const t = twoHosts();
    const sent: EthernetFrame[] = [];
    const icmpA = t.a.stack.module<Icmpv4Module>('icmpv4')!;
    icmpA.sendEchoRequest(B, 7, 1, new Uint8Array(4000).fill(0xab), t.clock.now);
    // Capture what reaches B's device before B polls.
    settle(t.clock, [t.a.stack]);
    settle(t.clock, [t.b.stack]); // ARP reply back to A
    settle(t.clock, [t.a.stack]); // A flushes its queued fragments
    t.pair.b.receive(100, (f) => {
      const e = EthernetFrame.check(f.slice());
      if (!isWireError(e)) sent.push(e);
    });
    expect(sent.length).toBe(3);
    const lens = sent.map((e) => e.payloadLength);
    expect(lens[0]).toBe(1500);
    expect(lens[1]).toBe(1500);
    expect(lens[2]).toBe(20 + 4008 - 2 * 1480);
    settle(t.clock, t.stacks);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('gives up after 3 unanswered ARP requests and frees the queued packets', () => {
    const t = twoHosts();
    const icmpA = t.a.stack.module<Icmpv4Module>('icmpv4')!;
    const ghost = parseIpv4('198.51.100.77')!;
    for (let i = 0; i < 5; i++) icmpA.sendEchoRequest(ghost, 1, i, new Uint8Array(8), t.clock.now);
    runFor(t.clock, t.stacks, 10_000);
    expect(t.a.stack.stats.get('arp', 'requests_sent')).toBe(3);
    expect(t.a.stack.stats.drops('arp', 'pending_queue_full')).toBe(2);
    expect(t.a.stack.stats.drops('arp', 'unresolved')).toBe(3);
    expect(t.a.stack.stats.get('arp', 'resolution_failed')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('answers a datagram for an unregistered protocol with ICMP protocol unreachable', () => {
    const t = twoHosts();
    const ipA = t.a.stack.module<Ipv4Module>('ipv4')!;
    const icmpA = t.a.stack.module<Icmpv4Module>('icmpv4')!;
    const errors: Array<{ type: number; code: number }> = [];
    icmpA.onError(253, (r) => errors.push({ type: r.type, code: r.code }));
    ipA.send({ dst: B, protocol: 253 }, 4, (buf, off) => buf.set([9, 9, 9, 9], off), t.clock.now);
    settle(t.clock, t.stacks);
    expect(errors).toEqual([{ type: 3, code: 2 }]);
    expect(t.b.stack.stats.get('icmpv4', 'errors_sent')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });

  it('pings its own address through the loopback path without touching the link', () => {
    const t = twoHosts();
    const icmpA = t.a.stack.module<Icmpv4Module>('icmpv4')!;
    const got: number[] = [];
    icmpA.onEchoReply(5, (_f, _i, seq) => got.push(seq));
    icmpA.sendEchoRequest(A, 5, 9, new Uint8Array(16), t.clock.now);
    settle(t.clock, t.stacks);
    expect(got).toEqual([9]);
    expect(t.a.stack.stats.get('link', 'tx_frames')).toBe(0);
    closeAndCheckLeaks(t.a, t.b);
  });
});
