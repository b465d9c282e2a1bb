import { managedByLabel, managedByValue, type LabelKeys } from '../core/names.js';

/** An object found under a name cutover would write, and whose it is by its labels. */
export interface ForeignObject {
  kind: string;
  name: string;
  labels: Record<string, string>;
}

/**
 * Whether an object is cutover's: managed by cutover, for this app and (for a version's objects)
 * this version; a live object carries the app's name and no version. Pure.
 */
export function isOwned(labels: Record<string, string> | undefined, keys: LabelKeys, app: string, version: string | null): boolean {
  if (!labels || labels[managedByLabel] !== managedByValue || labels[keys.name] !== app) return false;
  return version === null ? labels[keys.version] === undefined : labels[keys.version] === version;
}

/** "Service shop-db (labels role=postgres, team=data)", one object per entry. */
export function describeForeign(objects: readonly ForeignObject[]): string {
  return objects
    .map((o) => {
      const labels = Object.entries(o.labels).map(([k, v]) => `${k}=${v}`);
      return `${o.kind} ${o.name} (${labels.length > 0 ? `labels ${labels.join(', ')}` : 'no labels'})`;
    })
    .join(', ');
}
