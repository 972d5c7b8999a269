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
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
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
      frame[f] = v === '' ? [] : v.split(',');
    });
    frames.push(frame);
  }
  return frames;
}
