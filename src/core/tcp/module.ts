// The TCP module ('tcp') over IPv4 and IPv6: validation of arriving segments (length H31, checksum,
// option walk H32, SYN+FIN / SYN+RST H42), demultiplexing to connections (exact 4-tuple) and
// listeners (address or any), RSTs for segments to no socket (RFC 9293 §3.10.7.1, token bucket,
// E11), ISNs from a keyed hash (RFC 6528), ephemeral ports (RFC 6056), the effective MSS (clamped
// to a floor, H35), per-socket challenge ACK limits (RFC 5961 §7, H40), and the timer poll. State
// machine: input.ts; emission: output.ts; timers: timers.ts; listener: listener.ts.
// ICMP errors are checked against the connection (RFC 5927). Not yet: PMTU discovery, window scaling, SACK, timestamps, congestion control,
// Nagle, delayed ACK, keepalive, SYN cookies.

import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../checksum/internet.js';
import { chachaBlock } from '../../random/chacha.js';
import type { Instant } from '../../time/instant.js';
import { type Ipv6Address, IPV6_UNSPECIFIED, ipv6Equal, isIpv4Multicast, isIpv6Multicast, isIpv6Unspecified } from '../../wire/address.js';
import { isWireError } from '../../wire/error.js';
import { IpProtocol } from '../../wire/ip-protocol.js';
import { TcpFlags, TcpPacket, TcpRepr } from '../../wire/tcp.js';
import type { NetInterface } from '../interface.js';
import type { Icmpv4Module } from '../icmpv4.js';
import type { Icmpv6Module } from '../icmpv6.js';
import type { Ipv4Module, Ipv4RxInfo } from '../ipv4.js';
import type { Ipv6Module, Ipv6RxInfo } from '../ipv6.js';
import type { StackModule } from '../module.js';
import { EphemeralPorts, type EphemeralPortOptions, addressWords } from '../ports.js';
import { TokenBucket } from '../rate-limit.js';
import type { StackContext } from '../stack.js';
import { segmentArrives } from './input.js';
import { TcpListener } from './listener.js';
import { output, retransmit } from './output.js';
import { seqAdd, seqInRange } from './seq.js';
import { type IpAddress, type TcpError, type TcpFamily, TcpSocket, TcpState } from './tcb.js';
import { type RtoOptions, armRto, socketPoll, socketPollAt, stopRto } from './timers.js';

export { TcpListener } from './listener.js';
export { TcpSocket, TcpState, type TcpError, type TcpFamily, type TcpSocketListener } from './tcb.js';

const { SYN, FIN, RST, ACK } = TcpFlags;

export interface TcpOptions extends RtoOptions {
  readonly ephemeral: Partial<EphemeralPortOptions>;
  /** Send buffer per socket, bytes. */
  readonly sendBufferSize: number;
  /** Receive buffer per socket, bytes; the advertised window (max 65535 until window scaling). */
  readonly recvBufferSize: number;
  /** TIME-WAIT duration (2*MSL). */
  readonly timeWaitMs: number;
  /** Retransmissions of data/FIN before ETIMEDOUT (Linux tcp_retries2). */
  readonly maxRetries: number;
  /** Retransmissions of SYN / SYN-ACK before giving up (Linux tcp_syn_retries). */
  readonly synRetries: number;
  /** Out-of-order segments (holes) kept per connection; bytes are bounded by the window. */
  readonly maxOooSegments: number;
  /** Floor of the effective send MSS whatever the peer says (H35; Linux tcp_min_snd_mss is 48). */
  readonly mssFloor: number;
  /** How long an orphaned connection may stay in FIN-WAIT-2 (Linux tcp_fin_timeout). */
  readonly finWait2TimeoutMs: number;
  /** Challenge ACKs per second per socket (RFC 5961 §7). */
  readonly challengeAcksPerSecond: number;
  /** RSTs to segments for no socket: rate and burst (stack-wide token bucket). */
  readonly rstRatePerSecond: number;
  readonly rstBurst: number;
}

export const DEFAULT_TCP_OPTIONS: TcpOptions = {
  ephemeral: {},
  sendBufferSize: 64 * 1024,
  recvBufferSize: 65535,
  timeWaitMs: 60_000,
  rtoInitialMs: 1000,
  rtoMinMs: 200,
  rtoMaxMs: 120_000,
  maxRetries: 15,
  synRetries: 6,
  maxOooSegments: 32,
  mssFloor: 64,
  finWait2TimeoutMs: 60_000,
  challengeAcksPerSecond: 1,
  rstRatePerSecond: 1000,
  rstBurst: 100,
};

