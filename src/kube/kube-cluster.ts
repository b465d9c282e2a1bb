import { setTimeout as delay } from 'node:timers/promises';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  NetworkingV1Api,
  Observable,
  PatchStrategy,
  VersionApi,
  Watch,
  setHeaderOptions,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Ingress,
  type V1Service,
} from '@kubernetes/client-node';
import type { AppSpec, InstalledVersion, LiveState, RegionState } from '../core/model.js';
import { logger } from '../observability/log.js';
import { kubeRequestsTotal } from '../observability/metrics.js';
import type { LabelKeys } from '../core/names.js';
import { annotations, defaultLabelKeys, liveNames, versionNames } from '../core/names.js';
import { appRefusal, compareNewestFirst, versionRefusal } from '../core/version.js';
import type { Cluster, EndpointView, ProxySample, SwitchRequest, SwitchResult } from './cluster.js';
import { proxyGet } from './service-proxy.js';
import { KubeError, isKubeError, toKubeError, type KubeOperation } from './errors.js';
import { switchRefusal } from './switch-guard.js';
import { describeForeign, isOwned, type ForeignObject } from './ownership.js';
import {
  liveRoute,
  liveService,
  ownedSelector,
  routeKindOf,
  selectorSwitchPatch,
  servicePort,
  versionDeployment,
  versionRoute,
  versionSelectorQuery,
  versionService,
  type RouteManifest,
} from './manifests.js';
import { describeEndpoints, describeRollout, endpointViewsOf, endpointsConverged, installedVersionOf, isRolledOut, liveStateOf, podsOf, rolloutOf } from './observed.js';
import { permissions, type Permission } from './permissions.js';
import { defaultRetryPolicy, retryDelayMs, withRetry, type RetryPolicy } from './retry.js';
import { waitUntil, type StartWatch } from './wait-until.js';
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

const fieldManager = 'cutover';

/** The user of an object the adapter reads (metadata is all it looks at). */
interface ObjectMeta {
  metadata?: { name?: string; labels?: Record<string, string> };
}

interface RouteOps {
  kind: string;
  read(name: string): Promise<ObjectMeta>;
  list(labelSelector: string): Promise<ObjectMeta[]>;
  create(body: RouteManifest): Promise<unknown>;
  apply(body: RouteManifest): Promise<unknown>;
  remove(name: string): Promise<unknown>;
}

/** The Cluster port over @kubernetes/client-node, for one region and namespace. */
export class KubeCluster implements Cluster {
  readonly region: string;
  readonly namespace: string;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly discovery: DiscoveryV1Api;
  private readonly versionApi: VersionApi;
  private readonly watcher: Watch;
  private readonly policy: RetryPolicy;
  private readonly pollIntervalMs: number;
  private readonly labelKeys: LabelKeys;
  private readonly timeout: ObservableMiddleware;
  private readonly installer: VersionInstaller;
  private readonly kubeconfig: KubeConfig;

