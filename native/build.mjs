#!/usr/bin/env node
// Builds the optional native addon with node-gyp. A failed build never fails `npm install`:
// the stack falls back to pure TypeScript. `--strict` (npm run build:native) makes failures fatal.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const strict = process.argv.includes('--strict');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (process.env.PICOTCP_NO_NATIVE === '1' && !strict) {
  console.log('picotcp-ts: PICOTCP_NO_NATIVE=1, skipping the native addon build');
  process.exit(0);
}

function findNodeGyp() {
  try {
    return createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // npm exposes its bundled node-gyp to lifecycle scripts of installed packages.
    const fromNpm = process.env.npm_config_node_gyp;
    return fromNpm && existsSync(fromNpm) ? fromNpm : null;
  }
}

// Build against the headers that ship with this Node (no download: the machine may be offline).
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return null;
}

const gyp = findNodeGyp();
if (!gyp) {
  console.warn('picotcp-ts: node-gyp not found; using the pure TypeScript fallback');
  process.exit(strict ? 1 : 0);
}
const args = [gyp, 'rebuild'];
const nodedir = findNodeDir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.warn('picotcp-ts: native addon build failed; using the pure TypeScript fallback');
  process.exit(strict ? 1 : 0);
}
