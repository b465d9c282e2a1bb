/**
 * The bot's own Dockerfile and Kubernetes manifests (deploy/). Neither Docker nor a real cluster
 * runs here, so: the Dockerfile's shape is checked as text, the manifests are parsed and checked
 * against config/rbac.yaml, the Procfile and the config loader, and then sent to a sandbox cluster
 * with dryRun=All, through the API and through `kubectl apply --dry-run=server` (skipped when
 * kubectl is not on PATH; CI installs it).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KubernetesObject, V1ConfigMap, V1Container, V1Deployment, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findEnvironment, parseConfig } from '../../src/config/index.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { mustType } from '../../src/sandbox/resource-types.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { applyManifests, readManifests } from '../support/apply-manifests.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const deployDir = join(root, 'deploy');

async function deployObjects(): Promise<KubernetesObject[]> {
  const files = (await readdir(deployDir)).filter((f) => f.endsWith('.yaml')).sort();
  return (await Promise.all(files.map((f) => readManifests(join(deployDir, f))))).flat();
}

function find<T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`deploy/ has no ${kind} ${name}`);
  return found as T;
}

function container(deployment: V1Deployment): V1Container {
  return deployment.spec!.template.spec!.containers[0]!;
}

/** Env var name -> "secret/key" for every secretKeyRef. */
function secretRefs(c: V1Container): Record<string, string> {
  return Object.fromEntries((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, `${e.valueFrom!.secretKeyRef!.name}/${e.valueFrom!.secretKeyRef!.key}`]));
}

describe('Dockerfile', () => {
  let lines: string[];
  let stages: { name: string | undefined; base: string; lines: string[] }[];
  beforeAll(async () => {
    const text = await readFile(join(root, 'Dockerfile'), 'utf8');
    lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    stages = [];
    for (const line of lines) {
      const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
      if (from) stages.push({ base: from[1]!, name: from[2], lines: [] });
      else stages.at(-1)?.lines.push(line);
    }
  });
  const runtime = () => stages.at(-1)!;
  const copiedFrom = (stage: { lines: string[] }) =>
    stage.lines.filter((l) => /^COPY\s+--from=/i.test(l)).map((l) => ({ stage: /--from=(\S+)/.exec(l)![1]!, args: l.split(/\s+/).filter((a) => !a.startsWith('--')).slice(1) }));

  it('is a multi-stage build on a supported Node LTS (22 or 24) whose last stage copies from earlier ones', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.base).toMatch(/^node:(22|24)([.-]|$)/);
    const copies = copiedFrom(runtime());
    expect(copies.length).toBeGreaterThan(0);
    expect(copies.every((c) => stages.slice(0, -1).some((s) => s.name === c.stage))).toBe(true);
  });

  it('type-checks and compiles in a build stage, and the runtime stage takes only dist/ from it', () => {
    const builds = stages.filter((s) => s.lines.some((l) => /^RUN\s.*\bnpm run build\b/.test(l)));
    expect(builds).toHaveLength(1);
    const fromBuild = copiedFrom(runtime()).filter((c) => c.stage === builds[0]!.name);
    expect(fromBuild.map((c) => c.args)).toEqual([['/app/dist', './dist']]);
  });

  it('carries no dev dependency and no sources into the runtime stage: node_modules come from npm ci --omit=dev', () => {
    const installs = lines.filter((l) => /^RUN\s/i.test(l) && /\bnpm (ci|install|i)\b/.test(l));
    expect(installs.length).toBeGreaterThan(0);
    expect(installs.every((l) => /\bnpm ci\b/.test(l))).toBe(true);
    const modules = copiedFrom(runtime()).filter((c) => c.args[0]?.endsWith('node_modules'));
    expect(modules).toHaveLength(1);
    const deps = stages.find((s) => s.name === modules[0]!.stage)!;
    const depsInstalls = deps.lines.filter((l) => /\bnpm ci\b/.test(l));
    expect(depsInstalls.length).toBeGreaterThan(0);
    expect(depsInstalls.every((l) => /--omit=dev\b/.test(l))).toBe(true);
    expect(runtime().lines.filter((l) => /^RUN\s/i.test(l))).toEqual([]);
    const copiedSources = runtime().lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l)).flatMap((l) => l.split(/\s+/).slice(1, -1)).filter((a) => !a.startsWith('--'));
    expect(copiedSources.filter((a) => /^(src|jobs|test|tsconfig.*\.json)$/.test(a))).toEqual([]);
  });

  it('runs as a numeric non-root user in the final stage, with the web command of the Procfile, on plain node', async () => {
    const users = runtime().lines.filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.split(/\s+/)[1]!;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const procfile = await readFile(join(root, 'Procfile'), 'utf8');
    const web = /^web:\s*(.+)$/m.exec(procfile)![1]!.trim().split(/\s+/);
    const cmd = runtime().lines.find((l) => /^CMD\s/i.test(l))!;
    expect(JSON.parse(cmd.replace(/^CMD\s+/i, ''))).toEqual(web);
    for (const command of [...procfile.matchAll(/^\w+:\s*(.+)$/gm)].map((m) => m[1]!)) {
      expect(command).toMatch(/^node dist\/\S+\.js$/);
    }
  });
});

