import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { mustType } from '../resource-types.js';
import type { KubeObject, Store } from '../store.js';
import { ApiError, badRequest, notFound } from './status.js';

const services = mustType('services');
const pods = mustType('pods');
const endpointsType = mustType('endpoints');

/** `/api/v1/namespaces/<ns>/services/<id>/proxy[/<path>]`. */
const proxyPath = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/;

export interface ServiceProxyRequest {
  namespace: string;
  /** `<name>`, `<name>:<port>` or `<scheme>:<name>:<port>`, as RBAC sees it (the request's name). */
  id: string;
  /** What follows `/proxy`, '' when nothing does: decoded, then escaped as Go's URL.EscapedPath sends it. */
  path: string;
}

/** Go decodes the request path before routing (so `v1%2Fapp.js` reaches the pod as `/v1/app.js`) and escapes it again on the way out. */
function goEscapedPath(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    decoded = raw;
  }
  return decoded
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%(24|26|2B|2C|3A|3B|3D|40)/g, (escaped) => decodeURIComponent(escaped)))
    .join('/');
}

/** Is this a service proxy request? */
export function parseServiceProxy(pathname: string): ServiceProxyRequest | undefined {
  const match = proxyPath.exec(pathname);
  if (!match) return undefined;
  return { namespace: decodeURIComponent(match[1]!), id: decodeURIComponent(match[2]!), path: goEscapedPath(match[3] ?? '') };
}

/** The verb RBAC checks for a connect request: `services/proxy` get, create, update, patch or delete. */
export function proxyVerb(method: string): string {
  return ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method] ?? 'get';
}

interface Address {
  ip: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

interface Subset {
  addresses?: Address[];
  ports?: { name?: string; port: number }[];
}

/**
 * Where the service proxy sends a request, as the Service registry's ResourceLocation decides:
 * the id splits into scheme, name and port (a numeric port is looked up among the Service's ports
 * and stands for that port's name); the endpoint is a random ready address of the Service's
 * core/v1 Endpoints whose subset has a port of that name, and whose pod still has that IP.
 */
export function resolveServiceProxy(store: Store, request: ServiceProxyRequest): { scheme: 'http' | 'https'; host: string; port: number } {
  const parts = request.id.split(':');
  const [scheme, name, port] = parts.length === 3 ? parts : parts.length === 2 ? ['', parts[0]!, parts[1]!] : ['', parts[0]!, ''];
  if (parts.length > 3 || !name || !['', 'http', 'https'].includes(scheme!)) throw badRequest(`invalid service request "${request.id}"`);
  let portName = port!;
  if (/^\d+$/.test(portName)) {
    const service = store.get(services, request.namespace, name);
    if (!service) throw notFound(services, name);
    const number = Number(portName);
    const found = ((service.spec as { ports?: { name?: string; port: number }[] } | undefined)?.ports ?? []).find((p) => p.port === number);
    if (!found) throw unavailable(`no service port ${number} found for service "${name}"`);
    portName = found.name ?? '';
  }
  const endpoints = store.get(endpointsType, request.namespace, name);
  if (!endpoints) throw notFound(endpointsType, name);
  const subsets = (endpoints.subsets as Subset[] | undefined) ?? [];
  const start = Math.floor(Math.random() * Math.max(1, subsets.length));
  for (let i = 0; i < subsets.length; i++) {
    const subset = subsets[(start + i) % subsets.length]!;
    const addresses = subset.addresses ?? [];
    const target = subset.ports?.find((p) => (p.name ?? '') === portName);
    if (!target || addresses.length === 0) continue;
    const first = Math.floor(Math.random() * addresses.length);
    for (let j = 0; j < addresses.length; j++) {
      const address = addresses[(first + j) % addresses.length]!;
      if (!isValidAddress(store, request.namespace, address)) continue;
      return { scheme: scheme === 'https' ? 'https' : 'http', host: address.ip, port: target.port };
    }
  }
  throw unavailable(`no endpoints available for service "${name}"`);
}

/** The pod an address names must exist and still have that IP (isValidAddress of the registry). */
function isValidAddress(store: Store, namespace: string, address: Address): boolean {
  if (address.targetRef?.kind !== 'Pod' || !address.targetRef.name) return true;
  const pod: KubeObject | undefined = store.get(pods, address.targetRef.namespace ?? namespace, address.targetRef.name);
  const status = pod?.status as { podIP?: string; podIPs?: { ip: string }[] } | undefined;
  return status?.podIP === address.ip || (status?.podIPs ?? []).some((ip) => ip.ip === address.ip);
}

function unavailable(message: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message);
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization']);
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true, rejectUnauthorized: false }) };

/**
 * Forwards the request to the endpoint and relays the pod's status, headers and body. An empty
 * path is redirected to `.../proxy/` (301), as the real proxy does for GET and HEAD. The caller's
 * Authorization header does not travel on: the real server drops it once it has authenticated.
 * A failed dial answers the 503 of apimachinery's proxy transport: "error trying to reach service".
 */
export function forwardServiceProxy(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  request: ServiceProxyRequest,
  target: { scheme: 'http' | 'https'; host: string; port: number },
  fail: (error: ApiError) => void,
): void {
  if (request.path === '' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(301, { Location: `${url.pathname}/${url.search}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!hopByHop.has(name) && name !== 'authorization' && name !== 'host') headers[name] = value;
  }
  headers.host = `${target.host}:${target.port}`;
  const forwardedFor = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${req.socket.remoteAddress ?? ''}` : req.socket.remoteAddress;
  const client = target.scheme === 'https' ? https : http;
  const upstream = client.request(
    { host: target.host, port: target.port, method: req.method, path: `${request.path}${url.search}`, headers, agent: agents[target.scheme], timeout: 30_000 },
    (answer) => {
      const out: string[] = [];
      const raw = answer.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) if (!hopByHop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
      out.push('Audit-Id', randomUUID());
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    },
  );
  upstream.on('timeout', () => upstream.destroy(Object.assign(new Error(`dial tcp ${target.host}:${target.port}: i/o timeout`), { code: 'ETIMEDOUT' })));
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const reason = error.code === 'ECONNREFUSED' ? `dial tcp ${target.host}:${target.port}: connect: connection refused` : error.message;
    fail(unavailable(`error trying to reach service: ${reason}`));
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}
