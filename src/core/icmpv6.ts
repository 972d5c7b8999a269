// ICMPv6 (RFC 4443): checksum validation, echo replies, error messages about packets we received
// and the client side of ping. Errors are never sent about an ICMPv6 error or a Redirect, to a
// multicast destination (IP or link layer) except Packet Too Big and Parameter Problem code 2 for an
// option with action bits 10, or to a source that does not identify one node (::, multicast); and
// they are token-bucket rate limited (RFC 4443 §2.4(e), (f) MUST; E11). Received errors are checked
// to quote a packet we sent, Packet Too Big lowers the path MTU (RFC 8201, never below 1280), and the
// report goes to the listener of the quoted upper-layer protocol. NDP and MLD messages are
// dispatched to the modules that registered their types; short echoes are dropped (H29).

import { pseudoHeaderSumV6 } from '../checksum/internet.js';
import { Duration, Instant } from '../time/instant.js';
import { IPV6_MIN_MTU } from '../wire/ipv6.js';
import { type Ipv6Address, isIpv6Multicast, isIpv6Unspecified } from '../wire/address.js';
import { isWireError } from '../wire/error.js';
import { ICMPV6_HEADER_LEN, Icmpv6Packet, Icmpv6ParamProblemCode, Icmpv6Quoted, Icmpv6Repr, Icmpv6Type, fillIcmpv6Checksum, isIcmpv6Error } from '../wire/icmpv6.js';
import { ICMPV6_MAX_QUOTE, type Ipv6Module, ipv6Key, type Ipv6RxInfo, type Ipv6SendError, type Ipv6SendParams } from './ipv6.js';
import type { StackModule } from './module.js';
import { TokenBucket } from './rate-limit.js';
import type { StackContext } from './stack.js';

const NH_ICMPV6 = 58;

export interface Icmpv6Options {
  /** Error messages per second (all destinations together) and burst: RFC 4443 §2.4(f). */
  readonly errorRate: number;
  readonly errorBurst: number;
  /** Answer echo requests sent to a multicast address (RFC 4443 §4.2 SHOULD). */
  readonly echoMulticast: boolean;
  /** Path MTU cache entries (attacker-influenced: capped, oldest evicted). */
  readonly pmtuCacheSize: number;
  /** RFC 8201 §4: a lowered estimate is dropped after this long (at least 5 minutes; 10 recommended). */
  readonly pmtuTimeout: Duration;
}

export const DEFAULT_ICMPV6_OPTIONS: Icmpv6Options = { errorRate: 1000, errorBurst: 50, echoMulticast: true, pmtuCacheSize: 256, pmtuTimeout: Duration.seconds(600) };

/** An ICMPv6 error about a packet we sent, as transport protocols receive it. */
export interface Icmpv6ErrorReport {
  readonly type: number;
  readonly code: number;
  /** Packet Too Big: the reported MTU (already applied to the path MTU cache); Parameter Problem: the pointer. */
  readonly param: number;
  readonly from: Ipv6Address;
  readonly quoted: Icmpv6Quoted;
}

export type Icmpv6EchoListener = (from: Ipv6Address, ident: number, seq: number, data: Uint8Array, now: Instant) => void;
export type Icmpv6ErrorListener = (report: Icmpv6ErrorReport, now: Instant) => void;
/** Handler for an informational type owned by another module (NDP, MLD); the checksum is already verified. */
export type Icmpv6MessageHandler = (msg: Icmpv6Packet, info: Ipv6RxInfo, now: Instant) => void;

export class Icmpv6Module implements StackModule {
  readonly name = 'icmpv6';
  readonly options: Icmpv6Options;
  private ctx!: StackContext;
  private ip!: Ipv6Module;
  private readonly errorBucket: TokenBucket;
  private readonly types = new Map<number, Icmpv6MessageHandler>();
  private readonly echoListeners = new Map<number, Icmpv6EchoListener>();
  private readonly errorListeners = new Map<number, Icmpv6ErrorListener>();
  /** Path MTU estimates by destination (RFC 8201), in insertion order for eviction. */
  private readonly pmtu = new Map<string, { mtu: number; expires: Instant }>();

  constructor(options: Partial<Icmpv6Options> = {}) {
    this.options = { ...DEFAULT_ICMPV6_OPTIONS, ...options };
    this.errorBucket = new TokenBucket(this.options.errorRate, this.options.errorBurst);
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv6Module>('ipv6');
    if (!ip) throw new Error("the 'icmpv6' module needs the 'ipv6' module");
    this.ip = ip;
    ip.registerProtocol(NH_ICMPV6, (buf, off, len, info, now) => this.input(buf, off, len, info, now));
    ip.errorSender = (type, code, param, info, now, toMulticast) => this.sendError(type, code, param, info, now, toMulticast);
    ip.setPathMtuLookup((dst, now) => this.pathMtu(dst, now));
  }

  /** The cached path MTU estimate for `dst`, if one is still valid. */
  pathMtu(dst: Ipv6Address, now: Instant): number | undefined {
    const k = ipv6Key(dst);
    const e = this.pmtu.get(k);
    if (!e) return undefined;
    if (e.expires > now) return e.mtu;
    this.pmtu.delete(k);
    return undefined;
  }

