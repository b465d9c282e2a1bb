import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { logger } from '../../observability/log.js';
import { kubeRequestsTotal } from '../../observability/metrics.js';
import { KubeError, isKubeError, toKubeError, type KubeOperation } from '../errors.js';
import { defaultRetryPolicy, withRetry, type RetryPolicy } from '../retry.js';
import { groupOf, type KubeObject, type ObjectRef } from './objects.js';

/** A kind as discovery lists it. */
export interface ServedKind {
  resource: string;
  namespaced: boolean;
}

export interface ObjectClientOptions {
  region: string;
  namespace: string;
  kubeconfig: KubeConfig;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
}

const fieldManager = 'cutover';

/**
 * Get, server-side apply (or its dry run) and delete objects of any namespaced kind a chart
 * renders, resolving kinds through discovery as kubectl does. Same retries, logs and errors as the
 * typed calls of the adapter.
 */
export class ObjectClient {
  private readonly discovery = new Map<string, Promise<Map<string, ServedKind> | null>>();
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;

  constructor(private readonly options: ObjectClientOptions) {
    this.policy = { ...defaultRetryPolicy, ...options.retry };
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /** The kind as this cluster serves it; null when its group version or kind is not served. */
  async kindOf(apiVersion: string, kind: string): Promise<ServedKind | null> {
    let pending = this.discovery.get(apiVersion);
    if (!pending) {
      pending = this.send<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>('GET', versionPath(apiVersion), {}, null, { verb: 'get', resource: 'discovery', group: groupOf(apiVersion) })
        .then((list) => new Map((list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => [r.kind, { resource: r.name, namespaced: r.namespaced }])))
        .catch((error: unknown) => {
          if (isKubeError(error, 'not-found')) return null;
          this.discovery.delete(apiVersion);
          throw error;
        });
      this.discovery.set(apiVersion, pending);
    }
    return (await pending)?.get(kind) ?? null;
  }

  async get(ref: ObjectRef): Promise<KubeObject | null> {
    const { path, op } = await this.locate(ref, 'get');
    try {
      return await this.send<KubeObject>('GET', path, {}, null, op);
    } catch (error) {
      if (isKubeError(error, 'not-found')) return null;
      throw error;
    }
  }

  /** Objects of a kind in the namespace that match a label selector. */
  async list(apiVersion: string, kind: string, labelSelector: string): Promise<KubeObject[]> {
    const served = await this.kindOf(apiVersion, kind);
    if (!served) return [];
    const path = `${versionPath(apiVersion)}/namespaces/${encodeURIComponent(this.options.namespace)}/${served.resource}`;
    const op = { region: this.options.region, verb: 'list', resource: served.resource, group: groupOf(apiVersion), namespace: this.options.namespace };
    const list = await this.send<{ items?: KubeObject[] }>('GET', path, { labelSelector }, null, op);
    return list.items ?? [];
  }

  /** Server-side apply under cutover's field manager (force: cutover owns these objects whole). */
  async apply(object: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const { path, op } = await this.locate(object, 'patch');
    const query = { fieldManager, force: 'true', ...(options.dryRun ? { dryRun: 'All' } : {}) };
    return this.send<KubeObject>('PATCH', path, query, { body: JSON.stringify(object), contentType: 'application/apply-patch+yaml' }, op);
  }

  /** Delete in the background; an absent object is fine. */
  async remove(ref: ObjectRef): Promise<void> {
    const { path, op } = await this.locate(ref, 'delete');
    try {
      await this.send('DELETE', path, { propagationPolicy: 'Background' }, null, op);
    } catch (error) {
      if (!isKubeError(error, 'not-found')) throw error;
    }
  }

  private async locate(ref: ObjectRef, verb: string): Promise<{ path: string; op: KubeOperation }> {
    const served = await this.kindOf(ref.apiVersion, ref.kind);
    const name = 'metadata' in ref ? ref.metadata.name : ref.name;
    if (!served) throw new KubeError('not-found', `${this.options.region}: the API server does not serve ${ref.kind} in ${ref.apiVersion}`, { region: this.options.region, status: 404 });
    const path = `${versionPath(ref.apiVersion)}/namespaces/${encodeURIComponent(this.options.namespace)}/${served.resource}/${encodeURIComponent(name)}`;
    return { path, op: { region: this.options.region, verb, resource: served.resource, group: groupOf(ref.apiVersion), namespace: this.options.namespace, name } };
  }

  private send<T>(method: string, path: string, query: Record<string, string>, body: { body: string; contentType: string } | null, op: KubeOperation): Promise<T> {
    return withRetry((attempt) => this.once<T>(method, path, query, body, op, attempt), {
      policy: this.policy,
      isRetryable: (error) => isKubeError(error) && error.transient && error.code !== 'conflict',
      retryAfterMs: (error) => (isKubeError(error) ? error.retryAfterMs : null),
    });
  }

  private async once<T>(method: string, path: string, query: Record<string, string>, body: { body: string; contentType: string } | null, op: KubeOperation, attempt: number): Promise<T> {
    const started = performance.now();
    const line = { region: this.options.region, verb: op.verb, resource: op.resource, name: op.name ?? null, attempt, ...(query.dryRun ? { dryRun: true } : {}) };
    kubeRequestsTotal.inc({ region: this.options.region, verb: op.verb, resource: op.resource });
    try {
      const answer = await this.request(method, path, query, body);
      if (answer.status < 200 || answer.status > 299) {
        throw toKubeError({ code: answer.status, headers: answer.headers, body: answer.text }, op);
      }
      logger().debug({ ...line, status: answer.status, ms: Math.round(performance.now() - started) }, 'kube call');
      return (answer.text ? JSON.parse(answer.text) : {}) as T;
    } catch (error) {
      const failure = toKubeError(error, op);
      const fields = { ...line, status: failure.status, ms: Math.round(performance.now() - started), error: failure.code, transient: failure.transient };
      if (failure.code === 'not-found') logger().debug(fields, 'kube call');
      else logger().info(fields, failure.transient ? 'kube call failed, transient' : 'kube call failed');
      throw failure;
    }
  }

  private async request(method: string, path: string, query: Record<string, string>, body: { body: string; contentType: string } | null): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    const cluster = this.options.kubeconfig.getCurrentCluster();
    if (!cluster) throw new KubeError('kubeconfig', `${this.options.region}: the kubeconfig has no current cluster`, { region: this.options.region });
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json', ...(body ? { 'Content-Type': body.contentType } : {}) } };
    await this.options.kubeconfig.applyToHTTPSOptions(options);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { ...options, signal: AbortSignal.timeout(this.timeoutMs) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body?.body);
    });
  }
}

/** `/api/v1` or `/apis/<group>/<version>`. */
function versionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}