describe('deploy/ manifests', () => {
  let objects: KubernetesObject[];
  let rbac: KubernetesObject[];
  let procfile: Record<string, string[]>;
  beforeAll(async () => {
    objects = await deployObjects();
    rbac = await readManifests(join(root, 'config/rbac.yaml'));
    const text = await readFile(join(root, 'Procfile'), 'utf8');
    procfile = Object.fromEntries([...text.matchAll(/^(\w+):\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim().split(/\s+/)]));
  });

  it('hold web and worker Deployments, the web Service and the config ConfigMap, in the ServiceAccount\'s namespace', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual(['ConfigMap/cutover-config', 'Deployment/cutover-web', 'Deployment/cutover-worker', 'Service/cutover-web']);
    const accounts = rbac.filter((o) => o.kind === 'ServiceAccount');
    for (const object of objects) expect(accounts.map((a) => a.metadata?.namespace)).toContain(object.metadata?.namespace);
  });

  it('run the Procfile commands as their ServiceAccounts of config/rbac.yaml (web read-only, workers the release Role), non-root, with the config mounted', () => {
    const roleOf = (account: string) => rbac.find((o) => o.kind === 'RoleBinding' && (o as { subjects?: { name: string }[] }).subjects?.some((s) => s.name === account)) as { roleRef: { name: string } } | undefined;
    for (const [name, process, role] of [['cutover-web', 'web', 'cutover-read'], ['cutover-worker', 'worker', 'cutover']] as const) {
      const deployment = find<V1Deployment>(objects, 'Deployment', name);
      const pod = deployment.spec!.template.spec!;
      const c = container(deployment);
      expect(rbac.some((o) => o.kind === 'ServiceAccount' && o.metadata?.name === pod.serviceAccountName)).toBe(true);
      expect(roleOf(pod.serviceAccountName!)?.roleRef.name).toBe(role);
      expect(c.command).toEqual(procfile[process]);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      const configPath = c.env!.find((e) => e.name === 'CUTOVER_CONFIG')!.value!;
      const mount = c.volumeMounts!.find((m) => configPath.startsWith(`${m.mountPath}/`))!;
      const volume = pod.volumes!.find((v) => v.name === mount.name)!;
      expect(volume.configMap?.name).toBe('cutover-config');
      expect(c.volumeMounts!.some((m) => m.mountPath === '/tmp')).toBe(true);
    }
  });

  it('take the Slack and Redis secrets from a Secret, never from literal values', () => {
    const web = container(find<V1Deployment>(objects, 'Deployment', 'cutover-web'));
    const worker = container(find<V1Deployment>(objects, 'Deployment', 'cutover-worker'));
    expect(secretRefs(web)).toEqual({
      SLACK_BOT_TOKEN: 'cutover-secrets/SLACK_BOT_TOKEN',
      SLACK_SIGNING_SECRET: 'cutover-secrets/SLACK_SIGNING_SECRET',
      SLACK_APP_TOKEN: 'cutover-secrets/SLACK_APP_TOKEN',
      REDIS_URL: 'cutover-secrets/REDIS_URL',
    });
    expect(secretRefs(worker)).toEqual({ SLACK_BOT_TOKEN: 'cutover-secrets/SLACK_BOT_TOKEN', REDIS_URL: 'cutover-secrets/REDIS_URL' });
    const secretNames = /TOKEN|SECRET|REDIS_URL|PASSWORD/;
    for (const c of [web, worker]) expect((c.env ?? []).filter((e) => secretNames.test(e.name) && e.value !== undefined)).toEqual([]);
  });

  it('probe the web process on /readyz and /healthz on its probes port, which the Service (the Slack endpoint) does not expose', () => {
    const c = container(find<V1Deployment>(objects, 'Deployment', 'cutover-web'));
    const port = c.ports!.find((p) => p.name === 'http')!;
    const probes = c.ports!.find((p) => p.name === 'probes')!;
    expect(probes.containerPort).toBe(9091);
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'probes' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'probes' });
    expect(c.env!.find((e) => e.name === 'PORT')?.value).toBe(String(port.containerPort));
    const service = find<V1Service>(objects, 'Service', 'cutover-web');
    expect(service.spec?.ports?.[0]?.targetPort).toBe('http');
    const labels = find<V1Deployment>(objects, 'Deployment', 'cutover-web').spec!.template.metadata!.labels!;
    expect(Object.entries(service.spec!.selector!).every(([k, v]) => labels[k] === v)).toBe(true);
  });

  it('ship a cutover.yaml the config loader accepts', () => {
    const map = find<V1ConfigMap>(objects, 'ConfigMap', 'cutover-config');
    const config = parseConfig(map.data!['cutover.yaml']!, {}, '/etc/cutover/config/cutover.yaml');
    const regions = findEnvironment(config, 'production')!.regions;
    expect(regions.map((r) => [r.name, r.kubeconfig ?? 'in-cluster'])).toEqual([
      ['eu-west', 'in-cluster'],
      ['us-east', '/etc/cutover/kubeconfig/kubeconfig'],
    ]);
  });
});

