import type { RegionReport, ReleaseResult } from '../core/events.js';
import type { Plan } from '../core/plan.js';
import type { RunCursor } from './runner.js';
import type { StepRecord } from './steps.js';

/**
 * The result a run's records add up to: per region what was done and measured, what the
 * compensation restored. For promotions and rollbacks the runner then replaces the outcome and
 * the split with what the clusters say (core's judgeTrafficRelease).
 */
export function summarize(plan: Plan, cursor: RunCursor, totalMs: number): ReleaseResult {
  const reports = new Map<string, RegionReport>(plan.regions.map((region) => [region, notStarted(region)]));
  for (const record of cursor.records) {
    const report = reports.get(record.step.region);
    if (!report) continue;
    if (record.step.kind !== 'bake') report.timings.totalMs += record.durationMs;
    applyRecord(report, record);
  }
  const failedCompensation = cursor.records.filter((r) => r.phase === 'compensation' && r.outcome === 'failed').map((r) => r.step.region);
  const restored = [...new Set(cursor.records.filter((r) => r.phase === 'compensation' && r.step.kind === 'switch' && r.outcome !== 'failed').map((r) => r.step.region))].filter(
    (region) => !failedCompensation.includes(region),
  );
  const unrestorable = cursor.compensationNotes.length > 0 ? cursor.forwardSteps.filter((s) => s.kind === 'switch' && s.from === null).map((s) => s.region) : [];
  const compensation = cursor.phase === 'compensation' ? { ran: true, restored, failed: [...new Set([...failedCompensation, ...unrestorable])] } : null;
  for (const region of restored) reports.get(region)!.outcome = 'restored';
  const outcome = cursor.failure === null ? 'succeeded' : compensation && compensation.failed.length === 0 ? 'rolled-back' : 'failed';
  return {
    outcome,
    action: plan.action,
    app: plan.app,
    environment: plan.environment,
    version: plan.version,
    regions: [...reports.values()],
    reasons: cursor.failure ? [cursor.failure, ...cursor.compensationNotes] : [],
    split: false,
    compensation,
    totalMs,
  };
}

/** A region's report before any step ran there. */
export function notStarted(region: string): RegionReport {
  return { region, from: null, to: null, outcome: 'not-started', timings: { patchMs: null, endpointsMs: null, dataPlaneMs: null, totalMs: 0 }, health: null, detail: null };
}

function applyRecord(report: RegionReport, record: StepRecord): void {
  const { step, measures } = record;
  if (record.outcome === 'failed') {
    report.detail = record.detail;
    if (record.phase === 'forward') report.outcome = 'failed';
  }
  if (record.phase === 'compensation') return;
  if (measures.gates) report.gates = measures.gates;
  switch (step.kind) {
    case 'switch':
      report.from = step.from;
      report.to = step.to;
      if (record.outcome !== 'failed') report.outcome = 'switched';
      if (measures.patchMs !== undefined) report.timings.patchMs = measures.patchMs;
      break;
    case 'verify':
      if (measures.endpointsMs !== undefined) report.timings.endpointsMs = measures.endpointsMs;
      if (measures.dataPlaneMs !== undefined) report.timings.dataPlaneMs = measures.dataPlaneMs;
      if (measures.health) report.health = measures.health;
      if (report.to === null) report.to = step.version;
      if (report.outcome === 'not-started' && record.outcome !== 'failed') report.outcome = 'already-live';
      break;
    case 'install':
    case 'wait-ready':
    case 'check-route':
      report.to = step.version;
      if (record.outcome !== 'failed' && report.outcome !== 'failed') report.outcome = 'installed';
      if (measures.health) report.health = measures.health;
      break;
    case 'delete-version':
      // A deletion skipped because the version still had traffic cleaned nothing.
      if (record.outcome === 'ok' && report.outcome !== 'failed') report.outcome = 'cleaned';
      break;
    default:
      break;
  }
}
