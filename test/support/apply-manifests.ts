import { readFile } from 'node:fs/promises';
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** Every non-empty document of a multi-document YAML file, as plain objects. */
export async function readManifests(path: string | URL): Promise<KubernetesObject[]> {
  const text = await readFile(path, 'utf8');
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((doc): doc is KubernetesObject => doc !== null && typeof doc === 'object');
}

/**
 * Server-side applies each object through the real client (discovery, then PATCH with
 * application/apply-patch+yaml), as `kubectl apply --server-side` does. `dryRun: true` sends
 * dryRun=All: the server validates and answers, nothing is stored.
 */
export async function applyManifests(kubeconfig: KubeConfig, objects: KubernetesObject[], options: { dryRun?: boolean } = {}): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(kubeconfig);
  const applied: KubernetesObject[] = [];
  for (const object of objects) {
    applied.push(await client.patch(object, undefined, options.dryRun ? 'All' : undefined, 'cutover-test', true, PatchStrategy.ServerSideApply));
  }
  return applied;
}