  get pmtuCacheSize(): number {
    return this.pmtu.size;
  }

  /**
   * Packet Too Big (RFC 8201 §4): lowers the estimate for `dst`, never below 1280 (so no atomic
   * fragments follow, RFC 8021) and never up. Returns the new estimate, or undefined if unchanged.
   */
  updatePathMtu(dst: Ipv6Address, mtu: number, now: Instant): number | undefined {
    const m = Math.max(IPV6_MIN_MTU, mtu);
    const r = this.ip.route(dst);
    const current = this.pathMtu(dst, now) ?? (typeof r === 'string' ? Infinity : this.ip.linkMtu(r.iface));
    if (m >= current) return undefined;
    const k = ipv6Key(dst);
    if (!this.pmtu.has(k) && this.pmtu.size >= this.options.pmtuCacheSize) {
      this.pmtu.delete(this.pmtu.keys().next().value!);
      this.ctx.stats.count('icmpv6', 'pmtu_evicted');
    }
    this.pmtu.delete(k);
    this.pmtu.set(k, { mtu: m, expires: Instant.add(now, this.options.pmtuTimeout) });
    this.ctx.stats.count('icmpv6', 'pmtu_lowered');
    return m;
  }

  /** Messages of `type` (NDP 133-137, MLD 130-132/143) go to `handler`. */
  registerType(type: number, handler: Icmpv6MessageHandler): void {
    if (this.types.has(type)) throw new Error(`ICMPv6 type ${type} already registered`);
    this.types.set(type, handler);
  }

  /** Echo replies with this identifier go to `listener` (ping). */
  onEchoReply(ident: number, listener: Icmpv6EchoListener | null): void {
    if (listener) this.echoListeners.set(ident, listener);
    else this.echoListeners.delete(ident);
  }

  /** Errors quoting a packet of upper-layer `protocol` go to `listener` (TCP, UDP). */
  onError(protocol: number, listener: Icmpv6ErrorListener | null): void {
    if (listener) this.errorListeners.set(protocol, listener);
    else this.errorListeners.delete(protocol);
  }

  /**
   * Sends an ICMPv6 message of `len` bytes written by `write(buf, off)` (type, code and body; the
   * checksum is computed here over the final source and destination).
   */
  sendMessage(params: Omit<Ipv6SendParams, 'protocol'>, len: number, write: (buf: Uint8Array, off: number) => void, now: Instant): Ipv6SendError | undefined {
    const cs = this.ctx.checksum;
    return this.ip.send({ ...params, protocol: NH_ICMPV6 }, len, (b, o, src, dst) => {
      write(b, o);
      fillIcmpv6Checksum(b, o, len, cs, pseudoHeaderSumV6(src, dst, NH_ICMPV6, len));
    }, now);
  }

  sendEchoRequest(
    dst: Ipv6Address,
    ident: number,
    seq: number,
    data: Uint8Array,
    now: Instant,
    opts: { hopLimit?: number; src?: Ipv6Address; iface?: Ipv6SendParams['iface'] } = {},
  ): Ipv6SendError | undefined {
    const repr: Icmpv6Repr = { kind: 'echoRequest', ident, seq, dataLen: data.length };
    this.ctx.stats.count('icmpv6', 'echo_requests_sent');
    return this.sendMessage({ dst, ...opts }, Icmpv6Repr.bufferLen(repr), (b, o) => {
      b.set(data, o + ICMPV6_HEADER_LEN);
      Icmpv6Repr.emit(repr, b, o);
    }, now);
  }

  private input(buf: Uint8Array, off: number, len: number, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    const p = Icmpv6Packet.check(buf, off, len);
    if (isWireError(p)) return stats.drop('icmpv6', 'malformed');
    if (!p.verifyChecksum(this.ctx.checksum, pseudoHeaderSumV6(info.src, info.dst, NH_ICMPV6, len))) return stats.drop('icmpv6', 'bad_checksum');
    const type = p.type;
    switch (type) {
      case Icmpv6Type.ECHO_REQUEST:
        return this.echoRequest(p, info, now);
      case Icmpv6Type.ECHO_REPLY: {
        stats.count('icmpv6', 'echo_replies_received');
        const l = this.echoListeners.get(p.echoIdent);
        if (!l) return stats.drop('icmpv6', 'echo_reply_unexpected');
        return l(info.src, p.echoIdent, p.echoSeq, p.data(), now);
      }
      case Icmpv6Type.DEST_UNREACHABLE:
      case Icmpv6Type.PACKET_TOO_BIG:
      case Icmpv6Type.TIME_EXCEEDED:
      case Icmpv6Type.PARAMETER_PROBLEM:
        return this.errorReceived(p, info, now);
    }
    const h = this.types.get(type);
    if (h) return h(p, info, now);
    // RFC 4443 §2.4(a)/(b): unknown errors cannot be matched to a protocol here; unknown informational messages are discarded.
    stats.drop('icmpv6', isIcmpv6Error(type) ? 'unknown_error_type' : 'unknown_type');
  }

