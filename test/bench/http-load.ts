import http from 'node:http';

export interface LoadResult {
  requests: number;
  failed: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  statuses: Record<string, number>;
  versions: Record<string, number>;
}

export interface LoadOptions {
  url: string;
  durationMs: number;
  concurrency: number;
}

/** Closed-loop keep-alive HTTP load: `concurrency` loops, each sending its next request when the last one answered. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL(options.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const versions: Record<string, number> = {};
  let failed = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const once = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: target.hostname, port: target.port, path: target.pathname + target.search, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          const status = String(res.statusCode);
          statuses[status] = (statuses[status] ?? 0) + 1;
          const version = res.headers['x-app-version'];
          if (typeof version === 'string') versions[version] = (versions[version] ?? 0) + 1;
          if (res.statusCode !== 200) failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        statuses.error = (statuses.error ?? 0) + 1;
        resolve();
      });
    });

  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    requests: latencies.length + (statuses.error ?? 0),
    failed,
    rps: Math.round(latencies.length / elapsed),
    p50_ms: round(quantile(0.5)),
    p99_ms: round(quantile(0.99)),
    statuses,
    versions,
  };
}
