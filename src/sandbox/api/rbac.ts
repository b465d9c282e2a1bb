import type { UserInfo } from '../identities.js';
import { mustType, type ResourceType } from '../resource-types.js';
import type { KubeObject, Store } from '../store.js';
import { ApiError } from './status.js';

const roles = mustType('roles');
const roleBindings = mustType('rolebindings');

/** What a request asks to do, as kube-apiserver's RequestInfo describes it to the authorizer. */
export interface ResourceAttributes {
  verb: string;
  type: ResourceType;
  /** For namespaces/<name> this is <name>, as the real RequestInfo sets it. */
  namespace: string | undefined;
  /** Empty for create, list, watch and deletecollection. */
  name: string | undefined;
  subresource: string | undefined;
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

/**
 * RBAC for one resource request: null when allowed, else the 403 the real server answers.
 * Users outside system:masters are checked against the Roles their RoleBindings grant in the
 * request's namespace; ClusterRoles and ClusterRoleBindings are not modelled, so cluster-scoped
 * requests (and bindings to a ClusterRole) grant nothing.
 */
export function authorizeResource(store: Store, user: UserInfo, request: ResourceAttributes): ApiError | null {
  if (user.groups.includes('system:masters')) return null;
  const errors: string[] = [];
  if (request.namespace !== undefined) {
    for (const binding of store.list(roleBindings, request.namespace)) {
      if (!appliesTo(user, (binding.subjects as Subject[] | undefined) ?? [], request.namespace)) continue;
      const rules = ruleOf(store, binding, request.namespace);
      if (typeof rules === 'string') {
        errors.push(rules);
        continue;
      }
      if (rules.some((rule) => ruleAllows(rule, request))) return null;
    }
  }
  const reason = errors.length === 0 ? '' : `: RBAC: ${errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`}`;
  return forbidden(request.type, request.name ?? '', `${denial(user, request)}${reason}`);
}

/** Non-resource paths: discovery, /version and health are open to every authenticated user. */
export function authorizePath(user: UserInfo, verb: string, path: string, adminOnly: boolean): ApiError | null {
  if (!adminOnly || user.groups.includes('system:masters')) return null;
  return new ApiError(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${verb} path "${path}"`, {});
}

/**
 * The 403 of a server-side apply that would create the object: the patch verb passed, the
 * create check failed, and RBAC gives no reason (so the message ends after "forbidden: ").
 */
export function forbiddenCreateOnApply(type: ResourceType, name: string): ApiError {
  return forbidden(type, name, '');
}

function forbidden(type: ResourceType, name: string, why: string): ApiError {
  const resource = type.group ? `${type.resource}.${type.group}` : type.resource;
  const message = name ? `${resource} "${name}" is forbidden: ${why}` : `${resource} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, { ...(name ? { name } : {}), ...(type.group ? { group: type.group } : {}), kind: type.resource });
}

function denial(user: UserInfo, request: ResourceAttributes): string {
  const resource = request.subresource ? `${request.type.resource}/${request.subresource}` : request.type.resource;
  const scope = request.namespace !== undefined ? `in the namespace "${request.namespace}"` : 'at the cluster scope';
  return `User "${user.name}" cannot ${request.verb} resource "${resource}" in API group "${request.type.group}" ${scope}`;
}

function appliesTo(user: UserInfo, subjects: Subject[], namespace: string): boolean {
  return subjects.some((subject) => {
    switch (subject.kind) {
      case 'ServiceAccount': {
        // As in RBAC: a ServiceAccount subject without a namespace means the binding's namespace.
        const saNamespace = subject.namespace || namespace;
        return user.name === `system:serviceaccount:${saNamespace}:${subject.name ?? ''}`;
      }
      case 'User':
        return user.name === subject.name;
      case 'Group':
        return subject.name !== undefined && user.groups.includes(subject.name);
      default:
        return false;
    }
  });
}

/** The rules a RoleBinding grants, or the error RBAC reports for its roleRef. */
function ruleOf(store: Store, binding: KubeObject, namespace: string): PolicyRule[] | string {
  const ref = (binding.roleRef ?? {}) as { kind?: string; name?: string };
  if (ref.kind === 'Role') {
    const role = store.get(roles, namespace, ref.name ?? '');
    if (!role) return `role.rbac.authorization.k8s.io "${ref.name ?? ''}" not found`;
    return (role.rules as PolicyRule[] | undefined) ?? [];
  }
  if (ref.kind === 'ClusterRole') return `clusterrole.rbac.authorization.k8s.io "${ref.name ?? ''}" not found`;
  return `unsupported role reference kind: "${ref.kind ?? ''}"`;
}

function ruleAllows(rule: PolicyRule, request: ResourceAttributes): boolean {
  const has = (list: string[] | undefined, value: string): boolean => (list ?? []).some((item) => item === '*' || item === value);
  if (!has(rule.verbs, request.verb) || !has(rule.apiGroups, request.type.group)) return false;
  const combined = request.subresource ? `${request.type.resource}/${request.subresource}` : request.type.resource;
  const resourceMatches = (rule.resources ?? []).some(
    (resource) => resource === '*' || resource === combined || (request.subresource !== undefined && resource === `*/${request.subresource}`),
  );
  if (!resourceMatches) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (request.name !== undefined && names.includes(request.name));
}
