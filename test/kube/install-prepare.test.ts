import { describe, expect, it } from 'vitest';
import type { AppSpec } from '../../src/core/model.js';
import { defaultLabelKeys } from '../../src/core/names.js';
import { expandPlaceholders } from '../../src/kube/install/placeholders.js';
import { containsToken, prepareInstall } from '../../src/kube/install/prepare-objects.js';
import type { KubeObject } from '../../src/kube/install/objects.js';
import { podStartFailure } from '../../src/kube/pod-failures.js';

/** The pure parts of installs from manifests or a chart: placeholders, names, labels, selectors. */

const variables = { app: 'shop', version: 'v1.2', name: 'shop-v1-2', image: 'registry.example.com/shop:v1.2', namespace: 'production', region: 'eu-west', values: { replicas: 3, db: { host: 'db.internal' }, list: [1, 2] } };

describe('expandPlaceholders', () => {
  it.each([
    ['{{version}} {{ name }} {{image}}', 'v1.2 shop-v1-2 registry.example.com/shop:v1.2'],
    ['{{app}}/{{namespace}}/{{region}}', 'shop/production/eu-west'],
    ['replicas: {{values.replicas}}, host: {{values.db.host}}, list: {{values.list}}', 'replicas: 3, host: db.internal, list: [1,2]'],
  ])('%s → %s', (template, expected) => {
    expect(expandPlaceholders(template, variables, 'a.yaml')).toBe(expected);
  });

  it.each([
    ['a: 1\nb: {{ .Values.x }}', /^a\.yaml:2: unknown placeholder \{\{ \.Values\.x \}\}/],
    ['{{values.missing.key}}', /^a\.yaml:1: \{\{values\.missing\.key\}\} is not set: add it under install\.values$/],
  ])('refuses %j', (template, message) => {
    expect(() => expandPlaceholders(template, variables, 'a.yaml')).toThrow(message);
  });
});

describe('containsToken', () => {
  it.each([
    ['shop-v42-config', 'v42', true],
    ['v42', 'v42', true],
    ['shop-v421', 'v42', false],
    ['shopv42', 'v42', false],
    ['shop-v1-2-3.cfg', 'v1-2-3', true],
  ])('%s contains %s: %s', (name, part, expected) => {
    expect(containsToken(name, part)).toBe(expected);
  });
});

const app: AppSpec = {
  name: 'shop',
  image: 'x:{version}',
  containerPort: 8080,
  replicas: 2,
  env: {},
  healthPath: '/healthz',
  versionHeader: 'x-app-version',
  routing: 'ingress',
  hosts: [],
  labelKeys: defaultLabelKeys,
  terminationGracePeriodSeconds: 30,
  podAnnotations: {},
};

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'shop-v1' },
  spec: { selector: { matchLabels: { app: 'shop' } }, template: { metadata: { labels: { app: 'shop' } }, spec: { containers: [{ name: 'web', ports: [{ containerPort: 9090 }] }] } } },
};

describe('prepareInstall', () => {
  const prepare = (rendered: KubeObject[]) =>
    prepareInstall({ app, version: 'v1', namespace: 'production', suffixNames: false, rendered, source: 'manifests m/', installedBy: 'alice', scopeOf: () => 'namespaced' });

  it('labels the workload, its pods and selector, narrows a PodDisruptionBudget to this version, and generates the version Service', () => {
    const pdb: KubeObject = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'shop-v1' }, spec: { selector: { matchLabels: { app: 'shop' } } } };
    const other: KubeObject = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'shop-v1-db' }, spec: { selector: { matchLabels: { app: 'db' } } } };
    const prepared = prepare([deployment, pdb, other]);
    const version = { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v1' };
    expect(prepared.workload.spec).toMatchObject({ selector: { matchLabels: { app: 'shop', ...version } }, template: { metadata: { labels: { app: 'shop', ...version, 'app.kubernetes.io/managed-by': 'cutover' } } } });
    expect(prepared.workload.metadata.annotations).toEqual({ 'cutover.dev/workload': 'true', 'cutover.dev/installed-by': 'alice' });
    expect(prepared.objects.find((o) => o.metadata.name === 'shop-v1' && o.kind === 'PodDisruptionBudget')!.spec).toEqual({ selector: { matchLabels: { app: 'shop', ...version } } });
    expect(prepared.objects.find((o) => o.metadata.name === 'shop-v1-db')!.spec).toEqual({ selector: { matchLabels: { app: 'db' } } });
    expect(prepared.service.spec).toMatchObject({ selector: version, ports: [{ port: 80, targetPort: 9090 }] });
    expect(prepared.inventory.map((e) => `${e.kind}/${e.name}`)).toEqual(['Service/shop-v1', 'PodDisruptionBudget/shop-v1', 'PodDisruptionBudget/shop-v1-db', 'Deployment/shop-v1', 'Ingress/shop-v1']);
    for (const object of prepared.objects) expect(object.metadata.labels).toMatchObject({ ...version, 'app.kubernetes.io/managed-by': 'cutover' });
  });

  it('sends the version route to the rendered version Service on its port', () => {
    const service: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-v1' }, spec: { selector: { app: 'shop' }, ports: [{ port: 8080, targetPort: 9090 }] } };
    const prepared = prepare([deployment, service]);
    const route = prepared.objects.at(-1)!;
    expect(route.kind).toBe('Ingress');
    expect(JSON.stringify(route.spec)).toContain('"service":{"name":"shop-v1","port":{"number":8080}}');
    expect(prepared.notes).toEqual([]);
  });

  it.each([
    [[{ ...deployment, metadata: { name: 'shop-v1', namespace: 'staging' } }], /Deployment shop-v1 is for namespace staging, not production/],
    [[deployment, deployment], /Deployment shop-v1 is rendered twice/],
    [[deployment, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-v1.cutover-inventory' } }], /ConfigMap shop-v1\.cutover-inventory has the name of cutover's inventory/],
    [[deployment, { kind: 'ConfigMap' } as unknown as KubeObject], /document 2 of manifests m\/ is not a Kubernetes object with apiVersion, kind and metadata\.name/],
  ])('refuses %#', (rendered, message) => {
    expect(() => prepare(rendered)).toThrow(message);
  });
});

describe('podStartFailure', () => {
  const pod = (reason: string, message?: string) => ({ metadata: { name: 'p' }, status: { containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, ...(message ? { message } : {}) } } }] } });
  it.each([
    ['CreateContainerConfigError', 'pod p: CreateContainerConfigError: secret "s" not found'],
    ['ImagePullBackOff', 'pod p: ImagePullBackOff: secret "s" not found'],
    ['ErrImagePull', 'pod p: ErrImagePull: secret "s" not found'],
    ['ContainerCreating', null],
    ['PodInitializing', null],
  ])('%s → %s', (reason, expected) => {
    expect(podStartFailure([pod(reason, 'secret "s" not found')])).toBe(expected);
  });
});
