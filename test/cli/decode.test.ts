// `picotcp decode` as a user runs it: a child process from the repo root (`node --import tsx
// src/cli/bin.ts`, and the built `node dist/src/cli/bin.js` when dist/ exists). Checks output lines,
// JSON lines, exit statuses (0 read completely, 1 corrupt/truncated file, 2 usage error), the stderr
// summary and fault message, --help, and a reader that goes away early (`| head`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createCaptureWriter, readCaptureBytes } from '../../src/wire/capture.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE = 'test/fixtures/linux-sample.pcapng';
const FRAMES = 76;

interface Runner {
  name: string;
  argv: string[];
}
const runners: Runner[] = [{ name: 'tsx src/cli/bin.ts', argv: ['--import', 'tsx', 'src/cli/bin.ts'] }];
if (existsSync(path.join(repoRoot, 'dist', 'src', 'cli', 'bin.js'))) runners.push({ name: 'dist/src/cli/bin.js', argv: ['dist/src/cli/bin.js'] });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'picotcp-decode-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The fixture's frames 400 times over (~30k frames, megabytes of output): enough to fill a pipe.
let big: string | undefined;
function bigCapture(): string {
  if (big !== undefined) return big;
  const chunks: Uint8Array[] = [];
  const w = createCaptureWriter((c) => chunks.push(c), { format: 'pcap', linkType: 1 });
  const recs: Uint8Array[] = [];
  readCaptureBytes(new Uint8Array(readFileSync(path.join(repoRoot, FIXTURE))), (rec) => recs.push(rec.data.slice()));
  for (let i = 0; i < 400; i++) for (const f of recs) w.writePacket(f, 1_700_000_000 + i, 0);
  big = path.join(tmp, 'big.pcap');
  writeFileSync(big, Buffer.concat(chunks));
  return big;
}

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

describe.each(runners)('picotcp decode ($name)', (r) => {
  const run = (...args: string[]) => {
    const p = spawnSync(process.execPath, [...r.argv, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    return { code: p.status, stdout: p.stdout, stderr: p.stderr };
  };

  it('prints one line per frame and a summary, exit 0', () => {
    const p = run('decode', FIXTURE);
    expect(p.code, p.stderr).toBe(0);
    const out = lines(p.stdout);
    expect(out.length).toBe(FRAMES);
    out.forEach((l, i) => expect(l.startsWith(`${i + 1} `), l).toBe(true));
    expect(out[31]).toMatch(/^32 \d+\.\d{9} 02:00:00:00:00:0b > 02:00:00:00:00:0a, IPv4 198\.51\.100\.2\.36878 > 198\.51\.100\.1\.80: Flags \[S\]/);
    expect(p.stderr).toContain(`${FRAMES} frames, 0 malformed, 0 checksum failures`);
  });

  it('--json prints one parseable object per frame with the frame fields', () => {
    const p = run('decode', '--json', FIXTURE);
    expect(p.code, p.stderr).toBe(0);
    const objs = lines(p.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs.length).toBe(FRAMES);
    for (const [i, o] of objs.entries()) {
      expect(o).toMatchObject({ frame: i + 1, linkType: 1, interface: 0, truncated: false });
      expect(typeof o.time).toBe('string');
      expect(o.caplen).toBe(o.len);
      expect(Array.isArray(o.layers)).toBe(true);
      expect(o.checksums).toBeTypeOf('object');
    }
    expect(objs[31]).toMatchObject({ layers: ['eth', 'ipv4', 'tcp'], tcp: { srcPort: 36878, flagsText: 'S', options: { mss: 1460, wscale: 10, sackPermitted: true } }, checksums: { ipv4: true, tcp: true } });
  });

  it('--count and --no-checksum', () => {
    const p = run('decode', '--count', '5', '--json', '--no-checksum', FIXTURE);
    expect(p.code, p.stderr).toBe(0);
    const objs = lines(p.stdout).map((l) => JSON.parse(l) as { checksums: Record<string, unknown> });
    expect(objs.length).toBe(5);
    for (const o of objs) for (const v of Object.values(o.checksums)) expect(v).toBeNull();
    expect(lines(run('decode', '-c', '0', FIXTURE).stdout)).toEqual([]);
  });

  it('exits 1 on a truncated capture after printing the frames before the fault, naming the byte offset', () => {
    const bytes = readFileSync(path.join(repoRoot, FIXTURE));
    const cut = path.join(tmp, 'cut.pcapng');
    writeFileSync(cut, bytes.subarray(0, 3000));
    const p = run('decode', cut);
    expect(p.code).toBe(1);
    expect(lines(p.stdout).length).toBeGreaterThan(0);
    expect(lines(p.stdout).length).toBeLessThan(FRAMES);
    expect(p.stderr).toMatch(/truncated or corrupt at byte \d+ \(\w+ #\d+\)/);
    const junk = path.join(tmp, 'junk.pcap');
    writeFileSync(junk, 'this is not a capture file at all');
    const q = run('decode', junk);
    expect(q.code).toBe(1);
    expect(q.stderr).toMatch(/at byte 0 .*not a pcap or pcapng file/);
    expect(run('decode', path.join(tmp, 'missing.pcap')).code).toBe(1);
  });

  it('exits 2 on usage errors', () => {
    const none = run('decode');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('missing capture FILE');
    expect(run('decode', '--bogus', FIXTURE).code).toBe(2);
    expect(run('decode', '--count', 'x', FIXTURE).code).toBe(2);
    expect(run('decode', FIXTURE, FIXTURE).code).toBe(2);
  });

  it('--help shows options and examples; picotcp --help lists decode', () => {
    const h = run('decode', '--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Usage: picotcp decode');
    expect(h.stdout).toContain('Examples:');
    expect(h.stdout).toMatch(/picotcp decode --json /);
    const top = run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^\s+decode\s+/m);
  });

  it('stops quietly when the reader of its output goes away (| head)', async () => {
    const child = spawn(process.execPath, [...r.argv, 'decode', bigCapture()], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(err).not.toContain('EPIPE');
  });
});
