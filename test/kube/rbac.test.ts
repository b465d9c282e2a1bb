import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { permissions } from '../../src/kube/permissions.js';

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
  it('grants exactly the verbs the adapter declares in src/kube/permissions.ts', async () => {
    const role = (await rbacDocuments()).find((doc) => doc.kind === 'Role')!;
    const declared = Object.entries(permissions).flatMap(([resource, { group, verbs }]) => verbs.map((verb) => `${group}/${resource} ${verb}`));
    expect(grantsOf(role.rules ?? [])).toEqual(declared.sort());
  });

  it('grants nothing broad: no wildcards, no secrets, no cluster scope', async () => {
    const docs = await rbacDocuments();
    expect(docs.map((doc) => doc.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
    const grants = grantsOf(docs.find((doc) => doc.kind === 'Role')!.rules ?? []);
    expect(grants.filter((grant) => grant.includes('*') || grant.includes('secrets'))).toEqual([]);
  });

  it('binds the Role to the cutover ServiceAccount in the same namespace', async () => {
    const docs = await rbacDocuments();
    const binding = docs.find((doc) => doc.kind === 'RoleBinding')!;
    const account = docs.find((doc) => doc.kind === 'ServiceAccount')!;
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: 'cutover' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace }]);
    expect(new Set(docs.map((doc) => doc.metadata.namespace))).toEqual(new Set(['production']));
  });
});