/** Per-family operations, the seam through which IPv4 and IPv6 share the TCP code. */
interface TcpNetwork {
  readonly family: TcpFamily;
  readonly any: IpAddress;
  /** IP header bytes counted against the MTU for the MSS. */
  readonly ipHeader: number;
  /** The RFC 9293 default send MSS when the peer sends none (536 / 1220). */
  readonly defaultMss: number;
  key(a: IpAddress): string;
  equal(a: IpAddress, b: IpAddress): boolean;
  isAny(a: IpAddress): boolean;
  isMulticast(a: IpAddress): boolean;
  route(dst: IpAddress, src: IpAddress | undefined): { src: IpAddress; iface: NetInterface } | TcpError;
  send(dst: IpAddress, src: IpAddress, len: number, fill: (buf: Uint8Array, off: number) => void, now: Instant): string | undefined;
  pseudoSum(src: IpAddress, dst: IpAddress, len: number): number;
}

function v6key(a: Ipv6Address): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += a[i]!.toString(16).padStart(2, '0');
  return s;
}

export class TcpModule implements StackModule {
  readonly name = 'tcp';
  readonly options: TcpOptions;
  /** @internal */ ctx!: StackContext;
  private ports!: EphemeralPorts;
  private readonly nets: { 4?: TcpNetwork; 6?: TcpNetwork } = {};
  private readonly conns = new Map<string, TcpSocket>();
  private readonly listeners = new Map<string, TcpListener[]>();
  private readonly sockets = new Set<TcpSocket>();
  private rstBucket!: TokenBucket;
  private readonly isnState = new Uint32Array(16);
  private readonly isnOut = new Uint32Array(16);

  constructor(options: Partial<TcpOptions> = {}) {
    this.options = { ...DEFAULT_TCP_OPTIONS, ...options };
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    this.ports = new EphemeralPorts(ctx.random, this.options.ephemeral);
    this.rstBucket = new TokenBucket(this.options.rstRatePerSecond, this.options.rstBurst);
    // RFC 6528: F() keyed by a secret drawn once per stack.
    this.isnState.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
    for (let i = 4; i < 12; i++) this.isnState[i] = ctx.random.u32();
    const ip4 = ctx.module<Ipv4Module>('ipv4');
    const ip6 = ctx.module<Ipv6Module>('ipv6');
    if (!ip4 && !ip6) throw new Error("the 'tcp' module needs the 'ipv4' or 'ipv6' module");
    if (ip4) {
      this.nets[4] = {
        family: 4, any: 0, ipHeader: 20, defaultMss: 536,
        key: (a) => String(a),
        equal: (a, b) => a === b,
        isAny: (a) => a === 0,
        isMulticast: (a) => isIpv4Multicast(a as number) || a === 0xffffffff,
        route: (dst, src) => {
          const r = ip4.route(dst as number, src as number | undefined);
          return typeof r === 'string' ? (r as TcpError) : r.broadcast ? 'ENETUNREACH' : { src: r.src, iface: r.iface };
        },
        send: (dst, src, len, fill, now) => ip4.send({ dst: dst as number, src: src as number, protocol: IpProtocol.TCP }, len, (b, o) => fill(b, o), now),
        pseudoSum: (src, dst, len) => pseudoHeaderSumV4(src as number, dst as number, IpProtocol.TCP, len),
      };
      ip4.registerProtocol(IpProtocol.TCP, (buf, off, len, info, now) => this.input4(buf, off, len, info, now));
      ctx.module<Icmpv4Module>('icmpv4')?.onError(IpProtocol.TCP, (r, now) => {
        if (r.quoted.fragmentOffset !== 0) return ctx.stats.drop('tcp', 'icmp_not_first_fragment');
        // RFC 1122 §4.2.3.9: protocol/port unreachable are hard; the rest soft.
        const hard = r.type === 3 && (r.code === 2 || r.code === 3);
        const err: TcpError = hard ? 'ECONNREFUSED' : r.type === 3 && r.code === 0 ? 'ENETUNREACH' : 'EHOSTUNREACH';
        if (r.type === 3 && r.code === 4) return ctx.stats.count('tcp', 'icmp_frag_needed_ignored');
        this.icmpError(4, r.quoted.src, r.quoted.srcPort, r.quoted.dst, r.quoted.dstPort, r.quoted.tcpSeq, err, hard, now);
      });
    }
    if (ip6) {
      this.nets[6] = {
        family: 6, any: IPV6_UNSPECIFIED, ipHeader: 40, defaultMss: 1220,
        key: (a) => v6key(a as Ipv6Address),
        equal: (a, b) => ipv6Equal(a as Ipv6Address, b as Ipv6Address),
        isAny: (a) => isIpv6Unspecified(a as Ipv6Address),
        isMulticast: (a) => isIpv6Multicast(a as Ipv6Address),
        route: (dst, src) => {
          const r = ip6.route(dst as Ipv6Address, src as Ipv6Address | undefined);
          return typeof r === 'string' ? (r as TcpError) : { src: r.src, iface: r.iface };
        },
        send: (dst, src, len, fill, now) => ip6.send({ dst: dst as Ipv6Address, src: src as Ipv6Address, protocol: IpProtocol.TCP }, len, (b, o) => fill(b, o), now),
        pseudoSum: (src, dst, len) => pseudoHeaderSumV6(src as Ipv6Address, dst as Ipv6Address, IpProtocol.TCP, len),
      };
      ip6.registerProtocol(IpProtocol.TCP, (buf, off, len, info, now) => this.input6(buf, off, len, info, now));
      ctx.module<Icmpv6Module>('icmpv6')?.onError(IpProtocol.TCP, (r, now) => {
        if (r.type !== 1) return ctx.stats.count('tcp', 'icmp_error_ignored');
        const hard = r.code === 4 || r.code === 1;
        this.icmpError(6, r.quoted.src, r.quoted.srcPort, r.quoted.dst, r.quoted.dstPort, r.quoted.tcpSeq, hard && r.code === 4 ? 'ECONNREFUSED' : 'EHOSTUNREACH', hard, now);
      });
    }
  }

