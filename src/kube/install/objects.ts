/** A Kubernetes object as a chart or a manifest file renders it: plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** What an inventory records of one installed object: enough to find and delete it again. */
export interface InventoryEntry {
  apiVersion: string;
  kind: string;
  name: string;
}

/** An object or an inventory entry: anything that names one object of a kind. */
export type ObjectRef = InventoryEntry | Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>;

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

export function entryOf(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): InventoryEntry {
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
}

/** "ConfigMap shop-v42-config" */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${'metadata' in ref ? ref.metadata.name : ref.name}`;
}

/** Same object: same group, kind and name (a version change of the API is the same object). */
export function sameObject(a: ObjectRef, b: ObjectRef): boolean {
  const name = (ref: ObjectRef): string => ('metadata' in ref ? ref.metadata.name : ref.name);
  return groupOf(a.apiVersion) === groupOf(b.apiVersion) && a.kind === b.kind && name(a) === name(b);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
