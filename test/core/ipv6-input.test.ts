// Scripted frame-in/frame-out tests of the IPv6 and ICMPv6 modules on one stack: the test owns the
// other end of a memory cable, injects hand-built frames and asserts exactly what comes out.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module, type Icmpv6Options } from '../../src/core/icmpv6.js';
import { type Ipv6FragmentContext, Ipv6Module, type Ipv6Options, linkLocalFromMac } from '../../src/core/ipv6.js';
import { MldModule } from '../../src/core/mld.js';
import { NdpModule } from '../../src/core/ndp.js';
import { createMemoryPair } from '../../src/phy/index.js';
import { type Ipv6Address, formatIpv6, ipv6MulticastMac, parseIpv6 } from '../../src/wire/address.js';
import { readU32 } from '../../src/wire/bytes.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { Ipv6ParamProblem, walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { type ExtSpec, ethernet, ipv6 } from '../support/build-l3.js';
import { icmpv6, ndpNs, ndpOpt } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const MAC_H = 0x02000000000a;
const MAC_P = 0x02000000000b;
const ip = (s: string): Ipv6Address => parseIpv6(s)!;
const H = ip('2001:db8::1');
const P = ip('2001:db8::99');
const P_LL = linkLocalFromMac(MAC_P);
const ALL_NODES = ip('ff02::1');

interface Out {
  dstMac: number;
  src: string;
  dst: string;
  hopLimit: number;
  len: number;
  frag: { offset: number; more: boolean; ident: number } | null;
  icmpType: number;
  icmpCode: number;
  icmpRest: number;
  /** ICMPv6 bytes after the 8-byte header. */
  icmpBody: Uint8Array;
}

function decodeOut(f: Uint8Array): Out {
  const e = EthernetFrame.check(f);
  if (isWireError(e)) throw new Error('bad frame out');
  const p = Ipv6Packet.check(f, e.payloadOffset, e.payloadLength);
  if (isWireError(p)) throw new Error(`bad IPv6 out: ${p}`);
  const c = walkIpv6Chain(p);
  if (c instanceof Ipv6ParamProblem) throw new Error(`bad chain out: ${c}`);
  const u = p.off + c.upperOffset;
  const first = !c.fragment || c.fragment.fragOffset === 0;
  const icmp = c.upperProtocol === 58 && first;
  return {
    dstMac: e.dst,
    src: formatIpv6(p.src),
    dst: formatIpv6(p.dst),
    hopLimit: p.hopLimit,
    len: p.len,
    frag: c.fragment ? { offset: c.fragment.fragOffset, more: c.fragment.moreFrags, ident: c.fragment.ident } : null,
    icmpType: icmp ? f[u]! : -1,
    icmpCode: icmp ? f[u + 1]! : -1,
    icmpRest: icmp ? readU32(f, u + 4) : -1,
    icmpBody: icmp ? f.slice(u + 8, p.off + p.len) : new Uint8Array(0),
  };
}

function echo(o: { src?: Ipv6Address; dst?: Ipv6Address; ident?: number; seq?: number; data?: number[]; type?: number } = {}): Uint8Array {
  return icmpv6({ type: o.type ?? 128, ident: o.ident ?? 0x77, seq: o.seq ?? 1, data: o.data ?? [1, 2, 3, 4], src: o.src ?? P, dst: o.dst ?? H });
}

