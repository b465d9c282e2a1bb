import { UnrecoverableError, type Job } from 'bullmq';
import type { ReleaseResult } from '../src/core/events.js';
import { isJobKind, type JobKind } from '../src/queue/names.js';
import { processBootstrap } from './bootstrap.js';
import { processCleanup } from './cleanup.js';
import { processDeploy } from './deploy.js';
import { processPromote } from './promote.js';
import { processRollback } from './rollback.js';
import type { JobContext } from './run-release-job.js';

type JobProcessor = (job: Job, token: string | undefined, context: JobContext) => Promise<ReleaseResult>;

const processors: Record<JobKind, JobProcessor> = {
  deploy: processDeploy,
  promote: processPromote,
  rollback: processRollback,
  cleanup: processCleanup,
  bootstrap: processBootstrap,
};

/** The BullMQ processor of the release queue: the job name is its kind. */
export function createReleaseProcessor(context: JobContext): (job: Job, token?: string) => Promise<ReleaseResult> {
  return (job, token) => {
    if (!isJobKind(job.name)) return Promise.reject(new UnrecoverableError(`unknown job kind "${job.name}"`));
    return processors[job.name](job, token, context);
  };
}
