/**
 * `npm run bench`: runs every benchmark script one after the other (never in parallel: they share
 * two cores), reads the JSON each prints as its last line, writes them all to
 * test/bench/results/latest.json with the machine they ran on, compares with the previous
 * latest.json, and prints the combined JSON as its last line. A script not (yet) in package.json
 * is skipped with a line saying so. Exit code 1 when a script failed or printed no JSON.
 *
 * `npm run bench -- bench:drain check:crash` runs only the scripts named and keeps the other
 * figures of the previous latest.json (each run records when it ran), so one figure can be
 * measured again without the half hour of the whole set.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const allBenches = ['bench:sandbox', 'bench:sandbox-scale', 'bench:promote', 'bench:zero-downtime', 'bench:hazards', 'bench:e2e', 'bench:queue', 'bench:ack', 'bench:cli', 'bench:soak', 'bench:drain', 'check:faults', 'check:crash', 'check:redis-outage'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const resultsPath = path.join(root, 'test/bench/results/latest.json');

interface Run {
  status: 'ok' | 'failed' | 'skipped';
  ran_at?: string;
  exit_code: number | null;
  seconds: number;
  note?: string;
  /** When it ran, when latest.json mixes runs (`npm run bench -- <names>`). */
  date?: string;
}

interface Combined {
  date: string;
  node: string;
  platform: string;
  cores: number;
  cpu: string;
  memory_gb: number;
  runs: Record<string, Run>;
  results: Record<string, unknown>;
}

function lastJsonLine(output: string): unknown {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  try {
    return JSON.parse(last) as unknown;
  } catch {
    return undefined;
  }
}

function runScript(name: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', name], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

/** Numeric leaves of a JSON value, by dotted path. */
function numbers(value: unknown, prefix = ''): Map<string, number> {
  const found = new Map<string, number>();
  if (typeof value === 'number') found.set(prefix, value);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) for (const [p, n] of numbers(inner, prefix ? `${prefix}.${key}` : key)) found.set(p, n);
  }
  return found;
}

function compare(previous: Combined, current: Combined): string[] {
  const lines = [`comparison with the previous run (${previous.date}, node ${previous.node}, ${previous.cores} cores):`];
  for (const name of benches) {
    const result = current.results[name];
    if (result === undefined) continue;
    const before = numbers(previous.results[name]);
    if (before.size === 0) {
      lines.push(`  ${name}: no previous figures`);
      continue;
    }
    for (const [key, now] of numbers(result)) {
      if (/(^|\.)(n|mean)$/.test(key)) continue;
      const then = before.get(key);
      // Unchanged figures (mostly the bench's own settings) are noise, except a failure count that stayed 0.
      if (then === undefined || (then === now && !/failed/.test(key))) continue;
      const change = then === 0 ? (now === 0 ? '' : ' (new non-zero)') : ` (${now >= then ? '+' : ''}${(((now - then) / Math.abs(then)) * 100).toFixed(1)}%)`;
      lines.push(`  ${name} ${key}: ${then} -> ${now}${change}`);
    }
  }
  return lines;
}

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !allBenches.includes(name));
if (unknown.length > 0) {
  console.error(`not a benchmark of npm run bench: ${unknown.join(', ')} (known: ${allBenches.join(', ')})`);
  process.exit(2);
}
const benches = asked.length > 0 ? asked : allBenches;
const previous = await readFile(resultsPath, 'utf8').then(
  (text) => JSON.parse(text) as Combined,
  () => null,
);
const packageJson = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
const scripts = packageJson.scripts ?? {};
const combined: Combined = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  cores: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memory_gb: Math.round(os.totalmem() / 1e8) / 10,
  // A partial run keeps what it did not measure again.
  runs: asked.length > 0 && previous ? { ...previous.runs } : {},
  results: asked.length > 0 && previous ? { ...previous.results } : {},
};

for (const name of benches) {
  if (!scripts[name]) {
    console.log(`== ${name}: skipped, no "${name}" script in package.json yet`);
    combined.runs[name] = { status: 'skipped', exit_code: null, seconds: 0, note: 'no such script in package.json' };
    continue;
  }
  console.log(`== ${name}`);
  const started = performance.now();
  const { code, stdout } = await runScript(name);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const result = lastJsonLine(stdout);
  const ok = code === 0 && result !== undefined;
  combined.runs[name] = { status: ok ? 'ok' : 'failed', ran_at: new Date().toISOString(), exit_code: code, seconds, ...(result === undefined ? { note: 'no JSON on the last line' } : {}) };
  if (result !== undefined) combined.results[name] = result;
  console.log(`== ${name}: ${ok ? 'ok' : 'FAILED'} (exit ${code}, ${seconds} s)`);
}

console.log('');
if (previous) for (const line of compare(previous, combined)) console.log(line);
else console.log(`no previous ${path.relative(root, resultsPath)} to compare with`);
await mkdir(path.dirname(resultsPath), { recursive: true });
await writeFile(resultsPath, `${JSON.stringify(combined, null, 2)}\n`);
console.log(`written to ${path.relative(root, resultsPath)}`);
const failed = benches.filter((name) => combined.runs[name]?.status === 'failed');
if (failed.length > 0) console.log(`FAILED: ${failed.join(', ')}`);
console.log(JSON.stringify(combined));
process.exitCode = failed.length > 0 ? 1 : 0;
