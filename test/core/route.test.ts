import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ipv4RoutingTable, Ipv6RoutingTable } from '../../src/core/route.js';
import { formatCidr, ipv4Mask, ipv4SubnetBroadcast, ipv6PrefixMatch, parseCidr } from '../../src/core/cidr.js';
import { parseIpv4, parseIpv6 } from '../../src/wire/address.js';

const v4 = (s: string) => parseIpv4(s)!;
const v6 = (s: string) => parseIpv6(s)!;

describe('cidr', () => {
  it('parses and formats IPv4 and IPv6 prefixes, rejecting junk', () => {
    expect(formatCidr(parseCidr('198.51.100.2/24')!)).toBe('198.51.100.2/24');
    expect(formatCidr(parseCidr('2001:db8::1/64')!)).toBe('2001:db8::1/64');
    expect(parseCidr('198.51.100.2')).toMatchObject({ family: 4, prefixLen: 32 });
    for (const bad of ['198.51.100.2/33', '2001:db8::1/129', '1.2.3/8', 'x/1', '1.2.3.4/', '1.2.3.4/-1']) {
      expect(parseCidr(bad)).toBeNull();
    }
    expect(ipv4SubnetBroadcast(v4('198.51.100.7'), 24)).toBe(v4('198.51.100.255'));
    expect(ipv4Mask(0)).toBe(0);
  });
});

describe('IPv4 routing table', () => {
  it('chooses the longest prefix, then the lowest metric', () => {
    const t = new Ipv4RoutingTable();
    t.add({ network: 0, prefixLen: 0, gateway: v4('198.51.100.1'), ifIndex: 1, metric: 10, origin: 'static' });
    t.add({ network: v4('198.51.100.0'), prefixLen: 24, ifIndex: 1, metric: 0, origin: 'connected' });
    t.add({ network: v4('203.0.113.0'), prefixLen: 24, gateway: v4('198.51.100.9'), ifIndex: 1, metric: 5, origin: 'static' });
    t.add({ network: v4('203.0.113.0'), prefixLen: 24, gateway: v4('198.51.100.8'), ifIndex: 2, metric: 1, origin: 'static' });
    expect(t.lookup(v4('198.51.100.77'))?.origin).toBe('connected');
    expect(t.lookup(v4('203.0.113.5'))?.gateway).toBe(v4('198.51.100.8'));
    expect(t.lookup(v4('8.8.8.8'))?.prefixLen).toBe(0);
    expect(t.remove({ prefixLen: 0 })).toBe(1);
    expect(t.lookup(v4('8.8.8.8'))).toBeUndefined();
  });

  it('normalises the network and replaces an identical route', () => {
    const t = new Ipv4RoutingTable();
    t.add({ network: v4('198.51.100.77'), prefixLen: 24, ifIndex: 1, metric: 3, origin: 'a' });
    t.add({ network: v4('198.51.100.0'), prefixLen: 24, ifIndex: 1, metric: 1, origin: 'b' });
    expect(t.list()).toHaveLength(1);
    expect(t.list()[0]).toMatchObject({ network: v4('198.51.100.0'), origin: 'b' });
  });

  it('agrees with a brute-force longest-prefix match', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ net: fc.nat(), len: fc.integer({ min: 0, max: 32 }), metric: fc.nat(5) }), { maxLength: 20 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        (routes, dsts) => {
          const t = new Ipv4RoutingTable();
          routes.forEach((r, i) => t.add({ network: r.net >>> 0, prefixLen: r.len, ifIndex: i, metric: r.metric, origin: String(i) }));
          for (const d of dsts) {
            const dst = d >>> 0;
            const cands = t.list().filter((r) => ((dst & ipv4Mask(r.prefixLen)) >>> 0) === r.network);
            const best = Math.max(-1, ...cands.map((r) => r.prefixLen));
            const got = t.lookup(dst);
            if (best < 0) expect(got).toBeUndefined();
            else {
              expect(got?.prefixLen).toBe(best);
              expect(got?.metric).toBe(Math.min(...cands.filter((r) => r.prefixLen === best).map((r) => r.metric)));
            }
          }
        },
      ),
    );
  });
});

describe('IPv6 routing table', () => {
  it('matches prefixes at non-byte boundaries and prefers longer ones', () => {
    expect(ipv6PrefixMatch(v6('2001:db8::1'), v6('2001:db9::'), 31)).toBe(true);
    expect(ipv6PrefixMatch(v6('2001:db8::1'), v6('2001:db9::'), 32)).toBe(false);
    const t = new Ipv6RoutingTable();
    t.add({ network: new Uint8Array(16), prefixLen: 0, gateway: v6('fe80::1'), ifIndex: 1, metric: 0, origin: 'ra' });
    t.add({ network: v6('2001:db8::'), prefixLen: 64, ifIndex: 1, metric: 0, origin: 'connected' });
    expect(t.lookup(v6('2001:db8::5'))?.origin).toBe('connected');
    expect(t.lookup(v6('2001:db8:1::5'))?.origin).toBe('ra');
    expect(t.remove({ gateway: v6('fe80::1') })).toBe(1);
    expect(t.lookup(v6('2001:db8:1::5'))).toBeUndefined();
  });
});