  supports(family: TcpFamily): boolean {
    return this.nets[family] !== undefined;
  }

  /** Connections (any state but LISTEN) the module holds, including orphans in FIN-WAIT/TIME-WAIT. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  // ---------------------------------------------------------------- application API

  /** Opens a listener on (address|any, port). */
  listen(family: TcpFamily, address: IpAddress | null, port: number, backlog = 128): TcpListener | TcpError {
    const net = this.nets[family];
    if (!net) return 'EAFNOSUPPORT';
    if (!Number.isInteger(port) || port < 1 || port > 65535) return 'EINVAL';
    const addr = address ?? net.any;
    const k = `${family}|${port}`;
    const list = this.listeners.get(k) ?? [];
    for (const l of list) if (net.isAny(l.localAddress) || net.isAny(addr) || net.equal(l.localAddress, addr)) return 'EADDRINUSE';
    const l = new TcpListener(this, family, typeof addr === 'number' ? addr : addr.slice(), port, Math.max(1, backlog));
    list.push(l);
    this.listeners.set(k, list);
    return l;
  }

  /** Active open (RFC 9293 §3.10.1): sends SYN now; `connected()` fires on the SYN-ACK. */
  connect(family: TcpFamily, address: IpAddress, port: number, now: Instant, opts: { localAddress?: IpAddress; localPort?: number } = {}): TcpSocket | TcpError {
    const net = this.nets[family];
    if (!net) return 'EAFNOSUPPORT';
    if (!Number.isInteger(port) || port < 1 || port > 65535) return 'EINVAL';
    if (net.isAny(address) || net.isMulticast(address)) return 'EINVAL';
    const r = net.route(address, opts.localAddress);
    if (typeof r === 'string') return r;
    const s = this.newSocket(family);
    s.localAddress = r.src;
    s.remoteAddress = typeof address === 'number' ? address : address.slice();
    s.remotePort = port;
    if (opts.localPort) {
      s.localPort = opts.localPort;
      if (this.conns.has(this.keyOf(s))) return 'EADDRINUSE';
    } else {
      const words: number[] = [family];
      addressWords(r.src, words);
      addressWords(address, words);
      words.push(port);
      const got = this.ports.allocate((c) => {
        s.localPort = c;
        return !this.conns.has(this.keyOf(s));
      }, words);
      if (got === 'EADDRINUSE') return 'EADDRINUSE';
      s.localPort = got;
    }
    s.mss = this.ourMss(net, r.iface);
    s.iss = this.isn(s, now);
    s.sndUna = s.iss;
    s.sndNxt = seqAdd(s.iss, 1);
    s.bufSeq = s.sndNxt;
    s.state = TcpState.SYN_SENT;
    this.register(s);
    this.emit(s, s.iss, SYN, 0, 0, now);
    s.rttSeq = s.sndNxt;
    s.rttStart = now;
    armRto(s, now);
    return s;
  }

