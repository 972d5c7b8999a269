// Compares one frame decoded by src/wire/decode.ts with tshark's `-T fields` output for the same frame.
// Every rule that maps tshark's view onto ours is stated here, next to the code applying it.
//
// Occurrences: tshark lists every occurrence of a field in protocol order. Outer headers come first;
// ICMP/ICMPv6 errors quote an inner datagram whose fields follow. We always compare the FIRST
// occurrence, and only for the layers our decoder has at the outer level (the quote is not a layer).
//
// Checksum status (tshark: 1 good, 0 bad, 2 unverified, 3 not present; ours: true, false, null):
//   C1  true ⇔ 1 and false ⇔ 0.
//   C2  null ⇔ 2, 3 or the status field absent. We return null when a covered byte was not captured
//       (snaplen), when the message is a first fragment (the checksum covers later fragments), for a
//       zero UDP checksum over IPv4 (RFC 768: "no checksum"; tshark: 3, "not present"), or with
//       verification off. tshark says "unverified" in the other cases (its TSHARK_PREFS enable every check).
//   C3  anything else (ours verified, tshark unverified or the reverse) is a mismatch.
//
// Malformation: tshark's expert items are attributed to the protocol that raised them (PDML, see
// tsharkExperts); only the outermost occurrence of a protocol counts (an ICMP error's quote, or a
// tunnel we do not decode, is not our layer), and the Checksum group is left to C1-C3. Then:
//   M1  a layer we decoded cleanly must not carry a tshark item of severity Error in group Malformed or
//       Protocol (tshark's "this is malformed");
//   M2  layers we do not decode (application protocols, LLC payloads, tunnels) are ignored;
//   M3  a layer where we report an `error` must carry a tshark item of any severity (Note and up):
//       tshark often rates as a Warning or Note what we call malformed (an IPv6 Payload Length beyond
//       the frame is a Warning, a TCP option of length 1 a Note), but it must have noticed it.
// Layer chains must agree, except that after a layer we stop at (error or snaplen) tshark may go on
// dissecting what is present. Field values are compared on the common chain; fields tshark leaves
// out of a snaplen-truncated frame are not required. Disagreements that remain are listed with the
// reason in KNOWN_DIFFERENCES (corpus) and ACCEPTED_DIVERGENCES (mutation test), never silently.
import { parseIpv6 } from '../../src/wire/address.js';
import type { DecodedFrame } from '../../src/wire/decode.js';
import { EXPERT_SEVERITY_ERROR, TSHARK_PREFS } from './tshark.js';
import type { TsharkExpert, TsharkFrame } from './tshark.js';

/** Fields requested from tshark (frame-level bookkeeping first). */
export const FIELDS = [
  'frame.encap_type',
  'frame.protocols',
  'eth.src',
  'eth.dst',
  'vlan.id',
  'ieee8021ad.id',
  'sll.pkttype',
  'sll.hatype',
  'null.family',
  'mpls.label',
  'arp.opcode',
  'arp.src.hw_mac',
  'arp.src.proto_ipv4',
  'arp.dst.hw_mac',
  'arp.dst.proto_ipv4',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.len',
  'ip.hdr_len',
  'ip.ttl',
  'ip.id',
  'ip.flags.mf',
  'ip.flags.df',
  'ip.frag_offset',
  'ip.flags.rb',
  'ip.dsfield',
  'ip.checksum.status',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'ipv6.plen',
  'ipv6.hlim',
  'ipv6.tclass',
  'ipv6.flow',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'ipv6.fraghdr.ident',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.window_size_value',
  'tcp.hdr_len',
  'tcp.len',
  'tcp.checksum.status',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.sack_perm',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'tcp.options.sack_le',
  'tcp.options.sack_re',
  'tcp.urgent_pointer',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum.status',
  'icmp.type',
  'icmp.code',
  'icmp.checksum.status',
  'icmp.ident',
  'icmp.seq',
  'icmp.mtu',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.checksum.status',
  'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
  'icmpv6.mtu',
  'icmpv6.nd.ns.target_address',
  'icmpv6.nd.na.target_address',
  'icmpv6.nd.na.flag.r',
  'icmpv6.nd.na.flag.s',
  'icmpv6.nd.na.flag.o',
  'icmpv6.mldr.nb_mcast_records',
  'igmp.type',
  'igmp.version',
  'igmp.checksum.status',
  'igmp.maddr',
  'igmp.num_grp_recs',
  'igmp.num_src',
] as const;

