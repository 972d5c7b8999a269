// Fuzz targets for every wire parser besides UDP, seeded with real frames from the recorded Linux
// capture (test/fixtures/linux-sample.pcapng) cut at each layer. Each target runs the parser's
// check() and every accessor that walks variable-length data (options, chains, records, quoted
// headers): any throw is a finding; successful views must stay inside the input.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tsChecksum } from '../../src/checksum/index.js';
import { readCaptureBytes } from '../../src/wire/capture.js';
import { decodeFrame } from '../../src/wire/decode.js';
import { ArpPacket, ArpRepr } from '../../src/wire/arp.js';
import { EthernetFrame, EthernetRepr } from '../../src/wire/ethernet.js';
import { isWireError, type WireError } from '../../src/wire/error.js';
import { Icmpv4Packet } from '../../src/wire/icmpv4.js';
import { Icmpv6Packet } from '../../src/wire/icmpv6.js';
import { IgmpPacket, IgmpRepr } from '../../src/wire/igmp.js';
import { Ipv4Packet, Ipv4Repr, parseIpv4Options } from '../../src/wire/ipv4.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { walkIpv6Chain, parseIpv6Options } from '../../src/wire/ipv6-ext.js';
import { MldPacket, MldRepr } from '../../src/wire/mld.js';
import { NdpPacket } from '../../src/wire/ndp.js';
import { TcpPacket } from '../../src/wire/tcp.js';
import { COMMON_TOKENS, FuzzInvariantError, roundTripTarget } from './harness.js';
import type { FuzzTarget } from './harness.js';

const fixture = fileURLToPath(new URL('../fixtures/linux-sample.pcapng', import.meta.url));

interface Seeds {
  frames: Uint8Array[];
  ipv4: Uint8Array[];
  ipv6: Uint8Array[];
  byV4Proto: Map<number, Uint8Array[]>;
  byV6Next: Map<number, Uint8Array[]>;
  file: Uint8Array;
}

function loadSeeds(): Seeds {
  const file = new Uint8Array(readFileSync(fixture));
  const s: Seeds = { frames: [], ipv4: [], ipv6: [], byV4Proto: new Map(), byV6Next: new Map(), file };
  const push = (m: Map<number, Uint8Array[]>, k: number, v: Uint8Array) => m.set(k, [...(m.get(k) ?? []), v]);
  readCaptureBytes(file, (rec) => {
    const f = rec.data.slice();
    s.frames.push(f);
    const et = (f[12]! << 8) | f[13]!;
    const l3 = f.subarray(14);
    if (et === 0x0800) {
      s.ipv4.push(l3);
      const ihl = (l3[0]! & 0xf) * 4;
      push(s.byV4Proto, l3[9]!, l3.subarray(ihl));
    } else if (et === 0x86dd) {
      s.ipv6.push(l3);
      push(s.byV6Next, l3[6]!, l3.subarray(40));
    }
  });
  return s;
}