  constructor(options: KubeClusterOptions) {
    this.region = options.region;
    this.namespace = options.namespace;
    const kc = options.kubeconfig;
    this.kubeconfig = kc;
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    this.versionApi = kc.makeApiClient(VersionApi);
    this.watcher = new Watch(kc);
    this.policy = { ...defaultRetryPolicy, ...options.retry };
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.labelKeys = options.labelKeys ?? defaultLabelKeys;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    const objects = new ObjectClient({ region: this.region, namespace: this.namespace, kubeconfig: kc, requestTimeoutMs, ...(options.retry ? { retry: options.retry } : {}) });
    this.installer = new VersionInstaller(this.region, this.namespace, objects);
    this.timeout = {
      pre: (request) => {
        request.setSignal(AbortSignal.timeout(requestTimeoutMs));
        return new Observable(Promise.resolve(request));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    };
  }

  async observe(app: AppSpec): Promise<RegionState> {
    this.checkApp(app);
    const keys = app.labelKeys;
    const selector = ownedSelector(keys, app.name);
    const live = liveNames(app.name);
    const routes = this.routes(app);
    const rendered = renderedInstallOf(app);
    const [service, liveRouteObject, deployments, services, versionRoutes, inventories] = await Promise.all([
      this.orNull(this.readService(live.service)),
      this.orNull(routes.read(live.route)),
      this.call({ resource: 'deployments', verb: 'list' }, undefined, (o) => this.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector: selector }, o)),
      this.call({ resource: 'services', verb: 'list' }, undefined, (o) => this.core.listNamespacedService({ namespace: this.namespace, labelSelector: selector }, o)),
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
    await this.call({ resource: 'deployments', verb: 'patch' }, names.deployment, (o) =>
      this.apps.patchNamespacedDeployment({ name: names.deployment, namespace: this.namespace, body: deployment, fieldManager, force: true }, withContentType(o, apply)),
    );
    const service = versionService(app, version, this.namespace);
    await this.call({ resource: 'services', verb: 'patch' }, names.service, (o) =>
      this.core.patchNamespacedService({ name: names.service, namespace: this.namespace, body: service, fieldManager, force: true }, withContentType(o, apply)),
    );
    await this.routes(app).apply(versionRoute(app, version, this.namespace));
  }

  async waitForReady(app: AppSpec, version: string, minReady: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<InstalledVersion> {
    this.checkApp(app);
    this.checkVersion(app, version);
    const names = versionNames(app, version);
    const labelSelector = versionSelectorQuery(app.labelKeys, app.name, version);
    const deployment = await waitUntil<V1Deployment, V1Deployment>({
      what: `${this.region}: Deployment ${names.deployment} with ${minReady} ready pods`,
      list: async () => {
        const list = await this.call({ resource: 'deployments', verb: 'list' }, undefined, (o) => this.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector }, o));
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
      },
      watch: { path: this.watchPath({ resource: 'deployments', verb: 'watch' }), query: { labelSelector }, start: this.startWatch },
      keyOf: (item) => item.metadata?.name ?? '',
      evaluate: async (items) => {
        const found = items.find((item) => isWorkloadOf(item, app, version));
        if (!found) return { done: false, seen: `Deployment ${names.deployment} does not exist` };
        const rollout = rolloutOf(found);
        if (isRolledOut(rollout, minReady)) return { done: true, value: found };
        // A pod that cannot start will not start by waiting: say why now (as Argo CD's pod health does).
        const pods = await this.call({ resource: 'pods', verb: 'list' }, undefined, (o) => this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }, o));
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
    const [service, route] = await Promise.all([this.orNull(this.readService(names.service)), this.orNull(this.routes(app).read(names.route))]);
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
    const createdService = await this.createIfMissing(() =>
      this.call({ resource: 'services', verb: 'create' }, names.service, (o) => this.core.createNamespacedService({ namespace: this.namespace, body: service, fieldManager }, o)),
    );
    if (createdService) created.push(`Service/${names.service}`);
    const routes = this.routes(app);
    if (await this.createIfMissing(() => routes.create(liveRoute(app, this.namespace)))) created.push(`${routes.kind}/${names.route}`);
    return { created };
  }

  async switchSelector(app: AppSpec, request: SwitchRequest): Promise<SwitchResult> {
    this.checkApp(app);
    this.checkVersion(app, request.to);
    const name = liveNames(app.name).service;
    // A patch that failed without an answer may still have been applied; if the re-read then finds
    // the target live, that write was (most likely) ours.
    let maybeWritten = false;
    let conflicts = 0;
    for (let attempt = 1; ; attempt++) {
      const service = await this.readService(name).catch((error: unknown) => {
        if (isKubeError(error, 'not-found')) {
          throw new KubeError('not-bootstrapped', `${this.region}: the live Service ${name} does not exist; run bootstrap first`, { region: this.region, status: 404 });
        }
        throw error;
      });
      if (!isOwned(service.metadata?.labels, app.labelKeys, app.name, null)) {
        throw new KubeError('not-owned', `${this.region}: ${describeForeign([{ kind: 'Service', name, labels: service.metadata?.labels ?? {} }])} is not cutover's live Service of ${app.name}; its selector was not changed`, { region: this.region });
      }
      const live = liveStateOf(service, app.labelKeys);
      if (live.version === request.to) return { patched: maybeWritten, patchMs: 0 };
      const refusal = switchRefusal(this.region, name, live, request);
      if (refusal) throw refusal;
      // A compensation names the rollback target to put back; otherwise it is what was live.
      const rollbackTarget = request.rollbackTarget !== undefined ? request.rollbackTarget : (live.version ?? request.from);
      // The resourceVersion makes the write conditional on everything read above: the selector,
      // the fencing token. A 409 means the Service changed since: read again and decide again.
      const body = selectorSwitchPatch(app.labelKeys, { ...request, rollbackTarget }, service.metadata?.resourceVersion);
      const started = performance.now();
      try {
        await this.once(
          { resource: 'services', verb: 'patch' },
          name,
          (o) => this.core.patchNamespacedService({ name, namespace: this.namespace, body, fieldManager }, withContentType(o, PatchStrategy.MergePatch)),
          attempt,
        );
      } catch (error) {
        const failure = toKubeError(error);
        if (failure.code === 'conflict') {
          conflicts++;
          if (conflicts >= this.policy.attempts) {
            throw new KubeError(
              'busy',
              `${this.region}: the live Service ${name} kept changing while cutover switched it (${conflicts} conflicting writes in a row by something else, such as a controller that edits its annotations); the selector was not switched. Find what keeps writing it, then try again`,
              { region: this.region, status: 409, cause: failure },
            );
          }
          await delay(retryDelayMs(this.policy, conflicts) ?? this.policy.capMs);
          continue;
        }
        if (!failure.transient) throw failure;
        const wait = retryDelayMs(this.policy, attempt - conflicts, failure.retryAfterMs);
        if (wait === null) throw failure;
        if (failure.code !== 'transient') maybeWritten = true;
        await delay(wait);
        continue;
      }
      const patchMs = performance.now() - started;
      if (live.version !== null && live.version !== request.to) await this.markRetired(app, live.version, request.at);
      return { patched: true, patchMs };
    }
  }

  async readLive(app: AppSpec): Promise<LiveState | null> {
    this.checkApp(app);
    const service = await this.orNull(this.readService(liveNames(app.name).service));
    return service ? liveStateOf(service, app.labelKeys) : null;
  }

  async endpoints(serviceName: string): Promise<EndpointView[]> {
    const slices = await this.listSlices(serviceName);
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
        const list = await this.listSlices(serviceName);
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
      },
      watch: { path: this.watchPath({ resource: 'endpointslices', verb: 'watch' }), query: { labelSelector: serviceNameSelector(serviceName) }, start: this.startWatch },
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
    const server = new URL(this.kubeconfig.getCurrentCluster()?.server ?? 'https://kubernetes.default.svc');
    const base = server.pathname.replace(/\/+$/, '');
    const url = new URL(`${base}/api/v1/namespaces/${this.namespace}/services/${serviceName}:${servicePort}/proxy/${path.replace(/^\/+/, '')}`, server);
    const started = performance.now();
    kubeRequestsTotal.inc({ region: this.region, verb: 'get', resource: 'services/proxy' });
    const answer = await proxyGet(url, this.kubeconfig, options);
    logger().debug({ region: this.region, verb: 'get', resource: 'services/proxy', name: serviceName, status: answer.status || null, ms: Math.round(performance.now() - started) }, 'kube call');
    return answer;
  }

