// Two VdePlugDevices on one `vde_switch` (vde:// URL, INTEROP §2.1-2.3): a non-TAP plug, opened by
// the settle delay rather than a probe. Switch and plugs run inside a private namespace; the switch
// is kept in the foreground with its stdin open (it exits and cleans up at EOF).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VdePlugDevice } from '../../adapters/vde-plug/device.js';
import { FrameCollector } from '../support/interop.js';
import { createTopology, describeNet, listNamespaces } from '../support/netns.js';
import type { Topology } from '../support/netns.js';

function ethFrame(dst: number[], src: number[], tag: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f.set([0x88, 0xb5, tag], 12);
  return f;
}

const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

describeNet(
  'VdePlugDevice on a vde_switch (vde://)',
  () => {
    let topo: Topology;
    let dir: string;
    let a: VdePlugDevice;
    let b: VdePlugDevice;
    let colA: FrameCollector;
    let colB: FrameCollector;

    beforeAll(async () => {
      topo = createTopology('vdesw');
      const ns = await topo.createNamespace('sw');
      dir = mkdtempSync(join(tmpdir(), `pts${process.pid}-sw-`));
      const sock = join(dir, 'switch');
      topo.spawnInNamespace(ns, 'vde_switch', ['-s', sock], { stdio: ['pipe', 'ignore', 'ignore'] });
      const deadline = Date.now() + 5000;
      while (!existsSync(join(sock, 'ctl')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(join(sock, 'ctl'))).toBe(true);
      a = topo.adopt(new VdePlugDevice({ url: `vde://${sock}`, netns: ns, extraArgs: ['-D', 'picotcp-ts a'] }));
      b = topo.adopt(new VdePlugDevice({ url: `vde://${sock}`, netns: ns, extraArgs: ['-D', 'picotcp-ts b'] }));
      colA = new FrameCollector(a);
      colB = new FrameCollector(b);
      await Promise.all([a.opened, b.opened]);
    });

    afterAll(async () => {
      if (topo === undefined) return;
      const prefix = topo.prefix;
      await topo.destroy();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      expect((await listNamespaces()).filter((n) => n.startsWith(prefix))).toEqual([]);
    });

    it('broadcast_is_flooded_then_unicast_follows_the_learned_port', async () => {
      expect(a.up && b.up).toBe(true);
      const m = colB.mark();
      expect(a.transmit(ethFrame(BCAST, MAC_A, 1))).toBe(true);
      const got = await colB.waitFor((f) => (f[14] === 1 ? f : null), 3000, m);
      expect(got.length).toBe(60);
      expect(Array.from(got.subarray(6, 12))).toEqual(MAC_A);
      // The switch learned MAC_A on a's port: a unicast reply goes there only.
      const ma = colA.mark();
      expect(b.transmit(ethFrame(MAC_A, MAC_B, 2, 42))).toBe(true);
      const back = await colA.waitFor((f) => (f[14] === 2 ? f : null), 3000, ma);
      expect(back.length).toBe(42); // runts pass through the switch untouched (INTEROP §2.2)
    });

    it('largest_frame_passes_the_switch', async () => {
      const m = colB.mark();
      expect(a.transmit(ethFrame(MAC_B, MAC_A, 3, 1518))).toBe(true);
      const got = await colB.waitFor((f) => (f[14] === 3 ? f : null), 3000, m);
      expect(got.length).toBe(1518);
    });
  },
  ['ip', 'vde_plug', 'vde_switch'],
);