  // ---------------------------------------------------------------- internals used by the split files

  /** @internal */
  newSocket(family: TcpFamily): TcpSocket {
    return new TcpSocket(this, family, this.nets[family]!.any, this.options.sendBufferSize, this.options.recvBufferSize);
  }

  private keyOf(s: TcpSocket): string {
    const net = this.nets[s.family]!;
    return `${s.family}|${net.key(s.localAddress)}|${s.localPort}|${net.key(s.remoteAddress)}|${s.remotePort}`;
  }

  /** @internal */
  register(s: TcpSocket): void {
    s.key = this.keyOf(s);
    this.conns.set(s.key, s);
    this.sockets.add(s);
  }

  /** @internal */
  unlisten(l: TcpListener): void {
    const k = `${l.family}|${l.localPort}`;
    const list = this.listeners.get(k);
    if (!list) return;
    const i = list.indexOf(l);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(k);
  }

  /** @internal RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock. */
  isn(s: TcpSocket, now: Instant): number {
    const words: number[] = [];
    addressWords(s.localAddress, words);
    addressWords(s.remoteAddress, words);
    words.push((s.localPort << 16) | s.remotePort);
    const st = this.isnState;
    const out = this.isnOut;
    out.fill(0);
    for (let i = 0; i < words.length; i += 4) {
      for (let j = 0; j < 4; j++) st[12 + j] = (words[i + j] ?? 0) ^ out[j]!;
      chachaBlock(st, out);
    }
    return (out[0]! + Math.floor(now / 4)) >>> 0;
  }

  /** Our MSS for a route: interface MTU minus IP and TCP headers. */
  private ourMss(net: TcpNetwork, iface: NetInterface): number {
    return Math.max(this.options.mssFloor, iface.mtu - net.ipHeader - 20);
  }

  /** @internal H35: the peer's MSS option clamped to [floor, our MSS]; absent → the RFC default. */
  applyPeerMss(s: TcpSocket, peer: number | undefined): void {
    const net = this.nets[s.family]!;
    const r = net.route(s.remoteAddress, s.localAddress);
    const ours = typeof r === 'string' ? net.defaultMss : this.ourMss(net, r.iface);
    const want = peer ?? net.defaultMss;
    s.mss = Math.max(this.options.mssFloor, Math.min(ours, want));
  }

  /** @internal The receive window to advertise: free receive-buffer space (credit-based). */
  windowToAdvertise(s: TcpSocket): number {
    return Math.min(65535, s.recvBuf.free);
  }

  /** @internal */
  output(s: TcpSocket, now: Instant): void {
    output(this, s, now);
  }

  /** @internal */
  retransmit(s: TcpSocket, now: Instant): void {
    retransmit(this, s, now);
  }

  /** @internal Emits one segment of `s`; the payload is sendBuf[bufOff, bufOff+n). */
  emit(s: TcpSocket, seq: number, flags: number, bufOff: number, n: number, now: Instant): void {
    const net = this.nets[s.family]!;
    const ack = flags & ACK ? s.rcvNxt : 0;
    const repr: TcpRepr = {
      srcPort: s.localPort, dstPort: s.remotePort, seq, ack, flags,
      window: flags & RST ? 0 : this.windowToAdvertise(s), urgentPointer: 0,
      options: flags & SYN ? { mss: s.mss } : {}, payloadLen: n,
    };
    const hlen = TcpRepr.headerLen(repr);
    const len = hlen + n;
    const cs = this.ctx.checksum;
    const err = net.send(s.remoteAddress, s.localAddress, len, (buf, off) => {
      if (n > 0) s.sendBuf.peek(bufOff, buf, off + hlen, n);
      TcpRepr.emit(repr, buf, off, cs, net.pseudoSum(s.localAddress, s.remoteAddress, len));
    }, now);
    if (err) this.ctx.stats.drop('tcp', `tx_${err}`);
    else this.ctx.stats.count('tcp', 'tx_segments');
  }

