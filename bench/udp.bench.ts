// Round-trip time and UDP echo rate between two of our stacks on an in-memory pair, driven by the
// real runtime, against the same exchange over Node's own dgram on 127.0.0.1 (the kernel), measured
// in the same run and reported as ratios. Cases:
//  - RTT: one request in flight, sequential round trips (ICMP echo via the core, UDP via dgram);
//  - echo rate: a window of datagrams in flight, packets per second echoed back for a fixed time.
// Standalone: `node --import tsx bench/udp.bench.ts`; writes bench/results/udp.json. Bounded: each
// case runs for a fixed wall time (BENCH_UDP_SECONDS, default 1 s).
import * as nodeDgram from 'node:dgram';
import { Runtime, createStack } from '../src/api/index.js';
import type { Icmpv4Module } from '../src/core/icmpv4.js';
import { createMemoryPair } from '../src/phy/index.js';
import { parseIpv4 } from '../src/wire/address.js';
import { isEntryPoint, printTable, writeResults } from './support/bench-kit.js';

const SECONDS = Number(process.env.BENCH_UDP_SECONDS ?? 1);
const PAYLOAD = 64;
const WINDOW = 32;

interface DgramLike {
  createSocket(type: 'udp4'): nodeDgram.Socket;
}

interface Rtt {
  samples: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
}

function summarise(us: number[]): Rtt {
  const s = [...us].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { samples: s.length, medianUs: +at(0.5).toFixed(1), p99Us: +at(0.99).toFixed(1), meanUs: +(s.reduce((a, b) => a + b, 0) / s.length).toFixed(1) };
}

const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

async function bound(s: nodeDgram.Socket, port: number, address: string): Promise<number> {
  await new Promise<void>((r) => s.bind(port, address, () => r()));
  return s.address().port;
}

/** Sequential UDP request/response for SECONDS: one datagram in flight. */
async function udpRtt(server: DgramLike, client: DgramLike, serverAddr: string, clientAddr: string): Promise<Rtt> {
  const srv = server.createSocket('udp4');
  srv.on('message', (m, r) => srv.send(m, r.port, r.address));
  const port = await bound(srv, 0, serverAddr);
  const cli = client.createSocket('udp4');
  await bound(cli, 0, clientAddr);
  const msg = Buffer.alloc(PAYLOAD, 7);
  const samples: number[] = [];
  await new Promise<void>((resolve) => {
    const end = nowUs() + SECONDS * 1e6;
    let t0 = nowUs();
    cli.on('message', () => {
      const t = nowUs();
      samples.push(t - t0);
      if (t > end) return resolve();
      t0 = nowUs();
      cli.send(msg, port, serverAddr);
    });
    cli.send(msg, port, serverAddr);
  });
  cli.close();
  srv.close();
  return summarise(samples.slice(Math.min(100, samples.length >> 2))); // drop warm-up
}

/** A window of WINDOW datagrams in flight for SECONDS: echoed packets per second. */
async function udpRate(server: DgramLike, client: DgramLike, serverAddr: string, clientAddr: string): Promise<number> {
  const srv = server.createSocket('udp4');
  srv.on('message', (m, r) => srv.send(m, r.port, r.address));
  const port = await bound(srv, 0, serverAddr);
  const cli = client.createSocket('udp4');
  await bound(cli, 0, clientAddr);
  const msg = Buffer.alloc(PAYLOAD, 7);
  let echoed = 0;
  let inFlight = 0;
  const start = nowUs();
  const end = start + SECONDS * 1e6;
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(refill);
      clearTimeout(stop);
      resolve();
    };
    const fill = (): void => {
      while (!done && inFlight < WINDOW) {
        inFlight++;
        cli.send(msg, port, serverAddr);
      }
    };
    cli.on('message', () => {
      echoed++;
      inFlight--;
      if (nowUs() > end) return finish();
      fill();
    });
    // Datagrams can be lost on a full queue (ours and the kernel's): top the window up periodically.
    const refill = setInterval(() => {
      inFlight = 0;
      fill();
    }, 50);
    const stop = setTimeout(finish, SECONDS * 1000 + 200);
    fill();
  });
  const secs = (nowUs() - start) / 1e6;
  cli.close();
  srv.close();
  return echoed / secs;
}

