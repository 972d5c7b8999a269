// End to end against the real Linux kernel, no stack of ours in the loop: VdePlugDevice runs
// `vde_plug tap://tap0` inside a private namespace, the TAP gets 198.51.100.1/24 and 2001:db8::1/64,
// and frames built with our codecs go in while the kernel's answers come out and are parsed with our
// codecs (INTEROP §1.1, §2.3). Needs root, /dev/net/tun, iproute2, ethtool, sysctl and vde_plug.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VdePlugDevice } from '../../adapters/vde-plug/device.js';
import { formatMac, parseMac } from '../../src/wire/address.js';
import { ArpOp } from '../../src/wire/arp.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { EtherType } from '../../src/wire/ethertype.js';
import { isWireError } from '../../src/wire/error.js';
import {
  arpRequestFrame,
  describeFrame,
  FrameCollector,
  icmpEchoRequestFrame,
  matchArpReply,
  matchEchoReply,
  openTapFixture,
  startArpResponder,
  TAP_IP4,
  TAP_IP6,
  transmitAll,
  US_IP4,
  US_MAC,
} from '../support/interop.js';
import type { TapFixture } from '../support/interop.js';
import { createTopology, describeNet, linkShow, listNamespaces, NS_PREFIX } from '../support/netns.js';
import type { Topology } from '../support/netns.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeNet('VdePlugDevice over tap:// in a namespace, against the Linux kernel', () => {
  let topo: Topology;
  let fx: TapFixture;

  beforeAll(async () => {
    topo = createTopology('vdetap');
    fx = await openTapFixture(topo);
  });

  afterAll(async () => {
    if (topo === undefined) return;
    const prefix = topo.prefix;
    const pid = fx?.device.pid;
    await topo.destroy();
    expect((await listNamespaces()).filter((n) => n.startsWith(prefix))).toEqual([]);
    if (pid !== undefined) expect(alive(pid)).toBe(false);
  });

  it('opened_tap_exists_in_the_namespace_and_device_is_up', async () => {
    expect(fx.device.up).toBe(true);
    expect(fx.device.capabilities).toMatchObject({ medium: 'ethernet', mtu: 1500 });
    const info = await linkShow(fx.ns, fx.tap);
    expect(info.flags).toContain('UP');
    expect(info.mtu).toBe(1500);
    expect(fx.collector.linkEvents).toEqual([true]);
    // Both test addresses are in place; the IPv6 one skipped DAD (nodad), so it is not tentative.
    const addr = await fx.topology.execInNamespace(fx.ns, 'ip', ['-j', 'addr', 'show', 'dev', fx.tap]);
    const infos = (JSON.parse(addr.stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number; tentative?: boolean }> }>)[0]!.addr_info;
    expect(infos.find((a) => a.local === TAP_IP4)?.prefixlen).toBe(24);
    const v6 = infos.find((a) => a.local === TAP_IP6);
    expect(v6?.prefixlen).toBe(64);
    expect(v6?.tentative).toBeUndefined();
    const routes = await fx.topology.execInNamespace(fx.ns, 'ip', ['route', 'show', 'default']);
    expect(routes.stdout.trim()).toBe('');
  });

  it('kernel_first_frames_on_a_new_tap_are_ipv6_housekeeping', async () => {
    // Observation window after link up: what any stack on this link must expect unasked.
    await new Promise((r) => setTimeout(r, 3000));
    const frames = fx.collector.frames;
    console.log(`kernel frames in the first ~3 s after link up (${frames.length}):\n  ${fx.collector.describeFrom(0, 50).split('; ').join('\n  ')}`);
    expect(frames.length).toBeGreaterThan(0);
    let icmpv6 = 0;
    for (const f of frames) {
      const eth = EthernetFrame.check(f.bytes);
      if (isWireError(eth)) throw new Error(`kernel sent an unparseable frame: ${eth.toString()}`);
      expect(eth.src).toBe(fx.tapMac);
      if (eth.ethertype === EtherType.IPV6 && /icmpv6/.test(describeFrame(f.bytes))) icmpv6++;
    }
    expect(icmpv6).toBeGreaterThan(0);
  });

  it('arp_request_gets_the_kernel_reply_with_the_tap_mac', async () => {
    const mark = fx.collector.mark();
    const req = arpRequestFrame(US_MAC, US_IP4, TAP_IP4);
    expect(req.length).toBe(42); // a runt on purpose: TAP takes it (INTEROP §2.2)
    expect(fx.device.transmit(req)).toBe(true);
    const seen = await fx.collector.waitFor((f) => matchArpReply(f, TAP_IP4, US_IP4), 3000, mark);
    expect(seen.arp.operation).toBe(ArpOp.REPLY);
    expect(formatMac(seen.arp.senderMac)).toBe(formatMac(fx.tapMac));
    expect(formatMac(seen.eth.src)).toBe(formatMac(fx.tapMac));
    expect(seen.arp.targetMac).toBe(parseMac(US_MAC));
    expect(seen.eth.dst).toBe(parseMac(US_MAC));
    // Linux answers unpadded too: the 42-byte reply comes out as is.
    expect(seen.frameLen).toBe(42);
  });

  it('icmp_echo_request_gets_an_echo_reply_with_valid_checksums', async () => {
    const stop = startArpResponder(fx.collector, US_IP4, US_MAC);
    try {
      const data = new Uint8Array(56).map((_, i) => (i * 7 + 3) & 0xff);
      const mark = fx.collector.mark();
      const req = icmpEchoRequestFrame({ srcMac: US_MAC, dstMac: fx.tapMac, srcIp: US_IP4, dstIp: TAP_IP4, ident: 0x4d2, seq: 7, data, ipIdent: 0x1234 });
      expect(fx.device.transmit(req)).toBe(true);
      const r = await fx.collector.waitFor((f) => matchEchoReply(f, 0x4d2), 3000, mark);
      expect(r.icmp).toEqual({ kind: 'echoReply', ident: 0x4d2, seq: 7, dataLen: 56 });
      expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
      expect(r.ipChecksumOk).toBe(true);
      expect(r.icmpChecksumOk).toBe(true);
      expect(r.ip.src).toBe(0xc6336401);
      expect(r.ip.dst).toBe(0xc6336402);
      expect(r.eth.src).toBe(fx.tapMac);
      expect(r.eth.dst).toBe(parseMac(US_MAC));
    } finally {
      stop();
    }
  });

  it('burst_of_2000_frames_reaches_the_kernel_with_backpressure_honoured', async () => {
    const before = (await linkShow(fx.ns, fx.tap)).stats64!.rx;
    const devBefore = fx.device.stats();
    const writableBefore = fx.collector.writableEvents;
    // Full-size unicast frames to a MAC nobody has and a local-experimental EtherType: the kernel
    // counts them as received and drops them quietly, so nothing comes back.
    const dst = parseMac('02:00:00:00:00:99')!;
    const frames = Array.from({ length: 2000 }, (_, i) => {
      const f = new Uint8Array(1514);
      for (let k = 0; k < 6; k++) f[k] = (dst / 2 ** (8 * (5 - k))) & 0xff;
      f.set([0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5], 6);
      f[14] = i >>> 8;
      f[15] = i & 0xff;
      return f;
    });
    const t0 = performance.now();
    const r = await transmitAll(fx.collector, frames, 20_000);
    const ms = performance.now() - t0;
    expect(r.accepted).toBe(2000);
    if (r.busy > 0) expect(fx.collector.writableEvents - writableBefore).toBeGreaterThanOrEqual(r.busy);
    const dev = fx.device.stats();
    expect(dev.txFrames - devBefore.txFrames).toBe(2000);
    expect(dev.txBusy - devBefore.txBusy).toBe(r.busy);
    let after = before;
    await waitUntil(async () => {
      after = (await linkShow(fx.ns, fx.tap)).stats64!.rx;
      return after.packets - before.packets >= 2000;
    }, 10_000);
    const got = after.packets - before.packets;
    const dropped = after.dropped - before.dropped;
    console.log(`burst: 2000 x 1514 B in ${ms.toFixed(0)} ms, busy ${r.busy}x; TAP rx +${got} packets, +${after.bytes - before.bytes} bytes, rx_dropped +${dropped}`);
    // Every accepted frame reached the kernel: none vanished between us and the TAP.
    expect(got).toBe(2000);
    expect(after.bytes - before.bytes).toBe(2000 * 1514);
    // Linux counts a frame nobody handles (unknown EtherType) in rx_packets and then in rx_dropped:
    // these are discards after reception, not losses on the way in.
    expect(dropped).toBeLessThanOrEqual(2000);
  });

  it('plug_killed_from_outside_reports_link_down', async () => {
    const d = topo.adopt(new VdePlugDevice({ url: 'tap://tap1', netns: fx.ns }));
    const col = new FrameCollector(d);
    await d.opened;
    expect((await linkShow(fx.ns, 'tap1')).ifname).toBe('tap1');
    process.kill(d.pid!, 'SIGKILL');
    const exit = await d.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(d.up).toBe(false);
    await new Promise((r) => setTimeout(r, 0));
    expect(col.linkEvents).toEqual([true, false]);
    // A non-persistent TAP goes away with its last file descriptor.
    expect(await waitUntil(async () => (await linkShow(fx.ns, 'tap1').then(() => false, () => true)), 3000)).toBe(true);
  });

  it('tap_name_longer_than_ifnamsiz_is_refused_up_front', () => {
    // vde_plug itself would truncate it to 15 characters and run under that name.
    expect(() => new VdePlugDevice({ url: 'tap://this-name-is-too-long', netns: fx.ns })).toThrow(/1-15 characters/);
  });

  it('plug_failing_to_attach_rejects_opened_with_its_stderr', async () => {
    const d = topo.adopt(new VdePlugDevice({ url: 'vde:///nonexistent/switch', netns: fx.ns, openTimeoutMs: 3000 }));
    await expect(d.opened).rejects.toThrow(/exited with code 1 before it was open: vde_open vde:\/\/\/nonexistent\/switch: No such file or directory/);
    expect(d.up).toBe(false);
  });

  it('missing_namespace_rejects_opened_with_ip_stderr', async () => {
    const d = topo.adopt(new VdePlugDevice({ url: 'tap://tapx', netns: `${NS_PREFIX}does-not-exist` }));
    await expect(d.opened).rejects.toThrow(/exited with code 255 before it was open: Cannot open network namespace ".*does-not-exist"/);
  });

  it('close_ends_the_plug_and_removes_the_tap', async () => {
    const pid = fx.device.pid!;
    fx.device.close();
    fx.device.close();
    expect(fx.device.up).toBe(false);
    const exit = await fx.device.exited;
    expect(exit.code !== null || exit.signal !== null).toBe(true);
    expect(alive(pid)).toBe(false);
    expect(await waitUntil(async () => (await linkShow(fx.ns, fx.tap).then(() => false, () => true)), 3000)).toBe(true);
  });
});
