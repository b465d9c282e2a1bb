import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { markPodTerminating } from '../pod-termination.js';
import { mustType, resourceTypes, type ResourceType } from '../resource-types.js';
import { applyConfiguration } from '../fields/managed-fields.js';
import { StoreError, apiVersionOf, timestamp, type KubeObject, type Store, type WriteAs } from '../store.js';
import { applyDefaults, dropEmptyMetadata } from './defaults.js';
import { matchesFields, parseFieldSelector } from './field-selector.js';
import { parseDocument, readBody } from './http-io.js';
import { matchesLabels, parseLabelSelector } from './label-selector.js';
import { jsonPatch, mergePatch, patchTypes, strategicMergePatch } from './patch.js';
import { ApiError, alreadyExists, badRequest, conflict, invalid, namespaceNotFound, notFound, unsupportedMediaType } from './status.js';
import { validate } from './validation.js';
import { serveWatch } from './watch.js';

const namespaces = mustType('namespaces');
const pods = mustType('pods');
const services = mustType('services');

export interface ApiContext {
  store: Store;
  now: () => Date;
  /** Ends every open watch; filled by serveWatch, drained on close. */
  watches: Set<() => void>;
}

export interface ResourceRequest {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: 'status' | undefined;
  url: URL;
  req: IncomingMessage;
  res: ServerResponse;
  /** Throws the 403 when the caller may not create `name` (a server-side apply that creates checks it). */
  mayCreate?: (name: string) => void;
}

export interface Reply {
  code: number;
  body: unknown;
}

/** Maps the store's errors to the Status the real server answers. */
export function fromStoreError(error: unknown): unknown {
  if (!(error instanceof StoreError)) return error;
  switch (error.reason) {
    case 'NotFound':
      return notFound(error.type, error.objectName);
    case 'AlreadyExists':
      return alreadyExists(error.type, error.objectName);
    case 'Conflict':
      return conflict(error.type, error.objectName);
    case 'Expired':
      return new ApiError(410, 'Expired', error.message);
  }
}

const isDryRun = (url: URL): boolean => url.searchParams.getAll('dryRun').includes('All');

/** The field manager of a write: `?fieldManager=`, else the User-Agent up to its first `/`, as the real server derives it. */
function fieldManagerOf(request: ResourceRequest): string {
  return request.url.searchParams.get('fieldManager') || (request.req.headers['user-agent'] ?? '').split('/')[0]!;
}

/** CRD-served kinds (HTTPRoute) keep kind/apiVersion on list items; built-in lists drop them. */
const isCustomResource = (type: ResourceType): boolean => type.group.endsWith('gateway.networking.k8s.io');

function listBody(context: ApiContext, type: ResourceType, items: KubeObject[], page: { resourceVersion?: string; continue?: string; remainingItemCount?: number } = {}): unknown {
  return {
    kind: `${type.kind}List`,
    apiVersion: apiVersionOf(type),
    metadata: {
      resourceVersion: page.resourceVersion ?? context.store.resourceVersion,
      ...(page.continue ? { continue: page.continue } : {}),
      ...(page.remainingItemCount !== undefined ? { remainingItemCount: page.remainingItemCount } : {}),
    },
    items: isCustomResource(type) ? items : items.map(({ kind: _k, apiVersion: _a, ...item }) => item),
  };
}

/** The etcd key of an object below its resource prefix, which list order and continue tokens follow. */
const listKey = (object: KubeObject): string => (object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name);

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

/** Decodes `?continue=` as the real server encodes it: base64url JSON {v, rv, start}; a bad one is a 400. */
function decodeContinue(token: string): ContinueToken {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (decoded.v !== 'meta.k8s.io/v1') throw new Error('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    if (typeof decoded.rv !== 'number' || typeof decoded.start !== 'string' || decoded.start === '') throw new Error('continue key is not valid: no start key');
    return decoded as ContinueToken;
  } catch (error) {
    const message = error instanceof SyntaxError ? 'continue key is not valid: invalid character' : (error as Error).message;
    throw badRequest(message);
  }
}

