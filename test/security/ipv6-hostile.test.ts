// SECURITY-CASES §5 H20–H30 and H53 (MLD part), and §6 E7, against a stack running ipv6, icmpv6,
// ndp, mld and slaac. Each case injects the exact hostile bytes, asserts the drop (and its counted
// reason) or the prescribed ICMPv6 answer, and then a liveness check: a valid echo is still answered.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module } from '../../src/core/icmpv6.js';
import { Ipv6Module, linkLocalFromMac } from '../../src/core/ipv6.js';
import { MldModule } from '../../src/core/mld.js';
import { NdpModule } from '../../src/core/ndp.js';
import { SlaacModule } from '../../src/core/slaac.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { type Ipv6Address, formatIpv6, ipv6MulticastMac, parseIpv6 } from '../../src/wire/address.js';
import { readU32 } from '../../src/wire/bytes.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { Ipv6ParamProblem, walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { type ExtSpec, ethernet, ipv6 } from '../support/build-l3.js';
import { concat, icmpv6, mldV2Query, ndpNa, ndpNs, ndpOpt, ndpOption, ndpRa } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const MAC_H = 0x02000000000a;
const MAC_P = 0x02000000000b;
const ip = (s: string): Ipv6Address => parseIpv6(s)!;
const H = ip('2001:db8::1');
const P = ip('2001:db8::99');
const P_LL = linkLocalFromMac(MAC_P);
const ALL_NODES = ip('ff02::1');

interface Out {
  dst: string;
  src: string;
  len: number;
  frag: boolean;
  icmpType: number;
  icmpCode: number;
  icmpRest: number;
}

function decodeOut(f: Uint8Array): Out {
  const e = EthernetFrame.check(f);
  if (isWireError(e)) throw new Error('bad frame');
  const p = Ipv6Packet.check(f, e.payloadOffset, e.payloadLength);
  if (isWireError(p)) throw new Error(`stack emitted malformed IPv6: ${p}`);
  const c = walkIpv6Chain(p);
  if (c instanceof Ipv6ParamProblem) throw new Error(`stack emitted a bad chain: ${c}`);
  const u = p.off + c.upperOffset;
  const icmp = c.upperProtocol === 58 && (!c.fragment || c.fragment.fragOffset === 0);
  return {
    dst: formatIpv6(p.dst),
    src: formatIpv6(p.src),
    len: p.len,
    frag: c.fragment !== null,
    icmpType: icmp ? f[u]! : -1,
    icmpCode: icmp ? f[u + 1]! : -1,
    icmpRest: icmp ? readU32(f, u + 4) : -1,
  };
}

const echo = (o: { src?: Ipv6Address; dst?: Ipv6Address; seq?: number } = {}) =>
  icmpv6({ type: 128, ident: 0x77, seq: o.seq ?? 1, data: [1, 2, 3, 4], src: o.src ?? P, dst: o.dst ?? H });

const pkt = (o: { src?: Ipv6Address; dst?: Ipv6Address; ext?: ExtSpec[]; nextHeader?: number; payload?: Uint8Array; hopLimit?: number; payloadLength?: number }) =>
  ipv6({
    src: o.src ?? P,
    dst: o.dst ?? H,
    hopLimit: o.hopLimit ?? 64,
    nextHeader: o.nextHeader ?? 58,
    ...(o.ext ? { ext: o.ext } : {}),
    ...(o.payloadLength !== undefined ? { payloadLength: o.payloadLength } : {}),
    payload: o.payload ?? echo({ src: o.src ?? P, dst: o.dst ?? H }),
  });

/** An NDP message from `src` to `dst` with hop limit 255 unless overridden. */
const nd = (body: (s: { src: Ipv6Address; dst: Ipv6Address }) => Uint8Array, o: { src?: Ipv6Address; dst?: Ipv6Address; hopLimit?: number } = {}) => {
  const src = o.src ?? P_LL;
  const dst = o.dst ?? ALL_NODES;
  return ipv6({ src, dst, hopLimit: o.hopLimit ?? 255, nextHeader: 58, payload: body({ src, dst }) });
};

