import type { AppSpec, RegionState } from '../core/model.js';
import { describeOutsideChange } from '../core/reconcile.js';
import { KubeError } from '../kube/errors.js';
import { liveNames, versionNames } from '../core/names.js';
import type { Step } from '../core/plan.js';
import type { RegionHealth, StepOutcome } from '../core/events.js';
import { describeGateReading, summarizeGateReading, type GateDefinition, type GateReading } from '../core/gates.js';
import { describeTraffic } from '../core/retention.js';
import { watchGates } from './gate-watch.js';
import { evaluateGates, gateQueryValues, readTraffic } from './metrics.js';
import { waitForVersion, type SampleRequest, type Sampler } from './live-probe.js';
import type { RegionTarget, RunnerPolicy } from './runner.js';

/** What a step measured; the runner folds these into the per-region report. */
export interface StepMeasures {
  patched?: boolean;
  patchMs?: number;
  endpointsMs?: number;
  dataPlaneMs?: number;
  health?: RegionHealth;
  /** The health gates' last readings (a gated bake). */
  gates?: GateReading[];
}

export interface StepRecord {
  step: Step;
  phase: 'forward' | 'compensation';
  outcome: StepOutcome;
  detail: string;
  durationMs: number;
  /** Wall-clock start (epoch ms): kept in the cursor, so it must mean the same in another process. */
  startedAtMs: number;
  measures: StepMeasures;
}

export interface StepContext {
  app: AppSpec;
  regions: ReadonlyMap<string, RegionTarget>;
  /** This attempt's observation per region (the precheck reads readiness from it). */
  observed: ReadonlyMap<string, RegionState>;
  policy: RunnerPolicy;
  actor: string;
  fence: number | undefined;
  signal: AbortSignal | undefined;
  now: () => Date;
  records: readonly StepRecord[];
}

type Done = Omit<StepRecord, 'phase'>;

/** Consecutive answers from the target that count as "the route serves it". */
const routeSamples = 3;

