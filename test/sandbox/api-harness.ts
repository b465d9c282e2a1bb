import { request as httpsRequest } from 'node:https';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, NetworkingV1Api, DiscoveryV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../src/sandbox/api-server.js';
import { Faults } from '../../src/sandbox/faults.js';
import { kubeconfigYaml } from '../../src/sandbox/kubeconfig.js';
import { Store } from '../../src/sandbox/store.js';

export const token = 'test-token-0123456789';

/** A real API server on a free port over a fresh store, with real client-node clients. */
export async function startHarness(faultSettings: ConstructorParameters<typeof Faults>[0] = {}) {
  const store = new Store();
  const faults = new Faults(faultSettings);
  const server: ApiServer = await startApiServer({ store, region: 'eu-west', token, faults });
  const kubeconfig = kubeconfigYaml([{ name: 'eu-west', url: server.url, token }]);
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return {
    store,
    faults,
    server,
    kubeconfig,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

export interface StatusJson {
  kind: string;
  code: number;
  reason: string;
  message: string;
  details: { name?: string; causes: { reason: string; message: string; field?: string }[] };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw JSON bodies, checked by expect()
  json: any;
}

/** A raw HTTPS request (self-signed certificate accepted), for what clients do not send. */
export function raw(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: string; contentType?: string; auth?: string | null; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth !== null) headers.authorization = options.auth ?? `Bearer ${token}`;
    if (options.contentType) headers['content-type'] = options.contentType;
    const req = httpsRequest(url, { method, headers, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The Status body of a failed client-node call. */
export async function statusOf(promise: Promise<unknown>): Promise<StatusJson> {
  try {
    await promise;
  } catch (error) {
    const body = (error as { body?: unknown }).body;
    return (typeof body === 'string' ? JSON.parse(body) : body) as StatusJson;
  }
  throw new Error('expected the call to fail');
}

export function serviceManifest(name: string, namespace: string, selector: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'shop' } },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

export function deploymentManifest(name: string, namespace: string, labels: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'shop',
              image: 'registry.example.com/shop:v1',
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
            },
          ],
        },
      },
    },
  };
}

