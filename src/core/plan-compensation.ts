import type { Step } from './plan.js';

export interface Compensation {
  /** Inverse steps, in the order they must run (last switched region first). */
  steps: Step[];
  /** Regions that cannot be switched back, and why. */
  notes: string[];
}

type SwitchStep = Extract<Step, { kind: 'switch' }>;

/**
 * The inverse of the switches that completed, in reverse order: switch each region back to what
 * was live before and verify it. The restored region records its old rollback target again, so a
 * later `/release rollback` does not go to the version that just failed.
 */
export function planCompensation(completed: readonly Step[]): Compensation {
  const switches = completed.filter((s): s is SwitchStep => s.kind === 'switch');
  const steps: Step[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const step of [...switches].reverse()) {
    // A region switched twice in one run goes back to where it started: its first `from`.
    if (seen.has(step.region)) continue;
    seen.add(step.region);
    const first = switches.find((s) => s.region === step.region)!;
    if (first.from === null) {
      notes.push(`${step.region} had no live version before, so it cannot be switched back and stays on ${step.to}`);
      continue;
    }
    if (first.from === step.to) continue;
    const back: SwitchStep = { kind: 'switch', region: step.region, from: step.to, to: first.from };
    if (first.rollbackTargetBefore !== undefined) back.rollbackTargetAfter = first.rollbackTargetBefore;
    steps.push(back, { kind: 'verify', region: step.region, version: first.from });
  }
  return { steps, notes };
}
