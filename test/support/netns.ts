// Network-namespace topologies for interop tests against real Linux peers (INTEROP.md). Everything a
// test builds lives in private namespaces named `pts<pid>-...`, with test-only addresses and no
// default route; nothing here touches the root namespace's links or routes. A Topology owns what it
// created: destroy() closes registered devices, kills the processes running in its namespaces (all
// of them were started by this process) and deletes the namespaces. destroy() is idempotent, and a
// process 'exit'/SIGINT/SIGTERM hook runs a synchronous version for topologies a test left behind.

import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions, StdioOptions } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Loaded only under the vitest runner (which sets VITEST): importing it elsewhere throws, and helper
// processes spawned by the tests (exit-hook checks) import this module from plain Node.
const vitest: typeof import('vitest') | null = process.env.VITEST ? await import('vitest').catch(() => null) : null;

/** Every namespace this process creates starts with this (INTEROP §0: unique per process). */
export const NS_PREFIX = `pts${process.pid}-`;
/** Binaries the interop suites need unless they say otherwise. */
export const NET_BINARIES: readonly string[] = ['ip', 'ethtool', 'sysctl', 'vde_plug'];

const EXEC_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 1_000;

export interface NetAvailability {
  readonly ok: boolean;
  readonly reason?: string;
}

/** What describeNet does: run the suite, skip it, or fail it because the network was required. */
export type NetDecision = { readonly action: 'run' } | { readonly action: 'skip' | 'fail'; readonly reason: string };

function findOnPath(bin: string): string | null {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    if (d === '') continue;
    try {
      accessSync(join(d, bin), fsConstants.X_OK);
      return join(d, bin);
    } catch {
      // not here
    }
  }
  return null;
}

const probeCache = new Map<string, NetAvailability>();

/**
 * Whether namespace interop tests can run here: Linux, root, /dev/net/tun usable, the binaries on
 * PATH, and `ip netns add/delete` working (probed once with a throwaway namespace). The result is
 * cached per binary list. PICOTCP_FORCE_NO_NET=1 reports "unavailable" (to exercise the skip path).
 */
export function netAvailable(binaries: readonly string[] = NET_BINARIES): NetAvailability {
  if (process.env.PICOTCP_FORCE_NO_NET === '1') return { ok: false, reason: 'PICOTCP_FORCE_NO_NET=1 is set' };
  const key = binaries.join(',');
  let r = probeCache.get(key);
  if (r === undefined) {
    r = probe(binaries);
    probeCache.set(key, r);
  }
  return r;
}

function probe(binaries: readonly string[]): NetAvailability {
  if (process.platform !== 'linux') return { ok: false, reason: `platform is ${process.platform}, not linux` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { ok: false, reason: 'not running as root' };
  try {
    accessSync('/dev/net/tun', fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    return { ok: false, reason: '/dev/net/tun is missing or not read/writable' };
  }
  const missing = binaries.filter((b) => findOnPath(b) === null);
  if (missing.length > 0) return { ok: false, reason: `missing binaries: ${missing.join(', ')}` };
  const ns = `${NS_PREFIX}probe`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { timeout: EXEC_TIMEOUT_MS, stdio: 'pipe' });
  } catch (e) {
    return { ok: false, reason: `ip netns add failed: ${errText(e)}` };
  }
  try {
    execFileSync('ip', ['netns', 'delete', ns], { timeout: EXEC_TIMEOUT_MS, stdio: 'pipe' });
  } catch (e) {
    return { ok: false, reason: `ip netns delete failed: ${errText(e)}` };
  }
  return { ok: true };
}

function errText(e: unknown): string {
  const err = e as { stderr?: Buffer | string; message?: string };
  const s = err.stderr !== undefined ? String(err.stderr).trim() : '';
  return s !== '' ? s : String(err.message ?? e);
}

/** The describeNet policy, separated for testing: PICOTCP_REQUIRE_NET=1 turns a skip into a failure. */
export function netDecision(av: NetAvailability, env: NodeJS.ProcessEnv = process.env): NetDecision {
  if (av.ok) return { action: 'run' };
  const reason = av.reason ?? 'network environment unavailable';
  return { action: env.PICOTCP_REQUIRE_NET === '1' ? 'fail' : 'skip', reason };
}

/**
 * A describe() that runs only where namespace interop is possible. Elsewhere the suite is skipped
 * with the reason in its title, or, with PICOTCP_REQUIRE_NET=1, replaced by one failing test.
 */
