// decodeFrame: per-layer fields on real frames (test/fixtures/linux-sample.pcapng) and on built frames
// for every link type and the awkward cases (VLAN stacks, padding, fragments, snaplen truncation, TSO,
// policy-refused IPv6 headers, malformed headers), then the never-throws property on random bytes and
// on mutated real frames for every link type. Agreement with tshark is test/conformance's job.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tsChecksum } from '../../src/checksum/index.js';
import { copyRecord, readCaptureBytes } from '../../src/wire/capture.js';
import type { OwnedCaptureRecord } from '../../src/wire/capture.js';
import { decodeFrame, tcpFlagsText } from '../../src/wire/decode.js';
import type { DecodedFrame } from '../../src/wire/decode.js';
import { LinkType } from '../../src/wire/link-type.js';
import { formatFrame } from '../../src/wire/pretty.js';
import { arp, concat, ethernet, ipv4, ipv6 } from '../support/build-l3.js';
import { icmpv4, icmpv6, ipv4Header, mldV2Report, ndpNa, tcp, tcpOpt, u16, u32, V4_DST, V4_SRC, V6_DST, V6_SRC } from '../support/build-l4.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture: OwnedCaptureRecord[] = [];
readCaptureBytes(new Uint8Array(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'linux-sample.pcapng'))), (r) => fixture.push(copyRecord(r)));

const cs = tsChecksum;
const dec = (frame: Uint8Array, linkType: number = LinkType.ETHERNET, originalLength?: number): DecodedFrame =>
  decodeFrame(linkType, frame, { checksum: cs, originalLength });
const fx = (n: number): DecodedFrame => {
  const r = fixture[n - 1]!;
  return decodeFrame(r.linkType, r.data, { checksum: cs, originalLength: r.originalLength });
};

/** Ethernet + IPv4 (198.51.100.1 → .2) around an upper-layer message. */
function v4(l4: Uint8Array, protocol: number, o: Parameters<typeof ipv4>[0] = {}): Uint8Array {
  return ethernet({ payload: ipv4({ src: V4_SRC, dst: V4_DST, protocol, payload: l4, ...o }) });
}
function v6(l4: Uint8Array, nextHeader: number, o: Parameters<typeof ipv6>[0] = {}): Uint8Array {
  return ethernet({ ethertype: 0x86dd, payload: ipv6({ src: V6_SRC, dst: V6_DST, nextHeader, payload: l4, ...o }) });
}
function udp(srcPort: number, dstPort: number, payload: number[], checksum = 0): Uint8Array {
  return new Uint8Array([...u16(srcPort), ...u16(dstPort), ...u16(8 + payload.length), ...u16(checksum), ...payload]);
}

