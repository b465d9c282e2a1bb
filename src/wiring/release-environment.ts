import type { AppConfig, EnvironmentConfig, Policy, RegionConfig } from '../config/index.js';
import { toAppSpec } from '../config/index.js';
import type { AppSpec } from '../core/model.js';
import type { Cluster } from '../kube/cluster.js';
import { KubeCluster } from '../kube/kube-cluster.js';
import { loadKubeConfig } from '../kube/load-kubeconfig.js';
import { PrometheusClient } from '../prometheus/client.js';
import type { MetricsSource } from '../release/metrics.js';
import { ingressSampler, serviceProxySampler } from '../release/live-probe.js';
import type { ReleaseEnvironment } from '../release/release.js';
import type { RunnerPolicy } from '../release/runner.js';

/**
 * Builds the clusters of an environment once per process: a KubeConfig per region, its context
 * selected. Shared by the CLI, the worker and the bot.
 */
export class ClusterDirectory {
  private readonly clusters = new Map<string, Cluster>();
  private readonly prometheus = new Map<string, MetricsSource>();

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

  /** The Prometheus a region's gates and idle checks ask: its own, else the environment's; null: none. */
  metrics(region: RegionConfig, environment: EnvironmentConfig): MetricsSource | null {
    const settings = region.prometheus ?? environment.prometheus;
    if (!settings) return null;
    const key = `${settings.url}|${settings.timeoutSeconds}`;
    let client = this.prometheus.get(key);
    if (!client) {
      client = new PrometheusClient({ url: settings.url, timeoutMs: settings.timeoutSeconds * 1000 });
      this.prometheus.set(key, client);
    }
    return client;
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
          return { name: region.name, target: { cluster, sampler, metrics: this.metrics(region, environment) } };
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
    gates: policy.gates,
    gateIntervalMs: policy.gateIntervalSeconds * 1000,
    idle: policy.retention.idle,
  };
}
