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
  /** ingress-nginx regex location (`~* ^<path>`): set when the host's Ingresses ask for regex paths. */
  regex?: RegExp;
  /** The path sent upstream for a request path, when the route rewrites it. */
  rewrite?: (path: string) => string;
  backends: Backend[];
  totalWeight: number;
  turn: number;
  /** Where the route came from, for diagnostics. */
  source: string;
  /** The Ingress or HTTPRoute and its path as written: the `ingress`, `namespace` and `path` metric labels. */
  object: { namespace: string; name: string };
  pathLabel: string;
}

export const rewriteTargetAnnotation = 'nginx.ingress.kubernetes.io/rewrite-target';
export const useRegexAnnotation = 'nginx.ingress.kubernetes.io/use-regex';

interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
}

interface IngressSpec {
  defaultBackend?: IngressBackend;
  rules?: { host?: string; http?: { paths?: { path?: string; pathType?: string; backend: IngressBackend }[] } }[];
}

interface UrlRewrite {
  path?: { type?: string; replacePrefixMatch?: string; replaceFullPath?: string };
}

interface HttpRouteSpec {
  hostnames?: string[];
  rules?: {
    matches?: { path?: { type?: string; value?: string } }[];
    filters?: { type?: string; urlRewrite?: UrlRewrite }[];
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
      if (route.regex) {
        if (route.regex.test(path)) return route;
      } else if (route.exact ? path === route.path : path === route.path || path.startsWith(route.path + '/') || route.path === '') return route;
    }
    return null;
  }

  private build(): Route[] {
    const routes: Route[] = [];
    const all = this.store.list(ingresses);
    // ingress-nginx: rewrite-target or use-regex on any Ingress of a host makes every path of that host a regex.
    const regexHosts = new Set(all.filter(wantsRegex).flatMap((ingress) => hostsOf(ingress)));
    for (const ingress of all) routes.push(...ingressRoutes(ingress, regexHosts));
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

function route(object: KubeObject, hosts: string[], exact: boolean, path: string, backends: Backend[], source: string): Route {
  const normalized = exact ? path : path.replace(/\/+$/, '');
  return {
    hosts,
    exact,
    path: normalized,
    backends,
    totalWeight: backends.reduce((sum, b) => sum + b.weight, 0),
    turn: 0,
    source,
    object: { namespace: object.metadata.namespace ?? '', name: object.metadata.name },
    pathLabel: path,
  };
}

const wantsRegex = (ingress: KubeObject): boolean =>
  ingress.metadata.annotations?.[rewriteTargetAnnotation] !== undefined || ingress.metadata.annotations?.[useRegexAnnotation] === 'true';

/** The hosts of an Ingress's rules; `_` stands for rules without a host (ingress-nginx's catch-all server). */
function hostsOf(ingress: KubeObject): string[] {
  return ((ingress.spec ?? {}) as IngressSpec).rules?.map((rule) => rule.host ?? '_') ?? [];
}

/**
 * An ingress-nginx regex location: the path as a case-insensitive regular expression anchored at
 * the start (`location ~* "^<path>"`). With `rewrite-target`, the whole path is replaced by the
 * target, `$1`..`$9` standing for the capture groups (`rewrite (?i)<path> <target> break;`).
 */
function regexLocation(path: string, target: string | undefined): Pick<Route, 'regex' | 'rewrite'> {
  let regex: RegExp;
  try {
    regex = new RegExp(`^${path}`, 'i');
  } catch {
    // nginx would refuse the configuration; the sandbox matches nothing on that path.
    regex = /(?!)/;
  }
  if (target === undefined) return { regex };
  return {
    regex,
    rewrite: (requestPath) => {
      const match = regex.exec(requestPath);
      return match ? target.replace(/\$(\d)/g, (_, n: string) => match[Number(n)] ?? '') : requestPath;
    },
  };
}

function ingressRoutes(ingress: KubeObject, regexHosts: Set<string>): Route[] {
  const namespace = ingress.metadata.namespace ?? '';
  const spec = (ingress.spec ?? {}) as IngressSpec;
  const source = `ingress ${namespace}/${ingress.metadata.name}`;
  const target = ingress.metadata.annotations?.[rewriteTargetAnnotation];
  const toBackend = (backend: IngressBackend): Backend[] =>
    backend.service ? [{ namespace, service: backend.service.name, port: backend.service.port?.number ?? backend.service.port?.name ?? 80, weight: 1 }] : [];
  const routes: Route[] = [];
  for (const rule of spec.rules ?? []) {
    for (const path of rule.http?.paths ?? []) {
      const backends = toBackend(path.backend);
      if (!backends.length) continue;
      const exact = path.pathType === 'Exact';
      const made = route(ingress, rule.host ? [rule.host] : [], exact, path.path ?? '/', backends, source);
      if (!exact && regexHosts.has(rule.host ?? '_')) Object.assign(made, regexLocation(path.path ?? '/', target));
      routes.push(made);
    }
  }
  if (spec.defaultBackend) {
    const backends = toBackend(spec.defaultBackend);
    if (backends.length) routes.push(route(ingress, [], false, '/', backends, `${source} defaultBackend`));
  }
  return routes;
}

/**
 * A rule's URLRewrite filter (Gateway API v1): ReplacePrefixMatch swaps the matched prefix for the
 * replacement (per the spec's table: `/foo/bar`, prefix `/foo`, `/xyz` or `/xyz/` -> `/xyz/bar`;
 * replacement `` or `/` -> `/bar`), ReplaceFullPath replaces the whole path.
 */
function urlRewrite(filters: { type?: string; urlRewrite?: UrlRewrite }[] | undefined, match: { type: string; prefix: string }): Route['rewrite'] {
  const path = filters?.find((filter) => filter.type === 'URLRewrite')?.urlRewrite?.path;
  if (path?.type === 'ReplaceFullPath' && path.replaceFullPath !== undefined) {
    const full = path.replaceFullPath;
    return () => full;
  }
  if (path?.type === 'ReplacePrefixMatch' && path.replacePrefixMatch !== undefined && match.type === 'PathPrefix') {
    const prefix = match.prefix.replace(/\/+$/, '');
    const replacement = path.replacePrefixMatch.replace(/\/+$/, '');
    return (requestPath) => replacement + requestPath.slice(prefix.length) || '/';
  }
  return undefined;
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
      const value = match.path?.value ?? '/';
      const made = route(httpRoute, spec.hostnames ?? [], type === 'Exact', value, backends, source);
      const rewrite = urlRewrite(rule.filters, { type, prefix: value });
      if (rewrite) made.rewrite = rewrite;
      routes.push(made);
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
