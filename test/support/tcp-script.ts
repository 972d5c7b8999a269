// Scripted TCP exchanges (STYLE decision 6): stack B runs the TcpModule under test; peer A is a real
// stack (ARP + IPv4) whose TCP is a raw endpoint: the script injects segments built with src/wire at
// the fake clock's time and records every segment B sends, so a test asserts exactly what came out
// and that nothing else did. Canned states are reached by running the real handshake.
import { expect } from 'vitest';
import { ArpModule, Icmpv4Module, Ipv4Module } from '../../src/core/index.js';
import type { StackModule } from '../../src/core/module.js';
import type { StackContext } from '../../src/core/stack.js';
import { TcpModule, type TcpOptions, type TcpSocket } from '../../src/core/tcp/module.js';
import { finishChecksum, pseudoHeaderSumV4 } from '../../src/checksum/internet.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { parseIpv4 } from '../../src/wire/address.js';
import { isWireError } from '../../src/wire/error.js';
import { IpProtocol } from '../../src/wire/ip-protocol.js';
import { TcpFlags, TcpPacket, TcpRepr } from '../../src/wire/tcp.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack, type TestStack } from './stack-harness.js';

export const PEER = parseIpv4('198.51.100.1')!;
export const HOST = parseIpv4('198.51.100.2')!;
export const { SYN, FIN, RST, PSH, ACK, URG } = TcpFlags;

/** A captured or injected segment. */
export interface Seg {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss?: number | undefined;
  payload: Uint8Array;
  urg?: number;
  /** Raw option bytes to send instead of emitted options. */
  rawOptions?: number[];
  /** Overrides the data offset field (in 32-bit words) to build malformed headers (H31). */
  dataOffsetWords?: number;
}

/** Records the TCP segments that reach the peer stack. */
class RawTcpPeer implements StackModule {
  readonly name = 'raw-tcp';
  readonly got: Seg[] = [];
  ip!: Ipv4Module;
  install(ctx: StackContext): void {
    this.ip = ctx.module<Ipv4Module>('ipv4')!;
    this.ip.registerProtocol(IpProtocol.TCP, (buf, off, len, info) => {
      const p = TcpPacket.check(buf, off, len);
      if (isWireError(p)) throw new Error(`host sent a malformed segment: ${p.reason}`);
      if (!p.verifyChecksum(ctx.checksum, pseudoHeaderSumV4(info.src, info.dst, IpProtocol.TCP, len))) throw new Error('host sent a bad checksum');
      const o = p.options();
      if (isWireError(o)) throw new Error('host sent bad options');
      this.got.push({ sport: p.srcPort, dport: p.dstPort, seq: p.seqNumber, ack: p.ackNumber, flags: p.flags, window: p.window, mss: o.mss, payload: p.payload().slice() });
    });
  }
}

export function flagNames(f: number): string {
  const names: string[] = [];
  for (const [n, v] of [['SYN', SYN], ['FIN', FIN], ['RST', RST], ['PSH', PSH], ['ACK', ACK], ['URG', URG]] as const) if (f & v) names.push(n);
  return names.join('|') || 'none';
}

export class TcpScript {
  readonly clock = new FakeClock();
  readonly peer: TestStack;
  readonly host: TestStack;
  readonly tcp: TcpModule;
  readonly raw: RawTcpPeer;
  readonly stacks;

  constructor(opts: Partial<TcpOptions> = {}) {
    const pair = createMemoryPair({ notify: 'sync' });
    this.raw = new RawTcpPeer();
    this.peer = testStack('peer', [new ArpModule(), new Ipv4Module(), this.raw]);
    this.host = testStack('host', [new ArpModule(), new Ipv4Module(), new Icmpv4Module(), new TcpModule(opts)]);
    this.peer.stack.addInterface(pair.a, { addresses: ['198.51.100.1/24'], mac: 0x02000000000a }, this.clock.now);
    this.host.stack.addInterface(pair.b, { addresses: ['198.51.100.2/24'], mac: 0x02000000000b }, this.clock.now);
    this.tcp = this.host.stack.module<TcpModule>('tcp')!;
    this.stacks = [this.peer.stack, this.host.stack];
  }

  get now() {
    return this.clock.now;
  }

  /** Injects a segment from the peer and runs both stacks to quiescence. */
  send(s: Partial<Seg> & { flags: number }): void {
    const payload = s.payload ?? new Uint8Array(0);
    let optBytes: number[] = s.rawOptions ?? [];
    const repr: TcpRepr = {
      srcPort: s.sport ?? 40000, dstPort: s.dport ?? 80, seq: s.seq ?? 0, ack: s.ack ?? 0, flags: s.flags, window: s.window ?? 65535,
      urgentPointer: s.urg ?? 0, options: s.rawOptions ? {} : s.mss !== undefined ? { mss: s.mss } : {}, payloadLen: payload.length,
    };
    while (optBytes.length % 4) optBytes = [...optBytes, 0];
    const hlen = TcpRepr.headerLen(repr) + optBytes.length;
    const len = hlen + payload.length;
    const err = this.raw.ip.send({ dst: HOST, protocol: IpProtocol.TCP }, len, (buf, off, src, dst) => {
      buf.set(payload, off + hlen);
      buf.set(optBytes, off + 20);
      TcpRepr.emit(repr, buf, off);
      buf[off + 12] = ((s.dataOffsetWords ?? hlen >>> 2) << 4) | ((s.flags >>> 8) & 1);
      TcpPacket.unchecked(buf, off, len, hlen).fillChecksum(this.peer.stack.checksum, pseudoHeaderSumV4(src, dst, IpProtocol.TCP, len));
    }, this.clock.now);
    if (err) throw new Error(`inject failed: ${err}`);
    settle(this.clock, this.stacks);
  }

