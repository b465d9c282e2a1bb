import type { V1Deployment, V1EnvVar, V1Ingress, V1Service } from '@kubernetes/client-node';
import type { AppSpec } from '../core/model.js';
import type { LabelKeys } from '../core/names.js';
import { annotations, liveNames, managedByLabel, managedByValue, versionLabels, versionNames, versionSelector } from '../core/names.js';

/**
 * The objects cutover owns, as plain data. Pure: no I/O, no clock. Server-side apply sends them
 * as they are, so every field here is a field cutover manages.
 */

/** Fencing token of the release lease, recorded on the live Service with each switch. */
export const fenceAnnotation = 'cutover.dev/fence';

/**
 * Version value of the live selector before any version went live. A Service that selected only
 * `{name: app}` would route to every installed version at once; an empty version value selects
 * no pod (an equality requirement never matches a missing or different label), so traffic
 * answers 503 until the first switch, which is what "nothing is live" should look like.
 */
export const noLiveVersion = '';

export const servicePort = 80;
export const containerPortName = 'http';

export interface RouteKind {
  resource: 'ingresses' | 'httproutes';
  group: string;
  version: string;
  kind: 'Ingress' | 'HTTPRoute';
}

export const ingressKind: RouteKind = { resource: 'ingresses', group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' };
export const httpRouteKind: RouteKind = { resource: 'httproutes', group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' };

export function routeKindOf(app: AppSpec): RouteKind {
  return app.routing === 'gateway' ? httpRouteKind : ingressKind;
}

/** Gateway API HTTPRoute (gateway.networking.k8s.io/v1), the fields cutover sets. */
export interface HttpRouteManifest {
  apiVersion: 'gateway.networking.k8s.io/v1';
  kind: 'HTTPRoute';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    parentRefs: { name: string; namespace?: string }[];
    hostnames?: string[];
    rules: {
      matches: { path: { type: 'PathPrefix'; value: string } }[];
      filters?: { type: 'URLRewrite'; urlRewrite: { path: { type: 'ReplacePrefixMatch'; replacePrefixMatch: string } } }[];
      backendRefs: { name: string; port: number }[];
    }[];
  };
}

export type RouteManifest = V1Ingress | HttpRouteManifest;

export function imageFor(app: AppSpec, version: string): string {
  return app.image.split('{version}').join(version);
}

/** Labels of the live Service and live route: the app, no version. */
export function liveLabels(keys: LabelKeys, app: string): Record<string, string> {
  return { [keys.name]: app, [managedByLabel]: managedByValue };
}

/** Label selector (query form) for everything cutover manages for one app. */
export function ownedSelector(keys: LabelKeys, app: string): string {
  return `${keys.name}=${app},${managedByLabel}=${managedByValue}`;
}

export function versionSelectorQuery(keys: LabelKeys, app: string, version: string): string {
  return `${ownedSelector(keys, app)},${keys.version}=${version}`;
}

export function versionDeployment(app: AppSpec, version: string, namespace: string, installedBy: string): V1Deployment {
  const names = versionNames(app, version);
  const labels = versionLabels(app.labelKeys, app.name, version);
  const env: V1EnvVar[] = Object.entries({ ...app.env, APP_VERSION: version }).map(([name, value]) => ({ name, value }));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: names.deployment, namespace, labels, annotations: { [annotations.installedBy]: installedBy } },
    spec: {
      replicas: app.replicas,
      selector: { matchLabels: versionSelector(app.labelKeys, app.name, version) },
      template: {
        metadata: { labels, ...(Object.keys(app.podAnnotations).length > 0 ? { annotations: { ...app.podAnnotations } } : {}) },
        spec: {
          terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
          containers: [
            {
              name: app.name,
              image: imageFor(app, version),
              ports: [{ name: containerPortName, containerPort: app.containerPort, protocol: 'TCP' }],
              env,
              ...(app.resources ? { resources: app.resources } : {}),
              readinessProbe: { httpGet: { path: app.healthPath, port: containerPortName }, periodSeconds: 2 },
            },
          ],
        },
      },
    },
  };
}

export function versionService(app: AppSpec, version: string, namespace: string): V1Service {
  const names = versionNames(app, version);
  return service(names.service, namespace, versionLabels(app.labelKeys, app.name, version), versionSelector(app.labelKeys, app.name, version));
}

