import { fillQuery, judgeGate, type GateDefinition, type GateReading, type QueryAnswer } from '../core/gates.js';
import type { AppSpec, RegionState } from '../core/model.js';
import { versionNames } from '../core/names.js';
import type { IdlePolicy } from '../core/policy.js';
import type { TrafficByRegion, VersionTraffic } from '../core/retention.js';

/**
 * The port to a region's metrics (its Prometheus): one instant query answering one number. The
 * wiring fills it with src/prometheus's HTTP client; the release code never speaks PromQL's wire
 * format itself.
 */
export interface MetricsSource {
  /** Where it asks, for messages, e.g. `Prometheus at http://prometheus:9090`. */
  readonly description: string;
  /**
   * One instant query: its single number, or null when it answered no sample (or NaN). Rejects
   * with a message a user can act on when Prometheus cannot be reached, refuses the query, or
   * answers more than one series.
   */
  queryValue(promql: string, options?: { signal?: AbortSignal | undefined }): Promise<number | null>;
}

/** Ask one query; never throws: a failure is an answer with the reason. */
export async function ask(metrics: MetricsSource | null | undefined, promql: string, region: string, signal?: AbortSignal): Promise<QueryAnswer> {
  if (!metrics) return { error: `no Prometheus is configured for ${region}` };
  try {
    return { value: await metrics.queryValue(promql, { signal }) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Placeholder values of a gate query for one region and target version. */
export function gateQueryValues(app: AppSpec, version: string, region: string, namespace: string): Record<string, string> {
  return { app: app.name, version, region, namespace };
}

/** Evaluate the named gates once, side by side. */
export async function evaluateGates(
  gates: readonly GateDefinition[],
  metrics: MetricsSource | null | undefined,
  values: Record<string, string>,
  final: boolean,
  signal?: AbortSignal,
): Promise<GateReading[]> {
  return Promise.all(
    gates.map(async (gate) => {
      const query = fillQuery(gate.query, values);
      return judgeGate(gate, query, await ask(metrics, query, values.region ?? '', signal), final);
    }),
  );
}

/** The idle query of one version in one region, placeholders filled. */
export function idleQuery(idle: IdlePolicy, app: AppSpec, version: string, region: string, namespace: string): string {
  const names = versionNames(app, version);
  return fillQuery(idle.query, {
    app: app.name,
    version,
    region,
    namespace,
    service: names.service,
    route: names.route,
    path: names.path,
    window: `${Math.max(1, Math.round(idle.windowMinutes * 60))}s`,
  });
}

/** A version's requests over the idle window, or why they are unknown (no number is unknown too). */
export async function readTraffic(idle: IdlePolicy, metrics: MetricsSource | null | undefined, app: AppSpec, version: string, region: string, namespace: string): Promise<VersionTraffic> {
  const answer = await ask(metrics, idleQuery(idle, app, version, region, namespace), region);
  if ('error' in answer) return { unknown: answer.error };
  if (answer.value === null) return { unknown: 'the idle query answered no number: is the ingress scraped?' };
  return { requests: Math.max(0, answer.value) };
}

/** Every installed version's recent traffic, per region, side by side; undefined without retention.idle. */
export async function readEnvironmentTraffic(
  idle: IdlePolicy | undefined,
  regions: readonly { name: string; metrics?: MetricsSource | null | undefined; namespace: string }[],
  app: AppSpec,
  states: readonly RegionState[],
): Promise<TrafficByRegion | undefined> {
  if (!idle) return undefined;
  const byRegion = new Map<string, Map<string, VersionTraffic>>();
  await Promise.all(
    states.map(async (state) => {
      const region = regions.find((r) => r.name === state.region);
      const readings = await Promise.all(
        state.versions.map(async (v) => [v.version, region ? await readTraffic(idle, region.metrics, app, v.version, state.region, region.namespace) : { unknown: 'region not configured' }] as const),
      );
      byRegion.set(state.region, new Map(readings));
    }),
  );
  return byRegion;
}
