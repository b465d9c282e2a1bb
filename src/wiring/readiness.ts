import type { Config, RegionConfig } from '../config/index.js';
import type { ReadinessCheck } from '../observability/readiness.js';
import type { ClusterDirectory } from './release-environment.js';

/**
 * One readiness check per distinct cluster the config names (GET /version, no retries). A region
 * whose kubeconfig cannot be loaded fails its check rather than the process.
 */
export function regionReadiness(config: Config, clusters: ClusterDirectory, timeoutMs = 2_000): ReadinessCheck[] {
  const byCluster = new Map<string, { names: string[]; region: RegionConfig }>();
  for (const environment of Object.values(config.environments)) {
    for (const region of environment.regions) {
      const key = `${region.kubeconfig ?? '(in-cluster)'}|${region.context ?? ''}`;
      const entry = byCluster.get(key);
      if (!entry) byCluster.set(key, { names: [region.name], region });
      else if (!entry.names.includes(region.name)) entry.names.push(region.name);
    }
  }
  return [...byCluster.values()].map(({ names, region }) => ({
    name: `region ${names.join(', ')}`,
    check: () => clusters.cluster(region).ping({ timeoutMs }),
  }));
}
