import { setTimeout as delay } from 'node:timers/promises';
import { PatchStrategy } from '@kubernetes/client-node';
import type { AppSpec } from '../core/model.js';
import { annotations, liveNames, versionNames } from '../core/names.js';
import type { SwitchRequest, SwitchResult } from './cluster.js';
import { KubeError, isKubeError, toKubeError } from './errors.js';
import { fieldManager, withContentType, type KubeApi } from './kube-api.js';
import { selectorSwitchPatch } from './manifests.js';
import { liveStateOf } from './observed.js';
import { describeForeign, isOwned } from './ownership.js';
import { retryDelayMs } from './retry.js';
import { switchRefusal } from './switch-guard.js';

/**
 * Patches the live Service's selector to the requested version, conditional on what was read:
 * a 409 means something else wrote the Service since, so it is read and decided again, and the
 * switch guard refuses when the Service is no longer what the plan expected.
 */
export async function switchLiveSelector(api: KubeApi, app: AppSpec, request: SwitchRequest): Promise<SwitchResult> {
  const name = liveNames(app.name).service;
  // A patch that failed without an answer may still have been applied; if the re-read then finds
  // the target live, that write was (most likely) ours.
  let maybeWritten = false;
  let conflicts = 0;
  for (let attempt = 1; ; attempt++) {
    const service = await api.readService(name).catch((error: unknown) => {
      if (isKubeError(error, 'not-found')) {
        throw new KubeError('not-bootstrapped', `${api.region}: the live Service ${name} does not exist; run bootstrap first`, { region: api.region, status: 404 });
      }
      throw error;
    });
    if (!isOwned(service.metadata?.labels, app.labelKeys, app.name, null)) {
      throw new KubeError('not-owned', `${api.region}: ${describeForeign([{ kind: 'Service', name, labels: service.metadata?.labels ?? {} }])} is not cutover's live Service of ${app.name}; its selector was not changed`, { region: api.region });
    }
    const live = liveStateOf(service, app.labelKeys);
    if (live.version === request.to) return { patched: maybeWritten, patchMs: 0 };
    const refusal = switchRefusal(api.region, name, live, request);
    if (refusal) throw refusal;
    // A compensation names the rollback target to put back; otherwise it is what was live.
    const rollbackTarget = request.rollbackTarget !== undefined ? request.rollbackTarget : (live.version ?? request.from);
    // The resourceVersion makes the write conditional on everything read above: the selector,
    // the fencing token. A 409 means the Service changed since: read again and decide again.
    const body = selectorSwitchPatch(app.labelKeys, { ...request, rollbackTarget }, service.metadata?.resourceVersion);
    const started = performance.now();
    try {
      await api.once(
        { resource: 'services', verb: 'patch' },
        name,
        (o) => api.core.patchNamespacedService({ name, namespace: api.namespace, body, fieldManager }, withContentType(o, PatchStrategy.MergePatch)),
        attempt,
      );
    } catch (error) {
      const failure = toKubeError(error);
      if (failure.code === 'conflict') {
        conflicts++;
        if (conflicts >= api.policy.attempts) {
          throw new KubeError(
            'busy',
            `${api.region}: the live Service ${name} kept changing while cutover switched it (${conflicts} conflicting writes in a row by something else, such as a controller that edits its annotations); the selector was not switched. Find what keeps writing it, then try again`,
            { region: api.region, status: 409, cause: failure },
          );
        }
        await delay(retryDelayMs(api.policy, conflicts) ?? api.policy.capMs);
        continue;
      }
      if (!failure.transient) throw failure;
      const wait = retryDelayMs(api.policy, attempt - conflicts, failure.retryAfterMs);
      if (wait === null) throw failure;
      if (failure.code !== 'transient') maybeWritten = true;
      await delay(wait);
      continue;
    }
    const patchMs = performance.now() - started;
    if (live.version !== null && live.version !== request.to) await markRetired(api, app, live.version, request.at);
    return { patched: true, patchMs };
  }
}

/** Best effort: retention counts a version's age from here; a failure only costs precision. */
async function markRetired(api: KubeApi, app: AppSpec, version: string, at: Date): Promise<void> {
  const name = versionNames(app, version).deployment;
  const body = { metadata: { annotations: { [annotations.retiredAt]: at.toISOString() } } };
  try {
    await api.call({ resource: 'deployments', verb: 'patch' }, name, (o) =>
      api.apps.patchNamespacedDeployment({ name, namespace: api.namespace, body, fieldManager }, withContentType(o, PatchStrategy.MergePatch)),
    );
  } catch {
    // the switch itself succeeded; the missing annotation is visible in `status`
  }
}
