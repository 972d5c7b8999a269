// ICMPv4 (RFC 792, RFC 1122 §3.2.2): echo replies, error messages about datagrams we received, and
// the client side of ping. Errors are token-bucket rate limited and are never sent about an ICMP
// error, a broadcast/multicast datagram, a non-initial fragment or an invalid source (RFC 1122
// §3.2.2, H18). Deprecated types (RFC 6918) and Source Quench (RFC 6633) are ignored (H19).
// Received errors are handed to listeners (transport protocols) with the quoted header validated.

import type { Instant } from '../time/instant.js';
import { type Ipv4Address, isIpv4Multicast } from '../wire/address.js';
import { isWireError } from '../wire/error.js';
import { Icmpv4Packet, Icmpv4Quoted, Icmpv4Repr, Icmpv4Type } from '../wire/icmpv4.js';
import { IpProtocol } from '../wire/ip-protocol.js';
import type { Ipv4Module, Ipv4RxInfo } from './ipv4.js';
import type { StackModule } from './module.js';
import { TokenBucket } from './rate-limit.js';
import type { StackContext } from './stack.js';

export interface Icmpv4Options {
  /** Error messages per second (all destinations together) and burst. */
  readonly errorRate: number;
  readonly errorBurst: number;
  /** Answer echo requests sent to a broadcast address (off: RFC 1122 allows silence, smurf defence). */
  readonly echoBroadcast: boolean;
}

/** Every IPv4 link carries 68-byte datagrams unfragmented (RFC 791): no path MTU is ever lower. */
export const IPV4_MIN_MTU = 68;

export const DEFAULT_ICMPV4_OPTIONS: Icmpv4Options = { errorRate: 1000, errorBurst: 50, echoBroadcast: false };

/** An ICMP error about a datagram we sent, as transport protocols receive it. */
export interface Icmpv4ErrorReport {
  readonly type: number;
  readonly code: number;
  /** Next-hop MTU for type 3 code 4 (RFC 1191), else 0. */
  readonly mtu: number;
  readonly from: Ipv4Address;
  readonly quoted: Icmpv4Quoted;
}

/** `ttl` is the reply's IP TTL (ping reports it). */
export type EchoReplyListener = (from: Ipv4Address, ident: number, seq: number, data: Uint8Array, now: Instant, ttl: number) => void;

export class Icmpv4Module implements StackModule {
  readonly name = 'icmpv4';
  readonly options: Icmpv4Options;
  private ctx!: StackContext;
  private ip!: Ipv4Module;
  private readonly errorBucket: TokenBucket;
  private readonly echoListeners = new Map<number, EchoReplyListener>();
  private readonly errorListeners = new Map<number, (report: Icmpv4ErrorReport, now: Instant) => void>();

  constructor(options: Partial<Icmpv4Options> = {}) {
    this.options = { ...DEFAULT_ICMPV4_OPTIONS, ...options };
    this.errorBucket = new TokenBucket(this.options.errorRate, this.options.errorBurst);
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv4Module>('ipv4');
    if (!ip) throw new Error("the 'icmpv4' module needs the 'ipv4' module");
    this.ip = ip;
    ip.registerProtocol(IpProtocol.ICMP, (buf, off, len, info, now) => this.input(buf, off, len, info, now));
    ip.unreachable = (info, code, now) => this.sendError(Icmpv4Type.DEST_UNREACHABLE, code, 0, info, now);
  }

  /** Echo replies with this identifier go to `listener` (ping). */
  onEchoReply(ident: number, listener: EchoReplyListener | null): void {
    if (listener) this.echoListeners.set(ident, listener);
    else this.echoListeners.delete(ident);
  }

  /** ICMP errors quoting a datagram of `protocol` go to `listener` (TCP, UDP). */
  onError(protocol: number, listener: (report: Icmpv4ErrorReport, now: Instant) => void): void {
    this.errorListeners.set(protocol, listener);
  }

  sendEchoRequest(dst: Ipv4Address, ident: number, seq: number, data: Uint8Array, now: Instant, ttl?: number) {
    const repr: Icmpv4Repr = { kind: 'echoRequest', ident, seq, dataLen: data.length };
    this.ctx.stats.count('icmpv4', 'echo_requests_sent');
    return this.ip.send({ dst, protocol: IpProtocol.ICMP, ...(ttl !== undefined ? { ttl } : {}) }, Icmpv4Repr.bufferLen(repr), (b, o) => {
      b.set(data, o + 8);
      Icmpv4Repr.emit(repr, b, o, this.ctx.checksum);
    }, now);
  }

