import { PatchStrategy, type KubeConfig, type V1Deployment, type V1EndpointSlice } from '@kubernetes/client-node';
import type { AppSpec, InstalledVersion, LiveState, RegionState } from '../core/model.js';
import { logger } from '../observability/log.js';
import { kubeRequestsTotal } from '../observability/metrics.js';
import type { LabelKeys } from '../core/names.js';
import { defaultLabelKeys, liveNames, versionNames } from '../core/names.js';
import { appRefusal, compareNewestFirst, versionRefusal } from '../core/version.js';
import type { Cluster, EndpointView, ProxySample, SwitchRequest, SwitchResult } from './cluster.js';
import { proxyGet } from './service-proxy.js';
import { KubeError } from './errors.js';
import { KubeApi, createIfMissing, fieldManager, ignoreNotFound, orNull, serviceNameSelector, withContentType } from './kube-api.js';
import { routeOps, type ObjectMeta } from './route-ops.js';
import { switchLiveSelector } from './selector-switch.js';
import { describeForeign, isOwned, type ForeignObject } from './ownership.js';
import {
  liveRoute,
  liveService,
  ownedSelector,
  servicePort,
  versionDeployment,
  versionRoute,
  versionSelectorQuery,
  versionService,
} from './manifests.js';
import { describeEndpoints, describeRollout, endpointViewsOf, endpointsConverged, installedVersionOf, isRolledOut, liveStateOf, podsOf, rolloutOf } from './observed.js';
import type { RetryPolicy } from './retry.js';
import { waitUntil } from './wait-until.js';
import { ObjectClient } from './install/object-client.js';
import { workloadAnnotation } from './install/prepare-objects.js';
import type { RenderedInstallSpec } from './install/render.js';
import { VersionInstaller, type InstallPreview } from './install/version-installer.js';
import { podStartFailure } from './pod-failures.js';

export interface KubeClusterOptions {
  region: string;
  namespace: string;
  /** Loaded, with the region's context selected (see loadKubeConfig). */
  kubeconfig: KubeConfig;
  retry?: Partial<RetryPolicy>;
  /** Budget of one API request; a request that takes longer counts as a transient failure. */
  requestTimeoutMs?: number;
  /** Interval of the polling fallback when a watch cannot be used. */
  pollIntervalMs?: number;
  /** Label keys for `endpoints()`, which is not given an app. */
  labelKeys?: LabelKeys;
}

/** The Cluster port over @kubernetes/client-node, for one region and namespace. */
export class KubeCluster implements Cluster {
  readonly region: string;
  readonly namespace: string;
  private readonly api: KubeApi;
  private readonly pollIntervalMs: number;
  private readonly labelKeys: LabelKeys;
  private readonly installer: VersionInstaller;

  constructor(options: KubeClusterOptions) {
    this.region = options.region;
    this.namespace = options.namespace;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    const retry = options.retry ? { retry: options.retry } : {};
    this.api = new KubeApi({ region: this.region, namespace: this.namespace, kubeconfig: options.kubeconfig, requestTimeoutMs, ...retry });
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.labelKeys = options.labelKeys ?? defaultLabelKeys;
    const objects = new ObjectClient({ region: this.region, namespace: this.namespace, kubeconfig: options.kubeconfig, requestTimeoutMs, ...retry });
    this.installer = new VersionInstaller(this.region, this.namespace, objects);
  }

  ping(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.api.ping(options);
  }

