import type { KubeObject } from '../store.js';

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(parent: Obj, key: string): Obj {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

/** Object with `defaults` filled in where absent, in the key order the real server writes. */
function withDefaults(target: Obj, defaults: Obj, order?: string[]): Obj {
  const merged: Obj = { ...target };
  for (const [key, value] of Object.entries(defaults)) if (merged[key] === undefined) merged[key] = value;
  if (!order) return merged;
  const out: Obj = {};
  for (const key of order) if (merged[key] !== undefined) out[key] = merged[key];
  for (const [key, value] of Object.entries(merged)) if (!(key in out)) out[key] = value;
  return out;
}

export interface DefaultingContext {
  /** The stored object on update/patch, so allocated values (clusterIP) survive a PUT. */
  previous?: KubeObject | undefined;
  /** A free service IP, asked for only when a Service needs one. */
  allocateClusterIP: () => string;
}

/** Fills in what kube-apiserver 1.28 defaults on write, per kind (see the reference files). */
export function applyDefaults(object: KubeObject, context: DefaultingContext): KubeObject {
  switch (object.kind) {
    case 'Service':
      return defaultService(object, context);
    case 'Deployment':
      return defaultDeployment(object);
    case 'Pod':
      return defaultPod(object);
    case 'Namespace':
      return defaultNamespace(object);
    case 'Secret':
      return defaultSecret(object);
    case 'Ingress':
      if (object.status === undefined) object.status = { loadBalancer: {} };
      return object;
    default:
      return object;
  }
}

function defaultService(service: KubeObject, context: DefaultingContext): KubeObject {
  const spec = isObject(service.spec) ? service.spec : {};
  const before = isObject(context.previous?.spec) ? context.previous.spec : {};
  const type = (spec.type as string | undefined) ?? 'ClusterIP';
  let clusterIP = spec.clusterIP as string | undefined;
  if (!clusterIP && type !== 'ExternalName') clusterIP = (before.clusterIP as string | undefined) ?? context.allocateClusterIP();
  const ports = Array.isArray(spec.ports)
    ? spec.ports.map((port: Obj) =>
        withDefaults(port, { protocol: 'TCP', targetPort: port.port }, ['name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort']),
      )
    : spec.ports;
  const defaults: Obj =
    type === 'ExternalName'
      ? { type, sessionAffinity: 'None' }
      : {
          clusterIP,
          clusterIPs: clusterIP === 'None' ? ['None'] : [clusterIP],
          type,
          sessionAffinity: 'None',
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          internalTrafficPolicy: 'Cluster',
        };
  service.spec = withDefaults({ ...spec, ...(ports ? { ports } : {}) }, defaults, [
    'ports',
    'selector',
    'clusterIP',
    'clusterIPs',
    'type',
    'sessionAffinity',
    'ipFamilies',
    'ipFamilyPolicy',
    'internalTrafficPolicy',
  ]);
  if (service.status === undefined) service.status = { loadBalancer: {} };
  return service;
}

function defaultDeployment(deployment: KubeObject): KubeObject {
  const spec = isObject(deployment.spec) ? deployment.spec : {};
  const template = obj(spec, 'template');
  const templateMeta = obj(template, 'metadata');
  if (!('creationTimestamp' in templateMeta)) template.metadata = { creationTimestamp: null, ...templateMeta };
  template.spec = defaultPodSpec(isObject(template.spec) ? template.spec : {}, false);
  const strategy = isObject(spec.strategy) ? spec.strategy : {};
  const strategyType = (strategy.type as string | undefined) ?? 'RollingUpdate';
  const rollingUpdate =
    strategyType === 'RollingUpdate' ? withDefaults(isObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {}, { maxUnavailable: '25%', maxSurge: '25%' }) : undefined;
  deployment.spec = withDefaults(
    { ...spec, strategy: { type: strategyType, ...(rollingUpdate ? { rollingUpdate } : {}) } },
    { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 },
    ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
  );
  if (deployment.status === undefined) deployment.status = {};
  return deployment;
}

function defaultPod(pod: KubeObject): KubeObject {
  pod.spec = defaultPodSpec(isObject(pod.spec) ? pod.spec : {}, true);
  if (pod.status === undefined) pod.status = { phase: 'Pending', qosClass: qosClassOf(pod.spec as Obj) };
  return pod;
}

function defaultPodSpec(spec: Obj, isPod: boolean): Obj {
  const containers = Array.isArray(spec.containers) ? spec.containers.map(defaultContainer) : spec.containers;
  const initContainers = Array.isArray(spec.initContainers) ? spec.initContainers.map(defaultContainer) : spec.initContainers;
  const podDefaults: Obj = {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    securityContext: {},
    schedulerName: 'default-scheduler',
  };
  if (isPod) {
    const account = (spec.serviceAccountName as string | undefined) ?? (spec.serviceAccount as string | undefined) ?? 'default';
    Object.assign(podDefaults, {
      serviceAccountName: account,
      serviceAccount: account,
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    });
  }
  return withDefaults(
    { ...spec, ...(containers ? { containers } : {}), ...(initContainers ? { initContainers } : {}) },
    podDefaults,
    ['volumes', 'initContainers', 'containers', 'restartPolicy', 'terminationGracePeriodSeconds', 'dnsPolicy', 'serviceAccountName', 'serviceAccount', 'nodeName', 'securityContext', 'schedulerName', 'tolerations', 'priority', 'enableServiceLinks', 'preemptionPolicy'],
  );
}

function defaultContainer(container: Obj): Obj {
  const image = typeof container.image === 'string' ? container.image : '';
  const tag = /:([^/:@]+)$/.exec(image)?.[1];
  const pullPolicy = !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
  const ports = Array.isArray(container.ports) ? container.ports.map((port: Obj) => withDefaults(port, { protocol: 'TCP' })) : container.ports;
  const probes: Obj = {};
  for (const key of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const probe = container[key];
    if (!isObject(probe)) continue;
    const httpGet = isObject(probe.httpGet) ? withDefaults(probe.httpGet, { scheme: 'HTTP' }, ['path', 'port', 'host', 'scheme', 'httpHeaders']) : undefined;
    probes[key] = withDefaults({ ...probe, ...(httpGet ? { httpGet } : {}) }, { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  }
  return withDefaults(
    { ...container, ...(ports ? { ports } : {}), ...probes },
    { resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: pullPolicy },
    ['name', 'image', 'command', 'args', 'ports', 'env', 'resources', 'volumeMounts', 'livenessProbe', 'readinessProbe', 'startupProbe', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy'],
  );
}

function qosClassOf(spec: Obj): string {
  const containers = Array.isArray(spec.containers) ? (spec.containers as Obj[]) : [];
  const hasResources = containers.some((c) => isObject(c.resources) && Object.keys(c.resources).length > 0);
  return hasResources ? 'Burstable' : 'BestEffort';
}

function defaultNamespace(namespace: KubeObject): KubeObject {
  namespace.metadata.labels = { ...namespace.metadata.labels, 'kubernetes.io/metadata.name': namespace.metadata.name };
  if (namespace.spec === undefined) namespace.spec = { finalizers: ['kubernetes'] };
  if (namespace.status === undefined) namespace.status = { phase: 'Active' };
  return namespace;
}

function defaultSecret(secret: KubeObject): KubeObject {
  if (secret.type === undefined) secret.type = 'Opaque';
  if (isObject(secret.stringData)) {
    const data: Obj = isObject(secret.data) ? { ...secret.data } : {};
    for (const [key, value] of Object.entries(secret.stringData)) data[key] = Buffer.from(String(value as string)).toString('base64');
    secret.data = data;
    delete secret.stringData;
  }
  return secret;
}

/** Go's `omitempty`: empty metadata maps and lists are not stored (a patch to `{}` drops them). */
export function dropEmptyMetadata(object: KubeObject): KubeObject {
  const meta = object.metadata as Obj;
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
    const value = meta[key];
    if (value === null || (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0)) delete meta[key];
  }
  return object;
}
