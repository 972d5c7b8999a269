// IPv6 fragment reassembly (RFC 8200 §4.5) as a stack module named 'ipv6-reassembly'. It is the glue
// between an IPv6 layer and the generic engine (reassembly.ts, where the limits and the
// overlap/conflict policy live). Two ways in:
//
//   - With the stack's 'ipv6' module: install() attaches through `Ipv6Module.setFragmentHook`. The
//     IPv6 module walks the header chain, answers the walker's Parameter Problems, handles atomic
//     fragments and the RFC 7112 check itself, and calls the hook for every other fragment with an
//     `Ipv6FragmentContext` whose deliver/paramProblem/timeExceeded become this module's outputs.
//   - Any other IPv6 layer (or a test) uses the small generic interface directly:
//       1. `setHooks({ paramProblem, timeExceeded })` with its ICMPv6 senders. The hooks apply the
//          RFC 4443 §2.4(e) source/multicast checks and the rate limit; this module only decides
//          *which* error the RFCs call for;
//       2. `input(packet, chain, meta, now, deliver)` for every packet whose header chain
//          (walkIpv6Chain) holds a Fragment header; `meta` is the caller's receive context, handed
//          back in the hooks and kept (the offset-0 fragment's) for Time Exceeded;
//       3. `deliver` gets an `Ipv6Reassembled`: a complete packet with the Fragment header removed,
//          the Payload Length fixed and the preceding Next Header field set to the fragmentable
//          part's first header. Processing continues at `payloadOffset` with `nextHeader` (or the
//          packet is walked again: it has no Fragment header left, so it cannot come back here).
//   Without this module the IPv6 layer drops fragments (counted), as IPv4 does.
//
// Rules applied here (SECURITY-CASES H25-H27):
//  - RFC 6946 (H27): an atomic fragment (offset 0, M=0) is delivered alone and never touches a
//    pending reassembly with the same identification;
//  - RFC 7112 (H25): a first fragment without the whole upper-layer header is dropped, Param Problem
//    code 3 pointer 0. (An extension header chain truncated inside a first fragment is already
//    refused by walkIpv6Chain with code 3; the IPv6 module answers that one itself.)
//  - RFC 8200 §4.5: a non-last fragment not a multiple of 8 bytes -> code 0 pointing at Payload Length
//    (H26b); a fragment whose reassembled Payload Length would exceed 65535 -> code 0 pointing at the
//    Fragment Offset field (H26c). walkIpv6Chain refuses both too; the engine re-checks, so the rule
//    holds even for a chain the walker did not produce.
//  - Overlaps discard the datagram silently (RFC 5722, H26a); Time Exceeded code 1 after 60 s when
//    the offset-0 fragment arrived.
// Datagrams are keyed by (source, destination, identification) (RFC 8200 §4.5) within the receiving
// interface; the Next Header of the offset-0 fragment is the one that counts.

import type { Instant } from '../time/instant.js';
import { writeU16 } from '../wire/bytes.js';
import { IPV6_HEADER_LEN, Ipv6Field, type Ipv6Packet } from '../wire/ipv6.js';
import { IPV6_FRAG_HEADER_LEN, Ipv6ExtField, type Ipv6Chain, ParamProblemCode, firstFragmentHasUpperHeader } from '../wire/ipv6-ext.js';
import type { Ipv6FragmentContext, Ipv6Module } from './ipv6.js';
import type { StackModule } from './module.js';
import {
  DEFAULT_IPV6_REASSEMBLY_OPTIONS,
  type ExpiredDatagram,
  ReassemblyEngine,
  type ReassemblyOptions,
  reassemblyOptions,
} from './reassembly.js';
import type { StackContext } from './stack.js';

/** Stats layer of this module (counters and drop reasons). */
export const IPV6_REASSEMBLY_LAYER = 'ipv6-reassembly';

/** ICMPv6 senders provided by the IPv6 module. Both are optional: without them errors are only counted. */
export interface Ipv6ReassemblyHooks<M> {
  /**
   * Send ICMPv6 Parameter Problem (type 4) with `code` and `pointer` (offset from the IPv6 header)
   * about `packet`, which is lent for the call (quote what is needed before returning).
   */
  paramProblem?(packet: Ipv6Packet, code: number, pointer: number, meta: M, now: Instant): void;
  /**
   * Send ICMPv6 Time Exceeded code 1 (fragment reassembly time exceeded). `quote` is the offset-0
   * fragment as it was received (IPv6 header onwards); the sender truncates it to fit.
   */
  timeExceeded?(quote: Uint8Array, meta: M, now: Instant): void;
}

