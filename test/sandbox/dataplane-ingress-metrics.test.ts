import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { metricValue, parseMetrics } from '../observability/prometheus-text.js';
import { clientsFor, eventually, get, ingress, installVersion, namespace, selectorOf, service, type Clients } from './dataplane-fixtures.js';

/**
 * Each region's ingress exports per-route request metrics as ingress-nginx does on its metrics
 * port (`:10254/metrics`): `nginx_ingress_controller_requests` and
 * `nginx_ingress_controller_request_duration_seconds`, with ingress-nginx's labels
 * (collectors/socket.go requestTags plus `host`, and the controller's constant labels) and
 * Prometheus' default time buckets (issue 18, point 1).
 */

let sandbox: Sandbox;
let clients: Clients;
let ingressUrl: string;
let metricsUrl: string;
const scrape = async () => {
  const response = await fetch(metricsUrl);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await response.text();
  return { text, samples: parseMetrics(text) };
};

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
  ingressUrl = sandbox.regions[0]!.ingressUrl;
  metricsUrl = sandbox.regions[0]!.ingressMetricsUrl;
  await installVersion(clients, 'shop', 'v1', { healthPath: '/healthz' });
  await clients.core.createNamespacedService({ namespace, body: service('shop', selectorOf('shop', 'v1')) });
  await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop', [{ path: '/', service: 'shop' }]) });
  await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop-v1', [{ path: '/v1/', service: 'shop-v1' }]) });
  await eventually(async () => (await get(`${ingressUrl}/v1/healthz`)).status === 200 && (await get(`${ingressUrl}/`)).status === 200);
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('ingress metrics', () => {
  it('counts requests per route, service, method, status and host, with ingress-nginx label names', async () => {
    const before = (await scrape()).samples;
    const labels = {
      canary: '',
      controller_class: 'k8s.io/ingress-nginx',
      controller_namespace: 'ingress-nginx',
      controller_pod: 'ingress-nginx-controller-eu-west',
      host: '127.0.0.1',
      ingress: 'shop-v1',
      method: 'GET',
      namespace,
      path: '/v1/',
      service: 'shop-v1',
      status: '200',
    };
    const count = (samples: ReturnType<typeof parseMetrics>, extra: Record<string, string> = {}) => metricValue(samples, 'nginx_ingress_controller_requests', { ...labels, ...extra }) ?? 0;
    for (let i = 0; i < 3; i++) expect((await get(`${ingressUrl}/v1/app.js`)).status).toBe(200);
    expect((await get(`${ingressUrl}/v1x`)).status).toBe(404);
    expect((await get(`${ingressUrl}/checkout`)).status).toBe(404);
    const { samples, text } = await scrape();
    expect(count(samples) - count(before)).toBe(3);
    // The sample carries exactly these labels, as ingress-nginx with --metrics-per-host writes them.
    const sample = samples.find((s) => s.name === 'nginx_ingress_controller_requests' && s.labels.ingress === 'shop-v1' && s.labels.status === '200')!;
    expect(Object.keys(sample.labels).sort()).toEqual(Object.keys(labels).sort());
    expect(metricValue(samples, 'nginx_ingress_controller_requests', { ingress: 'shop', path: '/', service: 'shop', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE nginx_ingress_controller_requests counter');
  });

  it('keeps a latency histogram per route with the default buckets (0.005 … 10 s and +Inf)', async () => {
    for (let i = 0; i < 2; i++) await get(`${ingressUrl}/healthz`, { host: 'Shop.Example:80' });
    const { samples, text } = await scrape();
    const series = { ingress: 'shop', path: '/', service: 'shop', status: '200', host: 'shop.example' };
    const buckets = samples.filter((s) => s.name === 'nginx_ingress_controller_request_duration_seconds_bucket' && Object.entries(series).every(([k, v]) => s.labels[k] === v));
    expect(buckets.map((b) => b.labels.le)).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    expect(buckets.at(-1)!.value).toBe(2);
    // Cumulative buckets.
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(metricValue(samples, 'nginx_ingress_controller_request_duration_seconds_count', series)).toBe(2);
    expect(metricValue(samples, 'nginx_ingress_controller_request_duration_seconds_sum', series)).toBeGreaterThan(0);
    expect(text).toContain('# TYPE nginx_ingress_controller_request_duration_seconds histogram');
  });

  it('counts the ingress-generated 503 of a route without ready endpoints under that route', async () => {
    await installVersion(clients, 'shop', 'v2', { replicas: 1, neverReady: true });
    await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop-v2', [{ path: '/v2/', service: 'shop-v2' }]) });
    await eventually(async () => (await get(`${ingressUrl}/v2/app.js`)).status === 503);
    const { samples } = await scrape();
    expect(metricValue(samples, 'nginx_ingress_controller_requests', { ingress: 'shop-v2', service: 'shop-v2', path: '/v2/', status: '503' })).toBeGreaterThanOrEqual(1);
  });

  it('answers /healthz on the metrics port, and 404 elsewhere', async () => {
    expect((await get(metricsUrl.replace('/metrics', '/healthz'))).status).toBe(200);
    expect((await get(metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });
});
