/** A plan is data: the steps the runner executes, in order, and what each one means. */

export type Step =
  /** Before anything is installed anywhere: the version's object names are free or already cutover's. */
  | { kind: 'check-names'; region: string; version: string }
  | { kind: 'install'; region: string; version: string }
  | { kind: 'wait-ready'; region: string; version: string; minReady: number }
  | { kind: 'check-route'; region: string; version: string }
  | { kind: 'bootstrap'; region: string; initialVersion: string | null }
  /** `gates`: the health gates the bake will evaluate; their queries must answer before traffic moves. */
  | { kind: 'precheck'; region: string; version: string; minReady: number; gates?: string[] }
  | {
      kind: 'switch';
      region: string;
      from: string | null;
      to: string;
      /** Rollback target to record on the live Service after the switch; absent: `from`. */
      rollbackTargetAfter?: string | null;
      /** The rollback target recorded before this switch, so a compensation can put it back. */
      rollbackTargetBefore?: string | null;
    }
  | { kind: 'verify'; region: string; version: string }
  /**
   * Wait, then confirm the region still serves `version` before the next region is touched; with
   * `gates`, evaluate those health gates through the wait (a failing gate fails the step).
   */
  | { kind: 'bake'; region: string; durationMs: number; version: string; gates?: string[] }
  | { kind: 'delete-version'; region: string; version: string; reason: string };

export type StepKind = Step['kind'];

export type Action = 'deploy' | 'promote' | 'rollback' | 'cleanup' | 'bootstrap';

export interface Plan {
  action: Action;
  app: string;
  environment: string;
  /** The version the action is about (rollback: per region, see steps; cleanup: null). */
  version: string | null;
  regions: string[];
  steps: Step[];
  /** Steps already true in the cluster, reported as skipped with the reason. */
  notes: string[];
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; reasons: string[] };

export function refused(...reasons: string[]): PlanResult {
  return { ok: false, reasons };
}
