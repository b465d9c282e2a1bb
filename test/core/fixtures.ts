import type { AppSpec, InstalledVersion, RegionState } from '../../src/core/model.js';
import { defaultLabelKeys } from '../../src/core/names.js';
import type { Plan, PlanResult } from '../../src/core/plan.js';
import type { PlanPolicy } from '../../src/core/policy.js';

export const app: AppSpec = {
  name: 'shop',
  image: 'registry.example.com/shop:{version}',
  containerPort: 8080,
  replicas: 3,
  env: {},
  healthPath: '/healthz',
  versionHeader: 'x-app-version',
  routing: 'ingress',
  hosts: [],
  labelKeys: defaultLabelKeys,
  terminationGracePeriodSeconds: 30,
  podAnnotations: {},
};

export const policy: PlanPolicy = {
  bakeSeconds: 30,
  minReadyReplicas: 2,
  retention: { keep: 3, minAgeSinceLiveHours: 24, graceAfterInstallHours: 1 },
};

/** `v42` ready 3/3; `v42:1/3` one of three ready; options override the rest. */
export function version(spec: string, options: Partial<InstalledVersion> = {}): InstalledVersion {
  const [name = '', counts] = spec.split(':');
  const [ready = '3', desired = '3'] = (counts ?? '3/3').split('/');
  return {
    version: name,
    desiredReplicas: Number(desired),
    readyReplicas: Number(ready),
    updatedReplicas: Number(ready),
    createdAt: '2024-01-01T00:00:00Z',
    retiredAt: null,
    hasService: true,
    hasRoute: true,
    ...options,
  };
}

/** A bootstrapped region live on `live` (null: live Service without a version). */
export function region(name: string, live: string | null, previous: string | null, versions: InstalledVersion[]): RegionState {
  return { region: name, live: { version: live, previousVersion: previous, promotedAt: null, promotedBy: null }, liveRouteExists: true, versions };
}

export function notBootstrapped(name: string, versions: InstalledVersion[]): RegionState {
  return { region: name, live: null, liveRouteExists: false, versions };
}

export function planOf(result: PlanResult): Plan {
  if (!result.ok) throw new Error(`refused: ${result.reasons.join('; ')}`);
  return result.plan;
}

export function reasonsOf(result: PlanResult): string[] {
  if (result.ok) throw new Error('expected a refusal');
  return result.reasons;
}

/** Steps as short strings, so tables read like the procedure. */
export function brief(plan: Plan): string[] {
  return plan.steps.map((s) => {
    switch (s.kind) {
      case 'switch':
        return `${s.region} switch ${s.from ?? 'none'}->${s.to}`;
      case 'bake':
        return `${s.region} bake ${s.durationMs}`;
      case 'bootstrap':
        return `${s.region} bootstrap ${s.initialVersion ?? 'none'}`;
      case 'delete-version':
        return `${s.region} delete ${s.version}`;
      case 'wait-ready':
      case 'precheck':
        return `${s.region} ${s.kind} ${s.version}>=${s.minReady}`;
      default:
        return `${s.region} ${s.kind} ${s.version}`;
    }
  });
}