function host(o: { ipv6?: Partial<Ipv6Options>; icmpv6?: Partial<Icmpv6Options>; addresses?: string[] } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const t = testStack('h', [new Ipv6Module(o.ipv6), new Icmpv6Module(o.icmpv6), new NdpModule(), new MldModule()]);
  const iface = t.stack.addInterface(pair.a, { mac: MAC_H, addresses: o.addresses ?? ['2001:db8::1/64'] }, clock.now);
  runFor(clock, [t.stack], 3000);
  const out = (): Out[] => {
    const r: Out[] = [];
    pair.b.receive(10_000, (f) => r.push(decodeOut(f)));
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
    out,
    inject(l3: Uint8Array, dstMac?: number): void {
      const mac = dstMac ?? (l3[24] === 0xff ? ipv6MulticastMac(l3.subarray(24, 40)) : MAC_H);
      pair.b.transmit(ethernet({ dst: mac, src: MAC_P, ethertype: 0x86dd, payload: l3 }));
      settle(clock, [t.stack]);
    },
    /** Makes P (global and link-local) known to the host's neighbour cache, so replies go straight out. */
    introduce(): void {
      for (const [src, dst] of [[P, H], [P_LL, linkLocalFromMac(MAC_H)]] as const) {
        h.inject(ipv6({ src, dst, hopLimit: 255, nextHeader: 58, payload: ndpNs(dst, [ndpOpt.slla(MAC_P)], { src, dst }) }));
      }
      out();
    },
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

const pkt = (o: { src?: Ipv6Address; dst?: Ipv6Address; ext?: ExtSpec[]; nextHeader?: number; payload?: Uint8Array; hopLimit?: number }) =>
  ipv6({ src: o.src ?? P, dst: o.dst ?? H, hopLimit: o.hopLimit ?? 64, nextHeader: o.nextHeader ?? 58, ...(o.ext ? { ext: o.ext } : {}), payload: o.payload ?? echo({ src: o.src ?? P, dst: o.dst ?? H }) });

describe('IPv6 input: extension headers (RFC 8200 §4)', () => {
  it('unknown Hop-by-Hop option actions (§4.2): 00 skip, 01 silent drop, 10 Param Problem code 2 even to multicast, 11 only to unicast', () => {
    const h = host();
    h.introduce();
    const opt = (t: number) => [{ type: 'hbh' as const, options: Uint8Array.from([t, 2, 0, 0]) }];
    h.inject(pkt({ ext: opt(0x1e) }));
    expect(h.out().map((o) => o.icmpType)).toEqual([129]);
    h.inject(pkt({ ext: opt(0x5e) }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('ipv6', 'bad_option')).toBe(1);
    // Action 10 to ff02::1: Parameter Problem code 2 pointing at the option type (40 + 2).
    h.inject(pkt({ dst: ALL_NODES, ext: opt(0x9e), payload: echo({ dst: ALL_NODES }) }));
    const pp = h.out();
    expect(pp.map((o) => [o.icmpType, o.icmpCode, o.icmpRest, o.dst])).toEqual([[4, 2, 42, '2001:db8::99']]);
    // To a multicast packet the error comes from a selected unicast source (global, for a global destination).
    expect(pp[0]!.src).toBe('2001:db8::1');
    // Action 11 to multicast: silent; to unicast: an error from the address the packet was sent to.
    h.inject(pkt({ dst: ALL_NODES, ext: opt(0xde), payload: echo({ dst: ALL_NODES }) }));
    expect(h.out()).toEqual([]);
    h.inject(pkt({ ext: opt(0xde) }));
    expect(h.out().map((o) => [o.icmpType, o.icmpCode, o.icmpRest, o.src])).toEqual([[4, 2, 42, '2001:db8::1']]);
    h.close();
  });

  it('an unrecognised Next Header gets Parameter Problem code 1 pointing at the field that named it (§4)', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ nextHeader: 253, payload: new Uint8Array(8) }));
    h.inject(pkt({ nextHeader: 253, ext: [{ type: 'dest' }], payload: new Uint8Array(8) }));
    expect(h.out().map((o) => [o.icmpType, o.icmpCode, o.icmpRest])).toEqual([[4, 1, 6], [4, 1, 40]]);
    // The error quotes the offending packet from its first byte.
    expect(h.stats.drops('ipv6', 'unknown_next_header')).toBe(2);
    // No Next Header (59) is simply consumed.
    h.inject(pkt({ nextHeader: 59, ext: [{ type: 'dest' }], payload: new Uint8Array(0) }));
    expect(h.out()).toEqual([]);
    expect(h.stats.get('ipv6', 'no_next_header')).toBe(1);
    h.close();
  });

  it('a Routing header with Segments Left 0 is skipped (§4.4) and the packet delivered', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ ext: [{ type: 'routing', routingType: 0, segmentsLeft: 0 }, { type: 'dest' }] }));
    expect(h.out().map((o) => o.icmpType)).toEqual([129]);
    h.close();
  });

  it('destination filter: not ours, not a joined group, or our tentative address → dropped and counted (RFC 4862 §5.4)', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ dst: ip('2001:db8::55'), payload: echo({ dst: ip('2001:db8::55') }) }));
    // ff05::1 shares ff02::1's MAC (33:33:00:00:00:01), so only the IPv6 group check stops it.
    h.inject(pkt({ dst: ip('ff05::1'), payload: echo({ dst: ip('ff05::1') }) }));
    h.ip.addAddress(h.iface, ip('2001:db8::77'), 64, h.clock.now);
    h.out();
    h.inject(pkt({ dst: ip('2001:db8::77'), payload: echo({ dst: ip('2001:db8::77') }) }));
    expect(h.out()).toEqual([]);
    expect([h.stats.drops('ipv6', 'not_for_us'), h.stats.drops('ipv6', 'not_member'), h.stats.drops('ipv6', 'to_tentative_address')]).toEqual([1, 1, 1]);
    // Multicast and ::1 sources are martians (RFC 4291 §2.7, §2.5.3).
    h.inject(pkt({ src: ip('ff02::1'), payload: echo({ src: ip('ff02::1') }) }));
    h.inject(pkt({ src: ip('::1'), payload: echo({ src: ip('::1') }) }));
    expect([h.stats.drops('ipv6', 'multicast_source'), h.stats.drops('ipv6', 'martian_loopback')]).toEqual([1, 1]);
    h.close();
  });
});

