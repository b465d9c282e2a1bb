import type { KubeObject } from '../store.js';

/**
 * What the app in a sandbox pod serves, read from the pod (its template's annotations, its
 * readiness probe and its version), so a test can model an app the way it behaves on a real
 * cluster: which paths answer 200 and which answer 404, and which answers carry a version header.
 *
 * Annotations (on the pod template):
 * - `sandbox.cutover.dev/serves`: comma-separated paths the app answers; `/a/*` is `/a/` and
 *   everything below it, `*` is every path, `{version}` is the pod's version and `{health}` the
 *   path of its readiness probe. Default: `/{version}/*, {health}, /`.
 * - `sandbox.cutover.dev/version-header`: the response header naming the version (default
 *   `x-app-version`); empty: the app sends none.
 * - `sandbox.cutover.dev/version-header-on`: the paths whose answers carry it, same syntax
 *   (default: every path the app serves).
 * - `sandbox.cutover.dev/error-rate`: the share (0 to 1) of the app's answers that are 500, spread
 *   evenly (at 0.05, every 20th); its readiness probe path always answers 200, as an app whose
 *   health check does not reach the failing code. Default 0.
 */
export const servesAnnotation = 'sandbox.cutover.dev/serves';
export const versionHeaderAnnotation = 'sandbox.cutover.dev/version-header';
export const versionHeaderOnAnnotation = 'sandbox.cutover.dev/version-header-on';
export const errorRateAnnotation = 'sandbox.cutover.dev/error-rate';

export const defaultServes = '/{version}/*, {health}, /';
export const defaultVersionHeader = 'x-app-version';

export interface AppContract {
  version: string;
  /** The readiness probe's HTTP path, when the pod has one. */
  healthPath: string | undefined;
  serves(path: string): boolean;
  /** Header name and value for an answer on `path`, or undefined when the app sends none there. */
  versionHeaderFor(path: string): [string, string] | undefined;
  /** Share of the answers on served paths other than the health path that are 500 (0 to 1). */
  errorRate: number;
}

interface Container {
  env?: { name: string; value?: string }[];
  readinessProbe?: { httpGet?: { path?: string } };
}

/** The app contract of a pod. */
export function appContractOf(pod: KubeObject): AppContract {
  const container = ((pod.spec as { containers?: Container[] } | undefined)?.containers ?? [])[0];
  const version =
    container?.env?.find((e) => e.name === 'APP_VERSION')?.value ?? pod.metadata.labels?.['app.kubernetes.io/version'] ?? pod.metadata.labels?.version ?? 'unknown';
  const healthPath = container?.readinessProbe?.httpGet?.path || undefined;
  const annotations = pod.metadata.annotations ?? {};
  const serves = pathMatcher(annotations[servesAnnotation] ?? defaultServes, version, healthPath);
  const headerName = (annotations[versionHeaderAnnotation] ?? defaultVersionHeader).trim().toLowerCase();
  const headerOn = annotations[versionHeaderOnAnnotation] !== undefined ? pathMatcher(annotations[versionHeaderOnAnnotation], version, healthPath) : serves;
  const errorRate = Number(annotations[errorRateAnnotation] ?? 0);
  return {
    version,
    healthPath,
    serves,
    versionHeaderFor: (path) => (headerName && serves(path) && headerOn(path) ? [headerName, version] : undefined),
    errorRate: Number.isFinite(errorRate) ? Math.min(1, Math.max(0, errorRate)) : 0,
  };
}

/** A matcher for a comma-separated list of exact paths, `/prefix/*` prefixes and `*`. */
export function pathMatcher(spec: string, version: string, healthPath: string | undefined): (path: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  let everything = false;
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry === '*') {
      everything = true;
      continue;
    }
    if (entry.includes('{health}') && healthPath === undefined) continue;
    const path = entry.replaceAll('{version}', version).replaceAll('{health}', healthPath ?? '');
    if (path.endsWith('/*')) prefixes.push(path.slice(0, -1));
    else exact.add(path);
  }
  return (path) => everything || exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
}
