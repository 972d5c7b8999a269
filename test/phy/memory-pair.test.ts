// Memory pair and loopback: ordered delivery of copies, bounded queues with end-to-end backpressure,
// link state, drop counters, capabilities, and the two notification modes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createMemoryPair, LoopbackDevice } from '../../src/phy/index.js';
import type { MemoryLink } from '../../src/phy/index.js';
import { drain, flushMicrotasks, numbered, recordingListener, seqOf } from './support.js';

describe('memory pair', () => {
  it('delivers frames in order, in both directions, as copies', () => {
    const { a, b } = createMemoryPair({ notify: 'sync' });
    const sent = Array.from({ length: 10 }, (_, i) => numbered(i));
    for (const f of sent) expect(a.transmit(f)).toBe(true);
    // Mutating the sender's buffers after transmit must not change what arrives.
    for (const f of sent) f.fill(0xaa);
    expect(b.transmit(numbered(99))).toBe(true);
    const got = drain(b);
    expect(got.map(seqOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got.every((f) => f[0] === 0)).toBe(true);
    expect(drain(a).map(seqOf)).toEqual([99]);
    expect(a.stats()).toMatchObject({ txFrames: 10, txBytes: 600, rxFrames: 1 });
    expect(b.stats()).toMatchObject({ txFrames: 1, rxFrames: 10, rxBytes: 600 });
  });

  it('receive honours the budget and lends frames for the call only', () => {
    const { a, b } = createMemoryPair();
    for (let i = 0; i < 5; i++) a.transmit(numbered(i));
    const seen: number[] = [];
    expect(b.receive(2, (f, meta) => {
      seen.push(seqOf(f));
      expect(meta).toEqual({});
    })).toBe(2);
    expect(b.pending).toBe(3);
    expect(b.receive(10, (f) => seen.push(seqOf(f)))).toBe(3);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(b.receive(10, () => undefined)).toBe(0);
  });

  it('a full queue refuses transmit (frame not taken); onWritable fires after the peer drains', async () => {
    const { a, b } = createMemoryPair({ queueFrames: 3 });
    const la = recordingListener();
    a.setListener(la);
    for (let i = 0; i < 3; i++) expect(a.transmit(numbered(i))).toBe(true);
    const refused = numbered(3);
    expect(a.transmit(refused)).toBe(false);
    expect(a.transmit(refused)).toBe(false);
    expect(a.stats().txBusy).toBe(2);
    expect(b.pending).toBe(3);
    await flushMicrotasks();
    expect(la.count('writable')).toBe(0);
    expect(b.receive(1, () => undefined)).toBe(1);
    await flushMicrotasks();
    expect(la.count('writable')).toBe(1);
    expect(a.transmit(refused)).toBe(true);
    expect(drain(b).map(seqOf)).toEqual([1, 2, 3]);
    await flushMicrotasks();
    // No refusal since the last notification: no further onWritable.
    expect(la.count('writable')).toBe(1);
  });

  it('the byte bound applies as well as the frame bound, but an empty queue always takes one frame', () => {
    const { a, b } = createMemoryPair({ queueBytes: 1000, capabilities: { mtu: 9000 } });
    expect(a.transmit(new Uint8Array(600))).toBe(true);
    expect(a.transmit(new Uint8Array(500))).toBe(false);
    expect(a.transmit(new Uint8Array(400))).toBe(true);
    drain(b);
    expect(a.transmit(new Uint8Array(5000))).toBe(true);
  });

  it('never loses or reorders frames whatever the interleaving of transmit and receive (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant('tx' as const), fc.integer({ min: 1, max: 5 })), { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), (ops, cap) => {
        const { a, b } = createMemoryPair({ queueFrames: cap, notify: 'sync' });
        let next = 0;
        const got: number[] = [];
        for (const op of ops) {
          if (op === 'tx') {
            if (a.transmit(numbered(next))) next++;
          } else b.receive(op, (f) => got.push(seqOf(f)));
          expect(b.pending).toBeLessThanOrEqual(cap);
        }
        b.receive(1e9, (f) => got.push(seqOf(f)));
        expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
      }),
    );
  });

  it('link down: both ends notified, transmits are taken and dropped as link_down; up again delivers', async () => {
    const pair = createMemoryPair();
    const { a, b } = pair;
    const la = recordingListener();
    const lb = recordingListener();
    a.setListener(la);
    b.setListener(lb);
    pair.setUp(false);
    expect(a.up).toBe(false);
    expect(a.transmit(numbered(1))).toBe(true);
    expect(a.stats().drops).toEqual({ link_down: 1 });
    await flushMicrotasks();
    expect(la.events).toContain('down');
    expect(lb.events).toContain('down');
    pair.setUp(true);
    expect(a.transmit(numbered(2))).toBe(true);
    await flushMicrotasks();
    expect(lb.events.slice(-2)).toEqual(['up', 'readable']);
    expect(drain(b).map(seqOf)).toEqual([2]);
  });

  it('oversized frames are dropped and counted; Ethernet allows MTU + header + one VLAN tag', () => {
    const { a, b } = createMemoryPair({ capabilities: { mtu: 1500 } });
    expect(a.transmit(new Uint8Array(1518))).toBe(true);
    expect(a.transmit(new Uint8Array(1519))).toBe(true);
    expect(a.stats().drops).toEqual({ oversize: 1 });
    expect(drain(b)).toHaveLength(1);
    const ip = createMemoryPair({ capabilities: { medium: 'ip', mtu: 1280 } });
    ip.a.transmit(new Uint8Array(1281));
    expect(ip.a.stats().drops).toEqual({ oversize: 1 });
  });

  it('capabilities are configurable and complete', () => {
    const { a, b } = createMemoryPair({ capabilities: { medium: 'ip', mtu: 9000, maxBurst: 8, checksum: { tcp: 'both' } } });
    expect(a.capabilities).toEqual({ medium: 'ip', mtu: 9000, maxBurst: 8, checksum: { ipv4: 'none', tcp: 'both', udp: 'none', icmp: 'none' } });
    expect(b.capabilities).toBe(a.capabilities);
    expect(() => createMemoryPair({ capabilities: { mtu: 10 } })).toThrow(RangeError);
  });

  it('microtask mode coalesces notifications and never calls the listener inside transmit()', async () => {
    const { a, b } = createMemoryPair();
    const lb = recordingListener();
    b.setListener(lb);
    for (let i = 0; i < 5; i++) a.transmit(numbered(i));
    expect(lb.events).toEqual([]);
    await flushMicrotasks();
    expect(lb.events).toEqual(['readable']);
  });

  it('sync mode notifies before transmit returns and tolerates a listener that re-enters', () => {
    const { a, b } = createMemoryPair({ notify: 'sync' });
    // b echoes every frame straight back from inside its notification; a counts echoes and replies
    // until 100 round trips: with a trampoline this stays shallow instead of recursing 200 deep.
    let depth = 0;
    let maxDepth = 0;
    let rounds = 0;
    const echo = (self: MemoryLink) => ({
      onReadable: () => {
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        self.receive(16, (f) => {
          if (self === a) rounds++;
          if (rounds < 100) self.transmit(f);
        });
        depth--;
      },
      onWritable: () => undefined,
    });
    a.setListener(echo(a));
    b.setListener(echo(b));
    a.transmit(numbered(7));
    expect(rounds).toBe(100);
    expect(maxDepth).toBeLessThanOrEqual(2);
  });

  it('a listener attached after frames arrived is told they are there', async () => {
    const { a, b } = createMemoryPair();
    a.transmit(numbered(1));
    const lb = recordingListener();
    b.setListener(lb);
    await flushMicrotasks();
    expect(lb.events).toEqual(['readable']);
  });

  it('close: the peer sees the link go down and its transmits are dropped as closed', async () => {
    const { a, b } = createMemoryPair();
    const la = recordingListener();
    a.setListener(la);
    b.close();
    expect(a.up).toBe(false);
    expect(a.transmit(numbered(1))).toBe(true);
    expect(a.stats().drops).toEqual({ closed: 1 });
    await flushMicrotasks();
    expect(la.events).toEqual(['down']);
  });
});

describe('loopback', () => {
  it('what you transmit you receive, copied and in order', () => {
    const lo = new LoopbackDevice({ notify: 'sync' });
    expect(lo.capabilities.medium).toBe('ip');
    const f = numbered(1);
    lo.transmit(f);
    lo.transmit(numbered(2));
    f.fill(0);
    expect(drain(lo).map(seqOf)).toEqual([1, 2]);
    expect(lo.stats()).toMatchObject({ txFrames: 2, rxFrames: 2 });
  });

  it('is bounded, refuses when full and signals writable after a drain', () => {
    const lo = new LoopbackDevice({ queueFrames: 2, notify: 'sync', capabilities: { medium: 'ethernet' } });
    const l = recordingListener();
    lo.setListener(l);
    expect(lo.capabilities.medium).toBe('ethernet');
    lo.transmit(numbered(1));
    lo.transmit(numbered(2));
    expect(lo.transmit(numbered(3))).toBe(false);
    lo.receive(1, () => undefined);
    expect(l.events).toEqual(['readable', 'readable', 'writable']);
    expect(lo.transmit(numbered(3))).toBe(true);
  });
});
