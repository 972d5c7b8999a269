// The namespace topology helper itself (test/support/netns.ts): the run/skip/fail policy, a real
// two-namespace veth topology, and teardown that holds after a thrown error, an uncaught exception,
// process.exit() and SIGINT in the process that built the topology.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addAddress,
  createTopology,
  describeNet,
  linkShow,
  listNamespaces,
  NS_PREFIX,
  netAvailable,
  netDecision,
  withTopology,
} from '../support/netns.js';
import type { Topology } from '../support/netns.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/topology-exit.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface FixtureRun {
  readonly ns: string;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Runs the helper process in `mode`; for 'signal' sends `sig` once it reported its topology. */
function runFixture(mode: 'throw' | 'exit' | 'signal', sig: NodeJS.Signals = 'SIGINT'): Promise<FixtureRun> {
  return new Promise((resolve, reject) => {
    // A plain Node process, not a vitest worker: drop the runner's environment markers.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    let info: { ns: string; pid: number } | null = null;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture ${mode} timed out: ${err}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const nl = out.indexOf('\n');
      if (info === null && nl >= 0) {
        info = JSON.parse(out.slice(0, nl)) as { ns: string; pid: number };
        if (mode === 'signal') child.kill(sig);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (info === null) reject(new Error(`fixture ${mode} printed nothing (code ${code}): ${err}`));
      else resolve({ ...info, code, signal });
    });
  });
}

describe('netDecision', () => {
  it('available_runs', () => {
    expect(netDecision({ ok: true }, {})).toEqual({ action: 'run' });
  });
  it('unavailable_skips_with_reason', () => {
    expect(netDecision({ ok: false, reason: 'not running as root' }, {})).toEqual({ action: 'skip', reason: 'not running as root' });
  });
  it('unavailable_fails_when_required', () => {
    expect(netDecision({ ok: false, reason: 'x' }, { PICOTCP_REQUIRE_NET: '1' })).toEqual({ action: 'fail', reason: 'x' });
  });
  it('force_no_net_override', () => {
    const saved = process.env.PICOTCP_FORCE_NO_NET;
    process.env.PICOTCP_FORCE_NO_NET = '1';
    try {
      expect(netAvailable()).toEqual({ ok: false, reason: 'PICOTCP_FORCE_NO_NET=1 is set' });
    } finally {
      if (saved === undefined) delete process.env.PICOTCP_FORCE_NO_NET;
      else process.env.PICOTCP_FORCE_NO_NET = saved;
    }
  });
});

describeNet('network namespace topology', () => {
  const topologies: Topology[] = [];
  afterAll(async () => {
    for (const t of topologies) await t.destroy();
    expect((await listNamespaces()).filter((n) => n.startsWith(NS_PREFIX))).toEqual([]);
  });

  it('veth_pair_between_two_namespaces_carries_ping', async () => {
    const t = createTopology('veth');
    topologies.push(t);
    const a = await t.createNamespace('a');
    const b = await t.createNamespace('b');
    expect(a.startsWith(NS_PREFIX)).toBe(true);
    await t.createVethPair(a, 'vA', b, 'vB', { macA: '02:00:00:00:00:0a', macB: '02:00:00:00:00:0b' });
    await addAddress(a, 'vA', '198.51.100.1/24');
    await addAddress(b, 'vB', '198.51.100.2/24');
    await addAddress(a, 'vA', '2001:db8::1/64');
    await addAddress(b, 'vB', '2001:db8::2/64');
    const la = await linkShow(a, 'vA');
    expect(la.address).toBe('02:00:00:00:00:0a');
    expect(la.flags).toContain('UP');
    // Offloads are off (INTEROP §0), so captures on the pair show real checksums.
    const k = await t.execInNamespace(a, 'ethtool', ['-k', 'vA']);
    expect(k.stdout).toMatch(/tx-checksumming: off/);
    expect(k.stdout).toMatch(/generic-segmentation-offload: off/);
    const p4 = await t.execInNamespace(b, 'ping', ['-c', '1', '-W', '2', '198.51.100.1'], { timeoutMs: 5000 });
    expect(p4.stdout).toMatch(/1 received/);
    const p6 = await t.execInNamespace(b, 'ping', ['-6', '-c', '1', '-W', '2', '2001:db8::1'], { timeoutMs: 5000 });
    expect(p6.stdout).toMatch(/1 received/);
    // No default route anywhere (INTEROP §0).
    const r = await t.execInNamespace(a, 'ip', ['route', 'show', 'default']);
    expect(r.stdout.trim()).toBe('');
  });

  it('destroy_removes_namespaces_and_processes_and_is_idempotent', async () => {
    const t = createTopology('destroy');
    const a = await t.createNamespace('a');
    const child = t.spawnInNamespace(a, 'sleep', ['30']);
    await new Promise<void>((r) => child.once('spawn', () => r()));
    const pid = child.pid!;
    expect(alive(pid)).toBe(true);
    expect(await listNamespaces()).toContain(a);
    await Promise.all([t.destroy(), t.destroy()]);
    await t.destroy();
    expect(await listNamespaces()).not.toContain(a);
    expect(await waitUntil(() => !alive(pid), 2000)).toBe(true);
    await expect(t.createNamespace('again')).rejects.toThrow(/destroyed/);
  });

  it('destroy_after_thrown_error_in_the_body', async () => {
    let ns = '';
    let pid = 0;
    await expect(
      withTopology('throws', async (t) => {
        ns = await t.createNamespace('a');
        const child = t.spawnInNamespace(ns, 'sleep', ['30']);
        await new Promise<void>((r) => child.once('spawn', () => r()));
        pid = child.pid!;
        throw new Error('body failed');
      }),
    ).rejects.toThrow('body failed');
    expect(ns).not.toBe('');
    expect(await listNamespaces()).not.toContain(ns);
    expect(await waitUntil(() => !alive(pid), 2000)).toBe(true);
  });

  it('rejects_namespaces_it_does_not_own', async () => {
    await withTopology('owner', async (t) => {
      expect(() => t.spawnInNamespace('someone-else', 'true', [])).toThrow(/does not belong/);
      await expect(t.execInNamespace('someone-else', 'true', [])).rejects.toThrow(/does not belong/);
    });
  });

  it('exec_timeout_kills_the_command', async () => {
    await withTopology('timeout', async (t) => {
      const a = await t.createNamespace('a');
      const t0 = Date.now();
      await expect(t.execInNamespace(a, 'sleep', ['10'], { timeoutMs: 300 })).rejects.toThrow(/timed out after 300 ms/);
      expect(Date.now() - t0).toBeLessThan(3000);
    });
  });

  for (const mode of ['throw', 'exit', 'signal'] as const) {
    it(`exit_hook_cleans_up_after_${mode}`, async () => {
      const r = await runFixture(mode);
      if (mode === 'throw') expect(r.code).toBe(1);
      if (mode === 'exit') expect(r.code).toBe(3);
      if (mode === 'signal') expect(r.signal).toBe('SIGINT');
      expect(await listNamespaces()).not.toContain(r.ns);
      // The orphaned `sleep` was SIGKILLed by the hook (a zombie under PID 1 counts as dead).
      expect(await waitUntil(() => !alive(r.pid) || zombie(r.pid), 2000)).toBe(true);
    });
  }
});

function zombie(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}
