import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The rooms of /work/shared/ARCHITECTURE.md and the README's layout, checked on every source file
 * of the project: each file belongs to a known room (an unknown folder is a failure), and every
 * import it makes (static, side-effect, dynamic, `export … from`, type-only, `require`,
 * `import x = require`, `typeof import(…)`) resolves to a room or package its room may use.
 * Imports are found with the TypeScript parser, not with regular expressions.
 */
export type Room = 'entry' | 'demo' | 'wiring' | 'jobs' | 'slack' | 'queue' | 'release' | 'kube' | 'prometheus' | 'core' | 'config' | 'observability' | 'sandbox' | 'tooling';

interface Rule {
  /** Rooms whose every file may be imported (a room may always import itself). */
  rooms: Room[];
  /** Single files of other rooms that may be imported (ARCHITECTURE: jobs use slack's reporter only). */
  files?: string[];
  /** Package names (`node:fs` also covers `node:fs/promises`); `node:*` is any builtin; 'any' is anything. */
  packages: string[] | 'any';
}

const belowEntries: Room[] = ['wiring', 'jobs', 'slack', 'queue', 'release', 'kube', 'prometheus', 'core', 'config', 'observability'];

export const rules: Record<Room, Rule> = {
  // src/bot.ts, src/cli.ts, jobs/worker.ts, bin/: process entry points, wiring only. The sandbox is
  // not below them: a production process never starts it (only the demo does).
  entry: { rooms: [...belowEntries], packages: 'any' },
  // src/demo.ts and src/demo/: the demo starts the real entry points against the sandbox.
  demo: { rooms: ['entry', ...belowEntries, 'sandbox'], packages: 'any' },
  // src/wiring/: builds what an entry point needs; it never imports an entry point.
  wiring: { rooms: belowEntries.filter((room) => room !== 'wiring'), packages: 'any' },
  jobs: { rooms: ['release', 'queue', 'config', 'core', 'observability'], files: ['src/slack/thread-reporter.ts'], packages: ['node:*', 'bullmq', 'ioredis', 'zod'] },
  slack: { rooms: ['queue', 'core', 'config', 'observability'], packages: ['node:*', '@slack/bolt', '@slack/web-api', 'bullmq', 'ioredis', 'zod'] },
  queue: { rooms: ['core', 'config', 'observability'], packages: ['node:*', 'bullmq', 'ioredis', 'zod'] },
  release: { rooms: ['core', 'kube', 'observability'], packages: ['node:http', 'node:https', 'node:timers', 'node:events', 'node:util', 'node:crypto'] },
  kube: { rooms: ['core', 'observability'], packages: ['node:*', '@kubernetes/client-node'] },
  // src/prometheus/: the only code that talks to Prometheus (its HTTP API, with the global fetch).
  // Release code asks through its MetricsSource port, which the wiring fills with this client, so
  // release never depends on it; like kube, it sits on core and observability only.
  prometheus: { rooms: ['core', 'observability'], packages: ['node:*'] },
  core: { rooms: [], packages: [] },
  config: { rooms: ['core'], packages: ['node:fs', 'node:path', 'node:util', 'zod', 'yaml', 'cron-parser'] },
  // Logs, metrics and probes: a leaf every I/O room may use; of the product it may import config only.
  observability: { rooms: ['config'], packages: ['node:*', 'pino', 'prom-client'] },
  sandbox: { rooms: [], packages: ['node:*', 'yaml', 'ws'] },
  // scripts/: build tooling (the CLI bundle); it reads the build output, never imports the product.
  tooling: { rooms: [], packages: 'any' },
};

/** Only src/kube talks to Kubernetes, whatever a room's package list says. */
const kubernetesClient = '@kubernetes/client-node';
const kubernetesRooms: Room[] = ['kube'];
/** Only src/config reads process.env; entry points hand it to the loader. */
const envRooms: Room[] = ['config', 'entry', 'demo'];

