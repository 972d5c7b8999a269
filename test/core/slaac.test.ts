// SLAAC (RFC 4862 §5.5) with RFC 7217 stable-privacy identifiers, and router mode (RFC 4861 §6.2),
// scripted on one stack with the test playing the router or the host on the other end of the cable.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module } from '../../src/core/icmpv6.js';
import { Ipv6Module, linkLocalFromMac, solicitedNodeAddress } from '../../src/core/ipv6.js';
import { MldModule } from '../../src/core/mld.js';
import { NdpModule } from '../../src/core/ndp.js';
import { type RouterConfig, SlaacModule, type SlaacOptions } from '../../src/core/slaac.js';
import { LinkDecorator, createMemoryPair } from '../../src/phy/index.js';
import { Duration } from '../../src/time/instant.js';
import { type Ipv6Address, formatIpv6, ipv6MulticastMac, parseIpv6 } from '../../src/wire/address.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { NdpPacket, NdpRepr } from '../../src/wire/ndp.js';
import { ethernet, ipv6 } from '../support/build-l3.js';
import { ndpNa, ndpOpt, ndpRa, ndpRs } from '../support/build-l4.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

const MAC_H = 0x02000000000a;
const MAC_P = 0x02000000000b;
const ip = (s: string): Ipv6Address => parseIpv6(s)!;
const P_LL = linkLocalFromMac(MAC_P);
const ALL_NODES = ip('ff02::1');
const PREFIX = ip('2001:db8:1::');
const SECRET = new Uint8Array(32).fill(0x42);

/** Stamps each transmitted frame with the fake clock's time. */
class Tap extends LinkDecorator {
  readonly times: number[] = [];
  constructor(inner: ConstructorParameters<typeof LinkDecorator>[0], private readonly clock: FakeClock) {
    super(inner);
  }
  override transmit(frame: Uint8Array): boolean {
    const ok = this.inner.transmit(frame);
    if (ok) this.times.push(this.clock.now);
    return ok;
  }
}

function host(o: { slaac?: Partial<SlaacOptions>; addresses?: string[]; seed?: string } = {}) {
  const clock = new FakeClock();
  const pair = createMemoryPair({ notify: 'sync' });
  const t = testStack(o.seed ?? 'slaac', [new Ipv6Module(), new Icmpv6Module(), new NdpModule(), new MldModule(), new SlaacModule(o.slaac)]);
  const tap = new Tap(pair.a, clock);
  const iface = t.stack.addInterface(tap, { mac: MAC_H, addresses: o.addresses ?? [] }, clock.now);
  let received = 0;
  const out = (): Array<{ at: number; nd: NdpPacket; src: string; dst: string }> => {
    const r: Array<{ at: number; nd: NdpPacket; src: string; dst: string }> = [];
    pair.b.receive(10_000, (f) => {
      const at = tap.times[received++]!;
      const e = EthernetFrame.check(f);
      if (isWireError(e)) return;
      const p = Ipv6Packet.check(f, e.payloadOffset, e.payloadLength);
      if (isWireError(p) || p.nextHeader !== 58) return;
      const nd = NdpPacket.check(f.slice(), p.payloadOffset, p.payloadLen);
      if (!isWireError(nd)) r.push({ at, nd, src: formatIpv6(p.src), dst: formatIpv6(p.dst) });
    });
    return r;
  };
  const h = {
    clock,
    t,
    iface,
    stats: t.stack.stats,
    ip: t.stack.module<Ipv6Module>('ipv6')!,
    ndp: t.stack.module<NdpModule>('ndp')!,
    slaac: t.stack.module<SlaacModule>('slaac')!,
    out,
    nd(body: (s: { src: Ipv6Address; dst: Ipv6Address }) => Uint8Array, src: Ipv6Address, dst: Ipv6Address, srcMac = MAC_P): void {
      const l3 = ipv6({ src, dst, hopLimit: 255, nextHeader: 58, payload: body({ src, dst }) });
      const mac = dst[0] === 0xff ? ipv6MulticastMac(dst) : MAC_H;
      pair.b.transmit(ethernet({ dst: mac, src: srcMac, ethertype: 0x86dd, payload: l3 }));
      settle(clock, [t.stack]);
    },
    ra(p: { valid?: number; preferred?: number; prefixLength?: number; flags?: number; prefix?: Ipv6Address }): void {
      h.nd((s) => ndpRa({ routerLifetime: 1800 }, [ndpOpt.prefix({ prefix: p.prefix ?? PREFIX, valid: p.valid ?? 86400, preferred: p.preferred ?? 14400, prefixLength: p.prefixLength ?? 64, flags: p.flags ?? 0xc0 })], s), P_LL, ALL_NODES);
    },
    run: (ms: number) => runFor(clock, [t.stack], ms),
    /** The autoconfigured address's entry in the IPv6 module. */
    entry: () => {
      const a = h.slaac.addresses(iface)[0];
      return a ? h.ip.findAddress(iface, a) : undefined;
    },
    close: () => closeAndCheckLeaks(t),
  };
  return h;
}

