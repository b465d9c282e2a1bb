import type { AppSpec } from '../../core/model.js';
import { versionLabels } from '../../core/names.js';
import { isRecord, sameObject, type InventoryEntry, type KubeObject } from './objects.js';
import { inventoryName } from './prepare-objects.js';

/** Label of inventory ConfigMaps, so `observe` lists them with one call. */
export const inventoryLabel = 'cutover.dev/inventory';

/**
 * The ConfigMap that records what a version installed, next to it in its namespace. It is written
 * before the objects it lists are applied (so a crash never leaves an object no inventory names)
 * and deleted after them. Pure.
 */
export function inventoryConfigMap(app: AppSpec, version: string, namespace: string, entries: readonly InventoryEntry[], source: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: inventoryName(app, version), namespace, labels: { ...versionLabels(app.labelKeys, app.name, version), [inventoryLabel]: 'true' } },
    data: { source, objects: `${entries.map((e) => JSON.stringify(e)).join('\n')}\n` },
  };
}

/** The entries an inventory ConfigMap lists; null when it is not one cutover wrote. */
export function entriesOf(configMap: KubeObject): InventoryEntry[] | null {
  const data = isRecord(configMap.data) ? configMap.data : null;
  if (typeof data?.objects !== 'string') return null;
  const entries: InventoryEntry[] = [];
  for (const line of data.objects.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as Partial<InventoryEntry>;
      if (typeof entry.apiVersion === 'string' && typeof entry.kind === 'string' && typeof entry.name === 'string') entries.push({ apiVersion: entry.apiVersion, kind: entry.kind, name: entry.name });
    } catch {
      return null;
    }
  }
  return entries;
}

/** Entries of `a`, then those of `b` that `a` does not name. */
export function unionOf(a: readonly InventoryEntry[], b: readonly InventoryEntry[]): InventoryEntry[] {
  return [...a, ...b.filter((entry) => !a.some((kept) => sameObject(kept, entry)))];
}

/** Entries of `before` that `now` no longer names: what a re-install prunes. */
export function droppedFrom(before: readonly InventoryEntry[], now: readonly InventoryEntry[]): InventoryEntry[] {
  return before.filter((entry) => !now.some((kept) => sameObject(kept, entry)));
}