/** Sequential ICMP echo between our stacks through the core (no per-ping promise or timers). */
async function icmpRtt(icmp: Icmpv4Module, runtime: Runtime, dst: number): Promise<Rtt> {
  const samples: number[] = [];
  const data = new Uint8Array(PAYLOAD);
  const ident = 0x4242;
  // Raw core use: hold a runtime reference as an open socket would (the runtime alone keeps nothing alive).
  runtime.ref();
  await new Promise<void>((resolve) => {
    const end = nowUs() + SECONDS * 1e6;
    let seq = 0;
    let t0 = nowUs();
    const send = (): void => {
      t0 = nowUs();
      icmp.sendEchoRequest(dst, ident, ++seq & 0xffff, data, runtime.now());
      runtime.wake();
    };
    icmp.onEchoReply(ident, () => {
      const t = nowUs();
      samples.push(t - t0);
      if (t > end) return resolve();
      send();
    });
    send();
  });
  icmp.onEchoReply(ident, null);
  runtime.unref();
  return summarise(samples.slice(Math.min(100, samples.length >> 2)));
}

export async function run(): Promise<unknown> {
  const runtime = new Runtime();
  const pair = createMemoryPair();
  const a = createStack({ interfaces: [{ link: pair.a, addresses: ['198.51.100.1/24'] }], seed: 'bench-a', runtime });
  const b = createStack({ interfaces: [{ link: pair.b, addresses: ['198.51.100.2/24'] }], seed: 'bench-b', runtime });
  // Resolve ARP and warm up the paths once.
  await a.ping('198.51.100.2', { count: 3, interval: 1 });

  const ours = { dgram: a.dgram as unknown as DgramLike, peer: b.dgram as unknown as DgramLike };
  const pingOurs = await icmpRtt(a.core.module<Icmpv4Module>('icmpv4')!, runtime, parseIpv4('198.51.100.2')!);
  const rttOurs = await udpRtt(ours.peer, ours.dgram, '198.51.100.2', '198.51.100.1');
  const rttNode = await udpRtt(nodeDgram, nodeDgram, '127.0.0.1', '127.0.0.1');
  const rateOurs = await udpRate(ours.peer, ours.dgram, '198.51.100.2', '198.51.100.1');
  const rateNode = await udpRate(nodeDgram, nodeDgram, '127.0.0.1', '127.0.0.1');
  a.close();
  b.close();
  runtime.close();

  const result = {
    seconds: SECONDS,
    payloadBytes: PAYLOAD,
    window: WINDOW,
    icmpRttOurs: pingOurs,
    udpRttOurs: rttOurs,
    udpRttNodeLoopback: rttNode,
    udpRttRatio: +(rttOurs.medianUs / rttNode.medianUs).toFixed(2),
    icmpRttRatio: +(pingOurs.medianUs / rttNode.medianUs).toFixed(2),
    echoPpsOurs: Math.round(rateOurs),
    echoPpsNodeLoopback: Math.round(rateNode),
    echoPpsRatio: +(rateOurs / rateNode).toFixed(2),
  };
  printTable([
    ['case', 'ours (memory pair)', 'node:dgram 127.0.0.1', 'ours/node'],
    ['ICMP echo RTT median / p99 µs', `${pingOurs.medianUs} / ${pingOurs.p99Us}`, `(UDP) ${rttNode.medianUs} / ${rttNode.p99Us}`, `x${result.icmpRttRatio}`],
    ['UDP echo RTT median / p99 µs', `${rttOurs.medianUs} / ${rttOurs.p99Us}`, `${rttNode.medianUs} / ${rttNode.p99Us}`, `x${result.udpRttRatio}`],
    [`UDP echo pkt/s (window ${WINDOW})`, String(result.echoPpsOurs), String(result.echoPpsNodeLoopback), `x${result.echoPpsRatio}`],
  ]);
  return result;
}

if (isEntryPoint(import.meta.url)) {
  const r = await run();
  console.log(`results written to ${writeResults('udp', r)}`);
}
