import { mustType } from '../resource-types.js';
import type { KubeObject, Store } from '../store.js';

const ingresses = mustType('ingresses');
const httpRoutes = mustType('httproutes');

export interface Backend {
  namespace: string;
  service: string;
  port: string | number;
  weight: number;
}

export interface Route {
  /** Exact host names and `*.suffix` wildcards; empty means any host. */
  hosts: string[];
  exact: boolean;
  /** Exact: the path. Prefix: the path without its trailing slash ('' for '/'). */
  path: string;
  backends: Backend[];
  totalWeight: number;
  turn: number;
  /** Where the route came from, for diagnostics. */
  source: string;
}

interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
}

interface IngressSpec {
  defaultBackend?: IngressBackend;
  rules?: { host?: string; http?: { paths?: { path?: string; pathType?: string; backend: IngressBackend }[] } }[];
}

interface HttpRouteSpec {
  hostnames?: string[];
  rules?: {
    matches?: { path?: { type?: string; value?: string } }[];
    backendRefs?: { name: string; namespace?: string; port?: number; weight?: number; kind?: string; group?: string }[];
  }[];
}

/**
 * Every Ingress and HTTPRoute of a region, flattened into routes ordered so that the first match
 * is the longest one (an Exact path beats a prefix of the same length). Rebuilt only when one of
 * those objects changes; lookups are cached per host and path.
 */
export class RouteTable {
  private routes: Route[] | undefined;
  private readonly cache = new Map<string, Route | null>();
  private readonly unwatch: (() => void)[] = [];

  constructor(private readonly store: Store) {}

  start(): void {
    const invalidate = () => {
      this.routes = undefined;
      this.cache.clear();
    };
    this.unwatch.push(this.store.watch(ingresses, undefined, invalidate));
    this.unwatch.push(this.store.watch(httpRoutes, undefined, invalidate));
  }

  stop(): void {
    for (const unwatch of this.unwatch.splice(0)) unwatch();
  }

  /** The route for a request: routes naming the host exactly, then by wildcard, then host-less ones. */
  match(host: string, path: string): Route | null {
    const cacheKey = `${host} ${path}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    this.routes ??= this.build();
    const found =
      this.first(path, (route) => route.hosts.includes(host)) ??
      this.first(path, (route) => route.hosts.some((h) => h.startsWith('*.') && host.endsWith(h.slice(1)) && host.length > h.length - 1)) ??
      this.first(path, (route) => route.hosts.length === 0);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, found);
    return found;
  }

  private first(path: string, hostMatches: (route: Route) => boolean): Route | null {
    for (const route of this.routes ?? []) {
      if (!hostMatches(route)) continue;
      if (route.exact ? path === route.path : path === route.path || path.startsWith(route.path + '/') || route.path === '') return route;
    }
    return null;
  }

  private build(): Route[] {
    const routes: Route[] = [];
    for (const ingress of this.store.list(ingresses)) routes.push(...ingressRoutes(ingress));
    for (const httpRoute of this.store.list(httpRoutes)) routes.push(...httpRouteRoutes(httpRoute));
    // Longest path first; Exact before prefix at equal length; catch-all default backends last.
    return routes
      .map((route, order) => ({ route, order }))
      .sort((a, b) => rank(b.route) - rank(a.route) || a.order - b.order)
      .map(({ route }) => route);
  }
}

function rank(route: Route): number {
  if (route.source.endsWith('defaultBackend')) return -1;
  return route.path.length * 2 + (route.exact ? 1 : 0);
}

function route(hosts: string[], exact: boolean, path: string, backends: Backend[], source: string): Route {
  const normalized = exact ? path : path.replace(/\/+$/, '');
  return { hosts, exact, path: normalized, backends, totalWeight: backends.reduce((sum, b) => sum + b.weight, 0), turn: 0, source };
}

function ingressRoutes(ingress: KubeObject): Route[] {
  const namespace = ingress.metadata.namespace ?? '';
  const spec = (ingress.spec ?? {}) as IngressSpec;
  const source = `ingress ${namespace}/${ingress.metadata.name}`;
  const toBackend = (backend: IngressBackend): Backend[] =>
    backend.service ? [{ namespace, service: backend.service.name, port: backend.service.port?.number ?? backend.service.port?.name ?? 80, weight: 1 }] : [];
  const routes: Route[] = [];
  for (const rule of spec.rules ?? []) {
    for (const path of rule.http?.paths ?? []) {
      const backends = toBackend(path.backend);
      if (backends.length) routes.push(route(rule.host ? [rule.host] : [], path.pathType === 'Exact', path.path ?? '/', backends, source));
    }
  }
  if (spec.defaultBackend) {
    const backends = toBackend(spec.defaultBackend);
    if (backends.length) routes.push(route([], false, '/', backends, `${source} defaultBackend`));
  }
  return routes;
}

function httpRouteRoutes(httpRoute: KubeObject): Route[] {
  const namespace = httpRoute.metadata.namespace ?? '';
  const spec = (httpRoute.spec ?? {}) as HttpRouteSpec;
  const source = `httproute ${namespace}/${httpRoute.metadata.name}`;
  const routes: Route[] = [];
  for (const rule of spec.rules ?? []) {
    const backends = (rule.backendRefs ?? [])
      .filter((ref) => (ref.kind ?? 'Service') === 'Service' && (ref.weight ?? 1) > 0)
      .map((ref) => ({ namespace: ref.namespace ?? namespace, service: ref.name, port: ref.port ?? 80, weight: ref.weight ?? 1 }));
    if (!backends.length) continue;
    for (const match of rule.matches?.length ? rule.matches : [{}]) {
      const type = match.path?.type ?? 'PathPrefix';
      if (type !== 'PathPrefix' && type !== 'Exact') continue;
      routes.push(route(spec.hostnames ?? [], type === 'Exact', match.path?.value ?? '/', backends, source));
    }
  }
  return routes;
}

/** Weighted round robin over a route's backends. */
export function pickBackend(route: Route): Backend {
  if (route.backends.length === 1) return route.backends[0]!;
  let turn = route.turn++ % route.totalWeight;
  for (const backend of route.backends) {
    if (turn < backend.weight) return backend;
    turn -= backend.weight;
  }
  return route.backends[0]!;
}