function host(o: { ndp?: ConstructorParameters<typeof NdpModule>[0]; slaac?: boolean } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const mods = [new Ipv6Module(), new Icmpv6Module(), new NdpModule(o.ndp), new MldModule(), ...(o.slaac ? [new SlaacModule()] : [])];
  const t = testStack('hostile', mods);
  const iface = t.stack.addInterface(pair.a, { mac: MAC_H, addresses: ['2001:db8::1/64'] }, clock.now);
  runFor(clock, [t.stack], 3000);
  const out = (): Out[] => {
    const r: Out[] = [];
    pair.b.receive(100_000, (f) => r.push(decodeOut(f)));
    return r;
  };
  out();
  const h = {
    clock,
    t,
    iface,
    stats: t.stack.stats,
    ip: t.stack.module<Ipv6Module>('ipv6')!,
    icmp: t.stack.module<Icmpv6Module>('icmpv6')!,
    ndp: t.stack.module<NdpModule>('ndp')!,
    slaac: t.stack.module<SlaacModule>('slaac'),
    out,
    inject(l3: Uint8Array, srcMac = MAC_P): void {
      const mac = l3[24] === 0xff ? ipv6MulticastMac(l3.subarray(24, 40)) : MAC_H;
      pair.b.transmit(ethernet({ dst: mac, src: srcMac, ethertype: 0x86dd, payload: l3 }));
      settle(clock, [t.stack]);
    },
    introduce(): void {
      h.inject(ipv6({ src: P, dst: H, hopLimit: 255, nextHeader: 58, payload: ndpNs(H, [ndpOpt.slla(MAC_P)], { src: P, dst: H }) }));
      out();
    },
    /** Liveness: a valid echo request is still answered. */
    alive(seq = 99): void {
      h.inject(pkt({ payload: echo({ seq }) }));
      const replies = out().filter((x) => x.icmpType === 129 && x.dst === formatIpv6(P));
      expect(replies.length).toBe(1);
    },
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

describe('H21 IPv6 Payload Length (CVE-2020-17441)', () => {
  it('longer than the frame, or 0 without Jumbo: dropped; shorter than the frame: trimmed and processed', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ payloadLength: 1000 }));
    h.inject(pkt({ payloadLength: 0 }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('ipv6', 'malformed_payload_length')).toBe(2);
    // Trailing link padding beyond Payload Length is ignored (checksum over PL bytes only).
    h.inject(concat(pkt({}), new Uint8Array([0xde, 0xad, 0xbe, 0xef])));
    expect(h.out().map((x) => x.icmpType)).toEqual([129]);
    // Payload shorter than the header chain it announces: silent drop.
    h.inject(pkt({ ext: [{ type: 'dest', hdrExtLen: 3 }], payload: new Uint8Array(0) }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('ipv6', 'bad_hdr_ext_len')).toBe(1);
    h.alive();
    h.close();
  });
});

describe('H22 Hop-by-Hop option lengths (CVE-2020-17442)', () => {
  it('PadN running past the header: silent drop; Jumbo type c2 with length 0: Param Problem to unicast only', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ ext: [{ type: 'hbh', options: Uint8Array.from([0x01, 0x0a, 0, 0, 0, 0]) }] }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('ipv6', 'bad_option')).toBe(1);
    h.inject(pkt({ ext: [{ type: 'hbh', options: Uint8Array.from([0xc2, 0x00, 0x01, 0x02, 0, 0]) }] }));
    expect(h.out().map((x) => [x.icmpType, x.icmpCode, x.icmpRest])).toEqual([[4, 0, 43]]);
    h.inject(pkt({ dst: ALL_NODES, ext: [{ type: 'hbh', options: Uint8Array.from([0xc2, 0x00, 0x01, 0x02, 0, 0]) }], payload: echo({ dst: ALL_NODES }) }));
    expect(h.out()).toEqual([]);
    h.alive();
    h.close();
  });
});

describe('H23 extension header chain (CVE-2020-17444/-17445, RFC 8200 §4.1)', () => {
  it('(a) HbH after DestOpt → Param Problem code 1 at the Next Header naming it; (b,c) oversize Hdr Ext Len → drop; (d) 200 headers → bounded drop', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ ext: [{ type: 'dest' }, { type: 'hbh' }] }));
    expect(h.out().map((x) => [x.icmpType, x.icmpCode, x.icmpRest])).toEqual([[4, 1, 40]]);
    h.inject(pkt({ ext: [{ type: 'dest', hdrExtLen: 31 }], payload: new Uint8Array(40) }));
    h.inject(pkt({ ext: [{ type: 'dest', hdrExtLen: 255 }], payload: new Uint8Array(150) }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('ipv6', 'bad_hdr_ext_len')).toBe(2);
    const many: ExtSpec[] = Array.from({ length: 200 }, () => ({ type: 'dest' as const }));
    h.inject(pkt({ ext: many }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('ipv6', 'bad_next_header')).toBe(1);
    h.alive();
    h.close();
  });
});

