// SECURITY-CASES §5 hostile inputs for the link and network layer parsers (H01, H02, H04-H06, H21-H24).
// Each row names the malformed input, the expected verdict (the error's protocol, field and offset, or
// for IPv6 the Parameter Problem code/pointer/report; or the trimmed length) and a valid control that
// differs only in the hostile field and must still parse. Frames go through the same path the core will
// take: Ethernet, then ARP / IPv4 (+ header checksum) / IPv6 (+ extension header chain).

import { describe, expect, it } from 'vitest';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { ArpPacket } from '../../src/wire/arp.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { Ipv6ParamProblem, walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import type { Ipv6Chain } from '../../src/wire/ipv6-ext.js';
import { isWireError, WireError } from '../../src/wire/error.js';
import { fromHex } from '../../src/wire/bytes.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { arp, ethernet, ipv4, ipv6 } from '../support/build-l3.js';
import type { ExtSpec } from '../support/build-l3.js';

type Parsed =
  | { kind: 'arp'; p: ArpPacket }
  | { kind: 'ipv4'; p: Ipv4Packet }
  | { kind: 'ipv6'; p: Ipv6Packet; chain: Ipv6Chain }
  | { kind: 'other' };

function parseFrame(frame: Uint8Array): Parsed | WireError {
  const f = EthernetFrame.check(frame);
  if (isWireError(f)) return f;
  switch (f.ethertype) {
    case 0x0806: {
      const p = ArpPacket.check(frame, f.payloadOffset, f.payloadLength);
      return isWireError(p) ? p : { kind: 'arp', p };
    }
    case 0x0800: {
      const p = Ipv4Packet.check(frame, f.payloadOffset, f.payloadLength);
      if (isWireError(p)) return p;
      if (!p.verifyChecksum(tsChecksum)) return new WireError('ipv4', 'checksum', 'bad header checksum', 10);
      return { kind: 'ipv4', p };
    }
    case 0x86dd: {
      const p = Ipv6Packet.check(frame, f.payloadOffset, f.payloadLength);
      if (isWireError(p)) return p;
      const chain = walkIpv6Chain(p);
      return isWireError(chain) ? chain : { kind: 'ipv6', p, chain };
    }
    default:
      return { kind: 'other' };
  }
}

const eth4 = (ip: Uint8Array, pad = false) => ethernet({ ethertype: 0x0800, payload: ip, pad });
const eth6 = (ip: Uint8Array) => ethernet({ ethertype: 0x86dd, payload: ip });
const ethArp = (a: Uint8Array) => ethernet({ ethertype: 0x0806, payload: a, pad: true });
const v6 = (ext: ExtSpec[], upper = 17, payload = new Uint8Array(8)) => eth6(ipv6({ ext, nextHeader: upper, payload }));

interface ErrorVerdict {
  proto: string;
  field: string;
  offset?: number;
  code?: number;
  report?: string;
}

interface Row {
  id: string;
  input: string;
  hostile: () => Uint8Array;
  /** The expected error, or a check on what parsed (trimming cases). */
  verdict: ErrorVerdict | ((r: Parsed) => void);
  control: () => Uint8Array;
}

const dest = (n: number): ExtSpec[] => Array.from({ length: n }, () => ({ type: 'dest' as const }));

