import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NdpPacket, NdpRepr, ndpFixedLen } from '../../src/wire/ndp.js';
import { Icmpv6Packet } from '../../src/wire/icmpv6.js';
import { EmitError, isWireError } from '../../src/wire/error.js';
import { hex } from '../../src/wire/bytes.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { pseudoHeaderSumV6 } from '../../src/checksum/internet.js';
import { parseIpv6 } from '../../src/wire/address.js';
import type { Ipv6Address } from '../../src/wire/address.js';
import { V6_DST, V6_SRC, concat, l4FromFrame, ndpNa, ndpNs, ndpOpt, ndpOption, ndpRa, ndpRs, u32 } from '../support/build-l4.js';

// tcpdump__icmpv6.pcap frame 1: RA with Prefix, RDNSS, DNSSL, MTU, SLLA, Adv. Interval (7), Home Agent (8).
const RA_FULL =
  '333300000001b09928c8d66c86dd6000000000b03afffe80000000000000b29928fffec8d66cff020000000000000000000000000001860024014020000f0000000000000000030448c000278d0000093a8000000000222233334444555566000000000000001905000000000005abcd000000000000000000000000efef123456780000000000000000000000011f07000000000005076578616d706c6503636f6d00076578616d706c65036f72670004646f6d3104646f6d3203746c64000000000000000005010000000000640101b09928c8d66c070100000000138808010000c351000f';
// tcpdump__icmpv6-ra-pref64.pcap frame 1: RA with SLLA, Prefix and PREF64 (38).
const RA_PREF64 =
  '333300000001e21581b4b94586dd6009fc7200483afffe80000000000000e01581fffeb4b945ff020000000000000000000000000001860015e8504001f400000000000000000101e21581b4b9450304408000000e10000007080000000020010db800cc00dd00000000000000002602000020010db800010064ff9b0000';
// recorded__dnsmasq_dhcp4_dhcp6_ra_dns.pcap frame 11 (dnsmasq RA, M+O, RDNSS) and frame 8 (RS).
const RA_DNSMASQ =
  '02000000000b02000000000a86dd6c03af2100583aff20010db8000000000000000000000001fe80000000000000000000fffe00000b86004d8340c0000000000000000000000304408000000e1000000e100000000020010db800000000000000000000000005010000000005dc010102000000000a1903000000000e10fe80000000000000000000fffe00000a';
const RS_DNSMASQ =
  '33330000000202000000000b86dd6000000000103afffe80000000000000000000fffe00000bff02000000000000000000000000000285007b1800000000010102000000000b';
// tcpdump__icmpv6-ns-nonce.pcap frame 1 (DAD NS with nonce); PcapPlusPlus__IcmpV6_NeighAdvSoli.pcap frame 2 (NA R,O + TLLA).
const NS_NONCE =
  '3333ffe1000f566ff7e1000f86dd6000000000203aff00000000000000000000000000000000ff0200000000000000000001ffe1000f8700566e00000000fe80000000000000546ff7fffee1000f0e016069604c0aaa';
const NA =
  '333300000001c20054f5000086dd6e00000000203afffe80000000000000c00054fffef50000ff02000000000000000000000000000188009abba0000000fe80000000000000c00054fffef500000201c20054f50000';

const ip6 = (s: string): Ipv6Address => parseIpv6(s)!;