  private echoRequest(p: Icmpv6Packet, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    if (info.multicast && !this.options.echoMulticast) return stats.drop('icmpv6', 'echo_to_multicast');
    if (isIpv6Unspecified(info.src)) return stats.drop('icmpv6', 'echo_from_unspecified');
    stats.count('icmpv6', 'echo_requests_received');
    const data = p.data();
    const reply: Icmpv6Repr = { kind: 'echoReply', ident: p.echoIdent, seq: p.echoSeq, dataLen: data.length };
    // Reply from the address the request was sent to; to a multicast request, from a selected unicast (RFC 4443 §4.2).
    const params = isIpv6Multicast(info.dst) ? { dst: info.src, iface: info.iface } : { dst: info.src, src: info.dst, iface: info.iface };
    const err = this.sendMessage(params, Icmpv6Repr.bufferLen(reply), (b, o) => {
      b.set(data, o + ICMPV6_HEADER_LEN);
      Icmpv6Repr.emit(reply, b, o);
    }, now);
    if (err) stats.drop('icmpv6', `echo_reply_${err}`);
    else stats.count('icmpv6', 'echo_replies_sent');
  }

  private errorReceived(p: Icmpv6Packet, info: Ipv6RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    const q = p.quoted();
    if (isWireError(q)) return stats.drop('icmpv6', 'bad_quoted_packet');
    // Only errors about packets we sent (RFC 5927 §4.1 / RFC 8201 §4 validation starts here).
    if (!this.ip.isLocal(q.src)) return stats.drop('icmpv6', 'error_not_ours');
    stats.count('icmpv6', 'errors_received');
    const type = p.type;
    if (type === Icmpv6Type.PACKET_TOO_BIG) {
      const m = this.updatePathMtu(q.dst, p.mtu, now);
      if (m === undefined) stats.count('icmpv6', 'ptb_ignored');
    }
    const l = this.errorListeners.get(q.upperProtocol);
    if (!l) return stats.count('icmpv6', 'errors_unclaimed');
    const param = type === Icmpv6Type.PACKET_TOO_BIG || type === Icmpv6Type.PARAMETER_PROBLEM ? p.rest : 0;
    l({ type, code: p.code, param, from: info.src, quoted: q }, now);
  }

  /**
   * Sends an error about the received packet info.packet, quoting as much of it as fits the minimum
   * MTU (RFC 4443 §2.4(c)). `toMulticast`: the caller established the §2.4(e.3) exception (option
   * action 10); Packet Too Big is always allowed to multicast.
   */
  sendError(type: number, code: number, param: number, info: Ipv6RxInfo, now: Instant, toMulticast = false): void {
    const stats = this.ctx.stats;
    const mcAllowed = type === Icmpv6Type.PACKET_TOO_BIG || (toMulticast && type === Icmpv6Type.PARAMETER_PROBLEM && code === Icmpv6ParamProblemCode.OPTION);
    if (info.multicast && !mcAllowed) return stats.drop('icmpv6', 'error_suppressed_multicast');
    if (isIpv6Unspecified(info.src) || isIpv6Multicast(info.src)) return stats.drop('icmpv6', 'error_suppressed_source');
    const quotedLen = Math.min(info.packetLength, ICMPV6_MAX_QUOTE);
    // Never about an ICMPv6 error or a Redirect (RFC 4443 §2.4(e.1)).
    const q = Icmpv6Quoted.check(info.packet, info.packetOffset, info.packetLength);
    if (!isWireError(q) && q.upperProtocol === NH_ICMPV6 && q.upperLength >= 1) {
      const t = info.packet[q.upperOffset]!;
      if (isIcmpv6Error(t) || t === Icmpv6Type.REDIRECT) return stats.drop('icmpv6', 'error_suppressed_icmp_error');
    }
    if (!this.errorBucket.take(now)) return stats.drop('icmpv6', 'error_rate_limited');
    const repr: Icmpv6Repr =
      type === Icmpv6Type.DEST_UNREACHABLE
        ? { kind: 'destUnreachable', code, quotedLen }
        : type === Icmpv6Type.PACKET_TOO_BIG
          ? { kind: 'packetTooBig', mtu: param, quotedLen }
          : type === Icmpv6Type.TIME_EXCEEDED
            ? { kind: 'timeExceeded', code, quotedLen }
            : { kind: 'parameterProblem', code, pointer: param, quotedLen };
    const quoted = info.packet.subarray(info.packetOffset, info.packetOffset + quotedLen);
    // From the address the packet was sent to when it was one of ours (RFC 4443 §2.2).
    const src = !isIpv6Multicast(info.dst) && this.ip.isLocal(info.dst, info.iface) ? info.dst : undefined;
    const err = this.sendMessage({ dst: info.src, iface: info.iface, ...(src ? { src } : {}) }, Icmpv6Repr.bufferLen(repr), (b, o) => {
      b.set(quoted, o + ICMPV6_HEADER_LEN);
      Icmpv6Repr.emit(repr, b, o);
    }, now);
    if (err) stats.drop('icmpv6', `error_${err}`);
    else stats.count('icmpv6', 'errors_sent');
  }
}
