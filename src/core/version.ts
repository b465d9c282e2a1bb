/**
 * Version strings become part of resource names (`<app>-<version>`, DNS-1123 labels of at most
 * 63 characters), label values (at most 63, alphanumeric at both ends) and URL paths (`/<version>/`).
 * Validation happens before any API call, and the refusal is the sentence the user reads.
 */
const versionPattern = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const appPattern = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const dnsLabelMax = 63;

/** An app as version validation needs it: its name and, from the config, the pattern its versions follow. */
export interface VersionRules {
  name: string;
  /** A regular expression every version of the app must match (apps.<app>.versionPattern). */
  versionPattern?: string | undefined;
}

export function versionRefusal(app: string | VersionRules, version: string): string | null {
  const rules = typeof app === 'string' ? { name: app } : app;
  if (version.length === 0) return 'a version is required, e.g. v42';
  if (!versionPattern.test(version)) {
    return `"${printable(version)}" is not a valid version: use letters, digits, "." and "-", starting and ending with a letter or digit`;
  }
  if (`${rules.name}-${version}`.length > dnsLabelMax) {
    return `"${printable(version)}" is too long: "${rules.name}-<version>" must fit in ${dnsLabelMax} characters, so at most ${dnsLabelMax - rules.name.length - 1} here`;
  }
  // A version becomes a route path and part of object names: "api" would serve /api/ and name
  // objects like another app's. The pattern keeps versions apart from the app's own paths.
  if (rules.versionPattern !== undefined && !new RegExp(rules.versionPattern).test(version)) {
    return `"${printable(version)}" is not a version of ${rules.name}: its versions match ${rules.versionPattern} (apps.${rules.name}.versionPattern), so that a version route can never take one of the app's own paths`;
  }
  return null;
}

/**
 * The form of a version used inside resource names: lower case, "." becomes "-" (Service names
 * are DNS-1035 labels). The label value and the URL path keep the version as written.
 */
export function versionNamePart(version: string): string {
  return version.toLowerCase().replace(/\./g, '-');
}

export function appRefusal(app: string): string | null {
  if (!appPattern.test(app) || app.length > 40) {
    return `"${printable(app)}" is not a valid app name: lower-case letters, digits and "-", starting with a letter, at most 40 characters`;
  }
  return null;
}

/** Quote untrusted text for a message: bounded length, no control characters. */
export function printable(text: string, max = 64): string {
  const flat = [...text].map((ch) => (/[\p{Cc}\p{Cf}]/u.test(ch) ? '?' : ch)).join('');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Newest first by creation time, then by version string, so ordering is stable. */
export function compareNewestFirst(a: { version: string; createdAt: string }, b: { version: string; createdAt: string }): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return b.version.localeCompare(a.version, 'en', { numeric: true });
}