  /** The peer answers with ICMP destination unreachable (type 3, `code`) quoting a host segment. */
  sendIcmpUnreachable(code: number, hostPort: number, peerPort: number, seq: number): void {
    const q = new Uint8Array(8 + 28);
    q[0] = 3;
    q[1] = code;
    const ip = q.subarray(8);
    ip[0] = 0x45;
    ip[3] = 40;
    ip[8] = 64;
    ip[9] = IpProtocol.TCP;
    const dv = new DataView(q.buffer);
    dv.setUint32(8 + 12, HOST);
    dv.setUint32(8 + 16, PEER);
    dv.setUint16(28, hostPort);
    dv.setUint16(30, peerPort);
    dv.setUint32(32, seq >>> 0);
    dv.setUint16(2, finishChecksum(this.peer.stack.checksum.sum(q, 0, q.length, 0)));
    const err = this.raw.ip.send({ dst: HOST, protocol: 1 }, q.length, (buf, off) => buf.set(q, off), this.clock.now);
    if (err) throw new Error(err);
    settle(this.clock, this.stacks);
  }

  /** Segments the host sent since the last call. */
  take(): Seg[] {
    settle(this.clock, this.stacks);
    return this.raw.got.splice(0);
  }

  /** Exactly one segment came out; it matches `want` (fields given only). */
  expectOne(want: Partial<Omit<Seg, 'payload'>> & { payloadLen?: number }): Seg {
    const got = this.take();
    expect(got.map((g) => `${flagNames(g.flags)} seq=${g.seq} ack=${g.ack} len=${g.payload.length}`)).toHaveLength(1);
    this.match(got[0]!, want);
    return got[0]!;
  }

  /** Exactly these segments, in order. */
  expectSegs(...wants: Array<Partial<Omit<Seg, 'payload'>> & { payloadLen?: number }>): Seg[] {
    const got = this.take();
    expect(got.map((g) => `${flagNames(g.flags)} seq=${g.seq} ack=${g.ack} len=${g.payload.length}`)).toHaveLength(wants.length);
    wants.forEach((w, i) => this.match(got[i]!, w));
    return got;
  }

  expectNothing(): void {
    expect(this.take().map((g) => `${flagNames(g.flags)} seq=${g.seq} ack=${g.ack} len=${g.payload.length}`)).toEqual([]);
  }

  private match(g: Seg, w: Partial<Omit<Seg, 'payload'>> & { payloadLen?: number }): void {
    if (w.flags !== undefined) expect(flagNames(g.flags)).toBe(flagNames(w.flags));
    if (w.seq !== undefined) expect(g.seq).toBe(w.seq >>> 0);
    if (w.ack !== undefined) expect(g.ack).toBe(w.ack >>> 0);
    if (w.window !== undefined) expect(g.window).toBe(w.window);
    if (w.sport !== undefined) expect(g.sport).toBe(w.sport);
    if (w.dport !== undefined) expect(g.dport).toBe(w.dport);
    if (w.mss !== undefined) expect(g.mss).toBe(w.mss);
    if (w.payloadLen !== undefined) expect(g.payload.length).toBe(w.payloadLen);
  }

  advance(ms: number): void {
    runFor(this.clock, this.stacks, ms);
  }

  /** A passive open to port 80 completed by the real handshake: returns the accepted socket and sequence state. */
  established(opts: { peerIsn?: number; mss?: number; window?: number } = {}) {
    const l = this.tcp.listen(4, null, 80, 8);
    if (typeof l === 'string') throw new Error(l);
    const pIsn = opts.peerIsn ?? 1000;
    this.send({ flags: SYN, seq: pIsn, mss: opts.mss ?? 1460, window: opts.window ?? 65535 });
    const synAck = this.expectOne({ flags: SYN | ACK, ack: pIsn + 1 });
    this.send({ flags: ACK, seq: pIsn + 1, ack: synAck.seq + 1, window: opts.window ?? 65535 });
    this.expectNothing();
    const s = l.accept();
    if (!s) throw new Error('no connection accepted');
    return { l, s, hostIsn: synAck.seq, peerNxt: (pIsn + 1) >>> 0, hostNxt: (synAck.seq + 1) >>> 0 };
  }

  /** An active open from the host to the peer's port 9000: returns the socket and sequence state. */
  connected(opts: { peerIsn?: number; mss?: number } = {}) {
    const s = this.tcp.connect(4, PEER, 9000, this.clock.now) as TcpSocket;
    if (typeof s === 'string') throw new Error(s);
    const syn = this.expectOne({ flags: SYN });
    const pIsn = opts.peerIsn ?? 5000;
    this.send({ sport: 9000, dport: syn.sport, flags: SYN | ACK, seq: pIsn, ack: syn.seq + 1, mss: opts.mss ?? 1460 });
    this.expectOne({ flags: ACK, seq: syn.seq + 1, ack: pIsn + 1 });
    return { s, port: syn.sport, hostIsn: syn.seq, peerNxt: (pIsn + 1) >>> 0, hostNxt: (syn.seq + 1) >>> 0 };
  }

  done(): void {
    closeAndCheckLeaks(this.peer, this.host);
  }
}

export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : '');