  async deleteVersion(app: AppSpec, version: string): Promise<void> {
    this.checkApp(app);
    this.checkVersion(app, version);
    // Read again right before deleting, whoever asks: a plan made earlier may be out of date.
    const liveService = await this.orNull(this.readService(liveNames(app.name).service));
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
    await this.ignoreNotFound(this.routes(app).remove(names.route));
    await this.ignoreNotFound(
      this.call({ resource: 'services', verb: 'delete' }, names.service, (o) => this.core.deleteNamespacedService({ name: names.service, namespace: this.namespace, propagationPolicy }, o)),
    );
    await this.ignoreNotFound(
      this.call({ resource: 'deployments', verb: 'delete' }, names.deployment, (o) =>
        this.apps.deleteNamespacedDeployment({ name: names.deployment, namespace: this.namespace, propagationPolicy }, o),
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
    const routes = this.routes(app);
    const [deployment, service, route] = await Promise.all([
      names.deployment === null
        ? null
        : this.orNull(this.call({ resource: 'deployments', verb: 'get' }, names.deployment, (o) => this.apps.readNamespacedDeployment({ name: names.deployment, namespace: this.namespace }, o))),
      this.orNull(this.readService(names.service)),
      this.orNull(routes.read(names.route)),
    ]);
    const found: ForeignObject[] = [];
    for (const [kind, object] of [['Deployment', deployment], ['Service', service], [routes.kind, route]] as const) {
      if (object && !isOwned(object.metadata?.labels, app.labelKeys, app.name, version)) {
        found.push({ kind, name: object.metadata?.name ?? '', labels: object.metadata?.labels ?? {} });
      }
    }
    return found;
  }

  /** Best effort: retention counts a version's age from here; a failure only costs precision. */
  private async markRetired(app: AppSpec, version: string, at: Date): Promise<void> {
    const name = versionNames(app, version).deployment;
    const body = { metadata: { annotations: { [annotations.retiredAt]: at.toISOString() } } };
    try {
      await this.call({ resource: 'deployments', verb: 'patch' }, name, (o) =>
        this.apps.patchNamespacedDeployment({ name, namespace: this.namespace, body, fieldManager }, withContentType(o, PatchStrategy.MergePatch)),
      );
    } catch {
      // the switch itself succeeded; the missing annotation is visible in `status`
    }
  }

  private readService(name: string): Promise<V1Service> {
    return this.call({ resource: 'services', verb: 'get' }, name, (o) => this.core.readNamespacedService({ name, namespace: this.namespace }, o));
  }

  private listSlices(serviceName: string) {
    return this.call({ resource: 'endpointslices', verb: 'list' }, undefined, (o) =>
      this.discovery.listNamespacedEndpointSlice({ namespace: this.namespace, labelSelector: serviceNameSelector(serviceName) }, o),
    );
  }

  /**
   * Pod name -> version label, read with one pod list per miss; a pod that is not found is
   * looked up again on a later call (it may be one the list did not have yet).
   */
  private podVersions(keys: LabelKeys, labelSelector: string): (pods: string[]) => Promise<(pod: string) => string | null> {
    const known = new Map<string, string | null>();
    return async (pods) => {
      if (pods.some((pod) => !known.has(pod))) {
        const list = await this.call({ resource: 'pods', verb: 'list' }, undefined, (o) => this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }, o));
        for (const pod of list.items) known.set(pod.metadata?.name ?? '', pod.metadata?.labels?.[keys.version] ?? null);
      }
      return (pod) => known.get(pod) ?? null;
    };
  }

