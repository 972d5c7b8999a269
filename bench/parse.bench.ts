// Wire-codec throughput: checked views (`check()` + field reads) for Ethernet+IPv4+TCP, Ethernet+IPv6+UDP
// and ARP, Repr emit for Ethernet, IPv4, TCP and UDP, and the whole-frame decodeFrame. Each codec case
// is paired with a baseline measured in the same run: hand-written minimal field access over the same
// frames with no validation (the cost floor), so the ratio shows what validation costs.
// One op = one pass over FRAMES distinct frames (own buffers, as a driver hands them in).
// Standalone: `node --import tsx bench/parse.bench.ts`; writes bench/results/parse.json.
import b from 'benny';
import { defaultChecksum } from '../src/api/native.js';
import { pseudoHeaderSumV4, tsChecksum } from '../src/checksum/index.js';
import { seededRandom } from '../src/random/chacha.js';
import { ArpPacket } from '../src/wire/arp.js';
import { decodeFrame } from '../src/wire/decode.js';
import { EthernetFrame, EthernetRepr } from '../src/wire/ethernet.js';
import type { EthernetRepr as EthernetReprT } from '../src/wire/ethernet.js';
import { Ipv4Packet, Ipv4Repr } from '../src/wire/ipv4.js';
import type { Ipv4Repr as Ipv4ReprT } from '../src/wire/ipv4.js';
import { Ipv6Packet, Ipv6Repr } from '../src/wire/ipv6.js';
import { formatFrame } from '../src/wire/pretty.js';
import { TcpPacket, TcpRepr } from '../src/wire/tcp.js';
import type { TcpRepr as TcpReprT } from '../src/wire/tcp.js';
import { UdpPacket, UdpRepr } from '../src/wire/udp.js';
import type { UdpRepr as UdpReprT } from '../src/wire/udp.js';
import { isEntryPoint, printTable, writeResults } from './support/bench-kit.js';

const FRAMES = 4096;
const rnd = seededRandom('parse-bench');
let sink = 0;

// ---------------------------------------------------------------- frames (built with the emitters)

function tcpRepr(payloadLen: number): TcpReprT {
  const ts = rnd.below(2) === 1;
  return {
    srcPort: 1024 + rnd.below(60000),
    dstPort: 80,
    seq: rnd.below(0x1_0000_0000),
    ack: rnd.below(0x1_0000_0000),
    flags: 0x18,
    window: rnd.below(65536),
    urgentPointer: 0,
    options: ts ? { timestamps: { tsVal: rnd.below(1e9), tsEcr: rnd.below(1e9) } } : {},
    payloadLen,
  };
}

function ethIpv4Tcp(): Uint8Array {
  const payloadLen = rnd.below(1400);
  const t = tcpRepr(payloadLen);
  const tl = TcpRepr.bufferLen(t);
  const ip: Ipv4ReprT = { src: 0xc0000201, dst: 0xc0000202 + rnd.below(200), protocol: 6, ttl: 64, dscp: 0, ecn: 0, ident: rnd.below(65536), dontFrag: true, moreFrags: false, fragOffset: 0, payloadLen: tl };
  const eth: EthernetReprT = { dst: 0x020000000002, src: 0x020000000001, vlans: [], ethertype: 0x0800 };
  const f = new Uint8Array(14 + 20 + tl);
  EthernetRepr.emit(eth, f, 0);
  Ipv4Repr.emit(ip, f, 14, tsChecksum);
  TcpRepr.emit(t, f, 34, tsChecksum, pseudoHeaderSumV4(ip.src, ip.dst, 6, tl));
  return f;
}

function ethIpv6Udp(): Uint8Array {
  const payloadLen = rnd.below(1200);
  const src = new Uint8Array(16).fill(0x20);
  const dst = new Uint8Array(16).fill(0x30);
  dst[15] = rnd.below(256);
  const f = new Uint8Array(14 + 40 + 8 + payloadLen);
  EthernetRepr.emit({ dst: 0x333300000001, src: 0x020000000001, vlans: [], ethertype: 0x86dd }, f, 0);
  Ipv6Repr.emit({ src, dst, nextHeader: 17, hopLimit: 64, trafficClass: 0, flowLabel: rnd.below(0x100000), payloadLen: 8 + payloadLen }, f, 14);
  UdpRepr.emit({ srcPort: 1024 + rnd.below(60000), dstPort: 53, payloadLen }, f, 54);
  return f;
}

function ethArp(): Uint8Array {
  const f = new Uint8Array(60); // padded to the Ethernet minimum, as on the wire
  EthernetRepr.emit({ dst: 0xffffffffffff, src: 0x020000000001, vlans: [], ethertype: 0x0806 }, f, 0);
  const a = f.subarray(14);
  a.set([0, 1, 8, 0, 6, 4, 0, 1 + rnd.below(2), 2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, rnd.below(256)]);
  return f;
}

