// MemorySwitch: learning (flood unknown, then forward only), aging by the injected clock, table cap
// with least-recently-seen eviction, broadcast/multicast flooding, hub mode, and per-port drops.
import { describe, expect, it } from 'vitest';
import { MemorySwitch } from '../../src/phy/index.js';
import { BROADCAST, drain, ether, FakeClock, flushMicrotasks, mac, recordingListener } from './support.js';

const pendingOf = (sw: MemorySwitch): number[] => sw.ports.map((p) => drain(p).length);

describe('learning switch', () => {
  it('floods unknown unicast, learns the source, then forwards only to the learned port', () => {
    const clock = new FakeClock();
    const sw = new MemorySwitch({ ports: 4, clock });
    // Host 1 on port 0 talks to host 2 (unknown yet): flooded to ports 1..3.
    sw.port(0).transmit(ether(mac(2), mac(1)));
    expect(pendingOf(sw)).toEqual([0, 1, 1, 1]);
    // Host 2 answers from port 2: host 1 is known, so only port 0 gets it.
    sw.port(2).transmit(ether(mac(1), mac(2)));
    expect(pendingOf(sw)).toEqual([1, 0, 0, 0]);
    // Now both are known: no more flooding between them.
    sw.port(0).transmit(ether(mac(2), mac(1)));
    expect(pendingOf(sw)).toEqual([0, 0, 1, 0]);
    expect(sw.stats()).toMatchObject({ flooded: 1, forwarded: 2, learned: 2 });
    expect(sw.macTable()).toEqual([
      { mac: '02:00:00:00:00:02', port: 2, lastSeen: 0 },
      { mac: '02:00:00:00:00:01', port: 0, lastSeen: 0 },
    ]);
  });

  it('floods broadcast and multicast even to known stations, and never learns a group source', () => {
    const sw = new MemorySwitch({ ports: 3, clock: new FakeClock() });
    sw.port(1).transmit(ether(mac(1), mac(9)));
    drain(sw.port(0));
    drain(sw.port(2));
    sw.port(0).transmit(ether(BROADCAST, mac(5)));
    expect(pendingOf(sw)).toEqual([0, 1, 1]);
    sw.port(0).transmit(ether(Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), mac(5)));
    expect(pendingOf(sw)).toEqual([0, 1, 1]);
    sw.port(2).transmit(ether(mac(5), Uint8Array.of(0x01, 0, 0x5e, 0, 0, 1)));
    expect(sw.macTable().map((e) => e.mac)).toEqual(['02:00:00:00:00:09', '02:00:00:00:00:05']);
  });

  it('a frame for a station on its own ingress port is filtered, not reflected', () => {
    const sw = new MemorySwitch({ ports: 2 });
    sw.port(0).transmit(ether(BROADCAST, mac(1)));
    sw.port(0).transmit(ether(BROADCAST, mac(2)));
    drain(sw.port(1));
    sw.port(0).transmit(ether(mac(2), mac(1)));
    expect(pendingOf(sw)).toEqual([0, 0]);
    expect(sw.port(0).stats().drops).toEqual({ filtered: 1 });
  });

  it('entries age out after agingUs of silence and unknown unicast is flooded again', () => {
    const clock = new FakeClock(1_000);
    const sw = new MemorySwitch({ ports: 3, clock, agingUs: 10_000 });
    sw.port(1).transmit(ether(BROADCAST, mac(7)));
    pendingOf(sw);
    clock.advance(9_999);
    sw.port(0).transmit(ether(mac(7), mac(1)));
    expect(pendingOf(sw)).toEqual([0, 1, 0]);
    // Refreshing: host 7 speaks at t=10_999, so its entry lives until 20_999.
    sw.port(1).transmit(ether(mac(1), mac(7)));
    pendingOf(sw);
    clock.advance(9_999);
    sw.port(0).transmit(ether(mac(7), mac(1)));
    expect(pendingOf(sw)).toEqual([0, 1, 0]);
    clock.advance(10_000);
    sw.port(2).transmit(ether(mac(7), mac(3)));
    expect(pendingOf(sw)).toEqual([1, 1, 0]);
    expect(sw.stats().aged).toBe(1);
    expect(sw.macTable().map((e) => e.mac)).not.toContain('02:00:00:00:00:07');
  });

  it('caps the table: a new station evicts the least recently seen one, aged entries go first', () => {
    const clock = new FakeClock();
    const sw = new MemorySwitch({ ports: 2, clock, maxEntries: 3, agingUs: 1_000_000 });
    for (const n of [1, 2, 3]) {
      sw.port(0).transmit(ether(BROADCAST, mac(n)));
      clock.advance(10);
    }
    // Host 1 speaks again: now host 2 is the least recently seen.
    sw.port(0).transmit(ether(BROADCAST, mac(1)));
    sw.port(0).transmit(ether(BROADCAST, mac(4)));
    expect(sw.macTable().map((e) => e.mac.slice(-2))).toEqual(['03', '01', '04']);
    expect(sw.stats()).toMatchObject({ evicted: 1, learned: 4 });
    // Once everything is stale, a new station purges the aged entries instead of evicting.
    clock.advance(2_000_000);
    sw.port(1).transmit(ether(BROADCAST, mac(5)));
    expect(sw.macTable().map((e) => e.mac.slice(-2))).toEqual(['05']);
    expect(sw.stats()).toMatchObject({ evicted: 1, aged: 3 });
  });

  it('a station that moves is relearned on its new port', () => {
    const sw = new MemorySwitch({ ports: 3 });
    sw.port(0).transmit(ether(BROADCAST, mac(1)));
    sw.port(2).transmit(ether(BROADCAST, mac(1)));
    pendingOf(sw);
    sw.port(1).transmit(ether(mac(1), mac(2)));
    expect(pendingOf(sw)).toEqual([0, 0, 1]);
    expect(sw.stats().moved).toBe(1);
  });

  it('bounded egress queues drop and count instead of pushing back on the sender', async () => {
    const sw = new MemorySwitch({ ports: 2, queueFrames: 4 });
    const l1 = recordingListener();
    sw.port(1).setListener(l1);
    for (let i = 0; i < 10; i++) expect(sw.port(0).transmit(ether(BROADCAST, mac(1)))).toBe(true);
    expect(drain(sw.port(1))).toHaveLength(4);
    expect(sw.port(1).stats().drops).toEqual({ queue_full: 6 });
    expect(sw.port(0).stats().txFrames).toBe(10);
    expect(sw.port(1).stats().rxFrames).toBe(4);
    await flushMicrotasks();
    expect(l1.events).toEqual(['readable']);
  });

  it('drops runts and frames to or from a port that is down; port state is signalled', async () => {
    const sw = new MemorySwitch({ ports: 2 });
    const l1 = recordingListener();
    sw.port(1).setListener(l1);
    sw.port(0).transmit(new Uint8Array(10));
    expect(sw.port(0).stats().drops).toEqual({ runt: 1 });
    sw.setPortUp(1, false);
    sw.port(0).transmit(ether(BROADCAST, mac(1)));
    sw.port(1).transmit(ether(BROADCAST, mac(2)));
    expect(sw.port(1).stats().drops).toEqual({ port_down: 2 });
    expect(sw.port(1).up).toBe(false);
    await flushMicrotasks();
    expect(l1.events).toEqual(['down']);
  });

  it('delivers copies: each port gets its own bytes', () => {
    const sw = new MemorySwitch({ ports: 3 });
    const f = ether(BROADCAST, mac(1), 50);
    sw.port(0).transmit(f);
    f.fill(0);
    let first: Uint8Array | undefined;
    sw.port(1).receive(1, (x) => {
      first = x;
      x[20] = 0x55;
    });
    sw.port(2).receive(1, (x) => {
      expect(x).not.toBe(first);
      expect(x[20]).toBe(0);
      expect(x[0]).toBe(0xff);
    });
  });
});

describe('hub', () => {
  it('floods every frame to every other port, learning nothing', () => {
    const sw = new MemorySwitch({ ports: 4, mode: 'hub' });
    sw.port(0).transmit(ether(mac(2), mac(1)));
    sw.port(2).transmit(ether(mac(1), mac(2)));
    sw.port(0).transmit(ether(mac(2), mac(1)));
    expect(pendingOf(sw)).toEqual([1, 3, 2, 3]);
    expect(sw.macTable()).toEqual([]);
    expect(sw.stats()).toMatchObject({ flooded: 3, forwarded: 0 });
  });

  it('rejects a non-Ethernet medium and bad sizes', () => {
    expect(() => new MemorySwitch({ ports: 2, capabilities: { medium: 'ip' } })).toThrow(RangeError);
    expect(() => new MemorySwitch({ ports: 0 })).toThrow(RangeError);
    expect(() => new MemorySwitch({ ports: 2 }).port(2)).toThrow(RangeError);
  });
});
