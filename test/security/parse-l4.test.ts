// Hostile L4 inputs from SECURITY-CASES §5, each paired with a valid control that must still parse
// (a check that rejects everything would otherwise pass). Codec-level only: policy (PMTU floors,
// MSS floor, hop-limit checks, challenge ACKs) belongs to the core and is tested there.

import { describe, expect, it } from 'vitest';
import { TcpPacket, TcpRepr } from '../../src/wire/tcp.js';
import { TcpOptionsRepr, clampWindowShift } from '../../src/wire/tcp-options.js';
import type { TcpOptions } from '../../src/wire/tcp-options.js';
import { Icmpv4Packet, Icmpv4Repr } from '../../src/wire/icmpv4.js';
import { Icmpv6Packet } from '../../src/wire/icmpv6.js';
import { NdpPacket } from '../../src/wire/ndp.js';
import { MldPacket } from '../../src/wire/mld.js';
import { IgmpPacket } from '../../src/wire/igmp.js';
import { isWireError } from '../../src/wire/error.js';
import type { WireError } from '../../src/wire/error.js';
import { parseIpv6 } from '../../src/wire/address.js';
import {
  concat,
  icmpv4,
  icmpv6,
  igmp,
  igmpv3Query,
  ipv4Header,
  mldV2Query,
  ndpNs,
  ndpOpt,
  ndpOption,
  ndpRa,
  tcp,
  tcpOpt,
  tcpOptions,
} from '../support/build-l4.js';

const SYN = 0x02;
const ACK = 0x10;
const prefix = { prefix: parseIpv6('2001:db8:1::')! };

/** Parses a TCP segment down to its options; a WireError at any stage is returned. */
function tcpParse(b: Uint8Array, avail = b.length): TcpRepr | WireError {
  const p = TcpPacket.check(b, 0, avail);
  return isWireError(p) ? p : TcpRepr.parse(p);
}

function tcpOptionsOf(b: Uint8Array): TcpOptions {
  const r = tcpParse(b);
  if (isWireError(r)) throw new Error(`control failed: ${r.toString()}`);
  return r.options as TcpOptions;
}

/** A segment whose 4-byte options area is exactly `opts` (no padding added by the builder). */
const synWith = (...opts: number[][]): Uint8Array => tcp({ flags: SYN, options: concat(...opts) });

interface RejectCase {
  id: string;
  what: string;
  hostile: () => unknown;
  control: () => unknown;
  /** The field the WireError must name. */
  field: string;
}

const mldQueryNsrc = (nsrc: number, present: number) =>
  mldV2Query({ nsrc, sources: Array.from({ length: present }, (_, i) => parseIpv6(`2001:db8::${i + 1}`)!) });