export function describeNet(name: string, fn: () => void, binaries: readonly string[] = NET_BINARIES): void {
  if (vitest === null) throw new Error('describeNet: only available under vitest');
  const { describe, it } = vitest;
  const d = netDecision(netAvailable(binaries));
  if (d.action === 'run') {
    describe(name, fn);
  } else if (d.action === 'skip') {
    describe.skip(`${name} [skipped: ${d.reason}]`, fn);
  } else {
    describe(name, () => {
      it('requires the network environment (PICOTCP_REQUIRE_NET=1)', () => {
        throw new Error(`PICOTCP_REQUIRE_NET=1 but the interop environment is unavailable: ${d.reason}`);
      });
    });
  }
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  /** Killed (SIGKILL) after this long; default 10 s. */
  readonly timeoutMs?: number;
  /** Resolve with a non-zero exit instead of rejecting. */
  readonly allowFail?: boolean;
}

/** Runs a program to completion, bounded by a timeout; rejects on failure unless allowFail. */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeout = opts.timeoutMs ?? EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, killSignal: 'SIGKILL', maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals; killed?: boolean }) | null;
      const code = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
      const res: ExecResult = { code, signal: e?.signal ?? null, stdout, stderr };
      if (e === null || (opts.allowFail === true && typeof e.code === 'number')) return resolve(res);
      const why = e.killed === true ? `timed out after ${timeout} ms` : `failed (${e.code ?? e.signal})`;
      reject(new Error(`${cmd} ${args.join(' ')}: ${why}: ${stderr.trim() || e.message}`));
    });
  });
}

/** `ip netns exec NS cmd args...` with a timeout. */
export function execInNamespace(ns: string, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** `ip -n NS args...` (iproute2 enters the namespace itself: no extra exec). */
export function ipIn(ns: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run('ip', ['-n', ns, ...args], opts);
}

/** Names of all namespaces visible in /run/netns. */
export async function listNamespaces(): Promise<string[]> {
  const r = await run('ip', ['-j', 'netns', 'list']);
  const text = r.stdout.trim();
  if (text === '') return [];
  return (JSON.parse(text) as Array<{ name: string }>).map((e) => e.name);
}

/** Synchronous variant for exit hooks. */
export function listNamespacesSync(): string[] {
  const text = execFileSync('ip', ['-j', 'netns', 'list'], { timeout: EXEC_TIMEOUT_MS, encoding: 'utf8' }).trim();
  if (text === '') return [];
  return (JSON.parse(text) as Array<{ name: string }>).map((e) => e.name);
}

export interface LinkCountersJson {
  readonly bytes: number;
  readonly packets: number;
  readonly errors: number;
  readonly dropped: number;
}

/** The parts of `ip -j -s link show` the tests read. */
export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly operstate: string;
  readonly address: string;
  readonly stats64?: { readonly rx: LinkCountersJson; readonly tx: LinkCountersJson };
}

/** Link details and counters of `dev` in `ns`. */
export async function linkShow(ns: string, dev: string): Promise<LinkInfo> {
  const r = await ipIn(ns, ['-j', '-s', 'link', 'show', 'dev', dev]);
  const arr = JSON.parse(r.stdout) as LinkInfo[];
  if (arr.length !== 1) throw new Error(`ip link show ${dev} in ${ns}: expected one link, got ${arr.length}`);
  return arr[0]!;
}

export async function setLinkUp(ns: string, dev: string): Promise<void> {
  await ipIn(ns, ['link', 'set', 'dev', dev, 'up']);
}

/** Adds `cidr` to `dev`; IPv6 addresses get `nodad` unless `dad` is true (usable at once). */
export async function addAddress(ns: string, dev: string, cidr: string, opts: { dad?: boolean } = {}): Promise<void> {
  const extra = cidr.includes(':') && opts.dad !== true ? ['nodad'] : [];
  await ipIn(ns, ['addr', 'add', cidr, 'dev', dev, ...extra]);
}

/** Sets an IPv6 sysctl of `dev` (or 'all'/'default') inside `ns`, e.g. accept_dad=0. */
export async function setIpv6Conf(ns: string, dev: string, key: string, value: string | number): Promise<void> {
  await execInNamespace(ns, 'sysctl', ['-q', '-w', `net.ipv6.conf.${dev}.${key}=${value}`]);
}

