import type { AppSpec, InstalledVersion, LiveState, RegionState } from '../core/model.js';
import type { InstallPreview } from './install/version-installer.js';

/** One endpoint of a Service, as its EndpointSlices list it. */
export interface EndpointView {
  pod: string;
  ip: string;
  version: string | null;
  ready: boolean;
  /** Receives traffic (ready, or terminating but still serving); defaults to `ready` when the slice omits it. */
  serving: boolean;
  terminating: boolean;
}

/** One answer of a Service sampled through the API server's service proxy; never a thrown error. */
export interface ProxySample {
  status: number;
  /** The version header's value, when the app sent it. */
  version: string | null;
  error: string | null;
}

export interface SwitchResult {
  /** false when the selector already pointed at the target (nothing was written). */
  patched: boolean;
  /** Round trip of the one merge patch of the live Service. */
  patchMs: number;
}

export interface SwitchRequest {
  to: string;
  /**
   * The version the caller expects live (null: none). The write happens only while the selector
   * still says so; any other version is a change made outside this release and is refused
   * (KubeError 'changed-outside'), never overwritten. It is recorded as the rollback target.
   */
  from: string | null;
  /** Rollback target to record instead of `from` (a compensation puts the old one back). */
  rollbackTarget?: string | null | undefined;
  by: string;
  at: Date;
  /**
   * Fencing token of the lease held by the caller. Recorded on the Service with the switch; a
   * Service that carries a newer token is not written (KubeError 'fenced').
   */
  fence?: number | undefined;
}

/**
 * The port to one region's cluster: everything the release runner does to Kubernetes.
 * Every mutating call is idempotent: calling it again after a crash converges to the same state.
 */
export interface Cluster {
  readonly region: string;
  readonly namespace: string;
  /** Live Service, live route and the installed versions of one app. */
  observe(app: AppSpec): Promise<RegionState>;
  /**
   * Refuses (KubeError 'not-owned', naming each object and its labels) when an object exists under
   * a name the version would write and is not cutover's object of that app and version.
   */
  checkOwnership(app: AppSpec, version: string): Promise<void>;
  /** Server-side apply of the version's Deployment, Service and route (Ingress or HTTPRoute), after checkOwnership. */
  installVersion(app: AppSpec, version: string, by: string): Promise<void>;
  /** Resolves once the version has `minReady` ready, updated pods; rejects on timeout/abort. */
  waitForReady(app: AppSpec, version: string, minReady: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<InstalledVersion>;
  /** Create the live Service `<app>` and the live route `/` when missing; never changes them when present. */
  bootstrap(app: AppSpec, initialVersion: string | null): Promise<{ created: string[] }>;
  /**
   * One conditional merge patch of the live Service's selector and cutover.dev/ annotations (the
   * resourceVersion read, the expected `from`, the fencing token); no-op when already on `to`.
   * A 409 from an unrelated change is re-read and decided again.
   */
  switchSelector(app: AppSpec, request: SwitchRequest): Promise<SwitchResult>;
  /** The live Service alone (one GET): what is live now; null when it does not exist. */
  readLive(app: AppSpec): Promise<LiveState | null>;
  /** Endpoints currently listed by the EndpointSlices of a Service. */
  endpoints(serviceName: string): Promise<EndpointView[]>;
  /**
   * Resolves when the Service's EndpointSlices hold at least `minReady` (default 1) ready pods of
   * `version` and no serving endpoint of another version (unready target pods are listed, not
   * waited for: real EndpointSlice controllers list them), with the time it took; rejects on
   * timeout with what was last seen.
   */
  waitForEndpoints(app: AppSpec, serviceName: string, version: string, options: { timeoutMs: number; minReady?: number; signal?: AbortSignal }): Promise<{ convergedMs: number; endpoints: EndpointView[] }>;
  /**
   * GET `path` from a Service through the API server's service proxy (what `verify.via:
   * service-proxy` samples): reaches the pods the Service selects with cutover's own credentials.
   */
  proxySample(serviceName: string, path: string, options: { versionHeader: string; timeoutMs: number }): Promise<ProxySample>;
  /**
   * Delete the version's Deployment, Service and route; absent objects are fine. Refused when the
   * version is live or the rollback target (read again now), or any object is not cutover's.
   */
  deleteVersion(app: AppSpec, version: string): Promise<void>;
  /**
   * For apps installed from manifests or a chart: the objects an install of `version` would apply,
   * and the API server's server-side dry run of each; null for builtin installs. Changes nothing.
   */
  previewInstall?(app: AppSpec, version: string, by: string): Promise<InstallPreview | null>;
  /** One cheap request (GET /version), no retries: resolves when the API server answers. For readiness probes. */
  ping(options?: { timeoutMs?: number }): Promise<void>;
}
