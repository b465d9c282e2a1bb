/**
 * `npm run bench:cli`: how long the `cutover` CLI takes from process start to exit, cold (a new
 * node process every run), for `cutover --help` and `cutover status shop` against a two-region
 * sandbox (one version deployed and live, so status reads Services, Deployments and routes):
 *   bin        `node bin/cutover.js ...` on a fresh `npm run build`: the CLI bundle in dist/cli/
 *              (what `npx cutover`, CI pipelines and the image run)
 *   unbundled  `node dist/src/cli.js ...`: tsc's output, one file per module
 *   tsx        `node --import tsx src/cli.ts ...`: the sources compiled at every start, as before dist/
 * Goals (issue 16 / 15.8): --help p99 < 300 ms, status p99 < 800 ms, for bin.
 * Wall times include whatever else the machine runs: its load averages (1, 5, 15 min) go with them.
 * Last line: {"runs":10,"load_average_at_start":[..],"bin":{"help_ms":{..},"status_ms":{..}},"unbundled":{..},"tsx":{..},"goals_ms":{..},"goals_met":{..}}
 */
import { execFile, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { formatStats, numberArg, prepare, printResult, startReleaseWorld, stats, type Stats } from './bench-support.js';

const runs = numberArg('runs', 10);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const goals = { help_p99_ms: 300, status_p99_ms: 800 };

const modes = {
  bin: [path.join(root, 'bin/cutover.js')],
  unbundled: [path.join(root, 'dist/src/cli.js')],
  tsx: ['--import', 'tsx', path.join(root, 'src/cli.ts')],
} as const;

/** One cold start: spawn to exit, in ms; throws on a non-zero exit or unexpected output. */
function timedRun(args: readonly string[], env: NodeJS.ProcessEnv, expect: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0 || !expect.test(output)) reject(new Error(`${args.join(' ')}: exit ${code}\n${output}`));
      else resolve(ms);
    });
  });
}

console.log('building dist/ (npm run build) so it matches the sources');
await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { cwd: root });

const world = await startReleaseWorld({ sandbox: { regions: ['eu-west', 'us-east'], readyDelayMs: 50 } });
try {
  await prepare(world, ['v1']);
  const env = { ...process.env, CUTOVER_CONFIG: world.configPath };
  // Other work on the machine stretches wall times: the load averages go with the figures.
  const result: Record<string, unknown> = { runs, load_average_at_start: os.loadavg().map((l) => Math.round(l * 10) / 10) };
  const figures: Record<string, { help_ms: Stats; status_ms: Stats }> = {};
  for (const [mode, args] of Object.entries(modes)) {
    const help: number[] = [];
    const status: number[] = [];
    for (let i = 0; i < runs; i++) {
      help.push(await timedRun([...args, '--help'], env, /usage: cutover/));
      status.push(await timedRun([...args, 'status', 'shop'], env, /us-east: live v1/));
    }
    figures[mode] = { help_ms: stats(help), status_ms: stats(status) };
    console.log(formatStats(`${mode}: cutover --help`, figures[mode].help_ms));
    console.log(formatStats(`${mode}: cutover status shop`, figures[mode].status_ms));
  }
  const bin = figures.bin!;
  const met = { help: bin.help_ms.p99 < goals.help_p99_ms, status: bin.status_ms.p99 < goals.status_p99_ms };
  console.log(`goals (bin, p99): --help < ${goals.help_p99_ms} ms ${met.help ? 'met' : 'NOT met'}; status < ${goals.status_p99_ms} ms ${met.status ? 'met' : 'NOT met'}`);
  Object.assign(result, figures, { goals_ms: goals, goals_met: met, load_average_at_end: os.loadavg().map((l) => Math.round(l * 10) / 10) });
  printResult(result);
} finally {
  await world.stop();
}