const rows: Row[] = [
  // H01: runt Ethernet frames.
  { id: 'H01', input: '13-byte frame', hostile: () => eth4(new Uint8Array(0)).subarray(0, 13), verdict: { proto: 'ethernet', field: 'header', offset: 0 }, control: () => eth4(ipv4()) },
  { id: 'H01', input: '14-byte frame, EtherType IPv4, no payload', hostile: () => eth4(new Uint8Array(0)), verdict: { proto: 'ipv4', field: 'header' }, control: () => eth4(ipv4()) },
  // H02: ARP with wrong address lengths or truncated.
  {
    id: 'H02',
    input: 'hlen 0xff plen 0xff, 28 bytes',
    hostile: () => ethernet({ ethertype: 0x0806, payload: arp({ hlen: 0xff, plen: 0xff }) }),
    verdict: { proto: 'arp', field: 'hlen', offset: 4 },
    control: () => ethArp(arp()),
  },
  { id: 'H02', input: 'hlen 6 plen 4, only 20 ARP bytes', hostile: () => ethernet({ ethertype: 0x0806, payload: arp({ truncate: 20 }) }), verdict: { proto: 'arp', field: 'header' }, control: () => ethArp(arp()) },
  // H04: IHL below 5.
  ...[0, 1, 2, 3, 4].map(
    (ihl): Row => ({ id: 'H04', input: `IHL ${ihl}, total length 0`, hostile: () => eth4(ipv4({ ihl, totalLength: 0 })), verdict: { proto: 'ipv4', field: 'ihl', offset: 0 }, control: () => eth4(ipv4({ ihl: 5 })) }),
  ),
  // H05: total length inconsistent with the frame.
  {
    id: 'H05',
    input: 'Total Length 1500 in a 60-byte frame',
    hostile: () => eth4(ipv4({ totalLength: 1500 }), true),
    verdict: { proto: 'ipv4', field: 'total_length', offset: 2 },
    control: () => eth4(ipv4(), true),
  },
  { id: 'H05', input: 'Total Length 19 (< IHL*4)', hostile: () => eth4(ipv4({ totalLength: 19 }), true), verdict: { proto: 'ipv4', field: 'total_length', offset: 2 }, control: () => eth4(ipv4(), true) },
  {
    id: 'H05',
    input: 'Total Length 46 filling a 60-byte frame',
    hostile: () => eth4(ipv4({ payload: new Uint8Array(26) })),
    verdict: (r) => {
      const p = (r as { p: Ipv4Packet }).p;
      expect([p.len, p.payloadLength]).toEqual([46, 26]);
    },
    control: () => eth4(ipv4()),
  },
  {
    id: 'H05',
    input: 'Total Length 28 padded to a 60-byte frame: trimmed',
    hostile: () => eth4(ipv4({ payload: fromHex('3039003500080000') }), true),
    verdict: (r) => {
      const p = (r as { p: Ipv4Packet }).p;
      expect([p.len, p.payloadLength, p.payload().length]).toEqual([28, 8, 8]);
      expect(p.payloadOffset + p.payloadLength).toBe(14 + 28); // the 18 pad bytes are outside
    },
    control: () => eth4(ipv4()),
  },
  // H06: IPv4 options with bad lengths.
  ...[
    ['07 00 00 00', 'Record Route, length 0'],
    ['07 01 00 00', 'Record Route, length 1'],
    ['44 28 05 00', 'Timestamp, length 40 > 4 remaining'],
  ].map(
    ([o, what]): Row => ({
      id: 'H06',
      input: `IHL 6, ${what}`,
      hostile: () => eth4(ipv4({ options: fromHex(o!) })),
      verdict: { proto: 'ipv4', field: 'option', offset: 21 },
      control: () => eth4(ipv4({ options: fromHex('07 03 04 00') })),
    }),
  ),
  // H21: IPv6 Payload Length inconsistent with the packet.
  {
    id: 'H21',
    input: 'Payload Length 1000 with 100 bytes',
    hostile: () => eth6(ipv6({ nextHeader: 17, payload: new Uint8Array(100), payloadLength: 1000 })),
    verdict: { proto: 'ipv6', field: 'payload_length', offset: 4 },
    control: () => eth6(ipv6({ nextHeader: 17, payload: new Uint8Array(100) })),
  },
  {
    id: 'H21',
    input: 'Payload Length 0 without a Jumbo option',
    hostile: () => eth6(ipv6({ nextHeader: 17, payload: new Uint8Array(8), payloadLength: 0 })),
    verdict: { proto: 'ipv6', field: 'payload_length', offset: 4 },
    control: () => eth6(ipv6({ nextHeader: 17, payload: new Uint8Array(8) })),
  },
  {
    id: 'H21',
    input: 'payload shorter than the header chain',
    hostile: () => eth6(ipv6({ ext: [{ type: 'dest', hdrExtLen: 1 }], nextHeader: 17 })),
    verdict: { proto: 'ipv6', field: 'hdr_ext_len', code: 0, offset: 41, report: 'silent' },
    control: () => v6([{ type: 'dest' }]),
  },
  {
    id: 'H21',
    input: 'Payload Length 40 with 60 bytes present: trimmed',
    hostile: () => eth6(ipv6({ nextHeader: 59, payload: new Uint8Array(60), payloadLength: 40 })),
    verdict: (r) => {
      const p = (r as { p: Ipv6Packet }).p;
      expect([p.len, p.payloadLen]).toEqual([80, 40]);
    },
    control: () => eth6(ipv6({ nextHeader: 59, payload: new Uint8Array(60) })),
  },
  // H22: Hop-by-Hop options that overrun or are unrecognised.
  {
    id: 'H22',
    input: 'HbH PadN length 10 > 4 remaining',
    hostile: () => v6([{ type: 'hbh', options: fromHex('010a00000000') }]),
    verdict: { proto: 'ipv6', field: 'option', code: 0, offset: 43, report: 'silent' },
    control: () => v6([{ type: 'hbh', options: fromHex('010400000000') }]),
  },
  {
    id: 'H22',
    input: 'HbH option c2 (Jumbo type, bits 11) with length 0',
    hostile: () => v6([{ type: 'hbh', options: fromHex('c200') }]),
    verdict: { proto: 'ipv6', field: 'option', code: 0, offset: 43, report: 'icmp-unless-multicast' },
    control: () => v6([{ type: 'hbh', options: fromHex('0100') }]),
  },
  {
    id: 'H22',
    input: 'HbH unrecognised option de (bits 11) with length 0',
    hostile: () => v6([{ type: 'hbh', options: fromHex('de00') }]),
    verdict: { proto: 'ipv6', field: 'option', code: 2, offset: 42, report: 'icmp-unless-multicast' },
    control: () => v6([{ type: 'hbh', options: fromHex('1e00') }]),
  },
  // H23: extension header chain abuse.
  {
    id: 'H23a',
    input: 'DestOpt then HbH',
    hostile: () => v6([{ type: 'dest' }, { type: 'hbh' }]),
    verdict: { proto: 'ipv6', field: 'next_header', code: 1, offset: 40, report: 'icmp-unless-multicast' },
    control: () => v6([{ type: 'hbh' }, { type: 'dest' }]),
  },
  {
    id: 'H23b',
    input: 'DestOpt Hdr Ext Len 31 (256 bytes, 0 in a byte) in a short packet',
    hostile: () => v6([{ type: 'dest', hdrExtLen: 31 }], 17, new Uint8Array(40)),
    verdict: { proto: 'ipv6', field: 'hdr_ext_len', code: 0, offset: 41, report: 'silent' },
    control: () => v6([{ type: 'dest', options: fromHex('01fc' + '00'.repeat(252)) }]),
  },
  {
    id: 'H23c',
    input: 'Hdr Ext Len 255 (2048 bytes) in a 200-byte packet',
    hostile: () => v6([{ type: 'dest', hdrExtLen: 255 }], 17, new Uint8Array(152)),
    verdict: { proto: 'ipv6', field: 'hdr_ext_len', code: 0, offset: 41, report: 'silent' },
    control: () => v6([{ type: 'dest' }], 17, new Uint8Array(152)),
  },
  {
    id: 'H23d',
    input: '200 DestOpt headers',
    hostile: () => v6(dest(200)),
    verdict: { proto: 'ipv6', field: 'next_header', code: 0, offset: 40 + 7 * 8, report: 'silent' },
    control: () => v6(dest(8)),
  },
  // H24: Routing header type 0.
  {
    id: 'H24',
    input: 'RH0 with Segments Left 1',
    hostile: () => v6([{ type: 'routing', routingType: 0, segmentsLeft: 1 }]),
    verdict: { proto: 'ipv6', field: 'routing_type', code: 0, offset: 42, report: 'icmp-unless-multicast' },
    control: () => v6([{ type: 'routing', routingType: 0, segmentsLeft: 0 }]),
  },
];

