import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigRegion {
  name: string;
  url: string;
  token: string;
}

/**
 * A kubeconfig with one cluster, user and context per region; the first region is current.
 * User names differ per region because client-node caches credentials by user name.
 */
export function kubeconfigYaml(regions: KubeconfigRegion[], options: { namespace?: string } = {}): string {
  if (regions.length === 0) throw new Error('kubeconfig: at least one region is needed');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: regions.map((region) => ({
      name: region.name,
      cluster: { server: region.url, 'insecure-skip-tls-verify': true },
    })),
    users: regions.map((region) => ({ name: userName(region.name), user: { token: region.token } })),
    contexts: regions.map((region) => ({
      name: region.name,
      context: { cluster: region.name, user: userName(region.name), ...(options.namespace ? { namespace: options.namespace } : {}) },
    })),
    'current-context': regions[0]!.name,
  };
  return stringify(config);
}

/** Writes kubeconfigYaml(...) to `path`, readable by the owner only (it holds tokens). */
export async function writeKubeconfig(path: string, regions: KubeconfigRegion[], options: { namespace?: string } = {}): Promise<void> {
  await writeFile(path, kubeconfigYaml(regions, options), { mode: 0o600 });
}

function userName(region: string): string {
  return `cutover-${region}`;
}