const rejected: RejectCase[] = [
  {
    id: 'H16',
    what: 'ICMPv4 echo request of 4 bytes',
    hostile: () => Icmpv4Packet.check(icmpv4({ type: 8, body: [] })),
    control: () => Icmpv4Packet.check(icmpv4({ type: 8, ident: 1, seq: 1 })),
    field: 'header',
  },
  {
    id: 'H16',
    what: 'ICMPv4 message of 7 bytes',
    hostile: () => Icmpv4Packet.check(icmpv4({ type: 0, body: [0, 1, 0] })),
    control: () => Icmpv4Packet.check(icmpv4({ type: 0, body: [0, 1, 0, 2] })),
    field: 'header',
  },
  {
    id: 'H17a',
    what: 'ICMPv4 error quoting IHL=15 with only 20 inner bytes (+8)',
    hostile: () => (Icmpv4Packet.check(icmpv4({ type: 3, code: 3, data: concat(ipv4Header({ ihl: 15 }), new Uint8Array(8)) })) as Icmpv4Packet).quoted(),
    control: () => (Icmpv4Packet.check(icmpv4({ type: 3, code: 3, data: concat(ipv4Header({ ihl: 5 }), new Uint8Array(8)) })) as Icmpv4Packet).quoted(),
    field: 'quoted_ihl',
  },
  {
    id: 'H29',
    what: 'ICMPv6 echo request of 4 bytes',
    hostile: () => Icmpv6Packet.check(icmpv6({ type: 128, body: [] })),
    control: () => Icmpv6Packet.check(icmpv6({ type: 128, ident: 1, seq: 1 })),
    field: 'header',
  },
  {
    id: 'H29',
    what: 'ICMPv6 Packet Too Big of 6 bytes',
    hostile: () => Icmpv6Packet.check(icmpv6({ type: 2, body: [0, 0] })),
    control: () => Icmpv6Packet.check(icmpv6({ type: 2, rest: 1280 })),
    field: 'header',
  },
  {
    id: 'H30',
    what: 'RA whose Prefix Information option has length 0 (after a valid SLLA)',
    hostile: () => NdpPacket.check(ndpRa({}, [ndpOpt.slla(0x020000000001), ndpOption(3, ndpOpt.prefix(prefix).subarray(2), 0)])),
    control: () => NdpPacket.check(ndpRa({}, [ndpOpt.slla(0x020000000001), ndpOpt.prefix(prefix)])),
    field: 'option_length',
  },
  {
    id: 'H30',
    what: 'RA with an option running past the end of the packet',
    hostile: () => NdpPacket.check(ndpRa({}, [ndpOption(3, ndpOpt.prefix(prefix).subarray(2), 5)])),
    control: () => NdpPacket.check(ndpRa({}, [ndpOption(3, ndpOpt.prefix(prefix).subarray(2), 4)])),
    field: 'option_length',
  },
  {
    id: 'H30',
    what: 'NS whose nonce option has length 0',
    hostile: () => NdpPacket.check(ndpNs(parseIpv6('fe80::1')!, [ndpOption(14, [1, 2, 3, 4, 5, 6], 0)])),
    control: () => NdpPacket.check(ndpNs(parseIpv6('fe80::1')!, [ndpOpt.nonce([1, 2, 3, 4, 5, 6])])),
    field: 'option_length',
  },
  {
    id: 'H31',
    what: 'TCP data offset 4 (first byte of the offset field 0x40)',
    hostile: () => tcpParse(tcp({ dataOffset: 4 })),
    control: () => tcpParse(tcp({ dataOffset: 5 })),
    field: 'data_offset',
  },
  {
    id: 'H31',
    what: 'TCP data offset 15 (60 bytes) in a 40-byte segment',
    hostile: () => tcpParse(tcp({ dataOffset: 15, options: new Uint8Array(20) })),
    control: () => tcpParse(tcp({ dataOffset: 10, options: new Uint8Array(20) })),
    field: 'data_offset',
  },
  {
    id: 'H31',
    what: 'TCP data offset 0',
    hostile: () => tcpParse(tcp({ dataOffset: 0, payload: new Uint8Array(40) })),
    control: () => tcpParse(tcp({ payload: new Uint8Array(40) })),
    field: 'data_offset',
  },
  {
    id: 'H32',
    what: 'SYN options 22 00 01 01 (unknown kind, length 0)',
    hostile: () => tcpParse(synWith([0x22, 0x00, 0x01, 0x01])),
    control: () => tcpParse(synWith([0x22, 0x02, 0x01, 0x01])),
    field: 'option_length',
  },
  {
    id: 'H32',
    what: 'SYN options 08 01 .. (timestamps, length 1)',
    hostile: () => tcpParse(synWith([0x08, 0x01, 0x00, 0x00])),
    control: () => tcpParse(synWith(tcpOpt.nop(), tcpOpt.nop(), tcpOpt.ts(1, 0))),
    field: 'option_length',
  },
  {
    id: 'H53',
    what: 'IGMP message of 7 bytes',
    hostile: () => IgmpPacket.check(igmp().subarray(0, 7)),
    control: () => IgmpPacket.check(igmp()),
    field: 'header',
  },
  {
    id: 'H53',
    what: 'IGMPv3 query with Number of Sources 0xFFFF and no sources present',
    hostile: () => IgmpPacket.check(igmpv3Query({ nsrc: 0xffff })),
    control: () => IgmpPacket.check(igmpv3Query({ nsrc: 0 })),
    field: 'number_of_sources',
  },
  {
    id: 'H53',
    what: 'IGMPv3 query with Number of Sources 3 and 2 present',
    hostile: () => IgmpPacket.check(igmpv3Query({ nsrc: 3, sources: [1, 2] })),
    control: () => IgmpPacket.check(igmpv3Query({ nsrc: 2, sources: [1, 2] })),
    field: 'number_of_sources',
  },
  {
    id: 'H53',
    what: 'MLDv2 query whose source count overruns the data',
    hostile: () => MldPacket.check(mldQueryNsrc(0xffff, 1)),
    control: () => MldPacket.check(mldQueryNsrc(1, 1)),
    field: 'number_of_sources',
  },
];

describe('hostile L4 inputs are rejected, valid controls parse', () => {
  it.each(rejected.map((c) => [c.id, c.what, c] as const))('%s: %s', (_id, _what, c) => {
    const ctl = c.control();
    if (isWireError(ctl)) throw new Error(`control rejected: ${ctl.toString()}`);
    const bad = c.hostile();
    expect(isWireError(bad)).toBe(true);
    expect((bad as WireError).field).toBe(c.field);
  });

  it('H16/H53: every ICMPv4 and IGMP length below 8 is rejected', () => {
    for (let n = 0; n < 8; n++) {
      expect(isWireError(Icmpv4Packet.check(icmpv4(), 0, n))).toBe(true);
      expect(isWireError(IgmpPacket.check(igmp(), 0, n))).toBe(true);
      expect(isWireError(Icmpv6Packet.check(icmpv6(), 0, n))).toBe(true);
    }
    expect(isWireError(Icmpv4Packet.check(icmpv4(), 0, 8))).toBe(false);
  });
});