  private routes(app: AppSpec): RouteOps {
    const kind = routeKindOf(app);
    const namespace = this.namespace;
    const apply = PatchStrategy.ServerSideApply;
    if (kind.resource === 'ingresses') {
      return {
        kind: kind.kind,
        read: (name) => this.call({ resource: 'ingresses', verb: 'get' }, name, (o) => this.networking.readNamespacedIngress({ name, namespace }, o)),
        list: async (labelSelector) =>
          (await this.call({ resource: 'ingresses', verb: 'list' }, undefined, (o) => this.networking.listNamespacedIngress({ namespace, labelSelector }, o))).items,
        create: (body) => this.call({ resource: 'ingresses', verb: 'create' }, body.metadata?.name, (o) => this.networking.createNamespacedIngress({ namespace, body: body as V1Ingress, fieldManager }, o)),
        apply: (body) => {
          const name = body.metadata?.name ?? '';
          return this.call({ resource: 'ingresses', verb: 'patch' }, name, (o) =>
            this.networking.patchNamespacedIngress({ name, namespace, body: body as V1Ingress, fieldManager, force: true }, withContentType(o, apply)),
          );
        },
        remove: (name) => this.call({ resource: 'ingresses', verb: 'delete' }, name, (o) => this.networking.deleteNamespacedIngress({ name, namespace, propagationPolicy: 'Background' }, o)),
      };
    }
    const target = { group: kind.group, version: kind.version, plural: kind.resource, namespace };
    return {
      kind: kind.kind,
      read: (name) => this.call({ resource: 'httproutes', verb: 'get' }, name, (o) => this.custom.getNamespacedCustomObject({ ...target, name }, o) as Promise<ObjectMeta>),
      list: async (labelSelector) => {
        const list = (await this.call({ resource: 'httproutes', verb: 'list' }, undefined, (o) => this.custom.listNamespacedCustomObject({ ...target, labelSelector }, o))) as { items?: ObjectMeta[] };
        return list.items ?? [];
      },
      create: (body) => this.call({ resource: 'httproutes', verb: 'create' }, body.metadata?.name, (o) => this.custom.createNamespacedCustomObject({ ...target, body, fieldManager }, o)),
      apply: (body) => {
        const name = body.metadata?.name ?? '';
        return this.call({ resource: 'httproutes', verb: 'patch' }, name, (o) =>
          this.custom.patchNamespacedCustomObject({ ...target, name, body, fieldManager, force: true }, withContentType(o, apply)),
        );
      },
      remove: (name) => this.call({ resource: 'httproutes', verb: 'delete' }, name, (o) => this.custom.deleteNamespacedCustomObject({ ...target, name, propagationPolicy: 'Background' }, o)),
    };
  }

