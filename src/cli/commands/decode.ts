// `picotcp decode FILE`: prints every frame of a pcap/pcapng capture, one tcpdump-style line (or one
// JSON object with --json) per frame. The file is streamed (captureRecords pulls one chunk at a time
// and output backpressure pauses it), so memory stays constant whatever the file size. Malformed
// packets are data: they are printed with their error and the exit status stays 0. A truncated or
// corrupt capture file ends the run with status 1, after every frame read before the fault.

import { stat } from 'node:fs/promises';
import { CaptureFileError, captureRecords } from '../../api/capture-file.js';
import { defaultChecksum } from '../../api/native.js';
import type { ChecksumProvider } from '../../ports/checksum.js';
import { decodeFrame } from '../../wire/decode.js';
import type { DecodedFrame } from '../../wire/decode.js';
import { formatFrame } from '../../wire/pretty.js';
import type { Command, CommandIo } from '../command.js';
import { UsageError } from '../command.js';
import { ProgressBar } from '../progress.js';

const HELP = `Usage: picotcp decode [options] FILE

Decodes every frame of a pcap or pcapng capture: Ethernet (VLAN, QinQ), Linux cooked (SLL/SLL2),
BSD loopback and raw IP links; ARP, MPLS, IPv4, IPv6 (extension headers, fragments), ICMP, ICMPv6
(NDP, MLD), IGMP, UDP and TCP (options). Prints one line per frame: number, timestamp (seconds
since 1970, '-' when the file has none) and a tcpdump-style summary. Malformed headers are shown
as [bad proto field: reason], headers cut by the snaplen as [|proto], bad checksums as
[bad proto cksum]. A summary goes to stderr at the end.

Options:
  --json           one JSON object per line: {frame, time, caplen, len, linkType, interface,
                   layers, <one object per layer>, checksums, error?, truncatedAt?, undecoded?}
                   (time is a string "sec.nanoseconds", or null)
  -c, --count N    stop after N frames
  --no-checksum    do not verify checksums (every status is null)
  -h, --help       show this help

Exit status: 0 when the file was read to its end (or --count was reached), 1 when the file is
truncated or corrupt (the frames before the fault are printed first) or cannot be read, 2 on a
usage error.

Examples:
  picotcp decode capture.pcapng
  picotcp decode --count 20 /tmp/http.pcap
  picotcp decode --json capture.pcap | jq -c 'select(.tcp) | .tcp.options'
  picotcp decode --no-checksum offloaded.pcapng
`;

interface DecodeArgs {
  file: string;
  json: boolean;
  count: number;
  checksum: boolean;
}

function parseArgs(argv: string[]): DecodeArgs {
  const out: DecodeArgs = { file: '', json: false, count: Infinity, checksum: true };
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') out.json = true;
    else if (a === '--no-checksum') out.checksum = false;
    else if (a === '-c' || a === '--count' || a.startsWith('--count=')) {
      const v = a.startsWith('--count=') ? a.slice(8) : argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${a.split('=')[0]} needs a non-negative integer`);
      out.count = Number(v);
    } else if (a === '--') files.push(...argv.slice(i + 1)), (i = argv.length);
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    else files.push(a);
  }
  if (files.length === 0) throw new UsageError('missing capture FILE');
  if (files.length > 1) throw new UsageError(`one FILE expected, got ${files.length}`);
  out.file = files[0]!;
  return out;
}

function timeText(hasTs: boolean, sec: number, nsec: number): string | null {
  return hasTs ? `${sec}.${String(nsec).padStart(9, '0')}` : null;
}

// Buffered stdout: lines are gathered into ~64 KiB writes; a full pipe makes flush() wait for
// 'drain', which pauses the reader (constant memory). EPIPE (reader went away, `| head`) ends quietly.
class LineSink {
  private buf = '';
  closed = false;
  private failure: Error | null = null;

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('error', this.onError);
  }

  private readonly onError = (e: NodeJS.ErrnoException): void => {
    this.closed = true;
    if (e.code !== 'EPIPE') this.failure = e;
  };

  /** Queues a line; resolves at once unless the buffer was flushed into a full pipe. */
  line(s: string): Promise<void> | undefined {
    this.buf += s;
    this.buf += '\n';
    return this.buf.length >= 65536 ? this.flush() : undefined;
  }

  flush(): Promise<void> | undefined {
    if (this.buf === '' || this.closed) return undefined;
    const chunk = this.buf;
    this.buf = '';
    if (this.out.write(chunk)) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('close', done);
    });
  }

  finish(): void {
    this.out.off('error', this.onError);
    if (this.failure) throw this.failure;
  }
}

async function run(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv);
  let size: number;
  try {
    size = (await stat(args.file)).size;
  } catch (e) {
    io.stderr.write(`picotcp decode: ${(e as Error).message}\n`);
    return 1;
  }
  const cs: ChecksumProvider | null = args.checksum ? defaultChecksum() : null;
  const progress = new ProgressBar({ total: size, label: 'decode', unit: 'B', stream: io.stderr });
  const sink = new LineSink(io.stdout);
  let frames = 0;
  let malformed = 0;
  let badChecksum = 0;
  let truncated = 0;
  let fault: CaptureFileError | null = null;
  try {
    for await (const rec of captureRecords(args.file)) {
      if (frames >= args.count || sink.closed) break;
      frames++;
      const d: DecodedFrame = decodeFrame(rec.linkType, rec.data, { checksum: cs, originalLength: rec.originalLength });
      if (d.error) malformed++;
      if (d.truncated) truncated++;
      if (Object.values(d.checksums).includes(false)) badChecksum++;
      const time = timeText(rec.hasTimestamp, rec.tsSec, rec.tsNsec);
      let line: string;
      if (args.json) {
        const { caplen, len, linkType, ...rest } = d;
        line = JSON.stringify({ frame: rec.index + 1, time, caplen, len, linkType, interface: rec.interfaceId, ...rest });
      } else {
        line = `${rec.index + 1} ${time ?? '-'} ${formatFrame(d)}`;
      }
      const wait = sink.line(line);
      if (wait) await wait;
      progress.update(rec.offset);
    }
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    fault = e;
  } finally {
    progress.done();
  }
  await sink.flush();
  sink.finish();
  const summary = `${frames} frame${frames === 1 ? '' : 's'}, ${malformed} malformed, ${badChecksum} checksum failure${badChecksum === 1 ? '' : 's'}, ${truncated} truncated by snaplen`;
  if (fault) {
    const c = fault.capture;
    io.stderr.write(`picotcp decode: ${args.file}: capture file truncated or corrupt at byte ${c.offset} (${c.kind} #${c.index}): ${c.reason}\n`);
    io.stderr.write(`picotcp decode: ${summary} before the fault\n`);
    return 1;
  }
  io.stderr.write(`picotcp decode: ${summary}\n`);
  return 0;
}

export const decodeCommand: Command = {
  name: 'decode',
  summary: 'print every frame of a pcap/pcapng file (tcpdump-style or JSON)',
  help: HELP,
  run,
};
