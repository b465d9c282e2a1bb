import { applyDefaults } from '../api/defaults.js';
import type { KubeObject } from '../store.js';

const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The `pod-template-hash` the real controller computes: FNV-32a over the template, printed in
 * decimal and mapped through Kubernetes' "safe" alphabet (rand.SafeEncodeString), e.g. 7877656d5.
 * The bytes hashed differ from Go's (canonical JSON here), so values differ from a real cluster.
 */
export function templateHash(template: unknown): string {
  let hash = 0x811c9dc5;
  const text = canonicalJson(template);
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return [...String(hash)].map((digit) => safeAlphabet[digit.charCodeAt(0) % safeAlphabet.length]).join('');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: Record<string, unknown>[]; [field: string]: unknown };
}

/** A Pod as the ReplicaSet controller creates it, with the defaults the API server fills in. */
export function podFromTemplate(deployment: KubeObject, template: PodTemplate, hash: string): KubeObject {
  const name = deployment.metadata.name;
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: '',
      generateName: `${name}-${hash}-`,
      namespace: deployment.metadata.namespace,
      labels: { ...template.metadata?.labels, 'pod-template-hash': hash },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: deployment.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: structuredClone(template.spec ?? {}),
  };
  return applyDefaults(pod, { allocateClusterIP: () => '' });
}