describe('H24 Routing header type 0 (RFC 5095)', () => {
  it('Segments Left 1 → Param Problem code 0 at the Routing Type; Segments Left 0 → ignored and delivered', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ ext: [{ type: 'routing', routingType: 0, segmentsLeft: 1 }] }));
    expect(h.out().map((x) => [x.icmpType, x.icmpCode, x.icmpRest])).toEqual([[4, 0, 42]]);
    expect(h.stats.drops('ipv6', 'bad_routing_type')).toBe(1);
    h.inject(pkt({ ext: [{ type: 'routing', routingType: 0, segmentsLeft: 0 }] }));
    expect(h.out().map((x) => x.icmpType)).toEqual([129]);
    h.alive();
    h.close();
  });
});

describe('H25 first fragment without the upper-layer header (RFC 7112)', () => {
  it('is dropped with Param Problem code 3, pointer 0', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ ext: [{ type: 'frag', fragOffset: 0, more: true }, { type: 'dest' }], nextHeader: 6, payload: new Uint8Array(0) }));
    expect(h.out().map((x) => [x.icmpType, x.icmpCode, x.icmpRest])).toEqual([[4, 3, 0]]);
    expect(h.stats.drops('ipv6', 'incomplete_header_chain')).toBe(1);
    h.alive();
    h.close();
  });
});

describe('H26 bad fragments (RFC 5722, RFC 8200 §4.5)', () => {
  it('(a) overlapping fragments are dropped without ICMP; (b) M=1 with 1001 bytes → pointer 4; (c) offset 65528 + 16 → pointer at the offset', () => {
    const h = host();
    h.introduce();
    const f = (off: number, more: boolean, n: number) => pkt({ ext: [{ type: 'frag', fragOffset: off, more, ident: 0x44 }], nextHeader: 17, payload: new Uint8Array(n) });
    h.inject(f(0, true, 1000));
    h.inject(f(504, true, 1000));
    h.inject(f(1504, false, 496));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('ipv6', 'fragment_no_reassembly')).toBe(3);
    h.inject(f(0, true, 1001));
    h.inject(f(65528, false, 16));
    expect(h.out().map((x) => [x.icmpType, x.icmpCode, x.icmpRest])).toEqual([[4, 0, 4], [4, 0, 42]]);
    h.alive();
    h.close();
  });
});

describe('H27 atomic fragments (RFC 6946, RFC 8021)', () => {
  it('an atomic fragment is delivered alone; after a PTB of 500 the stack still never emits one', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ ext: [{ type: 'frag', fragOffset: 0, more: false, ident: 0x44 }] }));
    expect(h.out().map((x) => [x.icmpType, x.frag])).toEqual([[129, false]]);
    const quoted = ipv6({ src: H, dst: P, nextHeader: 58, payload: new Uint8Array(64) });
    h.inject(pkt({ payload: icmpv6({ type: 2, rest: 500, data: quoted, src: P, dst: H }) }));
    expect(h.ip.pathMtu(h.iface, P, h.clock.now)).toBe(1280);
    h.icmp.sendEchoRequest(P, 1, 1, new Uint8Array(1000), h.clock.now);
    h.icmp.sendEchoRequest(P, 1, 2, new Uint8Array(1300), h.clock.now);
    const sent = h.out();
    expect(sent.map((x) => [x.len, x.frag])).toEqual([[1048, false], [1280, true], [40 + 8 + 1308 - 1232, true]]);
    h.alive();
    h.close();
  });
});

