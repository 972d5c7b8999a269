// FaultInjectorDevice: deterministic per seed, each fault observable and counted, delay and rate
// limit driven by the clock with pollAt() reporting releases, and backpressure preserved.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createMemoryPair, FaultInjectorDevice } from '../../src/phy/index.js';
import type { FaultSpec } from '../../src/phy/index.js';
import { seededRandom } from '../../src/random/chacha.js';
import { Instant } from '../../src/time/instant.js';
import { drain, FakeClock, flushMicrotasks, numbered, recordingListener, seqOf } from './support.js';

function setup(spec: { rx?: FaultSpec; tx?: FaultSpec }, seed: number | string = 1, queueFrames = 100_000) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync', queueFrames, queueBytes: 1 << 30 });
  const dev = new FaultInjectorDevice(pair.a, { random: seededRandom(seed), clock, notify: 'sync', ...spec });
  return { clock, dev, peer: pair.b, pair };
}

/** Runs 400 frames through tx with time advancing; returns what the peer saw, with arrival times. */
function scenario(seed: number | string, stats?: (s: ReturnType<FaultInjectorDevice['stats']>) => void): string[] {
  const { clock, dev, peer } = setup({ tx: { loss: 0.1, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, delayUs: 100, jitterUs: 300 } }, seed);
  const out: string[] = [];
  for (let i = 0; i < 400; i++) {
    dev.transmit(numbered(i, 64));
    clock.advance(37);
    dev.receive(16, () => undefined);
    peer.receive(100, (f) => out.push(`${clock.t}:${seqOf(f)}:${Buffer.from(f).toString('hex')}`));
  }
  clock.advance(100_000);
  dev.receive(1, () => undefined);
  peer.receive(1000, (f) => out.push(`end:${seqOf(f)}`));
  stats?.(dev.stats());
  return out;
}