describe('decodeFrame on the Linux fixture', () => {
  it('reads every frame without an error, every checksum verified good', () => {
    expect(fixture.length).toBe(76);
    for (let n = 1; n <= fixture.length; n++) {
      const d = fx(n);
      expect(d.error, `frame ${n}`).toBeUndefined();
      expect(d.truncated).toBe(false);
      expect(Object.values(d.checksums).every((c) => c === true || c === null), `frame ${n}`).toBe(true);
    }
  });

  it('decodes a SYN with its options (frame 32)', () => {
    const d = fx(32);
    expect(d.layers).toEqual(['eth', 'ipv4', 'tcp']);
    expect(d.eth).toMatchObject({ src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:0a', vlans: [], ethertype: 0x0800 });
    expect(d.ipv4).toMatchObject({ src: '198.51.100.2', dst: '198.51.100.1', ttl: 64, df: true, mf: false, fragOffset: 0, protocol: 6, headerLength: 20, totalLength: 60 });
    expect(d.tcp).toMatchObject({ srcPort: 36878, dstPort: 80, seq: 3183195946, ack: 0, flags: 0x002, flagsText: 'S', window: 64240, headerLength: 40, payloadLength: 0 });
    expect(d.tcp!.options).toEqual({
      mss: 1460,
      wscale: 10,
      sackPermitted: true,
      ts: { val: 3745475527, ecr: 0 },
      list: ['mss 1460', 'sackOK', 'TS val 3745475527 ecr 0', 'nop', 'wscale 10'],
    });
    expect(d.checksums).toEqual({ ipv4: true, tcp: true });
  });

  it('decodes ARP, ICMP echo, NDP and MLD', () => {
    expect(fx(7).arp).toEqual({ htype: 1, ptype: 0x0800, operation: 1, opName: 'request', senderMac: '02:00:00:00:00:0b', senderIp: '198.51.100.2', targetMac: '00:00:00:00:00:00', targetIp: '198.51.100.1' });
    expect(fx(9).icmpv4).toMatchObject({ type: 8, code: 0, name: 'echo request', echo: { id: 6733, seq: 1 }, length: 64 });
    const ns = fx(19);
    expect(ns.icmpv6).toMatchObject({ type: 135, name: 'neighbor solicitation', ndp: { target: '2001:db8::1', sourceLinkAddr: '02:00:00:00:00:0b', options: [1] } });
    expect(fx(20).icmpv6!.ndp).toMatchObject({ target: '2001:db8::1', router: false, solicited: true, override: true });
    const mld = fx(1);
    expect(mld.ipv6!.extHeaders).toEqual([{ type: 0, offset: 40, length: 8 }]);
    expect(mld.icmpv6).toMatchObject({ type: 143, name: 'multicast listener report v2', mld: { version: 2, records: 2 } });
  });

  it('decodes IPv4 fragments: transport of the first (checksum unverifiable), data of the rest', () => {
    const first = fx(13);
    expect(first.ipv4).toMatchObject({ ident: 0xb491, mf: true, fragOffset: 0 });
    expect(first.layers).toEqual(['eth', 'ipv4', 'icmpv4']);
    expect(first.checksums).toEqual({ ipv4: true, icmpv4: null });
    const second = fx(14);
    expect(second.ipv4).toMatchObject({ mf: true, fragOffset: 1480 });
    expect(second.layers).toEqual(['eth', 'ipv4']);
    expect(second.undecoded).toBe('fragment');
  });

  it('decodes IPv6 fragment headers', () => {
    const first = fx(26);
    expect(first.ipv6!.fragment).toEqual({ offset: 0, more: true, ident: 0x0d1fe008, nextHeader: 58 });
    expect(first.checksums.icmpv6).toBeNull();
    const later = fx(28);
    expect(later.ipv6!.fragment).toEqual({ offset: 2896, more: false, ident: 0x0d1fe008, nextHeader: 58 });
    expect(later.undecoded).toBe('fragment');
  });
});

describe('decodeFrame on built frames', () => {
  it('walks a QinQ tag stack to ARP', () => {
    const d = dec(ethernet({ vlans: [{ tpid: 0x88a8, vid: 200, pcp: 3 }, { vid: 100, dei: true }], ethertype: 0x0806, payload: arp() }));
    expect(d.layers).toEqual(['eth', 'vlan', 'vlan', 'arp']);
    expect(d.eth!.vlans).toEqual([
      { tpid: 0x88a8, vid: 200, pcp: 3, dei: false },
      { tpid: 0x8100, vid: 100, pcp: 0, dei: true },
    ]);
    expect(d.eth!.headerLength).toBe(22);
  });

  it('excludes Ethernet padding using the IPv4 total length', () => {
    const d = dec(ethernet({ pad: true, payload: ipv4({ src: V4_SRC, dst: V4_DST, protocol: 17, payload: udp(68, 67, [1, 2]) }) }));
    expect(d.caplen).toBe(60);
    expect(d.ipv4!.totalLength).toBe(30);
    expect(d.udp).toMatchObject({ srcPort: 68, dstPort: 67, length: 10, payloadLength: 2 });
    expect(d.checksums.udp).toBeNull(); // zero UDP checksum over IPv4: "none" (RFC 768)
  });

  it('reports bad and unverifiable checksums', () => {
    const good = tcp({ src: V4_SRC, dst: V4_DST, flags: 0x18, payload: [1, 2, 3] });
    expect(dec(v4(good, 6)).checksums).toEqual({ ipv4: true, tcp: true });
    const bad = good.slice();
    bad[16]! ^= 0xff;
    expect(dec(v4(bad, 6)).checksums).toEqual({ ipv4: true, tcp: false });
    expect(decodeFrame(LinkType.ETHERNET, v4(bad, 6), { checksum: null }).checksums).toEqual({ ipv4: null, tcp: null });
    // Over IPv6 a zero UDP checksum is invalid (RFC 8200 §8.1).
    expect(dec(v6(udp(546, 547, [9]), 17)).checksums.udp).toBe(false);
  });

  it('stops at the snaplen: header cut → truncatedAt, payload cut → checksum null', () => {
    const frame = v4(tcp({ src: V4_SRC, dst: V4_DST, payload: new Array(100).fill(7) }), 6);
    const payloadCut = dec(frame.slice(0, 60), LinkType.ETHERNET, frame.length);
    expect(payloadCut).toMatchObject({ truncated: true, caplen: 60, len: frame.length, layers: ['eth', 'ipv4', 'tcp'] });
    expect(payloadCut.tcp!.payloadLength).toBe(100);
    expect(payloadCut.checksums).toEqual({ ipv4: true, tcp: null });
    expect(payloadCut.truncatedAt).toBeUndefined();
    const headerCut = dec(frame.slice(0, 40), LinkType.ETHERNET, frame.length);
    expect(headerCut.layers).toEqual(['eth', 'ipv4']);
    expect(headerCut.truncatedAt).toBe('tcp');
    expect(headerCut.error).toBeUndefined();
    expect(dec(frame.slice(0, 10), LinkType.ETHERNET, frame.length)).toMatchObject({ layers: [], truncatedAt: 'eth' });
  });

  it('reports the first malformed layer with its absolute offset and keeps the layers before it', () => {
    const d = dec(v4(tcp({ src: V4_SRC, dst: V4_DST, dataOffset: 4 }), 6));
    expect(d.layers).toEqual(['eth', 'ipv4']);
    expect(d.error).toMatchObject({ proto: 'tcp', field: 'data_offset', offset: 14 + 20 + 12 });
    const long = dec(v4(udp(1, 2, [1]), 17, { totalLength: 200 }));
    expect(long.error).toMatchObject({ proto: 'ipv4', field: 'total_length', offset: 16 });
    expect(long.layers).toEqual(['eth']);
  });

  it('flags broken TCP options but keeps the TCP header', () => {
    const zeroLen = dec(v4(tcp({ src: V4_SRC, dst: V4_DST, options: [...tcpOpt.nop(), 5, 1, 0, 0] }), 6));
    expect(zeroLen.layers).toEqual(['eth', 'ipv4', 'tcp']);
    expect(zeroLen.error).toMatchObject({ proto: 'tcp', field: 'option_length' });
    const wrongMss = dec(v4(tcp({ src: V4_SRC, dst: V4_DST, options: [2, 3, 5, 1] }), 6));
    expect(wrongMss.error).toMatchObject({ proto: 'tcp', field: 'option_length', reason: 'option kind 2 with length 3' });
    expect(wrongMss.tcp!.options.list).toEqual(['[bad opt kind 2 len 3]', 'nop']);
    const padding = dec(v4(tcp({ src: V4_SRC, dst: V4_DST, options: [1, 0, 0, 9] }), 6));
    expect(padding.error).toMatchObject({ proto: 'tcp', field: 'padding' });
  });

  it('reads a Total Length of 0 as a segmentation-offload send', () => {
    const frame = v4(tcp({ src: V4_SRC, dst: V4_DST, payload: [1, 2, 3, 4] }), 6, { totalLength: 0 });
    const d = dec(frame);
    expect(d.ipv4).toMatchObject({ tso: true, totalLength: 44 });
    expect(d.tcp!.payloadLength).toBe(4);
    expect(d.checksums.ipv4).toBe(true); // the builder summed the header with the 0 in it
  });

  it('walks IPv6 headers a host would refuse (routing with segments left, unknown option action 10)', () => {
    const d = dec(
      v6(tcp({ src: V6_SRC, dst: V6_DST }), 6, {
        ext: [{ type: 'hbh', options: new Uint8Array([0x85, 2, 0, 0]) }, { type: 'routing', routingType: 4, segmentsLeft: 1 }, { type: 'dest' }],
      }),
    );
    expect(d.error).toBeUndefined();
    expect(d.ipv6!.extHeaders.map((h) => h.type)).toEqual([0, 43, 60]);
    expect(d.layers).toEqual(['eth', 'ipv6', 'tcp']);
    // ...but still checks that options stay inside their header.
    const over = dec(v6(new Uint8Array(0), 59, { ext: [{ type: 'hbh', options: new Uint8Array([0x85, 9, 0, 0]) }] }));
    expect(over.error).toMatchObject({ proto: 'ipv6', field: 'option' });
  });

  it('decodes every supported link type', () => {
    const ip = ipv4({ src: V4_SRC, dst: V4_DST, protocol: 17, payload: udp(1, 2, []) });
    const null4 = dec(concat(new Uint8Array([2, 0, 0, 0]), ip), LinkType.NULL);
    expect(null4).toMatchObject({ layers: ['loopback', 'ipv4', 'udp'], loopback: { family: 2 } });
    expect(dec(concat(new Uint8Array([0, 0, 0, 2]), ip), LinkType.LOOP).layers).toEqual(['loopback', 'ipv4', 'udp']);
    expect(dec(ip, LinkType.RAW).layers).toEqual(['ipv4', 'udp']);
    expect(dec(ip, LinkType.IPV4).layers).toEqual(['ipv4', 'udp']);
    // An empty IPv6 packet (Payload Length 0, No Next Header) is well formed (RFC 2675 §3 refuses PL 0
    // only in front of a Hop-by-Hop header).
    const ip6 = ipv6({ nextHeader: 59 });
    expect(dec(ip6, LinkType.IPV6)).toMatchObject({ layers: ['ipv6'], ipv6: { payloadLength: 0, upperProtocol: 59 } });
    expect(dec(ipv6({ nextHeader: 0 }), LinkType.IPV6).error).toMatchObject({ proto: 'ipv6', field: 'payload_length' });
    const sll = concat(new Uint8Array([0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]), ip);
    expect(dec(sll, LinkType.LINUX_SLL)).toMatchObject({ layers: ['sll', 'ipv4', 'udp'], sll: { version: 1, packetType: 4, address: '02:00:00:00:00:01' } });
    const sll2 = concat(new Uint8Array([0x08, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0]), ip);
    expect(dec(sll2, LinkType.LINUX_SLL2)).toMatchObject({ layers: ['sll2', 'ipv4', 'udp'], sll: { version: 2, interfaceIndex: 3 } });
    expect(dec(ip, 253)).toMatchObject({ layers: [], undecoded: 'link type 253' });
    const mpls = dec(ethernet({ ethertype: 0x8847, payload: concat(new Uint8Array([0, 0, 0x11, 64]), ip) }));
    expect(mpls).toMatchObject({ layers: ['eth', 'mpls', 'ipv4', 'udp'], mpls: [{ label: 1, tc: 0, bottom: true, ttl: 64 }] });
    const llc = dec(ethernet({ ethertype: 3, payload: new Uint8Array([0xaa, 0xaa, 3]) }));
    expect(llc).toMatchObject({ layers: ['eth', 'llc'], undecoded: 'llc' });
    expect(dec(ip.slice(0, 1).fill(0x70), LinkType.RAW).undecoded).toBe('raw packet of IP version 7');
  });

  it('decodes ARP for other hardware types generically', () => {
    const b = concat(new Uint8Array([0, 6, 0x08, 0, 6, 4, 0, 2]), new Uint8Array(20));
    const d = dec(ethernet({ ethertype: 0x0806, payload: b }));
    expect(d.arp).toMatchObject({ htype: 6, ptype: 0x0800, operation: 2, opName: 'reply', senderIp: '0.0.0.0' });
  });

  it('decodes ICMP errors, NDP, MLD and IGMP details', () => {
    const quoted = concat(ipv4Header({ protocol: 17, src: V4_DST, dst: V4_SRC }), new Uint8Array([...u16(5353), ...u16(33434), ...u32(0)]));
    const unreach = dec(v4(icmpv4({ type: 3, code: 3, data: quoted }), 1));
    expect(unreach.icmpv4).toMatchObject({ type: 3, code: 3, name: 'destination unreachable', quoted: { protocol: 17, srcPort: 5353, dstPort: 33434 } });
    expect(unreach.checksums.icmpv4).toBe(true);
    const na = dec(v6(ndpNa(0xe0, V6_DST, []), 58));
    expect(na.icmpv6!.ndp).toMatchObject({ target: 'ff02::1', router: true, solicited: true, override: true });
    expect(na.checksums.icmpv6).toBe(true);
    const report = dec(v6(mldV2Report([{ type: 4, group: V6_DST, sources: [] }]), 58));
    expect(report.icmpv6!.mld).toEqual({ version: 2, records: 1 });
    const igmpLeave = dec(v4(new Uint8Array([0x17, 0, 0xf8, 0x03, 239, 1, 1, 1]), 2));
    expect(igmpLeave.igmp).toMatchObject({ type: 0x17, version: 2, name: 'leave', group: '239.1.1.1' });
  });

  it('formats TCP flags as tcpdump does', () => {
    expect(tcpFlagsText(0x002)).toBe('S');
    expect(tcpFlagsText(0x012)).toBe('S.');
    expect(tcpFlagsText(0x018)).toBe('P.');
    expect(tcpFlagsText(0x011)).toBe('F.');
    expect(tcpFlagsText(0x0c2)).toBe('SEW');
    expect(tcpFlagsText(0)).toBe('none');
  });
});

// ---- Never throws, whatever the input ----

const LAYERS = new Set(['eth', 'vlan', 'sll', 'sll2', 'loopback', 'mpls', 'llc', 'arp', 'rarp', 'ipv4', 'ipv6', 'icmpv4', 'icmpv6', 'igmp', 'udp', 'tcp']);
const LINK_TYPES = [0, 1, 101, 108, 113, 228, 229, 276, 253, 147];

function checkInvariants(d: DecodedFrame, caplen: number): void {
  expect(d.error?.proto, d.error?.reason).not.toBe('decode'); // no internal exception
  expect(d.caplen).toBe(caplen);
  expect(d.truncated).toBe(d.caplen < d.len);
  for (const l of d.layers) expect(LAYERS.has(l), l).toBe(true);
  for (const l of ['arp', 'ipv4', 'ipv6', 'icmpv4', 'icmpv6', 'igmp', 'udp', 'tcp'] as const) {
    if (d.layers.includes(l) || (l === 'arp' && d.layers.includes('rarp'))) expect(d[l], l).toBeDefined();
  }
  for (const v of Object.values(d.checksums)) expect([true, false, null]).toContain(v);
  if (d.error) expect(d.error.offset >= -1 && d.error.offset <= Math.max(d.caplen, d.len)).toBe(true);
  expect(JSON.parse(JSON.stringify(d))).toEqual(d); // JSON-ready: no typed arrays, bigints, undefined holes
  const line = formatFrame(d);
  expect(line.length).toBeGreaterThan(0);
  expect(line).not.toContain('\n');
}

describe('decodeFrame never throws', () => {
  it('on random bytes, for every link type and any original length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.oneof(fc.constantFrom(...LINK_TYPES), fc.nat(300)), fc.option(fc.nat(70_000)), (bytes, lt, orig) => {
        const d = decodeFrame(lt, bytes, { checksum: cs, originalLength: orig ?? undefined });
        checkInvariants(d, bytes.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('on random bytes behind a plausible link header', () => {
    const heads: [number, number[]][] = [
      [1, [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]],
      [1, [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd]],
      [1, [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0, 5, 0x08, 0x06]],
      [113, [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xdd]],
      [0, [2, 0, 0, 0]],
    ];
    const ipish = fc.tuple(fc.constantFrom(0x45, 0x46, 0x4f, 0x60, 0x00), fc.uint8Array({ maxLength: 120 })).map(([v, rest]) => concat(new Uint8Array([v]), rest));
    fc.assert(
      fc.property(fc.constantFrom(...heads), ipish, fc.option(fc.nat(2000)), ([lt, head], body, orig) => {
        const frame = concat(new Uint8Array(head), body);
        checkInvariants(decodeFrame(lt, frame, { checksum: cs, originalLength: orig ?? undefined }), frame.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('on mutated real frames, every link type, cut or not', () => {
    const frames = fixture.map((r) => r.data);
    fc.assert(
      fc.property(
        fc.nat(frames.length - 1),
        fc.array(fc.tuple(fc.nat(95), fc.nat(255)), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(...LINK_TYPES),
        fc.option(fc.nat(200)),
        (i, edits, lt, cutAt) => {
          const f = frames[i]!.slice();
          for (const [at, v] of edits) if (at < f.length) f[at] = v;
          const data = cutAt === null ? f : f.subarray(0, Math.min(cutAt, f.length));
          checkInvariants(decodeFrame(lt, data, { checksum: cs, originalLength: f.length }), data.length);
        },
      ),
      { numRuns: 4000 },
    );
  });
});
