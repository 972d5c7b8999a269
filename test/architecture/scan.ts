// Import scanner and dependency rules for the architecture test. Parses sources with the TypeScript
// compiler's parser (not regexes) so imports inside comments or strings never count and every form
// counts: `import ... from`, side-effect `import '...'`, `export ... from`, `import x = require()`,
// `require('...')`, dynamic `import('...')` and type-level `import('...').T`.

import { isBuiltin } from 'node:module';
import { posix } from 'node:path';
import ts from 'typescript';

export type ImportKind = 'import' | 'export' | 'dynamic' | 'require' | 'type-query';

export interface ImportRef {
  /** The module specifier, or null for a dynamic import whose argument is not a string literal. */
  readonly specifier: string | null;
  readonly kind: ImportKind;
  /** Erased at compile time (`import type`, `export type`, `import('x').T`). */
  readonly typeOnly: boolean;
  readonly line: number;
}

function lineOf(sf: ts.SourceFile, node: ts.Node): number {
  return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
}

function literal(node: ts.Node | undefined): string | null {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;
}

function parse(source: string, fileName: string): ts.SourceFile {
  return ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** Every module reference in `source`. */
export function scanImports(source: string, fileName = 'source.ts'): ImportRef[] {
  const sf = parse(source, fileName);
  const out: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      out.push({ specifier: literal(node.moduleSpecifier), kind: 'import', typeOnly: node.importClause?.isTypeOnly ?? false, line: lineOf(sf, node) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      out.push({ specifier: literal(node.moduleSpecifier), kind: 'export', typeOnly: node.isTypeOnly, line: lineOf(sf, node) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      out.push({ specifier: literal(node.moduleReference.expression), kind: 'require', typeOnly: node.isTypeOnly, line: lineOf(sf, node) });
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      const spec = ts.isLiteralTypeNode(arg) ? literal(arg.literal) : null;
      out.push({ specifier: spec, kind: 'type-query', typeOnly: true, line: lineOf(sf, node) });
    } else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        out.push({ specifier: literal(node.arguments[0]), kind: 'dynamic', typeOnly: false, line: lineOf(sf, node) });
      } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require' && literal(node.arguments[0]) !== null) {
        out.push({ specifier: literal(node.arguments[0]), kind: 'require', typeOnly: false, line: lineOf(sf, node) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export interface RuntimeStatement {
  readonly line: number;
  /** First line of the statement. */
  readonly text: string;
  /** An import or re-export (the import scan reports those with their specifier). */
  readonly moduleRef: boolean;
}

/**
 * Top-level statements that emit JavaScript: anything but interfaces, type aliases, `import type`
 * and `export type`. (`import { type A }` still emits an import under verbatimModuleSyntax.)
 */
export function runtimeStatements(source: string, fileName = 'source.ts'): RuntimeStatement[] {
  const sf = parse(source, fileName);
  const out: RuntimeStatement[] = [];
  for (const st of sf.statements) {
    if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEmptyStatement(st)) continue;
    if (ts.isImportDeclaration(st) && st.importClause?.isTypeOnly) continue;
    if (ts.isExportDeclaration(st) && (st.isTypeOnly || (!st.moduleSpecifier && st.exportClause && ts.isNamedExports(st.exportClause) && st.exportClause.elements.length === 0))) continue;
    const moduleRef = ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st) || (ts.isExportDeclaration(st) && st.moduleSpecifier !== undefined);
    out.push({ line: lineOf(sf, st), text: st.getText(sf).split('\n')[0]!.slice(0, 100), moduleRef });
  }
  return out;
}

/** What `tsc` emits for the file, comments and `export {};` removed: empty for a types-only file. */
export function emittedCode(source: string, fileName = 'source.ts'): string {
  const js = ts.transpileModule(source, {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, removeComments: true },
  }).outputText;
  return js.replace(/export\s*\{\s*\};?/g, '').trim();
}

export interface SourceFile {
  /** Repository-relative POSIX path, e.g. `src/wire/udp.ts`. */
  readonly path: string;
  readonly source: string;
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly rule: string;
  readonly message: string;
}

const WIRE_MAY_IMPORT = ['src/wire/', 'src/checksum/', 'src/ports/', 'src/time/'];
const NEVER_FROM_SRC = ['adapters/', 'test/', 'bench/'];

function under(path: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => path.startsWith(d));
}

/** Repository-relative target of a relative specifier, or null for a bare one. */
export function resolveSpecifier(fromFile: string, specifier: string): string | null {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  return posix.normalize(posix.join(posix.dirname(fromFile), specifier));
}

export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || isBuiltin(specifier);
}

/** Checks the dependency rules of STYLE.md over a set of files; returns every violation. */
export function checkDependencies(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const f of files) {
    const v = (line: number, specifier: string, rule: string, message: string): void => {
      out.push({ file: f.path, line, specifier, rule, message });
    };
    const inSrc = f.path.startsWith('src/');
    for (const ref of scanImports(f.source, f.path)) {
      if (ref.specifier === null) {
        if (inSrc && ref.kind === 'dynamic') v(ref.line, '<expression>', 'literal-dynamic-import', 'dynamic import() in src/ must use a string literal so its target can be checked');
        continue;
      }
      const spec = ref.specifier;
      const target = resolveSpecifier(f.path, spec);
      if (f.path.startsWith('src/wire/') && !(target !== null && under(target, WIRE_MAY_IMPORT))) {
        v(ref.line, spec, 'wire-deps', 'src/wire may import only from src/wire, src/checksum, src/ports and src/time');
      }
      if (inSrc && !under(f.path, ['src/api/', 'src/cli/']) && isNodeBuiltin(spec)) {
        v(ref.line, spec, 'no-node-builtins', 'only src/api and src/cli may import Node built-ins');
      }
      if (inSrc && target !== null && under(target, NEVER_FROM_SRC)) {
        v(ref.line, spec, 'src-no-outside', 'src/ must not import from adapters/, test/ or bench/');
      }
      if (f.path.startsWith('src/core/') && target !== null && under(target, ['src/api/', 'src/cli/'])) {
        v(ref.line, spec, 'core-no-api', 'src/core must not import src/api or src/cli');
      }
      if (f.path.startsWith('adapters/') && target !== null && under(target, ['test/', 'bench/'])) {
        v(ref.line, spec, 'adapters-no-tests', 'adapters/ must not import test/ or bench/');
      }
      if (f.path.startsWith('src/ports/') && !ref.typeOnly) {
        v(ref.line, spec, 'ports-type-only', `src/ports may only \`${ref.kind === 'export' ? 'export' : 'import'} type\``);
      }
    }
    if (f.path.startsWith('src/ports/')) {
      for (const st of runtimeStatements(f.source, f.path)) {
        if (!st.moduleRef) v(st.line, '-', 'ports-type-only', `src/ports must contain only types; found runtime code: ${st.text}`);
      }
    }
  }
  return out;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: [${v.rule}] ${v.specifier === '-' ? '' : `'${v.specifier}': `}${v.message}`;
}