/** TSHARK_PREFS plus absolute sequence numbers, so SACK edges compare with our raw values. */
export const ORACLE_PREFS = [...TSHARK_PREFS, 'tcp.relative_sequence_numbers:FALSE'];

/**
 * Frames where tshark and we legitimately disagree, keyed `file#frame` (tshark frame numbers), with
 * the reason. Each entry must still be hit (an unused entry fails the test, so the list cannot rot).
 */
export const KNOWN_DIFFERENCES: Record<string, string> = {
  'tcpdump__icmpv6-ra-pref64.pcap#2':
    'The RA carries a PREF64 option (RFC 8781) with Prefix Length Code 6, which is unassigned. tshark 4.0 flags it ' +
    '"Invalid Option Length" (the length, 2, is right); RFC 8781 §4 has receivers ignore such an option, and the NDP ' +
    'codec skips options it does not process, so the message is well formed (divergence class ndp-option-contents).',
};

const GROUP_CHECKSUM = 0x01000000;
const GROUP_MALFORMED = 0x07000000;
const GROUP_PROTOCOL = 0x09000000;

// tshark protocol names (frame.protocols) → our layer names; absent = not a layer of ours.
const PROTO_MAP: Record<string, string> = {
  eth: 'eth',
  vlan: 'vlan',
  ieee8021ad: 'vlan',
  sll: 'sll',
  null: 'loopback',
  mpls: 'mpls',
  llc: 'llc',
  arp: 'arp',
  ip: 'ipv4',
  ipv6: 'ipv6',
  'ipv6.hopopts': '',
  'ipv6.routing': '',
  'ipv6.fraghdr': '',
  'ipv6.dstopts': '',
  ethertype: '',
  raw: '',
  icmp: 'icmpv4',
  icmpv6: 'icmpv6',
  igmp: 'igmp',
  udp: 'udp',
  tcp: 'tcp',
};
const TERMINAL = new Set(['arp', 'icmpv4', 'icmpv6', 'igmp', 'udp', 'tcp', 'llc']);

/** tshark's outer protocol chain in our layer names, up to the first terminal or unknown protocol. */
export function tsharkChain(protocols: string): string[] {
  const chain: string[] = [];
  for (const n of protocols.split(':')) {
    const ours = PROTO_MAP[n];
    if (ours === undefined) break;
    if (ours === '') continue;
    if (chain[chain.length - 1] === ours && ours === 'igmp') continue; // tshark nests igmp:igmp
    chain.push(ours);
    if (TERMINAL.has(ours)) break;
  }
  return chain;
}

function layerOf(proto: string): string | null {
  const m = PROTO_MAP[proto];
  if (m === undefined && proto.startsWith('ipv6.')) return 'ipv6'; // an extension header
  if (m === undefined || m === 'llc') return null; // M2: not decoded by us
  return m === '' ? (proto.startsWith('ipv6.') ? 'ipv6' : null) : m;
}

/** Our layers for which tshark raised items: `bad` = malformed (M1), `noticed` = any item (M3). */
export function tsharkVerdicts(experts: readonly TsharkExpert[] | undefined): { bad: Set<string>; noticed: Set<string> } {
  const bad = new Set<string>();
  const noticed = new Set<string>();
  for (const e of experts ?? []) {
    if (e.occurrence > 1 || e.group === GROUP_CHECKSUM) continue;
    const l = layerOf(e.proto);
    if (l === null) continue;
    noticed.add(l);
    if (e.severity === EXPERT_SEVERITY_ERROR && (e.group === GROUP_MALFORMED || e.group === GROUP_PROTOCOL)) bad.add(l);
  }
  return { bad, noticed };
}

/** Our layer name for an error's protocol (NDP and MLD live inside ICMPv6; SLL2 is tshark's sll). */
export function errorLayer(proto: string): string {
  if (proto === 'ndp' || proto === 'mld') return 'icmpv6';
  if (proto === 'ethernet') return 'eth';
  if (proto === 'sll2' || proto === 'null') return proto === 'null' ? 'loopback' : 'sll';
  return proto;
}

