// createStack(), ping, and the dgram facade between stacks (switch broadcast, multicast, IPv6,
// disposal), all on the real runtime over in-memory links.
import { describe, expect, it } from 'vitest';
import { type NodeStack, Runtime, type Socket, createStack } from '../../src/api/index.js';
import { MemorySwitch, createMemoryPair } from '../../src/phy/index.js';
import { SlabPool, TrackedPool } from '../../src/pool/index.js';
import { expectNoLeaks } from '../support/leak-tracker.js';
import { decodeFrame } from '../../src/wire/decode.js';

function pairOfStacks(extra: Parameters<typeof createStack>[0] = {}) {
  const runtime = new Runtime();
  const pair = createMemoryPair();
  const pools = [new TrackedPool(new SlabPool(), { enabled: true }), new TrackedPool(new SlabPool(), { enabled: true })];
  const a = createStack({ ...extra, interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 'a', runtime, pool: pools[0]! });
  const b = createStack({ ...extra, interfaces: [{ link: pair.b, addresses: ['198.51.100.2/24'] }], seed: 'b', runtime, pool: pools[1]! });
  const done = (): void => {
    a.close();
    b.close();
    runtime.close();
    for (const p of pools) expectNoLeaks(p);
    expect(a.core.stats.drops('stack', 'internal_error') + b.core.stats.drops('stack', 'internal_error')).toBe(0);
  };
  return { runtime, pair, a, b, done };
}

const bound = (s: Socket, port = 0, address?: string): Promise<number> =>
  new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve(s.address().port));
  });

const nextMessage = (s: Socket): Promise<{ msg: string; address: string; port: number }> =>
  new Promise((resolve) => s.once('message', (m, r) => resolve({ msg: m.toString(), address: r.address, port: r.port })));

