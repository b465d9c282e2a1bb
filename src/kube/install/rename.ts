import { isRecord, type KubeObject } from './objects.js';

/** Old name -> new name, per kind, of the objects `install.suffixNames` renamed. */
export type Renames = Map<string, Map<string, string>>;

/**
 * Point the references between rendered objects at their new names: a pod template's ConfigMaps,
 * Secrets, ServiceAccount and claims, an autoscaler's target, a RoleBinding's Role and
 * ServiceAccounts, an Ingress's Services. References to objects the set does not contain (a
 * Secret made by someone else) keep their name. Mutates `object`; pure otherwise.
 */
export function rewriteReferences(object: KubeObject, renames: Renames): void {
  const renamed = (kind: string, name: unknown): string | undefined => (typeof name === 'string' ? renames.get(kind)?.get(name) : undefined);
  const rename = (holder: unknown, field: string, kind: string): void => {
    if (!isRecord(holder)) return;
    const next = renamed(kind, holder[field]);
    if (next !== undefined) holder[field] = next;
  };
  const spec = object.spec;
  const template = isRecord(spec) && isRecord(spec.template) ? spec.template : isRecord(spec) && isRecord(spec.jobTemplate) ? (spec.jobTemplate as { spec?: { template?: unknown } }).spec?.template : undefined;
  if (isRecord(template) && isRecord(template.spec)) rewritePodSpec(template.spec, rename);
  if (object.kind === 'HorizontalPodAutoscaler' && isRecord(spec) && isRecord(spec.scaleTargetRef)) {
    rename(spec.scaleTargetRef, 'name', String(spec.scaleTargetRef.kind));
  }
  if (object.kind === 'RoleBinding') {
    if (isRecord(object.roleRef)) rename(object.roleRef, 'name', String(object.roleRef.kind));
    for (const subject of arrayOf(object.subjects)) if (isRecord(subject) && subject.kind === 'ServiceAccount') rename(subject, 'name', 'ServiceAccount');
  }
  if (object.kind === 'Ingress' && isRecord(spec)) {
    const backends: unknown[] = [spec.defaultBackend];
    for (const rule of arrayOf(spec.rules)) for (const path of arrayOf(isRecord(rule) && isRecord(rule.http) ? rule.http.paths : [])) backends.push(isRecord(path) ? path.backend : undefined);
    for (const backend of backends) if (isRecord(backend)) rename(backend.service, 'name', 'Service');
  }
}

function rewritePodSpec(pod: Record<string, unknown>, rename: (holder: unknown, field: string, kind: string) => void): void {
  rename(pod, 'serviceAccountName', 'ServiceAccount');
  for (const secret of arrayOf(pod.imagePullSecrets)) rename(secret, 'name', 'Secret');
  for (const container of [...arrayOf(pod.containers), ...arrayOf(pod.initContainers)]) {
    if (!isRecord(container)) continue;
    for (const from of arrayOf(container.envFrom)) {
      if (!isRecord(from)) continue;
      rename(from.configMapRef, 'name', 'ConfigMap');
      rename(from.secretRef, 'name', 'Secret');
    }
    for (const variable of arrayOf(container.env)) {
      const valueFrom = isRecord(variable) ? variable.valueFrom : undefined;
      if (!isRecord(valueFrom)) continue;
      rename(valueFrom.configMapKeyRef, 'name', 'ConfigMap');
      rename(valueFrom.secretKeyRef, 'name', 'Secret');
    }
  }
  for (const volume of arrayOf(pod.volumes)) {
    if (!isRecord(volume)) continue;
    rename(volume.configMap, 'name', 'ConfigMap');
    rename(volume.secret, 'secretName', 'Secret');
    rename(volume.persistentVolumeClaim, 'claimName', 'PersistentVolumeClaim');
    const sources = isRecord(volume.projected) ? arrayOf(volume.projected.sources) : [];
    for (const source of sources) {
      if (!isRecord(source)) continue;
      rename(source.configMap, 'name', 'ConfigMap');
      rename(source.secret, 'name', 'Secret');
    }
  }
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