  async observe(app: AppSpec): Promise<RegionState> {
    this.checkApp(app);
    const keys = app.labelKeys;
    const selector = ownedSelector(keys, app.name);
    const live = liveNames(app.name);
    const routes = routeOps(this.api, app);
    const rendered = renderedInstallOf(app);
    const [service, liveRouteObject, deployments, services, versionRoutes, inventories] = await Promise.all([
      orNull(this.api.readService(live.service)),
      orNull(routes.read(live.route)),
      this.api.call({ resource: 'deployments', verb: 'list' }, undefined, (o) => this.api.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector: selector }, o)),
      this.api.call({ resource: 'services', verb: 'list' }, undefined, (o) => this.api.core.listNamespacedService({ namespace: this.namespace, labelSelector: selector }, o)),
      routes.list(selector),
      rendered ? this.installer.inventories(app, keys.version, selector) : null,
    ]);
    const servedVersions = versionsNamedAsTheirs(app, services.items, 'service');
    const routedVersions = versionsNamedAsTheirs(app, versionRoutes, 'route');
    const versions: InstalledVersion[] = [];
    for (const deployment of deployments.items) {
      const version = deployment.metadata?.labels?.[keys.version];
      if (!version || !isWorkloadOf(deployment, app, version)) continue;
      const installed = installedVersionOf(deployment, keys, { hasService: servedVersions.has(version), hasRoute: routedVersions.has(version) });
      const objects = inventories?.get(version);
      if (installed && objects) installed.objects = objects.map(({ kind, name }) => ({ kind, name }));
      if (installed) versions.push(installed);
    }
    versions.sort(compareNewestFirst);
    return { region: this.region, live: service ? liveStateOf(service, keys) : null, liveRouteExists: liveRouteObject !== null, versions };
  }

  async checkOwnership(app: AppSpec, version: string): Promise<void> {
    this.checkApp(app);
    this.checkVersion(app, version);
    const rendered = renderedInstallOf(app);
    if (rendered) {
      await this.installer.check(app, rendered, version, 'cutover');
      return;
    }
    const foreign = await this.foreignObjects(app, version);
    if (foreign.length > 0) {
      const names = versionNames(app, version);
      throw new KubeError(
        'not-owned',
        `${this.region}: ${describeForeign(foreign)} ${foreign.length === 1 ? 'is' : 'are'} not cutover's ${app.name} ${version}; ${version} would write ${names.deployment} and route ${names.path}, so nothing was installed and nothing was changed. Pick another version name, or remove or relabel ${foreign.length === 1 ? 'that object' : 'those objects'} if ${foreign.length === 1 ? 'it is' : 'they are'} really ${app.name}'s`,
        { region: this.region },
      );
    }
  }

  async installVersion(app: AppSpec, version: string, by: string): Promise<void> {
    const rendered = renderedInstallOf(app);
    if (rendered) {
      this.checkApp(app);
      this.checkVersion(app, version);
      await this.installer.install(app, rendered, version, by);
      return;
    }
    await this.checkOwnership(app, version);
    const names = versionNames(app, version);
    const apply = PatchStrategy.ServerSideApply;
    const deployment = versionDeployment(app, version, this.namespace, by);
    await this.api.call({ resource: 'deployments', verb: 'patch' }, names.deployment, (o) =>
      this.api.apps.patchNamespacedDeployment({ name: names.deployment, namespace: this.namespace, body: deployment, fieldManager, force: true }, withContentType(o, apply)),
    );
    const service = versionService(app, version, this.namespace);
    await this.api.call({ resource: 'services', verb: 'patch' }, names.service, (o) =>
      this.api.core.patchNamespacedService({ name: names.service, namespace: this.namespace, body: service, fieldManager, force: true }, withContentType(o, apply)),
    );
    await routeOps(this.api, app).apply(versionRoute(app, version, this.namespace));
  }

  async waitForReady(app: AppSpec, version: string, minReady: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<InstalledVersion> {
    this.checkApp(app);
    this.checkVersion(app, version);
    const names = versionNames(app, version);
    const labelSelector = versionSelectorQuery(app.labelKeys, app.name, version);
    const deployment = await waitUntil<V1Deployment, V1Deployment>({
      what: `${this.region}: Deployment ${names.deployment} with ${minReady} ready pods`,
      list: async () => {
        const list = await this.api.call({ resource: 'deployments', verb: 'list' }, undefined, (o) => this.api.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector }, o));
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
      },
      watch: { path: this.api.watchPath({ resource: 'deployments', verb: 'watch' }), query: { labelSelector }, start: this.api.startWatch },
      keyOf: (item) => item.metadata?.name ?? '',
      evaluate: async (items) => {
        const found = items.find((item) => isWorkloadOf(item, app, version));
        if (!found) return { done: false, seen: `Deployment ${names.deployment} does not exist` };
        const rollout = rolloutOf(found);
        if (isRolledOut(rollout, minReady)) return { done: true, value: found };
        // A pod that cannot start will not start by waiting: say why now (as Argo CD's pod health does).
        const pods = await this.api.call({ resource: 'pods', verb: 'list' }, undefined, (o) => this.api.core.listNamespacedPod({ namespace: this.namespace, labelSelector }, o));
        const failure = podStartFailure(pods.items);
        if (failure) throw new KubeError('invalid', `${this.region}: ${version} cannot start: ${failure}`, { region: this.region });
        return { done: false, seen: describeRollout(found.metadata?.name ?? names.deployment, rollout, minReady) };
      },
      // Pods change without the Deployment's status changing: look again now and then.
      recheckMs: 1000,
      timeoutMs: options.timeoutMs,
      pollIntervalMs: this.pollIntervalMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const [service, route] = await Promise.all([orNull(this.api.readService(names.service)), orNull(routeOps(this.api, app).read(names.route))]);
    return installedVersionOf(deployment, app.labelKeys, { hasService: service !== null, hasRoute: route !== null })!;
  }

  async bootstrap(app: AppSpec, initialVersion: string | null): Promise<{ created: string[] }> {
    this.checkApp(app);
    if (initialVersion !== null) this.checkVersion(app, initialVersion);
    const names = liveNames(app.name);
    const foreign = await this.foreignObjects(app, null);
    if (foreign.length > 0) {
      throw new KubeError('not-owned', `${this.region}: ${describeForeign(foreign)} already ${foreign.length === 1 ? 'exists and is' : 'exist and are'} not cutover's live objects of ${app.name}; nothing was created or changed`, { region: this.region });
    }
    const created: string[] = [];
    const service = liveService(app, initialVersion, this.namespace);
    const createdService = await createIfMissing(() =>
      this.api.call({ resource: 'services', verb: 'create' }, names.service, (o) => this.api.core.createNamespacedService({ namespace: this.namespace, body: service, fieldManager }, o)),
    );
    if (createdService) created.push(`Service/${names.service}`);
    const routes = routeOps(this.api, app);
    if (await createIfMissing(() => routes.create(liveRoute(app, this.namespace)))) created.push(`${routes.kind}/${names.route}`);
    return { created };
  }

  async switchSelector(app: AppSpec, request: SwitchRequest): Promise<SwitchResult> {
    this.checkApp(app);
    this.checkVersion(app, request.to);
    return switchLiveSelector(this.api, app, request);
  }

  async readLive(app: AppSpec): Promise<LiveState | null> {
    this.checkApp(app);
    const service = await orNull(this.api.readService(liveNames(app.name).service));
    return service ? liveStateOf(service, app.labelKeys) : null;
  }

  async endpoints(serviceName: string): Promise<EndpointView[]> {
    const slices = await this.api.listSlices(serviceName);
    const versions = this.podVersions(this.labelKeys, this.labelKeys.version);
    return endpointViewsOf(slices.items, await versions(podsOf(slices.items)));
  }

  async waitForEndpoints(
    app: AppSpec,
    serviceName: string,
    version: string,
    options: { timeoutMs: number; minReady?: number; signal?: AbortSignal },
  ): Promise<{ convergedMs: number; endpoints: EndpointView[] }> {
    this.checkApp(app);
    this.checkVersion(app, version);
    const started = performance.now();
    const versions = this.podVersions(app.labelKeys, `${app.labelKeys.name}=${app.name}`);
    return waitUntil<V1EndpointSlice, { convergedMs: number; endpoints: EndpointView[] }>({
      what: `${this.region}: Service ${serviceName} served by at least ${options.minReady ?? 1} ready ${version} pod(s) and no other version`,
      list: async () => {
        const list = await this.api.listSlices(serviceName);
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
      },
      watch: { path: this.api.watchPath({ resource: 'endpointslices', verb: 'watch' }), query: { labelSelector: serviceNameSelector(serviceName) }, start: this.api.startWatch },
      keyOf: (slice) => slice.metadata?.name ?? '',
      evaluate: async (slices) => {
        const views = endpointViewsOf(slices, await versions(podsOf(slices)));
        return endpointsConverged(views, version, options.minReady)
          ? { done: true, value: { convergedMs: performance.now() - started, endpoints: views } }
          : { done: false, seen: describeEndpoints(views) };
      },
      timeoutMs: options.timeoutMs,
      pollIntervalMs: this.pollIntervalMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async proxySample(serviceName: string, path: string, options: { versionHeader: string; timeoutMs: number }): Promise<ProxySample> {
    // Built by hand: client-node's connectGet...ProxyWithPath percent-encodes the path's slashes
    // (kubernetes-client/javascript#550), and its answer carries no response headers.
    const server = new URL(this.api.kubeconfig.getCurrentCluster()?.server ?? 'https://kubernetes.default.svc');
    const base = server.pathname.replace(/\/+$/, '');
    const url = new URL(`${base}/api/v1/namespaces/${this.namespace}/services/${serviceName}:${servicePort}/proxy/${path.replace(/^\/+/, '')}`, server);
    const started = performance.now();
    kubeRequestsTotal.inc({ region: this.region, verb: 'get', resource: 'services/proxy' });
    const answer = await proxyGet(url, this.api.kubeconfig, options);
    logger().debug({ region: this.region, verb: 'get', resource: 'services/proxy', name: serviceName, status: answer.status || null, ms: Math.round(performance.now() - started) }, 'kube call');
    return answer;
  }

  async deleteVersion(app: AppSpec, version: string): Promise<void> {
    this.checkApp(app);
    this.checkVersion(app, version);
    // Read again right before deleting, whoever asks: a plan made earlier may be out of date.
    const liveService = await orNull(this.api.readService(liveNames(app.name).service));
    const live = liveService ? liveStateOf(liveService, app.labelKeys) : null;
    if (live?.version === version) {
      throw new KubeError('live-version', `${this.region}: ${version} is live for ${app.name}; switch to another version before deleting it`, { region: this.region });
    }
    if (live?.previousVersion === version) {
      throw new KubeError('rollback-target', `${this.region}: ${version} is the rollback target of ${app.name}; it is kept so that a rollback can go back to it`, { region: this.region });
    }
    const inventory = renderedInstallOf(app) ? await this.installer.readInventory(app, version) : null;
    if (inventory) {
      await this.installer.delete(app, version, inventory);
      return;
    }
    const foreign = await this.foreignObjects(app, version);
    if (foreign.length > 0) {
      throw new KubeError('not-owned', `${this.region}: ${describeForeign(foreign)} ${foreign.length === 1 ? 'is' : 'are'} not cutover's ${app.name} ${version}; nothing was deleted`, { region: this.region });
    }
    const names = versionNames(app, version);
    const propagationPolicy = 'Background';
    await ignoreNotFound(routeOps(this.api, app).remove(names.route));
    await ignoreNotFound(
      this.api.call({ resource: 'services', verb: 'delete' }, names.service, (o) => this.api.core.deleteNamespacedService({ name: names.service, namespace: this.namespace, propagationPolicy }, o)),
    );
    await ignoreNotFound(
      this.api.call({ resource: 'deployments', verb: 'delete' }, names.deployment, (o) =>
        this.api.apps.deleteNamespacedDeployment({ name: names.deployment, namespace: this.namespace, propagationPolicy }, o),
      ),
    );
  }

  async previewInstall(app: AppSpec, version: string, by: string): Promise<InstallPreview | null> {
    this.checkApp(app);
    this.checkVersion(app, version);
    const rendered = renderedInstallOf(app);
    return rendered ? this.installer.preview(app, rendered, version, by) : null;
  }

  /** Objects under the version's names (or the live names, version null) that are not cutover's for this app. */
  private async foreignObjects(app: AppSpec, version: string | null): Promise<ForeignObject[]> {
    const names = version === null ? { deployment: null, ...liveNames(app.name) } : versionNames(app, version);
    const routes = routeOps(this.api, app);
    const [deployment, service, route] = await Promise.all([
      names.deployment === null
        ? null
        : orNull(this.api.call({ resource: 'deployments', verb: 'get' }, names.deployment, (o) => this.api.apps.readNamespacedDeployment({ name: names.deployment, namespace: this.namespace }, o))),
      orNull(this.api.readService(names.service)),
      orNull(routes.read(names.route)),
    ]);
    const found: ForeignObject[] = [];
    for (const [kind, object] of [['Deployment', deployment], ['Service', service], [routes.kind, route]] as const) {
      if (object && !isOwned(object.metadata?.labels, app.labelKeys, app.name, version)) {
        found.push({ kind, name: object.metadata?.name ?? '', labels: object.metadata?.labels ?? {} });
      }
    }
    return found;
  }

  /**
   * Pod name -> version label, read with one pod list per miss; a pod that is not found is
   * looked up again on a later call (it may be one the list did not have yet).
   */
  private podVersions(keys: LabelKeys, labelSelector: string): (pods: string[]) => Promise<(pod: string) => string | null> {
    const known = new Map<string, string | null>();
    return async (pods) => {
      if (pods.some((pod) => !known.has(pod))) {
        const list = await this.api.call({ resource: 'pods', verb: 'list' }, undefined, (o) => this.api.core.listNamespacedPod({ namespace: this.namespace, labelSelector }, o));
        for (const pod of list.items) known.set(pod.metadata?.name ?? '', pod.metadata?.labels?.[keys.version] ?? null);
      }
      return (pod) => known.get(pod) ?? null;
    };
  }

  private checkApp(app: AppSpec): void {
    const refusal = appRefusal(app.name);
    if (refusal) throw new KubeError('invalid', refusal, { region: this.region });
    if (app.routing === 'gateway' && !app.gateway) {
      throw new KubeError('invalid', `app ${app.name} routes through a Gateway but names none (gateway.name)`, { region: this.region });
    }
  }

  private checkVersion(app: AppSpec, version: string): void {
    const refusal = versionRefusal(app, version);
    if (refusal) throw new KubeError('invalid', refusal, { region: this.region });
  }
}

function renderedInstallOf(app: AppSpec): RenderedInstallSpec | null {
  return app.install && app.install.kind !== 'builtin' ? app.install : null;
}

/** The Deployment that serves a version: cutover's own by name, or the one a chart's install marked. */
function isWorkloadOf(deployment: V1Deployment, app: AppSpec, version: string): boolean {
  return deployment.metadata?.name === versionNames(app, version).deployment || deployment.metadata?.annotations?.[workloadAnnotation] === 'true';
}

/** Versions whose object of this kind exists under the name that version maps to. */
function versionsNamedAsTheirs(app: AppSpec, objects: ObjectMeta[], which: 'service' | 'route'): Set<string> {
  const found = new Set<string>();
  for (const object of objects) {
    const version = object.metadata?.labels?.[app.labelKeys.version];
    if (version && object.metadata?.name === versionNames(app, version)[which]) found.add(version);
  }
  return found;
}
