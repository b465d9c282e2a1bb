import { resourceTypeOf, resourceTypes, type ResourceType } from '../resource-types.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { methodNotAllowed, resourceNotFound } from './status.js';

export type Route =
  | { kind: 'document'; body: unknown }
  | { kind: 'resource'; type: ResourceType; namespace: string | undefined; name: string | undefined; subresource: 'status' | undefined }
  | { kind: 'notFound' };

/**
 * Resolves a request path the way kube-apiserver lays out its API: discovery documents, then
 * `/api/v1/...` and `/apis/<group>/<version>/...` with optional `namespaces/<ns>/` and
 * `/<name>[/status]`. Unknown resources in a served group version are a NotFound Status.
 */
export function resolve(pathname: string, serverAddress: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const doc = (body: unknown): Route => (body === undefined ? { kind: 'notFound' } : { kind: 'document', body });
  if (parts[0] === 'version' && parts.length === 1) return doc(versionInfo);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return doc(apiVersions(serverAddress));
    [group, version, rest] = ['', parts[1]!, parts.slice(2)];
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return doc(apiGroupList());
    if (parts.length === 2) return doc(apiGroup(parts[1]!));
    [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  } else {
    return { kind: 'notFound' };
  }
  if (!resourceTypes.some((t) => t.group === group && t.version === version)) return { kind: 'notFound' };
  if (rest.length === 0) return doc(apiResourceList(group, version));
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && resourceTypeOf(group, version, rest[2]!)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const type = resourceTypeOf(group, version, rest[0]!);
  if (!type) throw resourceNotFound();
  if (namespace === undefined && type.namespaced && rest.length > 1) throw resourceNotFound();
  const [, name, subresource, ...extra] = rest;
  if (extra.length) throw resourceNotFound();
  if (subresource !== undefined && !(type.subresources as string[]).includes(subresource)) throw resourceNotFound();
  return { kind: 'resource', type, namespace, name, subresource: subresource as 'status' | undefined };
}

/** Which verb a method names on a collection or an item, or 405. */
export function verbOf(method: string, route: Extract<Route, { kind: 'resource' }>, watch: boolean): string {
  const item = route.name !== undefined;
  const verb = ({
    GET: item ? 'get' : watch ? 'watch' : 'list',
    POST: item ? undefined : 'create',
    PUT: item ? 'update' : undefined,
    PATCH: item ? 'patch' : undefined,
    DELETE: item ? 'delete' : 'deletecollection',
  } as Record<string, string | undefined>)[method];
  if (!verb || (route.subresource && !['get', 'update', 'patch'].includes(verb)) || !route.type.verbs.includes(verb)) throw methodNotAllowed();
  return verb;
}