describe('fragments (RFC 8200 §4.5, RFC 6946)', () => {
  it('an atomic fragment (offset 0, M=0) is delivered directly even without reassembly', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ ext: [{ type: 'frag', fragOffset: 0, more: false, ident: 5 }] }));
    expect(h.out().map((o) => [o.icmpType, o.frag])).toEqual([[129, null]]);
    expect(h.stats.get('ipv6', 'rx_atomic_fragments')).toBe(1);
    h.close();
  });

  it('the fragment hook receives real fragments with a context that delivers, and sends Param Problem and Time Exceeded', () => {
    const h = host();
    h.introduce();
    const seen: Array<{ offset: number; ctx: Ipv6FragmentContext; copy: Uint8Array }> = [];
    h.ip.setFragmentHook((p, chain, ctx) => seen.push({ offset: chain.fragment!.fragOffset, ctx, copy: p.buf.slice(p.off, p.off + p.len) }));
    const whole = echo({ data: Array.from({ length: 24 }, (_, i) => i) });
    h.inject(pkt({ ext: [{ type: 'frag', fragOffset: 0, more: true, ident: 9 }], payload: whole.subarray(0, 16) }));
    h.inject(pkt({ ext: [{ type: 'frag', fragOffset: 16, more: false, ident: 9 }], payload: whole.subarray(16) }));
    expect(seen.map((s) => s.offset)).toEqual([0, 16]);
    expect(h.stats.get('ipv6', 'rx_fragments')).toBe(2);
    // The hook reassembles (here: by hand) and delivers a packet without the Fragment header.
    seen[1]!.ctx.deliver(pkt({ payload: whole }), h.clock.now);
    expect(h.out().map((o) => [o.icmpType, o.icmpBody.length])).toEqual([[129, 24]]);
    seen[0]!.ctx.paramProblem(0, 4, h.clock.now);
    seen[0]!.ctx.timeExceeded(h.iface, seen[0]!.copy, h.clock.now);
    const errs = h.out();
    expect(errs.map((o) => [o.icmpType, o.icmpCode, o.icmpRest, o.dst])).toEqual([[4, 0, 4, '2001:db8::99'], [3, 1, 0, '2001:db8::99']]);
    // Time Exceeded quotes the stored first fragment.
    expect(errs[1]!.icmpBody).toEqual(seen[0]!.copy);
    h.close();
  });
});