const secs = (h: ReturnType<typeof host>, until: number) => Math.round((until - h.clock.now) / 1e6);

describe('SLAAC address formation (RFC 4862 §5.5.3, RFC 7217)', () => {
  it('forms one /64 address per autonomous prefix with a stable-privacy identifier, after DAD', () => {
    const h = host({ slaac: { secret: SECRET } });
    h.run(3000);
    h.ra({});
    const [a] = h.slaac.addresses(h.iface);
    expect(formatIpv6(a!).startsWith('2001:db8:1:0:')).toBe(true);
    expect(h.entry()).toMatchObject({ state: 'tentative', origin: 'slaac' });
    h.run(3000);
    expect(h.entry()!.state).toBe('preferred');
    expect(h.iface.ipv6.some((c) => formatIpv6(c.address) === formatIpv6(a!))).toBe(true);
    // Same secret, prefix and interface → same identifier (stable); another prefix → unrelated.
    const g = host({ slaac: { secret: SECRET }, seed: 'other' });
    expect(g.slaac.interfaceId(PREFIX, g.iface, 0)).toEqual(a!.subarray(8));
    expect(g.slaac.interfaceId(ip('2001:db8:2::'), g.iface, 0)).not.toEqual(a!.subarray(8));
    g.close();
    h.close();
  });

  it('ignores prefixes that are not /64, lack the A flag, or have preferred > valid', () => {
    const h = host();
    h.run(3000);
    h.ra({ prefixLength: 48 });
    h.ra({ flags: 0x80 });
    h.ra({ preferred: 1000, valid: 500 });
    expect(h.slaac.addresses()).toEqual([]);
    expect(h.stats.drops('slaac', 'prefix_length_not_64')).toBe(1);
    expect(h.stats.drops('slaac', 'preferred_exceeds_valid')).toBe(1);
    // The L-flagged prefixes still became on-link prefixes (/48 and /64 are distinct).
    expect(h.ndp.prefixes(h.iface).map((p) => `${formatIpv6(p.prefix)}/${p.prefixLen}`)).toEqual(['2001:db8:1::/48', '2001:db8:1::/64']);
    h.close();
  });

  it('the two-hour rule (§5.5.3 e): an RA cannot cut the remaining valid lifetime below 2 hours', () => {
    const h = host();
    h.run(3000);
    h.ra({ valid: 86400, preferred: 3600 });
    expect(secs(h, h.entry()!.validUntil)).toBe(86400);
    h.ra({ valid: 600, preferred: 300 });
    expect(secs(h, h.entry()!.validUntil)).toBe(7200);
    expect(secs(h, h.entry()!.preferredUntil)).toBe(300);
    h.ra({ valid: 10800, preferred: 300 });
    expect(secs(h, h.entry()!.validUntil)).toBe(10800);
    h.run(10800_000 - 7000_000);
    // 7000 s left (≤ 2 h): a shorter lifetime is ignored, a longer one applies.
    h.ra({ valid: 60, preferred: 0 });
    expect(secs(h, h.entry()!.validUntil)).toBe(7000);
    h.ra({ valid: 8000, preferred: 0 });
    expect(secs(h, h.entry()!.validUntil)).toBe(8000);
    h.close();
  });

  it('deprecates at the end of the preferred lifetime and removes at the end of the valid one (§5.5.4)', () => {
    const h = host();
    h.run(3000);
    h.ra({ valid: 7300, preferred: 20 });
    h.run(3000);
    const a = h.slaac.addresses()[0]!;
    expect(h.entry()!.state).toBe('preferred');
    h.run(18_000);
    expect(h.ip.findAddress(h.iface, a)!.state).toBe('deprecated');
    // Still valid: it receives, but is not picked as a source when a preferred address exists.
    expect(h.iface.ipv6.some((c) => formatIpv6(c.address) === formatIpv6(a))).toBe(true);
    h.run(7300_000);
    expect(h.ip.findAddress(h.iface, a)).toBeUndefined();
    expect(h.slaac.addresses()).toEqual([]);
    expect(h.iface.multicastMacs.has(ipv6MulticastMac(solicitedNodeAddress(a)))).toBe(false);
    h.close();
  });

  it('caps autoconfigured addresses per interface', () => {
    const h = host({ slaac: { maxAddressesPerInterface: 2 } });
    h.run(3000);
    for (let i = 1; i <= 5; i++) h.ra({ prefix: ip(`2001:db8:${i}::`) });
    expect(h.slaac.addresses()).toHaveLength(2);
    expect(h.stats.drops('slaac', 'address_cap')).toBe(3);
    h.close();
  });

  it('a DAD conflict regenerates the identifier with the next DAD counter, up to IDGEN_RETRIES (RFC 7217 §6)', () => {
    const h = host({ slaac: { secret: SECRET, idgenRetries: 1 } });
    h.run(3000);
    h.ra({});
    const first = h.slaac.addresses()[0]!;
    h.nd((s) => ndpNa(0x20, first, [ndpOpt.tlla(MAC_P)], s), P_LL, ALL_NODES);
    const second = h.slaac.addresses()[0]!;
    expect(second.subarray(8)).toEqual(h.slaac.interfaceId(PREFIX, h.iface, 1));
    expect(h.ip.findAddress(h.iface, first)).toBeUndefined();
    expect(h.stats.get('slaac', 'regenerated')).toBe(1);
    h.nd((s) => ndpNa(0x20, second, [ndpOpt.tlla(MAC_P)], s), P_LL, ALL_NODES);
    expect(h.slaac.addresses()).toEqual([]);
    expect(h.stats.drops('slaac', 'idgen_retries_exhausted')).toBe(1);
    h.close();
  });
});

