import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAppSpec } from '../../src/config/app-spec.js';
import { parseConfig } from '../../src/config/index.js';
import type { AppSpec } from '../../src/core/model.js';
import { ensureHelm } from '../../src/demo/helm-binary.js';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { applyManifests, readManifests } from '../support/apply-manifests.js';
import { namespaceObjects } from '../support/namespace-objects.js';

/**
 * Every check before an install from manifests or a chart: each refuses with a message naming the
 * object, in the check step and in the install itself, and leaves every namespaced object of the
 * namespace exactly as it was (same objects, same resourceVersions).
 */

const namespace = 'production';
let sandbox: Sandbox;
let admin: KubeCluster;
let restricted: KubeCluster;
let dir: string;
let helm: string;

beforeAll(async () => {
  helm = await ensureHelm();
  dir = await mkdtemp(path.join(tmpdir(), 'cutover-checks-'));
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20, kubeconfigPath: path.join(dir, 'kubeconfig') });
  const adminConfig = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
  admin = new KubeCluster({ region: 'eu-west', namespace, kubeconfig: adminConfig });
  // The worker's ServiceAccount as config/rbac.yaml grants it, except that it may only read and delete PodDisruptionBudgets.
  const rbac = (await readManifests(new URL('../../config/rbac.yaml', import.meta.url))).map((object) => {
    if (object.kind !== 'Role' || object.metadata?.name !== 'cutover-install') return object;
    const rules = (object as KubernetesObject & { rules: { resources: string[]; verbs: string[] }[] }).rules.map((rule) => (rule.resources.includes('poddisruptionbudgets') ? { ...rule, verbs: ['get', 'delete'] } : rule));
    return { ...object, rules };
  });
  await applyManifests(adminConfig, rbac);
  const saPath = path.join(dir, 'kubeconfig-cutover');
  await sandbox.writeKubeconfig(saPath, { serviceAccount: { namespace, name: 'cutover' } });
  restricted = new KubeCluster({ region: 'eu-west', namespace, kubeconfig: loadKubeConfig({ path: saPath, context: 'eu-west' }) });
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

function appWith(install: Record<string, unknown>): AppSpec {
  const config = parseConfig(
    JSON.stringify({
      apps: { shop: { image: 'registry.example.com/shop:{version}', install } },
      environments: { production: { regions: [{ name: 'eu-west', namespace, liveUrl: 'http://127.0.0.1:1' }] } },
    }),
    {},
    'install-checks.yaml',
  );
  return toAppSpec(config.apps.shop!);
}

let folders = 0;
async function manifests(...documents: string[]): Promise<AppSpec> {
  const folder = path.join(dir, `m${++folders}`);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'objects.yaml'), documents.join('\n---\n'));
  return appWith({ kind: 'manifests', path: folder });
}

const deployment = (name = '{{name}}') => `apiVersion: apps/v1
kind: Deployment
metadata: { name: "${name}" }
spec:
  selector: { matchLabels: { app: shop } }
  template:
    metadata: { labels: { app: shop } }
    spec: { containers: [{ name: web, image: "{{image}}", ports: [{ containerPort: 8080 }] }] }`;

const snapshot = async () => (await namespaceObjects(sandbox.kubeconfigPath, 'eu-west', namespace)).map((o) => `${o.kind}/${o.name}@${o.resourceVersion}`);

/** The check step and the install both refuse with `message`, and nothing in the namespace changed. */
async function expectRefused(cluster: KubeCluster, app: AppSpec, message: RegExp): Promise<void> {
  const before = await snapshot();
  await expect(cluster.checkOwnership(app, 'v1')).rejects.toThrow(message);
  await expect(cluster.installVersion(app, 'v1', 'alice')).rejects.toThrow(message);
  expect(await snapshot()).toEqual(before);
}