const tcpFrames = Array.from({ length: FRAMES }, ethIpv4Tcp);
const udpFrames = Array.from({ length: FRAMES }, ethIpv6Udp);
const arpFrames = Array.from({ length: FRAMES }, ethArp);

// ---------------------------------------------------------------- parse: codecs vs hand-written floor

function checkTcp(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) {
    const f = tcpFrames[i]!;
    const e = EthernetFrame.check(f, 0, f.length);
    if (e instanceof EthernetFrame && e.ethertype === 0x0800) {
      const ip = Ipv4Packet.check(f, e.payloadOffset, e.payloadLength);
      if (ip instanceof Ipv4Packet && ip.protocol === 6) {
        const t = TcpPacket.check(f, ip.payloadOffset, ip.payloadLength);
        if (t instanceof TcpPacket) acc += ip.src + ip.dst + t.srcPort + t.dstPort + t.seqNumber + t.ackNumber + t.flags + t.window + t.payloadLength;
      }
    }
  }
  return acc;
}

// The floor: the same fields read straight from the bytes, trusting every length.
function rawTcp(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) {
    const f = tcpFrames[i]!;
    if (((f[12]! << 8) | f[13]!) !== 0x0800 || f[23] !== 6) continue;
    const ihl = (f[14]! & 15) << 2;
    const total = (f[16]! << 8) | f[17]!;
    const t = 14 + ihl;
    const src = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
    const dst = ((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0;
    const seq = ((f[t + 4]! << 24) | (f[t + 5]! << 16) | (f[t + 6]! << 8) | f[t + 7]!) >>> 0;
    const ack = ((f[t + 8]! << 24) | (f[t + 9]! << 16) | (f[t + 10]! << 8) | f[t + 11]!) >>> 0;
    const flags = ((f[t + 12]! & 1) << 8) | f[t + 13]!;
    acc += src + dst + ((f[t]! << 8) | f[t + 1]!) + ((f[t + 2]! << 8) | f[t + 3]!) + seq + ack + flags + ((f[t + 14]! << 8) | f[t + 15]!) + (total - ihl - ((f[t + 12]! >>> 4) << 2));
  }
  return acc;
}

function checkUdp6(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) {
    const f = udpFrames[i]!;
    const e = EthernetFrame.check(f, 0, f.length);
    if (e instanceof EthernetFrame && e.ethertype === 0x86dd) {
      const ip = Ipv6Packet.check(f, e.payloadOffset, e.payloadLength);
      if (ip instanceof Ipv6Packet && ip.nextHeader === 17) {
        const u = UdpPacket.check(f, ip.payloadOffset, ip.payloadLen);
        if (u instanceof UdpPacket) acc += ip.hopLimit + ip.flowLabel + u.srcPort + u.dstPort + u.payloadLength;
      }
    }
  }
  return acc;
}

function rawUdp6(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) {
    const f = udpFrames[i]!;
    if (((f[12]! << 8) | f[13]!) !== 0x86dd || f[20] !== 17) continue;
    acc += f[21]! + (((f[15]! & 15) << 16) | (f[16]! << 8) | f[17]!) + ((f[54]! << 8) | f[55]!) + ((f[56]! << 8) | f[57]!) + (((f[58]! << 8) | f[59]!) - 8);
  }
  return acc;
}

function checkArp(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) {
    const f = arpFrames[i]!;
    const e = EthernetFrame.check(f, 0, f.length);
    if (e instanceof EthernetFrame && e.ethertype === 0x0806) {
      const a = ArpPacket.check(f, e.payloadOffset, e.payloadLength);
      if (a instanceof ArpPacket) acc += a.oper + a.spa + a.tpa + (a.sha % 65536);
    }
  }
  return acc;
}

