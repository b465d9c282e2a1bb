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
 *   npx vitest run test/kube/conformance.test.ts
 * It creates the namespace `cutover-conformance-<random>`, runs every case there and deletes the
 * namespace afterwards; the credentials need namespace create/delete besides config/rbac.yaml's
 * Role. Fault-injection cases are skipped there.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { startSandbox } from '../../src/sandbox/sandbox.js';
import { conformanceApp, describeClusterConformance } from './conformance-cases.js';

const realKubeconfig = process.env.CUTOVER_CONFORMANCE_KUBECONFIG;

if (realKubeconfig) {
  const context = process.env.CUTOVER_CONFORMANCE_CONTEXT;
  const image = process.env.CUTOVER_CONFORMANCE_IMAGE ?? 'nginx:1.27-alpine';
  describeClusterConformance(
    `real cluster (${context ?? 'current context'})`,
    async () => {
      const kubeconfig = loadKubeConfig({ path: realKubeconfig, ...(context ? { context } : {}) });
      const namespace = `cutover-conformance-${randomBytes(4).toString('hex')}`;
      const core = kubeconfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      const region = kubeconfig.getCurrentContext();
      return {
        region,
        namespace,
        kubeconfig,
        cluster: (options = {}) => new KubeCluster({ region, namespace, kubeconfig, ...options }),
        app: (name) => conformanceApp(name, { image, containerPort: 80, healthPath: '/' }),
        ingressUrl: null,
        gatewayApi: process.env.CUTOVER_CONFORMANCE_GATEWAY_API === '1',
        faults: null,
        readyTimeoutMs: 180_000,
        teardown: async () => {
          await core.deleteNamespace({ name: namespace });
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
