import { ApiError } from '../api/status.js';
import type { ResourceType } from '../resource-types.js';
import { apiVersionOf, type KubeObject } from '../store.js';
import { FieldSet, compareElements, pathString } from './field-set.js';
import { compareObjects, mergeApplied, removePath, toFieldSet } from './field-walk.js';

/**
 * Field ownership as kube-apiserver records it in `metadata.managedFields`: one entry per field
 * manager, operation (Apply or Update) and subresource. An update (create, PUT, merge / JSON /
 * strategic patch) gives its manager the fields it changed and takes them from everyone else; an
 * apply makes its manager own exactly the fields it sent, removes the fields it owned before and
 * no longer sends (unless another manager owns them too), and refuses to change a field another
 * manager owns (409 Conflict) unless forced, in which case the field changes hands.
 */

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource: string | undefined;
  time: string | undefined;
  set: FieldSet;
}

export interface FieldManagerRequest {
  manager: string;
  subresource?: 'status' | undefined;
  /** RFC 3339, seconds. */
  time: string;
}

type Obj = Record<string, unknown>;

/** Metadata the field manager never tracks (its stripMetaManager), plus what graceful deletion sets. */
const untrackedMetadata = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'selfLink', 'managedFields', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** Allocated by the Service registry after the field manager ran on a create, so nobody owns them. */
const allocatedOnCreate: Record<string, string[]> = { Service: ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'] };

const identity = (m: { manager: string; operation: string; subresource?: string | undefined }): string => `${m.manager}\u0000${m.operation}\u0000${m.subresource ?? ''}`;

function decode(entries: unknown): Map<string, Manager> {
  const managers = new Map<string, Manager>();
  if (!Array.isArray(entries)) return managers;
  for (const raw of entries as Partial<ManagedFieldsEntry>[]) {
    if (!raw || typeof raw.manager !== 'string' || (raw.operation !== 'Apply' && raw.operation !== 'Update')) continue;
    const manager: Manager = {
      manager: raw.manager,
      operation: raw.operation,
      apiVersion: raw.apiVersion ?? '',
      subresource: raw.subresource || undefined,
      time: raw.time,
      set: FieldSet.fromFieldsV1(raw.fieldsV1),
    };
    managers.set(identity(manager), manager);
  }
  return managers;
}

/** Entries in the order the real server keeps them: Apply before Update, then oldest first, then by name. */
function encode(managers: Map<string, Manager>): ManagedFieldsEntry[] {
  return [...managers.values()]
    .filter((m) => !m.set.isEmpty())
    .sort((a, b) => a.operation.localeCompare(b.operation) || (a.time ?? '').localeCompare(b.time ?? '') || a.manager.localeCompare(b.manager) || (a.subresource ?? '').localeCompare(b.subresource ?? ''))
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time ? { time: m.time } : {}),
      fieldsType: 'FieldsV1' as const,
      fieldsV1: m.set.toFieldsV1(),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
}

/** The part of an object field ownership is about: no apiVersion/kind/identity metadata; only status for /status. */
function trackedFields(type: ResourceType, object: KubeObject | undefined, subresource: string | undefined): Obj {
  if (!object) return {};
  const { apiVersion: _a, kind: _k, metadata, status, ...rest } = structuredClone(object);
  if (subresource === 'status') return status === undefined ? {} : { status };
  const meta: Obj = { ...metadata };
  for (const field of untrackedMetadata) delete meta[field];
  const out: Obj = { ...rest };
  if (Object.keys(meta).length > 0) out.metadata = meta;
  // With a status subresource, status belongs to it; a write to the main resource resets it.
  if (!type.subresources.includes('status') && status !== undefined) out.status = status;
  return out;
}

function entryOf(type: ResourceType, request: FieldManagerRequest, operation: 'Apply' | 'Update', set: FieldSet, time: string | undefined): Manager {
  return { manager: request.manager, operation, apiVersion: apiVersionOf(type), subresource: request.subresource, time, set };
}

/**
 * `managedFields` after an update (any write but an apply) by `request.manager`: it gains the
 * fields the write added or changed, every other manager loses them, and removed fields leave
 * every set. `before` is undefined for a create.
 */
