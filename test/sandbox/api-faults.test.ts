import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Faults } from '../../src/sandbox/faults.js';
import { raw, startHarness, statusOf, token } from './api-harness.js';

let h: Awaited<ReturnType<typeof startHarness>>;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.server.close();
});

describe('sandbox API: injected faults', () => {
  it('with errorRate 1 answers every call with a real 500, 503 or 429 Status (429 with Retry-After)', async () => {
    h.faults.set({ errorRate: 1 });
    const codes = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const response = await raw(h.server.url, 'GET', '/api/v1/namespaces/default/services');
      codes.add(response.status);
      expect(response.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: response.status });
      if (response.status === 429) {
        expect(response.headers['retry-after']).toBe('1');
        expect(response.json).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
      }
    }
    expect([...codes].sort()).toEqual([429, 500, 503]);
    const status = await statusOf(h.core.listNamespacedService({ namespace: 'default' }));
    expect([429, 500, 503]).toContain(status.code);
    h.faults.set({ errorRate: 0 });
    expect((await h.core.listNamespacedService({ namespace: 'default' })).items).toEqual([]);
  });

  it('holds every API answer back by the latency, then answers normally', async () => {
    h.faults.set({ latencyMs: 1_500 });
    onTestFinished(() => h.faults.set({ latencyMs: 0 }));
    const order: string[] = [];
    const delayed = raw(h.server.url, 'GET', '/api/v1/namespaces/default/services').then((answer) => {
      order.push('API call');
      return answer;
    });
    // Five requests sent one after the other, after the API call, over the same kind of connection:
    // /sandbox/faults is never faulted, so they all overtake the held answer. Without the latency
    // the API call, sent first, would answer first.
    for (let i = 1; i <= 5; i++) {
      expect((await raw(h.server.url, 'GET', '/sandbox/faults')).json).toMatchObject({ latencyMs: 1_500 });
      order.push(`faults endpoint ${i}`);
    }
    expect((await delayed).json).toMatchObject({ kind: 'ServiceList', items: [] });
    expect(order).toEqual(['faults endpoint 1', 'faults endpoint 2', 'faults endpoint 3', 'faults endpoint 4', 'faults endpoint 5', 'API call']);
  });

  it('when unreachable resets connections without an answer', async () => {
    h.faults.set({ unreachable: true });
    await expect(h.core.listNamespacedService({ namespace: 'default' })).rejects.toThrow();
    await expect(raw(h.server.url, 'GET', '/api/v1/namespaces')).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE|ECONNREFUSED/) });
    h.faults.set({ unreachable: false });
    expect((await h.core.listNamespace()).items.map((n) => n.metadata?.name)).toEqual(['default']);
  });

  it('keeps /sandbox/faults answering while unreachable, so the region can be made reachable again over HTTP', async () => {
    const put = (body: unknown) => raw(h.server.url, 'PUT', '/sandbox/faults', { contentType: 'application/json', body: JSON.stringify(body) });
    expect((await put({ unreachable: true })).json).toMatchObject({ unreachable: true });
    // Even a request without a token gets no answer: nothing but the control endpoint is reachable.
    await expect(raw(h.server.url, 'GET', '/api/v1/namespaces', { auth: null })).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
    await expect(h.core.listNamespace()).rejects.toThrow();
    expect((await raw(h.server.url, 'GET', '/sandbox/faults')).json).toMatchObject({ unreachable: true });
    expect((await put({ unreachable: false })).json).toMatchObject({ unreachable: false });
    expect((await h.core.listNamespace()).items.map((n) => n.metadata?.name)).toEqual(['default']);
  });

  it('changes faults at runtime through GET/PUT /sandbox/faults, which needs the token and is never faulted', async () => {
    expect((await raw(h.server.url, 'GET', '/sandbox/faults')).json).toEqual({ errorRate: 0, latencyMs: 0, unreachable: false, stallRate: 0, stallMs: 2000 });
    const put = await raw(h.server.url, 'PUT', '/sandbox/faults', { contentType: 'application/json', body: JSON.stringify({ errorRate: 1 }) });
    expect(put.json).toEqual({ errorRate: 1, latencyMs: 0, unreachable: false, stallRate: 0, stallMs: 2000 });
    expect((await raw(h.server.url, 'GET', '/api/v1/namespaces')).status).toBeGreaterThanOrEqual(429);
    expect((await raw(h.server.url, 'GET', '/sandbox/faults')).status).toBe(200);
    const bad = await raw(h.server.url, 'PUT', '/sandbox/faults', { contentType: 'application/json', body: JSON.stringify({ errorRate: 2 }) });
    expect(bad.json).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect((await raw(h.server.url, 'GET', '/sandbox/faults', { auth: null })).status).toBe(401);
    await raw(h.server.url, 'PUT', '/sandbox/faults', { contentType: 'application/json', body: JSON.stringify({ errorRate: 0 }) });
    expect(h.faults.settings.errorRate).toBe(0);
    // The same port answers plain http too, so fetch and curl need no TLS options.
    const plain = await fetch(`${h.server.url.replace('https:', 'http:')}/sandbox/faults`, { headers: { authorization: `Bearer ${token}` } });
    expect(await plain.json()).toEqual({ errorRate: 0, latencyMs: 0, unreachable: false, stallRate: 0, stallMs: 2000 });
  });

  it('validates settings given in code', () => {
    expect(() => new Faults({ errorRate: -1 })).toThrow(RangeError);
    expect(new Faults({ latencyMs: 5 }).settings).toEqual({ errorRate: 0, latencyMs: 5, unreachable: false, stallRate: 0, stallMs: 2000 });
  });
});