const encodeContinue = (token: ContinueToken): string => Buffer.from(JSON.stringify(token)).toString('base64url');

function selectorOf(request: ResourceRequest): { matches: (object: KubeObject) => boolean; filtered: boolean } {
  const labelSelector = parseLabelSelector(request.url.searchParams.get('labelSelector'));
  const fieldSelector = parseFieldSelector(request.url.searchParams.get('fieldSelector'), request.type.kind);
  return {
    matches: (object) => matchesLabels(labelSelector, object.metadata.labels) && matchesFields(fieldSelector, object),
    filtered: labelSelector.length > 0 || fieldSelector.length > 0,
  };
}

export function get(context: ApiContext, request: ResourceRequest): Reply {
  const object = context.store.get(request.type, request.namespace, request.name!);
  if (!object) throw notFound(request.type, request.name!);
  return { code: 200, body: object };
}

/**
 * A list, paged as the real server pages it: `limit` returns that many items and a `continue`
 * token (with `remainingItemCount` when no selector filters), `continue` resumes after the last
 * key. Unlike etcd, a continued page reads the current objects, not a snapshot of the first page.
 */
export function list(context: ApiContext, request: ResourceRequest): Reply {
  const { matches, filtered } = selectorOf(request);
  const params = request.url.searchParams;
  const token = params.get('continue') ? decodeContinue(params.get('continue')!) : undefined;
  if (token && params.get('resourceVersion')) throw badRequest('specifying resource version is not allowed when using continue');
  let items = context.store.list(request.type, request.namespace, matches);
  if (token) items = items.filter((item) => listKey(item) >= token.start);
  const limit = Number(params.get('limit') ?? '');
  // resourceVersion=0 is served from the watch cache, which ignores limit.
  const paged = Number.isInteger(limit) && limit > 0 && params.get('resourceVersion') !== '0';
  if (!paged || items.length <= limit) {
    return { code: 200, body: listBody(context, request.type, items, token ? { resourceVersion: String(token.rv) } : {}) };
  }
  const page = items.slice(0, limit);
  const rv = token?.rv ?? Number(context.store.resourceVersion);
  return {
    code: 200,
    body: listBody(context, request.type, page, {
      resourceVersion: String(rv),
      continue: encodeContinue({ v: 'meta.k8s.io/v1', rv, start: `${listKey(page.at(-1)!)}\u0000` }),
      ...(filtered ? {} : { remainingItemCount: items.length - limit }),
    }),
  };
}

export function watch(context: ApiContext, request: ResourceRequest): void {
  const { matches, filtered } = selectorOf(request);
  const timeout = Number(request.url.searchParams.get('timeoutSeconds') ?? '');
  const params = request.url.searchParams;
  const registered: { end?: () => void } = {};
  const end = serveWatch(
    request.req,
    request.res,
    {
      store: context.store,
      type: request.type,
      namespace: request.namespace,
      matches,
      filtered,
      resourceVersion: params.get('resourceVersion') ?? undefined,
      timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : 1800,
      bookmarks: params.get('allowWatchBookmarks') === 'true',
    },
    () => {
      if (registered.end) context.watches.delete(registered.end);
    },
  );
  registered.end = end;
  if (!request.res.writableEnded) context.watches.add(end);
}

/** Decodes a create/update body and checks it names the kind, name and namespace of the URL. */
async function readObject(request: ResourceRequest): Promise<KubeObject> {
  const text = await readBody(request.req);
  const contentType = request.req.headers['content-type'] ?? 'application/json';
  if (!/^application\/(json|yaml)|^\*\/\*/.test(contentType)) throw unsupportedMediaType();
  const body = parseDocument(text, contentType, "couldn't get version/kind; json parse error: ");
  return checkObject(request, body);
}