  async ping(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 3_000;
    const started = performance.now();
    let status: number | undefined;
    const middleware: ObservableMiddleware[] = [
      {
        pre: (request) => {
          request.setSignal(AbortSignal.timeout(timeoutMs));
          return new Observable(Promise.resolve(request));
        },
        post: (response) => {
          status = response.httpStatusCode;
          return new Observable(Promise.resolve(response));
        },
      },
    ];
    try {
      await this.versionApi.getCode({ middleware, middlewareMergeStrategy: 'append' });
      logger().debug({ region: this.region, verb: 'get', resource: 'version', status: status ?? 200, ms: Math.round(performance.now() - started), attempt: 1 }, 'kube call');
    } catch (error) {
      const failure = toKubeError(error, { region: this.region, verb: 'get', resource: 'version' });
      logger().info({ region: this.region, verb: 'get', resource: 'version', status: failure.status ?? status ?? null, ms: Math.round(performance.now() - started), attempt: 1, error: failure.code }, 'kube call failed');
      throw failure;
    }
  }

  /** One API call with the transient-failure retry policy. */
  private call<T>(permission: Permission, name: string | undefined, run: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
    return withRetry((attempt) => this.once(permission, name, run, attempt), {
      policy: this.policy,
      // A conflict is not retried blindly: only the caller can re-read and decide again.
      isRetryable: (error) => isKubeError(error) && error.transient && error.code !== 'conflict',
      retryAfterMs: (error) => (isKubeError(error) ? error.retryAfterMs : null),
    });
  }

  /**
   * One API call, one attempt; failures become KubeErrors that name the operation. Each attempt
   * is one log line (debug; info when it failed), carrying the request context of the job.
   */
  private async once<T>(permission: Permission, name: string | undefined, run: (options: ConfigurationOptions) => Promise<T>, attempt = 1): Promise<T> {
    const started = performance.now();
    let status: number | undefined;
    const seen: ObservableMiddleware = {
      pre: (request) => new Observable(Promise.resolve(request)),
      post: (response) => {
        status = response.httpStatusCode;
        return new Observable(Promise.resolve(response));
      },
    };
    const line = { region: this.region, verb: permission.verb, resource: permission.resource, name: name ?? null, attempt };
    kubeRequestsTotal.inc({ region: this.region, verb: permission.verb, resource: permission.resource });
    try {
      const result = await run({ middleware: [this.timeout, seen], middlewareMergeStrategy: 'append' });
      const fields = { ...line, status: status ?? null, ms: Math.round(performance.now() - started) };
      // A call that needed retries is worth seeing at info: it says the API was struggling.
      if (attempt > 1) logger().info(fields, 'kube call');
      else logger().debug(fields, 'kube call');
      return result;
    } catch (error) {
      const failure = toKubeError(error, this.operation(permission, name));
      // Not-found and already-exists are answers the adapter asks for (orNull, createIfMissing).
      const expected = failure.code === 'not-found' || failure.code === 'already-exists';
      const fields = { ...line, status: failure.status ?? status ?? null, ms: Math.round(performance.now() - started), error: failure.code, transient: failure.transient };
      if (expected) logger().debug(fields, 'kube call');
      else logger().info(fields, failure.transient ? 'kube call failed, transient' : 'kube call failed');
      throw failure;
    }
  }

  private operation(permission: Permission, name: string | undefined): KubeOperation {
    return { region: this.region, verb: permission.verb, resource: permission.resource, group: permissions[permission.resource].group, namespace: this.namespace, ...(name ? { name } : {}) };
  }


  private watchPath(permission: Permission & { verb: 'watch' }): string {
    const group: string = permissions[permission.resource].group;
    const prefix = group === '' ? '/api/v1' : `/apis/${group}/v1`;
    return `${prefix}/namespaces/${this.namespace}/${permission.resource}`;
  }

  private readonly startWatch: StartWatch = (path, query, onEvent, onDone) => {
    kubeRequestsTotal.inc({ region: this.region, verb: 'watch', resource: path.slice(path.lastIndexOf('/') + 1) });
    return this.watcher.watch(path, query, onEvent, onDone);
  };

  private async orNull<T>(pending: Promise<T>): Promise<T | null> {
    try {
      return await pending;
    } catch (error) {
      if (isKubeError(error, 'not-found')) return null;
      throw error;
    }
  }

  private async ignoreNotFound(pending: Promise<unknown>): Promise<void> {
    await this.orNull(pending);
  }

  /** true when this call created the object, false when it was already there. */
  private async createIfMissing(create: () => Promise<unknown>): Promise<boolean> {
    try {
      await create();
      return true;
    } catch (error) {
      if (isKubeError(error, 'already-exists')) return false;
      throw error;
    }
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

function withContentType(options: ConfigurationOptions, contentType: string): ConfigurationOptions {
  return setHeaderOptions('Content-Type', contentType, options);
}

function serviceNameSelector(serviceName: string): string {
  return `kubernetes.io/service-name=${serviceName}`;
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
