import { fork } from 'node:child_process';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface PacedTarget {
  url: string;
  region: string;
}

export interface PacedOptions {
  targets: PacedTarget[];
  /** Requests per second to send, in total over all targets. */
  rps: number;
  /** Cap on requests in flight; a request due while the cap is reached is counted as not sent. */
  maxInFlight: number;
  /** Versions whose existing sessions request `/<version>/app.js` (every other request). */
  sessionVersions?: readonly string[];
  /**
   * Sessions follow what users saw: every other request is `/<v>/app.js`, v being the version `/`
   * answered in that region `delayMs` earlier (a session opened then and now loads its assets), so
   * a session fails when its version goes away or is not served. Until `/` answered there, `/`.
   */
  sessionsFollowLive?: { delayMs: number };
  /** Paths requested instead of `/` and the session paths (e.g. only `/`). */
  paths?: readonly string[];
  timeoutMs?: number;
}

export interface PacedCounters {
  /** Requests sent (answered, failed or still in flight). */
  sent: number;
  answered: number;
  failed: number;
  /** Due by the schedule but not sent because maxInFlight was reached: the generator fell behind. */
  notSent: number;
  failures: Record<string, number>;
  versions: Record<string, number>;
  wrongVersion: number;
  byRegion: Record<string, { sent: number; failed: number }>;
  elapsedMs: number;
  /** Achieved rate: requests completed (answered or failed) per second of elapsed time. */
  rps: number;
  latencyMs: { p50: number; p99: number; max: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

export interface PacedTraffic {
  counters(): PacedCounters;
  stop(): Promise<PacedCounters>;
}

/**
 * Open-loop load at a fixed rate over keep-alive connections: new users on `/`, existing
 * sessions on `/<their version>/app.js`. Unlike a closed loop, a slow answer does not slow the
 * offered rate, so stalls show up as latency, failures or `notSent`, never as a quietly lower rate.
 * A request fails on a non-2xx answer or a connection error: what a user would see.
 */
export function startPacedTraffic(options: PacedOptions): PacedTraffic {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.ceil(options.maxInFlight / options.targets.length) + 4 });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const counters = {
    sent: 0,
    answered: 0,
    failed: 0,
    notSent: 0,
    failures: {} as Record<string, number>,
    versions: {} as Record<string, number>,
    wrongVersion: 0,
    byRegion: Object.fromEntries(options.targets.map((t) => [t.region, { sent: 0, failed: 0 }])) as Record<string, { sent: number; failed: number }>,
  };
  // Latencies in 0.1 ms buckets up to 10 s: constant memory for millions of requests.
  const buckets = new Uint32Array(100_001);
  let maxLatency = 0;
  let inFlight = 0;
  let turn = 0;
  let settled: (() => void) | null = null;
  const started = performance.now();
  let stoppedAt: number | null = null;
  // Per region: the versions `/` answered, in order, as [time, version] when the version changed.
  const liveSeen = new Map<string, { history: [number, string][]; last: string | null; atDelay: string | null }>(options.targets.map((t) => [t.region, { history: [], last: null, atDelay: null }]));
  const sessionVersion = (region: string, now: number): string | null => {
    const seen = liveSeen.get(region)!;
    const cutoff = now - options.sessionsFollowLive!.delayMs;
    while (seen.history.length > 0 && seen.history[0]![0] <= cutoff) seen.atDelay = seen.history.shift()![1];
    return seen.atDelay;
  };

