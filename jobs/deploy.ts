import type { Job } from 'bullmq';
import type { ReleaseResult } from '../src/core/events.js';
import { passJobGate } from './job-gate.js';
import { runReleaseJob, type JobContext } from './run-release-job.js';

/** Install a version in every region of the environment; live traffic is untouched. */
export function processDeploy(job: Job, token: string | undefined, context: JobContext): Promise<ReleaseResult> {
  return runReleaseJob(job, token, context, { kind: 'deploy', version: (payload) => payload.version, prepare: passJobGate });
}
