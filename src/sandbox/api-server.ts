import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJson, readBody, sendError, sendJson, sendText } from './api/http-io.js';
import { openApiV2 } from './api/openapi.js';
import { authorizePath, authorizeResource, forbiddenCreateOnApply } from './api/rbac.js';
import * as resources from './api/resources.js';
import { resolve, verbOf } from './api/routes.js';
import { forwardServiceProxy, parseServiceProxy, proxyVerb, resolveServiceProxy } from './api/service-proxy.js';
import { ApiError, badRequest, internalError, methodNotAllowed, serviceUnavailable, tooManyRequests, unauthorized } from './api/status.js';
import { checked, type Faults, type FaultSettings } from './faults.js';
import { adminUser, Identities, type UserInfo } from './identities.js';
import { mustType } from './resource-types.js';
import type { Store } from './store.js';
import { sandboxCertificate } from './tls-certificate.js';

export interface ApiServerOptions {
  store: Store;
  region: string;
  /** The admin token: unrestricted (system:masters). */
  token: string;
  faults: Faults;
  /** More tokens, e.g. ServiceAccount tokens whose requests RBAC checks; shared across regions. */
  identities?: Identities;
  host?: string;
  port?: number;
  now?: () => Date;
  extraTokens?: Record<string, string>;
}

export interface ApiServer {
  url: string;
  /** TCP connections accepted so far (each TLS handshake or plain HTTP connection is one). */
  connectionsAccepted(): number;
  close(): Promise<void>;
}

const faultsPath = '/sandbox/faults';