export function managedFieldsAfterUpdate(type: ResourceType, before: KubeObject | undefined, after: KubeObject, request: FieldManagerRequest): ManagedFieldsEntry[] {
  const managers = decode(before?.metadata.managedFields);
  const afterFields = trackedFields(type, after, request.subresource);
  if (!before) {
    const spec = afterFields.spec as Obj | undefined;
    for (const field of allocatedOnCreate[type.kind] ?? []) delete spec?.[field];
  }
  const comparison = compareObjects(type.kind, trackedFields(type, before, request.subresource), afterFields);
  const changed = comparison.added.union(comparison.modified);
  const self = identity({ ...request, operation: 'Update' });
  for (const [id, manager] of managers) {
    manager.set = manager.set.difference(changed).difference(comparison.removed);
    if (manager.set.isEmpty()) managers.delete(id);
  }
  if (!changed.isEmpty()) {
    const previous = managers.get(self)?.set ?? new FieldSet();
    managers.set(self, entryOf(type, request, 'Update', previous.union(changed), request.time));
  }
  return encode(managers);
}

export interface Applied {
  object: KubeObject;
  managedFields: ManagedFieldsEntry[];
}

/**
 * A server-side apply of `config` by `request.manager` over `live` (undefined: the apply creates).
 * Throws the real 409 Conflict Status when the apply would change fields other managers own and
 * `force` is false.
 */
export function applyConfiguration(type: ResourceType, live: KubeObject | undefined, config: KubeObject, request: FieldManagerRequest & { force: boolean }): Applied {
  const managers = decode(live?.metadata.managedFields);
  const self = identity({ ...request, operation: 'Apply' });
  const previous = managers.get(self);
  const lastSet = previous?.set ?? new FieldSet();
  const appliedSet = toFieldSet(type.kind, trackedFields(type, config, request.subresource));
  const base = live ? structuredClone(live) : ({ apiVersion: config.apiVersion, kind: config.kind, metadata: { name: config.metadata.name } } as KubeObject);
  delete base.metadata.managedFields;
  const merged = mergeApplied(type.kind, base, config) as KubeObject;
  managers.set(self, entryOf(type, request, 'Apply', appliedSet, previous?.time));

  // Fields this manager applied before and no longer sends go, unless someone else owns them.
  let keep = new FieldSet();
  for (const manager of managers.values()) keep = keep.union(manager.set);
  for (const path of lastSet.difference(appliedSet).members()) {
    if (!keep.hasAtOrBelow(path)) removePath(type.kind, merged, path);
  }

  const comparison = compareObjects(type.kind, trackedFields(type, live, request.subresource), trackedFields(type, merged, request.subresource));
  const changed = comparison.added.union(comparison.modified);
  const conflicts: { manager: Manager; paths: string[][] }[] = [];
  for (const [id, manager] of managers) {
    if (id === self) continue;
    const taken = manager.set.intersection(changed);
    if (!taken.isEmpty()) conflicts.push({ manager, paths: taken.members() });
  }
  if (conflicts.length > 0 && !request.force) throw conflictError(conflicts);
  for (const [id, manager] of managers) {
    if (id === self) continue;
    manager.set = manager.set.difference(changed).difference(comparison.removed);
    if (manager.set.isEmpty()) managers.delete(id);
  }
  const objectChanged = !changed.isEmpty() || !comparison.removed.isEmpty();
  if (objectChanged || !previous || !previous.set.equals(appliedSet)) managers.get(self)!.time = request.time;
  return { object: merged, managedFields: encode(managers) };
}

/** "conflict with \"kubectl\" using v1" / "conflict with \"x\" with subresource \"status\"": printManager of the real server. */
function printManager(manager: Manager): string {
  let out = JSON.stringify(manager.manager);
  if (manager.subresource) out += ` with subresource ${JSON.stringify(manager.subresource)}`;
  if (manager.operation === 'Update') out += ` using ${manager.apiVersion}`;
  return out;
}

/**
 * The 409 the real server answers (k8s.io/apimachinery managedfields/internal/conflict.go):
 * reason Conflict, one `FieldManagerConflict` cause per conflicting field, no name or kind.
 */
function conflictError(conflicts: { manager: Manager; paths: string[][] }[]): ApiError {
  const sorted = [...conflicts].sort((a, b) => a.manager.manager.localeCompare(b.manager.manager) || a.manager.operation.localeCompare(b.manager.operation));
  const byPath = (a: string[], b: string[]): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const order = compareElements(a[i]!, b[i]!);
      if (order !== 0) return order;
    }
    return a.length - b.length;
  };
  const causes = sorted.flatMap(({ manager, paths }) =>
    [...paths].sort(byPath).map((path) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(manager)}`, field: pathString(path) })),
  );
  let message: string;
  if (causes.length === 1) {
    message = `Apply failed with 1 conflict: ${causes[0]!.message}: ${causes[0]!.field}`;
  } else {
    const lines = sorted.flatMap(({ manager, paths }) => [`conflicts with ${printManager(manager)}:`, ...[...paths].sort(byPath).map((path) => `- ${pathString(path)}`)]);
    message = `Apply failed with ${causes.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}
