/**
 * Conformance of the Kubernetes adapter (src/kube/kube-cluster.ts) to the Cluster port.
 *
 * Default: against a one-region sandbox started here (npx vitest run test/kube/conformance.test.ts).
 *
 * Against a real cluster:
 *   CUTOVER_CONFORMANCE_KUBECONFIG=~/.kube/config \
 *   CUTOVER_CONFORMANCE_CONTEXT=my-context \            (optional: default the current context)
 *   CUTOVER_CONFORMANCE_IMAGE=nginx:1.27-alpine \       (optional: any image serving HTTP on port 80, path /)
 *   CUTOVER_CONFORMANCE_GATEWAY_API=1 \                 (optional: the cluster has the Gateway API CRDs)
 *   CUTOVER_CONFORMANCE_NAMESPACE=production \          (optional: an existing namespace, see below)
 *   npx vitest run test/kube/conformance.test.ts
 * Without a namespace it creates `cutover-conformance-<random>`, runs every case there and deletes
 * the namespace afterwards (the credentials need namespace create/delete). With
 * CUTOVER_CONFORMANCE_NAMESPACE it runs in that existing namespace with nothing beyond
 * config/rbac.yaml's Role, so a kubeconfig of the bot's own ServiceAccount can check its
 * permissions before the first release; afterwards it deletes what it created there (the apps
 * cutover-conformance-shop, -cart, -api, -ghost). Fault-injection cases are skipped there.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { startSandbox } from '../../src/sandbox/sandbox.js';
import { conformanceApp, describeClusterConformance, removeApps } from './conformance-cases.js';

const realKubeconfig = process.env.CUTOVER_CONFORMANCE_KUBECONFIG;

if (realKubeconfig) {
  const context = process.env.CUTOVER_CONFORMANCE_CONTEXT;
  const image = process.env.CUTOVER_CONFORMANCE_IMAGE ?? 'nginx:1.27-alpine';
  describeClusterConformance(
    `real cluster (${context ?? 'current context'})`,
    async () => {
      const kubeconfig = loadKubeConfig({ path: realKubeconfig, ...(context ? { context } : {}) });
      const existing = process.env.CUTOVER_CONFORMANCE_NAMESPACE;
      const namespace = existing ?? `cutover-conformance-${randomBytes(4).toString('hex')}`;
      const core = kubeconfig.makeApiClient(CoreV1Api);
      if (!existing) await core.createNamespace({ body: { metadata: { name: namespace } } });
      const region = kubeconfig.getCurrentContext();
      const cluster = (options = {}) => new KubeCluster({ region, namespace, kubeconfig, ...options });
      // In a shared namespace the apps carry a prefix, so they can never be mistaken for real ones.
      const app = (name: string) => conformanceApp(existing ? `cutover-conformance-${name}` : name, { image, containerPort: 80, healthPath: '/' });
      return {
        region,
        namespace,
        kubeconfig,
        cluster,
        app,
        ingressUrl: null,
        gatewayApi: process.env.CUTOVER_CONFORMANCE_GATEWAY_API === '1',
        faults: null,
        readyTimeoutMs: 180_000,
        teardown: async () => {
          if (!existing) return void (await core.deleteNamespace({ name: namespace }));
          await removeApps(kubeconfig, namespace, ['shop', 'cart', 'api', 'ghost'].map(app), process.env.CUTOVER_CONFORMANCE_GATEWAY_API === '1');
        },
      };
    },
    { testTimeoutMs: 240_000 },
  );
} else {
  describeClusterConformance('sandbox', async () => {
    const sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 200, proxySyncDelayMs: 50, graceScale: 0.1 });
    const region = sandbox.regions[0]!;
    const kubeconfig = loadKubeConfig({ path: sandbox.kubeconfigPath, context: region.name });
    const namespace = 'production';
    return {
      region: region.name,
      namespace,
      kubeconfig,
      cluster: (options = {}) => new KubeCluster({ region: region.name, namespace, kubeconfig, pollIntervalMs: 50, ...options }),
      app: (name) => conformanceApp(name),
      ingressUrl: region.ingressUrl,
      gatewayApi: true,
      faults: region.faults,
      readyTimeoutMs: 10_000,
      teardown: () => sandbox.stop(),
    };
  });
}
