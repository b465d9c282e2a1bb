/**
 * The seed's CI job, as the benches model it: `kubectl patch svc <app>` in each region in turn,
 * with no precheck, no verify and no switch back, plus the plain `kubectl delete` a job uses to
 * remove an old version. Each call runs the real kubectl against the sandbox's kubeconfig.
 */
import { spawn } from 'node:child_process';

export interface SeedTarget {
  kubeconfigPath: string;
  namespace: string;
  app: string;
  labelKeys: { name: string; version: string };
}

/** Runs kubectl; resolves with its exit code and stderr (a failing call is the job's own failure, not the bench's). */
export function kubectl(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

export async function hasKubectl(): Promise<boolean> {
  return kubectl(['version', '--client']).then(
    (r) => r.code === 0,
    () => false,
  );
}

/** `kubectl patch svc <app> -p '{"spec":{"selector":...}}'` in one region; true when kubectl succeeded. */
export async function seedPatch(target: SeedTarget, region: string, version: string): Promise<boolean> {
  const selector = { [target.labelKeys.name]: target.app, [target.labelKeys.version]: version };
  const { code } = await kubectl(['--kubeconfig', target.kubeconfigPath, '--context', region, '-n', target.namespace, '--request-timeout=5s', 'patch', 'svc', target.app, '-p', JSON.stringify({ spec: { selector } })]);
  return code === 0;
}

/** The seed job's switch: every region in turn; a failing region stops the job (set -e), the others stay switched. */
export async function seedSwitch(target: SeedTarget, regions: readonly string[], version: string, beforeRegion?: (region: string, index: number) => void): Promise<{ switched: string[]; failedAt: string | null }> {
  const switched: string[] = [];
  for (const [index, region] of regions.entries()) {
    beforeRegion?.(region, index);
    if (!(await seedPatch(target, region, version))) return { switched, failedAt: region };
    switched.push(region);
  }
  return { switched, failedAt: null };
}

/** `kubectl delete deployment,service,ingress <app>-<version>` in every region: how a plain job removes an old version. */
export async function seedDelete(target: SeedTarget, regions: readonly string[], version: string): Promise<void> {
  const name = `${target.app}-${version}`;
  await Promise.all(
    regions.map((region) => kubectl(['--kubeconfig', target.kubeconfigPath, '--context', region, '-n', target.namespace, 'delete', '--wait=false', `deployment/${name}`, `service/${name}`, `ingress/${name}`])),
  );
}