  /** @internal RST for a connection (abort, timeout). */
  sendRst(s: TcpSocket, seq: number, now: Instant): void {
    this.emit(s, seq, RST | ACK, 0, 0, now);
    this.ctx.stats.count('tcp', 'rst_sent');
  }

  /** @internal <SEQ=seq><CTL=RST> on a connection's 4-tuple (bad ACK in SYN-SENT / SYN-RECEIVED). */
  sendRstTo(s: TcpSocket, seq: number, now: Instant): void {
    this.emit(s, seq, RST, 0, 0, now);
    this.ctx.stats.count('tcp', 'rst_sent');
  }

  /** @internal RFC 5961 §3.2/§4.2 challenge ACK, at most challengeAcksPerSecond per socket (§7, H40). */
  challengeAck(s: TcpSocket, now: Instant, reason: string): void {
    const stats = this.ctx.stats;
    if (now - s.challengeWindow >= 1_000_000) {
      s.challengeWindow = now;
      s.challengeCount = 0;
    }
    if (s.challengeCount >= this.options.challengeAcksPerSecond) return stats.drop('tcp', `challenge_ack_limited_${reason}`);
    s.challengeCount++;
    stats.count('tcp', 'challenge_ack');
    this.emit(s, s.sndNxt, ACK, 0, 0, now);
  }

  /** @internal SYN-RECEIVED → ESTABLISHED. */
  established(s: TcpSocket): void {
    this.ctx.stats.count('tcp', 'passive_established');
    s.parent?.childEstablished(s);
  }

  /** @internal FIN-WAIT-2; an orphan (closed by the application) waits at most finWait2TimeoutMs (Linux tcp_fin_timeout). */
  enterFinWait2(s: TcpSocket, now: Instant): void {
    s.state = TcpState.FIN_WAIT_2;
    if (s.orphaned) s.timeWaitAt = (now + this.options.finWait2TimeoutMs * 1000) as Instant;
  }

  /** @internal */
  enterTimeWait(s: TcpSocket, now: Instant): void {
    s.state = TcpState.TIME_WAIT;
    stopRto(s);
    s.timeWaitAt = (now + this.options.timeWaitMs * 1000) as Instant;
  }

  /** @internal Sends RST where the state calls for one and releases the connection. */
  abort(s: TcpSocket, now: Instant): void {
    const st = s.state;
    if (st === TcpState.CLOSED) return;
    if (st !== TcpState.SYN_SENT && st !== TcpState.TIME_WAIT && st !== TcpState.LISTEN) this.sendRst(s, s.sndNxt, now);
    this.destroy(s, undefined);
  }

  /** @internal CLOSED: leaves every table; the error (if any) goes to the application. */
  destroy(s: TcpSocket, err: TcpError | undefined): void {
    if (s.state === TcpState.CLOSED) return;
    s.state = TcpState.CLOSED;
    stopRto(s);
    s.timeWaitAt = Infinity as Instant;
    if (this.conns.get(s.key) === s) this.conns.delete(s.key);
    this.sockets.delete(s);
    s.parent?.childGone(s);
    s.parent = null;
    s.ooo.length = 0;
    if (err) s.setError(err);
    s.listener?.closed?.();
  }

  // ---------------------------------------------------------------- input

  private input4(buf: Uint8Array, off: number, len: number, info: Ipv4RxInfo, now: Instant): void {
    if (info.broadcastOrMulticast) return this.ctx.stats.drop('tcp', 'broadcast');
    this.input(this.nets[4]!, buf, off, len, info.iface, info.src, info.dst, now);
  }

  private input6(buf: Uint8Array, off: number, len: number, info: Ipv6RxInfo, now: Instant): void {
    if (info.multicast) return this.ctx.stats.drop('tcp', 'multicast');
    this.input(this.nets[6]!, buf, off, len, info.iface, info.src, info.dst, now);
  }

