// Two stacks over the in-memory pair: real handshakes, 1 MiB each way at once with byte-exact
// integrity, over IPv4 and IPv6, then an orderly close through TIME-WAIT and the pools back to zero.
import { describe, expect, it } from 'vitest';
import { ArpModule, Ipv4Module } from '../../../src/core/index.js';
import { Icmpv6Module } from '../../../src/core/icmpv6.js';
import { Ipv6Module } from '../../../src/core/ipv6.js';
import { MldModule } from '../../../src/core/mld.js';
import { NdpModule } from '../../../src/core/ndp.js';
import { TcpModule, TcpState, type TcpSocket } from '../../../src/core/tcp/module.js';
import { createMemoryPair } from '../../../src/phy/index.js';
import { FaultInjectorDevice, type FaultSpec } from '../../../src/phy/fault-injector.js';
import { seededRandom } from '../../../src/random/chacha.js';
import { parseIpv4, parseIpv6 } from '../../../src/wire/address.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../../support/stack-harness.js';

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function setup(family: 4 | 6, fault?: FaultSpec) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const devA = fault ? new FaultInjectorDevice(pair.a, { random: seededRandom('loss'), clock: { now: () => clock.now }, notify: 'sync', tx: fault, rx: fault }) : pair.a;
  const mods = () => (family === 4 ? [new ArpModule(), new Ipv4Module(), new TcpModule({ timeWaitMs: 1000 })] : [new Ipv6Module(), new Icmpv6Module(), new NdpModule(), new MldModule(), new TcpModule({ timeWaitMs: 1000 })]);
  const a = testStack('a', mods());
  const b = testStack('b', mods());
  a.stack.addInterface(devA, { addresses: [family === 4 ? '198.51.100.1/24' : '2001:db8::1/64'], mac: 0x02000000000a }, clock.now);
  b.stack.addInterface(pair.b, { addresses: [family === 4 ? '198.51.100.2/24' : '2001:db8::2/64'], mac: 0x02000000000b }, clock.now);
  const stacks = [a.stack, b.stack];
  runFor(clock, stacks, 3000); // DAD on IPv6
  return { clock, a, b, stacks, tcpA: a.stack.module<TcpModule>('tcp')!, tcpB: b.stack.module<TcpModule>('tcp')! };
}

function transfer(family: 4 | 6) {
  const t = setup(family);
  const addrB = family === 4 ? parseIpv4('198.51.100.2')! : parseIpv6('2001:db8::2')!;
  const l = t.tcpB.listen(family, null, 443);
  if (typeof l === 'string') throw new Error(l);
  const c = t.tcpA.connect(family, addrB, 443, t.clock.now);
  if (typeof c === 'string') throw new Error(c);
  settle(t.clock, t.stacks);
  const s = l.accept() as TcpSocket;
  expect(s).toBeDefined();
  expect(c.state).toBe(TcpState.ESTABLISHED);
  const N = 1 << 20;
  const upData = pattern(N, 1);
  const downData = pattern(N, 2);
  const up = new Uint8Array(N);
  const down = new Uint8Array(N);
  let upSent = 0, downSent = 0, upGot = 0, downGot = 0;
  for (let i = 0; i < 100_000 && (upGot < N || downGot < N); i++) {
    if (upSent < N) upSent += c.send(upData.subarray(upSent), t.clock.now) as number;
    if (downSent < N) downSent += s.send(downData.subarray(downSent), t.clock.now) as number;
    settle(t.clock, t.stacks);
    for (let d = s.recv(1 << 16, t.clock.now); d; d = s.recv(1 << 16, t.clock.now)) {
      up.set(d, upGot);
      upGot += d.length;
    }
    for (let d = c.recv(1 << 16, t.clock.now); d; d = c.recv(1 << 16, t.clock.now)) {
      down.set(d, downGot);
      downGot += d.length;
    }
    settle(t.clock, t.stacks);
  }
  expect(upGot).toBe(N);
  expect(downGot).toBe(N);
  expect(Buffer.compare(up, upData)).toBe(0);
  expect(Buffer.compare(down, downData)).toBe(0);
  expect(c.retransmits + s.retransmits).toBe(0);
  // Orderly close: client first, then server; the client waits in TIME-WAIT.
  c.close(t.clock.now);
  settle(t.clock, t.stacks);
  expect(s.state).toBe(TcpState.CLOSE_WAIT);
  expect(s.eof).toBe(true);
  s.close(t.clock.now);
  settle(t.clock, t.stacks);
  expect(s.state).toBe(TcpState.CLOSED);
  expect(c.state).toBe(TcpState.TIME_WAIT);
  runFor(t.clock, t.stacks, 1000);
  expect(c.state).toBe(TcpState.CLOSED);
  expect(t.tcpA.connectionCount + t.tcpB.connectionCount).toBe(0);
  l.close(t.clock.now);
  closeAndCheckLeaks(t.a, t.b);
}

