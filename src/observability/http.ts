import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Answer a request for /metrics from a registry, in the Prometheus text format. */
export async function serveMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
    res.end(body);
  } catch (error) {
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`metrics: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export type ProbeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A small HTTP server for probes and metrics, apart from any other port the process serves:
 * GET (or HEAD) on the given paths, 404 elsewhere, 405 for other methods.
 */
export async function startProbeServer(routes: Record<string, ProbeHandler>, options: { port: number; host?: string | undefined }): Promise<MetricsServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const handler = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (handler) return handler(req, res);
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  // Probes are small GETs: nothing may hold a connection open for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The worker's probe server: GET /metrics and GET /healthz (200 while the process runs). */
export function startMetricsServer(registry: Registry, options: { port: number; host?: string }): Promise<MetricsServer> {
  return startProbeServer(
    {
      '/metrics': (_req, res) => void serveMetrics(registry, res),
      '/healthz': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ ok: true, uptimeSeconds: Math.round(process.uptime()) }));
      },
    },
    options,
  );
}
