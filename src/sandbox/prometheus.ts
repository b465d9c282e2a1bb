import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './free-port.js';

/**
 * A real Prometheus (the `prometheus` binary on PATH: Debian's package, `apt-get install
 * prometheus`) scraping the sandbox's ingress metrics, for the demo, the tests and the benchmarks:
 * a generated config with a short scrape interval, its data in a fresh temp dir, a free port on
 * 127.0.0.1, stopped and removed by `stop()`. Nothing here evaluates PromQL: Prometheus does.
 */

export interface ScrapeTarget {
  /** The metrics URL, e.g. a region's `ingressMetricsUrl` (`http://127.0.0.1:10254/metrics`). */
  url: string;
  /** Labels Prometheus adds to every series of this target, e.g. `{ region: 'eu-west' }`. */
  labels: Record<string, string>;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  /** Scrape (and rule evaluation) interval; default 1000 ms. */
  scrapeIntervalMs?: number;
  /** The binary; default `prometheus` from PATH. */
  binary?: string;
  /** How long to wait for it to answer /-/ready; default 30 s. */
  startTimeoutMs?: number;
}

export interface RunningPrometheus {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:39123` (`/api/v1/query` below it). */
  url: string;
  /** Its version, as `prometheus --version` prints it. */
  version: string;
  /** Resolves once every target was scraped successfully (`up == 1`), or rejects after `timeoutMs`. */
  waitForTargets(timeoutMs?: number): Promise<void>;
  /** Stop the process (SIGTERM, then SIGKILL) and remove its data. Safe to call twice. */
  stop(): Promise<void>;
}

const defaultBinary = 'prometheus';

/**
 * Why a Prometheus cannot be started here (one line), or null when the binary runs. The demo,
 * the tests and the benchmarks say this line and turn the metrics features off.
 */
export async function prometheusUnavailable(binary = defaultBinary): Promise<string | null> {
  const version = await prometheusVersion(binary).catch((error: NodeJS.ErrnoException) => error);
  if (!(version instanceof Error)) return null;
  if (version.code === 'ENOENT') return `${binary} is not installed (apt-get install prometheus; .ci/run installs it)`;
  return `${binary} does not run: ${version.message}`;
}

/** Start Prometheus; rejects with its own output when it does not come up. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = options.binary ?? defaultBinary;
  const version = await prometheusVersion(binary);
  const dir = await mkdtemp(path.join(tmpdir(), 'cutover-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(options));
  // A free port can be taken between the probe and Prometheus' bind: try another one then.
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const started = await launch(binary, configFile, dir, port, options.startTimeoutMs ?? 30_000).catch((error: Error) => error);
    if (!(started instanceof Error)) return running(started, `http://127.0.0.1:${port}`, version, dir, options.targets.length);
    lastError = started;
    if (!/address already in use/i.test(started.message)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('prometheus did not start');
}

/** The generated prometheus.yml: one job, one static target per scrape target, with its labels. */
export function prometheusConfig(options: Pick<PrometheusOptions, 'targets' | 'scrapeIntervalMs'>): string {
  const interval = `${options.scrapeIntervalMs ?? 1000}ms`;
  return stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: [
      {
        job_name: 'ingress-nginx',
        static_configs: options.targets.map((target) => {
          const url = new URL(target.url);
          return { targets: [url.host], labels: { ...target.labels, __metrics_path__: url.pathname || '/metrics', __scheme__: url.protocol.replace(':', '') } };
        }),
      },
    ],
  });
}

function prometheusVersion(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const version = /version (\S+)/.exec(output)?.[1];
      if (code === 0 && version) resolve(version);
      else reject(new Error(`${binary} --version exited with ${code}: ${output.trim().split('\n')[0] ?? ''}`));
    });
  });
}

async function launch(binary: string, configFile: string, dir: string, port: number, timeoutMs: number): Promise<ChildProcess> {
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1d',
    '--log.level=warn',
  ];
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<Error>((resolve) => {
    child.once('exit', (code, signal) => resolve(new Error(`prometheus exited (${signal ?? code}) before it was ready: ${output.trim()}`)));
    child.once('error', (error) => resolve(error));
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await Promise.race([exited, ready(`http://127.0.0.1:${port}/-/ready`).then((ok) => ok)]);
    if (outcome instanceof Error) throw outcome;
    if (outcome) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus did not answer /-/ready within ${timeoutMs} ms: ${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await answer.arrayBuffer();
    return answer.ok;
  } catch {
    return false;
  }
}

function running(child: ChildProcess, url: string, version: string, dir: string, targets: number): RunningPrometheus {
  let stopping: Promise<void> | undefined;
  return {
    url,
    version,
    async waitForTargets(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer';
      while (Date.now() < deadline) {
        try {
          const answer = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('up')}`, { signal: AbortSignal.timeout(2000) });
          const body = (await answer.json()) as { data?: { result?: { value: [number, string] }[] } };
          const up = body.data?.result ?? [];
          last = `${up.filter((s) => s.value[1] === '1').length} of ${targets} targets up`;
          if (up.length >= targets && up.every((s) => s.value[1] === '1')) return;
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`prometheus at ${url} did not scrape every target within ${timeoutMs} ms: ${last}`);
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