  const send = (): void => {
    const target = options.targets[turn % options.targets.length]!;
    const sessions = options.sessionVersions ?? [];
    const custom = options.paths;
    let path = '/';
    let pinned: string | undefined;
    const follow = options.sessionsFollowLive && Math.floor(turn / options.targets.length) % 2 === 1;
    if (custom && custom.length > 0) path = custom[turn % custom.length]!;
    else if (follow) {
      const version = sessionVersion(target.region, performance.now());
      if (version !== null) {
        pinned = version;
        path = `/${version}/app.js`;
      }
    } else if (sessions.length > 0 && Math.floor(turn / options.targets.length) % 2 === 1) {
      pinned = sessions[Math.floor(turn / (2 * options.targets.length)) % sessions.length]!;
      path = `/${pinned}/app.js`;
    }
    turn += 1;
    counters.sent += 1;
    counters.byRegion[target.region]!.sent += 1;
    inFlight += 1;
    const t0 = performance.now();
    let done = false;
    const finish = (failure: string | null, version?: string): void => {
      if (done) return;
      done = true;
      inFlight -= 1;
      const ms = performance.now() - t0;
      buckets[Math.min(buckets.length - 1, Math.round(ms * 10))]! += 1;
      if (ms > maxLatency) maxLatency = ms;
      if (failure !== null) {
        counters.failed += 1;
        counters.byRegion[target.region]!.failed += 1;
        counters.failures[failure] = (counters.failures[failure] ?? 0) + 1;
      } else {
        counters.answered += 1;
        const seen = version ?? '(none)';
        counters.versions[seen] = (counters.versions[seen] ?? 0) + 1;
        if (pinned && seen !== pinned) counters.wrongVersion += 1;
        if (path === '/' && version !== undefined) {
          const live = liveSeen.get(target.region)!;
          if (live.last !== version) {
            live.last = version;
            live.history.push([performance.now(), version]);
          }
        }
      }
      if (inFlight === 0) settled?.();
    };
    const req = http.get(new URL(path, target.url), { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const version = res.headers['x-app-version'];
        finish(status >= 200 && status < 300 ? null : `HTTP ${status}`, typeof version === 'string' ? version : undefined);
      });
      res.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    });
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  };

  let due = 0;
  const tick = setInterval(() => {
    const shouldHaveSent = Math.floor(((performance.now() - started) / 1000) * options.rps);
    for (; due < shouldHaveSent; due++) {
      if (inFlight >= options.maxInFlight) counters.notSent += 1;
      else send();
    }
  }, 5);

  const quantile = (q: number): number => {
    const total = counters.answered + counters.failed;
    let seen = 0;
    for (let i = 0; i < buckets.length; i++) {
      seen += buckets[i]!;
      if (seen > q * total) return i / 10;
    }
    return 0;
  };
  const snapshot = (): PacedCounters => {
    const elapsedMs = (stoppedAt ?? performance.now()) - started;
    // The histogram includes its own 1 ms sampling interval; report only the delay beyond it.
    const ms = (ns: number): number => Math.max(0, Math.round((ns - 1e6) / 1e5) / 10);
    return {
      ...structuredClone(counters),
      elapsedMs: Math.round(elapsedMs),
      rps: Math.round((counters.answered + counters.failed) / (elapsedMs / 1000)),
      latencyMs: { p50: quantile(0.5), p99: quantile(0.99), max: Math.round(maxLatency * 10) / 10 },
      eventLoopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    };
  };
  return {
    counters: snapshot,
    stop: async () => {
      clearInterval(tick);
      stoppedAt = performance.now();
      if (inFlight > 0) await new Promise<void>((resolve) => (settled = resolve));
      loop.disable();
      agent.destroy();
      return snapshot();
    },
  };
}

type ChildMessage = { type: 'started' } | { type: 'snapshot'; counters: PacedCounters } | { type: 'stopped'; counters: PacedCounters };

/**
 * The same load from a child process: its own event loop, heap and GC on the second core, so a
 * pause in the process running the sandbox and the bot shows up as latency seen by users, instead
 * of silently delaying the schedule of the generator that shares its event loop.
 */
export async function startPacedTrafficProcess(options: PacedOptions): Promise<{ counters(): Promise<PacedCounters>; stop(): Promise<PacedCounters> }> {
  // Inherits the tsx loader from this process's execArgv.
  const child = fork(new URL('./paced-traffic-child.ts', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (type: ChildMessage['type']): Promise<ChildMessage> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: ChildMessage): void => {
        if (message.type !== type) return;
        cleanup();
        resolve(message);
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`the traffic process exited (${code}) before "${type}"`));
      };
      const cleanup = (): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const started = next('started');
  child.send({ type: 'start', options });
  await started;
  return {
    counters: async () => {
      const snapshot = next('snapshot');
      child.send({ type: 'snapshot' });
      return ((await snapshot) as Extract<ChildMessage, { type: 'snapshot' }>).counters;
    },
    stop: async () => {
      const stopped = next('stopped');
      child.send({ type: 'stop' });
      const message = await stopped;
      child.disconnect();
      return (message as Extract<ChildMessage, { type: 'stopped' }>).counters;
    },
  };
}