describe('deploy/ manifests against a sandbox cluster (dryRun=All)', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50 });
    const admin = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
    await applyManifests(admin, await readManifests(join(root, 'config/rbac.yaml')));
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('the API server accepts every object and stores none of them', async () => {
    const admin = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
    const applied = await applyManifests(admin, await deployObjects(), { dryRun: true });
    expect(applied.map((o) => `${o.kind}/${o.metadata?.name}`)).toHaveLength(4);
    const store = sandbox.regions[0]!.store;
    expect(store.list(mustType('deployments'), 'production')).toEqual([]);
    expect(store.get(mustType('configmaps'), 'production', 'cutover-config')).toBeUndefined();
  });

  it('kubectl apply --dry-run=server accepts them', async (context) => {
    const kubectl = await run('kubectl', ['version', '--client'], { timeout: 15_000 }).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
    );
    if (!kubectl) {
      console.warn('SKIPPED: kubectl is not on PATH (CI installs it)');
      return context.skip();
    }
    const home = join(sandbox.kubeconfigPath, '..');
    const { stdout } = await run('kubectl', ['--kubeconfig', sandbox.kubeconfigPath, '--cache-dir', join(home, 'cache'), 'apply', '--dry-run=server', '-f', deployDir], {
      timeout: 20_000,
      env: { ...process.env, HOME: home },
    });
    expect(stdout).toMatch(/configmap\/cutover-config created \(server dry run\)/);
    expect(stdout).toMatch(/deployment.apps\/cutover-web created \(server dry run\)/);
    expect(stdout).toMatch(/deployment.apps\/cutover-worker created \(server dry run\)/);
    expect(stdout).toMatch(/service\/cutover-web created \(server dry run\)/);
    expect(sandbox.regions[0]!.store.list(mustType('deployments'), 'production')).toEqual([]);
  });
});
