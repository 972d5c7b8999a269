// The native addon's loader contract, argument checking and slab memory. Tests that need the addon
// are skipped (not passed) without it; in CI (CI=true or PICOTCP_REQUIRE_NATIVE=1) a missing addon
// is a failure, so the native path cannot silently disappear.
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tsChecksum, tsSum } from '../../src/checksum/index.js';
import {
  NATIVE_CHECKSUM_CROSSOVER,
  defaultChecksum,
  loadNative,
  nativeChecksum,
  nativeSlabMemory,
  nativeStatus,
} from '../../src/api/native.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const noNative = process.env.PICOTCP_NO_NATIVE === '1';
const required = !noNative && (process.env.CI === 'true' || process.env.PICOTCP_REQUIRE_NATIVE === '1');
const native = loadNative();

// Runs the loader in a fresh process (the kernel choice is made once, at load) and returns what it saw.
function loadInChild(env: Record<string, string | undefined>): { impl: string | null; reason: string | null } {
  const code =
    "import { loadNative, nativeStatus } from './src/api/native.ts';" +
    'const n = loadNative();' +
    'console.log(JSON.stringify({ impl: n ? n.checksumImpl() : null, reason: nativeStatus().reason }));';
  const childEnv: Record<string, string | undefined> = { ...process.env, PICOTCP_NO_NATIVE: undefined, ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    env: childEnv as NodeJS.ProcessEnv,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('native addon loading', () => {
  it.runIf(required)('addon_must_load_in_ci', () => {
    const s = nativeStatus();
    expect(s.reason, `native addon required here (CI or PICOTCP_REQUIRE_NATIVE=1) but: ${s.reason}`).toBeNull();
    expect(s.loaded).toBe(true);
  });

  it.runIf(noNative)('PICOTCP_NO_NATIVE_disables_the_addon_and_every_native_provider', () => {
    expect(loadNative()).toBeNull();
    const s = nativeStatus();
    expect(s.disabled).toBe(true);
    expect(s.loaded).toBe(false);
    expect(s.reason).toMatch(/PICOTCP_NO_NATIVE/);
    expect(nativeChecksum()).toBeNull();
    expect(nativeSlabMemory()).toBeNull();
    expect(defaultChecksum()).toBe(tsChecksum);
    expect(defaultChecksum().name).toBe('ts');
    expect(defaultChecksum({ threshold: 0 }).name).toBe('ts');
  });

  it('status_is_consistent_with_the_binding', () => {
    const s = nativeStatus();
    expect(s.loaded).toBe(native !== null);
    expect(s.reason === null).toBe(native !== null);
  });
});

describe.skipIf(!native)('native addon', () => {
  const n = native!;

  it('loads_from_build_Release_at_the_package_root', () => {
    expect(nativeStatus().path).toBe(join(root, 'build', 'Release', 'picotcp_native.node'));
  });

  it('native_provider_is_named_after_the_active_kernel', () => {
    expect(['scalar', 'sse2', 'avx2']).toContain(n.checksumImpl());
    expect(nativeChecksum()!.name).toBe(`native-${n.checksumImpl()}`);
  });

  it('default_provider_routes_by_size_at_the_measured_crossover', () => {
    const p = defaultChecksum();
    expect(p).toBe(defaultChecksum()); // one shared instance
    expect(p.name).toBe(`ts<${NATIVE_CHECKSUM_CROSSOVER}<=native-${n.checksumImpl()}`);
    expect(defaultChecksum({ threshold: 1000 }).name).toBe(`ts<1000<=native-${n.checksumImpl()}`);
    const b = new Uint8Array(2000).map((_, i) => i * 13);
    for (const len of [0, 1, NATIVE_CHECKSUM_CROSSOVER - 1, NATIVE_CHECKSUM_CROSSOVER, 1999]) {
      expect(p.sum(b, 1, len, 3)).toBe(tsSum(b, 1, len, 3));
    }
  });

  it('PICOTCP_NATIVE_CHECKSUM_forces_each_supported_kernel', () => {
    for (const k of n.checksumKernels()) expect(loadInChild({ PICOTCP_NATIVE_CHECKSUM: k }).impl).toBe(k);
  });

  it('an_unknown_forced_kernel_makes_loading_fail_with_the_reason', () => {
    const r = loadInChild({ PICOTCP_NATIVE_CHECKSUM: 'avx512' });
    expect(r.impl).toBeNull();
    expect(r.reason).toMatch(/PICOTCP_NATIVE_CHECKSUM=avx512 is not available.*scalar/);
  });

  it('reads_typed_arrays_in_place_at_their_byteOffset_including_node_buffers', () => {
    const ab = new ArrayBuffer(64);
    const whole = new Uint8Array(ab);
    whole.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 33);
    expect(n.checksumSum(new Uint8Array(ab, 33, 8), 0, 8, 0)).toBe(0xddf2);
    expect(n.checksumSum(Buffer.from('0001f203f4f5f6f7', 'hex'), 0, 8, 0)).toBe(0xddf2);
    whole[33] = 0x10; // the sum sees the change: no stale copy
    expect(n.checksumSum(new Uint8Array(ab, 33, 8), 0, 8, 0)).toBe(0xedf2);
  });

  it('rejects_buffers_that_are_not_Uint8Array_with_TypeError', () => {
    for (const bad of [new Uint16Array(8), new Uint8ClampedArray(8), new DataView(new ArrayBuffer(8)), [1, 2], 'ab', null]) {
      expect(() => n.checksumSum(bad as unknown as Uint8Array, 0, 0, 0)).toThrow(TypeError);
    }
    expect(() => (n.checksumSum as (...a: unknown[]) => number)(new Uint8Array(4), 0, 4)).toThrow(TypeError);
    expect(() => n.checksumSum(new Uint8Array(4), '0' as unknown as number, 4, 0)).toThrow(TypeError);
  });

  it('rejects_out_of_range_offsets_lengths_and_seeds_with_RangeError', () => {
    const b = new Uint8Array(10);
    const cases: [number, number, number][] = [
      [11, 0, 0],
      [0, 11, 0],
      [5, 6, 0],
      [-1, 1, 0],
      [0, -1, 0],
      [1.5, 1, 0],
      [NaN, 1, 0],
      [0, 2 ** 32, 0],
      [0, 1, -1],
      [0, 1, 2 ** 32],
    ];
    for (const [off, len, seed] of cases) expect(() => n.checksumSum(b, off, len, seed), `${off},${len},${seed}`).toThrow(RangeError);
    expect(n.checksumSum(b, 10, 0, 5)).toBe(5); // an empty range at the end is fine
    expect(() => n.checksumSumWith('scalar', b, 0, 11, 0)).toThrow(RangeError);
  });

  it('handles_a_detached_buffer_as_empty', () => {
    const ab = new ArrayBuffer(16);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    expect(n.checksumSum(view, 0, 0, 7)).toBe(7);
    expect(() => n.checksumSum(view, 0, 1, 0)).toThrow(RangeError);
  });

  it('checksumSumWith_rejects_unknown_kernels', () => {
    expect(() => n.checksumSumWith('avx512', new Uint8Array(2), 0, 2, 0)).toThrow(/unknown or not supported/);
    expect(() => n.checksumSumWith(3 as unknown as string, new Uint8Array(2), 0, 2, 0)).toThrow(TypeError);
  });

  it('allocSlab_returns_zeroed_writable_memory_of_the_requested_size', () => {
    for (const [bytes, align] of [
      [1, 1],
      [4096, 64],
      [100_000, 4096],
      [1 << 20, 1 << 21],
    ] as const) {
      const ab = n.allocSlab(bytes, align);
      expect(ab).toBeInstanceOf(ArrayBuffer);
      expect(ab.byteLength).toBe(bytes);
      const u8 = new Uint8Array(ab);
      expect(u8.every((x) => x === 0)).toBe(true);
      u8.fill(0x5a);
      expect(n.checksumSum(u8, 0, bytes, 0)).toBe(tsSum(u8, 0, bytes, 0));
    }
  });

  it('allocSlab_reports_its_memory_to_v8_and_the_finalizer_frees_it', () => {
    // In a fresh process with --expose-gc: nothing else's garbage can move the external counter.
    const code = `
      const n = require(${JSON.stringify(nativeStatus().path)});
      const ext = () => process.memoryUsage().external;
      (async () => {
        gc(); await new Promise(setImmediate); gc();
        const before = ext();
        let slab = n.allocSlab(32 << 20, 4096);
        const held = ext();
        slab = null;
        for (let i = 0; i < 5; i++) { gc(); await new Promise(setImmediate); }
        console.log(JSON.stringify({ grew: held - before, freed: held - ext() }));
      })();`;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', code], { encoding: 'utf8' });
    const { grew, freed } = JSON.parse(out.trim()) as { grew: number; freed: number };
    expect(grew).toBeGreaterThanOrEqual(32 << 20);
    expect(grew).toBeLessThan((32 << 20) + (1 << 20)); // reported once, not twice
    expect(freed).toBeGreaterThanOrEqual(32 << 20);
  });

  it('allocSlab_rejects_bad_sizes_and_alignments', () => {
    for (const [bytes, align] of [
      [0, 64],
      [-1, 64],
      [1.5, 64],
      [2 ** 32 + 1, 64],
      [64, 0],
      [64, 48],
      [64, 2 ** 22],
    ]) {
      expect(() => n.allocSlab(bytes!, align!), `${bytes},${align}`).toThrow(RangeError);
    }
  });
});