const seeds = loadSeeds();
const uniq = (xs: readonly Uint8Array[] | undefined, n = 12): Uint8Array[] => {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const x of xs ?? []) {
    const k = `${x.length}:${x[0]}:${x[1]}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(x.slice());
    if (out.length >= n) break;
  }
  return out;
};

function within(name: string, off: number, len: number, data: Uint8Array): void {
  if (off < 0 || len < 0 || off + len > data.length) throw new FuzzInvariantError(`${name}: view [${off}, +${len}) outside ${data.length} bytes`);
}

/** A target that runs `check` and then `walk` over the view; views must stay inside the input. */
function walkTarget<V extends { off: number; len: number }>(spec: {
  name: string;
  maxLen: number;
  seeds: Uint8Array[];
  check: (b: Uint8Array) => V | WireError;
  walk?: (v: V, data: Uint8Array) => void;
}): FuzzTarget {
  return {
    name: spec.name,
    maxLen: spec.maxLen,
    seeds: spec.seeds,
    dictionary: COMMON_TOKENS,
    parse: (b) => spec.check(b),
    run: (b) => {
      const v = spec.check(b);
      if (isWireError(v)) return;
      within(spec.name, v.off, v.len, b);
      spec.walk?.(v, b);
    },
  };
}

const llcPayload = (typeOrLength: number): number => (typeOrLength <= 1500 ? typeOrLength : 0);

const ethernet = roundTripTarget({
  name: 'ethernet',
  maxLen: 1600,
  seeds: uniq(seeds.frames),
  dictionary: COMMON_TOKENS,
  check: (b) => EthernetFrame.check(b),
  parse: (p) => EthernetRepr.parse(p),
  // An 802.3 frame's type field is its payload length: emit that many payload bytes so it re-checks.
  bufferLen: (r) => EthernetRepr.bufferLen(r) + llcPayload(r.ethertype),
  emit: (r, b) => {
    EthernetRepr.emit(r, b, 0, llcPayload(r.ethertype));
  },
});

const arp = roundTripTarget({
  name: 'arp',
  maxLen: 64,
  seeds: uniq(seeds.frames.filter((f) => f[12] === 0x08 && f[13] === 0x06).map((f) => f.subarray(14))),
  check: (b) => ArpPacket.check(b),
  parse: (p) => ArpRepr.parse(p),
  bufferLen: (r) => ArpRepr.bufferLen(r),
  emit: (r, b) => ArpRepr.emit(r, b, 0),
});

const ipv4 = roundTripTarget({
  name: 'ipv4',
  maxLen: 1600,
  seeds: uniq(seeds.ipv4),
  dictionary: [...COMMON_TOKENS, Uint8Array.from([0x83, 0x07, 0x04]), Uint8Array.from([0x44, 0x28, 0x05])],
  check: (b) => Ipv4Packet.check(b),
  parse: (p) => Ipv4Repr.parse(p),
  bufferLen: (r) => Ipv4Repr.bufferLen(r),
  emit: (r, b) => Ipv4Repr.emit(r, b, 0, tsChecksum),
  extra: (p, _r, data) => {
    if (p.headerLen > 20) {
      const o = parseIpv4Options(data, p.off, p.headerLen);
      if (!isWireError(o)) for (const opt of o.list) within('ipv4 option', opt.offset, opt.length, data);
    }
  },
});

const ipv6 = walkTarget({
  name: 'ipv6',
  maxLen: 1600,
  seeds: uniq(seeds.ipv6),
  check: (b) => Ipv6Packet.check(b),
  walk: (p, data) => {
    const chain = walkIpv6Chain(p, 16);
    if (isWireError(chain)) return;
    within('ipv6 upper', chain.upperOffset, 0, data);
    for (const h of chain.headers) {
      if (h.type === 0 || h.type === 60) parseIpv6Options(p, h);
    }
  },
});

const tcp = walkTarget({
  name: 'tcp',
  maxLen: 1600,
  seeds: uniq(seeds.byV4Proto.get(6)),
  check: (b) => TcpPacket.check(b),
  walk: (p, data) => {
    within('tcp payload', p.payloadOffset, p.payloadLength, data);
    const o = p.options();
    if (!isWireError(o) && o.sackBlocks && o.sackBlocks.length > 4) throw new FuzzInvariantError('tcp: more than 4 SACK blocks');
  },
});

const icmpv4 = walkTarget({
  name: 'icmpv4',
  maxLen: 1600,
  seeds: uniq(seeds.byV4Proto.get(1)),
  check: (b) => Icmpv4Packet.check(b),
  walk: (p, data) => {
    const q = p.quoted();
    if (!isWireError(q)) within('icmpv4 quoted', q.transportOffset, q.transportLength, data);
  },
});

const icmpv6 = walkTarget({
  name: 'icmpv6',
  maxLen: 1600,
  seeds: uniq(seeds.byV6Next.get(58)),
  check: (b) => Icmpv6Packet.check(b),
  walk: (p) => {
    p.quoted();
  },
});

const ndp = walkTarget({
  name: 'ndp',
  maxLen: 1600,
  seeds: uniq((seeds.byV6Next.get(58) ?? []).filter((m) => m[0]! >= 133 && m[0]! <= 137)),
  check: (b) => NdpPacket.check(b),
  walk: (p) => {
    p.options();
  },
});

const mld = roundTripTarget({
  name: 'mld',
  maxLen: 1600,
  seeds: uniq(seeds.frames.filter((f) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 0).map((f) => f.subarray(14 + 48))),
  check: (b) => MldPacket.check(b),
  parse: (p) => MldRepr.parse(p),
  bufferLen: (r) => MldRepr.bufferLen(r),
  emit: (r, b) => MldRepr.emit(r, b, 0),
});

const igmp = roundTripTarget({
  name: 'igmp',
  maxLen: 1600,
  seeds: [Uint8Array.from([0x16, 0, 0xfa, 0x04, 0xef, 1, 2, 3]), Uint8Array.from([0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0, 0x02, 0x7d, 0, 0])],
  check: (b) => IgmpPacket.check(b),
  parse: (p) => IgmpRepr.parse(p),
  bufferLen: (r) => IgmpRepr.bufferLen(r),
  emit: (r, b) => IgmpRepr.emit(r, b, 0),
});

/** The whole decoder behind `picotcp decode` and the tracer: never throws on any frame. */
const decode: FuzzTarget = {
  name: 'decode',
  maxLen: 1600,
  seeds: uniq(seeds.frames, 24),
  dictionary: COMMON_TOKENS,
  parse: (b) => decodeFrame(1, b, { checksum: tsChecksum }),
  run: (b) => {
    const d = decodeFrame(1, b, { checksum: tsChecksum });
    JSON.stringify(d);
  },
};

/** The streaming capture reader: corrupt files give a CaptureError, never an exception. */
const capture: FuzzTarget = {
  name: 'capture',
  maxLen: 4096,
  seeds: [seeds.file.slice(0, 2048)],
  parse: (b) => readCaptureBytes(b, () => {}),
  run: (b) => {
    readCaptureBytes(b, (rec) => within('capture record', 0, rec.data.length, rec.data));
  },
};

export const wireTargets: readonly FuzzTarget[] = [ethernet, arp, ipv4, ipv6, tcp, icmpv4, icmpv6, ndp, mld, igmp, decode, capture];
