// formatFrame / prettyPrintFrame: tcpdump-style lines for real frames (the Linux fixture) and built
// ones, the markers for truncated and malformed headers and bad checksums, and use as the format
// function of a TracerDevice.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tsChecksum } from '../../src/checksum/index.js';
import { LoopbackDevice, TracerDevice } from '../../src/phy/index.js';
import type { Instant } from '../../src/time/instant.js';
import { copyRecord, readCaptureBytes } from '../../src/wire/capture.js';
import type { OwnedCaptureRecord } from '../../src/wire/capture.js';
import { decodeFrame } from '../../src/wire/decode.js';
import { LinkType } from '../../src/wire/link-type.js';
import { formatFrame, prettyPrintFrame } from '../../src/wire/pretty.js';
import { arp, concat, ethernet, ipv4 } from '../support/build-l3.js';
import { icmpv4, ipv4Header, tcp, u16, u32, V4_DST, V4_SRC } from '../support/build-l4.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture: OwnedCaptureRecord[] = [];
readCaptureBytes(new Uint8Array(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'linux-sample.pcapng'))), (r) => fixture.push(copyRecord(r)));

const line = (n: number): string => {
  const r = fixture[n - 1]!;
  return formatFrame(decodeFrame(r.linkType, r.data, { checksum: tsChecksum, originalLength: r.originalLength }));
};
const pp = (frame: Uint8Array, linkType: number = LinkType.ETHERNET, originalLength?: number): string =>
  formatFrame(decodeFrame(linkType, frame, { checksum: tsChecksum, originalLength }));
const v4 = (l4: Uint8Array, protocol: number, o: Parameters<typeof ipv4>[0] = {}): Uint8Array =>
  ethernet({ payload: ipv4({ src: V4_SRC, dst: V4_DST, protocol, payload: l4, ...o }) });
const udp = (sp: number, dp: number, n: number): Uint8Array => new Uint8Array([...u16(sp), ...u16(dp), ...u16(8 + n), 0, 0, ...new Array<number>(n).fill(0)]);