function checkObject(request: ResourceRequest, body: unknown): KubeObject {
  const { type } = request;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest(`couldn't get version/kind; json parse error: json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`);
  const object = body as KubeObject;
  // Like the real decoder, a body without kind/apiVersion takes them from the endpoint.
  object.kind ||= type.kind;
  object.apiVersion ||= apiVersionOf(type);
  if (object.apiVersion !== apiVersionOf(type)) {
    throw badRequest(`the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`);
  }
  if (object.kind !== type.kind) throw badRequest(`${object.kind} in version "${type.version}" cannot be handled as a ${type.kind}: no kind "${object.kind}" is registered for version "${apiVersionOf(type)}"`);
  if (typeof object.metadata !== 'object' || object.metadata === null) object.metadata = { name: '' };
  const meta = object.metadata;
  if (type.namespaced) {
    if (meta.namespace && meta.namespace !== request.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = request.namespace;
  }
  if (request.name !== undefined && meta.name !== request.name) {
    throw badRequest(`the name of the object (${meta.name ?? ''}) does not match the name on the URL (${request.name})`);
  }
  delete meta.managedFields;
  return object;
}

function requireNamespace(context: ApiContext, type: ResourceType, namespace: string | undefined, name: string): void {
  if (!type.namespaced || namespace === undefined) return;
  const found = context.store.get(namespaces, undefined, namespace);
  if (!found) throw namespaceNotFound(namespace);
  if (found.metadata.deletionTimestamp) {
    throw new ApiError(403, 'Forbidden', `${type.resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
      name,
      ...(type.group ? { group: type.group } : {}),
      kind: type.resource,
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
    });
  }
}

function clusterIPAllocator(store: Store): () => string {
  return () => {
    const used = new Set(store.list(services).map((s) => (s.spec as { clusterIP?: string } | undefined)?.clusterIP));
    for (;;) {
      const n = 2 + Math.floor(Math.random() * 65_000);
      const ip = `10.0.${Math.floor(n / 256)}.${n % 256}`;
      if (!used.has(ip) && n % 256 !== 0 && n % 256 !== 255) return ip;
    }
  };
}

function prepareCreate(context: ApiContext, type: ResourceType, object: KubeObject): KubeObject {
  const meta = object.metadata;
  for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) delete meta[field];
  // Status belongs to controllers: a create resets it, as the real registry strategies do.
  if (type.subresources.includes('status')) delete object.status;
  const defaulted = applyDefaults(dropEmptyMetadata(object), { allocateClusterIP: clusterIPAllocator(context.store) });
  const causes = validate(defaulted);
  if (causes.length) throw invalid(type, meta.name || meta.generateName || '', causes);
  return defaulted;
}

function createObject(context: ApiContext, request: ResourceRequest, object: KubeObject, as: WriteAs): Reply {
  const { type } = request;
  requireNamespace(context, type, request.namespace, object.metadata.name);
  const prepared = prepareCreate(context, type, object);
  if (isDryRun(request.url)) {
    if (prepared.metadata.name && context.store.get(type, request.namespace, prepared.metadata.name)) throw alreadyExists(type, prepared.metadata.name);
    return { code: 201, body: { ...prepared, metadata: { ...prepared.metadata, uid: randomUUID(), creationTimestamp: timestamp(context.now()), ...(type.hasGeneration ? { generation: 1 } : {}) } } };
  }
  try {
    return { code: 201, body: context.store.create(type, prepared, as) };
  } catch (error) {
    throw fromStoreError(error);
  }
}

export async function create(context: ApiContext, request: ResourceRequest): Promise<Reply> {
  const object = await readObject({ ...request, name: undefined });
  return createObject(context, request, object, { manager: fieldManagerOf(request) });
}

/** Writes `next` over `current` (an update, a patch or an apply), honouring status and dryRun. */
function writeObject(context: ApiContext, request: ResourceRequest, current: KubeObject, next: KubeObject, expectedResourceVersion: string | undefined, as: WriteAs): Reply {
  const { type, store } = { type: request.type, store: context.store };
  if (expectedResourceVersion && expectedResourceVersion !== current.metadata.resourceVersion) throw conflict(type, current.metadata.name);
  let candidate: KubeObject;
  if (request.subresource === 'status') {
    candidate = { ...current, status: next.status };
  } else {
    const meta = next.metadata;
    for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) delete meta[field];
    meta.uid = current.metadata.uid;
    meta.creationTimestamp = current.metadata.creationTimestamp;
    if (type.subresources.includes('status')) next.status = current.status;
    candidate = applyDefaults(dropEmptyMetadata(next), { previous: current, allocateClusterIP: clusterIPAllocator(store) });
    const causes = validate(candidate, current);
    if (causes.length) throw invalid(type, current.metadata.name, causes);
  }
  if (isDryRun(request.url)) {
    return { code: 200, body: { ...candidate, metadata: { ...candidate.metadata, resourceVersion: current.metadata.resourceVersion } } };
  }
  try {
    const subresource = request.subresource === 'status' ? { subresource: 'status' as const } : {};
    const stored = store.update(type, candidate, { expectedResourceVersion: current.metadata.resourceVersion, ...subresource, ...as });
    // An object waiting on finalizers goes once the last one is removed.
    if (stored.metadata.deletionTimestamp && !stored.metadata.finalizers?.length && type !== pods && type !== namespaces) {
      return { code: 200, body: store.delete(type, request.namespace, stored.metadata.name) };
    }
    return { code: 200, body: stored };
  } catch (error) {
    throw fromStoreError(error);
  }
}

export async function update(context: ApiContext, request: ResourceRequest): Promise<Reply> {
  const object = await readObject(request);
  const current = context.store.get(request.type, request.namespace, request.name!);
  if (!current) throw notFound(request.type, request.name!);
  return writeObject(context, request, current, object, object.metadata.resourceVersion || undefined, { manager: fieldManagerOf(request) });
}

export async function patch(context: ApiContext, request: ResourceRequest): Promise<Reply> {
  const { type, url } = request;
  const contentType = (request.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const known = Object.values(patchTypes) as string[];
  if (!known.includes(contentType)) throw unsupportedMediaType();
  const isApply = contentType === patchTypes.apply;
  const fieldManager = url.searchParams.get('fieldManager');
  if (isApply && !fieldManager) {
    throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
    });
  }
  if (!isApply && url.searchParams.has('force')) {
    throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch', {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch', field: 'force' }],
    });
  }
  const text = await readBody(request.req);
  const document = parseDocument(text, isApply ? 'application/yaml' : 'application/json', 'error decoding patch: ');
  const current = context.store.get(type, request.namespace, request.name!);
  const applying = { manager: fieldManager ?? '', force: url.searchParams.get('force') === 'true', subresource: request.subresource, time: timestamp(context.now()) };
  if (!current) {
    if (!isApply) throw notFound(type, request.name!);
    request.mayCreate?.(request.name!);
    const config = checkObject(request, document);
    const { object, managedFields } = applyConfiguration(type, undefined, config, applying);
    return createObject(context, request, object, { managedFields });
  }
  let patched: unknown;
  let as: WriteAs = { manager: fieldManagerOf(request) };
  switch (contentType) {
    case patchTypes.merge:
      patched = mergePatch(current, document);
      break;
    case patchTypes.json:
      patched = jsonPatch(current, document);
      break;
    case patchTypes.strategic:
      patched = strategicMergePatch(current, document);
      break;
    default: {
      const applied = applyConfiguration(type, current, checkObject(request, structuredClone(document)), applying);
      patched = applied.object;
      as = { managedFields: applied.managedFields };
    }
  }
  const next = checkObject(request, patched);
  const expected = next.metadata.resourceVersion;
  return writeObject(context, request, current, next, expected || undefined, as);
}

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

async function readDeleteOptions(request: ResourceRequest): Promise<DeleteOptions> {
  const text = await readBody(request.req);
  const options = (text.trim() ? parseDocument(text, request.req.headers['content-type'] ?? 'application/json', "couldn't get version/kind; json parse error: ") : {}) as DeleteOptions;
  const grace = request.url.searchParams.get('gracePeriodSeconds');
  if (grace !== null) options.gracePeriodSeconds = Number(grace);
  const propagation = request.url.searchParams.get('propagationPolicy');
  if (propagation) options.propagationPolicy = propagation;
  if (isDryRun(request.url)) options.dryRun = ['All'];
  return options;
}

/** Deletes one object; `removedNow` when it left the store at once (no grace period, no finalizers). */
function deleteOne(context: ApiContext, type: ResourceType, current: KubeObject, options: DeleteOptions): { object: KubeObject; removedNow: boolean } {
  const { store } = context;
  const { namespace, name } = current.metadata;
  const { uid, resourceVersion } = options.preconditions ?? {};
  if (uid && uid !== current.metadata.uid) throw conflict(type, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`);
  if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
  }
  const pending = (object: KubeObject) => ({ object, removedNow: false });
  if (options.dryRun?.includes('All')) return { object: current, removedNow: !current.metadata.finalizers?.length };
  if (type === pods) return pending(deletePod(context, current, options.gracePeriodSeconds));
  if (type === namespaces) return pending(deleteNamespace(context, current));
  if (current.metadata.finalizers?.length) {
    if (current.metadata.deletionTimestamp) return pending(current);
    current.metadata.deletionTimestamp = timestamp(context.now());
    current.metadata.deletionGracePeriodSeconds = 0;
    return pending(store.update(type, current));
  }
  return { object: store.delete(type, namespace, name), removedNow: true };
}

/** What DELETE answers for an object removed at once when its registry does not return it (finalizeDelete). */
function deletedStatus(type: ResourceType, object: KubeObject): unknown {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: object.metadata.name, ...(type.group ? { group: type.group } : {}), kind: type.resource, uid: object.metadata.uid },
  };
}

