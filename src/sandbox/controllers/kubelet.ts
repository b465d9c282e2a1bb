import { mustType } from '../resource-types.js';
import { timestamp, type KubeObject, type Store } from '../store.js';
import { appContractOf, type AppContract } from '../data-plane/app-contract.js';
import { PodServer } from '../data-plane/pod-server.js';
import { containerWaiting, waitingPodStatus, type ContainerWaiting } from './container-config.js';
import { LoopbackAllocator } from './loopback-allocator.js';
import { isTerminating } from './object-helpers.js';
import { WorkQueue, keyOf, splitKey } from './work-queue.js';

const pods = mustType('pods');
const secrets = mustType('secrets');
const configMaps = mustType('configmaps');

export const readyAfterAnnotation = 'sandbox.cutover.dev/ready-after-ms';
export const neverReadyAnnotation = 'sandbox.cutover.dev/never-ready';
/** On a pod template: that many pods of each revision (owner and pod-template-hash) never turn Ready. */
export const unreadyPodsAnnotation = 'sandbox.cutover.dev/unready-pods';

export interface KubeletOptions {
  store: Store;
  region: string;
  /** Second byte of the pod IPs: 127.<regionByte>.x.y. */
  regionByte: number;
  /** Delay before a started pod turns Ready, unless its annotation says otherwise. */
  readyDelayMs: number;
  /** Multiplies each pod's termination grace period (1 = real seconds). */
  graceScale: number;
  now: () => Date;
}

interface Container {
  name: string;
  image?: string;
  ports?: { containerPort?: number }[];
  env?: { name: string; value?: string }[];
}

interface PodRuntime {
  uid: string;
  server: PodServer;
  contract: AppContract;
  /** Pods of one Deployment revision share a group; `unready-pods` holds that many of them unready. */
  group: string;
  heldUnready?: boolean;
  address?: string;
  readyTimer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
  startedAt?: string;
  stopped: boolean;
}

/** The sandbox's node agent: runs each pod as a real HTTP server and reports its status. */
export class Kubelet {
  private readonly queue: WorkQueue;
  private readonly runtimes = new Map<string, PodRuntime>();
  private readonly allocator: LoopbackAllocator;
  private unwatch: (() => void) | undefined;
  private readonly nodeName: string;
  /** Pods whose containers cannot start until a Secret or ConfigMap they reference exists. */
  private readonly waiting = new Set<string>();

  constructor(private readonly options: KubeletOptions) {
    this.queue = new WorkQueue(`kubelet ${options.region}`, (key) => this.reconcile(key));
    this.allocator = new LoopbackAllocator(options.regionByte);
    this.nodeName = `${options.region}-node-1`;
  }

  start(): void {
    const { store } = this.options;
    const stopPods = store.watch(pods, undefined, (event) => this.queue.add(keyOf(event.object.metadata.namespace, event.object.metadata.name)));
    // A waiting pod is tried again when a Secret or ConfigMap of its namespace changes.
    const retry = (event: { object: KubeObject }): void => {
      for (const key of this.waiting) if (splitKey(key)[0] === event.object.metadata.namespace) this.queue.add(key);
    };
    const stopSecrets = store.watch(secrets, undefined, retry);
    const stopConfigMaps = store.watch(configMaps, undefined, retry);
    this.unwatch = () => {
      stopPods();
      stopSecrets();
      stopConfigMaps();
    };
    for (const pod of store.list(pods)) this.queue.add(keyOf(pod.metadata.namespace, pod.metadata.name));
  }

  /** Stop every pod server at once (sandbox shutdown); pods stay in the store. */
  async stop(): Promise<void> {
    this.unwatch?.();
    this.queue.stop();
    await Promise.all([...this.runtimes.keys()].map((key) => this.stopRuntime(key)));
  }

