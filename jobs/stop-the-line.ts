import { DelayedError, type Job, type Queue } from 'bullmq';
import type { Reporter } from '../src/core/events.js';
import { describeStop, stopFor, type Stop } from '../src/core/freeze.js';
import { enqueueRelease } from '../src/queue/enqueue.js';
import type { RedisClient } from '../src/queue/connection.js';
import { FreezeStore } from '../src/queue/freezes.js';
import type { ReleasePayload } from '../src/queue/payloads.js';
import type { RunCursor } from '../src/release/runner.js';

/**
 * Stop-the-line in the worker. A job of a stopped scope does not start (it waits, delayed, and
 * looks again); a running one is aborted with `RunStopped` and halts at its next step boundary,
 * its cursor saved, then waits the same way until `/release resume`. No compensation runs unless
 * the stop asked for it (`--rollback`): then a rollback to the version live before the job's first
 * switch is enqueued, which supersedes the halted job. Rollbacks are never stopped.
 */

/** How often a stopped job looks whether it was resumed, and a running one whether it was stopped. */
export const stopPollMs = 500;

/** The abort reason of a run halted by a stop. */
export class RunStopped extends Error {
  constructor(readonly stop: Stop) {
    super(describeStop(stop));
    this.name = 'RunStopped';
  }
}

export async function activeStop(redis: RedisClient, prefix: string, kind: string, app: string, environment: string): Promise<Stop | null> {
  return stopFor(kind, app, await new FreezeStore(redis, prefix).stops(environment, [app]));
}

/** Calls `onStop` once when a stop covering this job appears; answers a function that stops watching. */
export function watchStops(redis: RedisClient, prefix: string, kind: string, app: string, environment: string, onStop: (stop: Stop) => void): () => void {
  let done = false;
  const timer = setInterval(() => {
    activeStop(redis, prefix, kind, app, environment)
      .then((stop) => {
        if (stop && !done) {
          done = true;
          clearInterval(timer);
          onStop(stop);
        }
      })
      .catch(() => undefined);
  }, stopPollMs);
  timer.unref();
  return () => {
    done = true;
    clearInterval(timer);
  };
}

/** Tell the job's thread once per stop, move the job to delayed and end the processor. Always throws. */
export async function waitWhileStopped(job: Job, token: string | undefined, stop: Stop, reporter: Reporter): Promise<never> {
  const message = describeStop(stop);
  const previous = job.progress as { stoppedBy?: string } | undefined;
  if (typeof previous !== 'object' || previous?.stoppedBy !== message) {
    await job.log(`stopped: ${message}`);
    try {
      await reporter.report({ type: 'stopped', reason: message });
    } catch {
      // The thread is told best effort; the stop holds either way.
    }
    await job.updateProgress({ stoppedBy: message });
  }
  await job.moveToDelayed(Date.now() + stopPollMs, token);
  throw new DelayedError(`stopped: ${message}`);
}

/** With `--rollback`: enqueue the rollback of what this halted job switched (nothing switched: nothing to do). */
export async function rollbackAfterStop(queue: Queue, payload: ReleasePayload, stop: Stop, cursor: RunCursor | undefined): Promise<string | null> {
  const switched = cursor?.records.find((r) => r.phase === 'forward' && r.step.kind === 'switch' && r.outcome === 'ok')?.step;
  if (!stop.rollback || switched?.kind !== 'switch' || switched.from === null) return null;
  const requestId = `${payload.requestId}-stop-rollback`.slice(0, 128);
  await enqueueRelease(queue, 'rollback', {
    requestId,
    app: payload.app,
    environment: payload.environment,
    requestedBy: stop.by,
    source: payload.source,
    toVersion: switched.from,
    ...(payload.slack ? { slack: payload.slack } : {}),
  });
  return requestId;
}
