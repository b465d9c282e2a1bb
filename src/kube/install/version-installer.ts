import type { AppSpec } from '../../core/model.js';
import { KubeError, isKubeError } from '../errors.js';
import { describeForeign, isOwned, type ForeignObject } from '../ownership.js';
import { droppedFrom, entriesOf, inventoryConfigMap, inventoryLabel, unionOf } from './inventory.js';
import type { ObjectClient } from './object-client.js';
import { describeRef, type InventoryEntry, type KubeObject, type ObjectRef } from './objects.js';
import { inventoryName, prepareInstall, type KindScope, type PreparedInstall } from './prepare-objects.js';
import { InstallRefusal } from './refusal.js';
import { renderInstall, type RenderedInstallSpec } from './render.js';

/** What `--dry-run` shows of an install: the objects as cutover would apply them, and what the API server said. */
export interface InstallPreview {
  source: string;
  objects: KubeObject[];
  notes: string[];
  /** Per object, the server-side dry run's answer: "ok" or the refusal. */
  dryRun: { object: string; outcome: string }[];
}

/**
 * Installs, checks and deletes versions whose objects come from the app's manifests or Helm chart:
 * render, check everything before the first write, record the inventory, server-side apply.
 */
export class VersionInstaller {
  constructor(
    private readonly region: string,
    private readonly namespace: string,
    private readonly client: ObjectClient,
  ) {}

  /** Render and check: names, scopes, workload, ownership of every object, and a server-side dry run of each. */
  async check(app: AppSpec, install: RenderedInstallSpec, version: string, by: string): Promise<PreparedInstall & { source: string }> {
    const prepared = await this.prepare(app, install, version, by);
    const inventory = inventoryConfigMap(app, version, this.namespace, prepared.inventory, prepared.source);
    const foreign = await this.foreign(app, version, [...prepared.objects, inventory]);
    if (foreign.length > 0) {
      throw new KubeError(
        'not-owned',
        `${this.region}: ${describeForeign(foreign)} ${foreign.length === 1 ? 'is' : 'are'} not cutover's ${app.name} ${version}; ${prepared.source} renders ${foreign.length === 1 ? 'that name' : 'those names'} for ${version}, so nothing was installed and nothing was changed`,
        { region: this.region },
      );
    }
    for (const object of [inventory, ...prepared.objects]) {
      try {
        await this.client.apply(object, { dryRun: true });
      } catch (error) {
        throw this.refusedByServer(object, error);
      }
    }
    return prepared;
  }

  /** Check, record the inventory (what may exist from now on), apply every object, then prune what a re-render dropped. */
  async install(app: AppSpec, install: RenderedInstallSpec, version: string, by: string): Promise<PreparedInstall> {
    const prepared = await this.check(app, install, version, by);
    const before = (await this.readInventory(app, version)) ?? [];
    await this.client.apply(inventoryConfigMap(app, version, this.namespace, unionOf(prepared.inventory, before), prepared.source));
    for (const object of prepared.objects) await this.client.apply(object);
    const dropped = droppedFrom(before, prepared.inventory);
    for (const entry of dropped.reverse()) await this.removeOwned(app, version, entry);
    if (dropped.length > 0) await this.client.apply(inventoryConfigMap(app, version, this.namespace, prepared.inventory, prepared.source));
    return prepared;
  }

  /** The rendered objects and the server's dry-run answer for each; changes nothing. */
  async preview(app: AppSpec, install: RenderedInstallSpec, version: string, by: string): Promise<InstallPreview> {
    const prepared = await this.prepare(app, install, version, by);
    const dryRun: InstallPreview['dryRun'] = [];
    for (const object of prepared.objects) {
      try {
        await this.client.apply(object, { dryRun: true });
        dryRun.push({ object: describeRef(object), outcome: 'ok' });
      } catch (error) {
        dryRun.push({ object: describeRef(object), outcome: this.refusedByServer(object, error).message });
      }
    }
    return { source: prepared.source, objects: prepared.objects, notes: prepared.notes, dryRun };
  }

