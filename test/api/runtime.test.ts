// The event-loop driver: process liveness (child processes), timer re-arming on the fake and the real
// clock, the loop guard, and reference counting by user handles.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Runtime, createStack } from '../../src/api/index.js';
import type { ArpModule } from '../../src/core/arp.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { Duration, Instant } from '../../src/time/instant.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

function runChild(mode: string, killAfterMs: number): Promise<{ code: number | null; killed: boolean; ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'idle-exit.ts'), mode], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, ms: Date.now() - t0, out });
    });
  });
}

describe('runtime: the process exits when nothing the user opened is open', () => {
  it('exits after the sockets are closed (two stacks, echo of 3 datagrams)', async () => {
    const r = await runChild('close', 15_000);
    expect(r.out).toContain('echoed 3');
    expect(r.killed).toBe(false);
    expect(r.code).toBe(0);
  });

  it('exits with a bound socket that was unref()d', async () => {
    const r = await runChild('unref', 15_000);
    expect(r.out).toContain('echoed 3');
    expect([r.killed, r.code]).toEqual([false, 0]);
  });

  it('exits after a ping completes (a pending ping holds a reference, then releases it)', async () => {
    const r = await runChild('ping', 15_000);
    expect(r.out).toContain('ping 3/3');
    expect([r.killed, r.code]).toEqual([false, 0]);
  });

  it('stays alive while a bound socket is open, like node:dgram', async () => {
    const r = await runChild('open', 4_000);
    expect(r.out).toContain('echoed 3');
    expect(r.killed).toBe(true);
  });
});

describe('runtime: timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('re-arms one timer to the earliest deadline: ARP retries fire on the fake clock at 1 s intervals', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    const runtime = new Runtime({ clock: () => Instant.fromMillis(Date.now()) });
    const pair = createMemoryPair();
    const a = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 1, runtime, loopback: false });
    const s = a.createSocket('udp4');
    s.send('x', 9, '198.51.100.77');
    const arp = () => a.core.stats.get('arp', 'requests_sent');
    await vi.advanceTimersByTimeAsync(10);
    expect(arp()).toBe(1);
    await vi.advanceTimersByTimeAsync(900);
    expect(arp()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(arp()).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(arp()).toBe(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.core.stats.drops('arp', 'unresolved')).toBe(1);
    expect(a.core.module<ArpModule>('arp')!.size).toBe(0);
    // No fixed-period ticker: while the socket is open only the keep-alive arm remains, and the
    // runtime fired once per deadline (three ARP steps), not periodically.
    expect(runtime.stats().timerFires).toBeLessThanOrEqual(4);
    expect(vi.getTimerCount()).toBe(1);
    s.close();
    await vi.advanceTimersByTimeAsync(1);
    expect(vi.getTimerCount()).toBe(0);
    a.close();
    runtime.close();
  });

  it('fires on the real clock (hrtime): ARP retransmissions every 40 ms', async () => {
    const runtime = new Runtime();
    const pair = createMemoryPair();
    const a = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 1, runtime, arp: { retransmitInterval: Duration.millis(40) } });
    const r = await a.ping('198.51.100.77', { count: 1, timeout: 200 });
    expect(r.probes[0]!.rttMs).toBeNull();
    expect(a.core.stats.get('arp', 'requests_sent')).toBe(3);
    expect(runtime.stats().timerFires).toBeGreaterThanOrEqual(2);
    a.close();
    runtime.close();
  });
});

describe('runtime: loop guard and references', () => {
  it('an endless ping-pong between two stacks does not starve timers (yields via setImmediate)', async () => {
    const runtime = new Runtime({ maxPollsPerTurn: 8 });
    const pair = createMemoryPair();
    const a = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 1, runtime });
    const b = createStack({ interfaces: [{ link: pair.b, addresses: ['198.51.100.2/24'] }], seed: 2, runtime });
    const sa = a.createSocket('udp4');
    const sb = b.createSocket('udp4');
    let bounces = 0;
    const bounce = (sock: typeof sa) => (msg: Buffer, r: { port: number; address: string }) => {
      bounces++;
      sock.send(msg, r.port, r.address);
    };
    sa.on('message', bounce(sa));
    sb.on('message', bounce(sb));
    await new Promise<void>((r) => sb.bind(7, () => r()));
    sa.send('ball', 7, '198.51.100.2');
    // Let the rally start (bounded), then arm a timer while the ball is in play.
    for (let i = 0; i < 10_000 && bounces < 10; i++) await new Promise((r) => setImmediate(r));
    expect(bounces).toBeGreaterThanOrEqual(10);
    const atArm = bounces;
    const t0 = Date.now();
    await new Promise<void>((r) => setTimeout(r, 50));
    // The timer fired close to on time although the rally never stopped, and the rally went on.
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(bounces).toBeGreaterThan(atArm);
    sa.close();
    sb.close();
    a.close();
    b.close();
    runtime.close();
  });

  it('ref-counts like Node: bound sockets hold a reference, unref/ref/close adjust it', async () => {
    const runtime = new Runtime();
    const pair = createMemoryPair();
    const a = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 1, runtime });
    const s1 = a.createSocket('udp4');
    expect(runtime.refCount).toBe(0); // not bound yet: Node's handle is not active either
    await new Promise<void>((r) => s1.bind(0, () => r()));
    expect(runtime.refCount).toBe(1);
    const s2 = a.createSocket('udp4');
    await new Promise<void>((r) => s2.bind(0, () => r()));
    expect(runtime.refCount).toBe(2);
    s1.unref();
    s1.unref();
    expect(runtime.refCount).toBe(1);
    s1.ref();
    expect(runtime.refCount).toBe(2);
    s1.close();
    expect(runtime.refCount).toBe(1);
    s2.unref();
    s2.close();
    expect(runtime.refCount).toBe(0);
    expect(() => runtime.unref()).toThrow();
    a.close();
    runtime.close();
  });

  it('an exception in a message listener propagates but later datagrams are still delivered', async () => {
    const runtime = new Runtime();
    const pair = createMemoryPair();
    const a = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 1, runtime });
    const b = createStack({ interfaces: [{ link: pair.b, addresses: ['198.51.100.2/24'] }], seed: 2, runtime });
    const server = b.createSocket('udp4');
    const got: string[] = [];
    server.on('message', (m) => {
      got.push(m.toString());
      if (m.toString() === 'boom') throw new Error('listener failure');
    });
    await new Promise<void>((r) => server.bind(7, () => r()));
    const caught: unknown[] = [];
    const onUncaught = (e: unknown): void => {
      caught.push(e);
    };
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      const c = a.createSocket('udp4');
      c.send('boom', 7, '198.51.100.2');
      c.send('after', 7, '198.51.100.2');
      for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      c.close();
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      for (const l of listeners) process.on('uncaughtException', l);
    }
    expect(got).toEqual(['boom', 'after']);
    expect(caught.map((e) => (e as Error).message)).toEqual(['listener failure']);
    expect(b.core.stats.drops('stack', 'internal_error')).toBe(0);
    server.close();
    a.close();
    b.close();
    runtime.close();
  });
});