describe('H28 errors to multicast and PTB floor (RFC 4443 §2.4(e), RFC 8201)', () => {
  it('no Destination Unreachable about a packet to ff02::1; PMTU never below 1280', () => {
    const h = host();
    h.introduce();
    // A stand-in UDP with no sockets: every datagram gets port unreachable.
    h.ip.registerProtocol(17, (_b, _o, _l, info, now) => h.icmp.sendError(1, 4, 0, info, now));
    const udp = Uint8Array.from([0x30, 0x39, 0x04, 0xd2, 0, 8, 0, 0]);
    h.inject(pkt({ dst: ALL_NODES, nextHeader: 17, payload: udp }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('icmpv6', 'error_suppressed_multicast')).toBe(1);
    h.inject(pkt({ nextHeader: 17, payload: udp }));
    expect(h.out().map((x) => [x.icmpType, x.icmpCode])).toEqual([[1, 4]]);
    const quoted = ipv6({ src: H, dst: P, nextHeader: 17, payload: udp });
    h.inject(pkt({ payload: icmpv6({ type: 2, rest: 500, data: quoted, src: P, dst: H }) }));
    h.inject(pkt({ payload: icmpv6({ type: 2, rest: 0, data: quoted, src: P, dst: H }) }));
    expect(h.ip.pathMtu(h.iface, P, h.clock.now)).toBe(1280);
    h.alive();
    h.close();
  });
});

describe('H29 short ICMPv6 echo (CVE-2020-17443)', () => {
  it('an echo request of 4 bytes is dropped silently', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ payload: icmpv6({ type: 128, body: [], src: P, dst: H }) }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('icmpv6', 'malformed')).toBe(1);
    h.alive();
    h.close();
  });
});

describe('H30 NDP validation (RFC 4861 §4.6, §6.1.2, §7.1)', () => {
  it('hop limit 64, prefix option of length 0, option past the end, RA from a global source: all dropped, nothing learnt', () => {
    const h = host();
    h.introduce();
    const ra = (opts: Uint8Array[]) => (s: { src: Ipv6Address; dst: Ipv6Address }) => ndpRa({}, opts, s);
    h.inject(nd((s) => ndpNs(H, [ndpOpt.slla(0x020000000077)], s), { src: ip('2001:db8::77'), dst: H, hopLimit: 64 }));
    h.inject(nd((s) => ndpNa(0x20, P, [ndpOpt.tlla(0x020000000066)], s), { src: P, dst: H, hopLimit: 64 }));
    h.inject(nd(ra([]), { hopLimit: 64 }));
    expect(h.stats.drops('ndp', 'bad_hop_limit')).toBe(3);
    h.inject(nd(ra([ndpOption(3, new Uint8Array(30), 0)])));
    h.inject(nd(ra([ndpOption(1, [1, 2, 3, 4, 5, 6], 4)])));
    expect(h.stats.drops('ndp', 'malformed_option_length')).toBe(2);
    h.inject(nd(ra([]), { src: ip('2001:db8::1:1') }));
    expect(h.stats.drops('ndp', 'ra_source_not_link_local')).toBe(1);
    expect(h.out()).toEqual([]);
    expect(h.ndp.defaultRouters(h.iface)).toEqual([]);
    expect(h.ndp.neighbor(h.iface, ip('2001:db8::77'))).toBeUndefined();
    expect(h.ndp.neighbor(h.iface, P)!.mac).toBe(MAC_P);
    // Positive control: the same RA with hop limit 255 from the link-local source is accepted.
    h.inject(nd(ra([])));
    expect(h.ndp.defaultRouters(h.iface)).toHaveLength(1);
    h.alive();
    h.close();
  });

  it('DAD NS rules: from :: it must go to the solicited-node group and carry no SLLA', () => {
    const h = host();
    h.introduce();
    h.inject(nd((s) => ndpNs(H, [], s), { src: ip('::'), dst: H }));
    h.inject(nd((s) => ndpNs(H, [ndpOpt.slla(0x020000000077)], s), { src: ip('::'), dst: ip('ff02::1:ff00:1') }));
    expect([h.stats.drops('ndp', 'dad_ns_bad_destination'), h.stats.drops('ndp', 'dad_ns_with_slla')]).toEqual([1, 1]);
    expect(h.out()).toEqual([]);
    expect(h.ip.findAddress(h.iface, H)!.state).toBe('preferred');
    h.alive();
    h.close();
  });
});

