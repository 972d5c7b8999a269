// Dependency directions of STYLE.md, enforced over every .ts file in src/ and adapters/:
//  - src/wire imports only src/wire, src/checksum, src/ports and src/time;
//  - only src/api and src/cli import Node built-ins (`node:*` or bare `fs`, `net`, ...);
//  - nothing in src/ imports adapters/, test/ or bench/;
//  - src/core never imports src/api or src/cli;
//  - src/ports holds types only (checked on the syntax tree and on what tsc emits).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDependencies, emittedCode, formatViolation, runtimeStatements, scanImports } from './scan.js';
import type { SourceFile } from './scan.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function tsFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(p);
    return e.isFile() && p.endsWith('.ts') ? [p] : [];
  });
}

const files: SourceFile[] = ['src', 'adapters'].flatMap((d) =>
  tsFiles(join(ROOT, d)).map((p) => ({ path: relative(ROOT, p).split(sep).join('/'), source: readFileSync(p, 'utf8') })),
);

describe('architecture: dependency directions', () => {
  it('scans the real tree (guards against passing vacuously)', () => {
    expect(files.length).toBeGreaterThan(10);
    const udp = files.find((f) => f.path === 'src/wire/udp.ts');
    expect(udp).toBeDefined();
    expect(scanImports(udp!.source).map((r) => r.specifier)).toContain('../ports/checksum.js');
  });

  it('every file in src/ and adapters/ follows the rules', () => {
    const violations = checkDependencies(files);
    expect(violations.map(formatViolation), 'dependency rule violations').toEqual([]);
  });

  it('src/ports compiles to nothing but type exports', () => {
    const ports = files.filter((f) => f.path.startsWith('src/ports/'));
    expect(ports.length).toBeGreaterThan(0);
    const emitting = ports.map((f) => [f.path, emittedCode(f.source, f.path)] as const).filter(([, js]) => js !== '');
    expect(emitting.map(([p, js]) => `${p} emits: ${js.slice(0, 200)}`)).toEqual([]);
  });
});

describe('architecture: the scanner itself', () => {
  const src = `
    // import { fake } from 'node:fs';   (a comment, not an import)
    import { a } from './a.js';
    import type { B } from '../b.js';
    import * as ns from "node:net";
    import './side-effect.js';
    import fs from 'fs';
    export { c } from './c.js';
    export type { D } from './d.js';
    export * from './e.js';
    import x = require('./f.js');
    const s = "import { no } from 'not-an-import'";
    async function g(): Promise<typeof import('./h.js')> { return import('./i.js'); }
    const dyn = (p: string) => import(p);
    type T = import('./j.js').J;
  `;

  it('finds every kind of module reference and nothing in comments or strings', () => {
    const refs = scanImports(src);
    expect(refs.map((r) => `${r.kind}:${r.specifier}:${r.typeOnly ? 'type' : 'value'}`)).toEqual([
      'import:./a.js:value',
      'import:../b.js:type',
      'import:node:net:value',
      'import:./side-effect.js:value',
      'import:fs:value',
      'export:./c.js:value',
      'export:./d.js:type',
      'export:./e.js:value',
      'require:./f.js:value',
      'type-query:./h.js:type',
      'dynamic:./i.js:value',
      'dynamic:null:value',
      'type-query:./j.js:type',
    ]);
    expect(refs[0]!.line).toBe(3);
  });

  const check = (path: string, source: string) => checkDependencies([{ path, source }]).map((v) => v.rule);

  it('fails wire importing core, a package or Node', () => {
    expect(check('src/wire/x.ts', `import { y } from '../core/y.js';`)).toEqual(['wire-deps']);
    expect(check('src/wire/x.ts', `import { y } from 'some-package';`)).toEqual(['wire-deps']);
    expect(check('src/wire/x.ts', `import { y } from 'node:buffer';`)).toEqual(['wire-deps', 'no-node-builtins']);
    expect(check('src/wire/x.ts', `import { y } from './y.js'; import type { P } from '../ports/p.js'; import { t } from '../time/index.js'; import { c } from '../checksum/internet.js';`)).toEqual([]);
  });

  it('fails Node built-ins outside src/api and src/cli, in any spelling', () => {
    expect(check('src/core/x.ts', `import { Socket } from 'net';`)).toEqual(['no-node-builtins']);
    expect(check('src/phy/x.ts', `const f = await import('node:fs/promises');`)).toEqual(['no-node-builtins']);
    expect(check('src/core/x.ts', `import type { Buffer } from 'buffer';`)).toEqual(['no-node-builtins']);
    expect(check('src/api/x.ts', `import { open } from 'node:fs/promises';`)).toEqual([]);
    expect(check('src/cli/x.ts', `import { parseArgs } from 'util';`)).toEqual([]);
    expect(check('adapters/tap/x.ts', `import { open } from 'node:fs';`)).toEqual([]);
  });

  it('fails src/ reaching into adapters/, test/ or bench/, and core reaching into api or cli', () => {
    expect(check('src/api/x.ts', `import { T } from '../../adapters/tap/index.js';`)).toEqual(['src-no-outside']);
    expect(check('src/core/x.ts', `export { h } from '../../test/harness.js';`)).toEqual(['src-no-outside']);
    expect(check('src/core/x.ts', `import('../../bench/run.js');`)).toEqual(['src-no-outside']);
    expect(check('src/core/tcp/x.ts', `import { connect } from '../../api/net.js';`)).toEqual(['core-no-api']);
    expect(check('src/core/x.ts', `import type { Cmd } from '../cli/command.js';`)).toEqual(['core-no-api']);
    expect(check('src/core/x.ts', `const m = await import(name);`)).toEqual(['literal-dynamic-import']);
    expect(check('adapters/tap/x.ts', `import { h } from '../../test/fuzz/harness.js';`)).toEqual(['adapters-no-tests']);
  });

  it('fails runtime code and value imports in src/ports, and names the statement', () => {
    expect(check('src/ports/x.ts', `export interface A { f(): void }\nexport type B = A | null;\nimport type { C } from './c.js';\nexport type { D } from './d.js';`)).toEqual([]);
    for (const code of ['export class A {}', 'export function f() {}', 'export const k = 1;', 'export let k = 1;', 'export enum E { A }', 'const x = 1;']) {
      expect(check('src/ports/x.ts', code), code).toEqual(['ports-type-only']);
      expect(emittedCode(code), code).not.toBe('');
    }
    expect(check('src/ports/x.ts', `import { C } from './c.js';`)).toEqual(['ports-type-only']);
    expect(check('src/ports/x.ts', `export { D } from './d.js';`)).toEqual(['ports-type-only']);
    expect(runtimeStatements(`interface A {}\nexport const k = 1;`)).toEqual([{ line: 2, text: 'export const k = 1;', moduleRef: false }]);
    expect(emittedCode(`export interface A {}\nexport type { B } from './b.js';`)).toBe('');
  });

  it('names the file, the import and the rule in its messages', () => {
    const [v] = checkDependencies([{ path: 'src/core/x.ts', source: `\nimport { s } from 'node:net';` }]);
    expect(formatViolation(v!)).toBe(`src/core/x.ts:2: [no-node-builtins] 'node:net': only src/api and src/cli may import Node built-ins`);
  });
});