function rawArp(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) {
    const f = arpFrames[i]!;
    if (((f[12]! << 8) | f[13]!) !== 0x0806) continue;
    const spa = ((f[28]! << 24) | (f[29]! << 16) | (f[30]! << 8) | f[31]!) >>> 0;
    const tpa = ((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0;
    acc += ((f[20]! << 8) | f[21]!) + spa + tpa + ((f[26]! << 8) | f[27]!);
  }
  return acc;
}

// ---------------------------------------------------------------- emit: Reprs vs hand-written writes

const out = new Uint8Array(128);
const ethReprs: EthernetReprT[] = Array.from({ length: FRAMES }, (_, i) => ({ dst: 0x020000000002 + i, src: 0x020000000001, vlans: [], ethertype: 0x0800 }));
const ipReprs: Ipv4ReprT[] = Array.from({ length: FRAMES }, (_, i) => ({ src: 0xc0000201, dst: 0xc0000202 + i, protocol: 6, ttl: 64, dscp: 0, ecn: 0, ident: i, dontFrag: true, moreFrags: false, fragOffset: 0, payloadLen: 20 + (i & 1023) }));
const tcpReprs: TcpReprT[] = Array.from({ length: FRAMES }, () => tcpRepr(0));
const udpReprs: UdpReprT[] = Array.from({ length: FRAMES }, (_, i) => ({ srcPort: 1024 + i, dstPort: 53, payloadLen: 0 }));

function w16(o: number, v: number): void {
  out[o] = v >>> 8;
  out[o + 1] = v;
}
function w32(o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = v >>> 16;
  out[o + 2] = v >>> 8;
  out[o + 3] = v;
}

function emitEth(): number {
  for (let i = 0; i < FRAMES; i++) EthernetRepr.emit(ethReprs[i]!, out, 0);
  return out[5]!;
}
function rawEth(): number {
  for (let i = 0; i < FRAMES; i++) {
    const r = ethReprs[i]!;
    w16(0, Math.floor(r.dst / 0x1_0000_0000));
    w32(2, r.dst >>> 0);
    w16(6, Math.floor(r.src / 0x1_0000_0000));
    w32(8, r.src >>> 0);
    w16(12, r.ethertype);
  }
  return out[5]!;
}

// IPv4 emit includes the header checksum (the codec always fills it); so does its floor.
function emitIpv4(): number {
  for (let i = 0; i < FRAMES; i++) Ipv4Repr.emit(ipReprs[i]!, out, 0, tsChecksum);
  return out[11]!;
}
function rawIpv4(): number {
  for (let i = 0; i < FRAMES; i++) {
    const r = ipReprs[i]!;
    out[0] = 0x45;
    out[1] = 0;
    w16(2, 20 + r.payloadLen);
    w16(4, r.ident);
    w16(6, 0x4000);
    out[8] = r.ttl;
    out[9] = r.protocol;
    w16(10, 0);
    w32(12, r.src);
    w32(16, r.dst);
    let s = 0;
    for (let k = 0; k < 20; k += 2) s += (out[k]! << 8) | out[k + 1]!;
    s = (s & 0xffff) + (s >>> 16);
    s = (s & 0xffff) + (s >>> 16);
    w16(10, ~s & 0xffff);
  }
  return out[11]!;
}

// TCP and UDP: header and options only (no checksum, which the caller adds over the payload).
function emitTcp(): number {
  for (let i = 0; i < FRAMES; i++) TcpRepr.emit(tcpReprs[i]!, out, 0);
  return out[13]!;
}
function rawTcpEmit(): number {
  for (let i = 0; i < FRAMES; i++) {
    const r = tcpReprs[i]!;
    w16(0, r.srcPort);
    w16(2, r.dstPort);
    w32(4, r.seq);
    w32(8, r.ack);
    const ts = r.options.timestamps;
    out[12] = (ts ? 8 : 5) << 4;
    out[13] = r.flags;
    w16(14, r.window);
    w16(16, 0);
    w16(18, r.urgentPointer);
    if (ts) {
      w32(20, 0x0101080a);
      w32(24, ts.tsVal);
      w32(28, ts.tsEcr);
    }
  }
  return out[13]!;
}
function emitUdp(): number {
  for (let i = 0; i < FRAMES; i++) UdpRepr.emit(udpReprs[i]!, out, 0);
  return out[1]!;
}
function rawUdpEmit(): number {
  for (let i = 0; i < FRAMES; i++) {
    const r = udpReprs[i]!;
    w16(0, r.srcPort);
    w16(2, r.dstPort);
    w16(4, 8 + r.payloadLen);
    w16(6, 0);
  }
  return out[1]!;
}

// ---------------------------------------------------------------- whole-frame decode

const mixed = Array.from({ length: FRAMES }, (_, i) => (i % 4 === 3 ? udpFrames[i]! : i % 8 === 1 ? arpFrames[i]! : tcpFrames[i]!));
const routed = defaultChecksum();
function decodeAll(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) acc += decodeFrame(1, mixed[i]!, { checksum: routed }).layers.length;
  return acc;
}
function decodeNoChecksum(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) acc += decodeFrame(1, mixed[i]!, { checksum: null }).layers.length;
  return acc;
}
function decodeAndFormat(): number {
  let acc = 0;
  for (let i = 0; i < FRAMES; i++) acc += formatFrame(decodeFrame(1, mixed[i]!, { checksum: routed })).length;
  return acc;
}

// ---------------------------------------------------------------- run

interface Pair {
  name: string;
  fn: () => number;
  baseline?: { name: string; fn: () => number };
}

