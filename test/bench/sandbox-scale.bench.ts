/**
 * `npm run bench:sandbox-scale`: how the sandbox's controllers scale with the number of apps in a
 * namespace. For 10 and then 200 apps (a fresh one-region sandbox each), installs every app's
 * Deployment (2 replicas) and Service one after the other through the API, and times each from
 * its first request to the moment a watch on EndpointSlices sees both pods as ready endpoints of
 * its Service. Goal: the per-app time at 200 apps about the same as at 10. Prints a human summary,
 * then the figures as JSON on the last line.
 */
import * as k8s from '@kubernetes/client-node';
import { startSandbox } from '../../src/sandbox/sandbox.js';
import { stats, type Stats } from './bench-support.js';

const namespace = 'production';
const readyDelayMs = 50;
const replicas = 2;

interface Slice {
  metadata?: { labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean } }[] | null;
}

async function measure(apps: number): Promise<{ perApp: Stats; totalSeconds: number }> {
  const sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs, proxySyncDelayMs: 50 });
  try {
    const region = sandbox.regions[0]!;
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(sandbox.kubeconfigPath);
    kc.setCurrentContext(region.name);
    const appsApi = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const waiting = new Map<string, () => void>();
    const watch = new k8s.Watch(kc);
    const stream = await watch.watch(
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      {},
      (_type: string, slice: Slice) => {
        const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
        const ready = (slice.endpoints ?? []).filter((e) => e.conditions?.ready).length;
        if (service && ready >= replicas) waiting.get(service)?.();
      },
      () => undefined,
    );
    const times: number[] = [];
    const started = performance.now();
    try {
      for (let i = 0; i < apps; i++) {
        const name = `app${String(i).padStart(3, '0')}`;
        const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/version': 'v1' };
        const t0 = performance.now();
        const ready = new Promise<void>((resolve) => waiting.set(name, resolve));
        await appsApi.createNamespacedDeployment({
          namespace,
          body: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name, labels },
            spec: {
              replicas,
              selector: { matchLabels: labels },
              template: { metadata: { labels }, spec: { containers: [{ name, image: `registry.example.com/${name}:v1`, ports: [{ name: 'http', containerPort: 8080 }] }] } },
            },
          },
        });
        await core.createNamespacedService({ namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } } });
        await ready;
        waiting.delete(name);
        times.push(performance.now() - t0);
      }
    } finally {
      (stream as { abort?: () => void }).abort?.();
    }
    return { perApp: stats(times), totalSeconds: Math.round((performance.now() - started) / 100) / 10 };
  } finally {
    await sandbox.stop();
  }
}

const small = await measure(10);
console.log(`10 apps:  install-to-endpoints per app p50 ${small.perApp.p50} ms, mean ${small.perApp.mean} ms, p99 ${small.perApp.p99} ms (${small.totalSeconds} s)`);
const large = await measure(200);
console.log(`200 apps: install-to-endpoints per app p50 ${large.perApp.p50} ms, mean ${large.perApp.mean} ms, p99 ${large.perApp.p99} ms (${large.totalSeconds} s)`);
const ratio = Math.round((large.perApp.mean / small.perApp.mean) * 100) / 100;
console.log(`per-app mean at 200 / at 10: ${ratio} (ready delay ${readyDelayMs} ms is the floor)`);
console.log(
  JSON.stringify({
    apps_10_mean_ms: small.perApp.mean,
    apps_10_p50_ms: small.perApp.p50,
    apps_200_mean_ms: large.perApp.mean,
    apps_200_p50_ms: large.perApp.p50,
    apps_200_p99_ms: large.perApp.p99,
    ratio_200_to_10: ratio,
  }),
);