  private input(buf: Uint8Array, off: number, len: number, info: Ipv4RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    const p = Icmpv4Packet.check(buf, off, len);
    if (isWireError(p)) return stats.drop('icmpv4', 'malformed');
    if (this.ctx.checksum.sum(buf, off, len, 0) !== 0xffff) return stats.drop('icmpv4', 'bad_checksum');
    const type = p.type;
    if (p.isDeprecated) return stats.drop('icmpv4', 'deprecated_type');
    switch (type) {
      case Icmpv4Type.ECHO_REQUEST: {
        if (info.broadcastOrMulticast && !this.options.echoBroadcast) return stats.drop('icmpv4', 'echo_to_broadcast');
        stats.count('icmpv4', 'echo_requests_received');
        const dataLen = p.dataLength;
        const data = buf.subarray(p.dataOffset, p.dataOffset + dataLen);
        const reply: Icmpv4Repr = { kind: 'echoReply', ident: p.echoIdent, seq: p.echoSeq, dataLen };
        // Reply from the address the request was sent to (RFC 1122 §3.2.2.6).
        const err = this.ip.send({ dst: info.src, src: info.dst, protocol: IpProtocol.ICMP }, Icmpv4Repr.bufferLen(reply), (b, o) => {
          b.set(data, o + 8);
          Icmpv4Repr.emit(reply, b, o, this.ctx.checksum);
        }, now);
        if (err) stats.drop('icmpv4', `echo_reply_${err}`);
        else stats.count('icmpv4', 'echo_replies_sent');
        return;
      }
      case Icmpv4Type.ECHO_REPLY: {
        stats.count('icmpv4', 'echo_replies_received');
        const l = this.echoListeners.get(p.echoIdent);
        if (!l) return stats.drop('icmpv4', 'echo_reply_unexpected');
        return l(info.src, p.echoIdent, p.echoSeq, buf.subarray(p.dataOffset, p.dataOffset + p.dataLength), now, info.ttl);
      }
      case Icmpv4Type.DEST_UNREACHABLE:
      case Icmpv4Type.TIME_EXCEEDED:
      case Icmpv4Type.PARAMETER_PROBLEM: {
        const q = p.quoted();
        if (isWireError(q)) return stats.drop('icmpv4', 'bad_quoted_header');
        // Only errors about datagrams we sent (RFC 5927 §4.1 begins with this).
        if (!this.ip.isLocal(q.src)) return stats.drop('icmpv4', 'error_not_ours');
        stats.count('icmpv4', 'errors_received');
        const mtu = type === Icmpv4Type.DEST_UNREACHABLE && p.code === 4 ? this.nextHopMtu(p.nextHopMtu) : 0;
        const l = this.errorListeners.get(q.protocol);
        if (!l) return stats.count('icmpv4', 'errors_unclaimed');
        return l({ type, code: p.code, mtu, from: info.src, quoted: q }, now);
      }
      case Icmpv4Type.REDIRECT:
        // Hosts with a single default router gain nothing from redirects and they are spoofable (H20).
        return stats.drop('icmpv4', 'redirect_ignored');
      default:
        return stats.drop('icmpv4', 'unhandled_type');
    }
  }

  /** RFC 1191 next-hop MTU, raised to the RFC 791 minimum of 68 (H17c, RFC 5927 §7); 0 means "not given". */
  private nextHopMtu(mtu: number): number {
    if (mtu === 0 || mtu >= IPV4_MIN_MTU) return mtu;
    this.ctx.stats.count('icmpv4', 'mtu_clamped');
    return IPV4_MIN_MTU;
  }

  /**
   * Sends an ICMP error about a received datagram (info.packet), quoting its header and the first
   * 8 payload bytes (RFC 792; RFC 1812 allows more, but 8 is what RFC 5927 checks rely on).
   */
  sendError(type: number, code: number, rest: number, info: Ipv4RxInfo, now: Instant): void {
    const stats = this.ctx.stats;
    if (info.broadcastOrMulticast) return stats.drop('icmpv4', 'error_suppressed_broadcast');
    if (info.src === 0 || isIpv4Multicast(info.src)) return stats.drop('icmpv4', 'error_suppressed_source');
    const pkt = info.packet;
    const o = info.packetOffset;
    // Never about a non-initial fragment, or about an ICMP error (RFC 1122 §3.2.2).
    if ((((pkt[o + 6]! & 0x1f) << 8) | pkt[o + 7]!) !== 0) return stats.drop('icmpv4', 'error_suppressed_fragment');
    if (pkt[o + 9] === IpProtocol.ICMP) {
      const t = pkt[o + info.headerLen];
      if (t !== Icmpv4Type.ECHO_REQUEST && t !== Icmpv4Type.ECHO_REPLY) return stats.drop('icmpv4', 'error_suppressed_icmp_error');
    }
    if (!this.errorBucket.take(now)) return stats.drop('icmpv4', 'error_rate_limited');
    const totalLen = ((pkt[o + 2]! << 8) | pkt[o + 3]!) >>> 0;
    const quotedLen = Math.min(totalLen, info.headerLen + 8, pkt.length - o);
    const quoted = pkt.subarray(o, o + quotedLen);
    const repr: Icmpv4Repr =
      type === Icmpv4Type.DEST_UNREACHABLE
        ? { kind: 'destUnreachable', code, nextHopMtu: rest, quotedLen }
        : type === Icmpv4Type.TIME_EXCEEDED
          ? { kind: 'timeExceeded', code, quotedLen }
          : { kind: 'parameterProblem', code, pointer: rest, quotedLen };
    const err = this.ip.send({ dst: info.src, protocol: IpProtocol.ICMP }, Icmpv4Repr.bufferLen(repr), (b, off) => {
      b.set(quoted, off + 8);
      Icmpv4Repr.emit(repr, b, off, this.ctx.checksum);
    }, now);
    if (err) stats.drop('icmpv4', `error_${err}`);
    else stats.count('icmpv4', 'errors_sent');
  }
}
