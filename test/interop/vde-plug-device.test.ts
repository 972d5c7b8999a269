// VdePlugDevice process handling with stand-in plugs (`/bin/sh -c ...` instead of vde_plug): the URL
// is appended as $1 and ignored. `exec cat` echoes the stream, so frames come back framed exactly as
// written. No network and no privileges needed.
import { afterEach, describe, expect, it } from 'vitest';
import { VdePlugDevice, tapNameOf } from '../../adapters/vde-plug/device.js';
import type { VdePlugOptions } from '../../adapters/vde-plug/device.js';
import { FrameCollector, transmitAll } from '../support/interop.js';

const devices: VdePlugDevice[] = [];

/** A device whose "plug" is the shell script `script`. */
function fakePlug(script: string, opts: Partial<VdePlugOptions> = {}): VdePlugDevice {
  const d = new VdePlugDevice({ url: 'fake://x', vdePlugPath: '/bin/sh', extraArgs: ['-c', script, 'sh'], settleMs: 30, ...opts });
  devices.push(d);
  return d;
}

function frame(len: number, tag: number): Uint8Array {
  const f = new Uint8Array(len).fill(tag & 0xff);
  f[0] = 0x02; // unicast, locally administered destination
  return f;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

afterEach(async () => {
  for (const d of devices.splice(0)) {
    d.close();
    await d.exited;
  }
});

describe('VdePlugDevice with a stand-in plug', () => {
  it('tap_name_parsed_from_url', () => {
    expect(tapNameOf('tap://tap0')).toBe('tap0');
    expect(tapNameOf('tap://t1[mac=02:00:00:00:00:01]')).toBe('t1');
    expect(tapNameOf('vde:///tmp/sw')).toBeNull();
  });

  it('capabilities_ethernet_mtu_no_offload', () => {
    const d = fakePlug('exec cat', { capabilities: { mtu: 1400 } });
    expect(d.capabilities.medium).toBe('ethernet');
    expect(d.capabilities.mtu).toBe(1400);
    expect(d.capabilities.checksum).toEqual({ ipv4: 'none', tcp: 'none', udp: 'none', icmp: 'none' });
  });

  it('echo_roundtrip_preserves_frames_in_order', async () => {
    const d = fakePlug('exec cat');
    const col = new FrameCollector(d);
    await d.opened;
    expect(d.up).toBe(true);
    const sent = Array.from({ length: 300 }, (_, i) => frame(14 + ((i * 37) % 1500), i));
    const r = await transmitAll(col, sent, 5000);
    expect(r.accepted).toBe(sent.length);
    await col.waitFor((_f) => (col.frames.length >= sent.length ? true : null), 5000);
    expect(col.frames.map((f) => f.bytes.length)).toEqual(sent.map((f) => f.length));
    expect(Buffer.concat(col.frames.map((f) => f.bytes)).equals(Buffer.concat(sent))).toBe(true);
    const s = d.stats();
    expect(s.txFrames).toBe(300);
    expect(s.rxFrames).toBe(300);
    expect(s.txBytes).toBe(s.rxBytes);
    expect(col.linkEvents).toEqual([true]);
  });

  it('transmit_busy_above_high_water_then_on_writable', async () => {
    const d = fakePlug('exec cat');
    const col = new FrameCollector(d);
    await d.opened;
    let accepted = 0;
    let refused = false;
    for (let i = 0; i < 10_000 && !refused; i++) {
      if (d.transmit(frame(1514, i))) accepted++;
      else refused = true;
    }
    expect(refused).toBe(true);
    expect(d.stats().txBusy).toBe(1);
    await col.waitWritable(5000);
    expect(d.transmit(frame(1514, 0))).toBe(true);
    await col.waitFor(() => (col.frames.length >= accepted + 1 ? true : null), 5000);
    expect(col.frames.length).toBe(accepted + 1);
  });

  it('runt_and_oversize_transmits_are_dropped_and_counted', async () => {
    const d = fakePlug('exec cat');
    await d.opened;
    expect(d.transmit(new Uint8Array(13))).toBe(true);
    expect(d.transmit(new Uint8Array(1519))).toBe(true);
    expect(d.transmit(new Uint8Array(1518))).toBe(true);
    expect(d.stats().drops).toEqual({ runt: 1, oversize: 1 });
    expect(d.stats().txFrames).toBe(1);
  });

  it('oversize_length_from_plug_fails_and_closes', async () => {
    let reported: Error | null = null;
    const d = fakePlug("printf '\\377\\377abc'; exec cat", { onError: (e) => (reported = e) });
    const exit = await d.exited;
    expect(reported).not.toBeNull();
    expect(String(reported)).toMatch(/frame length 65535 exceeds the 1518-byte maximum/);
    expect(d.error).toBe(reported);
    expect(d.up).toBe(false);
    expect(exit.error).toBe(reported);
    await expect(d.opened).rejects.toThrow(/65535/);
  });

  it('early_exit_rejects_opened_with_stderr', async () => {
    const d = fakePlug('echo "libvdeplug: no such switch" >&2; exit 3');
    await expect(d.opened).rejects.toThrow(/exited with code 3 before it was open: libvdeplug: no such switch/);
    const exit = await d.exited;
    expect(exit.code).toBe(3);
    expect(d.up).toBe(false);
  });

  it('missing_binary_rejects_opened', async () => {
    const d = new VdePlugDevice({ url: 'vde:///nowhere', vdePlugPath: '/nonexistent/vde_plug' });
    devices.push(d);
    await expect(d.opened).rejects.toThrow(/cannot start .*ENOENT/);
    expect((await d.exited).error).toBeDefined();
  });

  it('child_exit_reports_link_down_and_up_false', async () => {
    const d = fakePlug('exec cat');
    const col = new FrameCollector(d);
    await d.opened;
    process.kill(d.pid!, 'SIGKILL');
    const exit = await d.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(d.up).toBe(false);
    await new Promise((r) => setTimeout(r, 0));
    expect(col.linkEvents).toEqual([true, false]);
    expect(d.transmit(frame(60, 1))).toBe(true);
    expect(d.stats().drops.link_down).toBe(1);
  });

  it('close_is_idempotent_and_ends_the_process', async () => {
    const d = fakePlug('exec cat');
    await d.opened;
    const pid = d.pid!;
    d.close();
    d.close();
    expect(d.up).toBe(false);
    const exit = await d.exited;
    expect(exit.code !== null || exit.signal !== null).toBe(true);
    expect(gone(pid)).toBe(true);
    expect(d.transmit(frame(60, 1))).toBe(true);
    expect(d.stats().drops.closed).toBe(1);
  });

  it('close_escalates_to_sigkill_when_sigterm_is_ignored', async () => {
    // An ignored signal stays ignored across exec, so `sleep` ignores SIGTERM and never reads stdin.
    const d = fakePlug('trap "" TERM; exec sleep 30', { killTimeoutMs: 200 });
    await d.opened;
    const t0 = Date.now();
    d.close();
    const exit = await d.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('ready_probe_polled_until_true', async () => {
    let calls = 0;
    const d = fakePlug('exec cat', { readyProbe: async () => ++calls >= 3 });
    await d.opened;
    expect(calls).toBe(3);
    expect(d.up).toBe(true);
  });

  it('ready_probe_that_never_settles_times_out_and_closes', async () => {
    const d = fakePlug('echo still-starting >&2; exec cat', { readyProbe: () => new Promise<boolean>(() => undefined), openTimeoutMs: 200 });
    await expect(d.opened).rejects.toThrow(/not ready after 200 ms: still-starting/);
    expect(d.up).toBe(false);
    const exit = await d.exited;
    expect(exit.error?.message).toMatch(/not ready/);
  });

  it('close_before_open_rejects_opened', async () => {
    const d = fakePlug('exec cat', { settleMs: 5000 });
    d.close();
    await expect(d.opened).rejects.toThrow(/closed before it was open/);
    await d.exited;
  });

  it('rx_queue_full_drops_are_counted', async () => {
    const d = fakePlug('exec cat', { rxQueueFrames: 8 });
    await d.opened;
    for (let i = 0; i < 20; i++) d.transmit(frame(60, i));
    const deadline = Date.now() + 5000;
    while (d.stats().rxQueued + (d.stats().drops.rx_queue_full ?? 0) < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(d.stats().rxQueued).toBe(8);
    expect(d.stats().drops.rx_queue_full).toBe(12);
    const got: number[] = [];
    expect(d.receive(100, (f) => got.push(f[1]!))).toBe(8);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('pause_mode_stops_reading_until_drained', async () => {
    const d = fakePlug('exec cat', { rxQueueFrames: 8, rxOverflow: 'pause' });
    await d.opened;
    for (let i = 0; i < 20; i++) d.transmit(frame(60, i));
    const got: number[] = [];
    const deadline = Date.now() + 5000;
    while (got.length < 20 && Date.now() < deadline) {
      d.receive(64, (f) => got.push(f[1]!));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(d.stats().drops.rx_queue_full ?? 0).toBe(0);
  });
});
