import http from 'node:http';

export interface PinnedCounters {
  sent: number;
  failed: number;
  /** Failures by cause: `HTTP 404`, `ECONNRESET`, ... */
  failures: Record<string, number>;
  /** Answers by the version header's value. */
  versions: Record<string, number>;
}

export interface PinnedSessions {
  counters(): PinnedCounters;
  stop(): Promise<PinnedCounters>;
}

/**
 * Users mid-session on an old version: each loop requests `<ingress>/<version>/app.js` (with the
 * app's Host when routes match by host) until stopped. A non-2xx answer or a connection error is a
 * failed pinned request, as the user would see it.
 */
export function startPinnedSessions(options: { ingressUrls: string[]; version: string; host?: string; concurrency?: number; pauseMs?: number }): PinnedSessions {
  const counters: PinnedCounters = { sent: 0, failed: 0, failures: {}, versions: {} };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let running = true;
  const once = (base: string): Promise<void> =>
    new Promise((resolve) => {
      counters.sent += 1;
      const fail = (cause: string): void => {
        counters.failed += 1;
        counters.failures[cause] = (counters.failures[cause] ?? 0) + 1;
        resolve();
      };
      const req = http.get(new URL(`/${options.version}/app.js`, base), { agent, headers: options.host ? { host: options.host } : {} }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return fail(`HTTP ${status}`);
          const version = String(res.headers['x-app-version'] ?? '(none)');
          counters.versions[version] = (counters.versions[version] ?? 0) + 1;
          resolve();
        });
        res.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
      });
      req.setTimeout(5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    });
  const loop = async (base: string): Promise<void> => {
    while (running) {
      await once(base);
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 20));
    }
  };
  const loops = options.ingressUrls.flatMap((url) => Array.from({ length: options.concurrency ?? 2 }, () => loop(url)));
  return {
    counters: () => structuredClone(counters),
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return structuredClone(counters);
    },
  };
}