/** A reassembled (or atomic-fragment) packet with its Fragment header removed. */
export interface Ipv6Reassembled {
  /** The whole packet, IPv6 header first; owned by the receiver. */
  readonly packet: Uint8Array;
  /** Protocol of the fragmentable part (the offset-0 fragment's Fragment header Next Header). */
  readonly nextHeader: number;
  /** Where the fragmentable part starts (where the Fragment header was). */
  readonly payloadOffset: number;
}

/** What the engine keeps per IPv6 reassembly: the IPv6 module's context plus where to patch the rebuilt packet. */
export interface Ipv6FragmentMeta<M> {
  readonly user: M;
  /** Offset of the Fragment header from the IPv6 header start. */
  readonly fragHeader: number;
  /** Offset of the Next Header field that named the Fragment header. */
  readonly nhField: number;
}

export class Ipv6ReassemblyModule<M = unknown> implements StackModule {
  readonly name = 'ipv6-reassembly';
  readonly options: ReassemblyOptions;
  private ctx!: StackContext;
  private engineRef: ReassemblyEngine<Ipv6FragmentMeta<M>> | undefined;
  private hooks: Ipv6ReassemblyHooks<M> = {};

  constructor(options: Partial<ReassemblyOptions> = {}) {
    this.options = reassemblyOptions(DEFAULT_IPV6_REASSEMBLY_OPTIONS, options);
  }

  /** The engine (memory in use, pending datagrams); available once installed. */
  get engine(): ReassemblyEngine<Ipv6FragmentMeta<M>> {
    if (!this.engineRef) throw new Error("the 'ipv6-reassembly' module is not installed");
    return this.engineRef;
  }

  install(ctx: StackContext): void {
    this.ctx = ctx;
    this.engineRef = new ReassemblyEngine<Ipv6FragmentMeta<M>>(this.options, ctx.stats, IPV6_REASSEMBLY_LAYER, {
      protocolMustMatch: false,
      onExpire: (d, now) => this.timeExceeded(d, now),
    });
    const ip6 = ctx.module<Ipv6Module>('ipv6');
    if (ip6 !== undefined) {
      // Alongside the stack's IPv6 module, the per-datagram context is its Ipv6FragmentContext.
      const self = this as unknown as Ipv6ReassemblyModule<Ipv6FragmentContext>;
      self.setHooks({
        paramProblem: (_p, code, pointer, fctx, now) => fctx.paramProblem(code, pointer, now),
        timeExceeded: (quote, fctx, now) => fctx.timeExceeded(fctx.info.iface, quote, now),
      });
      ip6.setFragmentHook((p, chain, fctx, now) => self.input(p, chain, fctx, now, (r) => fctx.deliver(r.packet, now), fctx.info.iface.index));
    }
  }

  /** ICMPv6 senders of the IPv6 layer (set automatically when the stack has the 'ipv6' module). */
  setHooks(hooks: Ipv6ReassemblyHooks<M>): void {
    this.hooks = hooks;
  }

  pollAt(_now: Instant): Instant {
    return this.engine.pollAt();
  }

  poll(now: Instant): void {
    this.engine.poll(now);
  }

  /**
   * Key of the reassembly a fragment belongs to: source, destination and identification, plus a scope
   * (the interface index) so link-local pairs on different links stay apart.
   */
  static key(p: Ipv6Packet, ident: number, scope = 0): string {
    const b = p.buf;
    let s = String.fromCharCode(scope & 0xffff);
    // 16 bits per char: 8 + 8 chars for the addresses, 2 for the identification.
    for (let i = p.srcOffset; i < p.srcOffset + 32; i += 2) s += String.fromCharCode((b[i]! << 8) | b[i + 1]!);
    return s + String.fromCharCode(ident >>> 16, ident & 0xffff);
  }

