import type { Job } from 'bullmq';
import type { ReleaseResult } from '../src/core/events.js';
import { passJobGate } from './job-gate.js';
import { runReleaseJob, type JobContext } from './run-release-job.js';

/** Switch live traffic to an installed version, region by region. */
export function processPromote(job: Job, token: string | undefined, context: JobContext): Promise<ReleaseResult> {
  return runReleaseJob(job, token, context, { kind: 'promote', version: (payload) => payload.version, prepare: passJobGate });
}