describe('TCP between two stacks (RFC 9293)', () => {
  it('established_bulk_1MiB_both_directions_ipv4_integrity', () => transfer(4));
  it('established_bulk_1MiB_both_directions_ipv6_integrity', () => transfer(6));

  it('closed_port_connect_econnrefused_§3.10.7.1', () => {
    const t = setup(4);
    const c = t.tcpA.connect(4, parseIpv4('198.51.100.2')!, 444, t.clock.now);
    if (typeof c === 'string') throw new Error(c);
    settle(t.clock, t.stacks);
    expect(c.state).toBe(TcpState.CLOSED);
    expect(c.takeError()).toBe('ECONNREFUSED');
    closeAndCheckLeaks(t.a, t.b);
  });

  it('established_lossy_link_2pct_each_way_256KiB_both_directions_integrity_rfc6298', () => {
    const t = setup(4, { loss: 0.02 });
    const l = t.tcpB.listen(4, null, 443);
    if (typeof l === 'string') throw new Error(l);
    let c: TcpSocket | undefined;
    for (let i = 0; i < 20 && !l.acceptQueue.length; i++) {
      if (!c || c.state === TcpState.CLOSED) {
        const r = t.tcpA.connect(4, parseIpv4('198.51.100.2')!, 443, t.clock.now);
        if (typeof r === 'string') throw new Error(r);
        c = r;
      }
      runFor(t.clock, t.stacks, 1000);
    }
    const s = l.accept() as TcpSocket;
    expect(c!.state).toBe(TcpState.ESTABLISHED);
    const N = 256 * 1024;
    const upData = pattern(N, 3);
    const downData = pattern(N, 4);
    const up = new Uint8Array(N);
    const down = new Uint8Array(N);
    let upSent = 0, downSent = 0, upGot = 0, downGot = 0;
    for (let i = 0; i < 20_000 && (upGot < N || downGot < N); i++) {
      if (upSent < N) upSent += c!.send(upData.subarray(upSent), t.clock.now) as number;
      if (downSent < N) downSent += s.send(downData.subarray(downSent), t.clock.now) as number;
      runFor(t.clock, t.stacks, 20);
      for (let d = s.recv(1 << 16, t.clock.now); d; d = s.recv(1 << 16, t.clock.now)) {
        up.set(d, upGot);
        upGot += d.length;
      }
      for (let d = c!.recv(1 << 16, t.clock.now); d; d = c!.recv(1 << 16, t.clock.now)) {
        down.set(d, downGot);
        downGot += d.length;
      }
    }
    expect(upGot).toBe(N);
    expect(downGot).toBe(N);
    expect(Buffer.compare(up, upData)).toBe(0);
    expect(Buffer.compare(down, downData)).toBe(0);
    expect(c!.retransmits + s.retransmits).toBeGreaterThan(0);
    c!.abort(t.clock.now);
    s.abort(t.clock.now);
    l.close(t.clock.now);
    closeAndCheckLeaks(t.a, t.b);
  });
});
