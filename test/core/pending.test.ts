import { describe, expect, it } from 'vitest';
import { type PendingPacket, pendingAdmits, takeOldestUnit } from '../../src/core/pending.js';
import { ArpModule, Icmpv4Module, Ipv4Module, Ipv4ReassemblyModule } from '../../src/core/index.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { FakeClock, closeAndCheckLeaks, settle, testStack } from '../support/stack-harness.js';

const pkt = (unit: number, len = 100): PendingPacket => ({ tx: { buf: new Uint8Array(0), l3Offset: 0 }, len, unit });

describe('resolution queues count a fragmented datagram once', () => {
  it('admits further fragments of a queued datagram but no fourth datagram, and honours the byte cap', () => {
    const q = [pkt(-1), pkt(7), pkt(7), pkt(9)];
    expect(pendingAdmits(q, pkt(7), 3, 10_000)).toBe(true);
    expect(pendingAdmits(q, pkt(-1), 3, 10_000)).toBe(false);
    expect(pendingAdmits(q, pkt(11), 3, 10_000)).toBe(false);
    expect(pendingAdmits(q, pkt(7, 9_700), 3, 10_000)).toBe(false);
    const q2 = [pkt(7), pkt(-1), pkt(7)];
    expect(takeOldestUnit(q2).map((p) => p.unit)).toEqual([7, 7]);
    expect(q2.map((p) => p.unit)).toEqual([-1]);
  });

  it('a 20000-byte ping (14 fragments) to an unresolved neighbour is answered in full', () => {
    const clock = new FakeClock();
    const pair = createMemoryPair({ notify: 'sync' });
    const mods = () => [new ArpModule(), new Ipv4Module(), new Ipv4ReassemblyModule(), new Icmpv4Module()];
    const a = testStack('a', mods());
    const b = testStack('b', mods());
    a.stack.addInterface(pair.a, { addresses: ['198.51.100.1/24'] }, clock.now);
    b.stack.addInterface(pair.b, { addresses: ['198.51.100.2/24'] }, clock.now);
    const icmp = a.stack.module<Icmpv4Module>('icmpv4')!;
    const got: number[] = [];
    icmp.onEchoReply(3, (_f, _i, _s, data) => got.push(data.length));
    icmp.sendEchoRequest(parseIpv4('198.51.100.2')!, 3, 1, new Uint8Array(20_000).fill(5), clock.now);
    settle(clock, [a.stack, b.stack]);
    expect(got).toEqual([20_000]);
    expect(a.stack.stats.drops('arp', 'pending_queue_full')).toBe(0);
    closeAndCheckLeaks(a, b);
  });
});