describe('ICMPv6 errors (RFC 4443 §2.4)', () => {
  it('never about an ICMPv6 error, never to :: or multicast sources', () => {
    const h = host();
    h.introduce();
    const bad = [{ type: 'hbh' as const, options: Uint8Array.from([0xde, 2, 0, 0]) }];
    h.inject(pkt({ ext: bad, payload: icmpv6({ type: 1, code: 4, src: P, dst: H, data: new Uint8Array(40) }) }));
    h.inject(pkt({ src: ip('::'), ext: bad, payload: echo({ src: ip('::') }) }));
    expect(h.out()).toEqual([]);
    expect(h.stats.drops('icmpv6', 'error_suppressed_icmp_error')).toBe(1);
    expect(h.stats.drops('icmpv6', 'error_suppressed_source')).toBe(1);
    h.close();
  });

  it('quotes at most 1232 bytes so the error fits the 1280-byte minimum MTU (§2.4(c))', () => {
    const h = host();
    h.introduce();
    h.inject(pkt({ nextHeader: 253, payload: new Uint8Array(1400) }));
    const [e] = h.out();
    expect(e!.len).toBe(1280);
    expect(e!.icmpBody.length).toBe(1232);
    h.close();
  });

  it('errors are token-bucket rate limited (§2.4(f), E11): burst, then the configured rate', () => {
    const h = host({ icmpv6: { errorRate: 10, errorBurst: 5 } });
    h.introduce();
    for (let i = 0; i < 100; i++) h.inject(pkt({ nextHeader: 253, payload: new Uint8Array(8) }));
    expect(h.out()).toHaveLength(5);
    expect(h.stats.drops('icmpv6', 'error_rate_limited')).toBe(95);
    h.clock.advance(1000);
    for (let i = 0; i < 100; i++) h.inject(pkt({ nextHeader: 253, payload: new Uint8Array(8) }));
    expect(h.out()).toHaveLength(5); // 10/s refilled, capped by the burst of 5
    h.close();
  });

  it('received errors go to the listener of the quoted protocol, only when they quote a packet we sent', () => {
    const h = host();
    h.introduce();
    const reports: Array<[number, number, number, number]> = [];
    h.icmp.onError(17, (r) => reports.push([r.type, r.code, r.quoted.srcPort, r.quoted.dstPort]));
    const udp = Uint8Array.from([0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]);
    const quoted = ipv6({ src: H, dst: P, nextHeader: 17, payload: udp });
    h.inject(pkt({ payload: icmpv6({ type: 1, code: 4, rest: 0, data: quoted, src: P, dst: H }) }));
    const foreign = ipv6({ src: ip('2001:db8::5'), dst: P, nextHeader: 17, payload: udp });
    h.inject(pkt({ payload: icmpv6({ type: 1, code: 4, rest: 0, data: foreign, src: P, dst: H }) }));
    expect(reports).toEqual([[1, 4, 12345, 53]]);
    expect(h.stats.drops('icmpv6', 'error_not_ours')).toBe(1);
    // A bad checksum never reaches anyone.
    const corrupt = icmpv6({ type: 1, code: 4, data: quoted, src: P, dst: H, checksum: 0x1234 });
    h.inject(pkt({ payload: corrupt }));
    expect(h.stats.drops('icmpv6', 'bad_checksum')).toBe(1);
    h.close();
  });
});