describe('router mode (RFC 4861 §6.2)', () => {
  const cfg: RouterConfig = { prefixes: [{ prefix: '2001:db8:1::/64', validLifetime: 7200, preferredLifetime: 3600 }], mtu: 1400, dnsServers: ['2001:db8:1::53'], maxInterval: Duration.seconds(30), minInterval: Duration.seconds(10) };

  it('sends RAs from the link-local address with the configured options, at random intervals in [min, max]', () => {
    const h = host({ slaac: { router: cfg } });
    h.run(120_000);
    const ras = h.out().filter((x) => x.nd.type === 134);
    expect(ras.length).toBeGreaterThanOrEqual(5);
    const r = NdpRepr.parse(ras[0]!.nd);
    expect(ras[0]!.src).toBe(formatIpv6(linkLocalFromMac(MAC_H)));
    expect(ras[0]!.dst).toBe('ff02::1');
    expect(r).toMatchObject({ kind: 'routerAdvert', routerLifetime: 90, mtu: 1400, sourceLinkAddr: MAC_H });
    if (r.kind !== 'routerAdvert') throw new Error();
    expect(r.prefixes).toEqual([{ prefixLength: 64, onLink: true, autonomous: true, validLifetime: 7200, preferredLifetime: 3600, prefix: PREFIX }]);
    expect(r.rdnss[0]!.servers).toEqual([ip('2001:db8:1::53')]);
    const gaps = ras.slice(4).map((x, i) => (x.at - ras[3 + i]!.at) / 1e6);
    for (const g of gaps) expect(g >= 10 && g <= 30).toBe(true);
    // A router does not autoconfigure from RAs (its own prefixes are configured).
    h.nd((s) => ndpRa({ routerLifetime: 1800 }, [ndpOpt.prefix({ prefix: ip('2001:db8:9::') })], s), P_LL, ALL_NODES);
    expect(h.slaac.addresses()).toEqual([]);
    h.close();
  });

  it('answers an RS after at most 0.5 s, learns the solicitor, and rate-limits multicast RAs to one per 3 s', () => {
    const h = host({ slaac: { router: cfg } });
    h.run(60_000);
    h.out();
    const hostLl = linkLocalFromMac(0x0200000000cc);
    h.nd((s) => ndpRs([ndpOpt.slla(0x0200000000cc)], s), hostLl, ip('ff02::2'), 0x0200000000cc);
    const t0 = h.clock.now;
    h.run(600);
    const ras = h.out().filter((x) => x.nd.type === 134);
    expect(ras).toHaveLength(1);
    expect(ras[0]!.at - t0).toBeLessThanOrEqual(500_000);
    expect(h.ndp.neighbor(h.iface, hostLl)!.mac).toBe(0x0200000000cc);
    // A burst of RSs right after: the next RA waits for MIN_DELAY_BETWEEN_RAS.
    for (let i = 0; i < 10; i++) h.nd((s) => ndpRs([], s), ip('::'), ip('ff02::2'));
    h.run(2000);
    expect(h.out().filter((x) => x.nd.type === 134)).toEqual([]);
    h.run(1500);
    expect(h.out().filter((x) => x.nd.type === 134)).toHaveLength(1);
    h.close();
  });

  it('works whatever the module order (router mode set up before the IPv6 module saw the interface)', () => {
    const clock = new FakeClock();
    const pair = createMemoryPair({ notify: 'sync' });
    const t = testStack('order', [new SlaacModule({ router: cfg }), new MldModule(), new NdpModule(), new Icmpv6Module(), new Ipv6Module()]);
    const iface = t.stack.addInterface(pair.a, { mac: MAC_H, addresses: ['2001:db8:1::1/64'] }, clock.now);
    runFor(clock, [t.stack], 5000);
    expect(t.stack.stats.get('slaac', 'ra_sent')).toBeGreaterThanOrEqual(1);
    expect(t.stack.module<Ipv6Module>('ipv6')!.isMember(iface, ip('ff02::2'))).toBe(true);
    expect(t.stack.module<Ipv6Module>('ipv6')!.findAddress(iface, ip('2001:db8:1::1'))!.state).toBe('preferred');
    closeAndCheckLeaks(t);
  });

  it('switching router mode off sends a final RA with router lifetime 0; bad configuration throws', () => {
    const h = host({ slaac: { router: cfg } });
    h.run(10_000);
    h.out();
    h.slaac.disableRouter(h.iface, h.clock.now);
    const [last] = h.out().filter((x) => x.nd.type === 134);
    expect(last!.nd.routerLifetime).toBe(0);
    expect(h.slaac.isRouter(h.iface)).toBe(false);
    expect(() => h.slaac.enableRouter(h.iface, { prefixes: [{ prefix: 'nonsense' }] }, h.clock.now)).toThrow(RangeError);
    expect(() => h.slaac.enableRouter(h.iface, { prefixes: [], mtu: 1000 }, h.clock.now)).toThrow(RangeError);
    expect(() => h.slaac.enableRouter(h.iface, { prefixes: [], maxInterval: Duration.seconds(2) }, h.clock.now)).toThrow(RangeError);
    h.close();
  });
});