/** Run one step against its region. Throws with a user-readable message when the step fails. */
export async function executeStep(step: Step, context: StepContext): Promise<Done> {
  const started = performance.now();
  const startedAtMs = Date.now();
  const region = context.regions.get(step.region);
  if (!region) throw new Error(`no cluster configured for region ${step.region}`);
  const done = (detail: string, measures: StepMeasures = {}, outcome: StepOutcome = 'ok'): Done => ({
    step,
    outcome,
    detail,
    durationMs: performance.now() - started,
    startedAtMs,
    measures,
  });
  const { app, policy } = context;
  const { cluster } = region;

  switch (step.kind) {
    case 'check-names': {
      await cluster.checkOwnership(app, step.version);
      const names = versionNames(app, step.version);
      if (app.install && app.install.kind !== 'builtin') return done(`every object ${app.install.kind === 'helm' ? 'the chart' : 'the manifests'} render for ${step.version} is free or cutover's and passes the server-side dry run`);
      return done(`Deployment, Service and route ${names.deployment} and path ${names.path} are free or cutover's`);
    }
    case 'install': {
      await cluster.installVersion(app, step.version, context.actor);
      const names = versionNames(app, step.version);
      if (app.install && app.install.kind !== 'builtin') return done(`applied ${app.install.kind === 'helm' ? 'the chart' : 'the manifests'} for ${step.version} (recorded in ${names.deployment}.cutover-inventory), route ${names.path}`);
      return done(`applied Deployment and Service ${names.deployment}, route ${names.path}`);
    }
    case 'wait-ready': {
      const state = await cluster.waitForReady(app, step.version, step.minReady, { timeoutMs: policy.readyTimeoutMs, signal: context.signal });
      return done(`${state.readyReplicas}/${state.desiredReplicas} pods of ${step.version} ready`);
    }
    case 'check-route': {
      const request = versionSample(app, step.version);
      if (!region.sampler) return done(`${request.routePath} not sampled (verify.via: endpoints)`, {}, 'skipped');
      const seen = await waitForVersion(region.sampler, request, step.version, { consecutive: routeSamples, timeoutMs: policy.verifyTimeoutMs, signal: context.signal });
      const where = sampledAt(region.sampler, request);
      if (!seen.converged) throw new Error(`${where} did not answer with ${step.version}: ${seen.lastError ?? 'no answer'}`);
      return done(`${where} answers with ${step.version}`);
    }
    case 'bootstrap': {
      const { created } = await cluster.bootstrap(app, step.initialVersion);
      return created.length > 0 ? done(`created ${created.join(', ')}`) : done('live Service and route already exist, left unchanged', {}, 'skipped');
    }
    case 'precheck': {
      // Readiness comes from this attempt's observation; only the route is sampled now.
      const state = context.observed.get(step.region) ?? (await cluster.observe(app));
      const installed = state.versions.find((v) => v.version === step.version);
      if (!installed) throw new Error(`${step.version} is not installed`);
      if (installed.readyReplicas < step.minReady) {
        throw new Error(`${step.version} has ${installed.readyReplicas}/${installed.desiredReplicas} ready pods (needs ${step.minReady})`);
      }
      const ready = `${step.version}: ${installed.readyReplicas}/${installed.desiredReplicas} pods ready`;
      const gates = await precheckGates(step.gates, step.version, step.region, region, context);
      if (!region.sampler) return done(`${ready}${gates} (not sampled: verify.via endpoints)`);
      const request = versionSample(app, step.version);
      const where = sampledAt(region.sampler, request);
      const seen = await waitForVersion(region.sampler, request, step.version, { consecutive: 1, timeoutMs: policy.verifyTimeoutMs, signal: context.signal });
      if (!seen.converged) throw new Error(`${where} does not answer with ${step.version}: ${seen.lastError ?? 'no answer'}`);
      return done(`${ready}, ${where} answers${gates}`);
    }
    case 'switch': {
      const result = await cluster.switchSelector(app, { to: step.to, from: step.from, rollbackTarget: step.rollbackTargetAfter, by: context.actor, at: context.now(), fence: context.fence });
      const detail = result.patched
        ? `selector ${step.from ?? '(none)'} → ${step.to} in ${result.patchMs.toFixed(0)} ms`
        : `selector already on ${step.to}, nothing patched`;
      return done(detail, { patched: result.patched, patchMs: result.patched ? result.patchMs : 0 });
    }
    case 'verify': {
      const service = liveNames(app.name).service;
      const switchedAt = lastSwitchStart(context.records, step.region, startedAtMs);
      const endpoints = await cluster.waitForEndpoints(app, service, step.version, { timeoutMs: policy.verifyTimeoutMs, minReady: policy.minReadyReplicas, signal: context.signal });
      const endpointsAt = Date.now();
      const target = endpoints.endpoints.filter((e) => e.version === step.version && !e.terminating);
      const readyPods = target.filter((e) => e.ready).length;
      const unready = target.length - readyPods;
      const pods = `${readyPods} ready ${step.version} endpoints${unready > 0 ? ` (${unready} not ready yet, reported, not waited for)` : ''}`;
      if (!region.sampler) {
        const health: RegionHealth = { readyPods, unreadyPods: unready, samples: {}, failedSamples: 0 };
        return done(`${pods}; traffic not sampled (verify.via: endpoints)`, { endpointsMs: endpointsAt - switchedAt, health });
      }
      const remaining = Math.max(1000, policy.verifyTimeoutMs - (endpointsAt - startedAtMs));
      const request = { routePath: app.healthPath, service, podPath: app.healthPath };
      const seen = await waitForVersion(region.sampler, request, step.version, { consecutive: policy.healthSamples, timeoutMs: remaining, signal: context.signal });
      const health: RegionHealth = { readyPods, unreadyPods: unready, samples: seen.samples, failedSamples: seen.failedSamples };
      if (!seen.converged) {
        throw new Error(`live traffic did not converge on ${step.version} within ${policy.verifyTimeoutMs} ms: ${seen.lastError ?? 'no answer'}`);
      }
      const measures = { endpointsMs: endpointsAt - switchedAt, dataPlaneMs: Date.now() - switchedAt, health };
      return done(`${pods}; ${policy.healthSamples} live samples ${region.sampler.via === 'service-proxy' ? 'through the service proxy ' : ''}answered ${step.version}`, measures);
    }
    case 'bake': {
      let gates: GateReading[] | undefined;
      if (step.gates?.length) {
        gates = await watchGates({
          gates: gatesNamed(step.gates, policy.gates),
          metrics: region.metrics,
          values: gateQueryValues(app, step.version, step.region, cluster.namespace),
          durationMs: step.durationMs,
          intervalMs: policy.gateIntervalMs ?? 10_000,
          signal: context.signal,
        });
      } else {
        await sleep(step.durationMs, context.signal);
      }
      // Nothing moves the next region while this one no longer serves what was verified.
      const live = await cluster.readLive(app);
      if (live?.version !== step.version) {
        const change = { region: step.region, expected: step.version, live: live?.version ?? null, promotedBy: live?.promotedBy ?? null, changedOutside: live?.changedOutside ?? false };
        throw new KubeError('changed-outside', `${describeOutsideChange(change)}, during the bake`, { region: step.region });
      }
      const held = gates ? `; gates held: ${gates.map(summarizeGateReading).join(', ')}` : '';
      return done(`baked ${Math.round(step.durationMs / 1000)} s; still on ${step.version}${held}`, gates ? { gates } : {});
    }
    case 'delete-version': {
      if (policy.idle) {
        // Read again right before deleting: sessions may have come back since the plan was made.
        const traffic = await readTraffic(policy.idle, region.metrics, app, step.version, step.region, cluster.namespace);
        if (!('requests' in traffic) || traffic.requests > 0) {
          return done(`kept ${step.version}: ${describeTraffic(traffic, policy.idle.windowMinutes)} when about to delete it (drain-aware cleanup)`, {}, 'skipped');
        }
      }
      await cluster.deleteVersion(app, step.version);
      return done(`deleted ${versionNames(app, step.version).deployment} (${step.reason})`);
    }
  }
}