/** Deleting a terminating pod again with gracePeriodSeconds=0 removes it now (a force delete). */
function deletePod(context: ApiContext, pod: KubeObject, grace: number | undefined): KubeObject {
  const { namespace, name, deletionTimestamp } = pod.metadata;
  if (deletionTimestamp && grace !== undefined && grace <= 0) return context.store.delete(pods, namespace, name);
  return markPodTerminating(context.store, namespace!, name, grace, context.now());
}

/**
 * Namespace deletion, shortened: the namespace answers as Terminating, everything in it is
 * removed at once (pods without a grace period), then the namespace itself.
 */
function deleteNamespace(context: ApiContext, namespace: KubeObject): KubeObject {
  const { store } = context;
  const name = namespace.metadata.name;
  const terminating = store.update(namespaces, { ...namespace, metadata: { ...namespace.metadata, deletionTimestamp: timestamp(context.now()) } });
  store.update(namespaces, { ...terminating, status: { phase: 'Terminating' } }, { subresource: 'status' });
  const answer = store.mustGet(namespaces, undefined, name);
  setImmediate(() => {
    for (const type of namespacedTypes) for (const object of store.list(type, name)) tryDelete(store, type, name, object.metadata.name);
    tryDelete(store, namespaces, undefined, name);
  });
  return answer;
}

