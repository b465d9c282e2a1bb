import http from 'node:http';

export interface TrafficTarget {
  /** Ingress base URL of one region. */
  url: string;
  region: string;
}

export interface TrafficCounters {
  sent: number;
  failed: number;
  /** Failures by cause: HTTP status or network error code. */
  failures: Record<string, number>;
  /** Responses by the version that answered. */
  versions: Record<string, number>;
  /** Existing sessions pinned to a version that were answered by another one. */
  wrongVersion: number;
  /** Failed answers that came from the app itself (they carry its version header), by version. */
  failedByVersion: Record<string, number>;
}

export interface TrafficOptions {
  targets: TrafficTarget[];
  /** Concurrent keep-alive loops per target. */
  concurrency: number;
  /** Versions whose existing sessions keep requesting `/<version>/app.js`; may change while running. */
  sessionVersions?: () => readonly string[];
  /** Pause between requests of one loop (0: closed loop, as fast as answers come). */
  pauseMs?: number;
}

export interface Traffic {
  counters(): TrafficCounters;
  stop(): Promise<TrafficCounters>;
}

/**
 * Users against each region's ingress: new users on `/`, existing sessions on `/<their version>/`.
 * A request counts as failed on a non-2xx answer or a connection error: what a user would see.
 */
export function startTraffic(options: TrafficOptions): Traffic {
  const counters: TrafficCounters = { sent: 0, failed: 0, failures: {}, versions: {}, wrongVersion: 0, failedByVersion: {} };
  let running = true;
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency * options.targets.length * 2 });
  // Per target, so that every region sees every session version.
  const turns = new Map<TrafficTarget, number>();

  const request = (target: TrafficTarget): Promise<void> =>
    new Promise((resolve) => {
      const sessions = options.sessionVersions?.() ?? [];
      // Every other request is a session's, taking the session versions in turn.
      const n = turns.get(target) ?? 0;
      turns.set(target, n + 1);
      const pinned = sessions.length > 0 && n % 2 === 1 ? sessions[Math.floor(n / 2) % sessions.length] : undefined;
      const url = new URL(pinned ? `/${pinned}/app.js` : '/', target.url);
      counters.sent += 1;
      const fail = (cause: string): void => {
        counters.failed += 1;
        counters.failures[cause] = (counters.failures[cause] ?? 0) + 1;
        resolve();
      };
      const req = http.get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const version = res.headers['x-app-version'];
          if (status < 200 || status >= 300) {
            if (typeof version === 'string') counters.failedByVersion[version] = (counters.failedByVersion[version] ?? 0) + 1;
            return fail(`HTTP ${status}`);
          }
          const seen = typeof version === 'string' ? version : '(none)';
          counters.versions[seen] = (counters.versions[seen] ?? 0) + 1;
          if (pinned && seen !== pinned) counters.wrongVersion += 1;
          resolve();
        });
        res.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
      });
      req.setTimeout(5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    });

  const loop = async (target: TrafficTarget): Promise<void> => {
    while (running) {
      await request(target);
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  };
  const loops = options.targets.flatMap((target) => Array.from({ length: options.concurrency }, () => loop(target)));
  const snapshot = (): TrafficCounters => structuredClone(counters);
  return {
    counters: snapshot,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return snapshot();
    },
  };
}