export interface Mismatch {
  field: string;
  ours: string;
  tshark: string;
}

type Value = string | number | boolean | null | undefined;

function first(t: TsharkFrame, f: string): string | undefined {
  return t[f]![0];
}

function norm(v: string | undefined): string {
  if (v === undefined) return '(absent)';
  if (v === 'True') return '1';
  if (v === 'False') return '0';
  return v;
}

function sameValue(ours: Value, theirs: string | undefined): boolean {
  if (ours === undefined || ours === null) return theirs === undefined;
  if (theirs === undefined) return false;
  if (typeof ours === 'boolean') return norm(theirs) === (ours ? '1' : '0');
  if (typeof ours === 'number') return Number(theirs) === ours;
  if (typeof ours === 'string' && ours.includes(':') && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(ours)) {
    // IPv6 text differs legitimately (tshark writes ::/96 addresses IPv4-compatible style: ::1.2.3.4).
    const a = parseIpv6(ours);
    const b = parseIpv6(theirs);
    if (a && b) return a.every((x, i) => x === b[i]);
  }
  return theirs.toLowerCase() === String(ours).toLowerCase();
}

function checksumStatus(ours: boolean | null | undefined, theirs: string | undefined): boolean {
  if (ours === true) return theirs === '1'; // C1
  if (ours === false) return theirs === '0'; // C1
  return theirs === undefined || theirs === '2' || theirs === '3'; // C2 (ours null or absent)
}

