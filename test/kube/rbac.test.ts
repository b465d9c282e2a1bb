import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { installPermissions, permissions, webReads } from '../../src/kube/permissions.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

interface RbacDocument {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

async function rbacDocuments(): Promise<RbacDocument[]> {
  const text = await readFile(new URL('../../config/rbac.yaml', import.meta.url), 'utf8');
  return parseAllDocuments(text).map((doc) => doc.toJS() as RbacDocument);
}

/** "group/resource verb" for every grant, so differences read as a list. */
function grantsOf(rules: Rule[]): string[] {
  return rules.flatMap((rule) => rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource} ${verb}`)))).sort();
}

describe('config/rbac.yaml', () => {
  it('grants the workers exactly the verbs the adapter declares in src/kube/permissions.ts', async () => {
    const role = (await rbacDocuments()).find((doc) => doc.kind === 'Role' && doc.metadata.name === 'cutover')!;
    const declared = Object.entries(permissions).flatMap(([resource, { group, verbs }]) => verbs.map((verb) => `${group}/${resource} ${verb}`));
    expect(grantsOf(role.rules ?? [])).toEqual(declared.sort());
  });

  it('grants the web process only get, list and watch, on everything it observes (status, dry runs, approval requests)', async () => {
    const role = (await rbacDocuments()).find((doc) => doc.kind === 'Role' && doc.metadata.name === 'cutover-read')!;
    const grants = grantsOf(role.rules ?? []);
    expect(grants.filter((grant) => !/ (get|list|watch)$/.test(grant))).toEqual([]);
    const needed = Object.entries(webReads).flatMap(([resource, verbs]) => verbs.map((verb) => `${permissions[resource as keyof typeof permissions].group}/${resource} ${verb}`));
    expect(needed.filter((grant) => !grants.includes(grant))).toEqual([]);
  });

  it('grants installs from manifests or a chart exactly installPermissions, in a Role of their own', async () => {
    const role = (await rbacDocuments()).find((doc) => doc.kind === 'Role' && doc.metadata.name === 'cutover-install')!;
    const declared = Object.entries(installPermissions).flatMap(([resource, { group, verbs }]) => verbs.map((verb) => `${group}/${resource} ${verb}`));
    expect(grantsOf(role.rules ?? [])).toEqual(declared.sort());
  });

  it('grants nothing broad: no wildcards, no secrets, no cluster scope', async () => {
    const docs = await rbacDocuments();
    expect(docs.map((doc) => doc.kind).sort()).toEqual(['Role', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'RoleBinding', 'ServiceAccount', 'ServiceAccount']);
    const grants = docs.filter((doc) => doc.kind === 'Role').flatMap((doc) => grantsOf(doc.rules ?? []));
    expect(grants.filter((grant) => grant.includes('*') || grant.includes('secrets'))).toEqual([]);
  });

  it.each([
    ['cutover', ['cutover', 'cutover-install']],
    ['cutover-web', ['cutover-read']],
  ])('binds ServiceAccount %s to Roles %j in the same namespace, and to nothing else', async (account, roles) => {
    const docs = await rbacDocuments();
    const bindings = docs.filter((doc) => doc.kind === 'RoleBinding' && doc.subjects?.some((s) => s.name === account));
    expect(bindings.map((b) => b.roleRef)).toEqual(roles.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name })));
    for (const binding of bindings) expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account, namespace: 'production' }]);
    expect(new Set(docs.map((doc) => doc.metadata.namespace))).toEqual(new Set(['production']));
  });
});
