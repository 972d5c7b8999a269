// Differential test: the same scenario on node:dgram over 127.0.0.1 (the Linux kernel) and on our
// dgram facade over two stacks on a memory pair. The event sequences, callback results and error
// shapes (code, errno, syscall, message with addresses and ports normalised) must be identical.
import * as nodeDgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { Runtime, createStack } from '../../src/api/index.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { SlabPool, TrackedPool } from '../../src/pool/index.js';
import { expectNoLeaks } from '../support/leak-tracker.js';

interface DgramLike {
  createSocket(type: 'udp4'): nodeDgram.Socket;
}

interface Env {
  server: DgramLike;
  client: DgramLike;
  /** Address the client uses to reach the server. */
  serverAddr: string;
  clientAddr: string;
  /** A port with nothing bound on the server side. */
  closedPort: number;
}

/** Resolves once `event` has fired `n` times (listening starts now, so events in one burst all count). */
function collect(emitter: NodeJS.EventEmitter, event: string, n: number, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} '${event}'`)), ms);
    const on = (): void => {
      if (++seen < n) return;
      emitter.removeListener(event, on);
      clearTimeout(t);
      resolve();
    };
    emitter.on(event, on);
  });
}

function waitFor(emitter: NodeJS.EventEmitter, event: string, ms = 3000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for '${event}'`)), ms);
    emitter.once(event, (...args: unknown[]) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

async function scenario(env: Env): Promise<string[]> {
  const log: string[] = [];
  const ports = new Map<number, string>();
  const norm = (s: string): string => {
    // Over loopback both ends are 127.0.0.1, so both addresses become one token.
    let out = s.split(env.serverAddr).join('ADDR').split(env.clientAddr).join('ADDR');
    for (const [p, name] of ports) out = out.replace(new RegExp(`(?<=[:=]|^)${p}(?=\\D|$)`, 'g'), name);
    return out;
  };
  const errText = (e: unknown): string => {
    const x = e as NodeJS.ErrnoException & { address?: string; port?: number };
    return norm(`${x.name}|${x.code}|${x.errno ?? '-'}|${x.syscall ?? '-'}|${x.message}|keys=${Object.keys(x).join(',')}|addr=${x.address ?? '-'}|port=${x.port ?? '-'}`);
  };
  const attach = (name: string, s: nodeDgram.Socket): void => {
    s.on('listening', () => log.push(`${name} listening`));
    s.on('connect', () => log.push(`${name} connect`));
    s.on('close', () => log.push(`${name} close`));
    s.on('error', (e) => log.push(`${name} error ${errText(e)}`));
    s.on('message', (m, r) => log.push(norm(`${name} message ${m.toString()} from ${r.address} ${r.family} size=${r.size}`)));
  };
  const sync = (name: string, f: () => unknown): void => {
    try {
      const r = f();
      log.push(norm(`${name} ok ${r === undefined ? '' : JSON.stringify(r)}`));
    } catch (e) {
      log.push(`${name} threw ${errText(e)}`);
    }
  };

  const server = env.server.createSocket('udp4');
  attach('server', server);
  server.bind(0);
  await waitFor(server, 'listening');
  const sp = server.address().port;
  ports.set(sp, 'SPORT');
  ports.set(env.closedPort, 'CLOSED');
  sync('server.address', () => ({ ...server.address(), port: 'x' }));

  const client = env.client.createSocket('udp4');
  attach('client', client);
  sync('client.address before bind', () => client.address());
  sync('client.remoteAddress', () => client.remoteAddress());
  sync('client.setBroadcast before bind', () => client.setBroadcast(true));
  const sent = new Promise<void>((resolve) => client.send('hello', sp, env.serverAddr, (err, n) => { log.push(`send cb ${err} ${n}`); resolve(); }));
  const [m] = (await waitFor(server, 'message')) as [Buffer, nodeDgram.RemoteInfo];
  await sent;
  const cp = client.address().port;
  ports.set(cp, 'CPORT');
  expect(m.toString()).toBe('hello');
  server.send('world', cp, env.clientAddr);
  await waitFor(client, 'message');

  // Connected: only the peer, and send without an address.
  client.connect(sp, env.serverAddr);
  await waitFor(client, 'connect');
  sync('client.remoteAddress connected', () => client.remoteAddress());
  sync('client.address connected', () => client.address());
  const two = collect(server, 'message', 2);
  sync('connect again', () => client.connect(sp, env.serverAddr));
  sync('send with port while connected', () => client.send('x', sp, env.serverAddr));
  client.send('again', (err, n) => log.push(`send2 cb ${err} ${n}`));
  await two;
  sync('disconnect', () => client.disconnect());
  sync('disconnect again', () => client.disconnect());
  sync('address after disconnect', () => client.address());
  sync('send without port', () => client.send('x'));
  sync('send port 0', () => client.send('x', 0, env.serverAddr));
  sync('send port 70000', () => client.send('x', 70000, env.serverAddr));
  sync('send bad offset', () => client.send('abc', 5, 1, sp, env.serverAddr));

  // Broadcast without the flag: EACCES through the callback only.
  await new Promise<void>((resolve) => client.send('b', 9, '255.255.255.255', (err) => { log.push(`broadcast cb ${errText(err)}`); resolve(); }));

  // Port unreachable on a connected socket: 'error' recvmsg ECONNREFUSED.
  const refused = env.client.createSocket('udp4');
  attach('refused', refused);
  refused.connect(env.closedPort, env.serverAddr);
  await waitFor(refused, 'connect');
  refused.send('knock');
  await waitFor(refused, 'error');
  refused.close();
  await waitFor(refused, 'close');

  // Bind conflict.
  const dup = env.server.createSocket('udp4');
  attach('dup', dup);
  dup.bind(sp);
  await waitFor(dup, 'error');
  sync('dup.address', () => dup.address());
  dup.close();
  await waitFor(dup, 'close');

  // Options on a bound socket.
  sync('setTTL 0', () => client.setTTL(0));
  sync('setTTL 64', () => client.setTTL(64));
  sync('setMulticastTTL 300', () => client.setMulticastTTL(300));
  sync('addMembership unicast', () => client.addMembership(env.serverAddr));
  sync('addMembership', () => client.addMembership('239.1.2.3'));
  sync('addMembership dup', () => client.addMembership('239.1.2.3'));
  sync('dropMembership', () => client.dropMembership('239.1.2.3'));
  sync('dropMembership again', () => client.dropMembership('239.1.2.3'));

  // Close, then everything is "Not running".
  client.close(() => log.push('client close cb'));
  sync('send after close', () => client.send('x', sp, env.serverAddr));
  sync('close after close', () => client.close());
  sync('address after close', () => client.address());
  sync('bind after close', () => client.bind(0));
  await waitFor(client, 'close');
  server.close();
  await waitFor(server, 'close');
  return log;
}

describe('dgram facade: differential against node:dgram on 127.0.0.1', () => {
  it('produces the same events, results and errors as the kernel through node:dgram', async () => {
    // Baseline: Node's own dgram over loopback. A port bound and released gives a closed port.
    const probe = nodeDgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const closedPort = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const node = await scenario({ server: nodeDgram, client: nodeDgram, serverAddr: '127.0.0.1', clientAddr: '127.0.0.1', closedPort });

    const runtime = new Runtime();
    const pair = createMemoryPair();
    const poolA = new TrackedPool(new SlabPool(), { enabled: true });
    const poolB = new TrackedPool(new SlabPool(), { enabled: true });
    const a = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 'a', runtime, pool: poolA });
    const b = createStack({ interfaces: [{ link: pair.b, addresses: ['198.51.100.2/24'] }], seed: 'b', runtime, pool: poolB });
    const ours = await scenario({ server: b.dgram as unknown as DgramLike, client: a.dgram as unknown as DgramLike, serverAddr: '198.51.100.2', clientAddr: '198.51.100.1', closedPort: 9999 });

    expect(ours).toEqual(node);
    // Everything was closed: nothing holds the process open, nothing leaked.
    expect(runtime.refCount).toBe(0);
    a.close();
    b.close();
    runtime.close();
    expectNoLeaks(poolA);
    expectNoLeaks(poolB);
  });
});