/** Turns DAD off for `dev` in `ns` (link-local and later addresses become usable at once). */
export async function disableDad(ns: string, dev: string): Promise<void> {
  await setIpv6Conf(ns, dev, 'accept_dad', 0);
}

export interface VethOptions {
  readonly macA?: string;
  readonly macB?: string;
  readonly mtu?: number;
  /** Bring both ends up (default true). */
  readonly up?: boolean;
  /** Turn checksum/segmentation offloads off (default true, INTEROP §0: otherwise captures lie). */
  readonly offloadsOff?: boolean;
}

export interface SpawnInNamespaceOptions {
  readonly stdio?: StdioOptions;
  readonly env?: NodeJS.ProcessEnv;
}

export interface NamespaceOptions {
  /** Set net.ipv6.conf.{all,default}.accept_dad=0 so links created later skip DAD (default false). */
  readonly noDad?: boolean;
  /** Bring `lo` up (default true). */
  readonly loopbackUp?: boolean;
}

const live = new Set<Topology>();
let hooksInstalled = false;
let topologySeq = 0;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', destroyAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      destroyAllSync();
      // Without other handlers Node would have died of this signal: keep that outcome.
      process.off(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Synchronously tears down every live topology of this process (exit hooks). */
export function destroyAllSync(): void {
  for (const t of [...live]) t.destroySync();
}

/** A set of namespaces, processes and devices that one test owns and destroy() removes. */
export class Topology {
  readonly id: number;
  /** Namespace-name prefix of this topology: `pts<pid>-<id>-`. */
  readonly prefix: string;
  private readonly nsList: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly pids = new Set<number>();
  private readonly closers: Array<() => void> = [];
  private destroying: Promise<void> | null = null;
  private destroyed = false;

  constructor(readonly label = 't') {
    if (!/^[A-Za-z0-9_]{1,16}$/.test(label)) throw new TypeError(`topology label ${JSON.stringify(label)}: 1-16 of [A-Za-z0-9_]`);
    this.id = ++topologySeq;
    this.prefix = `${NS_PREFIX}${this.id}${label}-`;
    installHooks();
    live.add(this);
  }

  get namespaces(): readonly string[] {
    return this.nsList;
  }

  /** Creates namespace `<prefix><name>` with `lo` up; returns its full name. */
  async createNamespace(name: string, opts: NamespaceOptions = {}): Promise<string> {
    this.assertLive();
    if (!/^[A-Za-z0-9_]{1,24}$/.test(name)) throw new TypeError(`namespace name ${JSON.stringify(name)}: 1-24 of [A-Za-z0-9_]`);
    const ns = `${this.prefix}${name}`;
    // Registered before creation: a half-made namespace is still ours to delete.
    this.nsList.push(ns);
    await run('ip', ['netns', 'add', ns]);
    if (opts.loopbackUp !== false) await setLinkUp(ns, 'lo');
    if (opts.noDad === true) {
      await setIpv6Conf(ns, 'all', 'accept_dad', 0);
      await setIpv6Conf(ns, 'default', 'accept_dad', 0);
    }
    return ns;
  }

  /** A veth pair `ifA`@nsA <-> `ifB`@nsB, created directly inside the namespaces. */
  async createVethPair(nsA: string, ifA: string, nsB: string, ifB: string, opts: VethOptions = {}): Promise<void> {
    this.assertOwned(nsA);
    this.assertOwned(nsB);
    const a = ['link', 'add', ifA, ...(opts.macA ? ['address', opts.macA] : []), ...(opts.mtu ? ['mtu', String(opts.mtu)] : [])];
    const b = ['peer', 'name', ifB, ...(opts.macB ? ['address', opts.macB] : []), ...(opts.mtu ? ['mtu', String(opts.mtu)] : []), 'netns', nsB];
    await ipIn(nsA, [...a, 'type', 'veth', ...b]);
    if (opts.offloadsOff !== false) {
      for (const [ns, dev] of [[nsA, ifA], [nsB, ifB]] as const) {
        await execInNamespace(ns, 'ethtool', ['-K', dev, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      }
    }
    if (opts.up !== false) {
      await setLinkUp(nsA, ifA);
      await setLinkUp(nsB, ifB);
    }
  }

  /** Starts `cmd` inside `ns` (`ip netns exec` execs in place: the PID is the command's). Tracked. */
  spawnInNamespace(ns: string, cmd: string, args: readonly string[], opts: SpawnInNamespaceOptions = {}): ChildProcess {
    this.assertOwned(ns);
    // Default: no pipes, since an unread pipe blocks the child once it fills up.
    const so: SpawnOptions = { stdio: opts.stdio ?? 'ignore', env: opts.env ?? process.env };
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], so);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    child.stdin?.on('error', () => undefined);
    return child;
  }

  /** `execInNamespace` restricted to this topology's namespaces. */
  async execInNamespace(ns: string, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertOwned(ns);
    return execInNamespace(ns, cmd, args, opts);
  }

  /** Tracks a PID started elsewhere (killed on destroy if still alive). */
  trackPid(pid: number): void {
    this.pids.add(pid);
  }

  /** Registers something with a synchronous close() (a device) to close first on destroy. */
  adopt<T extends { close(): void }>(thing: T): T {
    this.closers.push(() => thing.close());
    return thing;
  }

  /**
   * Closes adopted devices, stops processes (SIGTERM, then SIGKILL after 1 s), kills anything still
   * inside our namespaces, deletes them and checks they are gone. Safe to call twice (same promise).
   */
  destroy(): Promise<void> {
    this.destroying ??= this.doDestroy();
    return this.destroying;
  }

  /** Best-effort synchronous teardown for exit hooks: SIGKILL, then delete the namespaces. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    this.runClosers();
    for (const pid of this.allPids()) killQuiet(pid, 'SIGKILL');
    for (const ns of this.nsList) {
      for (const pid of nsPidsSync(ns)) killQuiet(pid, 'SIGKILL');
      try {
        execFileSync('ip', ['netns', 'delete', ns], { timeout: EXEC_TIMEOUT_MS, stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }

  private async doDestroy(): Promise<void> {
    if (this.destroyed) return;
    this.runClosers();
    const pids = this.allPids();
    for (const pid of pids) killQuiet(pid, 'SIGTERM');
    await waitGone(pids, KILL_GRACE_MS);
    for (const pid of pids) killQuiet(pid, 'SIGKILL');
    const errors: string[] = [];
    for (const ns of this.nsList) {
      // Anything left in a namespace we created was started by this process (a device's plug, a daemon).
      const inside = await nsPids(ns);
      for (const pid of inside) killQuiet(pid, 'SIGKILL');
      await waitGone(inside, KILL_GRACE_MS);
      const r = await run('ip', ['netns', 'delete', ns], { allowFail: true });
      if (r.code !== 0 && !/No such file/.test(r.stderr)) errors.push(`${ns}: ${r.stderr.trim()}`);
    }
    this.destroyed = true;
    live.delete(this);
    const left = (await listNamespaces()).filter((n) => n.startsWith(this.prefix));
    if (left.length > 0 || errors.length > 0) throw new Error(`topology ${this.prefix}: namespaces left behind: ${left.join(', ')} ${errors.join('; ')}`);
  }

  private runClosers(): void {
    for (const close of this.closers.splice(0)) {
      try {
        close();
      } catch {
        // a failing close must not stop the teardown
      }
    }
  }

  private allPids(): number[] {
    const out = new Set(this.pids);
    for (const c of this.children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) out.add(c.pid);
    return [...out];
  }

  private assertLive(): void {
    if (this.destroying !== null || this.destroyed) throw new Error(`topology ${this.prefix} is destroyed`);
  }

  private assertOwned(ns: string): void {
    this.assertLive();
    if (!this.nsList.includes(ns)) throw new Error(`namespace ${ns} does not belong to topology ${this.prefix}`);
  }
}

/** Creates a topology; pair it with destroy() in afterAll/finally, or use withTopology. */
export function createTopology(label?: string): Topology {
  return new Topology(label);
}

/** Runs `fn` with a fresh topology and destroys it afterwards, also when `fn` throws. */
export async function withTopology<T>(label: string, fn: (t: Topology) => Promise<T>): Promise<T> {
  const t = new Topology(label);
  try {
    return await fn(t);
  } finally {
    await t.destroy();
  }
}

function killQuiet(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// A zombie counts as gone: PID 1 here does not reap orphans (INTEROP §0), so they never disappear.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitGone(pids: readonly number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

async function nsPids(ns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', ns], { allowFail: true });
  return parsePids(r.code === 0 ? r.stdout : '');
}

function nsPidsSync(ns: string): number[] {
  try {
    return parsePids(execFileSync('ip', ['netns', 'pids', ns], { timeout: EXEC_TIMEOUT_MS, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return [];
  }
}

function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number)
    .filter((p) => p !== process.pid);
}