/** The gates a step names, as the policy defines them; a name the policy no longer has cannot be evaluated. */
function gatesNamed(names: readonly string[], defined: readonly GateDefinition[] | undefined): GateDefinition[] {
  return names.map(
    (name) => defined?.find((g) => g.name === name) ?? { name, query: `(gate ${name} is no longer configured)`, condition: { operator: '<', threshold: Number.NaN }, onNoData: 'fail' },
  );
}

/** Before traffic moves: every gate's query must be answerable (its value does not matter yet). */
async function precheckGates(names: readonly string[] | undefined, version: string, regionName: string, region: RegionTarget, context: StepContext): Promise<string> {
  if (!names?.length) return '';
  const gates = gatesNamed(names, context.policy.gates);
  const readings = await evaluateGates(gates, region.metrics, gateQueryValues(context.app, version, regionName, region.cluster.namespace), false, context.signal);
  const broken = readings.filter((r) => r.error !== undefined);
  if (broken.length > 0) throw new Error(`health gates cannot be evaluated, so traffic is not moved: ${broken.map(describeGateReading).join('; ')}`);
  return `, gate queries answer (${readings.map(summarizeGateReading).join(', ')})`;
}

/** The version's health path through its route, and at its Service (where a route that strips the version prefix has removed it). */
function versionSample(app: AppSpec, version: string): SampleRequest {
  const names = versionNames(app, version);
  const routePath = `${names.path}${app.healthPath.replace(/^\/+/, '')}`;
  return { routePath, service: names.service, podPath: app.stripVersionPrefix ? app.healthPath : routePath };
}

function sampledAt(sampler: Sampler, request: SampleRequest): string {
  return sampler.via === 'ingress' ? request.routePath : `${request.podPath} on Service ${request.service} (through the service proxy)`;
}

/** Convergence is measured from the start of this region's selector patch, when this run made it. */
function lastSwitchStart(records: readonly StepRecord[], region: string, fallback: number): number {
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i]!;
    if (record.step.region === region && record.step.kind === 'switch' && record.outcome === 'ok') {
      return record.startedAtMs;
    }
  }
  return fallback;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('stopped during bake'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('stopped during bake'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