/** Folders and files that are not product code, named so that nothing else is skipped. */
const generated = new Set(['node_modules', '.git', 'dist', '.sandbox']);
const testsFolder = 'test';
const toolingFiles = new Set(['eslint.config.js', 'vitest.config.ts']);
const sourceExtension = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

/** The room of a project-relative path (posix separators), or null when it is in no room. */
export function roomOf(rel: string): Room | null {
  // dist/ holds the compiled product (dist/src, dist/jobs; dist/cli is the bundled src/cli.ts): it
  // is in the room of its source, so bin/ may import it like the source.
  const compiled = /^dist\/(src|jobs|cli)\/(.*)$/.exec(rel);
  if (compiled) return roomOf(compiled[1] === 'jobs' ? `jobs/${compiled[2]}` : `src/${compiled[2]}`);
  if (rel.startsWith('scripts/')) return 'tooling';
  if (/^src\/(bot|cli)\.ts$/.test(rel) || rel === 'jobs/worker.ts' || rel.startsWith('bin/')) return 'entry';
  if (rel === 'src/demo.ts' || rel.startsWith('src/demo/')) return 'demo';
  if (rel.startsWith('jobs/')) return 'jobs';
  const match = /^src\/(wiring|slack|queue|release|kube|prometheus|core|config|observability|sandbox)(\/|\.ts$)/.exec(rel);
  return match ? (match[1] as Room) : null;
}

/** Every source file of the project at root, by project-relative posix path, tests and tooling left out. */
export function readSources(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full).split(path.sep).join('/');
      if (statSync(full).isDirectory()) {
        if (!generated.has(name) && rel !== testsFolder) walk(full);
      } else if (sourceExtension.test(name) && !toolingFiles.has(rel)) {
        files.set(rel, readFileSync(full, 'utf8'));
      }
    }
  };
  walk(root);
  return files;
}

interface Found {
  line: number;
  /** The specifier, or null for a dynamic import whose target cannot be read from the source. */
  specifier: string | null;
}

function literalText(node: ts.Node | undefined): string | null {
  if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) return node.text;
  return null;
}

/** `new URL('../src/cli.ts', import.meta.url)` and its `.href`: how bin/ imports TypeScript files. */
function urlRelativeToModule(node: ts.Expression): string | null {
  const target = ts.isPropertyAccessExpression(node) && node.name.text === 'href' ? node.expression : node;
  if (!ts.isNewExpression(target) || !ts.isIdentifier(target.expression) || target.expression.text !== 'URL') return null;
  const [first, base] = target.arguments ?? [];
  const isImportMetaUrl =
    base !== undefined && ts.isPropertyAccessExpression(base) && base.name.text === 'url' && ts.isMetaProperty(base.expression) && base.expression.keywordToken === ts.SyntaxKind.ImportKeyword;
  return isImportMetaUrl ? literalText(first) : null;
}

