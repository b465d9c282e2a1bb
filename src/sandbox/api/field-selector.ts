import type { KubeObject } from '../store.js';
import { badRequest } from './status.js';

interface FieldRequirement {
  path: string;
  equal: boolean;
  value: string;
}

/** Field labels the real server accepts per kind beyond metadata.name / metadata.namespace. */
const extraFields: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Namespace: ['status.phase'],
  Secret: ['type'],
  Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
};

/** Parses `?fieldSelector=` (`a=b`, `a==b`, `a!=b`, comma separated) for one kind. */
export function parseFieldSelector(text: string | null | undefined, kind: string): FieldRequirement[] {
  const source = (text ?? '').trim();
  if (source === '') return [];
  return source.split(',').map((part) => {
    const match = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!match) throw badRequest(`invalid selector: '${source}'; can't understand '${part}'`);
    const [, path, op, value] = match as unknown as [string, string, string, string];
    const allowed = ['metadata.name', 'metadata.namespace', ...(extraFields[kind] ?? [])];
    if (!allowed.includes(path)) throw badRequest(`field label not supported: ${path}`);
    return { path, equal: op !== '!=', value };
  });
}

export function matchesFields(requirements: FieldRequirement[], object: KubeObject): boolean {
  return requirements.every(({ path, equal, value }) => {
    let current: unknown = object;
    for (const segment of path.split('.')) {
      current = current && typeof current === 'object' ? (current as Record<string, unknown>)[segment] : undefined;
    }
    const actual = typeof current === 'string' || typeof current === 'number' || typeof current === 'boolean' ? String(current) : '';
    return (actual === value) === equal;
  });
}