  private input(net: TcpNetwork, buf: Uint8Array, off: number, len: number, iface: NetInterface, src: IpAddress, dst: IpAddress, now: Instant): void {
    const stats = this.ctx.stats;
    stats.count('tcp', 'rx');
    const p = TcpPacket.check(buf, off, len);
    if (isWireError(p)) return stats.drop('tcp', `malformed_${p.field}`);
    const offload = iface.device.capabilities.checksum.tcp;
    if (offload !== 'rx' && offload !== 'both' && !p.verifyChecksum(this.ctx.checksum, net.pseudoSum(src, dst, len))) return stats.drop('tcp', 'bad_checksum');
    const opts = p.options();
    if (isWireError(opts)) return stats.drop('tcp', 'malformed_options');
    const f = p.flags;
    if ((f & SYN) && (f & (FIN | RST))) return stats.drop('tcp', f & FIN ? 'syn_fin' : 'syn_rst');
    if (net.isAny(src) || net.isMulticast(src) || p.srcPort === 0 || p.dstPort === 0) return stats.drop('tcp', 'bad_endpoint');
    const mss = f & SYN ? opts.mss : undefined;
    const key = `${net.family}|${net.key(dst)}|${p.dstPort}|${net.key(src)}|${p.srcPort}`;
    const s = this.conns.get(key);
    if (s) return segmentArrives(this, s, p, mss, now);
    const list = this.listeners.get(`${net.family}|${p.dstPort}`);
    if (list) {
      const l = list.find((x) => net.equal(x.localAddress, dst)) ?? list.find((x) => net.isAny(x.localAddress));
      if (l) return l.input(p, dst, src, mss, now);
    }
    stats.drop('tcp', 'no_socket');
    this.rstReply(net.family, dst, src, p, now);
  }

  /** @internal RFC 9293 §3.10.7.1: RST for a segment that has no connection (never for a RST), rate limited. */
  rstReply(family: TcpFamily, local: IpAddress, remote: IpAddress, p: TcpPacket, now: Instant): void {
    const f = p.flags;
    if (f & RST) return;
    const stats = this.ctx.stats;
    if (!this.rstBucket.take(now)) return stats.drop('tcp', 'rst_rate_limited');
    const net = this.nets[family]!;
    const withAck = !(f & ACK);
    const repr: TcpRepr = {
      srcPort: p.dstPort, dstPort: p.srcPort,
      seq: withAck ? 0 : p.ackNumber,
      ack: withAck ? seqAdd(p.seqNumber, p.segmentLength) : 0,
      flags: withAck ? RST | ACK : RST, window: 0, urgentPointer: 0, options: {}, payloadLen: 0,
    };
    const len = TcpRepr.headerLen(repr);
    const cs = this.ctx.checksum;
    const err = net.send(remote, local, len, (buf, off) => TcpRepr.emit(repr, buf, off, cs, net.pseudoSum(local, remote, len)), now);
    if (err) stats.drop('tcp', `tx_${err}`);
    else stats.count('tcp', 'rst_sent');
  }

  // ---------------------------------------------------------------- ICMP errors

  /**
   * RFC 5927 §4.1: the quoted sequence number must lie in [SND.UNA, SND.NXT) or the error is
   * ignored (blind attacks). Hard errors abort a connection only in SYN-SENT (RFC 5927 §4.1,
   * like Linux); otherwise the error is kept as the soft error reported if the connection times out.
   */
  private icmpError(family: TcpFamily, local: IpAddress, lport: number, remote: IpAddress, rport: number, seq: number, err: TcpError, hard: boolean, _now: Instant): void {
    const stats = this.ctx.stats;
    if (lport < 0 || rport < 0 || seq < 0) return stats.drop('tcp', 'icmp_short_quote');
    const net = this.nets[family]!;
    const s = this.conns.get(`${family}|${net.key(local)}|${lport}|${net.key(remote)}|${rport}`);
    if (!s) return stats.drop('tcp', 'icmp_no_connection');
    if (!seqInRange(seq, s.sndUna, s.sndNxt)) return stats.drop('tcp', 'icmp_seq_out_of_window');
    if (hard && s.state === TcpState.SYN_SENT) {
      stats.count('tcp', 'icmp_hard_error_abort');
      return this.destroy(s, err);
    }
    stats.count('tcp', 'icmp_soft_error');
    s.softError = err;
  }

  // ---------------------------------------------------------------- timers

  pollAt(now: Instant): Instant {
    let t = Infinity as Instant;
    for (const s of this.sockets) {
      const d = socketPollAt(s);
      if (d < t) t = d;
    }
    return t < now ? now : t;
  }

  poll(now: Instant): void {
    for (const s of [...this.sockets]) socketPoll(this, s, now);
  }

  close(): void {
    for (const s of [...this.sockets]) this.destroy(s, undefined);
    for (const list of [...this.listeners.values()]) for (const l of [...list]) l.closed = true;
    this.listeners.clear();
  }
}
