import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAppSpec } from '../../src/config/app-spec.js';
import { parseConfig } from '../../src/config/index.js';
import type { AppSpec } from '../../src/core/model.js';
import { ensureHelm } from '../../src/demo/helm-binary.js';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { namespaceObjects, objectsOfVersion } from '../support/namespace-objects.js';

/**
 * Versions installed from the app's own objects: the example Helm chart (rendered by a real helm
 * binary) and manifest templates, against a sandbox region through the real adapter.
 */

const namespace = 'production';
let sandbox: Sandbox;
let cluster: KubeCluster;
let helm: string;
let dir: string;
let core: CoreV1Api;

beforeAll(async () => {
  helm = await ensureHelm();
  dir = await mkdtemp(path.join(tmpdir(), 'cutover-install-'));
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20, graceScale: 0.05, kubeconfigPath: path.join(dir, 'kubeconfig') });
  const kubeconfig = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
  cluster = new KubeCluster({ region: 'eu-west', namespace, kubeconfig, pollIntervalMs: 50 });
  core = kubeconfig.makeApiClient(CoreV1Api);
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'shop-secrets' }, stringData: { 'db-password': 'hunter2' } } });
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

/** An app as the config loader makes it, with the given `install`. */
function appWith(install: Record<string, unknown>, extra: Record<string, unknown> = {}): AppSpec {
  const config = parseConfig(
    JSON.stringify({
      apps: { shop: { image: 'registry.example.com/shop:{version}', install, ...extra } },
      environments: { production: { regions: [{ name: 'eu-west', namespace, liveUrl: 'http://127.0.0.1:1' }] } },
    }),
    {},
    'install-kinds.yaml',
  );
  return toAppSpec(config.apps.shop!);
}

const chart = () => appWith({ kind: 'helm', chart: 'examples/charts/shop', helmBinary: helm, values: { podAnnotations: { 'sandbox.cutover.dev/ready-after-ms': '50' } } });

const objects = () => namespaceObjects(sandbox.kubeconfigPath, 'eu-west', namespace);

async function writeManifests(name: string, files: Record<string, string>): Promise<string> {
  const folder = path.join(dir, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(folder, { recursive: true }));
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(folder, file), text);
  return folder;
}