describe('formatFrame on the Linux fixture', () => {
  it('prints a SYN exactly as tcpdump -e does (short link form)', () => {
    expect(line(32)).toBe(
      '02:00:00:00:00:0b > 02:00:00:00:00:0a, IPv4 198.51.100.2.36878 > 198.51.100.1.80: Flags [S], seq 3183195946, win 64240, ' +
        'options [mss 1460,sackOK,TS val 3745475527 ecr 0,nop,wscale 10], length 0',
    );
  });

  it('prints data segments with a sequence range and the ack', () => {
    expect(line(35)).toBe(
      '02:00:00:00:00:0b > 02:00:00:00:00:0a, IPv4 198.51.100.2.36878 > 198.51.100.1.80: Flags [P.], seq 3183195947:3183196033, ' +
        'ack 3560857563, win 63, options [nop,nop,TS val 3745475527 ecr 798578444], length 86',
    );
  });

  it('prints ARP, ICMP, NDP and MLD in tcpdump wording', () => {
    expect(line(7)).toBe('02:00:00:00:00:0b > ff:ff:ff:ff:ff:ff, ARP, Request who-has 198.51.100.1 tell 198.51.100.2, length 28');
    expect(line(8)).toBe('02:00:00:00:00:0a > 02:00:00:00:00:0b, ARP, Reply 198.51.100.1 is-at 02:00:00:00:00:0a, length 28');
    expect(line(9)).toBe('02:00:00:00:00:0b > 02:00:00:00:00:0a, IPv4 198.51.100.2 > 198.51.100.1: ICMP echo request, id 6733, seq 1, length 64');
    expect(line(19)).toBe(
      '02:00:00:00:00:0b > 33:33:ff:00:00:01, IPv6 2001:db8::2 > ff02::1:ff00:1: ICMP6, neighbor solicitation, who has 2001:db8::1, length 32',
    );
    expect(line(20)).toContain('ICMP6, neighbor advertisement, tgt is 2001:db8::1 (sol, ovr), length 32');
    expect(line(4)).toContain('IPv6 fe80::ff:fe00:b > ff02::2: ICMP6, router solicitation, length 16');
    expect(line(1)).toContain('IPv6 fe80::ff:fe00:a > ff02::16: HBH ICMP6, multicast listener report v2, 2 group record(s), length 48');
  });

  it('prints fragments', () => {
    expect(line(13)).toContain('IPv4 198.51.100.2 > 198.51.100.1: frag (off 0, len 1480, id 46225, more) ICMP echo request, id 6734, seq 1, length 1480');
    expect(line(14)).toContain('IPv4 198.51.100.2 > 198.51.100.1: frag (off 1480, len 1480, id 46225, more), proto ICMP (1)');
    expect(line(15)).toContain('frag (off 2960, len 1048, id 46225), proto ICMP (1)');
    expect(line(26)).toContain('IPv6 2001:db8::2 > 2001:db8::1: frag (off 0, len 1448, id 0x0d1fe008, more) ICMP6, echo request, id 6736, seq 1, length 1448');
    expect(line(27)).toContain('frag (off 1448, len 1448, id 0x0d1fe008, more), next-header ICMPv6 (58)');
  });

  it('prints one line per frame for the whole capture', () => {
    for (let n = 1; n <= fixture.length; n++) {
      const s = line(n);
      expect(s, `frame ${n}`).not.toContain('\n');
      expect(s, `frame ${n}`).not.toMatch(/\[bad|\[\|/);
    }
  });
});

describe('formatFrame on built frames', () => {
  it('prints VLAN tags, UDP and an ICMP unreachable', () => {
    const tagged = ethernet({ vlans: [{ vid: 100 }], payload: ipv4({ src: V4_SRC, dst: V4_DST, protocol: 1, payload: icmpv4({ ident: 7, seq: 3, data: [1, 2] }) }) });
    expect(pp(tagged)).toBe('02:00:00:00:00:01 > 02:00:00:00:00:02, vlan 100, p 0, IPv4 198.51.100.1 > 198.51.100.2: ICMP echo request, id 7, seq 3, length 10');
    expect(pp(v4(udp(5353, 53, 12), 17))).toContain('IPv4 198.51.100.1.5353 > 198.51.100.2.53: UDP, length 12');
    const quoted = concat(ipv4Header({ protocol: 17 }), new Uint8Array([...u16(5353), ...u16(33434), ...u32(0)]));
    expect(pp(v4(icmpv4({ type: 3, code: 3, data: quoted }), 1))).toContain('ICMP 198.51.100.1 udp port 33434 unreachable, length 36');
    expect(pp(ethernet({ ethertype: 0x0806, payload: arp({ op: 2 }) }))).toContain('ARP, Reply 192.0.2.1 is-at 02:00:00:00:00:01, length 28');
  });

  it('marks truncated headers, malformed headers and bad checksums', () => {
    const frame = v4(tcp({ src: V4_SRC, dst: V4_DST }), 6);
    expect(pp(frame.slice(0, 40), LinkType.ETHERNET, frame.length)).toBe('02:00:00:00:00:01 > 02:00:00:00:00:02, IPv4 198.51.100.1 > 198.51.100.2: TCP [|tcp]');
    expect(pp(v4(tcp({ src: V4_SRC, dst: V4_DST, dataOffset: 3 }), 6))).toBe(
      '02:00:00:00:00:01 > 02:00:00:00:00:02, IPv4 198.51.100.1 > 198.51.100.2: TCP [bad tcp data_offset: 3 < 5 (H31)]',
    );
    const bad = frame.slice();
    bad[14 + 20 + 16]! ^= 1;
    expect(pp(bad)).toMatch(/Flags \[\.\], seq 1000, ack 2000, win 65535, length 0 \[bad tcp cksum\]$/);
    expect(pp(new Uint8Array(5), LinkType.ETHERNET, 60)).toBe('length 60 [|eth]'); // cut by the snaplen
    expect(pp(new Uint8Array(5))).toBe('length 5 [bad ethernet header: truncated: 5 < 14 bytes]'); // a runt
  });

  it('prints link layers other than Ethernet', () => {
    const ip = ipv4({ src: V4_SRC, dst: V4_DST, protocol: 17, payload: udp(1, 2, 0) });
    expect(pp(concat(new Uint8Array([2, 0, 0, 0]), ip), LinkType.NULL)).toBe('AF IPv4 (2), IPv4 198.51.100.1.1 > 198.51.100.2.2: UDP, length 0');
    expect(pp(ip, LinkType.RAW)).toBe('IPv4 198.51.100.1.1 > 198.51.100.2.2: UDP, length 0');
    const sll = concat(new Uint8Array([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]), ip);
    expect(pp(sll, LinkType.LINUX_SLL)).toBe('In 02:00:00:00:00:01, IPv4 198.51.100.1.1 > 198.51.100.2.2: UDP, length 0');
    expect(pp(ip, 253)).toBe(`link type 253, length ${ip.length}`);
    expect(pp(ethernet({ ethertype: 0x88cc, payload: new Uint8Array(10) }))).toBe('02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype LLDP (0x88cc), length 24');
    expect(pp(ethernet({ ethertype: 40, payload: new Uint8Array(40) }))).toBe('02:00:00:00:00:01 > 02:00:00:00:00:02, 802.3, length 54: LLC');
    expect(pp(ethernet({ ethertype: 0x8847, payload: concat(new Uint8Array([0, 0, 0x11, 64]), ip) }))).toContain('MPLS (label 1, tc 0, [S], ttl 64), IPv4 198.51.100.1.1');
    expect(pp(v4(new Uint8Array([0x11, 100, 0, 0, 0, 0, 0, 0]), 2))).toContain('igmp query v2 [max resp time 10.0s]');
  });
});

describe('prettyPrintFrame', () => {
  it('is decodeFrame + formatFrame', () => {
    const r = fixture[31]!;
    expect(prettyPrintFrame(LinkType.ETHERNET, r.data, tsChecksum)).toBe(line(32));
    expect(prettyPrintFrame(LinkType.ETHERNET, r.data, null)).toBe(line(32)); // good checksums print nothing
  });

  it('plugs into a TracerDevice as its format function', () => {
    const out: string[] = [];
    let t = 0;
    const clock = { now: (): Instant => (t += 1_000_000) as Instant };
    const dev = new TracerDevice(new LoopbackDevice(), { clock, out: (l) => out.push(l), name: 'eth0', format: (f) => prettyPrintFrame(LinkType.ETHERNET, f, tsChecksum) });
    expect(dev.transmit(fixture[6]!.data)).toBe(true);
    expect(out).toEqual([`1.000000 eth0 tx ${line(7)}`]);
  });
});