describe('Path MTU (RFC 8201) and output fragmentation (RFC 8200 §4.5, RFC 8021)', () => {
  const ptb = (mtu: number, dst = P) =>
    pkt({ payload: icmpv6({ type: 2, rest: mtu, data: ipv6({ src: H, dst, nextHeader: 58, payload: new Uint8Array(1300) }).subarray(0, 200), src: P, dst: H }) });

  it('a Packet Too Big lowers the path MTU; fragments then fit it and share one identification', () => {
    const h = host();
    h.introduce();
    h.inject(ptb(1300));
    expect(h.ip.pathMtu(h.iface, P, h.clock.now)).toBe(1300);
    h.icmp.sendEchoRequest(P, 1, 1, new Uint8Array(1400), h.clock.now);
    const frags = h.out();
    expect(frags.map((o) => [o.len, o.frag!.offset, o.frag!.more])).toEqual([[1296, 0, true], [40 + 8 + 1408 - 1248, 1248, false]]);
    expect(frags[0]!.frag!.ident).toBe(frags[1]!.frag!.ident);
    // Never raised by a later PTB; forgotten after the timeout (10 min).
    h.inject(ptb(1400));
    expect(h.ip.pathMtu(h.iface, P, h.clock.now)).toBe(1300);
    h.clock.advance(600_000);
    expect(h.ip.pathMtu(h.iface, P, h.clock.now)).toBe(1500);
    h.close();
  });

  it('dontFrag refuses oversize packets; unknown networks and foreign sources are refused', () => {
    const h = host();
    const fill = () => {};
    expect(h.ip.send({ dst: P, protocol: 253, dontFrag: true }, 1500, fill, h.clock.now)).toBe('EMSGSIZE');
    expect(h.ip.send({ dst: ip('2001:db9::1'), protocol: 253 }, 10, fill, h.clock.now)).toBe('ENETUNREACH');
    expect(h.ip.send({ dst: P, src: ip('2001:db8::42'), protocol: 253 }, 10, fill, h.clock.now)).toBe('EADDRNOTAVAIL');
    expect(h.ip.send({ dst: P, src: ip('::'), protocol: 253 }, 10, fill, h.clock.now)).toBe('EADDRNOTAVAIL');
    h.close();
  });

  it('the PMTU cache is capped: the oldest entry is evicted', () => {
    const h = host({ icmpv6: { pmtuCacheSize: 4 } });
    h.introduce();
    for (let i = 1; i <= 6; i++) h.inject(ptb(1300, ip(`2001:db8::1:${i}`)));
    expect(h.icmp.pmtuCacheSize).toBe(4);
    expect(h.stats.get('icmpv6', 'pmtu_evicted')).toBe(2);
    expect(h.ip.pathMtu(h.iface, ip('2001:db8::1:1'), h.clock.now)).toBe(1500);
    expect(h.ip.pathMtu(h.iface, ip('2001:db8::1:6'), h.clock.now)).toBe(1300);
    h.close();
  });
});

describe('source address selection (RFC 6724 §5)', () => {
  it('matches scope, avoids deprecated addresses, prefers the longest matching prefix', () => {
    const h = host({ addresses: ['2001:db8::1/64', '2001:db8:0:1::1/64', 'fd00::1/64'] });
    const sel = (d: string) => formatIpv6(h.ip.selectSource(h.iface, ip(d))!);
    expect(sel('fe80::99')).toBe(formatIpv6(linkLocalFromMac(MAC_H)));
    expect(sel('ff02::16')).toBe(formatIpv6(linkLocalFromMac(MAC_H)));
    expect(sel('2001:db8:0:1::5')).toBe('2001:db8:0:1::1');
    expect(sel('fd00::9')).toBe('fd00::1');
    h.ip.setLifetimes(h.iface, ip('2001:db8:0:1::1'), h.clock.now, h.clock.now + 1e9 as never, h.clock.now);
    runFor(h.clock, [h.t.stack], 1);
    expect(h.ip.findAddress(h.iface, ip('2001:db8:0:1::1'))!.state).toBe('deprecated');
    expect(sel('2001:db8:0:1::5')).not.toBe('2001:db8:0:1::1');
    h.close();
  });
});
