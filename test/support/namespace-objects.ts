import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/** One object of a namespace as an operator lists it: kind, name, labels, resourceVersion. */
export interface Listed {
  kind: string;
  name: string;
  labels: Record<string, string>;
  resourceVersion: string;
}

async function getJson(kc: KubeConfig, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(kc.getCurrentCluster()!.server + path);
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Every object of every namespaced kind the API server lists in discovery, in one namespace:
 * what "nothing was left behind" and "nothing was changed" are checked against.
 */
export async function namespaceObjects(kubeconfigPath: string, context: string, namespace: string): Promise<Listed[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  kc.setCurrentContext(context);
  const groupVersions = ['/api/v1'];
  const groups = (await getJson(kc, '/apis')).body.groups as { versions: { groupVersion: string }[] }[];
  for (const group of groups) for (const version of group.versions) groupVersions.push(`/apis/${version.groupVersion}`);
  const found: Listed[] = [];
  for (const base of groupVersions) {
    const resources = ((await getJson(kc, base)).body.resources ?? []) as { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
    for (const resource of resources) {
      if (!resource.namespaced || resource.name.includes('/') || !resource.verbs.includes('list')) continue;
      const list = await getJson(kc, `${base}/namespaces/${namespace}/${resource.name}`);
      for (const item of (list.body.items ?? []) as { metadata: { name: string; labels?: Record<string, string>; resourceVersion: string } }[]) {
        found.push({ kind: resource.kind, name: item.metadata.name, labels: item.metadata.labels ?? {}, resourceVersion: item.metadata.resourceVersion });
      }
    }
  }
  return found.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}

/** Objects that belong to a version of an app by their labels or by their name. */
export function objectsOfVersion(objects: readonly Listed[], app: string, version: string): Listed[] {
  return objects.filter((o) => o.labels['app.kubernetes.io/version'] === version || o.name.startsWith(`${app}-${version}`));
}
