import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { findApp, findEnvironment } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { AppSpec } from '../../src/core/model.js';
import type { Action } from '../../src/core/plan.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease, type ReleaseEnvironment } from '../../src/release/release.js';
import { startSandboxEnv, type SandboxEnv, type SandboxEnvOptions } from '../support/sandbox-env.js';

/** `--name 20` or `--name=20` from the command line, else the fallback. */
export function numberArg(name: string, fallback: number): number {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const raw = arg === `--${name}` ? argv[i + 1] : arg.startsWith(`--${name}=`) ? arg.slice(name.length + 3) : undefined;
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
    return value;
  }
  return fallback;
}

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (n: number): number => Math.round(n * 10) / 10;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0), mean: round(sorted.length ? sum / sorted.length : 0) };
}

export function formatStats(label: string, s: Stats): string {
  return `${label.padEnd(44)} p50 ${s.p50.toFixed(1).padStart(7)} ms   p99 ${s.p99.toFixed(1).padStart(7)} ms   max ${s.max.toFixed(1).padStart(7)} ms   (n=${s.n})`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A two-region sandbox plus the product's release entry point, driven through a config file as a user would. */
export interface ReleaseWorld {
  /** The two sandbox regions. */
  sandbox: SandboxEnv['sandbox'];
  /** The config file the world's releases read, as a user's would. */
  configPath: string;
  env: ReleaseEnvironment;
  app: AppSpec;
  release(action: Action, version: string | null, onEvent?: (event: ProgressEvent) => void): Promise<ReleaseResult>;
  api(region: string): { core: CoreV1Api; apps: AppsV1Api };
  stop(): Promise<void>;
}

export async function startReleaseWorld(options: SandboxEnvOptions): Promise<ReleaseWorld> {
  const world = await startSandboxEnv(options);
  const { env, app } = world.clusters.environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
  const apis = new Map<string, { core: CoreV1Api; apps: AppsV1Api }>();
  return {
    sandbox: world.sandbox,
    configPath: world.configPath,
    env,
    app,
    release: (action, version, onEvent) => executeRelease({ action, app, version, actor: 'bench' }, env, { reporter: { report: (event) => onEvent?.(event) } }),
    api(region) {
      let api = apis.get(region);
      if (!api) {
        const kubeconfig = loadKubeConfig({ path: world.sandbox.kubeconfigPath, context: region });
        api = { core: kubeconfig.makeApiClient(CoreV1Api), apps: kubeconfig.makeApiClient(AppsV1Api) };
        apis.set(region, api);
      }
      return api;
    },
    stop: () => world.stop(),
  };
}

/** Deploy the versions, bootstrap the live Service on the first one: the state every bench starts from. */
export async function prepare(world: ReleaseWorld, versions: readonly string[]): Promise<void> {
  for (const version of versions) await mustSucceed(world.release('deploy', version), `deploy ${version}`);
  await mustSucceed(world.release('bootstrap', versions[0]!), `bootstrap ${versions[0]}`);
}

export async function mustSucceed(pending: Promise<ReleaseResult>, what: string): Promise<ReleaseResult> {
  const result = await pending;
  if (result.outcome !== 'succeeded') throw new Error(`${what}: ${result.outcome}: ${result.reasons.join('; ')}`);
  return result;
}

/** The bench's figures as the last line of output, the contract `npm run bench` reads. */
export function printResult(result: unknown): void {
  console.log(JSON.stringify(result));
}

/** Runs a bench's `main` and exits with its code; an error is printed with its stack and exits 1. */
export function exitWith(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
}