const PAIRS: Pair[] = [
  { name: 'parse eth+ipv4+tcp: check() + fields', fn: checkTcp, baseline: { name: 'floor: raw field reads', fn: rawTcp } },
  { name: 'parse eth+ipv6+udp: check() + fields', fn: checkUdp6, baseline: { name: 'floor: raw field reads', fn: rawUdp6 } },
  { name: 'parse eth+arp: check() + fields', fn: checkArp, baseline: { name: 'floor: raw field reads', fn: rawArp } },
  { name: 'emit ethernet (EthernetRepr.emit)', fn: emitEth, baseline: { name: 'floor: raw writes', fn: rawEth } },
  { name: 'emit ipv4 + header checksum (Ipv4Repr.emit)', fn: emitIpv4, baseline: { name: 'floor: raw writes + sum', fn: rawIpv4 } },
  { name: 'emit tcp header+options (TcpRepr.emit)', fn: emitTcp, baseline: { name: 'floor: raw writes', fn: rawTcpEmit } },
  { name: 'emit udp header (UdpRepr.emit)', fn: emitUdp, baseline: { name: 'floor: raw writes', fn: rawUdpEmit } },
  { name: 'decodeFrame (mixed, checksums verified)', fn: decodeAll },
  { name: 'decodeFrame (mixed, --no-checksum)', fn: decodeNoChecksum },
  { name: 'decodeFrame + formatFrame (mixed)', fn: decodeAndFormat },
];

/** Best seconds per op of each function over `rounds` interleaved rounds of `reps` ops. */
function bestOf(fns: readonly (() => number)[], rounds: number, reps: number): number[] {
  const best = fns.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < reps; k++) sink += fn();
      best[i] = Math.min(best[i]!, Number(process.hrtime.bigint() - t0) / 1e9 / reps);
    });
  }
  return best;
}

export async function run(): Promise<unknown> {
  // Sanity: codec and floor read the same fields.
  for (const p of PAIRS) if (p.baseline && p.fn() !== p.baseline.fn() && p.name.startsWith('parse')) throw new Error(`${p.name}: codec and floor disagree`);
  const opts = { minTime: 0.005, minSamples: 40, maxTime: 1.5 };
  const rows: { name: string; baseline: string | null; framesPerSec: number; framesPerSecBest: number; baselineFramesPerSec: number | null; baselineBest: number | null; costVsFloor: number | null; bestCostVsFloor: number | null }[] = [];
  for (const p of PAIRS) {
    const cases = [b.add(p.name, () => (sink += p.fn()), opts)];
    if (p.baseline) {
      const base = p.baseline;
      cases.push(b.add(base.name, () => (sink += base.fn()), opts));
    }
    const s = await b.suite(p.name, ...cases, b.cycle());
    const best = bestOf(p.baseline ? [p.fn, p.baseline.fn] : [p.fn], 9, 20);
    const mean = s.results.map((r) => FRAMES / r.details.mean);
    rows.push({
      name: p.name,
      baseline: p.baseline?.name ?? null,
      framesPerSec: Math.round(mean[0]!),
      framesPerSecBest: Math.round(FRAMES / best[0]!),
      baselineFramesPerSec: p.baseline ? Math.round(mean[1]!) : null,
      baselineBest: p.baseline ? Math.round(FRAMES / best[1]!) : null,
      costVsFloor: p.baseline ? +(mean[1]! / mean[0]!).toFixed(2) : null,
      bestCostVsFloor: p.baseline ? +(best[0]! / best[1]!).toFixed(2) : null,
    });
  }
  const m = (x: number | null): string => (x === null ? '-' : (x / 1e6).toFixed(2));
  console.log(`\nframes/s in millions (benny mean / best of 9 interleaved rounds), ${FRAMES} distinct frames per op`);
  printTable([
    ['case', 'M/s mean', 'M/s best', 'floor M/s best', 'cost vs floor (best)'],
    ...rows.map((r) => [r.name, m(r.framesPerSec), m(r.framesPerSecBest), m(r.baselineBest), r.bestCostVsFloor === null ? '-' : `x${r.bestCostVsFloor}`]),
  ]);
  const targets = { ethIpv4TcpCheckAtLeast10MPerSec: rows[0]!.framesPerSecBest >= 10e6 };
  console.log('targets (best):', targets);
  // Measured on Node 20: with V8's default cumulative inlining budget the three check()s plus nine
  // getters do not all inline into one loop, and the u32 getters (addresses, seq, ack) then return
  // boxed numbers; --max-inlined-bytecode-size-cumulative=3000 roughly doubles this case.
  if (!targets.ethIpv4TcpCheckAtLeast10MPerSec) console.log('hint: compare with node --max-inlined-bytecode-size-cumulative=3000 (inlining budget)');
  if (sink === -1) console.log(sink);
  const result = { node: process.version, arch: process.arch, execArgv: process.execArgv, checksum: routed.name, framesPerOp: FRAMES, cases: rows, targets };
  console.log(`results written to ${writeResults('parse', result)}`);
  return result;
}

if (isEntryPoint(import.meta.url)) await run();