function scriptKindOf(file: string): ts.ScriptKind {
  if (/\.(js|mjs|cjs)$/.test(file)) return ts.ScriptKind.JS;
  if (file.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (file.endsWith('.tsx')) return ts.ScriptKind.TSX;
  return ts.ScriptKind.TS;
}

interface Parsed {
  imports: Found[];
  /** Lines that read process.env. */
  envReads: number[];
  /** Clock reads and I/O globals, as `line: what`. */
  impurities: string[];
}

const ioCalls = new Set(['setTimeout', 'setInterval', 'setImmediate', 'fetch']);
const ioObjects = new Set(['process', 'performance', 'console', 'globalThis']);

const parsedCache = new Map<string, Parsed>();

function parse(file: string, text: string): Parsed {
  const key = `${file}\0${text}`;
  const cached = parsedCache.get(key);
  if (cached) return cached;
  const parsed = parseUncached(file, text);
  parsedCache.set(key, parsed);
  return parsed;
}

function parseUncached(file: string, text: string): Parsed {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, scriptKindOf(file));
  const parsed: Parsed = { imports: [], envReads: [], impurities: [] };
  const lineOf = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      parsed.imports.push({ line: lineOf(node), specifier: literalText(node.moduleSpecifier) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      parsed.imports.push({ line: lineOf(node), specifier: literalText(node.moduleReference.expression) });
    } else if (ts.isImportTypeNode(node)) {
      const argument = ts.isLiteralTypeNode(node.argument) ? node.argument.literal : undefined;
      parsed.imports.push({ line: lineOf(node), specifier: literalText(argument) });
    } else if (ts.isCallExpression(node)) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isImport || isRequire) {
        const argument = node.arguments[0];
        const specifier = literalText(argument) ?? (argument ? urlRelativeToModule(argument) : null);
        parsed.imports.push({ line: lineOf(node), specifier });
      }
      if (ts.isIdentifier(node.expression) && ioCalls.has(node.expression.text)) parsed.impurities.push(`${lineOf(node)}: ${node.expression.text}()`);
      if (ts.isIdentifier(node.expression) && node.expression.text === 'Date') parsed.impurities.push(`${lineOf(node)}: Date()`);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date' && (node.arguments?.length ?? 0) === 0) {
      parsed.impurities.push(`${lineOf(node)}: new Date()`);
    } else if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const object = node.expression;
      const member = ts.isPropertyAccessExpression(node) ? node.name.text : literalText(node.argumentExpression);
      if (ts.isIdentifier(object)) {
        if (object.text === 'process' && member === 'env') parsed.envReads.push(lineOf(node));
        if (ioObjects.has(object.text) || (object.text === 'Date' && member === 'now') || (object.text === 'Math' && member === 'random')) {
          parsed.impurities.push(`${lineOf(node)}: ${object.text}.${member ?? '[…]'}`);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return parsed;
}

/** The package a bare specifier names: `@scope/name`, `name`, or `node:module` (subpaths dropped). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function packageAllowed(rule: Rule, name: string): boolean {
  if (rule.packages === 'any') return true;
  return rule.packages.includes(name) || (name.startsWith('node:') && rule.packages.includes('node:*'));
}

/** The project-relative file an import names, TypeScript-style (`./x.js` is `./x.ts`), or null outside the project. */
function resolveRelative(from: string, specifier: string): string | null {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  if (joined.startsWith('../') || joined === '..') return null;
  return joined.replace(/\.(m|c)?js$/, '.$1ts');
}

/** Every broken rule in the given sources (project-relative posix path → text), one line each. */
export function roomViolations(files: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const room = roomOf(file);
    if (!room) {
      problems.push(`${file}: in no room (an unknown folder or file: add it to the rooms of test/architecture/rooms.ts)`);
      continue;
    }
    const rule = rules[room];
    const parsed = parse(file, text);
    for (const { line, specifier } of parsed.imports) {
      const where = `${file}:${line}`;
      if (specifier === null) {
        problems.push(`${where}: ${room} has an import whose target the check cannot read (use a string literal)`);
      } else if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        const targetRoom = target === null ? null : (roomOf(target) ?? roomOf(`${target}/index.ts`));
        if (targetRoom === null) problems.push(`${where}: ${room} imports ${specifier}, which is in no room`);
        else if (targetRoom !== room && !rule.rooms.includes(targetRoom) && !(rule.files ?? []).includes(target!)) {
          problems.push(`${where}: ${room} imports ${targetRoom} (${specifier})`);
        }
      } else if (specifier.startsWith('/') || /^[a-z]+:\/\//i.test(specifier) || specifier.startsWith('file:')) {
        problems.push(`${where}: ${room} imports by absolute path or URL (${specifier})`);
      } else {
        const name = packageOf(specifier);
        if (!packageAllowed(rule, name) || (name === kubernetesClient && !kubernetesRooms.includes(room))) {
          problems.push(`${where}: ${room} imports package ${specifier}`);
        }
      }
    }
    if (!envRooms.includes(room)) for (const line of parsed.envReads) problems.push(`${file}:${line}: ${room} reads process.env (only src/config does)`);
    if (room === 'core') for (const impurity of parsed.impurities) problems.push(`${file}:${impurity} in core (no I/O, no clock reads: time is passed in)`);
  }
  return problems;
}