/** Field-by-field comparison for the layers present in `chain` (the common chain of both sides). */
export function compareFields(d: DecodedFrame, t: TsharkFrame, chain: readonly string[]): Mismatch[] {
  const out: Mismatch[] = [];
  const eq = (field: string, ours: Value, theirs = first(t, field)): void => {
    if (theirs === undefined && d.truncated) return; // tshark stops a cut layer at the first missing byte
    if (!sameValue(ours, theirs)) out.push({ field, ours: String(ours ?? '(absent)'), tshark: norm(theirs) });
  };
  const list = (field: string, ours: number[]): void => {
    const theirs = t[field]!.map(Number);
    if (ours.join(',') !== theirs.join(',')) out.push({ field, ours: ours.join(',') || '(none)', tshark: theirs.join(',') || '(none)' });
  };
  const cks = (field: string, ours: boolean | null | undefined): void => {
    const theirs = first(t, field);
    if (!checksumStatus(ours, theirs)) out.push({ field, ours: String(ours ?? 'null'), tshark: norm(theirs) });
  };
  const has = (l: string): boolean => chain.includes(l);

  if (has('eth') && d.eth) {
    eq('eth.src', d.eth.src);
    eq('eth.dst', d.eth.dst);
    // 802.1ad tags are dissected as ieee8021ad, 802.1Q and the legacy 0x9100 TPID as vlan.
    list('ieee8021ad.id', d.eth.vlans.filter((v) => v.tpid === 0x88a8).map((v) => v.vid));
    list('vlan.id', d.eth.vlans.filter((v) => v.tpid !== 0x88a8).map((v) => v.vid));
  }
  if (has('sll') && d.sll && d.sll.version === 1) {
    eq('sll.pkttype', d.sll.packetType);
    eq('sll.hatype', d.sll.arphrdType);
  }
  // tshark reads a NULL header it cannot take as an IP family as an EtherType or PPP header instead:
  // compare the family only when it is one both decoders take as IP (family 10: ACCEPTED_DIVERGENCES).
  if (has('loopback') && d.loopback && [2, 24, 28, 30].includes(d.loopback.family)) eq('null.family', d.loopback.family);
  if (has('mpls') && d.mpls) list('mpls.label', d.mpls.map((m) => m.label));
  if (has('arp') && d.arp) {
    const a = d.arp;
    eq('arp.opcode', a.operation);
    // tshark has MAC / IPv4 fields only for 6-byte hardware and 4-byte IPv4 protocol addresses.
    const mac = (a.htype === 1 || a.htype === 6) && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(a.senderMac);
    const v4 = a.ptype === 0x0800 && /^\d+\.\d+\.\d+\.\d+$/.test(a.senderIp);
    eq('arp.src.hw_mac', mac ? a.senderMac : undefined);
    eq('arp.dst.hw_mac', mac ? a.targetMac : undefined);
    eq('arp.src.proto_ipv4', v4 ? a.senderIp : undefined);
    eq('arp.dst.proto_ipv4', v4 ? a.targetIp : undefined);
  }
  if (has('ipv4') && d.ipv4) {
    const ip = d.ipv4;
    eq('ip.src', ip.src);
    eq('ip.dst', ip.dst);
    eq('ip.proto', ip.protocol);
    eq('ip.len', ip.totalLength);
    eq('ip.hdr_len', ip.headerLength);
    eq('ip.ttl', ip.ttl);
    eq('ip.id', ip.ident);
    eq('ip.flags.mf', ip.mf);
    eq('ip.flags.df', ip.df);
    eq('ip.frag_offset', ip.fragOffset / 8); // tshark counts 8-byte units, we count bytes
    eq('ip.flags.rb', ip.reservedFlag);
    eq('ip.dsfield', ip.tos);
    cks('ip.checksum.status', d.checksums.ipv4);
  }
  if (has('ipv6') && d.ipv6) {
    const ip = d.ipv6;
    eq('ipv6.src', ip.src);
    eq('ipv6.dst', ip.dst);
    eq('ipv6.nxt', ip.nextHeader);
    eq('ipv6.plen', ip.payloadLength);
    eq('ipv6.hlim', ip.hopLimit);
    eq('ipv6.tclass', ip.trafficClass);
    eq('ipv6.flow', ip.flowLabel);
    const f = ip.fragment;
    eq('ipv6.fraghdr.offset', f ? f.offset / 8 : undefined);
    eq('ipv6.fraghdr.more', f ? f.more : undefined);
    eq('ipv6.fraghdr.ident', f ? f.ident : undefined);
  }
  if (has('tcp') && d.tcp) {
    const c = d.tcp;
    eq('tcp.srcport', c.srcPort);
    eq('tcp.dstport', c.dstPort);
    const theirFlags = first(t, 'tcp.flags');
    // tshark's 12-bit field includes the 3 reserved bits; ours are the 9 control bits.
    eq('tcp.flags', c.flags, theirFlags === undefined ? undefined : String(Number(theirFlags) & 0x1ff));
    eq('tcp.seq_raw', c.seq);
    eq('tcp.ack_raw', c.ack);
    eq('tcp.window_size_value', c.window);
    eq('tcp.hdr_len', c.headerLength);
    // tshark gives no segment length for a segment whose datagram is fragmented.
    const fragmented = d.ipv4?.mf === true || d.ipv6?.fragment !== undefined;
    if (!fragmented || first(t, 'tcp.len') !== undefined) eq('tcp.len', c.payloadLength);
    cks('tcp.checksum.status', d.checksums.tcp);
    const o = c.options;
    // After a broken options area our walk stops; tshark lists what it could: compare options only
    // when both walks completed.
    if (d.error?.proto === 'tcp') return out;
    eq('tcp.options.mss_val', o.mss);
    eq('tcp.options.wscale.shift', o.wscale);
    const sackPerm = t['tcp.options.sack_perm']!.length > 0;
    if (sackPerm !== o.sackPermitted) out.push({ field: 'tcp.options.sack_perm', ours: String(o.sackPermitted), tshark: String(sackPerm) });
    eq('tcp.options.timestamp.tsval', o.ts?.val);
    eq('tcp.options.timestamp.tsecr', o.ts?.ecr);
    list('tcp.options.sack_le', (o.sack ?? []).map((b) => b[0]));
    list('tcp.options.sack_re', (o.sack ?? []).map((b) => b[1]));
    eq('tcp.urgent_pointer', c.urgentPointer);
  }
  if (has('udp') && d.udp) {
    eq('udp.srcport', d.udp.srcPort);
    eq('udp.dstport', d.udp.dstPort);
    eq('udp.length', d.udp.length);
    cks('udp.checksum.status', d.checksums.udp);
  }
  if (has('icmpv4') && d.icmpv4) {
    eq('icmp.type', d.icmpv4.type);
    eq('icmp.code', d.icmpv4.code);
    cks('icmp.checksum.status', d.checksums.icmpv4);
    const i = d.icmpv4;
    // tshark shows identifier/sequence for echo (and the other query/reply pairs); compare echo only.
    if (i.type === 0 || i.type === 8) {
      eq('icmp.ident', i.echo?.id);
      eq('icmp.seq', i.echo?.seq);
    }
    if (i.type === 3 && i.code === 4) eq('icmp.mtu', i.mtu);
  }
  if (has('icmpv6') && d.icmpv6) {
    eq('icmpv6.type', d.icmpv6.type);
    eq('icmpv6.code', d.icmpv6.code);
    cks('icmpv6.checksum.status', d.checksums.icmpv6);
    const i = d.icmpv6;
    // An NDP/MLD body error leaves the body fields unset on our side (tshark shows what it parsed).
    if (d.error && errorLayer(d.error.proto) === 'icmpv6') return out;
    eq('icmpv6.echo.identifier', i.echo?.id);
    eq('icmpv6.echo.sequence_number', i.echo?.seq);
    eq('icmpv6.mtu', i.mtu);
    eq('icmpv6.nd.ns.target_address', i.type === 135 ? i.ndp?.target : undefined);
    eq('icmpv6.nd.na.target_address', i.type === 136 ? i.ndp?.target : undefined);
    eq('icmpv6.nd.na.flag.r', i.ndp?.router);
    eq('icmpv6.nd.na.flag.s', i.ndp?.solicited);
    eq('icmpv6.nd.na.flag.o', i.ndp?.override);
    eq('icmpv6.mldr.nb_mcast_records', i.mld?.records);
  }
  // tshark parses (and verifies the checksum of) only the IGMP types it knows.
  if (has('igmp') && d.igmp && [0x11, 0x12, 0x16, 0x17, 0x22].includes(d.igmp.type)) {
    eq('igmp.type', d.igmp.type);
    eq('igmp.version', d.igmp.version);
    cks('igmp.checksum.status', d.checksums.igmp);
    const g = d.igmp;
    if (g.type !== 0x22) eq('igmp.maddr', g.group);
    eq('igmp.num_grp_recs', g.records);
    if (g.type === 0x11 && g.version === 3) eq('igmp.num_src', g.sources);
  }
  return out;
}