const namespacedTypes = resourceTypes.filter((t) => t.namespaced);

function tryDelete(store: Store, type: ResourceType, namespace: string | undefined, name: string): void {
  try {
    store.delete(type, namespace, name);
  } catch (error) {
    if (!(error instanceof StoreError && error.reason === 'NotFound')) throw error;
  }
}

export async function remove(context: ApiContext, request: ResourceRequest): Promise<Reply> {
  const options = await readDeleteOptions(request);
  const current = context.store.get(request.type, request.namespace, request.name!);
  if (!current) throw notFound(request.type, request.name!);
  try {
    const { object, removedNow } = deleteOne(context, request.type, current, options);
    return { code: 200, body: removedNow && !request.type.returnsDeletedObject ? deletedStatus(request.type, object) : object };
  } catch (error) {
    throw fromStoreError(error);
  }
}

export async function removeCollection(context: ApiContext, request: ResourceRequest): Promise<Reply> {
  const options = await readDeleteOptions(request);
  const { matches } = selectorOf(request);
  const deleted: KubeObject[] = [];
  for (const object of context.store.list(request.type, request.namespace, matches)) {
    try {
      deleted.push(deleteOne(context, request.type, object, options).object);
    } catch (error) {
      if (!(error instanceof StoreError && error.reason === 'NotFound')) throw fromStoreError(error);
    }
  }
  return { code: 200, body: listBody(context, request.type, deleted) };
}
