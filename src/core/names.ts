import { versionNamePart } from './version.js';

/** Label keys and annotation keys that cutover reads and writes; configurable label keys come in. */
export interface LabelKeys {
  name: string;
  version: string;
}

export const defaultLabelKeys: LabelKeys = {
  name: 'app.kubernetes.io/name',
  version: 'app.kubernetes.io/version',
};

export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'cutover';

export const annotations = {
  liveVersion: 'cutover.dev/live-version',
  previousVersion: 'cutover.dev/previous-version',
  promotedAt: 'cutover.dev/promoted-at',
  promotedBy: 'cutover.dev/promoted-by',
  /** On a version's Deployment: when it last stopped being live (retention counts from here). */
  retiredAt: 'cutover.dev/retired-at',
  /** On a version's Deployment: who installed it and when. */
  installedBy: 'cutover.dev/installed-by',
} as const;

/** The names of one immutable release of an app. */
export interface VersionNames {
  deployment: string;
  service: string;
  route: string;
  path: string;
}

/** The seed's form: version v42 is served under `/v42/`. */
export const defaultVersionPath = '/{version}/';

/** What names an app's versions: its name, and the path template of its version routes. */
export interface AppNaming {
  name: string;
  /** e.g. `/{version}/` (default) or `/_v/{version}/`. */
  versionPath?: string | undefined;
}

export function versionNames(app: string | AppNaming, version: string): VersionNames {
  const naming = typeof app === 'string' ? { name: app } : app;
  const name = `${naming.name}-${versionNamePart(version)}`;
  return { deployment: name, service: name, route: name, path: (naming.versionPath ?? defaultVersionPath).split('{version}').join(version) };
}

/** The static objects that carry live traffic: Service `<app>` and route `/`. */
export function liveNames(app: string): { service: string; route: string } {
  return { service: app, route: app };
}

export function versionSelector(keys: LabelKeys, app: string, version: string): Record<string, string> {
  return { [keys.name]: app, [keys.version]: version };
}

export function versionLabels(keys: LabelKeys, app: string, version: string): Record<string, string> {
  return { ...versionSelector(keys, app, version), [managedByLabel]: managedByValue };
}
