// Loader for the optional native addon (native/*.cc, built at install by native/build.mjs) and the
// providers built on it. This is the only module that loads a .node file; everything else takes a
// ChecksumProvider or SlabMemory and works the same with the pure-TypeScript fallbacks.
//
// PICOTCP_NO_NATIVE=1 disables the addon (the TS paths are then what runs and what is tested).

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChecksumProvider } from '../ports/checksum.js';
import type { SlabMemory } from '../pool/slab-memory.js';
import { tsChecksum } from '../checksum/ts-checksum.js';
import { sizeRoutedChecksum } from '../checksum/routed.js';

/** The addon's exports (native/addon.cc). */
export interface NativeBinding {
  /** ChecksumProvider.sum with the active kernel; throws TypeError/RangeError on bad arguments. */
  checksumSum(buf: Uint8Array, off: number, len: number, seed: number): number;
  /** The same with a named kernel (tests and benchmarks); throws if this CPU lacks it. */
  checksumSumWith(impl: string, buf: Uint8Array, off: number, len: number, seed: number): number;
  /** Active kernel: 'scalar' | 'sse2' | 'avx2' (PICOTCP_NATIVE_CHECKSUM forces one at load). */
  checksumImpl(): string;
  /** Kernels this CPU supports, slowest first. */
  checksumKernels(): string[];
  /** Zero-filled external memory aligned to `alignment`, freed when the ArrayBuffer is collected. */
  allocSlab(bytes: number, alignment: number): ArrayBuffer;
}

export interface NativeStatus {
  readonly loaded: boolean;
  /** True when PICOTCP_NO_NATIVE=1 turned the addon off. */
  readonly disabled: boolean;
  /** The .node file tried, if one was located. */
  readonly path: string | null;
  /** Why the addon is not loaded; null when it is. */
  readonly reason: string | null;
}

/**
 * Sums shorter than this go to the TS provider even when the addon is loaded: a call into the addon
 * costs ~80-90 ns before it reads a byte (N-API entry plus four argument conversions), while TS
 * sums short inputs in less. Measured with the crossover scan of bench/checksum.bench.ts (Node 20,
 * x86-64 AVX2, a shared 2-vCPU VM): the smallest length from which native was never slower came
 * out at 416, 320, 256, 256 and 288 bytes in five runs; this is the median. Around it the two
 * differ by ~10 ns per call (e.g. 115 vs 104 ns at 288 bytes), so the exact value matters little.
 */
export const NATIVE_CHECKSUM_CROSSOVER = 288;

const ADDON_FILE = join('build', 'Release', 'picotcp_native.node');

let binding: NativeBinding | null | undefined;
let status: NativeStatus | undefined;
let nativeProvider: ChecksumProvider | null | undefined;
let defaultProvider: ChecksumProvider | undefined;

// The package root holds binding.gyp and build/. This file runs as src/api/native.ts (tsx, vitest)
// and as dist/src/api/native.js (published build), two and three levels below it.
function findAddon(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    dir = dirname(dir);
    if (existsSync(join(dir, 'binding.gyp')) && existsSync(join(dir, 'package.json'))) return join(dir, ADDON_FILE);
  }
  return null;
}

/** The addon, or null when disabled, not built or failing to load (see nativeStatus()). Loaded once. */
export function loadNative(): NativeBinding | null {
  if (binding !== undefined) return binding;
  binding = null;
  if (process.env.PICOTCP_NO_NATIVE === '1') {
    status = { loaded: false, disabled: true, path: null, reason: 'disabled by PICOTCP_NO_NATIVE=1' };
    return null;
  }
  const path = findAddon();
  if (path === null) {
    status = { loaded: false, disabled: false, path: null, reason: 'package root (binding.gyp) not found' };
    return null;
  }
  if (!existsSync(path)) {
    status = { loaded: false, disabled: false, path, reason: `${path} not built (npm run build:native)` };
    return null;
  }
  try {
    binding = createRequire(import.meta.url)(path) as NativeBinding;
    status = { loaded: true, disabled: false, path, reason: null };
  } catch (err) {
    status = { loaded: false, disabled: false, path, reason: `failed to load ${path}: ${(err as Error).message}` };
  }
  return binding;
}

/** Whether the addon loaded, and why not. */
export function nativeStatus(): NativeStatus {
  loadNative();
  return status!;
}

/** The native checksum provider ('native-avx2' etc.) for every length, or null without the addon. */
export function nativeChecksum(): ChecksumProvider | null {
  if (nativeProvider !== undefined) return nativeProvider;
  const b = loadNative();
  // The addon function itself is the method: no JS wrapper frame on the hot path.
  nativeProvider = b === null ? null : { name: `native-${b.checksumImpl()}`, sum: b.checksumSum };
  return nativeProvider;
}

export interface DefaultChecksumOptions {
  /** Route sums of at least this many bytes to native. Default NATIVE_CHECKSUM_CROSSOVER. */
  readonly threshold?: number;
}

/**
 * The checksum provider to use: TS below the crossover length, native at or above it; plain TS
 * ('ts') when the addon is absent. Without options the same instance is returned on every call.
 */
export function defaultChecksum(options: DefaultChecksumOptions = {}): ChecksumProvider {
  const native = nativeChecksum();
  if (native === null) return tsChecksum;
  if (options.threshold !== undefined) return sizeRoutedChecksum(tsChecksum, native, options.threshold);
  defaultProvider ??= sizeRoutedChecksum(tsChecksum, native, NATIVE_CHECKSUM_CROSSOVER);
  return defaultProvider;
}

/**
 * Slab memory from the addon: aligned (default: a 64-byte cache line) external memory reported to
 * V8, for SlabPool's `memory` option. Null without the addon. Do not transfer these ArrayBuffers
 * to another thread: the memory is freed with the original object.
 */
export function nativeSlabMemory(alignment = 64): SlabMemory | null {
  const b = loadNative();
  if (b === null) return null;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`nativeSlabMemory: alignment must be a power of two, got ${alignment}`);
  }
  return (bytes) => b.allocSlab(bytes, alignment);
}
