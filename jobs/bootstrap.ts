import type { Job } from 'bullmq';
import type { ReleaseResult } from '../src/core/events.js';
import { passJobGate } from './job-gate.js';
import { runReleaseJob, type JobContext } from './run-release-job.js';

/** Create the live Service and live route once, optionally selecting an initial version. */
export function processBootstrap(job: Job, token: string | undefined, context: JobContext): Promise<ReleaseResult> {
  return runReleaseJob(job, token, context, { kind: 'bootstrap', version: (payload) => payload.version ?? null, prepare: passJobGate });
}
