import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import type { Region } from '../../src/sandbox/region.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';

export const namespace = 'production';

export interface Clients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  networking: k8s.NetworkingV1Api;
  discovery: k8s.DiscoveryV1Api;
  custom: k8s.CustomObjectsApi;
}

/** Real client-node API clients for one region, from the kubeconfig the sandbox wrote. */
export function clientsFor(sandbox: Sandbox, region: Region): Clients {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(sandbox.kubeconfigPath);
  kc.setCurrentContext(region.name);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
    discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
}

export interface VersionOptions {
  replicas?: number;
  readyAfterMs?: number;
  neverReady?: boolean;
  graceSeconds?: number;
  /** `sandbox.cutover.dev/serves` (default: the app contract's `/{version}/*, {health}, /`). */
  serves?: string;
  /** `sandbox.cutover.dev/version-header` ('' for none). */
  versionHeader?: string;
  /** `sandbox.cutover.dev/unready-pods`: that many pods never turn Ready. */
  unreadyPods?: number;
  /** The readiness probe's path, as cutover's manifests set it from `healthPath`. */
  healthPath?: string;
  /** `sandbox.cutover.dev/error-rate`: share of answers that are 500. */
  errorRate?: number;
}

/** A version's Deployment as cutover installs it: pods labelled with app name and version. */
export function deployment(app: string, version: string, options: VersionOptions = {}): k8s.V1Deployment {
  const labels = { 'app.kubernetes.io/name': app, 'app.kubernetes.io/version': version };
  const annotations: Record<string, string> = {};
  if (options.readyAfterMs !== undefined) annotations['sandbox.cutover.dev/ready-after-ms'] = String(options.readyAfterMs);
  if (options.neverReady) annotations['sandbox.cutover.dev/never-ready'] = 'true';
  if (options.serves !== undefined) annotations['sandbox.cutover.dev/serves'] = options.serves;
  if (options.versionHeader !== undefined) annotations['sandbox.cutover.dev/version-header'] = options.versionHeader;
  if (options.unreadyPods !== undefined) annotations['sandbox.cutover.dev/unready-pods'] = String(options.unreadyPods);
  if (options.errorRate !== undefined) annotations['sandbox.cutover.dev/error-rate'] = String(options.errorRate);
  const readinessProbe = options.healthPath ? { readinessProbe: { httpGet: { path: options.healthPath, port: 'http' } } } : {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${app}-${version}`, labels },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations },
        spec: {
          terminationGracePeriodSeconds: options.graceSeconds ?? 1,
          containers: [{ name: app, image: `registry.example.com/${app}:${version}`, ports: [{ name: 'http', containerPort: 8080 }], ...readinessProbe }],
        },
      },
    },
  };
}

export function service(name: string, selector: Record<string, string>): k8s.V1Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { 'app.kubernetes.io/name': selector['app.kubernetes.io/name'] ?? name } }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };
}

export function ingress(name: string, paths: { path: string; pathType?: string; service: string; host?: string }[]): k8s.V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name },
    spec: {
      rules: paths.map((p) => ({
        ...(p.host ? { host: p.host } : {}),
        http: { paths: [{ path: p.path, pathType: p.pathType ?? 'Prefix', backend: { service: { name: p.service, port: { number: 80 } } } }] },
      })),
    },
  };
}

export function selectorOf(app: string, version: string): Record<string, string> {
  return { 'app.kubernetes.io/name': app, 'app.kubernetes.io/version': version };
}

/** Poll until `check` returns a value other than undefined/false, or fail with the last error. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** GET over a keep-alive agent (or a fresh connection when none is given). */
export function get(url: string, options: { agent?: http.Agent; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: options.agent ?? false, headers: options.host ? { host: options.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Ready addresses the EndpointSlices of a Service list, read through the API. */
export async function readyAddresses(clients: Clients, serviceName: string): Promise<string[]> {
  const slices = await clients.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${serviceName}` });
  return slices.items.flatMap((slice) => (slice.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)).sort();
}

/** Pod IPs of a version's ready pods, read through the API. */
export async function readyPodIPs(clients: Clients, app: string, version: string): Promise<string[]> {
  const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/name=${app},app.kubernetes.io/version=${version}` });
  return pods.items
    .filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.status!.podIP!)
    .sort();
}

/** Install a version (Deployment + version Service) and wait until `replicas` pods are ready. */
export async function installVersion(clients: Clients, app: string, version: string, options: VersionOptions = {}): Promise<void> {
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment(app, version, options) });
  await clients.core.createNamespacedService({ namespace, body: service(`${app}-${version}`, selectorOf(app, version)) });
  if (options.neverReady) return;
  await eventually(async () => (await readyPodIPs(clients, app, version)).length === (options.replicas ?? 2) - (options.unreadyPods ?? 0));
}