// Our chain in tshark's vocabulary (tshark has one `sll` for SLL and SLL2, `arp` for RARP too).
function ourChain(d: DecodedFrame): string[] {
  return d.layers.map((l) => (l === 'sll2' ? 'sll' : l === 'rarp' ? 'arp' : l));
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

// VLAN tags belong to the link header: tshark files a bad tag (or the 802.3 length after it) under
// `vlan`, our codecs under the link layer that carries the tag.
const LINK_LAYERS = new Set(['eth', 'vlan', 'sll', 'loopback']);
function sameLayer(a: string, b: string | null): boolean {
  return a === b || (b !== null && LINK_LAYERS.has(a) && LINK_LAYERS.has(b));
}

/** All disagreements for one frame, as `field: ours=… tshark=…` and `malformed: …` strings. */
export function compareFrame(d: DecodedFrame, t: TsharkFrame, experts: readonly TsharkExpert[] | undefined): string[] {
  const problems: string[] = [];
  const protocols = t['frame.protocols']![0] ?? '';
  const theirs = tsharkChain(protocols);
  const { bad, noticed } = tsharkVerdicts(experts);
  const ours = ourChain(d);
  const stop = d.error ? errorLayer(d.error.proto) : d.truncatedAt ? errorLayer(d.truncatedAt) : null;
  const oursPlus = stop !== null && ours[ours.length - 1] !== stop ? [...ours, stop] : ours;
  // Chains agree, or we stopped at a layer (error/truncation) that tshark dissected partially or not at all.
  const chainOk =
    same(ours, theirs) || (stop !== null && (same(oursPlus, theirs.slice(0, oursPlus.length)) || same(theirs, ours.slice(0, theirs.length))));
  if (!chainOk) problems.push(`layers: ours=${ours.join(':')}${stop ? ` (stopped at ${stop})` : ''} tshark=${theirs.join(':')} (${protocols})`);
  let n = 0;
  while (n < ours.length && n < theirs.length && ours[n] === theirs[n]) n++;
  for (const m of compareFields(d, t, ours.slice(0, n))) problems.push(`${m.field}: ours=${m.ours} tshark=${m.tshark}`);

  const errLayer = d.error ? errorLayer(d.error.proto) : null;
  const why = (l: string): string => (experts ?? []).filter((e) => e.occurrence === 1 && layerOf(e.proto) === l).map((e) => e.message).join(' | ');
  for (const l of bad) {
    // M1: malformed for tshark but decoded cleanly by us (a layer we stopped at, or never reached, is fine).
    if (ours.includes(l) && !sameLayer(l, errLayer)) problems.push(`malformed: tshark says ${l} is malformed (${why(l)}), we decoded it cleanly`);
  }
  // M3: tshark must have noticed something where we report an error.
  if (d.error && errLayer !== null && ![...noticed].some((l) => sameLayer(l, errLayer))) {
    problems.push(`malformed: ours ${d.error.proto}.${d.error.field} (${d.error.reason}), tshark raised nothing at ${errLayer}`);
  }
  return problems;
}

/** A class of frames where tshark and we legitimately disagree (mutation test), with the reason. */
export interface Divergence {
  readonly id: string;
  readonly reason: string;
  /** `messages`: every tshark expert message of the frame. */
  applies(d: DecodedFrame, problem: string, messages: readonly string[]): boolean;
}

export const ACCEPTED_DIVERGENCES: readonly Divergence[] = [
  {
    id: 'ethertype-zero',
    reason:
      'Type/length 0x0000: the Ethernet codec reads it as an IEEE 802.3 length of 0 (an LLC frame), Wireshark as an ' +
      'unknown EtherType; neither decodes further.',
    applies: (d, p) => d.eth?.llc === true && d.eth.ethertype === 0 && p.startsWith('layers:'),
  },
  {
    id: 'null-family-10',
    reason: 'BSD loopback family 10 (Linux AF_INET6): link-type.ts takes it as IPv6, tshark 4.0 as an unknown family.',
    applies: (d) => d.loopback?.family === 10,
  },
  {
    id: 'null-family-vs-version',
    reason:
      'After a NULL/LOOP header tshark picks IPv4 or IPv6 by the version nibble, link-type.ts by the address family; ' +
      'a family that contradicts the version is our ipv4/ipv6 version error.',
    applies: (d, p) => d.loopback !== undefined && /ours ipv[46]\.version/.test(p),
  },
  {
    id: 'group-record-count',
    reason:
      'MLDv2/IGMPv3 record or source counts beyond the message: the counts say what follows (RFC 3810 §5.2, RFC 3376 ' +
      '§4.2) and the codecs refuse a message that lacks it (H53); tshark dissects what is present without comment.',
    applies: (_d, p) => /ours (mld|igmp)\.number_of_(records|sources)/.test(p),
  },
  {
    id: 'report-trailing-bytes',
    reason:
      'Bytes after the counted records of an MLDv2/IGMPv3 report: the codecs read exactly "Nr of Records" records ' +
      '(RFC 3810 §5.2.4, RFC 3376 §4.2.4) and ignore the rest; tshark dissects records until the message ends.',
    applies: (d, p) =>
      (d.icmpv6?.type === 143 && p.startsWith('malformed: tshark says icmpv6')) || (d.igmp?.type === 0x22 && p.startsWith('malformed: tshark says igmp')),
  },
  {
    id: 'query-length',
    reason:
      'An IGMP query of 9-11 bytes or an MLD query of 25-27 bytes matches no version: RFC 3376 §7.1 and RFC 3810 ' +
      '§8.1.1 have it ignored and the codecs refuse it; tshark dissects it as the older version.',
    applies: (_d, p) => /ours (igmp|mld)\.length \(query of/.test(p),
  },
  {
    id: 'ndp-option-contents',
    reason:
      'NDP options we do not process (PREF64 RFC 8781, SEND RFC 3971 Timestamp/CGA/RSA, ...) are skipped by their ' +
      'length (RFC 4861 §4.6); tshark checks their contents (e.g. it calls an unassigned PREF64 Prefix Length Code ' +
      '"Invalid Option Length") and finds the message malformed.',
    applies: (d, p) =>
      d.error === undefined &&
      (d.icmpv6?.ndp?.options ?? []).some((t) => ![1, 2, 3, 4, 5, 14, 25, 31].includes(t)) &&
      p.startsWith('malformed: tshark says icmpv6'),
  },
  {
    id: 'tunnel',
    reason:
      'IP-in-IP, 6in4, MPLS-in-IP and other tunnels: a DecodedFrame has one network layer; the encapsulated packet ' +
      'is left undecoded (`ip protocol N`), tshark dissects it.',
    applies: (d, p) => /^ip protocol \d+$/.test(d.undecoded ?? '') && /^layers: .* tshark=\S*:(ipv4|ipv6|mpls|eth)\b/.test(p),
  },
  {
    id: 'ipv6-other-ext',
    reason:
      'Extension headers the walker does not descend into (AH 51, Mobility 135, HIP 139, Shim6 140, experimental ' +
      '253/254): walkIpv6Chain stops at them as the upper protocol; tshark walks through them.',
    applies: (d) => [51, 135, 139, 140, 253, 254].includes(d.ipv6?.upperProtocol ?? -1),
  },
  {
    id: 'ipv6-option-contents',
    reason:
      'tshark validates the contents and placement of IPv6 options we carry but do not interpret (Tunnel ' +
      'Encapsulation Limit, CALIPSO RFC 5570, RPL, MPL, PMTU, Quick-Start...); our walk checks that every option ' +
      'stays inside its header (RFC 8200 §4.2), not their semantics.',
    applies: (d, p, m) =>
      p.startsWith('malformed: tshark says ipv6') &&
      d.error?.proto !== 'ipv6' &&
      m.some((x) => /must use a destination options header|^[\w ()-]+: Invalid [Ll]ength/.test(x)),
  },
  {
    id: 'ipv6-routing-contents',
    reason:
      'tshark checks type-specific Routing header rules (type 2 needs length 2 and one segment left, RFC 6275 §6.4); ' +
      'our walk checks the header length only, and a decoder shows a Routing header with segments left.',
    applies: (d, _p, m) => d.ipv6?.extHeaders.some((h) => h.type === 43) === true && m.some((x) => /Routing Header/.test(x)),
  },
  {
    id: 'snaplen-first',
    reason:
      'A declared length that runs past both the captured and the original frame: tshark reports the capture cut ' +
      '(not a malformation) because it hits the end of the captured bytes first; we call it an error because the ' +
      'frame on the wire could not hold it either.',
    applies: (d, p) => d.truncated && /^malformed: ours .*, tshark raised nothing/.test(p),
  },
  {
    id: 'ipv6-fragment-length',
    reason:
      'An IPv6 fragment that is not a multiple of 8 bytes (and not the last), or that would end beyond 65535: RFC ' +
      '8200 §4.5 has it discarded with a Parameter Problem (walkIpv6Chain refuses it); tshark shows it without comment.',
    applies: (d) => d.error?.proto === 'ipv6' && (d.error.reason.includes('not a multiple of 8') || d.error.field === 'fragment_offset'),
  },
  {
    id: 'null-header-heuristic',
    reason:
      'A NULL header that is no IP family in either byte order: tshark also tries it as a 16-bit family in the ' +
      'upper half or an EtherType; link-type.ts reads the family in host or network order only.',
    applies: (d, p) => d.loopback !== undefined && d.undecoded?.startsWith('address family') === true && p.startsWith('layers:'),
  },
  {
    id: 'ipv6-option-overrun',
    reason:
      'An IPv6 option whose data runs past its extension header: walkIpv6Chain refuses it (RFC 8200 §4.2, H22); ' +
      'tshark 4.0 reads the option data out of the following header without comment.',
    applies: (_d, p) => /ours ipv6\.option \(option 0x[0-9a-f]+ data length \d+ exceeds/.test(p),
  },
  {
    id: 'igmp-short',
    reason:
      'An IGMP message shorter than 8 bytes: every IGMP message has the 8-byte header (RFC 2236 §2, RFC 3376 §4, ' +
      'H53) and the codec refuses a shorter one; tshark stops after the type byte of a type it does not know.',
    applies: (_d, p) => /ours igmp\.header \(truncated: [0-7] < 8/.test(p),
  },
  {
    id: 'arp-short',
    reason:
      'ARP whose declared address lengths run past the payload: tshark shows the rest as data without comment, we ' +
      'report the ARP header as truncated.',
    applies: (_d, p) => /ours arp\.header \(truncated/.test(p),
  },
  {
    id: 'icmp-other-types',
    reason:
      'ICMP/ICMPv6 types whose bodies we do not interpret (timestamp, router renumbering, inverse ND, node ' +
      'information, RPL...): tshark dissects their bodies and can find them malformed.',
    applies: (d, p) =>
      (d.icmpv6 !== undefined &&
        !(d.icmpv6.type <= 4 || (d.icmpv6.type >= 128 && d.icmpv6.type <= 137) || d.icmpv6.type === 143) &&
        // An exception in such a body can also drop icmpv6 from tshark's frame.protocols.
        (p.startsWith('malformed: tshark says icmpv6') || (p.startsWith('layers:') && / tshark=\S*ipv6 \(/.test(p)))) ||
      (d.icmpv4 !== undefined && ![0, 3, 4, 5, 8, 11, 12].includes(d.icmpv4.type) && p.startsWith('malformed: tshark says icmpv4')),
  },
  {
    id: 'tcp-option-contents',
    reason:
      'TCP option kinds we do not interpret (MPTCP, TCP-AO, Fast Open, Riverbed probes...) are skipped by their ' +
      'length (RFC 9293 §3.2); tshark dissects their contents and can find them malformed.',
    applies: (d, p) =>
      d.error === undefined &&
      d.tcp !== undefined &&
      d.tcp.options.list.some((x) => x.startsWith('unknown-')) &&
      (p.startsWith('malformed: tshark says tcp') || p.startsWith('tcp.options.')),
  },
  {
    id: 'icmp-error-quote',
    reason:
      'The datagram quoted by an ICMP error, and RFC 4884 extensions after it, are not a layer of ours (we read the ' +
      'quoted addresses and ports only); tshark dissects the whole quote and its declared length.',
    applies: (d, p) =>
      (d.icmpv6 !== undefined && d.icmpv6.type < 128 && p.startsWith('malformed: tshark says icmpv6')) ||
      (d.icmpv4 !== undefined && [3, 4, 5, 11, 12].includes(d.icmpv4.type) && p.startsWith('malformed: tshark says icmpv4')),
  },
  {
    id: 'ipv6-payload-length-zero',
    reason:
      'IPv6 Payload Length 0 without a Jumbo Payload option: RFC 2675 §3 allows 0 only for jumbograms and the codec ' +
      'refuses it (H21); tshark rates it a Chat-level "maybe TCP segmentation offload" and fails further in.',
    applies: (d) => d.error?.proto === 'ipv6' && d.error.field === 'payload_length' && d.error.reason.startsWith('0 without'),
  },
  {
    id: 'short-transport',
    reason:
      'An IP payload shorter than the transport\'s fixed header (none at all, or a 6-byte "UDP" datagram): tshark ' +
      'does not call the transport dissector (it shows the bytes as data); we report the transport header as truncated.',
    applies: (d, p) => /^malformed: ours (tcp|udp|icmpv4|icmpv6|igmp)\.header \(truncated: \d+ < \d+ bytes\), tshark raised nothing/.test(p) && d.error !== undefined,
  },
  {
    id: 'igmp-other-types',
    reason:
      'IGMP types outside v1-v3 (RFC 988 group management, mtrace, DVMRP...): the IGMP codec reads only their 8-byte ' +
      'header, tshark dissects their bodies too.',
    applies: (d, p) => d.igmp !== undefined && ![0x11, 0x12, 0x16, 0x17, 0x22].includes(d.igmp.type) && p.startsWith('malformed: tshark says igmp'),
  },
  {
    id: '8023-length',
    reason: 'IEEE 802.3 length beyond the frame: the Ethernet codec refuses it (802.3 §3.2.6), tshark dissects the LLC bytes present.',
    applies: (_d, p) => /ours ethernet\.length/.test(p),
  },
];