  private reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const pod = this.options.store.get(pods, namespace, name);
    let runtime = this.runtimes.get(key);
    if (runtime && runtime.uid !== pod?.metadata.uid) {
      void this.stopRuntime(key);
      runtime = undefined;
    }
    if (!pod) {
      this.waiting.delete(key);
      return;
    }
    if (isTerminating(pod)) {
      this.waiting.delete(key);
      if (!runtime?.startedAt) {
        if (runtime) void this.stopRuntime(key);
        this.options.store.delete(pods, namespace, name);
      } else if (!runtime.graceTimer) {
        const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
        clearTimeout(runtime.readyTimer);
        runtime.graceTimer = setTimeout(() => void this.finishTermination(key, runtime.uid), grace * 1000 * this.options.graceScale);
      }
      return;
    }
    if (runtime) return;
    const waiting = containerWaiting(this.options.store, pod);
    if (waiting) {
      this.waiting.add(key);
      this.writeWaiting(pod, waiting);
      return;
    }
    this.waiting.delete(key);
    this.startPod(key, pod);
  }

  /** A pod whose container cannot be created: Pending, not ready, the reason on its container status. */
  private writeWaiting(pod: KubeObject, waiting: ContainerWaiting): void {
    const bound = this.bind(pod);
    const status = waitingPodStatus(bound, waiting, timestamp(this.options.now()));
    if (status) this.options.store.update(pods, { ...bound, status }, { subresource: 'status', manager: 'kubelet' });
  }

  private startPod(key: string, pod: KubeObject): void {
    const container = ((pod.spec as { containers?: Container[] } | undefined)?.containers ?? [])[0];
    const port = container?.ports?.[0]?.containerPort ?? 8080;
    const contract = appContractOf(pod);
    const owner = pod.metadata.ownerReferences?.find((ref) => ref.controller)?.uid ?? pod.metadata.uid;
    const runtime: PodRuntime = {
      uid: pod.metadata.uid ?? '',
      server: new PodServer({ pod: pod.metadata.name, region: this.options.region, contract }),
      contract,
      group: `${owner ?? ''}/${pod.metadata.labels?.['pod-template-hash'] ?? ''}`,
      stopped: false,
    };
    this.runtimes.set(key, runtime);
    this.bind(pod);
    void this.listen(runtime, port).then(
      () => this.onStarted(key, runtime),
      (error: unknown) => console.error(`sandbox kubelet ${this.options.region}: pod ${key} could not start: ${String(error)}`),
    );
  }

  /** What the scheduler would do: put the pod on the region's single node. */
  private bind(pod: KubeObject): KubeObject {
    const { store } = this.options;
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (!spec.nodeName) {
      pod = store.update(pods, { ...pod, spec: { ...spec, nodeName: this.nodeName } });
    }
    const now = timestamp(this.options.now());
    const status = (pod.status ?? {}) as Record<string, unknown>;
    if (!status.conditions) {
      pod = store.update(pods, {
        ...pod,
        status: { ...status, phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now }], qosClass: status.qosClass ?? 'BestEffort' },
      }, { subresource: 'status' });
    }
    return pod;
  }

  /** Bind the pod server to the next free loopback address; skip addresses another process holds. */
  private async listen(runtime: PodRuntime, port: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const address = this.allocator.allocate();
      try {
        await runtime.server.listen(address, port);
        runtime.address = address;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 200 || runtime.stopped) throw error;
      }
    }
  }

  private onStarted(key: string, runtime: PodRuntime): void {
    if (runtime.stopped || this.runtimes.get(key) !== runtime) return;
    runtime.startedAt = timestamp(this.options.now());
    const pod = this.writeStatus(key, runtime, false);
    if (!pod) {
      this.waiting.delete(key);
      return;
    }
    if (isTerminating(pod)) {
      this.waiting.delete(key);
      this.queue.add(key);
      return;
    }
    if (pod.metadata.annotations?.[neverReadyAnnotation] === 'true') return;
    // The readiness probe gets a 404 from an app that does not serve its path: never Ready.
    if (runtime.contract.healthPath !== undefined && !runtime.contract.serves(runtime.contract.healthPath)) return;
    if (this.holdsUnready(runtime, pod)) return;
    const annotated = Number(pod.metadata.annotations?.[readyAfterAnnotation]);
    const delay = Number.isFinite(annotated) && annotated >= 0 ? annotated : this.options.readyDelayMs;
    runtime.readyTimer = setTimeout(() => {
      if (!runtime.stopped && !runtime.graceTimer) this.writeStatus(key, runtime, true);
    }, delay);
  }

  /** Keeps this pod unready when fewer than `unready-pods` pods of its revision are held so far. */
  private holdsUnready(runtime: PodRuntime, pod: KubeObject): boolean {
    const wanted = Number(pod.metadata.annotations?.[unreadyPodsAnnotation] ?? 0);
    if (!Number.isInteger(wanted) || wanted <= 0) return false;
    let held = 0;
    for (const other of this.runtimes.values()) {
      if (other.group === runtime.group && other.heldUnready && !other.stopped && !other.graceTimer) held++;
    }
    if (held >= wanted) return false;
    runtime.heldUnready = true;
    return true;
  }

  private writeStatus(key: string, runtime: PodRuntime, ready: boolean): KubeObject | undefined {
    const { store } = this.options;
    const [namespace, name] = splitKey(key);
    const pod = store.get(pods, namespace, name);
    if (!pod || pod.metadata.uid !== runtime.uid) return undefined;
    const now = timestamp(this.options.now());
    const previous = (pod.status ?? {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[]; qosClass?: string };
    const since = (type: string, status: string) => {
      const before = previous.conditions?.find((c) => c.type === type);
      return before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
    };
    const containers = (pod.spec as { containers?: Container[] } | undefined)?.containers ?? [];
    const readyStatus = ready ? 'True' : 'False';
    const unready = ready ? {} : { reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]` };
    const status = {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: since('Initialized', 'True') },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: since('PodScheduled', 'True') },
        { type: 'ContainersReady', status: readyStatus, lastProbeTime: null, lastTransitionTime: since('ContainersReady', readyStatus), ...unready },
        { type: 'Ready', status: readyStatus, lastProbeTime: null, lastTransitionTime: since('Ready', readyStatus), ...unready },
      ],
      hostIP: '127.0.0.1',
      podIP: runtime.address,
      podIPs: [{ ip: runtime.address }],
      startTime: runtime.startedAt,
      containerStatuses: containers.map((c) => ({
        name: c.name,
        state: { running: { startedAt: runtime.startedAt } },
        lastState: {},
        ready,
        restartCount: 0,
        image: c.image ?? '',
        imageID: '',
        started: true,
      })),
      qosClass: previous.qosClass ?? 'BestEffort',
    };
    return store.update(pods, { ...pod, status }, { subresource: 'status', manager: 'kubelet' });
  }

  /** Grace period over: the container exits, the pod object goes away. */
  private async finishTermination(key: string, uid: string): Promise<void> {
    const runtime = this.runtimes.get(key);
    if (!runtime || runtime.uid !== uid) return;
    await this.stopRuntime(key);
    const [namespace, name] = splitKey(key);
    const pod = this.options.store.get(pods, namespace, name);
    if (pod?.metadata.uid === uid) this.options.store.delete(pods, namespace, name);
  }

  private async stopRuntime(key: string): Promise<void> {
    const runtime = this.runtimes.get(key);
    if (!runtime) return;
    this.runtimes.delete(key);
    runtime.stopped = true;
    clearTimeout(runtime.readyTimer);
    clearTimeout(runtime.graceTimer);
    await runtime.server.close();
    if (runtime.address) this.allocator.release(runtime.address);
  }

  /** For tests and diagnostics: is the pod's server still accepting connections? */
  isServing(namespace: string, name: string): boolean {
    const runtime = this.runtimes.get(keyOf(namespace, name));
    return runtime !== undefined && !runtime.stopped && runtime.startedAt !== undefined;
  }
}
