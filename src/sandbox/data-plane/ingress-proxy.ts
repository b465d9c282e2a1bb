import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Store } from '../store.js';
import { IngressMetrics } from './ingress-metrics.js';
import { ProxyView, type Upstream } from './proxy-view.js';
import { RouteTable, pickBackend } from './route-table.js';

export interface IngressProxyOptions {
  store: Store;
  region: string;
  /** How long a Service or EndpointSlice change takes to reach the proxy (kube-proxy's sync lag). */
  proxySyncDelayMs: number;
  host?: string;
  port?: number;
  /** Port of the metrics listener (ingress-nginx's 10254): `GET /metrics`, `GET /healthz`. Default: a free one. */
  metricsPort?: number;
}

export interface IngressProxy {
  url: string;
  /** `http://127.0.0.1:<port>/metrics`: per-route request counters and latency histograms. */
  metricsUrl: string;
  close(): Promise<void>;
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

/**
 * One region's ingress controller and kube-proxy in one: routes by Ingress and HTTPRoute rules to
 * the backend Service's endpoints, round robin, over keep-alive upstream connections.
 */
export async function startIngressProxy(options: IngressProxyOptions): Promise<IngressProxy> {
  const { store, region } = options;
  const routes = new RouteTable(store);
  const view = new ProxyView(store, options.proxySyncDelayMs);
  routes.start();
  view.start();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512, timeout: 30_000, scheduling: 'lifo' });
  const metrics = new IngressMetrics(region);

  const reply = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-sandbox-region': region });
    res.end(body);
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream, path: string, headers: http.OutgoingHttpHeaders, attempt: number) => {
    const upstreamReq = http.request({ host: upstream.host, port: upstream.port, method: req.method, path, headers, agent });
    upstreamReq.on('response', (upstreamRes) => {
      const raw = upstreamRes.rawHeaders;
      const out: string[] = [];
      for (let i = 0; i < raw.length; i += 2) {
        if (!hopByHop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
      }
      out.push('x-sandbox-region', region);
      res.writeHead(upstreamRes.statusCode ?? 502, out);
      upstreamRes.pipe(res);
    });
    upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
      // A keep-alive connection the pod closed just as we reused it: retry once on a fresh one,
      // for requests without a body only, as proxies do for idempotent requests.
      if (upstreamReq.reusedSocket && attempt === 0 && (req.method === 'GET' || req.method === 'HEAD') && !res.headersSent) {
        forward(req, res, upstream, path, headers, 1);
        return;
      }
      if (!res.headersSent) reply(res, 502, `502 Bad Gateway: upstream ${upstream.label} failed (${error.code ?? error.message})\n`);
      else res.destroy();
    });
    if (attempt === 0) {
      res.on('close', () => {
        if (!res.writableFinished) upstreamReq.destroy();
      });
    }
    if (req.method === 'GET' || req.method === 'HEAD') upstreamReq.end();
    else req.pipe(upstreamReq);
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const hostHeader = req.headers.host ?? '';
    const colon = hostHeader.lastIndexOf(':');
    const host = (colon > hostHeader.lastIndexOf(']') ? hostHeader.slice(0, colon) : hostHeader).toLowerCase();
    const route = routes.match(host, path);
    if (!route) {
      reply(res, 404, 'default backend - 404\n');
      return;
    }
    const backend = pickBackend(route);
    const started = performance.now();
    res.once('close', () => {
      // nginx logs 499 when the client went away before the answer was sent.
      const status = res.writableFinished ? String(res.statusCode) : '499';
      const labels = { status, method: req.method ?? 'GET', path: route.pathLabel, namespace: route.object.namespace, ingress: route.object.name, service: backend.service, canary: '', host };
      metrics.observe(labels, (performance.now() - started) / 1000);
    });
    const pool = view.pool(backend.namespace, backend.service, backend.port);
    if (!pool || pool.upstreams.length === 0) {
      reply(res, 503, `503 Service Unavailable: no ready endpoints for service ${backend.namespace}/${backend.service}\n`);
      return;
    }
    const upstream = pool.upstreams[pool.next++ % pool.upstreams.length]!;
    const headers: http.OutgoingHttpHeaders = {};
    for (const name in req.headers) {
      if (!hopByHop.has(name)) headers[name] = req.headers[name];
    }
    headers['x-forwarded-for'] = req.socket.remoteAddress;
    headers['x-forwarded-host'] = hostHeader;
    headers['x-forwarded-proto'] = 'http';
    // Routes pass the path on as it came, unless the route rewrites it (the query string is kept).
    const upstreamPath = route.rewrite ? route.rewrite(path) + (query === -1 ? '' : url.slice(query)) : url;
    forward(req, res, upstream, upstreamPath, headers, 0);
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;

  const metricsServer = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const body = path === '/metrics' ? metrics.render() : path === '/healthz' ? 'ok' : '404 page not found\n';
    const type = path === '/metrics' ? 'text/plain; version=0.0.4; charset=utf-8' : 'text/plain; charset=utf-8';
    res.writeHead(path === '/metrics' || path === '/healthz' ? 200 : 404, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      metricsServer.once('error', reject);
      metricsServer.listen(options.metricsPort ?? 0, options.host ?? '127.0.0.1', () => {
        metricsServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    server.close();
    routes.stop();
    view.stop();
    throw error;
  }
  const metricsAddress = metricsServer.address() as AddressInfo;

  return {
    url: `http://${address}:${port}`,
    metricsUrl: `http://${metricsAddress.address}:${metricsAddress.port}/metrics`,
    close: async () => {
      routes.stop();
      view.stop();
      await Promise.all(
        [server, metricsServer].map(
          (listener) =>
            new Promise<void>((resolve) => {
              listener.close(() => resolve());
              listener.closeAllConnections();
            }),
        ),
      );
      agent.destroy();
    },
  };
}
