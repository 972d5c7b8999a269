// IPv4 fragment reassembly (RFC 791 §3.2, RFC 1122 §3.3.2) as a stack module: it installs itself as
// the IPv4 module's fragment hook, feeds every fragment to the generic engine (reassembly.ts, where
// the limits and the overlap/conflict policy live) and delivers each completed datagram as one
// contiguous buffer with a rebuilt header (MF=0, offset 0, Total Length and checksum recomputed).
// On timeout it sends ICMP Time Exceeded code 1 through the 'icmpv4' module when fragment 0 had
// arrived. Leave this module out of a stack and the IPv4 module drops every fragment (counted).
//
// IPv4-specific rules applied before the engine (SECURITY-CASES H12, RFC 1858 §3-4, RFC 3128): a TCP
// fragment at offset 8 (FO=1) could rewrite the TCP flags of the first fragment, and a TCP first
// fragment shorter than the minimum TCP header hides the ports and flags from filters; both are
// dropped. Datagrams are keyed by (source, destination, identification); the protocol is recorded and
// a fragment carrying another one is a conflict that discards the datagram (H13) rather than silently
// starting a second reassembly.

import type { Instant } from '../time/instant.js';
import { writeU16 } from '../wire/bytes.js';
import { Icmpv4TimeExceededCode, Icmpv4Type } from '../wire/icmpv4.js';
import { IpProtocol } from '../wire/ip-protocol.js';
import { Ipv4Field, Ipv4Packet } from '../wire/ipv4.js';
import type { Icmpv4Module } from './icmpv4.js';
import type { Ipv4Module, Ipv4RxInfo } from './ipv4.js';
import type { StackModule } from './module.js';
import {
  DEFAULT_IPV4_REASSEMBLY_OPTIONS,
  type ExpiredDatagram,
  ReassemblyEngine,
  type ReassemblyOptions,
  type ReassembledDatagram,
  reassemblyOptions,
} from './reassembly.js';
import type { StackContext } from './stack.js';

/** Stats layer of this module (counters and drop reasons). */
export const IPV4_REASSEMBLY_LAYER = 'ipv4-reassembly';

/** RFC 1858 §4 / RFC 3128: the smallest TCP header a first fragment must hold. */
const TCP_MIN_HEADER = 20;

/** What is kept of the fragment that created (or, for fragment 0, completed) a reassembly. */
export type Ipv4FragmentMeta = Omit<Ipv4RxInfo, 'packet' | 'packetOffset' | 'headerLen'>;

export class Ipv4ReassemblyModule implements StackModule {
  readonly name = 'ipv4-reassembly';
  readonly options: ReassemblyOptions;
  private ctx!: StackContext;
  private engineRef: ReassemblyEngine<Ipv4FragmentMeta> | undefined;

  constructor(options: Partial<ReassemblyOptions> = {}) {
    this.options = reassemblyOptions(DEFAULT_IPV4_REASSEMBLY_OPTIONS, options);
  }

  /** The engine (memory in use, pending datagrams); available once installed. */
  get engine(): ReassemblyEngine<Ipv4FragmentMeta> {
    if (!this.engineRef) throw new Error("the 'ipv4-reassembly' module is not installed");
    return this.engineRef;
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    const ip = ctx.module<Ipv4Module>('ipv4');
    if (!ip) throw new Error("the 'ipv4-reassembly' module needs the 'ipv4' module");
    this.engineRef = new ReassemblyEngine<Ipv4FragmentMeta>(this.options, ctx.stats, IPV4_REASSEMBLY_LAYER, {
      protocolMustMatch: true,
      onExpire: (d, now) => this.timeExceeded(d, now),
    });
    ip.setFragmentHook((p, info, now, deliver) => this.input(p, info, now, deliver));
  }

  pollAt(_now: Instant): Instant {
    return this.engine.pollAt();
  }

  poll(now: Instant): void {
    this.engine.poll(now);
  }

  /** Key of the reassembly a fragment belongs to (exposed for tests and diagnostics). */
  static key(src: number, dst: number, ident: number): string {
    return `${src}>${dst}#${ident}`;
  }

  private input(p: Ipv4Packet, info: Ipv4FragmentMeta, now: Instant, deliver: (datagram: Uint8Array) => void): void {
    const stats = this.ctx.stats;
    const offset = p.fragOffset;
    if (p.protocol === IpProtocol.TCP) {
      // RFC 1858 §4 (H12): FO=1 can only be an attempt to overwrite the TCP header of fragment 0.
      if (offset === 8) return stats.drop(IPV4_REASSEMBLY_LAYER, 'tcp_offset_8');
      if (offset === 0 && p.payloadLength < TCP_MIN_HEADER) return stats.drop(IPV4_REASSEMBLY_LAYER, 'tcp_tiny_first_fragment');
    }
    const v = this.engine.add(
      {
        key: Ipv4ReassemblyModule.key(p.src, p.dst, p.ident),
        protocol: p.protocol,
        offset,
        more: p.moreFrags,
        buf: p.buf,
        headerOffset: p.off,
        dataOffset: p.payloadOffset,
        dataLength: p.payloadLength,
        headroom: p.headerLen,
        meta: info,
      },
      now,
    );
    if (v.kind !== 'complete') return;
    deliver(this.build(v.datagram));
  }

  /** The first fragment's header (options included, RFC 791 §3.2) over the reassembled data. */
  private build(d: ReassembledDatagram<Ipv4FragmentMeta>): Uint8Array {
    const hlen = d.header.length;
    const out = new Uint8Array(hlen + d.length);
    out.set(d.header, 0);
    d.writePayload(out, hlen);
    writeU16(out, Ipv4Field.TOTAL_LENGTH, hlen + d.length);
    // Clear MF and the offset; keep DF (and the reserved bit, which the IPv4 module ignores).
    out[Ipv4Field.FLAGS_FRAG] = out[Ipv4Field.FLAGS_FRAG]! & 0xc0;
    out[Ipv4Field.FLAGS_FRAG + 1] = 0;
    Ipv4Packet.unchecked(out, 0, out.length).fillChecksum(this.ctx.checksum);
    return out;
  }

  /** RFC 1122 §3.3.2 / RFC 792: Time Exceeded code 1, quoting fragment 0 (header + first 8 bytes). */
  private timeExceeded(d: ExpiredDatagram<Ipv4FragmentMeta>, now: Instant): void {
    const icmp = this.ctx.module<Icmpv4Module>('icmpv4');
    if (!icmp) return this.ctx.stats.count(IPV4_REASSEMBLY_LAYER, 'time_exceeded_no_icmp');
    const hlen = d.header.length;
    const quote = new Uint8Array(hlen + Math.min(8, d.firstData.length));
    quote.set(d.header, 0);
    quote.set(d.firstData.subarray(0, quote.length - hlen), hlen);
    // The quoted Total Length stays fragment 0's; ICMP quotes at most what is present.
    this.ctx.stats.count(IPV4_REASSEMBLY_LAYER, 'time_exceeded');
    icmp.sendError(Icmpv4Type.TIME_EXCEEDED, Icmpv4TimeExceededCode.REASSEMBLY, 0, { ...d.meta, packet: quote, packetOffset: 0, headerLen: hlen }, now);
  }
}