describe('fault injector', () => {
  it('same seed and calls give the identical outcome; a different seed a different one', () => {
    let counters: ReturnType<FaultInjectorDevice['stats']> | undefined;
    const one = scenario(42, (s) => (counters = s));
    expect(scenario(42)).toEqual(one);
    expect(scenario(43)).not.toEqual(one);
    // Every kind of fault happened in this run, and every frame is accounted for.
    const tx = counters!.tx;
    for (const k of ['lost', 'duplicated', 'reordered', 'corrupted', 'delayed'] as const) expect(tx[k], k).toBeGreaterThan(0);
    expect(tx.offered).toBe(400);
    expect(tx.passed).toBe(400 - tx.lost + tx.duplicated);
    expect(one).toHaveLength(tx.passed);
  });

  it('loss rate over 10k frames is close to the configured probability (within 4 sigma)', () => {
    for (const p of [0.05, 0.3]) {
      const { dev, peer } = setup({ tx: { loss: p } }, `loss-${p}`);
      const n = 10_000;
      for (let i = 0; i < n; i++) dev.transmit(numbered(i));
      const delivered = drain(peer).length;
      const s = dev.stats().tx;
      expect(s.offered).toBe(n);
      expect(s.lost + delivered).toBe(n);
      expect(s.passed).toBe(delivered);
      const sigma = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(s.lost - n * p)).toBeLessThan(4 * sigma);
    }
  });

  it('rx delay holds frames until the clock passes; pollAt reports the release time', () => {
    const { clock, dev, peer } = setup({ rx: { delayUs: 5_000 } });
    clock.t = 1_000;
    peer.transmit(numbered(1));
    expect(dev.pollAt(Instant.fromMicros(clock.t))).toBe(Instant.NEVER);
    expect(dev.receive(8, () => undefined)).toBe(0);
    expect(dev.held.rx).toBe(1);
    expect(dev.pollAt(Instant.fromMicros(clock.t))).toBe(6_000);
    clock.t = 5_999;
    expect(dev.receive(8, () => undefined)).toBe(0);
    clock.t = 6_000;
    const got: number[] = [];
    expect(dev.receive(8, (f) => got.push(seqOf(f)))).toBe(1);
    expect(got).toEqual([1]);
    expect(dev.pollAt(Instant.fromMicros(clock.t))).toBe(Instant.NEVER);
    expect(dev.stats().rx).toMatchObject({ offered: 1, passed: 1, delayed: 1 });
  });

  it('tx delay is released by a later receive() call as well as transmit()', () => {
    const { clock, dev, peer } = setup({ tx: { delayUs: 300 } });
    dev.transmit(numbered(1));
    expect(peer.pending).toBe(0);
    expect(dev.pollAt(Instant.ZERO)).toBe(300);
    clock.t = 300;
    dev.receive(1, () => undefined);
    expect(drain(peer).map(seqOf)).toEqual([1]);
  });

  it('corruption flips exactly one bit of each corrupted frame (and never the sender buffer)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 20 }), fc.nat(), (frames, seed) => {
        const { dev, peer } = setup({ tx: { corrupt: 1 } }, seed);
        const originals = frames.map((f) => f.slice());
        for (const f of frames) dev.transmit(f);
        expect(frames).toEqual(originals);
        const got = drain(peer);
        expect(got).toHaveLength(frames.length);
        got.forEach((g, i) => {
          let bits = 0;
          for (let j = 0; j < g.length; j++) {
            let x = g[j]! ^ originals[i]![j]!;
            while (x) {
              bits += x & 1;
              x >>= 1;
            }
          }
          expect(bits).toBe(1);
        });
        expect(dev.stats().tx.corrupted).toBe(frames.length);
      }),
      { numRuns: 50 },
    );
  });

  it('duplicate delivers a frame twice, in place', () => {
    const { dev, peer } = setup({ tx: { duplicate: 1 } });
    for (let i = 0; i < 3; i++) dev.transmit(numbered(i));
    expect(drain(peer).map(seqOf)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(dev.stats().tx).toMatchObject({ duplicated: 3, passed: 6 });
  });

  it('reorder lets the next frame overtake; a frame left alone goes after reorderHoldUs', () => {
    const { clock, dev, peer } = setup({ tx: { reorder: 1, reorderHoldUs: 2_000 } });
    for (let i = 0; i < 5; i++) dev.transmit(numbered(i));
    // 0 is held, 1 overtakes it (the slot is busy so 1 is not held), then 2 held, 3 overtakes...
    expect(drain(peer).map(seqOf)).toEqual([1, 0, 3, 2]);
    expect(dev.pollAt(Instant.fromMicros(clock.t))).toBe(2_000);
    clock.t = 2_000;
    dev.receive(1, () => undefined);
    expect(drain(peer).map(seqOf)).toEqual([4]);
    expect(dev.stats().tx.reordered).toBe(3);
  });

  it('rate limit spaces frames by their serialisation time (token bucket, held not dropped)', () => {
    // 8 Mbit/s = 1 byte per µs; bucket of one 1000-byte frame.
    const { clock, dev, peer } = setup({ tx: { rateBitsPerSec: 8_000_000, burstBytes: 1000 } });
    for (let i = 0; i < 5; i++) expect(dev.transmit(numbered(i, 1000))).toBe(true);
    const arrivals: Array<[number, number]> = [];
    const poll = () => peer.receive(100, (f) => arrivals.push([clock.t, seqOf(f)]));
    poll();
    for (let step = 0; step < 12; step++) {
      const next = dev.pollAt(Instant.fromMicros(clock.t));
      if (next === Instant.NEVER) break;
      clock.t = next;
      dev.receive(1, () => undefined);
      poll();
    }
    expect(arrivals).toEqual([
      [0, 0],
      [1000, 1],
      [2000, 2],
      [3000, 3],
      [4000, 4],
    ]);
    expect(dev.stats().tx).toMatchObject({ shaped: 4, lost: 0, queueFull: 0 });
  });

  it('tokens refill while idle: after a pause a frame goes at once', () => {
    const { clock, dev, peer } = setup({ tx: { rateBitsPerSec: 8_000_000, burstBytes: 1000 } });
    dev.transmit(numbered(0, 1000));
    clock.t = 5_000;
    dev.transmit(numbered(1, 1000));
    expect(drain(peer).map(seqOf)).toEqual([0, 1]);
  });

  it('a full transmit queue answers busy without consuming randomness, then signals writable', () => {
    const { clock, dev, peer } = setup({ tx: { delayUs: 1_000, loss: 0.5, maxQueue: 2 } }, 'bp');
    const l = recordingListener();
    dev.setListener(l);
    let accepted = 0;
    while (dev.transmit(numbered(accepted))) accepted++;
    expect(dev.held.tx).toBe(2);
    const offered = dev.stats().tx.offered;
    expect(dev.transmit(numbered(99))).toBe(false);
    expect(dev.stats().tx.offered).toBe(offered);
    clock.t = 1_000;
    dev.receive(1, () => undefined);
    expect(l.events).toContain('writable');
    expect(dev.transmit(numbered(100))).toBe(true);
    expect(peer.pending + dev.stats().tx.lost).toBe(offered);
  });

  it('absorbs a busy inner device: frames wait and flow when it becomes writable', async () => {
    const clock = new FakeClock();
    const { a, b } = createMemoryPair({ queueFrames: 2 });
    const dev = new FaultInjectorDevice(a, { random: seededRandom(1), clock });
    for (let i = 0; i < 5; i++) expect(dev.transmit(numbered(i))).toBe(true);
    expect(b.pending).toBe(2);
    expect(dev.held.tx).toBe(3);
    // While the inner device is busy, pollAt does not ask for a spin.
    expect(dev.pollAt(Instant.ZERO)).toBe(Instant.NEVER);
    const got = drain(b).map(seqOf);
    await flushMicrotasks();
    got.push(...drain(b).map(seqOf));
    await flushMicrotasks();
    got.push(...drain(b).map(seqOf));
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('rx queue bound: frames beyond maxQueue stay in the inner device instead of being dropped', () => {
    const { clock, dev, peer } = setup({ rx: { delayUs: 10, maxQueue: 3 } });
    for (let i = 0; i < 6; i++) peer.transmit(numbered(i));
    dev.receive(100, () => undefined);
    expect(dev.held.rx).toBe(3);
    const got: number[] = [];
    for (let k = 0; k < 4; k++) {
      clock.advance(10);
      dev.receive(100, (f) => got.push(seqOf(f)));
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    expect(dev.stats().rx.queueFull).toBe(0);
  });

  it('passes readable and link state through, and pollAt of the inner device', async () => {
    const { dev, peer, pair } = setup({});
    const l = recordingListener();
    dev.setListener(l);
    peer.transmit(numbered(1));
    pair.setUp(false);
    await flushMicrotasks();
    expect(l.events).toEqual(['readable', 'down']);
    const timed = Object.assign(createMemoryPair().a, { pollAt: (now: Instant) => (now + 77) as Instant });
    const clock = new FakeClock();
    const over = new FaultInjectorDevice(timed, { random: seededRandom(1), clock, tx: { delayUs: 500 } });
    expect(over.pollAt(Instant.ZERO)).toBe(77);
    over.transmit(numbered(1));
    expect(over.pollAt(Instant.fromMicros(450))).toBe(500);
  });

  it('rejects invalid specs', () => {
    const { a } = createMemoryPair();
    const mk = (tx: FaultSpec) => () => new FaultInjectorDevice(a, { random: seededRandom(1), clock: new FakeClock(), tx });
    expect(mk({ loss: 1.5 })).toThrow(RangeError);
    expect(mk({ delayUs: -1 })).toThrow(RangeError);
    expect(mk({ maxQueue: 0 })).toThrow(RangeError);
  });
});