describe('install kind helm: the example chart', () => {
  it("installs every object of the chart labelled as cutover's, records them, and the version turns ready", async () => {
    const app = chart();
    await cluster.checkOwnership(app, 'v1');
    await cluster.installVersion(app, 'v1', 'alice');
    const ready = await cluster.waitForReady(app, 'v1', 1, { timeoutMs: 10_000 });
    expect(ready).toMatchObject({ version: 'v1', hasService: true, hasRoute: true });
    const installed = objectsOfVersion(await objects(), 'shop', 'v1').filter((o) => !['Pod', 'EndpointSlice', 'Endpoints'].includes(o.kind));
    expect(installed.map((o) => `${o.kind}/${o.name}`).sort()).toEqual([
      'ConfigMap/shop-v1-config',
      'ConfigMap/shop-v1.cutover-inventory',
      'Deployment/shop-v1',
      'HorizontalPodAutoscaler/shop-v1',
      'Ingress/shop-v1',
      'PodDisruptionBudget/shop-v1',
      'Service/shop-v1',
      'ServiceAccount/shop-v1',
    ]);
    for (const object of installed) expect(object.labels).toMatchObject({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v1', 'app.kubernetes.io/managed-by': 'cutover' });
    const state = await cluster.observe(app);
    expect(state.versions.find((v) => v.version === 'v1')?.objects?.map((o) => `${o.kind}/${o.name}`)).toEqual([
      'ServiceAccount/shop-v1',
      'ConfigMap/shop-v1-config',
      'Service/shop-v1',
      'PodDisruptionBudget/shop-v1',
      'Deployment/shop-v1',
      'HorizontalPodAutoscaler/shop-v1',
      'Ingress/shop-v1',
    ]);
    // The pods carry the version labels and the chart's own; the version Service selects only them.
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/version=v1' })).items;
    expect(pods[0]?.metadata?.labels).toMatchObject({ 'app.kubernetes.io/instance': 'shop-v1', 'app.kubernetes.io/managed-by': 'cutover' });
    expect((await core.readNamespacedService({ namespace, name: 'shop-v1' })).spec?.selector).toEqual({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/instance': 'shop-v1', 'app.kubernetes.io/version': 'v1' });
  });

  it('installs again without change, and deleting the version leaves no object of it behind in any namespaced kind', async () => {
    const app = chart();
    await cluster.installVersion(app, 'v2', 'alice');
    await cluster.waitForReady(app, 'v2', 1, { timeoutMs: 10_000 });
    const before = await objects();
    await cluster.installVersion(app, 'v2', 'alice');
    expect((await objects()).filter((o) => o.kind !== 'Pod' && o.kind !== 'Event').map((o) => `${o.kind}/${o.name}@${o.resourceVersion}`)).toEqual(
      before.filter((o) => o.kind !== 'Pod' && o.kind !== 'Event').map((o) => `${o.kind}/${o.name}@${o.resourceVersion}`),
    );
    await cluster.deleteVersion(app, 'v2');
    await expect.poll(async () => objectsOfVersion(await objects(), 'shop', 'v2').map((o) => `${o.kind}/${o.name}`), { timeout: 10_000 }).toEqual([]);
    // v1 is untouched.
    expect(objectsOfVersion(await objects(), 'shop', 'v1').filter((o) => o.kind === 'Deployment')).toHaveLength(1);
  });

  it("fails the wait with the kubelet's reason when the chart's Secret is missing", async () => {
    const app = appWith({ kind: 'helm', chart: 'examples/charts/shop', helmBinary: helm, values: { secret: { name: 'forgotten-secret', key: 'db-password' } } });
    await cluster.installVersion(app, 'v3', 'alice');
    await expect(cluster.waitForReady(app, 'v3', 1, { timeoutMs: 20_000 })).rejects.toThrow(/eu-west: v3 cannot start: pod shop-v3-\S+: CreateContainerConfigError: secret "forgotten-secret" not found/);
    await cluster.deleteVersion(app, 'v3');
  });
});

describe('install kind manifests', () => {
  it('expands the placeholders and values, and installs the manifests', async () => {
    const folder = await writeManifests('plain', {
      'app.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: "{{name}}"
spec:
  replicas: {{values.replicas}}
  selector: { matchLabels: { app: "{{app}}", release: "{{name}}" } }
  template:
    metadata:
      labels: { app: "{{app}}", release: "{{name}}" }
      annotations: { sandbox.cutover.dev/ready-after-ms: "50" }
    spec:
      containers:
        - name: web
          image: "{{image}}"
          ports: [{ name: web, containerPort: 8080 }]
          env: [{ name: REGION, value: "{{region}}" }, { name: NS, value: "{{namespace}}" }]
          readinessProbe: { httpGet: { path: /healthz, port: web } }
`,
    });
    const app = appWith({ kind: 'manifests', path: folder, values: { replicas: 2 } });
    await cluster.installVersion(app, 'v10', 'alice');
    const ready = await cluster.waitForReady(app, 'v10', 2, { timeoutMs: 10_000 });
    expect(ready).toMatchObject({ readyReplicas: 2, hasService: true, hasRoute: true });
    // No Service rendered: cutover generated the version Service, aimed at the container's port.
    const service = await core.readNamespacedService({ namespace, name: 'shop-v10' });
    expect(service.spec?.ports?.[0]).toMatchObject({ port: 80, targetPort: 'web' });
    const pod = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/version=v10' })).items[0]!;
    expect(pod.spec?.containers[0]?.image).toBe('registry.example.com/shop:v10');
    expect(pod.spec?.containers[0]?.env).toEqual([{ name: 'REGION', value: 'eu-west' }, { name: 'NS', value: namespace }]);
    await cluster.deleteVersion(app, 'v10');
    await expect.poll(async () => objectsOfVersion(await objects(), 'shop', 'v10').length, { timeout: 10_000 }).toBe(0);
  });

  it('suffixes names without the version when install.suffixNames is on, and points references at the new names', async () => {
    const folder = await writeManifests('suffix', {
      'config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { MODE: live }\n',
      'app.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: "{{image}}"
          envFrom: [{ configMapRef: { name: settings } }]
`,
    });
    const app = appWith({ kind: 'manifests', path: folder, suffixNames: true });
    await cluster.installVersion(app, 'v11', 'alice');
    await cluster.waitForReady(app, 'v11', 1, { timeoutMs: 10_000 });
    const names = objectsOfVersion(await objects(), 'shop', 'v11').filter((o) => ['ConfigMap', 'Deployment'].includes(o.kind)).map((o) => `${o.kind}/${o.name}`);
    expect(names.sort()).toEqual(['ConfigMap/settings-v11', 'ConfigMap/shop-v11.cutover-inventory', 'Deployment/web-v11']);
    const pod = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/version=v11' })).items[0]!;
    expect(pod.spec?.containers[0]?.envFrom).toEqual([{ configMapRef: { name: 'settings-v11' } }]);
    await cluster.deleteVersion(app, 'v11');
  });
});
