import type { LabelKeys } from './names.js';

/** What the cluster adapter needs to know about an app to install and route its versions. */
export interface AppSpec {
  name: string;
  /** e.g. `registry.example.com/shop:{version}` */
  image: string;
  containerPort: number;
  replicas: number;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  env: Record<string, string>;
  healthPath: string;
  /** Response header that names the version answering, e.g. `x-app-version`. */
  versionHeader: string;
  routing: 'ingress' | 'gateway';
  /** Gateway API: the parent Gateway the HTTPRoutes attach to. */
  gateway?: { name: string; namespace?: string };
  ingressClassName?: string;
  hosts: string[];
  labelKeys: LabelKeys;
  /** Seconds a terminating pod keeps serving. */
  terminationGracePeriodSeconds: number;
  /** Extra pod template annotations (the sandbox reads readiness delays from here). */
  podAnnotations: Record<string, string>;
  /** Every version must match this regular expression (absent: any valid version). */
  versionPattern?: string | undefined;
  /** Path template of the version routes, `/{version}/` when absent. */
  versionPath?: string | undefined;
  /**
   * The version routes strip their path prefix, so pods receive `/healthz` for `/v42/healthz`
   * (Gateway API URLRewrite ReplacePrefixMatch; for Ingress, ingress-nginx's rewrite-target).
   */
  stripVersionPrefix?: boolean | undefined;
}

/** One installed version in one region, as observed. */
export interface InstalledVersion {
  version: string;
  desiredReplicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  /** ISO time the Deployment was created. */
  createdAt: string;
  /** ISO time it last stopped being live, if it ever was. */
  retiredAt: string | null;
  hasService: boolean;
  hasRoute: boolean;
}

/** The live Service of an app in one region, as observed. */
export interface LiveState {
  /** Version in the live Service's selector (null: selector has no version). */
  version: string | null;
  previousVersion: string | null;
  promotedAt: string | null;
  promotedBy: string | null;
  /**
   * The selector is not on the version cutover last recorded as live: someone switched it by
   * hand (or another tool did). `previousVersion` is then what cutover had made live, and
   * `promotedAt`/`promotedBy` are unknown (null).
   */
  changedOutside?: boolean;
  /** Fencing token of the last switch cutover wrote (cutover.dev/fence), null when none. */
  fence?: number | null;
}

export interface RegionState {
  region: string;
  /** Set when `status` could not read the region: why (the other fields are then empty). */
  unreachable?: string;
  /** null: the live Service does not exist (not bootstrapped). */
  live: LiveState | null;
  liveRouteExists: boolean;
  versions: InstalledVersion[];
}
