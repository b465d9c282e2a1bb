import type { AppSpec } from '../core/model.js';
import type { AppConfig } from './load-config.js';

/** What the cluster adapter needs about an app: the config without the Slack and environment bindings. */
export function toAppSpec(app: AppConfig): AppSpec {
  const spec: AppSpec = {
    name: app.name,
    image: app.image,
    containerPort: app.containerPort,
    replicas: app.replicas,
    env: { ...app.env },
    healthPath: app.healthPath,
    versionHeader: app.versionHeader,
    routing: app.routing,
    hosts: [...app.hosts],
    labelKeys: { ...app.labelKeys },
    terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
    podAnnotations: { ...app.podAnnotations },
    versionPattern: app.versionPattern,
    versionPath: app.versionPath,
    stripVersionPrefix: app.stripVersionPrefix,
  };
  if (app.install.kind !== 'builtin') spec.install = structuredClone(app.install);
  if (app.resources) spec.resources = structuredClone(app.resources);
  if (app.gateway) spec.gateway = { ...app.gateway };
  if (app.ingressClassName) spec.ingressClassName = app.ingressClassName;
  return spec;
}
