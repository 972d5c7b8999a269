// SECURITY-CASES §5 hostile fragments (H08-H13 IPv4 through a whole stack; H25-H27 through the IPv6
// reassembly glue) and §6 exhaustion scenarios E3 (fragment flood that never completes) and E4
// (FragmentSmack: thousands of tiny fragments for one datagram). Every row states its verdict: the
// drop reasons counted (exactly, nothing else), whether any ICMP comes out (checked on the wire, also
// after the reassembly timeout), and a liveness check that a valid fragmented datagram still
// reassembles afterwards. Bounds are read from the modules' configured options.
import { describe, expect, it } from 'vitest';
import { ArpModule, Icmpv4Module, Ipv4Module } from '../../src/core/index.js';
import { IPV4_REASSEMBLY_LAYER, Ipv4ReassemblyModule } from '../../src/core/ipv4-reassembly.js';
import { IPV6_REASSEMBLY_LAYER, type Ipv6Reassembled, Ipv6ReassemblyModule } from '../../src/core/ipv6-reassembly.js';
import { REASSEMBLY_DATAGRAM_OVERHEAD, REASSEMBLY_FRAGMENT_OVERHEAD } from '../../src/core/reassembly.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { tsChecksum } from '../../src/checksum/index.js';
import { finishChecksum } from '../../src/checksum/internet.js';
import { writeU16 } from '../../src/wire/bytes.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Icmpv4Packet } from '../../src/wire/icmpv4.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { type Ipv6Chain, Ipv6ParamProblem, walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { IP4_A, IP4_B, MAC_A, MAC_B, ethernet, ipv4, ipv6 } from '../support/build-l3.js';
import { icmpv4 } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const figures = process.env.REASSEMBLY_FIGURES !== undefined;

// ------------------------------------------------------------------------------------------ IPv4

/** Stack B (192.0.2.2, MAC_B) with reassembly; the test drives the peer end of the memory pair. */
function hostUnderTest() {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const b = testStack('b', [new ArpModule(), new Ipv4Module(), new Icmpv4Module(), new Ipv4ReassemblyModule()]);
  const ib = b.stack.addInterface(pair.b, { addresses: ['192.0.2.2/24'], mac: MAC_B }, clock.now);
  b.stack.module<ArpModule>('arp')!.addStatic(ib, IP4_A, MAC_A, clock.now);
  const reasm = b.stack.module<Ipv4ReassemblyModule>('ipv4-reassembly')!;
  /** IPv4 packets B sent since the last call (ARP ignored). */
  const drain = (): Ipv4Packet[] => {
    const out: Ipv4Packet[] = [];
    pair.a.receive(100_000, (f) => {
      const e = EthernetFrame.check(f.slice());
      if (isWireError(e) || e.ethertype !== 0x0800) return;
      const p = Ipv4Packet.check(e.buf, e.payloadOffset, e.payloadLength);
      if (!isWireError(p)) out.push(p);
    });
    return out;
  };
  const outbox: Ipv4Packet[] = [];
  /** Sends Ethernet frames into B in batches that fit the pair's queue, polling B after each. */
  const inject = (frames: Iterable<Uint8Array>) => {
    let n = 0;
    for (const f of frames) {
      if (!pair.a.transmit(f)) expect.fail('peer queue full');
      if (++n % 128 === 0) {
        settle(clock, [b.stack]);
        outbox.push(...drain());
      }
    }
    settle(clock, [b.stack]);
    outbox.push(...drain());
  };
  const takeOutput = () => outbox.splice(0);
  const layerDrops = () => ({ ...(b.stack.stats.snapshot()[IPV4_REASSEMBLY_LAYER]?.drops ?? {}) });
  return { clock, b, reasm, inject, takeOutput, layerDrops };
}

type Host = ReturnType<typeof hostUnderTest>;

const eth = (ip: Uint8Array) => ethernet({ dst: MAC_B, src: MAC_A, payload: ip });

/** An ICMP echo request message (header + data) with `dataLen` patterned data bytes. */
function echoMessage(dataLen: number, seq = 1): Uint8Array {
  const data = new Uint8Array(dataLen);
  for (let i = 0; i < dataLen; i++) data[i] = (i * 13 + 5) & 0xff;
  return icmpv4({ type: 8, ident: 0x4242, seq, data });
}

interface Piece {
  start: number;
  end: number;
  mf: boolean;
  protocol?: number;
}

/** IPv4 fragments carrying bytes [start, end) of `msg` (zero-filled beyond it). */
function pieces(ident: number, msg: Uint8Array, ps: Piece[]): Uint8Array[] {
  return ps.map((p) => {
    const payload = new Uint8Array(p.end - p.start);
    payload.set(msg.subarray(p.start, Math.min(p.end, msg.length)));
    return eth(ipv4({ protocol: p.protocol ?? 1, ident, fragOffset: p.start, mf: p.mf, payload }));
  });
}

/** A valid echo request in 3 fragments; returns whether B answered it with a correct echo reply. */
function livenessEcho(h: Host, ident: number): void {
  const msg = echoMessage(2400, 9);
  const before = h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled');
  h.inject(pieces(ident, msg, [
    { start: 1600, end: msg.length, mf: false },
    { start: 0, end: 800, mf: true },
    { start: 800, end: 1600, mf: true },
  ]));
  expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled')).toBe(before + 1);
  const out = h.takeOutput().filter((p) => p.protocol === 1);
  // 2408-byte reply at MTU 1500: two fragments with one ident.
  expect(out.length).toBe(2);
  const sorted = out.sort((x, y) => x.fragOffset - y.fragOffset);
  const reply = new Uint8Array(sorted[0]!.payloadLength + sorted[1]!.payloadLength);
  reply.set(sorted[0]!.payload(), 0);
  reply.set(sorted[1]!.payload(), sorted[1]!.fragOffset);
  const icmp = Icmpv4Packet.check(reply);
  if (isWireError(icmp)) throw icmp;
  expect([icmp.type, icmp.echoSeq, icmp.dataLength]).toEqual([0, 9, 2400]);
  expect(icmp.verifyChecksum(tsChecksum)).toBe(true);
}

interface Ipv4Row {
  id: string;
  name: string;
  frames: () => Uint8Array[];
  /** Exact drop counters of the reassembly layer after the frames (before any timeout). */
  drops: Record<string, number>;
  /** Datagrams (or tombstones) left pending right after the frames. */
  pending: number;
}

const M3000 = echoMessage(2992); // a 3000-byte ICMP message
const rows4: Ipv4Row[] = [
  {
    id: 'H08',
    name: 'Ping of Death: FO=0x1FFF (65528), MF=0, 100 bytes',
    frames: () => pieces(0x0801, M3000, [{ start: 65528, end: 65628, mf: false }]),
    drops: { too_big: 1 },
    pending: 0,
  },
  {
    id: 'H08',
    name: 'Ping of Death variant: a last fragment that would end at 65536 after a 20-byte header',
    frames: () => pieces(0x0802, M3000, [{ start: 800, end: 1600, mf: true }, { start: 65512, end: 65516, mf: false }]),
    drops: { too_big: 1 },
    pending: 1,
  },
  {
    id: 'H09',
    name: 'overlap: [0,1000) [1512,2512) [1000,2000) [2000,3000) MF=0',
    frames: () =>
      pieces(9, M3000, [
        { start: 0, end: 1000, mf: true },
        { start: 1512, end: 2512, mf: true },
        { start: 1000, end: 2000, mf: true },
        { start: 2000, end: 3000, mf: false },
      ]),
    drops: { overlap: 1, discarded_datagram: 1 },
    pending: 1,
  },
  {
    id: 'H10',
    name: 'teardrop: [0,36) MF=1 then [24,28) MF=0',
    frames: () => pieces(10, M3000, [{ start: 0, end: 36, mf: true }, { start: 24, end: 28, mf: false }]),
    // 36 bytes is not a multiple of 8: the first is refused alone; the second waits alone and expires.
    drops: { unaligned: 1 },
    pending: 1,
  },
  {
    id: 'H10',
    name: 'teardrop, aligned: [0,40) MF=1 then [24,28) MF=0 ending below data held',
    frames: () => pieces(11, M3000, [{ start: 0, end: 40, mf: true }, { start: 24, end: 28, mf: false }]),
    drops: { beyond_total: 1 },
    pending: 1,
  },
  {
    id: 'H10',
    name: 'teardrop, contained: [0,40) MF=1, [24,32) MF=1, [40,48) MF=0',
    frames: () => pieces(12, M3000, [{ start: 0, end: 40, mf: true }, { start: 24, end: 32, mf: true }, { start: 40, end: 48, mf: false }]),
    drops: { overlap: 1, discarded_datagram: 1 },
    pending: 1,
  },
  {
    id: 'H11',
    name: 'non-final fragment of 1001 bytes, MF=1',
    frames: () => pieces(13, M3000, [{ start: 0, end: 1001, mf: true }, { start: 1008, end: 2000, mf: false }]),
    drops: { unaligned: 1 },
    pending: 1,
  },
  {
    id: 'H12',
    name: 'TCP first fragment of 8 bytes (FO=0, MF=1), then TCP FO=1',
    frames: () =>
      pieces(14, M3000, [
        { start: 0, end: 8, mf: true, protocol: 6 },
        { start: 8, end: 48, mf: false, protocol: 6 },
      ]),
    drops: { tcp_tiny_first_fragment: 1, tcp_offset_8: 1 },
    pending: 0,
  },
  {
    id: 'H13',
    name: 'two last fragments with different totals (3000 vs 2000)',
    frames: () =>
      pieces(15, M3000, [
        { start: 0, end: 1000, mf: true },
        { start: 2000, end: 3000, mf: false },
        { start: 1000, end: 2000, mf: false },
      ]),
    drops: { conflict_total: 1 },
    pending: 1,
  },
  {
    id: 'H13',
    name: 'a later fragment with a different protocol',
    frames: () =>
      pieces(16, M3000, [
        { start: 0, end: 1000, mf: true },
        { start: 1000, end: 2000, mf: true, protocol: 17 },
        { start: 2000, end: 3000, mf: false },
      ]),
    drops: { conflict_protocol: 1, discarded_datagram: 1 },
    pending: 1,
  },
  {
    id: 'H13',
    name: 'a fragment beyond the known total',
    frames: () =>
      pieces(17, M3000, [
        { start: 2000, end: 3000, mf: false },
        { start: 3000, end: 3008, mf: true },
        { start: 0, end: 1000, mf: true },
        { start: 1000, end: 2000, mf: true },
      ]),
    drops: { beyond_total: 1, discarded_datagram: 2 },
    pending: 1,
  },
];

describe('hostile IPv4 fragments (SECURITY-CASES H08-H13)', () => {
  for (const row of rows4) {
    it(`${row.id} ${row.name}: dropped with reasons ${JSON.stringify(row.drops)}, no ICMP, still live`, () => {
      const h = hostUnderTest();
      h.inject(row.frames());
      expect(h.layerDrops()).toEqual(row.drops);
      expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled')).toBe(0);
      expect(h.reasm.engine.datagrams).toBe(row.pending);
      expect(h.takeOutput()).toEqual([]);
      // Past the timeout: no Time Exceeded either (no fragment 0 kept, or the datagram was discarded).
      runFor(h.clock, [h.b.stack], h.reasm.options.timeout / 1000 + 1000);
      expect(h.takeOutput()).toEqual([]);
      expect(h.b.stack.stats.get('icmpv4', 'errors_sent')).toBe(0);
      expect(h.reasm.engine.datagrams).toBe(0);
      expect(h.reasm.engine.bytesInUse).toBe(0);
      livenessEcho(h, 0x7000);
      closeAndCheckLeaks(h.b);
    });
  }

  it('H09 liveness: a valid datagram with the discarded ident is refused until the tombstone expires, other idents are not', () => {
    const h = hostUnderTest();
    h.inject(rows4[2]!.frames());
    livenessEcho(h, 0x7001);
    const msg = echoMessage(2400, 9);
    h.inject(pieces(9, msg, [{ start: 0, end: 800, mf: true }]));
    expect(h.layerDrops().discarded_datagram).toBe(2);
    closeAndCheckLeaks(h.b);
  });
});

// ------------------------------------------------------------------------------------------ IPv6

interface Meta {
  readonly tag: string;
}

function v6Harness(opts: ConstructorParameters<typeof Ipv6ReassemblyModule>[0] = {}) {
  const clock = new FakeClock();
  const mod = new Ipv6ReassemblyModule<Meta>(opts);
  const t = testStack('v6', [mod]);
  const delivered: Ipv6Reassembled[] = [];
  const paramProblems: Array<{ code: number; pointer: number }> = [];
  const timeExceeded: Uint8Array[] = [];
  mod.setHooks({
    paramProblem: (_p, code, pointer) => paramProblems.push({ code, pointer }),
    timeExceeded: (quote) => timeExceeded.push(quote),
  });
  /** Feeds a packet as the IPv6 module would: check, walk, then input (or report the walker's verdict). */
  const feed = (pkt: Uint8Array, chainOverride?: (c: Ipv6Chain | null, p: Ipv6Packet) => Ipv6Chain) => {
    const p = Ipv6Packet.check(pkt);
    if (isWireError(p)) throw p;
    const walked = walkIpv6Chain(p);
    const chain = chainOverride ? chainOverride(isWireError(walked) ? null : walked, p) : walked;
    if (isWireError(chain)) return chain;
    mod.input(p, chain, { tag: 'x' }, clock.now, (r) => delivered.push(r));
    return chain;
  };
  const layerDrops = () => ({ ...(t.stack.stats.snapshot()[IPV6_REASSEMBLY_LAYER]?.drops ?? {}) });
  return { clock, mod, t, delivered, paramProblems, timeExceeded, feed, layerDrops };
}

type V6 = ReturnType<typeof v6Harness>;

function udpPart(dataLen: number): Uint8Array {
  const b = new Uint8Array(8 + dataLen);
  b.set([0x9c, 0x40, 0x00, 0x35]);
  for (let i = 8; i < b.length; i++) b[i] = (i * 11 + 3) & 0xff;
  return b;
}

function frag6(ident: number, part: Uint8Array, start: number, end: number, more: boolean, nextHeader = 17): Uint8Array {
  const payload = new Uint8Array(end - start);
  payload.set(part.subarray(start, Math.min(end, part.length)));
  return ipv6({ ext: [{ type: 'frag', fragOffset: start, more, ident }], nextHeader, payload });
}

/** The chain walkIpv6Chain would give for a lone Fragment header at 40, for packets the walker refuses. */
function rawFragmentChain(p: Ipv6Packet): Ipv6Chain {
  const w = (p.buf[p.off + 42]! << 8) | p.buf[p.off + 43]!;
  const ident = ((p.buf[p.off + 44]! << 24) | (p.buf[p.off + 45]! << 16) | (p.buf[p.off + 46]! << 8) | p.buf[p.off + 47]!) >>> 0;
  return {
    headers: [{ type: 44, offset: 40, length: 8 }],
    upperProtocol: p.buf[p.off + 40]!,
    upperOffset: 48,
    nextHeaderPointer: 40,
    fragment: { nextHeader: p.buf[p.off + 40]!, fragOffset: w & 0xfff8, moreFrags: (w & 1) !== 0, ident },
    fragmentOffset: 40,
    routerAlert: -1,
    jumbo: false,
  };
}

function livenessV6(h: V6, ident: number): void {
  const part = udpPart(2400);
  const n = h.delivered.length;
  h.feed(frag6(ident, part, 1600, part.length, false));
  h.feed(frag6(ident, part, 0, 800, true));
  h.feed(frag6(ident, part, 800, 1600, true));
  expect(h.delivered.length).toBe(n + 1);
  expect(h.delivered[n]!.packet.subarray(40)).toEqual(part);
}

/** Runs past the 60 s timeout: nothing left, no Time Exceeded unless expected. */
function expireV6(h: V6): void {
  runFor(h.clock, [h.t.stack], h.mod.options.timeout / 1000 + 1000);
  expect(h.mod.engine.datagrams).toBe(0);
  expect(h.mod.engine.bytesInUse).toBe(0);
}

describe('hostile IPv6 fragments (SECURITY-CASES H25-H27)', () => {
  it('H25 first fragment holding only Destination Options, TCP header in fragment 2: dropped, Param Problem code 3 pointer 0 (RFC 7112)', () => {
    const h = v6Harness();
    const first = ipv6({ ext: [{ type: 'frag', fragOffset: 0, more: true, ident: 25 }, { type: 'dest' }], nextHeader: 6 });
    const second = ipv6({ ext: [{ type: 'frag', fragOffset: 8, more: false, ident: 25, nextHeader: 60 }], nextHeader: 60, payload: new Uint8Array(40) });
    h.feed(first);
    expect(h.paramProblems).toEqual([{ code: 3, pointer: 0 }]);
    expect(h.layerDrops()).toEqual({ incomplete_header_chain: 1 });
    h.feed(second);
    expect(h.delivered).toEqual([]);
    expireV6(h);
    expect(h.timeExceeded).toEqual([]);
    livenessV6(h, 0x25);
    closeAndCheckLeaks(h.t);
  });

  it('H26a overlap [0,1000) [504,1504) [1504,2000): whole datagram discarded silently (RFC 5722)', () => {
    const h = v6Harness();
    const part = udpPart(1992);
    h.feed(frag6(26, part, 0, 1000, true));
    h.feed(frag6(26, part, 504, 1504, true));
    h.feed(frag6(26, part, 1504, 2000, false));
    expect(h.layerDrops()).toEqual({ overlap: 1, discarded_datagram: 1 });
    expect(h.paramProblems).toEqual([]);
    expect(h.delivered).toEqual([]);
    expireV6(h);
    expect(h.timeExceeded).toEqual([]);
    livenessV6(h, 0x26a);
    closeAndCheckLeaks(h.t);
  });

  it('H26b M=1 fragment of 1001 bytes: Param Problem code 0 at Payload Length (walker and glue agree)', () => {
    const h = v6Harness();
    const pkt = frag6(0x26b, udpPart(1500), 0, 1001, true);
    // What the IPv6 module sees from the walker:
    const walked = h.feed(pkt);
    expect(walked).toBeInstanceOf(Ipv6ParamProblem);
    expect([(walked as Ipv6ParamProblem).code, (walked as Ipv6ParamProblem).pointer]).toEqual([0, 4]);
    // The glue enforces the same rule for a chain the walker did not vet:
    h.feed(pkt, (_c, p) => rawFragmentChain(p));
    expect(h.paramProblems).toEqual([{ code: 0, pointer: 4 }]);
    expect(h.layerDrops()).toEqual({ unaligned: 1 });
    expect(h.mod.engine.datagrams).toBe(0);
    livenessV6(h, 0x26b);
    closeAndCheckLeaks(h.t);
  });

  it('H26c offset 65528 with 16 bytes: Param Problem code 0 at the Fragment Offset field (pointer 42)', () => {
    const h = v6Harness();
    const pkt = frag6(0x26c, udpPart(100), 65528, 65544, true);
    const walked = h.feed(pkt);
    expect(walked).toBeInstanceOf(Ipv6ParamProblem);
    expect([(walked as Ipv6ParamProblem).code, (walked as Ipv6ParamProblem).pointer]).toEqual([0, 42]);
    h.feed(pkt, (_c, p) => rawFragmentChain(p));
    expect(h.paramProblems).toEqual([{ code: 0, pointer: 42 }]);
    expect(h.layerDrops()).toEqual({ too_big: 1 });
    expect(h.mod.engine.bytesInUse).toBe(0);
    livenessV6(h, 0x26c);
    closeAndCheckLeaks(h.t);
  });

  it('H26c with unfragmentable headers: the Payload Length after reassembly counts them (pointer moves with the Fragment header)', () => {
    const h = v6Harness();
    // Hop-by-Hop (8 bytes) + Fragment: 8 + 65520 + 8 = 65536 > 65535, although offset + length alone fits.
    const pkt = ipv6({ ext: [{ type: 'hbh' }, { type: 'frag', fragOffset: 65520, more: false, ident: 0x26d }], nextHeader: 17, payload: new Uint8Array(8) });
    expect(isWireError(h.feed(pkt))).toBe(false);
    expect(h.paramProblems).toEqual([{ code: 0, pointer: 50 }]);
    expect(h.layerDrops()).toEqual({ too_big: 1 });
    closeAndCheckLeaks(h.t);
  });

  it('H27 atomic fragment with the ident of a pending reassembly: delivered alone, the reassembly unaffected (RFC 6946)', () => {
    const h = v6Harness();
    const part = udpPart(2400);
    h.feed(frag6(27, part, 0, 800, true));
    h.feed(frag6(27, part, 800, 1600, true));
    const atomicPart = udpPart(100);
    h.feed(frag6(27, atomicPart, 0, atomicPart.length, false));
    expect(h.delivered.length).toBe(1);
    const atomic = h.delivered[0]!;
    expect(atomic.packet.length).toBe(40 + atomicPart.length);
    expect(atomic.packet[6]).toBe(17);
    expect(atomic.packet.subarray(40)).toEqual(atomicPart);
    expect(h.t.stack.stats.get(IPV6_REASSEMBLY_LAYER, 'atomic_fragments')).toBe(1);
    expect(h.mod.engine.datagrams).toBe(1);
    h.feed(frag6(27, part, 1600, part.length, false));
    expect(h.delivered.length).toBe(2);
    expect(h.delivered[1]!.packet.subarray(40)).toEqual(part);
    expect(h.layerDrops()).toEqual({});
    closeAndCheckLeaks(h.t);
  });
});

// ------------------------------------------------------------------------------------------ E3 / E4

describe('E3 fragment flood that never completes', () => {
  it('IPv4: 50,000 distinct first fragments of 1480 bytes stay under the high watermark, evict oldest, and a 3-fragment datagram still reassembles', () => {
    const h = hostUnderTest();
    const o = h.reasm.options;
    const FLOOD = 50_000;
    // One template frame, ident and header checksum patched per copy (the pair copies on transmit).
    const template = eth(ipv4({ protocol: 17, ident: 0, fragOffset: 0, mf: true, payload: new Uint8Array(1480).fill(0x5a) }));
    const frameFor = (ident: number): Uint8Array => {
      writeU16(template, 14 + 4, ident);
      writeU16(template, 14 + 10, 0);
      writeU16(template, 14 + 10, finishChecksum(tsChecksum.sum(template, 14, 20, 0)));
      return template;
    };
    const legit = pieces(0xfff0, echoMessage(2400, 9), [
      { start: 0, end: 800, mf: true },
      { start: 800, end: 1600, mf: true },
      { start: 1600, end: 2408, mf: false },
    ]);
    let maxBytes = 0;
    const start = performance.now();
    h.inject(
      (function* () {
        for (let i = 0; i < FLOOD; i++) {
          if (i === 20_000) yield legit[0]!;
          if (i === 20_300) yield legit[1]!;
          if (i === 20_600) yield legit[2]!;
          yield frameFor(i);
          if (i % 1000 === 0) maxBytes = Math.max(maxBytes, h.reasm.engine.bytesInUse);
        }
      })(),
    );
    const ms = performance.now() - start;
    const engine = h.reasm.engine;
    const per = REASSEMBLY_DATAGRAM_OVERHEAD + REASSEMBLY_FRAGMENT_OVERHEAD + 20 + 1480;
    expect(engine.peakBytes).toBeLessThanOrEqual(o.highWatermark);
    expect(maxBytes).toBeLessThanOrEqual(o.highWatermark);
    expect(engine.datagrams).toBeLessThanOrEqual(Math.floor(o.highWatermark / per));
    expect(engine.datagrams).toBeGreaterThanOrEqual(Math.floor(o.lowWatermark / per));
    const evicted = h.b.stack.stats.drops(IPV4_REASSEMBLY_LAYER, 'evicted_memory');
    expect(evicted).toBeGreaterThan(FLOOD - Math.ceil(o.highWatermark / per));
    // Oldest went first; the newest are still pending.
    expect(engine.inspect(Ipv4ReassemblyModule.key(IP4_A, IP4_B, 0))).toBeUndefined();
    expect(engine.inspect(Ipv4ReassemblyModule.key(IP4_A, IP4_B, FLOOD - 1))?.received).toBe(1480);
    // The legitimate datagram completed and was answered.
    expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'reassembled')).toBe(1);
    expect(h.b.stack.stats.get('icmpv4', 'echo_replies_sent')).toBe(1);
    expect(h.takeOutput().filter((p) => p.protocol === 1).length).toBe(2);
    // Everything left expires at the timeout; Time Exceeded for them is rate limited by ICMP.
    runFor(h.clock, [h.b.stack], o.timeout / 1000 + 1000);
    expect(engine.datagrams).toBe(0);
    expect(engine.bytesInUse).toBe(0);
    const errorsSent = h.b.stack.stats.get('icmpv4', 'errors_sent');
    expect(errorsSent).toBeGreaterThan(0);
    expect(errorsSent).toBeLessThanOrEqual(h.b.stack.module<Icmpv4Module>('icmpv4')!.options.errorBurst);
    if (figures) console.log(`E3 IPv4: ${FLOOD} frags in ${ms.toFixed(0)} ms, peak ${engine.peakBytes} B (high ${o.highWatermark}), evicted ${evicted}`);
    closeAndCheckLeaks(h.b);
  });

  it('IPv6: 50,000 distinct first fragments of 1232 bytes stay under the high watermark and a 3-fragment datagram still reassembles', () => {
    const h = v6Harness();
    const o = h.mod.options;
    const FLOOD = 50_000;
    const template = ipv6({ ext: [{ type: 'frag', fragOffset: 0, more: true, ident: 0 }], nextHeader: 17, payload: udpPart(1224) });
    const legitPart = udpPart(2400);
    const legit = [frag6(0xabcdef, legitPart, 0, 800, true), frag6(0xabcdef, legitPart, 800, 1600, true), frag6(0xabcdef, legitPart, 1600, legitPart.length, false)];
    const start = performance.now();
    for (let i = 0; i < FLOOD; i++) {
      if (i === 20_000) h.feed(legit[0]!);
      if (i === 20_300) h.feed(legit[1]!);
      if (i === 20_600) h.feed(legit[2]!);
      template[44] = i >>> 24;
      template[45] = (i >>> 16) & 0xff;
      template[46] = (i >>> 8) & 0xff;
      template[47] = i & 0xff;
      h.feed(template);
    }
    const ms = performance.now() - start;
    const engine = h.mod.engine;
    expect(engine.peakBytes).toBeLessThanOrEqual(o.highWatermark);
    expect(h.t.stack.stats.drops(IPV6_REASSEMBLY_LAYER, 'evicted_memory')).toBeGreaterThan(40_000);
    expect(h.delivered.length).toBe(1);
    expect(h.delivered[0]!.packet.subarray(40)).toEqual(legitPart);
    expireV6(h);
    // One Time Exceeded request per expired datagram that had fragment 0 (the ICMPv6 sender rate-limits).
    expect(h.timeExceeded.length).toBe(h.t.stack.stats.drops(IPV6_REASSEMBLY_LAYER, 'timeout'));
    if (figures) console.log(`E3 IPv6: ${FLOOD} frags in ${ms.toFixed(0)} ms, peak ${engine.peakBytes} B (high ${o.highWatermark})`);
    closeAndCheckLeaks(h.t);
  });
});

