import { markPodTerminating } from '../pod-termination.js';
import { mustType } from '../resource-types.js';
import { timestamp, type KubeObject, type Store } from '../store.js';
import { isOwnedBy, isPodReady, isTerminating, newestFirst } from './object-helpers.js';
import { podFromTemplate, templateHash } from './pod-template.js';
import { WorkQueue, keyOf, splitKey } from './work-queue.js';

const deployments = mustType('deployments');

/** The field manager kube-controller-manager's controllers write as. */
export const controllerManager = 'kube-controller-manager';
const pods = mustType('pods');

interface DeploymentSpec {
  replicas?: number;
  template?: Parameters<typeof podFromTemplate>[1];
  strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
  progressDeadlineSeconds?: number;
}

interface DeploymentCondition {
  type: 'Available' | 'Progressing';
  status: 'True' | 'False';
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
}

export interface ControllerOptions {
  store: Store;
  now: () => Date;
}

/**
 * Deployment -> Pods, without ReplicaSets: each template revision's pods carry its
 * `pod-template-hash`, and the controller scales and rolls them as the ReplicaSets would.
 */
export class DeploymentController {
  private readonly queue: WorkQueue;
  private readonly unwatch: (() => void)[] = [];
  private readonly revisions = new Map<string, { hash: string; revision: number }>();

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue('deployment-controller', (key) => this.reconcile(key));
  }

  start(): void {
    const { store } = this.options;
    this.unwatch.push(store.watch(deployments, undefined, (event) => this.queue.add(keyOf(event.object.metadata.namespace, event.object.metadata.name))));
    this.unwatch.push(
      store.watch(pods, undefined, (event) => {
        const owner = event.object.metadata.ownerReferences?.find((ref) => ref.kind === 'Deployment' && ref.controller);
        if (owner) this.queue.add(keyOf(event.object.metadata.namespace, owner.name));
      }),
    );
    for (const deployment of store.list(deployments)) this.queue.add(keyOf(deployment.metadata.namespace, deployment.metadata.name));
  }

  stop(): void {
    for (const unwatch of this.unwatch.splice(0)) unwatch();
    this.queue.stop();
  }

  private reconcile(key: string): void {
    const { store } = this.options;
    const [namespace, name] = splitKey(key);
    const deployment = store.get(deployments, namespace, name);
    if (!deployment?.metadata.uid || isTerminating(deployment)) return;
    const uid = deployment.metadata.uid;
    const spec = (deployment.spec ?? {}) as DeploymentSpec;
    const template = spec.template ?? {};
    const hash = templateHash(template);
    const desired = spec.replicas ?? 1;

    const owned = () => store.list(pods, namespace, (pod) => isOwnedBy(pod, uid));
    const active = owned().filter((pod) => !isTerminating(pod));
    const current = active.filter((pod) => pod.metadata.labels?.['pod-template-hash'] === hash);
    const old = active.filter((pod) => pod.metadata.labels?.['pod-template-hash'] !== hash);

    if (spec.strategy?.type === 'Recreate' && owned().some((pod) => pod.metadata.labels?.['pod-template-hash'] !== hash)) {
      this.terminate(old);
    } else {
      for (let i = current.length; i < desired; i++) store.create(pods, podFromTemplate(deployment, template, hash), { manager: controllerManager });
      if (current.length > desired) this.terminate(pickForScaleDown(current, current.length - desired));
      // maxUnavailable 0: an old pod goes only once a new ready pod stands in for it.
      const readyCurrent = Math.min(desired, current.filter(isPodReady).length);
      const keepOld = Math.max(0, desired - readyCurrent);
      if (old.length > keepOld) this.terminate(pickForScaleDown(old, old.length - keepOld));
    }

    this.recordRevision(deployment, hash);
    this.writeStatus(key, hash, desired, spec);
  }

  private terminate(victims: KubeObject[]): void {
    for (const pod of victims) markPodTerminating(this.options.store, pod.metadata.namespace ?? '', pod.metadata.name, undefined, this.options.now());
  }

  private recordRevision(deployment: KubeObject, hash: string): void {
    const uid = deployment.metadata.uid ?? '';
    const annotated = Number(deployment.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0) || 0;
    let known = this.revisions.get(uid);
    if (!known) known = { hash, revision: Math.max(annotated, 1) };
    else if (known.hash !== hash) known = { hash, revision: Math.max(known.revision, annotated) + 1 };
    this.revisions.set(uid, known);
    if (annotated === known.revision) return;
    deployment.metadata.annotations = { ...deployment.metadata.annotations, 'deployment.kubernetes.io/revision': String(known.revision) };
    this.options.store.update(deployments, deployment, { expectedResourceVersion: deployment.metadata.resourceVersion, manager: controllerManager });
  }

  private writeStatus(key: string, hash: string, desired: number, spec: DeploymentSpec): void {
    const { store } = this.options;
    const [namespace, name] = splitKey(key);
    const deployment = store.get(deployments, namespace, name);
    if (!deployment?.metadata.uid) return;
    const uid = deployment.metadata.uid;
    const active = store.list(pods, namespace, (pod) => isOwnedBy(pod, uid) && !isTerminating(pod));
    const updated = active.filter((pod) => pod.metadata.labels?.['pod-template-hash'] === hash).length;
    const ready = active.filter(isPodReady).length;
    const available = ready;
    const total = active.length;
    const previous = (deployment.status ?? {}) as DeploymentStatus;
    const now = timestamp(this.options.now());
    const replicaSet = `${name}-${hash}`;

    const maxUnavailable = resolveMaxUnavailable(spec, desired);
    const isAvailable = available >= desired - maxUnavailable;
    const complete = updated === desired && total === desired && available >= desired;
    const counts = { replicas: total, updatedReplicas: updated, readyReplicas: ready, availableReplicas: available };
    const progressed = (['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'] as const).some(
      (field) => (previous[field] ?? 0) !== counts[field],
    );

    const previousProgressing = previous.conditions?.find((c) => c.type === 'Progressing');
    const deadlineSeconds = spec.progressDeadlineSeconds ?? 600;
    const lastProgress = progressed || !previousProgressing ? now : previousProgressing.lastUpdateTime;
    const timedOut = !complete && Date.parse(now) - Date.parse(lastProgress) >= deadlineSeconds * 1000;
    const progressing = complete
      ? { status: 'True' as const, reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${replicaSet}" has successfully progressed.` }
      : timedOut
        ? { status: 'False' as const, reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${replicaSet}" has timed out progressing.` }
        : { status: 'True' as const, reason: 'ReplicaSetUpdated', message: `ReplicaSet "${replicaSet}" is progressing.` };
    if (!complete && !timedOut) this.queue.addAfter(key, Math.max(0, Date.parse(lastProgress) + deadlineSeconds * 1000 - Date.parse(now)) + 1000);

    const conditions = [
      condition(previous, 'Available', now, isAvailable
        ? { status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, false),
      condition(previous, 'Progressing', now, progressing, progressed),
    ];
    const status: DeploymentStatus = {
      observedGeneration: deployment.metadata.generation ?? 1,
      ...(total ? { replicas: total } : {}),
      ...(updated ? { updatedReplicas: updated } : {}),
      ...(ready ? { readyReplicas: ready } : {}),
      ...(available ? { availableReplicas: available } : {}),
      ...(desired - available > 0 ? { unavailableReplicas: desired - available } : {}),
      conditions,
    };
    store.update(deployments, { ...deployment, status }, { subresource: 'status', manager: controllerManager });
  }
}

function condition(
  previous: DeploymentStatus,
  type: DeploymentCondition['type'],
  now: string,
  next: Pick<DeploymentCondition, 'status' | 'reason' | 'message'>,
  touch: boolean,
): DeploymentCondition {
  const before = previous.conditions?.find((c) => c.type === type);
  if (!before) return { type, status: next.status, lastUpdateTime: now, lastTransitionTime: now, reason: next.reason, message: next.message };
  const changed = before.status !== next.status || before.reason !== next.reason || before.message !== next.message;
  return {
    type,
    status: next.status,
    lastUpdateTime: changed || touch ? now : before.lastUpdateTime,
    lastTransitionTime: before.status !== next.status ? now : before.lastTransitionTime,
    reason: next.reason,
    message: next.message,
  };
}

/** As the real controller: percentages of maxUnavailable round down, of maxSurge up; both 0 means 1 unavailable. */
function resolveMaxUnavailable(spec: DeploymentSpec, desired: number): number {
  if (spec.strategy?.type === 'Recreate') return desired;
  const rolling = spec.strategy?.rollingUpdate ?? {};
  const resolve = (value: number | string | undefined, fallback: string, roundUp: boolean): number => {
    const v = value ?? fallback;
    if (typeof v === 'number') return v;
    const percent = Number(v.replace('%', '')) / 100;
    return roundUp ? Math.ceil(percent * desired) : Math.floor(percent * desired);
  };
  const unavailable = resolve(rolling.maxUnavailable, '25%', false);
  const surge = resolve(rolling.maxSurge, '25%', true);
  return unavailable === 0 && surge === 0 ? Math.min(1, desired) : Math.min(unavailable, desired);
}

/** As a ReplicaSet scales down: pods not yet ready go first, then the newest. */
function pickForScaleDown(candidates: KubeObject[], count: number): KubeObject[] {
  return [...candidates]
    .sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)) || newestFirst(a, b))
    .slice(0, count);
}
