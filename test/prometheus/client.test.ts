import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient } from '../../src/prometheus/client.js';
import { startPrometheus, type RunningPrometheus } from '../../src/sandbox/prometheus.js';
import { prometheusForTests } from '../support/prometheus.js';

/**
 * The Prometheus client against a real Prometheus (Debian's 2.42) for everything Prometheus itself
 * answers, and against small HTTP servers only for the far side a real Prometheus will not produce
 * on demand (a stall, a proxy's HTML error page, Basic auth in front of it).
 */

const hasPrometheus = await prometheusForTests('test/prometheus/client.test.ts');

describe.skipIf(!hasPrometheus)('PrometheusClient against a real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let client: PrometheusClient;

  beforeAll(async () => {
    prometheus = await startPrometheus({ targets: [] });
    client = new PrometheusClient({ url: prometheus.url, timeoutMs: 5000 });
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
  });

  it.each([
    ['a one-series vector', 'vector(0.05)', 0.05],
    ['a scalar', 'scalar(vector(2))', 2],
    ['no series (nothing matched)', 'nginx_ingress_controller_requests{ingress="nothing"}', null],
    ['NaN (0/0: an error ratio without requests)', 'vector(0) / vector(0)', null],
    ['+Inf', 'vector(1) / vector(0)', Number.POSITIVE_INFINITY],
  ])('reads %s', async (_name, query, value) => {
    expect(await client.queryValue(query)).toBe(value);
  });

  it('refuses an answer of several series, naming them and saying how to aggregate', async () => {
    await expect(client.queryValue('label_replace(vector(1), "region", "eu-west", "", "") or label_replace(vector(2), "region", "us-east", "", "")')).rejects.toThrow(
      /answered 2 series \(\{region="eu-west"\}, \{region="us-east"\}\): the query must answer one number; aggregate it with sum\(\.\.\.\) or max\(\.\.\.\)/,
    );
  });

  it("passes Prometheus' own refusal of a bad query on", async () => {
    await expect(client.queryValue('sum(rate(x[1m])')).rejects.toThrow(new RegExp(`Prometheus at ${prometheus.url} refused the query \\(HTTP 400, bad_data\\): .*parse error`));
  });

  it('says it is unreachable once it is stopped', async () => {
    const stopped = await startPrometheus({ targets: [] });
    await stopped.stop();
    await expect(new PrometheusClient({ url: stopped.url, timeoutMs: 2000 }).queryValue('vector(1)')).rejects.toThrow(`Prometheus at ${stopped.url} is unreachable: ECONNREFUSED`);
  }, 60_000);
});

describe('PrometheusClient against what stands in front of Prometheus', () => {
  const seen: http.IncomingHttpHeaders[] = [];
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url?.startsWith('/stall')) return; // never answers
      if (req.url?.startsWith('/html')) {
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"3"]}]}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up after its timeout, saying so', async () => {
    await expect(new PrometheusClient({ url: `${base}/stall`, timeoutMs: 300 }).queryValue('vector(1)')).rejects.toThrow(`Prometheus at ${base}/stall did not answer within 300 ms`);
  });

  it('says when the answer is not the API (a proxy error page)', async () => {
    await expect(new PrometheusClient({ url: `${base}/html`, timeoutMs: 2000 }).queryValue('vector(1)')).rejects.toThrow(/answered HTTP 502 with a body that is not Prometheus' API: <html>/);
  });

  it('sends credentials written in the URL as Basic auth and never names them', async () => {
    const client = new PrometheusClient({ url: base.replace('http://', 'http://reader:s%3Acret@'), timeoutMs: 2000 });
    expect(client.description).toBe(`Prometheus at ${base}`);
    expect(await client.queryValue('vector(3)')).toBe(3);
    expect(seen.at(-1)?.authorization).toBe(`Basic ${Buffer.from('reader:s:cret').toString('base64')}`);
  });
});