/**
 * One region's Kubernetes API: discovery, CRUD, patch, watch, real Status errors, bearer-token
 * auth and injected faults. `GET/PUT /sandbox/faults` steers the faults at runtime and is itself
 * never faulted.
 *
 * `url` is https (self-signed; kubeconfigs carry insecure-skip-tls-verify) because kubectl sends
 * no bearer token over plain http. The same port also answers plain http, for curl and fetch.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { store, faults } = options;
  const now = options.now ?? (() => new Date());
  const context: resources.ApiContext = { store, now, watches: new Set() };
  const identities = options.identities ?? new Identities();
  for (const token of [options.token, ...Object.values(options.extraTokens ?? {})]) identities.add(token, adminUser);
  ensureDefaultNamespace(store);

  let serverAddress = '';
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    handle(req, res, url).catch((error: unknown) => sendError(req, res, url, resources.fromStoreError(error)));
  };
  // Idle keep-alive connections stay open 90 s, as kube-apiserver's (Go's default IdleTimeout there), not Node's 5 s.
  const keepAlive = { keepAliveTimeout: 90_000 };
  const httpServer = createServer(keepAlive, onRequest);
  const httpsServer = createHttpsServer({ ...sandboxCertificate(), ...keepAlive }, onRequest);
  const sockets = new Set<Socket>();
  let accepted = 0;
  // One port, both protocols: a TLS handshake starts with 0x16, an HTTP request with a letter.
  const server = createNetServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      socket.pause();
      socket.unshift(chunk);
      (chunk[0] === 0x16 ? httpsServer : httpServer).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  const rawSocketOf = (req: IncomingMessage): Socket => {
    const socket = req.socket as Socket & { _parent?: Socket };
    return socket._parent ?? socket;
  };

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // Unreachable: every request but the control endpoint's is cut without an answer, so a test can
    // always make the region reachable again.
    if (faults.settings.unreachable && url.pathname !== faultsPath) {
      rawSocketOf(req).resetAndDestroy();
      return;
    }
    const user = authenticate(req.headers.authorization);
    if (!user) {
      await readBody(req).catch(() => undefined);
      return sendError(req, res, url, unauthorized());
    }
    if (url.pathname === faultsPath) {
      const denied = authorizePath(user, (req.method ?? 'GET').toLowerCase(), url.pathname, true);
      if (denied) throw denied;
      return handleFaults(req, res, url, faults);
    }
    const settings = faults.settings;
    if (settings.latencyMs > 0) await sleep(settings.latencyMs);
    if (settings.errorRate > 0 && Math.random() < settings.errorRate) {
      await readBody(req).catch(() => undefined);
      return sendError(req, res, url, injectedError());
    }
    const stallMs = settings.stallRate > 0 && Math.random() < settings.stallRate ? settings.stallMs : 0;
    if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) return sendText(res, 200, 'ok');
    if (url.pathname === '/openapi/v2' && req.method === 'GET') {
      const { contentType, body } = openApiV2(req.headers.accept ?? '');
      res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': body.length });
      res.end(body);
      return;
    }
    const proxied = parseServiceProxy(url.pathname);
    if (proxied) {
      const denied = authorizeResource(store, user, { verb: proxyVerb(req.method ?? 'GET'), type: mustType('services'), namespace: proxied.namespace, name: proxied.id, subresource: 'proxy' });
      if (denied) {
        await readBody(req).catch(() => undefined);
        throw denied;
      }
      const target = resolveServiceProxy(store, proxied);
      return forwardServiceProxy(req, res, url, proxied, target, (error) => sendError(req, res, url, error));
    }
    const route = resolve(url.pathname, serverAddress);
    if (route.kind === 'notFound') return sendText(res, 404, '404 page not found\n');
    if (route.kind === 'document') {
      if (req.method !== 'GET') throw methodNotAllowed();
      return sendJson(req, res, url, 200, route.body);
    }
    const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
    const verb = verbOf(req.method ?? 'GET', route, watch);
    if (route.type.namespaced && route.namespace === undefined && verb !== 'list' && verb !== 'watch') throw methodNotAllowed();
    const attributes = {
      verb,
      type: route.type,
      // The real RequestInfo scopes namespaces/<name> to the namespace <name>.
      namespace: route.type.resource === 'namespaces' ? route.name : route.namespace,
      name: verb === 'create' ? undefined : route.name,
      subresource: route.subresource,
    };
    const denied = authorizeResource(store, user, attributes);
    if (denied) {
      await readBody(req).catch(() => undefined);
      throw denied;
    }
    const mayCreate = (name: string): void => {
      if (authorizeResource(store, user, { ...attributes, verb: 'create', name })) throw forbiddenCreateOnApply(route.type, name);
    };
    const request: resources.ResourceRequest = { ...route, url, req, res, mayCreate };
    let reply: resources.Reply;
    switch (verb) {
      case 'get':
        reply = resources.get(context, request);
        break;
      case 'list':
        reply = resources.list(context, request);
        break;
      case 'watch':
        if (stallMs > 0) await sleep(stallMs);
        return resources.watch(context, request);
      case 'create':
        reply = await resources.create(context, request);
        break;
      case 'update':
        reply = await resources.update(context, request);
        break;
      case 'patch':
        reply = await resources.patch(context, request);
        break;
      case 'delete':
        reply = await resources.remove(context, request);
        break;
      default:
        reply = await resources.removeCollection(context, request);
    }
    if (stallMs > 0) await sleep(stallMs);
    sendJson(req, res, url, reply.code, reply.body);
  }

  /** The token's user; a ServiceAccount token is valid only while its ServiceAccount exists. */
  function authenticate(header: string | undefined): UserInfo | null {
    const user = identities.authenticate(header);
    const account = user?.serviceAccount;
    if (account && !store.get(mustType('serviceaccounts'), account.namespace, account.name)) return null;
    return user;
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  serverAddress = `${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `https://${serverAddress}`,
    connectionsAccepted: () => accepted,
    close(): Promise<void> {
      closing ??= new Promise<void>((done) => {
        for (const end of [...context.watches]) end();
        server.close(() => done());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function injectedError(): ApiError {
  const pick = Math.floor(Math.random() * 3);
  if (pick === 0) return internalError('sandbox: injected fault');
  if (pick === 1) return serviceUnavailable();
  return tooManyRequests(1);
}

async function handleFaults(req: IncomingMessage, res: ServerResponse, url: URL, faults: Faults): Promise<void> {
  if (req.method === 'PUT' || req.method === 'PATCH') {
    const body = parseJson(await readBody(req), 'error decoding fault settings: ');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('fault settings must be a JSON object');
    const allowed: (keyof FaultSettings)[] = ['errorRate', 'latencyMs', 'unreachable', 'stallRate', 'stallMs'];
    const unknown = Object.keys(body).filter((key) => !allowed.includes(key as keyof FaultSettings));
    if (unknown.length) throw badRequest(`unknown fault settings: ${unknown.join(', ')}`);
    try {
      checked({ ...faults.settings, ...(body as Partial<FaultSettings>) });
    } catch (error) {
      throw badRequest((error as Error).message);
    }
    faults.set(body);
  } else if (req.method !== 'GET') {
    throw methodNotAllowed();
  }
  sendJson(req, res, url, 200, faults.settings);
}

function ensureDefaultNamespace(store: Store): void {
  const namespaces = mustType('namespaces');
  if (store.get(namespaces, undefined, 'default')) return;
  store.create(namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
}