describe('E4 tiny-fragment CPU attack (FragmentSmack)', () => {
  const N = 8000;
  const variants: Array<[string, (k: number) => Piece, Record<string, number>]> = [
    ['in order', (k) => ({ start: 8 * k, end: 8 * k + 8, mf: k < N - 1, protocol: 17 }), { too_many_fragments: 1, discarded_datagram: N - 65 }],
    ['reverse', (k) => ({ start: 8 * (N - 1 - k), end: 8 * (N - 1 - k) + 8, mf: k > 0, protocol: 17 }), { too_many_fragments: 1, discarded_datagram: N - 65 }],
    // 16-byte fragments at 8-byte steps: each overlaps the previous one.
    ['overlapping', (k) => ({ start: 8 * k, end: 8 * k + 16, mf: k < N - 1, protocol: 17 }), { overlap: 1, discarded_datagram: N - 2 }],
  ];
  for (const [name, piece, drops] of variants) {
    it(`${name}: ${N} fragments for one ident are capped at the per-datagram limit, then discarded cheaply`, () => {
      const h = hostUnderTest();
      const cap = h.reasm.options.maxFragmentsPerDatagram;
      expect(cap).toBe(64);
      const msg = new Uint8Array(8 * N + 8).fill(0x33);
      const frames = pieces(0xe4, msg, Array.from({ length: N }, (_, k) => piece(k)));
      const start = performance.now();
      h.inject(frames);
      const ms = performance.now() - start;
      expect(h.layerDrops()).toEqual(drops);
      expect(h.b.stack.stats.get(IPV4_REASSEMBLY_LAYER, 'fragments')).toBe(N);
      // Only a tombstone remains; no ICMP.
      expect(h.reasm.engine.datagrams).toBe(1);
      expect(h.reasm.engine.bytesInUse).toBe(REASSEMBLY_DATAGRAM_OVERHEAD);
      expect(h.reasm.engine.peakBytes).toBeLessThanOrEqual(REASSEMBLY_DATAGRAM_OVERHEAD + cap * (8 + REASSEMBLY_FRAGMENT_OVERHEAD) + 20 + 8);
      expect(h.takeOutput()).toEqual([]);
      // Whole stack path (Ethernet, IPv4 checks, reassembly) for 8,000 frames.
      expect(ms).toBeLessThan(2000);
      if (figures) console.log(`E4 ${name}: ${N} frags in ${ms.toFixed(1)} ms (${((ms * 1000) / N).toFixed(2)} µs/frag through the stack)`);
      livenessEcho(h, 0x7004);
      closeAndCheckLeaks(h.b);
    });
  }
});
