/**
 * The memory budget the deploy/ manifests and the Dockerfile declare for the two processes: each
 * container's memory limit and the V8 old-space cap in its NODE_OPTIONS. Read by the memory budget
 * test (test/deploy/memory-budget.test.ts) and by `npm run bench:soak`, which runs the processes
 * with exactly these NODE_OPTIONS and prints their peak RSS as a fraction of these limits.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { readManifests } from './apply-manifests.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export type ProcessName = 'web' | 'worker';

export interface ProcessBudget {
  process: ProcessName;
  /** resources.limits.memory in MiB. */
  limitMiB: number;
  /** resources.requests.memory in MiB. */
  requestMiB: number | null;
  /** The container's NODE_OPTIONS value (null: not set). */
  nodeOptions: string | null;
  /** --max-old-space-size from NODE_OPTIONS, in MiB (null: not set, V8 picks from the machine). */
  heapMiB: number | null;
}

/** Kubernetes memory quantity ("384Mi", "1Gi", "512M", "268435456") in MiB. */
export function quantityMiB(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (!match) throw new Error(`not a memory quantity: "${quantity}"`);
  const factor: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return (Number(match[1]) * factor[match[2] ?? '']!) / 1024 ** 2;
}

/** --max-old-space-size=N (or `--max-old-space-size N`) from a NODE_OPTIONS value; the last one wins, as in Node. */
export function heapCapMiB(nodeOptions: string | null): number | null {
  if (nodeOptions === null) return null;
  const found = [...nodeOptions.matchAll(/--max[-_]old[-_]space[-_]size[= ](\d+)/g)];
  return found.length > 0 ? Number(found.at(-1)![1]) : null;
}

const deployments: Record<ProcessName, { file: string; name: string }> = {
  web: { file: 'deploy/web.yaml', name: 'cutover-web' },
  worker: { file: 'deploy/worker.yaml', name: 'cutover-worker' },
};

export async function processContainer(process: ProcessName, root = repoRoot): Promise<V1Container> {
  const { file, name } = deployments[process];
  const objects = await readManifests(join(root, file));
  const deployment = objects.find((o): o is V1Deployment => o.kind === 'Deployment' && o.metadata?.name === name);
  if (!deployment) throw new Error(`${file} has no Deployment ${name}`);
  return deployment.spec!.template.spec!.containers[0]!;
}

/** The budget deploy/<process>.yaml declares. */
export async function processBudget(process: ProcessName, root = repoRoot): Promise<ProcessBudget> {
  const container = await processContainer(process, root);
  const limit = container.resources?.limits?.memory;
  if (limit === undefined) throw new Error(`deploy/${process}.yaml: the container has no memory limit`);
  const request = container.resources?.requests?.memory;
  const env = (container.env ?? []).find((e) => e.name === 'NODE_OPTIONS');
  const nodeOptions = env?.value ?? null;
  return { process, limitMiB: quantityMiB(String(limit)), requestMiB: request === undefined ? null : quantityMiB(String(request)), nodeOptions, heapMiB: heapCapMiB(nodeOptions) };
}

/** The NODE_OPTIONS the Dockerfile's runtime stage sets with ENV (null: none). */
export async function dockerfileNodeOptions(root = repoRoot): Promise<string | null> {
  const text = await readFile(join(root, 'Dockerfile'), 'utf8');
  // Join continuation lines, keep the last stage (the runtime image).
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const lastFrom = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).at(-1) ?? 0;
  let value: string | null = null;
  for (const line of lines.slice(lastFrom)) {
    if (!/^ENV\s/i.test(line)) continue;
    const match = /\bNODE_OPTIONS=("([^"]*)"|(\S+))/.exec(line) ?? /^ENV\s+NODE_OPTIONS\s+(.+)$/i.exec(line);
    if (match) value = match[2] ?? match[3] ?? match[1]!.replace(/^"|"$/g, '');
  }
  return value;
}