describe('hostile link/network layer inputs (SECURITY-CASES §5)', () => {
  for (const row of rows) {
    it(`${row.id}: ${row.input}`, () => {
      const r = parseFrame(row.hostile());
      if (typeof row.verdict === 'function') {
        if (isWireError(r)) throw new Error(`expected a parse, got ${r.toString()}`);
        row.verdict(r);
      } else {
        expect(isWireError(r), 'must be refused').toBe(true);
        const e = r as WireError;
        const v = row.verdict;
        expect({ proto: e.proto, field: e.field }).toEqual({ proto: v.proto, field: v.field });
        if (v.offset !== undefined) expect(e.offset).toBe(v.offset);
        if (v.code !== undefined || v.report !== undefined) {
          expect(e).toBeInstanceOf(Ipv6ParamProblem);
          const pp = e as Ipv6ParamProblem;
          expect({ code: pp.code, report: pp.report }).toEqual({ code: v.code, report: v.report });
        }
      }
      const c = parseFrame(row.control());
      expect(isWireError(c) ? c.toString() : 'parsed', 'control must parse').toBe('parsed');
    });
  }

  it('H24: RH0 with Segments Left 0 is skipped and the upper layer found', () => {
    const r = parseFrame(v6([{ type: 'routing', routingType: 0, segmentsLeft: 0 }], 17)) as { chain: Ipv6Chain };
    expect([r.chain.upperProtocol, r.chain.upperOffset]).toEqual([17, 40 + 24]);
  });

  it('H23b: a full 256-byte DestOpt is walked without wrapping its length', () => {
    const r = parseFrame(v6([{ type: 'dest', options: fromHex('01fc' + '00'.repeat(252)) }])) as { chain: Ipv6Chain };
    expect(r.chain.headers[0]).toEqual({ type: 60, offset: 40, length: 256 });
    expect(r.chain.upperOffset).toBe(296);
  });

  it('H23d: a chain of 200 DestOpt headers is rejected in bounded time, and walked linearly without a cap', () => {
    const frame = v6(dest(200));
    const f = EthernetFrame.check(frame) as EthernetFrame;
    const p = Ipv6Packet.check(frame, f.payloadOffset, f.payloadLength) as Ipv6Packet;
    let t = performance.now();
    for (let i = 0; i < 1000; i++) expect(walkIpv6Chain(p)).toBeInstanceOf(Ipv6ParamProblem);
    expect(performance.now() - t).toBeLessThan(500);
    t = performance.now();
    for (let i = 0; i < 100; i++) {
      const c = walkIpv6Chain(p, Number.POSITIVE_INFINITY) as Ipv6Chain;
      expect(c.headers.length).toBe(200);
    }
    expect(performance.now() - t).toBeLessThan(500);
  });

  it('H06: no option length can stall the IPv4 walker (every length byte 0..255 at every position)', () => {
    for (let pos = 20; pos < 60; pos++) {
      for (let len = 0; len < 256; len++) {
        const o = new Uint8Array(40).fill(1);
        o[pos - 20] = 0x1e;
        if (pos - 19 < 40) o[pos - 19] = len;
        const b = ipv4({ options: o });
        const r = Ipv4Packet.check(b);
        const legal = pos < 59 && len >= 2 && len <= 60 - pos;
        expect(isWireError(r), `pos ${pos} len ${len}`).toBe(!legal);
      }
    }
  });
});
