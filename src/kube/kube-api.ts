import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  NetworkingV1Api,
  Observable,
  VersionApi,
  Watch,
  setHeaderOptions,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Service,
} from '@kubernetes/client-node';
import { logger } from '../observability/log.js';
import { kubeRequestsTotal } from '../observability/metrics.js';
import { isKubeError, toKubeError, type KubeOperation } from './errors.js';
import { permissions, type Permission } from './permissions.js';
import { defaultRetryPolicy, withRetry, type RetryPolicy } from './retry.js';
import type { StartWatch } from './wait-until.js';

export const fieldManager = 'cutover';

export interface KubeApiOptions {
  region: string;
  namespace: string;
  kubeconfig: KubeConfig;
  retry?: Partial<RetryPolicy>;
  /** Budget of one API request; a request that takes longer counts as a transient failure. */
  requestTimeoutMs: number;
}

/**
 * The typed API clients of one region and namespace, with what every call needs: the retry
 * policy, a request timeout, one log line and one counted request per attempt.
 */
export class KubeApi {
  readonly region: string;
  readonly namespace: string;
  readonly kubeconfig: KubeConfig;
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  readonly custom: CustomObjectsApi;
  readonly discovery: DiscoveryV1Api;
  readonly policy: RetryPolicy;
  private readonly versionApi: VersionApi;
  private readonly watcher: Watch;
  private readonly timeout: ObservableMiddleware;

  constructor(options: KubeApiOptions) {
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
    const requestTimeoutMs = options.requestTimeoutMs;
    this.timeout = {
      pre: (request) => {
        request.setSignal(AbortSignal.timeout(requestTimeoutMs));
        return new Observable(Promise.resolve(request));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    };
  }

  /** One API call with the transient-failure retry policy. */
  call<T>(permission: Permission, name: string | undefined, run: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
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
  async once<T>(permission: Permission, name: string | undefined, run: (options: ConfigurationOptions) => Promise<T>, attempt = 1): Promise<T> {
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

  readService(name: string): Promise<V1Service> {
    return this.call({ resource: 'services', verb: 'get' }, name, (o) => this.core.readNamespacedService({ name, namespace: this.namespace }, o));
  }

  listSlices(serviceName: string) {
    return this.call({ resource: 'endpointslices', verb: 'list' }, undefined, (o) =>
      this.discovery.listNamespacedEndpointSlice({ namespace: this.namespace, labelSelector: serviceNameSelector(serviceName) }, o),
    );
  }

  watchPath(permission: Permission & { verb: 'watch' }): string {
    const group: string = permissions[permission.resource].group;
    const prefix = group === '' ? '/api/v1' : `/apis/${group}/v1`;
    return `${prefix}/namespaces/${this.namespace}/${permission.resource}`;
  }

  readonly startWatch: StartWatch = (path, query, onEvent, onDone) => {
    kubeRequestsTotal.inc({ region: this.region, verb: 'watch', resource: path.slice(path.lastIndexOf('/') + 1) });
    return this.watcher.watch(path, query, onEvent, onDone);
  };

  /** GET /version with its own short timeout: is the API server there at all? */
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

  private operation(permission: Permission, name: string | undefined): KubeOperation {
    return { region: this.region, verb: permission.verb, resource: permission.resource, group: permissions[permission.resource].group, namespace: this.namespace, ...(name ? { name } : {}) };
  }
}

export async function orNull<T>(pending: Promise<T>): Promise<T | null> {
  try {
    return await pending;
  } catch (error) {
    if (isKubeError(error, 'not-found')) return null;
    throw error;
  }
}

export async function ignoreNotFound(pending: Promise<unknown>): Promise<void> {
  await orNull(pending);
}

/** true when this call created the object, false when it was already there. */
export async function createIfMissing(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (error) {
    if (isKubeError(error, 'already-exists')) return false;
    throw error;
  }
}

export function withContentType(options: ConfigurationOptions, contentType: string): ConfigurationOptions {
  return setHeaderOptions('Content-Type', contentType, options);
}

export function serviceNameSelector(serviceName: string): string {
  return `kubernetes.io/service-name=${serviceName}`;
}