interface ToleratedCase {
  id: string;
  what: string;
  segment: () => Uint8Array;
  check: (o: TcpOptions) => void;
}

const tolerated: ToleratedCase[] = [
  {
    id: 'H32',
    what: 'SYN options 02 04 05 truncated at the end of the area: the walk stops, the partial MSS is not used',
    segment: () => synWith(tcpOpt.ws(7), [0x01], [0x01, 0x02, 0x04, 0x05]),
    check: (o) => {
      expect(o.mss).toBeUndefined();
      expect(o.windowScale).toBe(7);
      expect(o.malformed).toEqual([{ kind: 2, length: 4, offset: 25 }]);
    },
  },
  {
    id: 'H33',
    what: 'SACK declaring 5 blocks (length 42) overruns the 40-byte area: ignored, the segment stays valid',
    segment: () => tcp({ flags: ACK, options: [5, 42, ...new Array<number>(38).fill(0)] }),
    check: (o) => {
      expect(o.sackBlocks).toBeUndefined();
      expect(o.malformed).toEqual([{ kind: 5, length: 42, offset: 20 }]);
    },
  },
  {
    id: 'H33',
    what: 'SACK length 11 (not 2+8n) is ignored; timestamps after it still parse',
    segment: () => tcp({ flags: ACK, options: tcpOptions([5, 11, ...new Array<number>(9).fill(0)], tcpOpt.ts(7, 8)) }),
    check: (o) => {
      expect(o.sackBlocks).toBeUndefined();
      expect(o.timestamps).toEqual({ tsVal: 7, tsEcr: 8 });
      expect(o.malformed).toEqual([{ kind: 5, length: 11, offset: 20 }]);
    },
  },
  {
    id: 'H33',
    what: 'SACK with no block (length 2) is ignored',
    segment: () => tcp({ flags: ACK, options: tcpOptions([5, 2], tcpOpt.nop(), tcpOpt.nop()) }),
    check: (o) => {
      expect(o.sackBlocks).toBeUndefined();
      expect(o.malformed).toEqual([{ kind: 5, length: 2, offset: 20 }]);
    },
  },
  {
    id: 'H33',
    what: 'SACK block with left >= right is reported raw for the core to discard',
    segment: () => tcp({ flags: ACK, options: tcpOptions(tcpOpt.nop(), tcpOpt.nop(), tcpOpt.sack([200, 100], [5, 5])) }),
    check: (o) => {
      expect(o.sackBlocks).toEqual([
        [200, 100],
        [5, 5],
      ]);
      expect(o.malformed).toEqual([]);
    },
  },
  {
    id: 'H34',
    what: 'window scale shift 15 is reported raw; clampWindowShift gives 14',
    segment: () => tcp({ flags: SYN, options: tcpOptions(tcpOpt.nop(), tcpOpt.ws(15)) }),
    check: (o) => {
      expect(o.windowScale).toBe(15);
      expect(clampWindowShift(o.windowScale!)).toBe(14);
    },
  },
  {
    id: 'H34',
    what: 'window scale shift 255 is reported raw; clampWindowShift gives 14',
    segment: () => tcp({ flags: SYN, options: tcpOptions(tcpOpt.nop(), tcpOpt.ws(255)) }),
    check: (o) => {
      expect(o.windowScale).toBe(255);
      expect(clampWindowShift(o.windowScale!)).toBe(14);
    },
  },
  {
    id: 'H34',
    what: 'window scale in a non-SYN segment is still reported (the core ignores it)',
    segment: () => tcp({ flags: ACK, options: tcpOptions(tcpOpt.nop(), tcpOpt.ws(3)) }),
    check: (o) => expect(o.windowScale).toBe(3),
  },
  ...[0, 1, 48].map(
    (mss): ToleratedCase => ({
      id: 'H35',
      what: `MSS ${mss} is parsed as given (the core applies its floor)`,
      segment: () => tcp({ flags: SYN, options: tcpOptions(tcpOpt.mss(mss)) }),
      check: (o) => {
        expect(o.mss).toBe(mss);
        expect(o.malformed).toEqual([]);
      },
    }),
  ),
  {
    id: 'H35',
    what: 'MSS option with length 3 is ignored, not fatal',
    segment: () => tcp({ flags: SYN, options: tcpOptions([2, 3, 0x05], tcpOpt.nop(), tcpOpt.ws(7), tcpOpt.nop()) }),
    check: (o) => {
      expect(o.mss).toBeUndefined();
      expect(o.windowScale).toBe(7);
      expect(o.malformed).toEqual([{ kind: 2, length: 3, offset: 20 }]);
    },
  },
];