describe('checks before an install from manifests or a chart', () => {
  it.each([
    ['a name without the version', () => manifests(deployment(), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }'), /^eu-west: ConfigMap settings has a name without the version \(v1\): two versions would write the same object; .*install\.suffixNames; nothing was applied$/],
    ['a cluster-scoped object', () => manifests(deployment(), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: "{{name}}-extra" }'), /Namespace shop-v1-extra is cluster-scoped \(v1\): cutover installs only namespaced objects, into production/],
    ['a kind the cluster does not serve', () => manifests(deployment(), 'apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: "{{name}}" }'), /Widget shop-v1: the cluster does not serve Widget in example\.com\/v1/],
    ['no Deployment', () => manifests('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "{{name}}" }'), /manifests \S+ renders no Deployment: cutover needs exactly one whose pods serve the version/],
    ['two Deployments and no install.workload', () => manifests(deployment('{{name}}-web'), deployment('{{name}}-worker')), /renders 2 Deployments \(shop-v1-web, shop-v1-worker\): name the one whose pods serve the app with install\.workload/],
    ['an unknown placeholder', () => manifests(deployment(), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "{{ .Release.Name }}" }'), /objects\.yaml:\d+: unknown placeholder \{\{ \.Release\.Name \}\}/],
    ['a Helm hook', () => manifests(deployment(), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "{{name}}-migrate", annotations: { helm.sh/hook: pre-install } }'), /ConfigMap shop-v1-migrate is a Helm hook \(pre-install\): cutover applies a chart's objects and runs no hooks/],
    ['a version Service that does not select the workload', () => manifests(deployment(), 'apiVersion: v1\nkind: Service\nmetadata: { name: "{{name}}" }\nspec: { selector: { app: other }, ports: [{ port: 80 }] }'), /Service shop-v1 does not select the pods of Deployment shop-v1/],
    ['an object the API server finds invalid (server-side dry run)', () => manifests(deployment(), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "{{name}}-x", labels: { "bad key!": "x" } }'), /ConfigMap shop-v1-x: the API server finds it invalid \(.*\); nothing was applied/],
  ])('refuses %s and changes nothing', async (_what, make, message) => {
    await expectRefused(admin, await make(), message);
  });

  it('refuses an object someone else made under a rendered name, naming it and its labels', async () => {
    const core = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' }).makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'shop-v1-config', labels: { team: 'data' } }, data: { a: 'b' } } });
    const app = await manifests(deployment(), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "{{name}}-config" }\ndata: { MODE: live }');
    await expectRefused(admin, app, /^eu-west: ConfigMap shop-v1-config \(labels team=data\) is not cutover's shop v1; manifests \S+ renders that name for v1, so nothing was installed and nothing was changed$/);
    await core.deleteNamespacedConfigMap({ namespace, name: 'shop-v1-config' });
  });

  it("refuses a chart whose kind the worker's RBAC may not write, naming the object and the permission", async () => {
    const app = appWith({ kind: 'helm', chart: 'examples/charts/shop', helmBinary: helm });
    await expectRefused(restricted, app, /^eu-west: PodDisruptionBudget shop-v1: the worker may not write it \(missing permission: "patch" on poddisruptionbudgets\.policy in namespace "production" .*\); nothing was applied$/);
  });

  it('installs the example chart as the ServiceAccount of config/rbac.yaml, and deletes it', async () => {
    const app = appWith({ kind: 'helm', chart: 'examples/charts/shop', helmBinary: helm, values: { podDisruptionBudget: { minAvailable: 1 } } });
    // The same Role with PodDisruptionBudgets granted again.
    const adminConfig = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
    await applyManifests(adminConfig, (await readManifests(new URL('../../config/rbac.yaml', import.meta.url))).filter((o) => o.metadata?.name === 'cutover-install'));
    await restricted.installVersion(app, 'v7', 'alice');
    await restricted.deleteVersion(app, 'v7');
    await expect.poll(async () => (await snapshot()).filter((o) => o.includes('shop-v7')), { timeout: 10_000 }).toEqual([]);
  });
});