describe('H20 Redirect (RFC 4861 §8.1)', () => {
  const redirect = (target: Ipv6Address, dest: Ipv6Address, tlla?: number) => (s: { src: Ipv6Address; dst: Ipv6Address }) =>
    icmpv6({ ...s, type: 137, body: concat([0, 0, 0, 0], target, dest, tlla !== undefined ? ndpOpt.tlla(tlla) : []) });
  const R2 = linkLocalFromMac(0x0200000000cc);

  it('ignored unless from the current first-hop router and to an on-link target; a valid one installs a host route', () => {
    const h = host();
    h.introduce();
    h.inject(nd((s) => ndpRa({ routerLifetime: 1800 }, [ndpOpt.slla(MAC_P)], s)));
    const far = ip('2001:db8:ff::1');
    // From a node that is not our router for `far`.
    h.inject(nd(redirect(R2, far), { src: R2, dst: linkLocalFromMac(MAC_H) }), 0x0200000000cc);
    // From our router, but to an off-link (global) target.
    h.inject(nd(redirect(ip('2001:db8:5::1'), far), { dst: linkLocalFromMac(MAC_H) }));
    // From a global source.
    h.inject(nd(redirect(R2, far), { src: P, dst: H }));
    expect([h.stats.drops('ndp', 'redirect_not_from_first_hop'), h.stats.drops('ndp', 'redirect_target_not_link_local'), h.stats.drops('ndp', 'redirect_source_not_link_local')]).toEqual([1, 1, 1]);
    let r = h.ip.route(far);
    expect(typeof r !== 'string' && formatIpv6(r.nextHop)).toBe(formatIpv6(P_LL));
    // Positive control.
    h.inject(nd(redirect(R2, far, 0x0200000000cc), { dst: linkLocalFromMac(MAC_H) }));
    r = h.ip.route(far);
    expect(typeof r !== 'string' && formatIpv6(r.nextHop)).toBe(formatIpv6(R2));
    expect(h.ndp.neighbor(h.iface, R2)!.mac).toBe(0x0200000000cc);
    h.alive();
    h.close();
  });
});

describe('H53 MLD queries (RFC 3810 §5.1.14)', () => {
  it('from a non-link-local source, with hop limit 255, or with 0xffff sources and none present: ignored; a valid query is answered', () => {
    const h = host();
    h.introduce();
    const mq = (q: Parameters<typeof mldV2Query>[0], src = P_LL, hop = 1) => ipv6({ src, dst: ALL_NODES, hopLimit: hop, nextHeader: 58, payload: mldV2Query(q, { src, dst: ALL_NODES }) });
    h.inject(mq({ maxResp: 100 }, P));
    h.inject(mq({ maxResp: 100 }, P_LL, 255));
    h.inject(mq({ maxResp: 100, nsrc: 0xffff }));
    h.inject(ipv6({ src: P_LL, dst: ALL_NODES, hopLimit: 1, nextHeader: 58, payload: icmpv6({ type: 130, body: [0, 0, 0, 0, 0, 0], src: P_LL, dst: ALL_NODES }) }));
    runFor(h.clock, [h.t.stack], 2000);
    expect(h.out()).toEqual([]);
    expect([h.stats.drops('mld', 'source_not_link_local'), h.stats.drops('mld', 'bad_hop_limit'), h.stats.drops('mld', 'malformed_number_of_sources'), h.stats.drops('mld', 'malformed_length')]).toEqual([1, 1, 1, 1]);
    h.inject(mq({ maxResp: 100 }));
    runFor(h.clock, [h.t.stack], 200);
    expect(h.out().map((x) => [x.icmpType, x.dst])).toEqual([[143, 'ff02::16']]);
    h.alive();
    h.close();
  });
});