describe('createStack: options', () => {
  it('validates options with Node-style errors and exposes the resolved defaults', () => {
    const pair = createMemoryPair();
    expect(() => createStack({ interfaces: [{ link: {} as never }] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.300/24'] }] })).toThrow(/CIDR/);
    expect(() => createStack({ interfaces: [{ link: pair.a, gateway: 'nope' }] })).toThrow(/gateway/);
    expect(() => createStack({ protocols: ['udp'] })).toThrow(/needs/);
    expect(() => createStack({ protocols: ['tcp' as never] })).toThrow(/must be one of/);
    expect(() => createStack({ seed: 1, random: {} as never })).toThrow(/cannot be combined/);
    const runtime = new Runtime();
    const s = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'], gateway: '198.51.100.254' }], runtime, seed: 3 });
    expect(s.options.protocols).toEqual(['arp', 'ipv4', 'ipv4-reassembly', 'icmpv4', 'igmp', 'udp']);
    expect(s.options.loopback).toBe(true);
    expect(s.interfaces.map((i) => i.name)).toEqual(['eth0', 'lo']);
    expect(s.core.routes4.lookup(0x08080808)?.gateway).toBe(0xc63364fe);
    expect(typeof s.stats()).toBe('object');
    s.close();
    runtime.close();
  });

  it('an IPv6 address brings in the IPv6 protocol set', () => {
    const runtime = new Runtime();
    const s = createStack({ interfaces: [{ link: createMemoryPair().a, addresses: ['2001:db8::1/64'] }], runtime, seed: 1 });
    expect(s.options.protocols).toEqual(['arp', 'ipv4', 'ipv4-reassembly', 'icmpv4', 'igmp', 'ipv6', 'ipv6-reassembly', 'icmpv6', 'ndp', 'mld', 'udp']);
    s.close();
    runtime.close();
  });
});

describe('NodeStack.ping', () => {
  it('answers with per-probe RTTs, reply size and TTL, and a summary', async () => {
    const t = pairOfStacks();
    const r = await t.a.ping('198.51.100.2', { count: 3, interval: 10, size: 100 });
    expect(r.family).toBe('IPv4');
    expect(r.probes.map((p) => p.seq)).toEqual([1, 2, 3]);
    for (const p of r.probes) {
      expect(p.rttMs).not.toBeNull();
      expect(p.bytes).toBe(108);
      expect(p.ttl).toBe(64);
    }
    expect([r.transmitted, r.received, r.lossPercent]).toEqual([3, 3, 0]);
    expect(r.minMs! <= r.avgMs! && r.avgMs! <= r.maxMs!).toBe(true);
    t.done();
  });

  it('a 4000-byte ping is fragmented and reassembled both ways (default protocols)', async () => {
    const t = pairOfStacks();
    const r = await t.a.ping('198.51.100.2', { count: 1, size: 4000, timeout: 2000 });
    expect(r.probes[0]!.rttMs).not.toBeNull();
    expect(r.probes[0]!.bytes).toBe(4008);
    expect(t.a.core.stats.get('ipv4', 'tx_fragments')).toBe(3);
    t.done();
  });

  it('without reassembly a ping above the MTU times out with a null RTT, never hangs', async () => {
    const t = pairOfStacks({ protocols: ['arp', 'ipv4', 'icmpv4', 'udp'] });
    const r = await t.a.ping('198.51.100.2', { count: 2, size: 3000, timeout: 150, interval: 10 });
    expect(r.probes.map((p) => p.rttMs)).toEqual([null, null]);
    expect([r.transmitted, r.received, r.lossPercent, r.minMs]).toEqual([2, 0, 100, null]);
    expect(t.b.core.stats.drops('ipv4', 'fragment_no_reassembly')).toBeGreaterThan(0);
    // Below the MTU it still works.
    const ok = await t.a.ping('198.51.100.2', { count: 1, size: 1400 });
    expect(ok.received).toBe(1);
    t.done();
  });

  it('reports send errors per probe and rejects bad arguments', async () => {
    const t = pairOfStacks();
    const r = await t.a.ping('203.0.113.1', { count: 1 });
    expect(r.probes[0]).toMatchObject({ rttMs: null, error: 'ENETUNREACH' });
    expect(r.transmitted).toBe(0);
    await expect(t.a.ping('not an address')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(t.a.ping('198.51.100.2', { count: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(t.a.ping('198.51.100.2', { size: 70000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    t.done();
  });

  it('pings its own loopback address', async () => {
    const t = pairOfStacks();
    const r = await t.a.ping('127.0.0.1', { count: 1 });
    expect(r.received).toBe(1);
    t.done();
  });

  it('close() finishes pending pings and closes sockets', async () => {
    const t = pairOfStacks();
    const s = t.a.createSocket('udp4');
    await bound(s);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    // The first probe is answered; the second waits for its interval when the stack closes.
    const p = t.a.ping('198.51.100.2', { count: 2, interval: 5000, timeout: 5000 });
    while (t.a.core.stats.get('icmpv4', 'echo_replies_received') === 0) await new Promise((r) => setTimeout(r, 5));
    t.a.close();
    const r = await p;
    expect(r.probes.map((x) => x.rttMs === null)).toEqual([false, true]);
    await closed;
    expect(() => t.a.createSocket('udp4')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }));
    expect(t.runtime.refCount).toBe(0);
    t.done();
  });
});

describe('dgram facade between stacks', () => {
  it('echo over a 3-port MemorySwitch: a broadcast reaches both other stacks and both answer', async () => {
    const runtime = new Runtime();
    const sw = new MemorySwitch({ ports: 3 });
    const stacks: NodeStack[] = [0, 1, 2].map((i) => createStack({ interfaces: [{ link: sw.port(i), addresses: [`192.0.2.${i + 1}/24`] }], seed: i, runtime }));
    const echoes = await Promise.all(
      [1, 2].map(async (i) => {
        const s = stacks[i]!.createSocket('udp4');
        s.on('message', (m, r) => s.send(`echo ${i}: ${m.toString()}`, r.port, r.address));
        await bound(s, 7);
        return s;
      }),
    );
    const c = stacks[0]!.createSocket('udp4');
    await bound(c, 5555);
    c.setBroadcast(true);
    const replies: string[] = [];
    const both = new Promise<void>((resolve) =>
      c.on('message', (m, r) => {
        replies.push(`${r.address} ${m.toString()}`);
        if (replies.length === 2) resolve();
      }),
    );
    const err = await new Promise<Error | null>((r) => c.send('hi all', 7, '192.0.2.255', (e) => r(e)));
    expect(err).toBeNull();
    await both;
    expect(replies.sort()).toEqual(['192.0.2.2 echo 1: hi all', '192.0.2.3 echo 2: hi all']);
    for (const s of [...echoes, c]) s.close();
    for (const s of stacks) s.close();
    expect(runtime.refCount).toBe(0);
    runtime.close();
  });

  it('multicast: addMembership lets a group datagram in; dropMembership stops it', async () => {
    const t = pairOfStacks();
    const r = t.b.createSocket({ type: 'udp4', reuseAddr: true });
    await bound(r, 6000);
    r.addMembership('239.1.1.1');
    const c = t.a.createSocket('udp4');
    const got = nextMessage(r);
    c.send('to group', 6000, '239.1.1.1');
    expect((await got).msg).toBe('to group');
    r.dropMembership('239.1.1.1');
    expect(() => r.dropMembership('239.1.1.1')).toThrow(expect.objectContaining({ code: 'EADDRNOTAVAIL', syscall: 'dropMembership' }));
    c.send('again', 6000, '239.1.1.1');
    await new Promise((res) => setTimeout(res, 30));
    expect(t.b.core.stats.drops('link', 'not_for_us')).toBeGreaterThanOrEqual(1);
    c.close();
    r.close();
    t.done();
  });

  it('send queued before bind completes, connect implicitly binds, and events come in Node order', async () => {
    const t = pairOfStacks();
    const server = t.b.createSocket('udp4');
    await bound(server, 7);
    const events: string[] = [];
    const c = t.a.createSocket('udp4');
    for (const e of ['listening', 'connect', 'close']) c.on(e, () => events.push(e));
    c.connect(7, '198.51.100.2', () => {
      events.push('connect cb');
      c.send('connected', (err: Error | null) => events.push(`send cb ${err ? 'error' : 'ok'}`));
    });
    // While connecting the socket is not connected yet: a send without a port is a bad port, as in Node.
    expect(() => c.send('early')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_PORT' }));
    const got = await nextMessage(server);
    expect(got.msg).toBe('connected');
    c.close(() => events.push('close cb'));
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['listening', 'connect', 'connect cb', 'send cb ok', 'close', 'close cb']);
    server.close();
    t.done();
  });

  it('Symbol.asyncDispose closes the socket; an aborted signal closes it too', async () => {
    const t = pairOfStacks();
    {
      await using s = t.a.createSocket('udp4');
      await bound(s);
      expect(t.runtime.refCount).toBe(1);
    }
    expect(t.runtime.refCount).toBe(0);
    const ac = new AbortController();
    const s2 = t.a.createSocket({ type: 'udp4', signal: ac.signal });
    await bound(s2);
    const closed = new Promise<void>((r) => s2.once('close', () => r()));
    ac.abort();
    await closed;
    expect(() => s2.address()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }));
    t.done();
  });

  it('names: localhost and IP literals resolve; other names fail like getaddrinfo unless a lookup is given', async () => {
    const t = pairOfStacks();
    const s = t.a.createSocket('udp4');
    const err = await new Promise<NodeJS.ErrnoException | null>((r) => s.send('x', 7, 'example.invalid', (e: Error | null) => r(e as NodeJS.ErrnoException)));
    expect(err).toMatchObject({ code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'example.invalid', message: 'getaddrinfo ENOTFOUND example.invalid' });
    const server = t.b.createSocket('udp4');
    await bound(server, 7);
    const c = t.a.createSocket({ type: 'udp4', lookup: (h, _f, cb) => cb(null, h === 'b.test' ? '198.51.100.2' : h, 4) });
    const got = nextMessage(server);
    c.send('by name', 7, 'b.test');
    expect((await got).msg).toBe('by name');
    for (const x of [s, server, c]) x.close();
    t.done();
  });

  it('bind to an address that is not ours: EADDRNOTAVAIL with Node message', async () => {
    const t = pairOfStacks();
    const s = t.a.createSocket('udp4');
    const err = await new Promise<NodeJS.ErrnoException>((r) => {
      s.on('error', (e) => r(e as NodeJS.ErrnoException));
      s.bind(5000, '192.0.2.99');
    });
    expect(err).toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'bind', address: '192.0.2.99', port: 5000, message: 'bind EADDRNOTAVAIL 192.0.2.99:5000' });
    s.close();
    t.done();
  });

  it('udp6 sockets exchange datagrams over IPv6 and report IPv6 rinfo', async () => {
    const runtime = new Runtime();
    const pair = createMemoryPair();
    const mk = (link: typeof pair.a, addr: string, seed: number) => createStack({ interfaces: [{ link, addresses: [addr] }], seed, runtime, ndp: { dupAddrDetectTransmits: 0 } });
    const a = mk(pair.a, '2001:db8::1/64', 1);
    const b = mk(pair.b, '2001:db8::2/64', 2);
    const server = b.createSocket('udp6');
    server.on('message', (m, r) => server.send(m, r.port, r.address));
    await bound(server, 7);
    expect(server.address()).toEqual({ address: '::', family: 'IPv6', port: 7 });
    const c = a.createSocket('udp6');
    const got = nextMessage(c);
    c.send('six', 7, '2001:db8::2');
    expect(await got).toMatchObject({ msg: 'six', address: '2001:db8::2', port: 7 });
    const r = await a.ping('2001:db8::2', { count: 1 });
    expect([r.family, r.received]).toEqual(['IPv6', 1]);
    c.close();
    server.close();
    a.close();
    b.close();
    runtime.close();
  });
});

describe('loopback interface', () => {
  it('answers on 127.0.0.1 and ::1 without touching the link (ping and UDP)', async () => {
    const runtime = new Runtime();
    const pair = createMemoryPair();
    const s = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24', '2001:db8::1/64'] }], seed: 3, runtime });
    const lo = s.core.interfaces.find((i) => i.name === 'lo')!;
    expect(lo.ipv4.map((c) => c.prefixLen)).toEqual([8]);
    expect((await s.ping('::1', { count: 2, timeout: 1000 })).received).toBe(2);
    expect((await s.ping('127.0.0.1', { count: 1, timeout: 1000 })).received).toBe(1);
    const server = s.createSocket('udp6');
    const got = new Promise<string>((res) => server.on('message', (m) => res(m.toString())));
    await new Promise<void>((r) => server.bind(9, '::1', () => r()));
    const client = s.createSocket('udp6');
    client.send('over ::1', 9, '::1');
    expect(await got).toBe('over ::1');
    // Nothing for ::1 or 127.0.0.1 went out on the real link (only the interface's own NDP/MLD).
    const onLink: string[] = [];
    pair.b.receive(1000, (f) => {
      const d = decodeFrame(1, f, { checksum: null });
      onLink.push(String(d.ipv4?.src ?? d.ipv6?.src), String(d.ipv4?.dst ?? d.ipv6?.dst));
    });
    expect(onLink.length).toBeGreaterThan(0);
    expect(onLink.filter((a) => a === '::1' || a.startsWith('127.'))).toEqual([]);
    client.close();
    server.close();
    s.close();
    runtime.close();
  });
});
