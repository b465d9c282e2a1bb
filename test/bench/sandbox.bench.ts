/**
 * `npm run bench:sandbox`: keep-alive HTTP throughput and latency through one region's ingress
 * to a 2-replica Deployment. Prints a human summary, then the figures as JSON on the last line.
 */
import * as k8s from '@kubernetes/client-node';
import { startSandbox } from '../../src/sandbox/sandbox.js';
import { runLoad } from './http-load.js';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const namespace = 'production';

const sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 50 });
try {
  const region = sandbox.regions[0]!;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(sandbox.kubeconfigPath);
  kc.setCurrentContext(region.name);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const networking = kc.makeApiClient(k8s.NetworkingV1Api);
  const labels = { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v1' };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop-v1', labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'shop', image: 'registry.example.com/shop:v1', ports: [{ containerPort: 8080 }] }] } },
      },
    },
  });
  await core.createNamespacedService({ namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } } });
  await networking.createNamespacedIngress({
    namespace,
    body: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'shop' },
      spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }] },
    },
  });
  const url = `${region.ingressUrl}/`;
  for (const deadline = Date.now() + 15_000; ; ) {
    const answer = await fetch(url).catch(() => undefined);
    const served = answer?.status === 200;
    await answer?.arrayBuffer();
    if (served) {
      const d = await apps.readNamespacedDeployment({ namespace, name: 'shop-v1' });
      if (d.status?.readyReplicas === 2) break;
    }
    if (Date.now() > deadline) throw new Error('the ingress never served the deployment');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Warm up connections and the JIT before measuring.
  await runLoad({ url, durationMs: 1000, concurrency });
  const result = await runLoad({ url, durationMs, concurrency });
  console.log(`ingress ${url}: ${concurrency} keep-alive connections for ${durationMs / 1000} s`);
  console.log(`statuses ${JSON.stringify(result.statuses)}, versions ${JSON.stringify(result.versions)}`);
  console.log(JSON.stringify({ rps: result.rps, p50_ms: result.p50_ms, p99_ms: result.p99_ms, requests: result.requests, failed: result.failed }));
} finally {
  await sandbox.stop();
}