describe('malformed-but-survivable TCP options are ignored without failing the segment', () => {
  it.each(tolerated.map((c) => [c.id, c.what, c] as const))('%s: %s', (_id, _what, c) => {
    c.check(tcpOptionsOf(c.segment()));
  });

  it('H35 control: a normal MSS parses', () => {
    expect(tcpOptionsOf(tcp({ flags: SYN, options: tcpOptions(tcpOpt.mss(1460)) })).mss).toBe(1460);
  });

  it('H33 (walker over a wider area): a 5-block SACK is ignored and listed', () => {
    const area = tcpOptions(tcpOpt.sack([1, 2], [3, 4], [5, 6], [7, 8], [9, 10]));
    const r = TcpOptionsRepr.parse(area, 0, area.length) as TcpOptions;
    expect(r.sackBlocks).toBeUndefined();
    expect(r.malformed).toEqual([{ kind: 5, length: 42, offset: 0 }]);
  });

  it('H17c/H19: values the core must police are exposed raw, deprecated types are recognised', () => {
    const mtu8 = Icmpv4Repr.parse(Icmpv4Packet.check(icmpv4({ type: 3, code: 4, rest: 8, data: concat(ipv4Header(), new Uint8Array(8)) })) as Icmpv4Packet);
    expect(mtu8).toMatchObject({ kind: 'destUnreachable', nextHopMtu: 8 });
    const mask = Icmpv4Repr.parse(Icmpv4Packet.check(icmpv4({ type: 18, rest: 0, data: [0, 0, 0, 0] })) as Icmpv4Packet);
    expect(mask.kind).toBe('deprecated');
    expect(Icmpv4Repr.parse(Icmpv4Packet.check(icmpv4({ type: 4 })) as Icmpv4Packet).kind).toBe('deprecated');
  });
});

describe('parsing time is bounded', () => {
  const timed = (f: () => void): number => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };

  it('a 40-byte options area of NOPs and one of 2-byte unknown options parse fast', () => {
    const nops = tcp({ flags: SYN, options: new Uint8Array(40).fill(1) });
    const unknowns = tcp({ flags: SYN, options: new Array(20).fill([0x22, 2]).flat() });
    expect(tcpOptionsOf(nops)).toEqual({ sackPermitted: false, malformed: [] });
    expect(tcpOptionsOf(unknowns)).toEqual({ sackPermitted: false, malformed: [] });
    const ms = timed(() => {
      for (let i = 0; i < 20_000; i++) {
        tcpParse(nops);
        tcpParse(unknowns);
      }
    });
    expect(ms).toBeLessThan(2000);
  });

  it('the walkers stay linear on oversized inputs (1 MiB areas, 65535 claimed records)', () => {
    const mib = 1 << 20;
    expect(timed(() => expect(TcpOptionsRepr.parse(new Uint8Array(mib).fill(1), 0, mib)).toEqual({ sackPermitted: false, malformed: [] }))).toBeLessThan(2000);
    const twoByte = new Uint8Array(mib);
    for (let i = 0; i < mib; i += 2) {
      twoByte[i] = 0x22;
      twoByte[i + 1] = 2;
    }
    expect(timed(() => expect(isWireError(TcpOptionsRepr.parse(twoByte, 0, mib))).toBe(false))).toBeLessThan(2000);
    // NDP: 8189 unknown 8-byte options in a 64 KiB RA; a zero-length option at the very end rejects it.
    const opts = new Array(8189).fill(0).map(() => ndpOption(200, [0, 0, 0, 0, 0, 0]));
    const ra = ndpRa({}, opts);
    expect(timed(() => expect((NdpPacket.check(ra) as NdpPacket).options().unknown.length).toBe(8189))).toBeLessThan(2000);
    const tail = ndpRa({}, [...opts.slice(1), ndpOption(200, [0, 0, 0, 0, 0, 0], 0)]);
    expect(isWireError(NdpPacket.check(tail))).toBe(true);
    // IGMPv3/MLDv2 reports claiming 65535 records with none present are rejected at the first one.
    expect(isWireError(IgmpPacket.check(concat([0x22, 0, 0, 0, 0, 0, 0xff, 0xff])))).toBe(true);
    expect(isWireError(MldPacket.check(concat([143, 0, 0, 0, 0, 0, 0xff, 0xff])))).toBe(true);
  });
});
