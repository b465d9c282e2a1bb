import { isDeepStrictEqual } from 'node:util';
import { ApiError } from './status.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const patchTypes = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces. */
export function mergePatch(original: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(original) ? structuredClone(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value) as Json;
  }
  return result;
}

/** RFC 6902 JSON patch. A failing operation is a 422, as the real server answers. */
export function jsonPatch(original: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(original) as Json;
  for (const raw of operations) {
    if (!isObject(raw)) throw patchFailed('invalid operation');
    const op = raw.op;
    const path = typeof raw.path === 'string' ? raw.path : undefined;
    if (path === undefined) throw patchFailed(`${JSON.stringify(op)} operation missing path`);
    switch (op) {
      case 'add':
        doc = addAt(doc, path, structuredClone(raw.value ?? null), 'add');
        break;
      case 'remove':
        doc = removeAt(doc, path).doc;
        break;
      case 'replace':
        getAt(doc, path, 'replace');
        doc = addAt(removeAt(doc, path).doc, path, structuredClone(raw.value ?? null), 'replace');
        break;
      case 'move': {
        const from = typeof raw.from === 'string' ? raw.from : '';
        const removed = removeAt(doc, from);
        doc = addAt(removed.doc, path, removed.value, 'move');
        break;
      }
      case 'copy':
        doc = addAt(doc, path, structuredClone(getAt(doc, typeof raw.from === 'string' ? raw.from : '', 'copy')), 'copy');
        break;
      case 'test':
        if (!isDeepStrictEqual(getAt(doc, path, 'test'), raw.value)) throw patchFailed(`testing value ${path} failed: test failed`);
        break;
      default:
        throw patchFailed(`Unexpected kind: ${JSON.stringify(op)}`);
    }
  }
  return doc;
}

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message }],
  });
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw patchFailed(`invalid JSON pointer: ${path}`);
  return path.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, parts: string[], op: string, path: string): Json {
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    const next = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (next === undefined) throw patchFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    node = next;
  }
  return node;
}

function getAt(doc: Json, path: string, op: string): Json {
  const parts = pointer(path);
  if (parts.length === 0) return doc;
  const parent = parentOf(doc, parts, op, path);
  const last = parts[parts.length - 1]!;
  const value = Array.isArray(parent) ? parent[Number(last)] : isObject(parent) ? parent[last] : undefined;
  if (value === undefined) throw patchFailed(`${op} operation does not apply: doc is missing key: ${path}: missing value`);
  return value;
}

function addAt(doc: Json, path: string, value: Json, op: string): Json {
  const parts = pointer(path);
  if (parts.length === 0) return value;
  const parent = parentOf(doc, parts, op, path);
  const last = parts[parts.length - 1]!;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw patchFailed(`${op} operation does not apply: doc is missing path: "${path}": invalid index`);
    parent.splice(index, 0, value);
  } else if (isObject(parent)) {
    parent[last] = value;
  } else {
    throw patchFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return doc;
}

function removeAt(doc: Json, path: string): { doc: Json; value: Json } {
  const parts = pointer(path);
  const parent = parentOf(doc, parts, 'remove', path);
  const last = parts[parts.length - 1]!;
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) throw patchFailed(`remove operation does not apply: doc is missing path: "${path}": invalid index`);
    const [value] = parent.splice(index, 1);
    return { doc, value: value! };
  }
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last]!;
    delete parent[last];
    return { doc, value };
  }
  throw patchFailed(`remove operation does not apply: doc is missing path: "${path}": missing value`);
}

/**
 * The merge key of a list, by field name and where it sits, for the fields of the built-in kinds
 * that cutover and kubectl touch. `undefined` means the list is replaced as a whole (atomic).
 */
function mergeKeyOf(path: string[], field: string): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'ports': {
      const parent = path[path.length - 1];
      if (parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers') return 'containerPort';
      return path.length === 1 && path[0] === 'spec' ? 'port' : undefined;
    }
    default:
      return undefined;
  }
}

/** Primitive lists that merge as sets (patchStrategy: merge without a key). */
const mergedPrimitiveLists = new Set(['finalizers']);

/**
 * Strategic merge patch for the built-in kinds: maps merge, keyed lists (containers by name,
 * ports by port, env by name, ...) merge by key, other lists replace; directives `$patch:
 * replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>` are honoured.
 */
export function strategicMergePatch(original: unknown, patch: unknown, path: string[] = []): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive === 'delete') return undefined;
  const result: JsonObject = isObject(original) ? structuredClone(original) : {};
  const orders: Record<string, Json[]> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) {
      if (Array.isArray(value)) orders[key.slice('$setElementOrder/'.length)] = value;
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) result[field] = current.filter((item) => !value.some((v) => isDeepStrictEqual(v, item)));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = result[key];
    let next: unknown;
    if (Array.isArray(value)) next = mergeList(current, value, [...path], key);
    else if (isObject(value)) next = strategicMergePatch(current, value, [...path, key]);
    else next = value;
    if (next === undefined) delete result[key];
    else result[key] = next as Json;
  }
  for (const [field, order] of Object.entries(orders)) {
    const list = result[field];
    if (Array.isArray(list)) result[field] = applyOrder(list, order, mergeKeyOf(path, field));
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}

function mergeList(current: unknown, patch: Json[], path: string[], field: string): Json[] {
  const key = mergeKeyOf(path, field);
  const replaceAll = patch.some((item) => isObject(item) && item.$patch === 'replace' && Object.keys(item).length === 1);
  const items = patch.filter((item) => !(isObject(item) && item.$patch === 'replace' && Object.keys(item).length === 1));
  if (replaceAll || !Array.isArray(current)) return items.filter((item) => !(isObject(item) && item.$patch === 'delete')).map(stripDirectives);
  const existing = current as Json[];
  if (!key) {
    if (mergedPrimitiveLists.has(field)) return [...existing, ...items.filter((item) => !existing.some((c) => isDeepStrictEqual(c, item)))];
    return items.map(stripDirectives);
  }
  const result = structuredClone(existing);
  for (const item of items) {
    if (!isObject(item)) continue;
    const index = result.findIndex((candidate) => isObject(candidate) && isDeepStrictEqual(candidate[key], item[key]));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMergePatch(result[index], item, [...path, field]) as Json;
    } else {
      result.push(stripDirectives(item));
    }
  }
  return result;
}

function applyOrder(list: Json[], order: Json[], key: string | undefined): Json[] {
  const identity = (item: Json): Json => (key && isObject(item) ? (item[key] ?? null) : item);
  const ordered: Json[] = [];
  for (const wanted of order) {
    const want = key && isObject(wanted) ? (wanted[key] ?? null) : wanted;
    const found = list.find((item) => isDeepStrictEqual(identity(item), want));
    if (found !== undefined && !ordered.includes(found)) ordered.push(found);
  }
  return [...ordered, ...list.filter((item) => !ordered.includes(item))];
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    out[key] = stripDirectives(child);
  }
  return out;
}
