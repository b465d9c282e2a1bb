import http from 'node:http';
import https from 'node:https';
import type { Cluster } from '../kube/cluster.js';

/** Where a region's traffic can be sampled: its ingress/gateway URL and, optionally, the Host to send. */
export interface ProbeTarget {
  url: string;
  host?: string | undefined;
  versionHeader: string;
}

export interface Sample {
  status: number;
  version: string | null;
  error: string | null;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 8 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 8 }),
};

/** One GET through the region's live entry point; never throws. */
export function sample(target: ProbeTarget, path: string, timeoutMs: number): Promise<Sample> {
  const url = new URL(path.replace(/^\/+/, ''), target.url.endsWith('/') ? target.url : `${target.url}/`);
  const isHttps = url.protocol === 'https:';
  return new Promise((resolve) => {
    const request = (isHttps ? https : http).request(
      url,
      { method: 'GET', agent: isHttps ? agents.https : agents.http, timeout: timeoutMs, headers: target.host ? { host: target.host } : {} },
      (response) => {
        response.resume();
        response.on('end', () => {
          const header = response.headers[target.versionHeader.toLowerCase()];
          resolve({ status: response.statusCode ?? 0, version: typeof header === 'string' ? header : null, error: null });
        });
        response.on('error', (error) => resolve({ status: 0, version: null, error: error.message }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ status: 0, version: null, error: error.message }));
    request.end();
  });
}

/** What one sample asks for, in both forms a sampler may need. */
export interface SampleRequest {
  /** Path through the region's ingress or gateway (the route), e.g. `/v42/healthz` or `/healthz`. */
  routePath: string;
  /** The Service behind that route, and the path its pods receive (the service proxy goes straight there). */
  service: string;
  podPath: string;
}

/**
 * How a region's traffic is sampled (policy `verify.via`): through the ingress URL cutover can
 * reach, or through the API server's service proxy when it cannot. (`endpoints`: no sampler.)
 */
export interface Sampler {
  readonly via: 'ingress' | 'service-proxy';
  sample(request: SampleRequest, timeoutMs: number): Promise<Sample>;
}

/** Samples through the region's live entry point (ingress or gateway URL). */
export function ingressSampler(target: ProbeTarget): Sampler {
  return { via: 'ingress', sample: (request, timeoutMs) => sample(target, request.routePath, timeoutMs) };
}

/** Samples the Services themselves through the API server, with cutover's credentials: no route to the ingress needed. */
export function serviceProxySampler(cluster: Pick<Cluster, 'proxySample'>, versionHeader: string): Sampler {
  return { via: 'service-proxy', sample: (request, timeoutMs) => cluster.proxySample(request.service, request.podPath, { versionHeader, timeoutMs }) };
}

export interface ConvergenceResult {
  converged: boolean;
  convergedMs: number;
  samples: Record<string, number>;
  failedSamples: number;
  lastError: string | null;
}

/**
 * Samples `path` until `consecutive` answers in a row are 2xx from `version`, or the timeout.
 * Every answer counts in `samples` (by version) or `failedSamples`, so a report shows what users saw.
 */
export async function waitForVersion(
  sampler: Sampler,
  request: SampleRequest,
  version: string,
  options: { consecutive: number; timeoutMs: number; intervalMs?: number; signal?: AbortSignal | undefined },
): Promise<ConvergenceResult> {
  const started = performance.now();
  const samples: Record<string, number> = {};
  let failedSamples = 0;
  let streak = 0;
  let lastError: string | null = null;
  while (performance.now() - started < options.timeoutMs && !options.signal?.aborted) {
    const answer = await sampler.sample(request, Math.min(5000, options.timeoutMs));
    if (answer.status >= 200 && answer.status < 300) {
      const seen = answer.version ?? '(no version header)';
      samples[seen] = (samples[seen] ?? 0) + 1;
      streak = answer.version === version ? streak + 1 : 0;
      if (answer.version !== version) lastError = `answered by ${seen}`;
    } else {
      failedSamples += 1;
      streak = 0;
      lastError = answer.error ?? `HTTP ${answer.status}`;
    }
    if (streak >= options.consecutive) {
      return { converged: true, convergedMs: performance.now() - started, samples, failedSamples, lastError: null };
    }
    if (streak === 0) await delay(options.intervalMs ?? pauseAfter(performance.now() - started));
  }
  return { converged: false, convergedMs: performance.now() - started, samples, failedSamples, lastError };
}

/**
 * The pause before sampling again while the target is not answering yet: 5% of the time already
 * waited, from 5 ms to 50 ms. A switch that converges within one proxy sync (most) is seen within
 * a few ms of it; a slow one is not hammered.
 */
export function pauseAfter(waitedMs: number): number {
  return Math.min(50, Math.max(5, Math.round(waitedMs * 0.05)));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