  /** What the version's inventory lists; null when it has none. */
  async readInventory(app: AppSpec, version: string): Promise<InventoryEntry[] | null> {
    const configMap = await this.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: inventoryName(app, version) });
    if (!configMap || !isOwned(configMap.metadata.labels, app.labelKeys, app.name, version)) return null;
    return entriesOf(configMap);
  }

  /** Every version's inventory, by version: one list call. */
  async inventories(app: AppSpec, versionKey: string, selector: string): Promise<Map<string, InventoryEntry[]>> {
    const found = new Map<string, InventoryEntry[]>();
    for (const configMap of await this.client.list('v1', 'ConfigMap', `${selector},${inventoryLabel}=true`)) {
      const version = configMap.metadata.labels?.[versionKey];
      const entries = entriesOf(configMap);
      if (version && entries && configMap.metadata.name === inventoryName(app, version)) found.set(version, entries);
    }
    return found;
  }

  /**
   * Delete exactly what the inventory lists, last applied first, then the inventory. Refused
   * before anything is deleted when a listed object is not cutover's for this version.
   */
  async delete(app: AppSpec, version: string, entries: InventoryEntry[]): Promise<void> {
    const inventory: InventoryEntry = { apiVersion: 'v1', kind: 'ConfigMap', name: inventoryName(app, version) };
    const foreign = await this.foreign(app, version, [...entries, inventory]);
    if (foreign.length > 0) {
      throw new KubeError('not-owned', `${this.region}: ${describeForeign(foreign)} ${foreign.length === 1 ? 'is' : 'are'} not cutover's ${app.name} ${version}; nothing was deleted`, { region: this.region });
    }
    for (const entry of [...entries].reverse()) await this.client.remove(entry);
    await this.client.remove(inventory);
  }

  private async prepare(app: AppSpec, install: RenderedInstallSpec, version: string, by: string): Promise<PreparedInstall & { source: string }> {
    try {
      const rendered = await renderInstall(app, install, version, { namespace: this.namespace, region: this.region });
      const scopes = new Map<string, KindScope>();
      for (const object of rendered.objects) {
        if (typeof object?.apiVersion !== 'string' || typeof object.kind !== 'string') continue;
        const key = `${object.apiVersion} ${object.kind}`;
        if (scopes.has(key)) continue;
        const served = await this.client.kindOf(object.apiVersion, object.kind);
        scopes.set(key, served === null ? 'unserved' : served.namespaced ? 'namespaced' : 'cluster');
      }
      const prepared = prepareInstall({
        app,
        version,
        namespace: this.namespace,
        workload: install.workload,
        suffixNames: install.suffixNames,
        rendered: rendered.objects,
        source: rendered.source,
        installedBy: by,
        scopeOf: (apiVersion, kind) => scopes.get(`${apiVersion} ${kind}`) ?? 'unserved',
      });
      return { ...prepared, source: rendered.source };
    } catch (error) {
      if (error instanceof InstallRefusal) throw new KubeError('invalid', `${this.region}: ${error.message}; nothing was applied`, { region: this.region });
      throw error;
    }
  }

  /** Objects under the given names that exist and are not cutover's for this app and version. */
  private async foreign(app: AppSpec, version: string, refs: readonly ObjectRef[]): Promise<ForeignObject[]> {
    const found = await Promise.all(
      refs.map((ref) =>
        this.client.get(ref).catch((error: unknown) => {
          throw isKubeError(error, 'forbidden') ? this.refusedByServer(ref, error, 'read') : error;
        }),
      ),
    );
    return found
      .filter((object): object is KubeObject => object !== null && !isOwned(object.metadata.labels, app.labelKeys, app.name, version))
      .map((object) => ({ kind: object.kind, name: object.metadata.name, labels: object.metadata.labels ?? {} }));
  }

  private async removeOwned(app: AppSpec, version: string, entry: InventoryEntry): Promise<void> {
    const object = await this.client.get(entry);
    if (object && isOwned(object.metadata.labels, app.labelKeys, app.name, version)) await this.client.remove(entry);
  }

  /** A dry run the server refused, said as the reason this install cannot go ahead. */
  private refusedByServer(object: ObjectRef, error: unknown, access: 'read' | 'write' = 'write'): KubeError {
    if (!isKubeError(error)) return new KubeError('unknown', `${this.region}: ${describeRef(object)}: ${String(error)}`, { region: this.region, cause: error });
    if (error.transient) return error;
    const said = error.message.startsWith(`${this.region}: `) ? error.message.slice(this.region.length + 2) : error.message;
    const what = error.code === 'forbidden' ? `the worker may not ${access} it` : error.code === 'invalid' ? 'the API server finds it invalid' : 'the API server refused it';
    return new KubeError(error.code, `${this.region}: ${describeRef(object)}: ${what} (${said}); nothing was applied`, { region: this.region, status: error.status, permission: error.permission, causes: error.causes, cause: error });
  }
}