export function liveService(app: AppSpec, initialVersion: string | null, namespace: string): V1Service {
  const names = liveNames(app.name);
  const manifest = service(names.service, namespace, liveLabels(app.labelKeys, app.name), versionSelector(app.labelKeys, app.name, initialVersion ?? noLiveVersion));
  if (initialVersion !== null) manifest.metadata!.annotations = { [annotations.liveVersion]: initialVersion };
  return manifest;
}

function service(name: string, namespace: string, labels: Record<string, string>, selector: Record<string, string>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: { selector, ports: [{ name: containerPortName, port: servicePort, targetPort: containerPortName, protocol: 'TCP' }] },
  };
}

export function versionRoute(app: AppSpec, version: string, namespace: string): RouteManifest {
  const names = versionNames(app, version);
  return route(app, names.route, names.path, names.service, namespace, versionLabels(app.labelKeys, app.name, version), app.stripVersionPrefix === true);
}

/** ingress-nginx's form of a prefix rewrite: a regex path whose second group is what the pods receive. */
export const ingressNginxRewrite = {
  'nginx.ingress.kubernetes.io/use-regex': 'true',
  'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
} as const;

export function liveRoute(app: AppSpec, namespace: string): RouteManifest {
  const names = liveNames(app.name);
  return route(app, names.route, '/', names.service, namespace, liveLabels(app.labelKeys, app.name));
}

/** A route to `serviceName` for `path`; `strip`: the pods receive the path without that prefix. */
function route(app: AppSpec, name: string, path: string, serviceName: string, namespace: string, labels: Record<string, string>, strip = false): RouteManifest {
  if (app.routing === 'gateway') {
    if (!app.gateway) throw new Error(`app ${app.name} routes through a Gateway but names none`);
    const parent = { name: app.gateway.name, ...(app.gateway.namespace ? { namespace: app.gateway.namespace } : {}) };
    // Gateway API standard: URLRewrite with ReplacePrefixMatch replaces the matched prefix.
    const filters = strip ? { filters: [{ type: 'URLRewrite' as const, urlRewrite: { path: { type: 'ReplacePrefixMatch' as const, replacePrefixMatch: '/' } } }] } : {};
    return {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name, namespace, labels },
      spec: {
        parentRefs: [parent],
        ...(app.hosts.length > 0 ? { hostnames: [...app.hosts] } : {}),
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], ...filters, backendRefs: [{ name: serviceName, port: servicePort }] }],
      },
    };
  }
  // Ingress has no standard rewrite: ingress-nginx's regex path and rewrite-target (documented).
  const backend = { service: { name: serviceName, port: { number: servicePort } } };
  const http = { paths: [strip ? { path: `${path.replace(/\/$/, '')}(/|$)(.*)`, pathType: 'ImplementationSpecific', backend } : { path, pathType: 'Prefix', backend }] };
  const rules = app.hosts.length > 0 ? app.hosts.map((host) => ({ host, http })) : [{ http }];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, labels, ...(strip ? { annotations: { ...ingressNginxRewrite } } : {}) },
    spec: { ...(app.ingressClassName ? { ingressClassName: app.ingressClassName } : {}), rules },
  };
}

/** Is the live Service's selector already pointing at `version`? (The switch is then a no-op.) */
export function isAlreadyLive(selector: Record<string, string> | undefined, keys: LabelKeys, version: string): boolean {
  return selector?.[keys.version] === version;
}

/**
 * The one merge patch of a switch: selector version and bookkeeping annotations, with the
 * resourceVersion that was read, so a concurrent change makes the server answer 409.
 */
export function selectorSwitchPatch(
  keys: LabelKeys,
  request: { to: string; rollbackTarget: string | null; by: string; at: Date; fence?: number | undefined },
  resourceVersion: string | undefined,
): { metadata: Record<string, unknown>; spec: { selector: Record<string, string> } } {
  return {
    metadata: {
      ...(resourceVersion ? { resourceVersion } : {}),
      annotations: {
        [annotations.liveVersion]: request.to,
        [annotations.previousVersion]: request.rollbackTarget,
        [annotations.promotedAt]: request.at.toISOString(),
        [annotations.promotedBy]: request.by,
        ...(request.fence !== undefined ? { [fenceAnnotation]: String(request.fence) } : {}),
      },
    },
    spec: { selector: { [keys.version]: request.to } },
  };
}
