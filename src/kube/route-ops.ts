import { PatchStrategy, type V1Ingress } from '@kubernetes/client-node';
import type { AppSpec } from '../core/model.js';
import { fieldManager, withContentType, type KubeApi } from './kube-api.js';
import { routeKindOf, type RouteManifest } from './manifests.js';

/** The part of an object the adapter reads (metadata is all it looks at). */
export interface ObjectMeta {
  metadata?: { name?: string; labels?: Record<string, string> };
}

/** The app's routes, whichever kind they are (Ingress or Gateway API HTTPRoute), through one interface. */
export interface RouteOps {
  kind: string;
  read(name: string): Promise<ObjectMeta>;
  list(labelSelector: string): Promise<ObjectMeta[]>;
  create(body: RouteManifest): Promise<unknown>;
  apply(body: RouteManifest): Promise<unknown>;
  remove(name: string): Promise<unknown>;
}

export function routeOps(api: KubeApi, app: AppSpec): RouteOps {
  const kind = routeKindOf(app);
  const namespace = api.namespace;
  const apply = PatchStrategy.ServerSideApply;
  if (kind.resource === 'ingresses') {
    return {
      kind: kind.kind,
      read: (name) => api.call({ resource: 'ingresses', verb: 'get' }, name, (o) => api.networking.readNamespacedIngress({ name, namespace }, o)),
      list: async (labelSelector) => (await api.call({ resource: 'ingresses', verb: 'list' }, undefined, (o) => api.networking.listNamespacedIngress({ namespace, labelSelector }, o))).items,
      create: (body) => api.call({ resource: 'ingresses', verb: 'create' }, body.metadata?.name, (o) => api.networking.createNamespacedIngress({ namespace, body: body as V1Ingress, fieldManager }, o)),
      apply: (body) => {
        const name = body.metadata?.name ?? '';
        return api.call({ resource: 'ingresses', verb: 'patch' }, name, (o) =>
          api.networking.patchNamespacedIngress({ name, namespace, body: body as V1Ingress, fieldManager, force: true }, withContentType(o, apply)),
        );
      },
      remove: (name) => api.call({ resource: 'ingresses', verb: 'delete' }, name, (o) => api.networking.deleteNamespacedIngress({ name, namespace, propagationPolicy: 'Background' }, o)),
    };
  }
  const target = { group: kind.group, version: kind.version, plural: kind.resource, namespace };
  return {
    kind: kind.kind,
    read: (name) => api.call({ resource: 'httproutes', verb: 'get' }, name, (o) => api.custom.getNamespacedCustomObject({ ...target, name }, o) as Promise<ObjectMeta>),
    list: async (labelSelector) => {
      const list = (await api.call({ resource: 'httproutes', verb: 'list' }, undefined, (o) => api.custom.listNamespacedCustomObject({ ...target, labelSelector }, o))) as { items?: ObjectMeta[] };
      return list.items ?? [];
    },
    create: (body) => api.call({ resource: 'httproutes', verb: 'create' }, body.metadata?.name, (o) => api.custom.createNamespacedCustomObject({ ...target, body, fieldManager }, o)),
    apply: (body) => {
      const name = body.metadata?.name ?? '';
      return api.call({ resource: 'httproutes', verb: 'patch' }, name, (o) =>
        api.custom.patchNamespacedCustomObject({ ...target, name, body, fieldManager, force: true }, withContentType(o, apply)),
      );
    },
    remove: (name) => api.call({ resource: 'httproutes', verb: 'delete' }, name, (o) => api.custom.deleteNamespacedCustomObject({ ...target, name, propagationPolicy: 'Background' }, o)),
  };
}
