import type { AppSpec } from '../../core/model.js';
import { annotations, versionLabels, versionNames, versionSelector } from '../../core/names.js';
import { versionNamePart } from '../../core/version.js';
import { containerPortName, servicePort, versionRoute, versionService } from '../manifests.js';
import { describeRef, entryOf, isRecord, type InventoryEntry, type KubeObject } from './objects.js';
import { InstallRefusal } from './refusal.js';
import { rewriteReferences, type Renames } from './rename.js';

/** On the Deployment whose pods serve a version installed from manifests or a chart. */
export const workloadAnnotation = 'cutover.dev/workload';

/** How the cluster serves a kind, from discovery: a namespaced kind, a cluster-scoped one, or none. */
export type KindScope = 'namespaced' | 'cluster' | 'unserved';

export interface PrepareInput {
  app: AppSpec;
  version: string;
  namespace: string;
  /** The Deployment to use, `{name}` standing for the version's name. */
  workload?: string | undefined;
  suffixNames: boolean;
  rendered: KubeObject[];
  /** "chart examples/charts/shop", for messages. */
  source: string;
  installedBy: string;
  scopeOf: (apiVersion: string, kind: string) => KindScope;
}

export interface PreparedInstall {
  /** Every object to apply, labelled, in a safe order: config first, the workload after, the route last. */
  objects: KubeObject[];
  workload: KubeObject;
  service: KubeObject;
  inventory: InventoryEntry[];
  notes: string[];
}

/** The ConfigMap that holds a version's inventory. Its name is cutover's, never a chart's. */
export function inventoryName(app: AppSpec, version: string): string {
  return `${versionNames(app, version).deployment}.cutover-inventory`;
}

const applyOrder = ['Namespace', 'ServiceAccount', 'Secret', 'ConfigMap', 'Role', 'RoleBinding', 'NetworkPolicy', 'Service', 'PodDisruptionBudget', 'Deployment', 'HorizontalPodAutoscaler'];

/**
 * Check what a chart or manifest folder rendered and make it the version's objects: every check
 * of issue 14 before anything is applied (each refusal names the object), cutover's labels on
 * every object and on the workload's pod template, selectors that pick this version's pods only,
 * the version Service (generated when none is rendered) and the version route. Pure.
 */
export function prepareInstall(input: PrepareInput): PreparedInstall {
  const { app, version } = input;
  const names = versionNames(app, version);
  const part = versionNamePart(version);
  const refusals: string[] = [];
  const notes: string[] = [];
  const objects: KubeObject[] = [];

  input.rendered.forEach((object, index) => {
    const refusal = documentRefusal(object, index, input);
    if (refusal) refusals.push(refusal);
    else objects.push(structuredClone(object));
  });
  const seen = new Set<string>();
  for (const object of objects) {
    const key = `${object.kind}/${object.metadata.name}`;
    if (seen.has(key)) refusals.push(`${describeRef(object)} is rendered twice`);
    seen.add(key);
  }
  // Two versions must never write the same object: every name carries the version.
  const renames: Renames = new Map();
  for (const object of objects) {
    if (containsToken(object.metadata.name, part)) continue;
    if (!input.suffixNames) {
      refusals.push(`${describeRef(object)} has a name without the version (${part}): two versions would write the same object; name it after the release (e.g. {{ .Release.Name }}-…), or set install.suffixNames`);
      continue;
    }
    const next = `${object.metadata.name}-${part}`;
    if (!renames.has(object.kind)) renames.set(object.kind, new Map());
    renames.get(object.kind)!.set(object.metadata.name, next);
    notes.push(`${describeRef(object)} renamed ${next}`);
    object.metadata.name = next;
  }
  if (refusals.length > 0) throw new InstallRefusal(refusals.join('; '));
  for (const object of objects) rewriteReferences(object, renames);

  const workload = pickWorkload(objects, input, names.deployment);
  const podLabels = { ...(templateOf(workload).metadata?.labels ?? {}) };
  const labels = versionLabels(app.labelKeys, app.name, version);
  const selector = versionSelector(app.labelKeys, app.name, version);
  for (const object of objects) {
    object.metadata.namespace = input.namespace;
    object.metadata.labels = { ...object.metadata.labels, ...labels };
    retargetSelectors(object, podLabels, selector);
  }
  const template = templateOf(workload);
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } };
  const spec = workload.spec as { selector?: { matchLabels?: Record<string, string> } };
  spec.selector = { ...spec.selector, matchLabels: { ...spec.selector?.matchLabels, ...selector } };
  workload.metadata.annotations = { ...workload.metadata.annotations, [workloadAnnotation]: 'true', [annotations.installedBy]: input.installedBy };

  let service = objects.find((o) => o.kind === 'Service' && o.metadata.name === names.service);
  if (service && !selects(service, template.metadata.labels)) {
    throw new InstallRefusal(`Service ${names.service} does not select the pods of Deployment ${workload.metadata.name}: the version route sends /${version}/ to it`);
  }
  if (!service) {
    service = versionService(app, version, input.namespace) as unknown as KubeObject;
    const port = firstContainerPort(workload);
    (service.spec as { ports: { targetPort: number | string }[] }).ports[0]!.targetPort = port ?? containerPortName;
    objects.push(service);
    notes.push(`no Service ${names.service} rendered: generated one for the version route`);
  }
  const route = withBackendPort(versionRoute(app, version, input.namespace) as unknown as KubeObject, firstServicePort(service));
  const ordered = [...objects].sort((a, b) => rank(a.kind) - rank(b.kind));
  ordered.push(route);
  return { objects: ordered, workload, service, inventory: ordered.map(entryOf), notes };
}

