import type { Job } from 'bullmq';
import type { ReleaseResult } from '../src/core/events.js';
import { passJobGate } from './job-gate.js';
import { runReleaseJob, type JobContext } from './run-release-job.js';

/** Switch back to each region's recorded previous version, or to a named retained version. */
export function processRollback(job: Job, token: string | undefined, context: JobContext): Promise<ReleaseResult> {
  return runReleaseJob(job, token, context, { kind: 'rollback', version: (payload) => payload.toVersion ?? null, prepare: passJobGate });
}
