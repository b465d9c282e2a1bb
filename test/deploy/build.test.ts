/**
 * The build production runs: `tsc -p tsconfig.build.json` (what `npm run build` and the
 * Dockerfile's build stage run) into a fresh directory inside the project, so that packages resolve
 * from the project's node_modules as they do from dist/, then plain `node` on the output: no tsx,
 * no sources beside it. Built once for the whole file. bin/cutover.js runs the CLI bundle
 * (dist/cli/); the web and worker processes run tsc's output.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxEnv } from '../support/sandbox-env.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let out: string;

beforeAll(async () => {
  out = await mkdtemp(join(root, '.build-test-'));
  // The two steps of `npm run build`, into out/dist.
  for (const step of [
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(out, 'dist')],
    [join(root, 'scripts/bundle-cli.mjs'), join(out, 'dist')],
  ]) {
    const result = await node(step, {}, 240_000);
    if (result.code !== 0) throw new Error(`the build failed:\n${result.stdout}${result.stderr}`);
  }
  // bin/cutover.js beside the build, as in the image: there is no src/ next to it to fall back to.
  await mkdir(join(out, 'bin'));
  await copyFile(join(root, 'bin/cutover.js'), join(out, 'bin/cutover.js'));
}, 300_000);
afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

function node(args: string[], env: Record<string, string> = {}, timeout = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // NODE_OPTIONS cleared: vitest's own loader hooks must not help the child.
    execFile(process.execPath, args, { cwd: out, env: { ...process.env, NODE_OPTIONS: '', ...env }, timeout }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('the build, run with plain node', () => {
  it('`cutover --help` prints the usage and exits 0', async () => {
    const result = await node([join(out, 'bin/cutover.js'), '--help']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^usage: cutover <bootstrap\|deploy\|promote\|rollback\|status\|cleanup>/);
    expect(result.code).toBe(0);
  });

  it('`cutover --help` and a bad argument load none of the packages a command needs (tsc output: lazy imports)', async () => {
    const heavy = ['@kubernetes/client-node', 'bullmq', 'ioredis', 'zod', 'yaml', 'cron-parser', 'pino', '@slack/bolt'];
    await writeFile(join(out, 'refuse-heavy-hooks.mjs'), `const heavy = ${JSON.stringify(heavy)};
export async function resolve(specifier, context, next) {
  if (heavy.some((name) => specifier === name || specifier.startsWith(name + '/'))) throw new Error('loaded ' + specifier);
  return next(specifier, context);
}
`);
    await writeFile(join(out, 'refuse-heavy.mjs'), "import { register } from 'node:module';\nregister('./refuse-heavy-hooks.mjs', import.meta.url);\n");
    const cli = join(out, 'dist/src/cli.js');
    const help = await node(['--import', join(out, 'refuse-heavy.mjs'), cli, '--help']);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    const bad = await node(['--import', join(out, 'refuse-heavy.mjs'), cli, 'launch']);
    expect(bad.stderr).toBe('cutover: unknown command "launch"\nrun `cutover --help` for usage\n');
    expect(bad.code).toBe(2);
    // The hook does refuse them: a command that needs the config loader fails with it.
    const status = await node(['--import', join(out, 'refuse-heavy.mjs'), cli, 'status']);
    expect(status.stderr).toMatch(/loaded (zod|yaml|cron-parser)/);
  });

  it('the CLI bundle keeps the command modules in chunks `--help` does not load', async () => {
    const loadedLog = join(out, 'loaded.log');
    await writeFile(join(out, 'record-hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(loadedLog)}, url + '\\n');
  return next(url, context);
}
`);
    await writeFile(join(out, 'record.mjs'), "import { register } from 'node:module';\nregister('./record-hooks.mjs', import.meta.url);\n");
    const bundle = join(out, 'dist/cli');
    const bytesLoaded = async (args: string[]): Promise<number> => {
      await writeFile(loadedLog, '');
      await node(['--import', join(out, 'record.mjs'), join(out, 'bin/cutover.js'), ...args]);
      const files = (await readFile(loadedLog, 'utf8')).split('\n').filter((url) => url.startsWith(pathToFileURL(bundle).href));
      const sizes = await Promise.all(files.map(async (url) => (await stat(fileURLToPath(url))).size));
      return sizes.reduce((a, b) => a + b, 0);
    };
    const all = (await Promise.all((await readdir(bundle)).map(async (f) => (await stat(join(bundle, f))).size))).reduce((a, b) => a + b, 0);
    const help = await bytesLoaded(['--help']);
    const status = await bytesLoaded(['status', '--config', join(out, 'missing.yaml')]);
    expect(help).toBeGreaterThan(0);
    expect(help * 20).toBeLessThan(all);
    expect(status).toBeGreaterThan(help);
  });

  it('`cutover status` from the bundle reads a sandbox cluster through the bundled client-node', async () => {
    const world = await startSandboxEnv({ sandbox: { regions: ['eu-west'] } });
    try {
      const result = await node([join(out, 'bin/cutover.js'), 'status', 'shop', '--json'], { CUTOVER_CONFIG: world.configPath });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({ app: 'shop', environment: 'production', regions: [expect.objectContaining({ region: 'eu-west', live: null, versions: [] })], freezes: [], stops: [] });
    } finally {
      await world.stop();
    }
  });

  it('`cutover status` with a config that does not exist says so in one line and exits 2', async () => {
    const result = await node([join(out, 'bin/cutover.js'), 'status', '--config', join(out, 'missing.yaml')]);
    expect(result.stderr.trim().split('\n')).toEqual([`${join(out, 'missing.yaml')}: file not found (pass --config <file> or set CUTOVER_CONFIG)`]);
    expect(result.code).toBe(2);
  });

  it('bin/cutover.js never runs a dist/ older than a source file beside it; with no sources to run instead it says to build, exit 2', async () => {
    await mkdir(join(out, 'src'));
    await writeFile(join(out, 'src/edited.ts'), 'export {};\n');
    try {
      const result = await node([join(out, 'bin/cutover.js'), '--help']);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^cutover: dist\/ is missing or older than the sources.*run `npm run build`\n$/);
      expect(result.code).toBe(2);
    } finally {
      await rm(join(out, 'src'), { recursive: true });
    }
  });

  it.each([
    ['worker', 'dist/jobs/worker.js'],
    ['web', 'dist/src/bot.js'],
  ])('the %s process (Procfile) stops at start with one line naming the missing config, exit 2', async (_name, entry) => {
    const result = await node([join(out, entry)], { CUTOVER_CONFIG: '/nonexistent/cutover.yaml' });
    expect(result.stderr).toBe('/nonexistent/cutover.yaml: file not found (pass --config <file> or set CUTOVER_CONFIG)\n');
    expect(result.code).toBe(2);
  });

  it('imports no devDependency (tsx, TypeScript, vitest) from any entry point: the image installs none', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const packages = await packagesImportedFrom([join(out, 'dist/src/bot.js'), join(out, 'dist/jobs/worker.js'), join(out, 'dist/src/cli.js')]);
    expect(packages.size).toBeGreaterThan(5);
    expect([...packages].filter((name) => !(name in manifest.dependencies))).toEqual([]);
  });
});

const importPattern = /(?:^|[\s;}])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;}])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every package reachable through static and literal dynamic imports, following relative ones. */
async function packagesImportedFrom(entries: string[]): Promise<Set<string>> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      }
    }
  }
  return packages;
}
