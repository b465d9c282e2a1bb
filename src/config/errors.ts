/** What went wrong where: `path` is a field path in the file ("apps.shop.replicas") or an environment variable. */
export interface ConfigIssue {
  where: 'file' | 'env';
  path: string;
  message: string;
}

export type ConfigErrorCode = 'not-found' | 'unreadable' | 'yaml' | 'invalid';

/** A configuration that cannot be used; the message has one line per problem, naming the field and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly sourcePath: string;
  readonly issues: readonly ConfigIssue[];

  constructor(code: ConfigErrorCode, sourcePath: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => formatIssue(sourcePath, issue)).join('\n'));
    this.code = code;
    this.sourcePath = sourcePath;
    this.issues = issues;
  }
}

export function formatIssue(sourcePath: string, issue: ConfigIssue): string {
  if (issue.where === 'env') return `environment variable ${issue.path}: ${issue.message}`;
  return issue.path ? `${sourcePath}: ${issue.path}: ${issue.message}` : `${sourcePath}: ${issue.message}`;
}

/** `["environments", "production", "regions", 1, "namespace"]` -> `environments.production.regions[1].namespace`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else {
      const name = String(key);
      text += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) ? `${text ? '.' : ''}${name}` : `[${JSON.stringify(name)}]`;
    }
  }
  return text;
}
