import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics, one registry per process role: the web process (Slack) and the worker
 * (jobs) each serve only their own at /metrics.
 */

export const webRegistry = new Registry();
export const workerRegistry = new Registry();

/** Approval requests by what became of them: requested, approved, rejected, expired, superseded. */
export const approvalsTotal = new Counter({
  name: 'cutover_approvals_total',
  help: 'Approval requests by outcome',
  labelNames: ['outcome'] as const,
  registers: [webRegistry],
});

/** /release commands by action (or "invalid") and what the bot answered. */
export const slackCommandsTotal = new Counter({
  name: 'cutover_slack_commands_total',
  help: '/release commands by action and result',
  labelNames: ['action', 'result'] as const,
  registers: [webRegistry],
});

/** Finished runs of release jobs: a release outcome, or retry/error when the run threw. */
export const jobsTotal = new Counter({
  name: 'cutover_jobs_total',
  help: 'Release job runs by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
  registers: [workerRegistry],
});

/** Per region and phase of a traffic switch: patch, endpoints, data_plane, total. */
export const regionSwitchSeconds = new Histogram({
  name: 'cutover_region_switch_seconds',
  help: 'Duration of a region switch by phase (patch, endpoints, data_plane, total)',
  labelNames: ['region', 'phase'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [workerRegistry],
});

/** From enqueue until a worker started running the job (lease waits included). */
export const queueWaitSeconds = new Histogram({
  name: 'cutover_queue_wait_seconds',
  help: 'Time from enqueue until the job started running',
  labelNames: ['kind'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  registers: [workerRegistry],
});

/** A job found its app and environment leased by another and was delayed. */
export const leaseWaitsTotal = new Counter({
  name: 'cutover_lease_waits_total',
  help: 'Times a job waited because another job held the lease it needs',
  labelNames: ['kind'] as const,
  registers: [workerRegistry],
});

const withDefaults = new WeakSet<Registry>();

/** Add Node's process metrics (CPU, memory, event loop lag) to a registry; entry points only. */
export function collectProcessMetrics(registry: Registry): void {
  if (withDefaults.has(registry)) return;
  withDefaults.add(registry);
  collectDefaultMetrics({ register: registry });
}

/** Figures of one region of a release result, as the histogram records them. */
export interface RegionSwitchTimings {
  region: string;
  outcome: string;
  timings: { patchMs: number | null; endpointsMs: number | null; dataPlaneMs: number | null; totalMs: number };
}

/** Record the phases of every region that switched traffic. */
export function observeRegionSwitches(regions: readonly RegionSwitchTimings[]): void {
  for (const { region, outcome, timings } of regions) {
    if (outcome !== 'switched') continue;
    const phases: [string, number | null][] = [
      ['patch', timings.patchMs],
      ['endpoints', timings.endpointsMs],
      ['data_plane', timings.dataPlaneMs],
      ['total', timings.totalMs],
    ];
    for (const [phase, ms] of phases) if (ms !== null) regionSwitchSeconds.observe({ region, phase }, ms / 1000);
  }
}

/** Every request to a Kubernetes API server (each attempt, watches included), by region, verb and resource. */
export const kubeRequestsTotal = new Counter({
  name: 'cutover_kube_requests_total',
  help: 'Requests to the Kubernetes API servers by region, verb and resource',
  labelNames: ['region', 'verb', 'resource'] as const,
  registers: [workerRegistry],
});