function checked(b: Uint8Array, off = 0, len = b.length - off): NdpPacket {
  const p = NdpPacket.check(b, off, len);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

/** Checks a captured frame's ICMPv6 checksum (so the hex is exact) and returns the NDP view. */
function captured(frameHex: string) {
  const s = l4FromFrame(frameHex);
  const icmp = Icmpv6Packet.check(s.frame, s.off, s.len) as Icmpv6Packet;
  const ps = pseudoHeaderSumV6(s.src as Ipv6Address, s.dst as Ipv6Address, 58, s.len);
  expect(icmp.verifyChecksum(tsChecksum, ps)).toBe(true);
  return { s, p: checked(s.frame, s.off, s.len), ps };
}

describe('ndp', () => {
  it('reads an RA with prefix, RDNSS, DNSSL, MTU and SLLA as tshark shows it', () => {
    const { p } = captured(RA_FULL);
    expect([p.type, p.curHopLimit, p.raFlags, p.managed, p.other, p.routerPreference]).toEqual([134, 64, 0x20, false, false, 0]);
    expect([p.routerLifetime, p.reachableTime, p.retransTimer]).toEqual([15, 0, 0]);
    const o = p.options();
    expect(o.prefixes).toEqual([
      { prefixLength: 72, onLink: true, autonomous: true, validLifetime: 2592000, preferredLifetime: 604800, prefix: ip6('2222:3333:4444:5555:6600::') },
    ]);
    expect(o.rdnss).toEqual([{ lifetime: 5, servers: [ip6('abcd::efef'), ip6('1234:5678::1')] }]);
    expect(o.dnssl).toEqual([{ lifetime: 5, domains: ['example.com', 'example.org', 'dom1.dom2.tld'] }]);
    expect(o.mtu).toBe(100);
    expect(o.sourceLinkAddr).toBe(0xb09928c8d66c);
    expect(o.unknown.map((u) => [u.type, u.length])).toEqual([
      [7, 8],
      [8, 8],
    ]);
    expect(o.malformed).toEqual([]);
  });

  it('skips the PREF64 option (38) and still reads the prefix after SLLA', () => {
    const { p } = captured(RA_PREF64);
    expect([p.curHopLimit, p.other, p.managed, p.routerLifetime]).toEqual([80, true, false, 500]);
    const o = p.options();
    expect(o.sourceLinkAddr).toBe(0xe21581b4b945);
    expect(o.prefixes).toEqual([
      { prefixLength: 64, onLink: true, autonomous: false, validLifetime: 3600, preferredLifetime: 1800, prefix: ip6('2001:db8:cc:dd::') },
    ]);
    expect(o.unknown).toEqual([{ type: 38, offset: 56, length: 16 }]);
  });

  it('reads the dnsmasq RA (M and O set, MTU, RDNSS)', () => {
    const { p } = captured(RA_DNSMASQ);
    const r = NdpRepr.parse(p);
    expect(r).toEqual({
      kind: 'routerAdvert',
      curHopLimit: 64,
      managed: true,
      other: true,
      routerPreference: 0,
      routerLifetime: 0,
      reachableTime: 0,
      retransTimer: 0,
      sourceLinkAddr: 0x02000000000a,
      mtu: 1500,
      prefixes: [{ prefixLength: 64, onLink: true, autonomous: false, validLifetime: 3600, preferredLifetime: 3600, prefix: ip6('2001:db8::') }],
      rdnss: [{ lifetime: 3600, servers: [ip6('fe80::ff:fe00:a')] }],
      dnssl: [],
    });
    // Our option order differs from dnsmasq's, so compare through a second parse.
    const b = new Uint8Array(NdpRepr.bufferLen(r));
    expect(b.length).toBe(p.len);
    NdpRepr.emit(r, b, 0);
    expect(NdpRepr.parse(checked(b))).toEqual(r);
  });

  it('reads the DAD NS nonce and NA flags, and emit reproduces both captures and the RS exactly', () => {
    const ns = captured(NS_NONCE);
    const nsr = NdpRepr.parse(ns.p);
    expect(nsr).toEqual({ kind: 'neighborSolicit', target: ip6('fe80::546f:f7ff:fee1:f'), nonce: Uint8Array.from([0x60, 0x69, 0x60, 0x4c, 0x0a, 0xaa]) });

    const na = captured(NA);
    expect([na.p.router, na.p.solicited, na.p.override]).toEqual([true, false, true]);
    const nar = NdpRepr.parse(na.p);
    expect(nar).toEqual({ kind: 'neighborAdvert', router: true, solicited: false, override: true, target: ip6('fe80::c000:54ff:fef5:0'), targetLinkAddr: 0xc20054f50000 });

    const rs = captured(RS_DNSMASQ);
    expect(NdpRepr.parse(rs.p)).toEqual({ kind: 'routerSolicit', sourceLinkAddr: 0x02000000000b });

    for (const c of [ns, na, rs]) {
      const r = NdpRepr.parse(c.p);
      const out = new Uint8Array(NdpRepr.bufferLen(r));
      NdpRepr.emit(r, out, 0, tsChecksum, c.ps);
      expect(hex(out)).toBe(hex(c.s.frame, c.s.off, c.s.len));
    }
  });

  it('validates each fixed part by length and rejects non-NDP types', () => {
    expect([133, 134, 135, 136, 137, 128].map(ndpFixedLen)).toEqual([8, 16, 24, 24, 40, -1]);
    for (const t of [133, 134, 135, 136, 137]) {
      const full = concat([t, 0, 0, 0], new Uint8Array(ndpFixedLen(t) - 4));
      expect(isWireError(NdpPacket.check(full))).toBe(false);
      const r = NdpPacket.check(full, 0, full.length - 1);
      expect(isWireError(r) && r.field).toBe('length');
    }
    expect(isWireError(NdpPacket.check(new Uint8Array([128, 0, 0, 0, 0, 0, 0, 0])))).toBe(true);
    expect(isWireError(NdpPacket.check(new Uint8Array(0)))).toBe(true);
  });

  it('a redirect exposes target, destination and the redirected header option', () => {
    const t = ip6('fe80::99');
    const d = ip6('2001:db8::5');
    const b = concat([137, 0, 0, 0, 0, 0, 0, 0], t, d, ndpOpt.tlla(0x020000000099), ndpOption(4, concat([0, 0, 0, 0, 0, 0], new Uint8Array(40))));
    const p = checked(b);
    expect(p.target).toEqual(t);
    expect(p.destination).toEqual(d);
    const o = p.options();
    expect(o.redirectedHeader).toEqual({ offset: 48 + 8, length: 40 }); // fixed 40 + TLLA 8, data after 8-byte option header
    expect(NdpRepr.parse(p)).toEqual({ kind: 'redirect', target: t, destination: d, targetLinkAddr: 0x020000000099 });
  });

  it('type-specific getters return neutral values for other types', () => {
    const rs = checked(ndpRs());
    expect([rs.curHopLimit, rs.routerLifetime, rs.reachableTime, rs.router, rs.managed]).toEqual([0, 0, 0, false, false]);
    expect(rs.target).toEqual(new Uint8Array(16));
    expect(checked(ndpNs(ip6('fe80::1'))).destination).toEqual(new Uint8Array(16));
  });

  it('ignores known options with wrong lengths and lists them, keeping the rest', () => {
    const b = ndpRa({}, [
      ndpOption(3, new Uint8Array(22)), // prefix info of 24 bytes (length 3)
      ndpOption(3, concat([129, 0xc0], new Uint8Array(28))), // prefix length 129
      ndpOption(5, new Uint8Array(14)), // MTU of 16 bytes
      ndpOption(1, new Uint8Array(14)), // SLLA of 16 bytes
      ndpOption(25, new Uint8Array(6)), // RDNSS without an address (length 1)
      ndpOption(25, new Uint8Array(30)), // RDNSS length 4 (even)
      ndpOption(31, [0, 0, 0, 0, 0, 0]), // DNSSL length 1
      ndpOption(31, concat([0, 0], u32(10), [0xc0, 0x0c, 0, 0, 0, 0, 0, 0])), // compression pointer
      ndpOption(31, concat([0, 0], u32(10), [7, 0x65, 0x78, 0x61, 0, 0, 0, 0])), // label past the end
      ndpOpt.mtu(1280),
      ndpOpt.rdnss(60, ip6('2001:db8::53')),
    ]);
    const o = checked(b).options();
    expect(o.malformed.map((m) => [m.type, m.length])).toEqual([
      [3, 24],
      [3, 32],
      [5, 16],
      [1, 16],
      [25, 8],
      [25, 32],
      [31, 8],
      [31, 16],
      [31, 16],
    ]);
    expect(o.malformed[0]!.offset).toBe(16);
    expect(o.prefixes).toEqual([]);
    expect(o.sourceLinkAddr).toBeUndefined();
    expect(o.mtu).toBe(1280);
    expect(o.rdnss).toEqual([{ lifetime: 60, servers: [ip6('2001:db8::53')] }]);
  });

  it('rejects option length 0 anywhere, an overrun and a trailing byte', () => {
    const ok = ndpNs(ip6('fe80::1'), [ndpOpt.slla(1), ndpOpt.nonce([1, 2, 3, 4, 5, 6])]);
    expect(isWireError(NdpPacket.check(ok))).toBe(false);
    const zeroSecond = ndpNs(ip6('fe80::1'), [ndpOpt.slla(1), ndpOption(14, [1, 2, 3, 4, 5, 6], 0)]);
    const e = NdpPacket.check(zeroSecond);
    expect(isWireError(e) && [e.field, e.offset]).toEqual(['option_length', 33]);
    expect(isWireError(NdpPacket.check(ndpNs(ip6('fe80::1'), [ndpOption(1, [1, 2, 3, 4, 5, 6], 2)])))).toBe(true);
    expect(isWireError(NdpPacket.check(concat(ok, [1])))).toBe(true);
  });

  const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const macA = fc.integer({ min: 0, max: 2 ** 48 - 1 });
  const u32a = fc.integer({ min: 0, max: 0xffffffff });
  const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
  const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
  const reprArb: fc.Arbitrary<NdpRepr> = fc.oneof(
    fc.record({ kind: fc.constant('routerSolicit' as const), sourceLinkAddr: macA }, { requiredKeys: ['kind'] }),
    fc.record(
      {
        kind: fc.constant('routerAdvert' as const),
        curHopLimit: fc.integer({ min: 0, max: 255 }),
        managed: fc.boolean(),
        other: fc.boolean(),
        routerPreference: fc.integer({ min: 0, max: 3 }),
        routerLifetime: fc.integer({ min: 0, max: 0xffff }),
        reachableTime: u32a,
        retransTimer: u32a,
        sourceLinkAddr: macA,
        mtu: u32a,
        prefixes: fc.array(
          fc.record({ prefixLength: fc.integer({ min: 0, max: 128 }), onLink: fc.boolean(), autonomous: fc.boolean(), validLifetime: u32a, preferredLifetime: u32a, prefix: addr }),
          { maxLength: 3 },
        ),
        rdnss: fc.array(fc.record({ lifetime: u32a, servers: fc.array(addr, { minLength: 1, maxLength: 3 }) }), { maxLength: 2 }),
        dnssl: fc.array(fc.record({ lifetime: u32a, domains: fc.array(domain, { minLength: 1, maxLength: 3 }) }), { maxLength: 2 }),
      },
      { requiredKeys: ['kind', 'curHopLimit', 'managed', 'other', 'routerPreference', 'routerLifetime', 'reachableTime', 'retransTimer', 'prefixes', 'rdnss', 'dnssl'] },
    ),
    fc.record(
      { kind: fc.constant('neighborSolicit' as const), target: addr, sourceLinkAddr: macA, nonce: fc.uint8Array({ minLength: 6, maxLength: 6 }) },
      { requiredKeys: ['kind', 'target'] },
    ),
    fc.record(
      { kind: fc.constant('neighborAdvert' as const), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(), target: addr, targetLinkAddr: macA },
      { requiredKeys: ['kind', 'router', 'solicited', 'override', 'target'] },
    ),
    fc.record({ kind: fc.constant('redirect' as const), target: addr, destination: addr, targetLinkAddr: macA }, { requiredKeys: ['kind', 'target', 'destination'] }),
  );

  it('emit then check/parse round-trips with a valid ICMPv6 checksum', () => {
    fc.assert(
      fc.property(reprArb, fc.nat(4), (r, at) => {
        const len = NdpRepr.bufferLen(r);
        expect(len % 8).toBe(0);
        const b = new Uint8Array(at + len);
        const ps = pseudoHeaderSumV6(V6_SRC, V6_DST, 58, len);
        NdpRepr.emit(r, b, at, tsChecksum, ps);
        expect((Icmpv6Packet.check(b, at) as Icmpv6Packet).verifyChecksum(tsChecksum, ps)).toBe(true);
        const p = checked(b, at);
        expect(p.options().malformed).toEqual([]);
        expect(NdpRepr.parse(p)).toEqual(r);
      }),
    );
  });

  it('emit refuses unsendable options', () => {
    const ra = (extra: object) => ({
      kind: 'routerAdvert' as const,
      curHopLimit: 64,
      managed: false,
      other: false,
      routerPreference: 0,
      routerLifetime: 0,
      reachableTime: 0,
      retransTimer: 0,
      prefixes: [],
      rdnss: [],
      dnssl: [],
      ...extra,
    });
    expect(() => NdpRepr.bufferLen(ra({ rdnss: [{ lifetime: 1, servers: [] }] }))).toThrow(EmitError);
    expect(() => NdpRepr.bufferLen(ra({ dnssl: [{ lifetime: 1, domains: ['a..b'] }] }))).toThrow(EmitError);
    expect(() => NdpRepr.bufferLen(ra({ dnssl: [{ lifetime: 1, domains: ['x'.repeat(64)] }] }))).toThrow(EmitError);
    expect(() => NdpRepr.bufferLen({ kind: 'neighborSolicit', target: V6_SRC, nonce: new Uint8Array(5) })).toThrow(EmitError);
    expect(() => NdpRepr.emit({ kind: 'routerSolicit' }, new Uint8Array(7), 0)).toThrow(EmitError);
  });

  it('random bytes never throw; options() of a checked message never throws', () => {
    const types = fc.constantFrom(133, 134, 135, 136, 137);
    fc.assert(
      fc.property(types, fc.uint8Array({ maxLength: 120 }), fc.nat(130), (t, body, len) => {
        const b = concat([t], body);
        const p = NdpPacket.check(b, 0, Math.min(len, b.length));
        if (isWireError(p)) return;
        const o = p.options();
        for (const m of [...o.unknown, ...o.malformed]) expect(m.offset + m.length).toBeLessThanOrEqual(p.len);
        void NdpRepr.parse(p);
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated captured RAs never throw', () => {
    const s = l4FromFrame(RA_FULL);
    const base = s.frame.slice(s.off, s.off + s.len);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }), fc.nat(base.length), (muts, cut) => {
        const b = base.slice();
        for (const [i, v] of muts) b[i] = v;
        const p = NdpPacket.check(b, 0, cut);
        if (!isWireError(p)) void NdpRepr.parse(p);
      }),
      { numRuns: 3000 },
    );
  });
});
