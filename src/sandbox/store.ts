import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { managedFieldsAfterUpdate, type ManagedFieldsEntry } from './fields/managed-fields.js';
import type { ResourceType } from './resource-types.js';

/** A Kubernetes object as the sandbox stores it: plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  generateName?: string;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export type StoreErrorReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Expired';

/** What the API layer turns into a `Status` body; the store itself knows nothing of HTTP. */
export class StoreError extends Error {
  constructor(
    readonly reason: StoreErrorReason,
    readonly type: ResourceType,
    readonly objectName: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

interface HistoryEntry {
  rv: number;
  resource: string;
  namespace: string | undefined;
  event: WatchEvent;
}

type Listener = (event: WatchEvent) => void;

interface Subscription {
  resource: string;
  namespace: string | undefined;
  listener: Listener;
}

const historyLimit = 5000;

/**
 * Who writes, for `metadata.managedFields`: a field manager whose update is recorded (as an API
 * write by that manager would be), or entries computed by a server-side apply. Neither: the
 * object's managedFields stay as they were (internal bookkeeping such as a deletionTimestamp).
 */
export interface WriteAs {
  manager?: string;
  managedFields?: ManagedFieldsEntry[];
}

/**
 * The sandbox's etcd: every object of one region, one monotonically increasing resourceVersion
 * across all kinds (as etcd's revision is), a bounded event history so a watch can start from a
 * past resourceVersion, and synchronous change notification for the controllers.
 *
 * Objects handed out are deep copies; callers never share references with the store.
 */
export class Store {
  /** resource -> namespace ('' for cluster-scoped) -> name -> object: a list reads one type, one namespace. */
  private readonly objects = new Map<string, Map<string, Map<string, KubeObject>>>();
  private readonly history: HistoryEntry[] = [];
  private readonly subscriptions = new Set<Subscription>();
  private revision = 100;

  constructor(private readonly now: () => Date = () => new Date()) {}

  get resourceVersion(): string {
    return String(this.revision);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.bucket(type, namespace)?.get(name);
    return found ? structuredClone(found) : undefined;
  }

  mustGet(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.get(type, namespace, name);
    if (!found) throw notFound(type, name);
    return found;
  }

  /** All objects of a type, in one namespace or (namespace undefined) all, sorted by name. */
  list(type: ResourceType, namespace?: string, filter?: (object: KubeObject) => boolean): KubeObject[] {
    const byNamespace = this.objects.get(type.resource);
    if (!byNamespace) return [];
    const buckets = namespace === undefined || !type.namespaced ? [...byNamespace.values()] : [byNamespace.get(namespace) ?? new Map<string, KubeObject>()];
    const items: KubeObject[] = [];
    for (const bucket of buckets) {
      for (const object of bucket.values()) {
        if (!filter || filter(object)) items.push(structuredClone(object));
      }
    }
    // Byte order of the keys, as etcd returns a range (list pages and continue tokens rely on it).
    const key = (object: KubeObject): string => keyOf(type, object.metadata.namespace, object.metadata.name);
    return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  create(type: ResourceType, input: KubeObject, as: WriteAs = {}): KubeObject {
    const object = structuredClone(input);
    delete object.metadata.managedFields;
    const namespace = type.namespaced ? object.metadata.namespace : undefined;
    if (!object.metadata.name && object.metadata.generateName) {
      object.metadata.name = object.metadata.generateName + randomSuffix();
    }
    const bucket = this.bucket(type, namespace, true)!;
    if (bucket.has(object.metadata.name)) {
      throw new StoreError('AlreadyExists', type, object.metadata.name, `${type.resource}${type.group ? '.' + type.group : ''} "${object.metadata.name}" already exists`);
    }
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    object.metadata = {
      ...object.metadata,
      ...(namespace !== undefined ? { namespace } : {}),
      uid: randomUUID(),
      resourceVersion: this.nextRevision(),
      creationTimestamp: timestamp(this.now()),
      ...(type.hasGeneration ? { generation: 1 } : {}),
    };
    if (!type.namespaced) delete object.metadata.namespace;
    const managedFields = as.managedFields ?? (as.manager !== undefined ? managedFieldsAfterUpdate(type, undefined, object, { manager: as.manager, time: object.metadata.creationTimestamp! }) : []);
    if (managedFields.length > 0) object.metadata.managedFields = managedFields;
    bucket.set(object.metadata.name, object);
    this.emit(type, namespace, { type: 'ADDED', object });
    return structuredClone(object);
  }

  /**
   * Replace an object. `expectedResourceVersion`, when given, must match the stored one (409
   * Conflict otherwise), as PUT with metadata.resourceVersion does. With `subresource: 'status'`
   * only `.status` is taken from the input; otherwise `.status` is kept from the stored object
   * for types that have a status subresource. Unchanged content writes nothing and keeps the
   * resourceVersion, as the real server does for a no-op update.
   */
  update(
    type: ResourceType,
    input: KubeObject,
    options: { expectedResourceVersion?: string | undefined; subresource?: 'status' } & WriteAs = {},
  ): KubeObject {
    const namespace = type.namespaced ? input.metadata.namespace : undefined;
    const bucket = this.bucket(type, namespace);
    const current = bucket?.get(input.metadata.name);
    if (!bucket || !current) throw notFound(type, input.metadata.name);
    if (options.expectedResourceVersion !== undefined && options.expectedResourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type, input.metadata.name);
    }
    let next: KubeObject;
    if (options.subresource === 'status') {
      next = { ...structuredClone(current), status: structuredClone(input.status) };
    } else {
      next = structuredClone(input);
      if (type.subresources.includes('status')) {
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
      next.metadata = {
        ...next.metadata,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        ...(current.metadata.deletionTimestamp ? { deletionTimestamp: current.metadata.deletionTimestamp } : {}),
      };
      if (current.metadata.generation !== undefined) next.metadata.generation = current.metadata.generation;
    }
    next.apiVersion = apiVersionOf(type);
    next.kind = type.kind;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    delete next.metadata.managedFields;
    const managedFields =
      options.managedFields ??
      (options.manager !== undefined
        ? managedFieldsAfterUpdate(type, current, next, { manager: options.manager, subresource: options.subresource, time: timestamp(this.now()) })
        : (current.metadata.managedFields as ManagedFieldsEntry[] | undefined));
    if (managedFields?.length) next.metadata.managedFields = managedFields;
    if (isDeepStrictEqual(next, current)) return structuredClone(current);
    if (type.hasGeneration && specChanged(current, next)) {
      next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    next.metadata.resourceVersion = this.nextRevision();
    bucket.set(input.metadata.name, next);
    this.emit(type, namespace, { type: 'MODIFIED', object: next });
    return structuredClone(next);
  }

  /** Remove an object now (graceful pod deletion is the API layer's and kubelet's business). */
  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const ns = type.namespaced ? namespace : undefined;
    const bucket = this.bucket(type, ns);
    const current = bucket?.get(name);
    if (!bucket || !current) throw notFound(type, name);
    bucket.delete(name);
    const removed: KubeObject = { ...current, metadata: { ...current.metadata, resourceVersion: this.nextRevision() } };
    this.emit(type, ns, { type: 'DELETED', object: removed });
    return structuredClone(removed);
  }

  /**
   * Listen to changes of one type (in one namespace, or all when undefined). With
   * `sinceResourceVersion`, events after that version are replayed first; a version older than
   * the kept history throws `Expired` (the API answers 410 Gone, as etcd compaction does).
   */
  watch(type: ResourceType, namespace: string | undefined, listener: Listener, sinceResourceVersion?: string): () => void {
    const ns = type.namespaced ? namespace : undefined;
    if (sinceResourceVersion !== undefined && sinceResourceVersion !== '' && sinceResourceVersion !== '0') {
      const since = Number(sinceResourceVersion);
      const oldest = this.history[0]?.rv ?? this.revision + 1;
      if (!Number.isFinite(since) || (since < oldest - 1 && since < this.revision)) {
        throw new StoreError('Expired', type, '', `too old resource version: ${sinceResourceVersion} (${oldest - 1})`);
      }
      for (const entry of this.history) {
        if (entry.rv > since && entry.resource === type.resource && (ns === undefined || entry.namespace === ns)) {
          listener(structuredClone(entry.event));
        }
      }
    }
    const subscription: Subscription = { resource: type.resource, namespace: ns, listener };
    this.subscriptions.add(subscription);
    return () => this.subscriptions.delete(subscription);
  }

  private bucket(type: ResourceType, namespace: string | undefined, create = false): Map<string, KubeObject> | undefined {
    const ns = type.namespaced ? (namespace ?? '') : '';
    let byNamespace = this.objects.get(type.resource);
    if (!byNamespace) {
      if (!create) return undefined;
      byNamespace = new Map();
      this.objects.set(type.resource, byNamespace);
    }
    let bucket = byNamespace.get(ns);
    if (!bucket && create) {
      bucket = new Map();
      byNamespace.set(ns, bucket);
    }
    return bucket;
  }

  private nextRevision(): string {
    this.revision += 1;
    return String(this.revision);
  }

  private emit(type: ResourceType, namespace: string | undefined, event: WatchEvent): void {
    const rv = Number(event.object.metadata.resourceVersion);
    this.history.push({ rv, resource: type.resource, namespace, event: structuredClone(event) });
    if (this.history.length > historyLimit) this.history.splice(0, this.history.length - historyLimit);
    for (const subscription of [...this.subscriptions]) {
      if (subscription.resource !== type.resource) continue;
      if (subscription.namespace !== undefined && subscription.namespace !== namespace) continue;
      subscription.listener(structuredClone(event));
    }
  }
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function keyOf(type: ResourceType, namespace: string | undefined, name: string): string {
  return type.namespaced ? `${type.resource}/${namespace ?? ''}/${name}` : `${type.resource}/${name}`;
}

function specChanged(before: KubeObject, after: KubeObject): boolean {
  const strip = ({ metadata: _m, status: _s, ...rest }: KubeObject): Record<string, unknown> => rest;
  return !isDeepStrictEqual(strip(before), strip(after));
}

function notFound(type: ResourceType, name: string): StoreError {
  return new StoreError('NotFound', type, name, `${type.resource}${type.group ? '.' + type.group : ''} "${name}" not found`);
}

function conflict(type: ResourceType, name: string): StoreError {
  return new StoreError(
    'Conflict',
    type,
    name,
    `Operation cannot be fulfilled on ${type.resource}${type.group ? '.' + type.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 5; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}


