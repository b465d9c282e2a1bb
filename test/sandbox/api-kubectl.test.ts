import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../../src/sandbox/kubeconfig.js';
import { startHarness, token } from './api-harness.js';

const run = promisify(execFile);

async function kubectlOnPath(): Promise<boolean> {
  try {
    await run('kubectl', ['version', '--client'], { timeout: 15_000 });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const hasKubectl = await kubectlOnPath();
if (!hasKubectl) console.warn('SKIPPED: kubectl is not on PATH; .ci/run installs Debian kubernetes-client so CI runs this test.');

const manifest = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Service
metadata:
  name: shop
  namespace: shop
spec:
  selector: {app.kubernetes.io/name: shop, app.kubernetes.io/version: v1}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-v1
  namespace: shop
  labels: {app.kubernetes.io/name: shop, app.kubernetes.io/version: v1}
spec:
  replicas: 2
  selector: {matchLabels: {app.kubernetes.io/name: shop, app.kubernetes.io/version: v1}}
  template:
    metadata: {labels: {app.kubernetes.io/name: shop, app.kubernetes.io/version: v1}}
    spec:
      containers: [{name: shop, image: "registry.example.com/shop:v1", ports: [{containerPort: 8080}]}]
`;

describe.skipIf(!hasKubectl)('sandbox API with kubectl', () => {
  let h: Awaited<ReturnType<typeof startHarness>>;
  let dir: string;
  let kubectl: (...args: string[]) => Promise<string>;

  beforeAll(async () => {
    h = await startHarness();
    dir = await mkdtemp(join(tmpdir(), 'cutover-kubectl-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeKubeconfig(kubeconfig, [{ name: 'eu-west', url: h.server.url, token }]);
    await writeFile(join(dir, 'manifest.yaml'), manifest);
    kubectl = async (...args) => {
      const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { cwd: dir, timeout: 20_000, env: { ...process.env, HOME: dir } });
      return stdout;
    };
  });
  afterAll(async () => {
    await h?.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('applies, reads, merge-patches and deletes like against a real cluster', async () => {
    expect(await kubectl('apply', '-f', 'manifest.yaml')).toMatch(/namespace\/shop created[\s\S]*service\/shop created[\s\S]*deployment.apps\/shop-v1 created/);
    expect(await kubectl('apply', '-f', 'manifest.yaml')).toMatch(/service\/shop unchanged/);
    const service = JSON.parse(await kubectl('-n', 'shop', 'get', 'service', 'shop', '-o', 'json'));
    expect(service).toMatchObject({ kind: 'Service', spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/version': 'v1' } } });
    expect(await kubectl('-n', 'shop', 'patch', 'service', 'shop', '--type', 'merge', '-p', '{"spec":{"selector":{"app.kubernetes.io/version":"v2"}}}')).toMatch(/service\/shop patched/);
    const patched = await h.core.readNamespacedService({ name: 'shop', namespace: 'shop' });
    expect(patched.spec?.selector).toEqual({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v2' });
    const deployments = JSON.parse(await kubectl('-n', 'shop', 'get', 'deployments', '-l', 'app.kubernetes.io/version in (v1)', '-o', 'json')) as { items: { metadata: { name: string } }[] };
    expect(deployments.items.map((d) => d.metadata.name)).toEqual(['shop-v1']);
    expect(await kubectl('-n', 'shop', 'delete', 'deployment', 'shop-v1')).toMatch(/deployment.apps "shop-v1" deleted/);
    const missing = await kubectl('-n', 'shop', 'get', 'deployment', 'shop-v1').catch((error: { stderr: string }) => error.stderr);
    expect(missing).toMatch(/Error from server \(NotFound\): deployments.apps "shop-v1" not found/);
  });
});