  /**
   * Handles one packet whose `chain` (from walkIpv6Chain on `p`) has a Fragment header. `p` is lent
   * for the call; `deliver` is called at most once, synchronously, with a packet the receiver owns.
   * `scope` (the receiving interface's index) keeps reassemblies on different links apart.
   */
  input(p: Ipv6Packet, chain: Ipv6Chain, meta: M, now: Instant, deliver: (r: Ipv6Reassembled) => void, scope = 0): void {
    const stats = this.ctx.stats;
    const frag = chain.fragment;
    const fh = chain.fragmentOffset;
    if (frag === null || fh < IPV6_HEADER_LEN || fh + IPV6_FRAG_HEADER_LEN > p.len) return stats.drop(IPV6_REASSEMBLY_LAYER, 'not_a_fragment');
    const dataStart = fh + IPV6_FRAG_HEADER_LEN;
    const nhField = nextHeaderFieldOf(chain, fh);
    if (frag.fragOffset === 0 && !frag.moreFrags) {
      // RFC 6946 §4 (H27): an atomic fragment is a whole packet; pending reassemblies are not consulted.
      stats.count(IPV6_REASSEMBLY_LAYER, 'atomic_fragments');
      const out = new Uint8Array(p.len - IPV6_FRAG_HEADER_LEN);
      out.set(p.buf.subarray(p.off, p.off + fh), 0);
      out.set(p.buf.subarray(p.off + dataStart, p.off + p.len), fh);
      return deliver(finish(out, nhField, frag.nextHeader, fh));
    }
    if (frag.fragOffset === 0 && !firstFragmentHasUpperHeader(p, chain)) {
      // RFC 7112 §5 (H25): the upper-layer header must be wholly in the first fragment.
      stats.drop(IPV6_REASSEMBLY_LAYER, 'incomplete_header_chain');
      return this.hooks.paramProblem?.(p, ParamProblemCode.INCOMPLETE_HEADER_CHAIN, 0, meta, now);
    }
    const v = this.engine.add(
      {
        key: Ipv6ReassemblyModule.key(p, frag.ident, scope),
        protocol: frag.nextHeader,
        offset: frag.fragOffset,
        more: frag.moreFrags,
        buf: p.buf,
        headerOffset: p.off,
        dataOffset: p.off + dataStart,
        dataLength: p.len - dataStart,
        // Payload Length of the result counts the extension headers before the Fragment header.
        headroom: fh - IPV6_HEADER_LEN,
        meta: { user: meta, fragHeader: fh, nhField },
      },
      now,
    );
    if (v.kind === 'drop') {
      // RFC 8200 §4.5: these two get a Parameter Problem; every other refusal is silent (RFC 5722).
      if (v.reason === 'unaligned') this.hooks.paramProblem?.(p, ParamProblemCode.ERRONEOUS_HEADER_FIELD, Ipv6Field.PAYLOAD_LENGTH, meta, now);
      else if (v.reason === 'too_big') this.hooks.paramProblem?.(p, ParamProblemCode.ERRONEOUS_HEADER_FIELD, fh + Ipv6ExtField.FRAG_OFFSET, meta, now);
      return;
    }
    if (v.kind !== 'complete') return;
    const d = v.datagram;
    const m = d.meta;
    // The unfragmentable part comes from the offset-0 fragment (RFC 8200 §4.5), without its Fragment header.
    const out = new Uint8Array(m.fragHeader + d.length);
    out.set(d.header.subarray(0, m.fragHeader), 0);
    d.writePayload(out, m.fragHeader);
    deliver(finish(out, m.nhField, d.protocol, m.fragHeader));
  }

  private timeExceeded(d: ExpiredDatagram<Ipv6FragmentMeta<M>>, now: Instant): void {
    if (!this.hooks.timeExceeded) return this.ctx.stats.count(IPV6_REASSEMBLY_LAYER, 'time_exceeded_no_hook');
    const quote = new Uint8Array(d.header.length + d.firstData.length);
    quote.set(d.header, 0);
    quote.set(d.firstData, d.header.length);
    this.ctx.stats.count(IPV6_REASSEMBLY_LAYER, 'time_exceeded');
    this.hooks.timeExceeded(quote, d.meta.user, now);
  }
}

/** Offset of the Next Header field naming the Fragment header at `fh`: the previous header's, or the IPv6 header's. */
function nextHeaderFieldOf(chain: Ipv6Chain, fh: number): number {
  let field: number = Ipv6Field.NEXT_HEADER;
  for (const h of chain.headers) {
    if (h.offset === fh) break;
    field = h.offset;
  }
  return field;
}

function finish(out: Uint8Array, nhField: number, nextHeader: number, payloadOffset: number): Ipv6Reassembled {
  out[nhField] = nextHeader;
  writeU16(out, Ipv6Field.PAYLOAD_LENGTH, out.length - IPV6_HEADER_LEN);
  return { packet: out, nextHeader, payloadOffset };
}
