import type { AppConfig, EnvironmentConfig, Policy, RegionConfig } from '../config/index.js';
import { toAppSpec } from '../config/index.js';
import type { AppSpec } from '../core/model.js';
import type { Cluster } from '../kube/cluster.js';
import { KubeCluster } from '../kube/kube-cluster.js';
import { loadKubeConfig } from '../kube/load-kubeconfig.js';
import { ingressSampler, serviceProxySampler } from '../release/live-probe.js';
import type { ReleaseEnvironment } from '../release/release.js';
import type { RunnerPolicy } from '../release/runner.js';

/**
 * Builds the clusters of an environment once per process: a KubeConfig per region, its context
 * selected. Shared by the CLI, the worker and the bot.
 */
export class ClusterDirectory {
  private readonly clusters = new Map<string, Cluster>();

  constructor(private readonly make: (region: RegionConfig) => Cluster = defaultCluster) {}

  cluster(region: RegionConfig): Cluster {
    const key = `${region.kubeconfig ?? '(in-cluster)'}|${region.context ?? ''}|${region.namespace}|${region.name}`;
    let cluster = this.clusters.get(key);
    if (!cluster) {
      cluster = this.make(region);
      this.clusters.set(key, cluster);
    }
    return cluster;
  }

  environment(environment: EnvironmentConfig, app: AppConfig): { env: ReleaseEnvironment; app: AppSpec } {
    const spec = toAppSpec(app);
    // When the app's routes match by host, samples must carry one of its hosts to reach it.
    const appHost = spec.hosts.find((host) => !host.startsWith('*.'));
    return {
      app: spec,
      env: {
        name: environment.name,
        policy: { ...environment.policy, ...runnerPolicy(environment.policy) },
        regions: environment.regions.map((region) => {
          const cluster = this.cluster(region);
          const via = environment.policy.verify.via ?? (region.liveUrl !== undefined ? 'ingress' : 'service-proxy');
          const sampler =
            via === 'endpoints'
              ? null
              : via === 'ingress' && region.liveUrl !== undefined
                ? ingressSampler({ url: region.liveUrl, host: appHost ?? region.liveHost, versionHeader: spec.versionHeader })
                : serviceProxySampler(cluster, spec.versionHeader);
          return { name: region.name, target: { cluster, sampler } };
        }),
      },
    };
  }
}

function defaultCluster(region: RegionConfig): Cluster {
  const source = { ...(region.kubeconfig ? { path: region.kubeconfig } : {}), ...(region.context ? { context: region.context } : {}) };
  return new KubeCluster({ region: region.name, namespace: region.namespace, kubeconfig: loadKubeConfig(source) });
}

export function runnerPolicy(policy: Policy): RunnerPolicy {
  return {
    readyTimeoutMs: policy.readyTimeoutSeconds * 1000,
    verifyTimeoutMs: policy.verifyTimeoutSeconds * 1000,
    healthSamples: policy.healthSamples,
    minReadyReplicas: policy.minReadyReplicas,
    autoRollback: policy.autoRollback,
    onRegionUnreachable: policy.onRegionUnreachable,
  };
}
