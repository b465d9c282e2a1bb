import type { LabelKeys } from './names.js';

/** Settings every install kind that renders the app's own objects shares. */
interface RenderedInstall {
  /** Values for the templates: `{{values.<key>}}` in manifests, a values file after `valuesFiles` for Helm. */
  values: Record<string, unknown>;
  /** The Deployment whose pods serve the app, `{name}` standing for the version's name; absent: the only one. */
  workload?: string | undefined;
  /** Append the version's name part to object names that lack it, instead of refusing them. */
  suffixNames: boolean;
}

/** How a version's objects are made: cutover's own, a folder of YAML templates, or a Helm chart. */
export type InstallSpec =
  | { kind: 'builtin' }
  | (RenderedInstall & { kind: 'manifests'; path: string })
  | (RenderedInstall & {
      kind: 'helm';
      /** A local chart path, or a chart name in `repo`. */
      chart: string;
      repo?: string | undefined;
      /** Chart version (with `repo`). */
      version?: string | undefined;
      valuesFiles: string[];
      /** The value set to the version, `image.tag` by default. */
      imageTagKey: string;
      /** The helm binary; absent: `helm` from PATH. */
      helmBinary?: string | undefined;
    });

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
  /** How versions are installed; absent: `builtin`. */
  install?: InstallSpec | undefined;
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
  /** What the version installed, from its inventory (install kinds manifests and helm). */
  objects?: { kind: string; name: string }[];
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
