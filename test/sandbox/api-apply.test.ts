import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startHarness } from './api-harness.js';

/**
 * Server-side apply and field ownership, as kube-apiserver 1.28 answers them (issue 13, point 4).
 * Reference: /work/shared/reference/kube-apiserver-1.28/delete_service_response.json (the
 * managedFields of a Service created by curl) and the 409 body the real server sends on an apply
 * conflict (k8s.io/apimachinery managedfields/internal/conflict.go).
 */

let h: Awaited<ReturnType<typeof startHarness>>;
const ns = 'default';
const cmPath = (name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.server.close();
});

function apply(path: string, body: unknown, manager: string, query = '') {
  return raw(h.server.url, 'PATCH', `${path}?fieldManager=${manager}${query}`, { contentType: 'application/apply-patch+yaml', body: JSON.stringify(body) });
}

const configMap = (name: string, data: Record<string, string>, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

const entries = (object: { metadata: { managedFields?: Entry[] } }): Entry[] => object.metadata.managedFields ?? [];
const entryOf = (object: { metadata: { managedFields?: Entry[] } }, manager: string, operation = 'Apply') => entries(object).find((e) => e.manager === manager && e.operation === operation);

describe('sandbox API: server-side apply and managedFields', () => {
  it('records the applied fields under the field manager: operation Apply, fieldsType FieldsV1, fieldsV1 of exactly what was sent', async () => {
    const created = await apply(cmPath('owned'), configMap('owned', { a: '1', b: '2' }, { team: 'shop' }), 'alice');
    expect(created.status).toBe(201);
    expect(entries(created.json)).toEqual([
      {
        manager: 'alice',
        operation: 'Apply',
        apiVersion: 'v1',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:team': {} } } },
      },
    ]);
    // Read back: the object keeps its managedFields.
    const read = await raw(h.server.url, 'GET', cmPath('owned'));
    expect(entries(read.json)).toEqual(entries(created.json));
  });

  it('keys list items as structured-merge-diff does: containers by name, container ports by containerPort and protocol', async () => {
    const labels = { app: 'keyed' };
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'keyed' },
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'shop', image: 'registry.example.com/shop:v1', ports: [{ containerPort: 8080 }] }] } },
      },
    };
    const created = await apply(`/apis/apps/v1/namespaces/${ns}/deployments/keyed`, deployment, 'cutover');
    expect(created.status).toBe(201);
    expect(entryOf(created.json, 'cutover')?.fieldsV1).toEqual({
      'f:spec': {
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"shop"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
    expect(entryOf(created.json, 'cutover')?.apiVersion).toBe('apps/v1');
  });

  it('records an update (create, merge patch) under the User-Agent prefix as operation Update, like the recorded Service created by curl', async () => {
    const reference = JSON.parse(await readFile('/work/shared/reference/kube-apiserver-1.28/delete_service_response.json', 'utf8')) as { metadata: { managedFields: Entry[] } };
    const created = await raw(h.server.url, 'POST', `/api/v1/namespaces/${ns}/services`, {
      contentType: 'application/json',
      headers: { 'user-agent': 'curl/8.5.0' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-v1' }, spec: { selector: { 'app.kubernetes.io/version': 'v1' }, ports: [{ port: 80, targetPort: 8080 }] } }),
    });
    expect(created.status).toBe(201);
    const [entry] = entries(created.json);
    const [expected] = reference.metadata.managedFields;
    expect({ ...entry, time: undefined }).toEqual({ ...expected, time: undefined });

    const patched = await raw(h.server.url, 'PATCH', `/api/v1/namespaces/${ns}/services/shop-v1?fieldManager=cutover`, {
      contentType: 'application/merge-patch+json',
      body: JSON.stringify({ metadata: { annotations: { 'cutover.dev/live-version': 'v1' } }, spec: { selector: { 'app.kubernetes.io/version': 'v2' } } }),
    });
    // spec.selector is atomic in a Service: the patch takes all of it from curl.
    expect(entryOf(patched.json, 'cutover', 'Update')?.fieldsV1).toEqual({
      'f:metadata': { 'f:annotations': { '.': {}, 'f:cutover.dev/live-version': {} } },
      'f:spec': { 'f:selector': {} },
    });
    expect(entryOf(patched.json, 'curl', 'Update')?.fieldsV1).not.toHaveProperty(['f:spec', 'f:selector']);
  });

  it('removes fields the same manager applied before and no longer sends, and keeps those another manager also owns', async () => {
    await apply(cmPath('pruned'), configMap('pruned', { a: '1', b: '2', c: '3' }, { team: 'shop' }), 'alice');
    // bob applies c with the same value: no conflict, c is owned by both.
    const shared = await apply(cmPath('pruned'), configMap('pruned', { c: '3' }), 'bob');
    expect(shared.status).toBe(200);
    const dropped = await apply(cmPath('pruned'), configMap('pruned', { a: '1' }), 'alice');
    expect(dropped.status).toBe(200);
    expect(dropped.json.data).toEqual({ a: '1', c: '3' });
    expect(dropped.json.metadata.labels).toBeUndefined();
    expect(entryOf(dropped.json, 'alice')?.fieldsV1).toEqual({ 'f:data': { 'f:a': {} } });
    expect(entryOf(dropped.json, 'bob')?.fieldsV1).toEqual({ 'f:data': { 'f:c': {} } });
  });

  it('answers 409 Conflict with FieldManagerConflict causes when an apply changes a field another manager owns', async () => {
    await apply(cmPath('contested'), configMap('contested', { a: '1', b: '2' }), 'alice');
    const refused = await apply(cmPath('contested'), configMap('contested', { a: '9' }), 'bob');
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Apply failed with 1 conflict: conflict with "alice": .data.a',
      reason: 'Conflict',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.a' }] },
      code: 409,
    });
    const unchanged = await raw(h.server.url, 'GET', cmPath('contested'));
    expect(unchanged.json.data).toEqual({ a: '1', b: '2' });

    // An Update manager is named with the API version it wrote with; several conflicts are listed per manager.
    await raw(h.server.url, 'PATCH', `${cmPath('contested')}?fieldManager=kubectl-edit`, { contentType: 'application/merge-patch+json', body: JSON.stringify({ data: { b: '3' } }) });
    const two = await apply(cmPath('contested'), configMap('contested', { a: '9', b: '9' }), 'bob');
    expect(two.status).toBe(409);
    expect(two.json.message).toBe('Apply failed with 2 conflicts: conflicts with "alice":\n- .data.a\nconflicts with "kubectl-edit" using v1:\n- .data.b');
    expect(two.json.details.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.a' },
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using v1', field: '.data.b' },
    ]);
  });

  it('with force=true the apply wins and the field changes hands', async () => {
    await apply(cmPath('forced'), configMap('forced', { a: '1', b: '2' }), 'alice');
    const forced = await apply(cmPath('forced'), configMap('forced', { a: '9' }), 'bob', '&force=true');
    expect(forced.status).toBe(200);
    expect(forced.json.data).toEqual({ a: '9', b: '2' });
    expect(entryOf(forced.json, 'alice')?.fieldsV1).toEqual({ 'f:data': { 'f:b': {} } });
    expect(entryOf(forced.json, 'bob')?.fieldsV1).toEqual({ 'f:data': { 'f:a': {} } });
    // alice re-applies without a: a stays, bob owns it now.
    const after = await apply(cmPath('forced'), configMap('forced', { b: '2' }), 'alice');
    expect(after.json.data).toEqual({ a: '9', b: '2' });
  });

  it('rejects force on a patch that is not an apply', async () => {
    const response = await raw(h.server.url, 'PATCH', `${cmPath('forced')}?force=true`, { contentType: 'application/merge-patch+json', body: '{}' });
    expect(response.status).toBe(422);
  });
});