function documentRefusal(object: KubeObject, index: number, input: PrepareInput): string | null {
  if (!isRecord(object) || typeof object.kind !== 'string' || typeof object.apiVersion !== 'string' || !isRecord(object.metadata) || typeof object.metadata.name !== 'string' || object.metadata.name === '') {
    return `document ${index + 1} of ${input.source} is not a Kubernetes object with apiVersion, kind and metadata.name`;
  }
  const hook = object.metadata.annotations?.['helm.sh/hook'];
  if (hook !== undefined) return `${describeRef(object)} is a Helm hook (${hook}): cutover applies a chart's objects and runs no hooks`;
  const namespace = object.metadata.namespace;
  if (namespace !== undefined && namespace !== input.namespace) return `${describeRef(object)} is for namespace ${namespace}, not ${input.namespace}`;
  if (object.kind === 'ConfigMap' && object.metadata.name === inventoryName(input.app, input.version)) return `${describeRef(object)} has the name of cutover's inventory`;
  switch (input.scopeOf(object.apiVersion, object.kind)) {
    case 'cluster':
      return `${describeRef(object)} is cluster-scoped (${object.apiVersion}): cutover installs only namespaced objects, into ${input.namespace}`;
    case 'unserved':
      return `${describeRef(object)}: the cluster does not serve ${object.kind} in ${object.apiVersion}`;
    default:
      return null;
  }
}

function pickWorkload(objects: KubeObject[], input: PrepareInput, name: string): KubeObject {
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  if (input.workload !== undefined) {
    const wanted = input.workload.split('{name}').join(name);
    const found = deployments.find((d) => d.metadata.name === wanted);
    if (!found) throw new InstallRefusal(`install.workload names Deployment ${wanted}, which ${input.source} does not render (it renders ${deployments.map((d) => d.metadata.name).join(', ') || 'no Deployment'})`);
    return found;
  }
  if (deployments.length === 1) return deployments[0]!;
  if (deployments.length === 0) throw new InstallRefusal(`${input.source} renders no Deployment: cutover needs exactly one whose pods serve the version`);
  throw new InstallRefusal(`${input.source} renders ${deployments.length} Deployments (${deployments.map((d) => d.metadata.name).join(', ')}): name the one whose pods serve the app with install.workload`);
}

interface PodTemplate {
  metadata: { labels?: Record<string, string>; [field: string]: unknown };
  spec?: { containers?: { ports?: { name?: string; containerPort?: number }[] }[] };
}

function templateOf(workload: KubeObject): PodTemplate {
  const spec = isRecord(workload.spec) ? workload.spec : (workload.spec = {});
  if (!isRecord(spec.template)) spec.template = {};
  const template = spec.template as PodTemplate;
  if (!isRecord(template.metadata)) template.metadata = {};
  return template;
}

/** A selector that picked the workload's pods (by their rendered labels) picks only this version's from now on. */
function retargetSelectors(object: KubeObject, podLabels: Record<string, string>, selector: Record<string, string>): void {
  const spec = object.spec;
  if (!isRecord(spec)) return;
  const isSubset = (labels: unknown): labels is Record<string, string> =>
    isRecord(labels) && Object.keys(labels).length > 0 && Object.entries(labels).every(([key, value]) => podLabels[key] === value);
  if (object.kind === 'Service' && isSubset(spec.selector)) spec.selector = { ...spec.selector, ...selector };
  const labelSelector = object.kind === 'PodDisruptionBudget' ? spec.selector : object.kind === 'NetworkPolicy' ? spec.podSelector : undefined;
  if (isRecord(labelSelector) && isSubset(labelSelector.matchLabels)) labelSelector.matchLabels = { ...labelSelector.matchLabels, ...selector };
}

function selects(service: KubeObject, podLabels: Record<string, string> | undefined): boolean {
  const selector = isRecord(service.spec) ? service.spec.selector : undefined;
  return isRecord(selector) && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => podLabels?.[key] === value);
}

function firstContainerPort(workload: KubeObject): string | number | undefined {
  const port = templateOf(workload).spec?.containers?.[0]?.ports?.[0];
  return port?.name ?? port?.containerPort;
}

function firstServicePort(service: KubeObject): number {
  const ports = isRecord(service.spec) && Array.isArray(service.spec.ports) ? (service.spec.ports as { port?: number }[]) : [];
  return ports[0]?.port ?? servicePort;
}

/** The version route sends its path to the version Service's first port. */
function withBackendPort(route: KubeObject, port: number): KubeObject {
  const spec = route.spec as { rules?: { http?: { paths?: { backend: { service: { port: { number: number } } } }[] }; backendRefs?: { port: number }[] }[] };
  for (const rule of spec.rules ?? []) {
    for (const path of rule.http?.paths ?? []) path.backend.service.port.number = port;
    for (const ref of rule.backendRefs ?? []) ref.port = port;
  }
  return route;
}

/** `v42` in `shop-v42-config`, not in `shop-v421`: the version's name part between non-alphanumerics. */
export function containsToken(name: string, part: string): boolean {
  let at = name.indexOf(part);
  while (at !== -1) {
    const before = at === 0 ? '' : name[at - 1]!;
    const after = name[at + part.length] ?? '';
    if (!/[a-z0-9]/.test(before) && !/[a-z0-9]/.test(after)) return true;
    at = name.indexOf(part, at + 1);
  }
  return false;
}

function rank(kind: string): number {
  const at = applyOrder.indexOf(kind);
  return at === -1 ? applyOrder.length : at;
}