describe('E7 NDP exhaustion (RFC 6583)', () => {
  it('a 1,000,000-address scan of the on-link /64: INCOMPLETE entries capped, NS rate-limited, memory flat, then recovery', () => {
    const h = host();
    const o = h.ndp.options;
    const dst = ip('2001:db8::10:0:0:0');
    h.t.pool.enabled = false; // no stack capture per buffer in the bulk loop (still counted)
    const start = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      dst[12] = (i >>> 24) & 0xff;
      dst[13] = (i >>> 16) & 0xff;
      dst[14] = (i >>> 8) & 0xff;
      dst[15] = i & 0xff;
      h.ip.send({ dst, protocol: 253 }, 8, () => {}, h.clock.now);
      if (h.ndp.incompleteCount > o.maxIncomplete || h.ndp.size > o.maxEntries) throw new Error('cap broken');
    }
    const ms = performance.now() - start;
    h.t.pool.enabled = true;
    expect(ms).toBeLessThan(30_000);
    expect(h.ndp.incompleteCount).toBe(o.maxIncomplete);
    expect(h.stats.drops('ndp', 'incomplete_cap')).toBe(1_000_000 - o.maxIncomplete);
    expect(h.stats.get('ndp', 'ns_sent')).toBe(o.nsBurst);
    expect(h.out()).toHaveLength(o.nsBurst);
    // Over time: at most nsRate solicitations per second while the entries retry and fail.
    runFor(h.clock, [h.t.stack], 1000);
    expect(h.out().length).toBeLessThanOrEqual(o.nsRate + 1);
    runFor(h.clock, [h.t.stack], 4000);
    h.out();
    expect(h.ndp.incompleteCount).toBe(0);
    expect(h.t.pool.inUse).toBe(0);
    // Recovery: a real neighbour resolves.
    h.icmp.sendEchoRequest(P, 5, 1, new Uint8Array(4), h.clock.now);
    const ns = h.out().filter((x) => x.icmpType === 135);
    expect(ns).toHaveLength(1);
    h.inject(nd((s) => ndpNa(0x60, P, [ndpOpt.tlla(MAC_P)], s), { src: P, dst: H }));
    expect(h.out().map((x) => x.icmpType)).toEqual([128]);
    h.alive();
    h.close();
  }, 60_000);

  it('20,000 echo requests from spoofed on-link sources: replies wait for resolution within the caps', () => {
    const h = host();
    const o = h.ndp.options;
    h.t.pool.enabled = false;
    for (let i = 0; i < 20_000; i++) {
      const src = ip(`2001:db8::a:${(i >>> 8).toString(16)}:${(i & 0xff).toString(16)}`);
      h.inject(pkt({ src, payload: echo({ src }) }));
    }
    h.t.pool.enabled = true;
    expect(h.ndp.incompleteCount).toBeLessThanOrEqual(o.maxIncomplete);
    expect(h.stats.get('ndp', 'ns_sent')).toBeLessThanOrEqual(o.nsBurst);
    expect(h.out().length).toBeLessThanOrEqual(o.nsBurst);
    runFor(h.clock, [h.t.stack], 5000);
    expect(h.ndp.incompleteCount).toBe(0);
    h.introduce();
    h.alive();
    h.close();
  }, 60_000);

  it('10,000 RAs with distinct routers and prefixes: ≤ 8 routers, ≤ 64 prefixes, ≤ 16 SLAAC addresses, bounded cache', () => {
    const h = host({ slaac: true });
    const o = h.ndp.options;
    for (let i = 0; i < 10_000; i++) {
      const mac = 0x020000100000 + i;
      const src = linkLocalFromMac(mac);
      const prefix = ip(`2001:db8:${(i + 0x100).toString(16)}::`);
      h.inject(nd((s) => ndpRa({ routerLifetime: 1800 }, [ndpOpt.slla(mac), ndpOpt.prefix({ prefix })], s), { src }), mac);
      // Prefix-only RAs (router lifetime 0) are not stopped by the router cap: the prefix caps hold.
      const src2 = linkLocalFromMac(mac + 0x10000);
      h.inject(nd((s) => ndpRa({ routerLifetime: 0 }, [ndpOpt.prefix({ prefix: ip(`2001:db9:${i.toString(16)}::`) })], s), { src: src2 }), mac + 0x10000);
    }
    runFor(h.clock, [h.t.stack], 3000);
    h.out();
    expect(h.ndp.defaultRouters(h.iface)).toHaveLength(o.maxRouters);
    expect(h.ndp.prefixes(h.iface)).toHaveLength(o.maxPrefixes);
    expect(h.slaac!.addresses(h.iface)).toHaveLength(16);
    expect(h.ndp.size).toBeLessThanOrEqual(o.maxEntries);
    expect(h.t.stack.routes6.list().length).toBeLessThanOrEqual(o.maxRouters + o.maxPrefixes + 2);
    expect(h.stats.drops('ndp', 'router_list_full')).toBe(10_000 - o.maxRouters);
    expect(h.stats.drops('slaac', 'address_cap')).toBeGreaterThan(0);
    h.introduce();
    h.alive();
    h.close();
  }, 60_000);
});

