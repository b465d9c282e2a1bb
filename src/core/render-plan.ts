import { formatDuration } from './durations.js';
import type { Plan, Step } from './plan.js';

/** One line for a step, region first: "eu-west: switch the live selector v41 → v42". */
export function describeStep(step: Step): string {
  return `${step.region}: ${stepText(step)}`;
}

/**
 * The dry run: what the plan will do, region by region in order, with the live selector change
 * per region, the checks and the bakes. The same text opens the release thread.
 */
export function renderPlan(plan: Plan): string {
  const lines = [title(plan)];
  // Numbered in execution order; grouped by region (every region's precheck runs first).
  const number = new Map(plan.steps.map((step, index) => [step, index + 1]));
  for (const region of plan.regions) {
    const steps = plan.steps.filter((s) => s.region === region);
    lines.push(`${region}: ${regionSummary(plan, steps)}`);
    for (const step of steps) lines.push(`  ${number.get(step)}. ${stepText(step)}`);
  }
  if (plan.notes.length > 0) {
    lines.push('Notes:');
    for (const note of plan.notes) lines.push(`  - ${note}`);
  }
  return lines.join('\n');
}

function title(plan: Plan): string {
  const where = `${plan.environment} (${plan.regions.join(', then ')})`;
  const version = plan.version ?? '';
  switch (plan.action) {
    case 'deploy':
      return `Deploy ${plan.app} ${version} to ${where}; live traffic is not touched`;
    case 'promote':
      return `Promote ${plan.app} ${version} in ${where}`;
    case 'rollback':
      return `Roll back ${plan.app} to ${version} in ${where}`;
    case 'bootstrap':
      return `Bootstrap ${plan.app} in ${where}${plan.version ? `, initial version ${plan.version}` : ''}`;
    case 'cleanup':
      return `Clean up old versions of ${plan.app} in ${where}`;
  }
}

function regionSummary(plan: Plan, steps: Step[]): string {
  if (steps.length === 0) return 'nothing to do';
  if (plan.action === 'promote' || plan.action === 'rollback') {
    const change = steps.find((s) => s.kind === 'switch');
    if (change?.kind === 'switch') return `live selector ${change.from ?? 'none'} → ${change.to}`;
    return `live selector already on ${plan.version ?? '?'}`;
  }
  if (plan.action === 'cleanup') {
    const count = steps.length;
    return `delete ${count} version${count === 1 ? '' : 's'}`;
  }
  if (plan.action === 'deploy') {
    return steps.some((s) => s.kind === 'install') ? `install ${plan.version ?? '?'}` : `${plan.version ?? '?'} already installed, checking its route`;
  }
  return 'create the live Service and route';
}

function pods(n: number): string {
  return `${n} ready pod${n === 1 ? '' : 's'}`;
}

function stepText(step: Step): string {
  switch (step.kind) {
    case 'install':
      return `install ${step.version} (Deployment, Service and version route)`;
    case 'wait-ready':
      return `wait until ${step.version} has at least ${pods(step.minReady)}`;
    case 'check-route':
      return `check that /${step.version}/ answers with ${step.version}`;
    case 'bootstrap':
      return step.initialVersion === null
        ? 'create the live Service and route (no live version yet)'
        : `create the live Service and route, selecting ${step.initialVersion}`;
    case 'check-names':
      return `check that the names of ${step.version} are free or cutover's (nothing else is overwritten)`;
    case 'precheck': {
      const gates = step.gates?.length ? `, the queries of gates ${step.gates.join(', ')} answer` : '';
      return `precheck ${step.version}: installed, at least ${pods(step.minReady)}, /${step.version}/ answers with ${step.version}${gates}`;
    }
    case 'switch': {
      const recorded = step.rollbackTargetAfter === undefined ? '' : `, rollback target back to ${step.rollbackTargetAfter ?? 'none'}`;
      return `switch the live selector ${step.from ?? 'none'} → ${step.to}${recorded}`;
    }
    case 'verify':
      return `verify: EndpointSlices hold only ready ${step.version} pods and the live URL answers with ${step.version}`;
    case 'bake':
      return step.gates?.length
        ? `bake ${formatDuration(step.durationMs)} while health gates ${step.gates.join(', ')} hold (a failing gate switches back)`
        : `bake ${formatDuration(step.durationMs)} before the next region`;
    case 'delete-version':
      return `delete ${step.version} (${step.reason})`;
  }
}
