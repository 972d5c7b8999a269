// tshark as a decode oracle: runs `tshark -T fields` over a capture and returns, per frame, every
// occurrence of each requested field (outer headers first; ICMP errors quote inner headers, which
// appear as later occurrences). Reassembly is turned off so each frame is judged on its own bytes.
import { spawnSync } from 'node:child_process';

export const TSHARK_PREFS = [
  'ip.defragment:FALSE',
  'ipv6.defragment:FALSE',
  'tcp.desegment_tcp_streams:FALSE',
  'ip.check_checksum:TRUE',
  'tcp.check_checksum:TRUE',
  'udp.check_checksum:TRUE',
];

const AGGREGATOR = '\x1f';

let available: boolean | undefined;

export function tsharkAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    available = r.status === 0;
  }
  return available;
}

export type TsharkFrame = Record<string, string[]>;

/** Field values per frame; a field absent from a frame maps to []. Throws if tshark fails. */
export function tsharkFields(file: string, fields: readonly string[], prefs: readonly string[] = TSHARK_PREFS): TsharkFrame[] {
  // Occurrences are joined with the ASCII unit separator, which no field value contains (expert
  // messages and some text fields contain commas).
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', `aggregator=${AGGREGATOR}`];
  for (const p of prefs) args.push('-o', p);
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  // tshark exits non-zero on a truncated/corrupt file but still prints the frames it read.
  if (r.error) throw r.error;
  const frames: TsharkFrame[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const cols = line.split('\t');
    const frame: TsharkFrame = {};
    fields.forEach((f, i) => {
      const v = cols[i] ?? '';
      frame[f] = v === '' ? [] : v.split(AGGREGATOR);
    });
    frames.push(frame);
  }
  return frames;
}

/** One expert item, with the protocol (and which occurrence of it in the frame) that raised it. */
export interface TsharkExpert {
  /** Enclosing protocol as in frame.protocols (`ip`, `tcp`, `_ws.malformed`, ...). */
  readonly proto: string;
  /** 1 for the outermost occurrence of `proto` in the frame, 2 for the next (e.g. an ICMP quote). */
  readonly occurrence: number;
  /** Expert item name, e.g. `ip.bogus_ip_length`. */
  readonly name: string;
  readonly severity: number;
  readonly group: number;
  readonly message: string;
}

export const EXPERT_SEVERITY_ERROR = 8388608;
export const EXPERT_SEVERITY_WARN = 6291456;
export const EXPERT_SEVERITY_NOTE = 4194304;

function attr(line: string, name: string): string | undefined {
  const m = new RegExp(`${name}="([^"]*)"`).exec(line);
  return m ? m[1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'").replace(/&amp;/g, '&') : undefined;
}

// Display names in `[Malformed Packet: X]` → PDML protocol names.
const MALFORMED_NAMES: Record<string, string> = {
  Ethernet: 'eth',
  '802.1Q Virtual LAN': 'vlan',
  LLC: 'llc',
  MPLS: 'mpls',
  ARP: 'arp',
  IPv4: 'ip',
  IPv6: 'ipv6',
  'IPv6 Fragment': 'ipv6.fraghdr',
  'IPv6 Hop-by-Hop': 'ipv6.hopopts',
  'IPv6 Hop-by-Hop Option': 'ipv6.hopopts',
  'IPv6 Routing': 'ipv6.routing',
  'IPv6 Destination Options': 'ipv6.dstopts',
  ICMP: 'icmp',
  ICMPv6: 'icmpv6',
  IGMP: 'igmp',
  TCP: 'tcp',
  UDP: 'udp',
};

// The protocol a dissector exception was thrown in: named by the marker's text. It is the occurrence
// being dissected when the marker's protocol was the last one opened, else a new one that failed
// before adding its tree item (TCP with 3 bytes present).
function malformedIn(showname: string, previous: { name: string; occurrence: number }, occ: Map<string, number>): { name: string; occurrence: number } {
  const m = /\[Malformed Packet: (.+)\]/.exec(showname);
  if (!m) return previous;
  const shown = m[1]!;
  // Extension headers appear as "IPv6 Hop-by-Hop", "IPv6 Destination", "IPv6 Fragment", ...
  const name = MALFORMED_NAMES[shown] ?? (shown.startsWith('IPv6 ') ? 'ipv6.ext' : shown);
  const seen = occ.get(name) ?? 0;
  return { name, occurrence: previous.name === name ? seen : seen + 1 };
}

/**
 * Expert items of at least `minSeverity` per frame number (1-based), read from tshark's PDML, where each
 * item sits inside the protocol that raised it (`-T fields` flattens that away). A dissector exception
 * (`_ws.malformed`) is attributed to the protocol its `[Malformed Packet: X]` marker names.
 */
export function tsharkExperts(file: string, prefs: readonly string[] = TSHARK_PREFS, minSeverity = EXPERT_SEVERITY_NOTE): Map<number, TsharkExpert[]> {
  const args = ['-n', '-r', file, '-T', 'pdml', '-Y', `_ws.expert.severity >= ${minSeverity} || _ws.malformed`];
  for (const p of prefs) args.push('-o', p);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  if (r.error) throw r.error;
  const out = new Map<number, TsharkExpert[]>();
  let frame = 0;
  let occ = new Map<string, number>();
  const stack: { name: string; occurrence: number }[] = [];
  let previous = { name: '?', occurrence: 1 };
  let pending: { proto: string; occurrence: number; name?: string; message?: string; severity?: number } | null = null;
  for (const raw of r.stdout.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('<packet>')) {
      occ = new Map();
      stack.length = 0;
      frame = 0;
      previous = { name: '?', occurrence: 1 };
    } else if (line.startsWith('<proto ')) {
      const name = attr(line, 'name') ?? '?';
      const n = (occ.get(name) ?? 0) + 1;
      occ.set(name, n);
      // Extension headers repeat inside one IPv6 header chain: they take the occurrence of their IPv6.
      const parent = name.startsWith('ipv6.') ? [...stack].reverse().find((e) => e.name === 'ipv6') : undefined;
      let entry = { name, occurrence: parent ? parent.occurrence : n };
      if (name === '_ws.malformed') entry = malformedIn(attr(line, 'showname') ?? '', previous, occ);
      else if (name !== 'geninfo' && name !== 'frame') previous = entry;
      if (!line.endsWith('/>')) stack.push(entry);
    } else if (line.startsWith('</proto>')) {
      stack.pop();
    } else if (line.startsWith('<field ')) {
      const name = attr(line, 'name');
      if (name === 'num' && frame === 0 && stack[stack.length - 1]?.name === 'geninfo') frame = Number(attr(line, 'show'));
      else if (name === '_ws.expert') {
        const top = stack[stack.length - 1] ?? { name: '?', occurrence: 1 };
        pending = { proto: top.name, occurrence: top.occurrence };
      } else if (pending !== null) {
        if (name === '_ws.expert.message') pending.message = attr(line, 'show') ?? '';
        else if (name === '_ws.expert.severity') pending.severity = Number(attr(line, 'show'));
        else if (name === '_ws.expert.group') {
          const item: TsharkExpert = {
            proto: pending.proto,
            occurrence: pending.occurrence,
            name: pending.name ?? '?',
            severity: pending.severity ?? 0,
            group: Number(attr(line, 'show')),
            message: pending.message ?? '',
          };
          pending = null;
          let list = out.get(frame);
          if (!list) out.set(frame, (list = []));
          list.push(item);
        } else if (pending.name === undefined && name !== undefined) pending.name = name;
      }
    }
  }
  return out;
}
