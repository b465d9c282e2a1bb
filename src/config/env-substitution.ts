import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';

const reference = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const variable = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * cutover's own secrets come from the environment straight into the process, never through the
 * file: a reference to one would put it where the file's values go (pod specs, labels, error
 * lines), so it is refused and not substituted.
 */
export const ownSecretVariables = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD'] as const;

/** What was substituted where, so no issue line ever shows a value that came from the environment. */
export type Substitutions = Map<string, string>;

/**
 * Replace `${NAME}` (and `${NAME:-default}`) in every string value of parsed YAML; `$${` is a
 * literal `${`. Done on values, not on the text, so a substituted value can never change the
 * YAML structure. A missing variable is an issue naming it and the field. Every substituted value
 * is recorded in `substitutions` (value → variable) for hideSubstituted.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, issues: ConfigIssue[], path: PropertyKey[] = [], substitutions: Substitutions = new Map()): unknown {
  if (typeof value === 'string') return substituteString(value, env, issues, path, substitutions);
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, issues, [...path, index], substitutions));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, issues, [...path, key], substitutions)]));
  }
  return value;
}

/** An issue's message with every substituted value shown as the variable it came from. */
export function hideSubstituted(message: string, substitutions: Substitutions): string {
  let out = message;
  // Longest first, so a value containing another is replaced whole.
  for (const [value, name] of [...substitutions].sort(([a], [b]) => b.length - a.length)) {
    if (value.length >= 3 && out.includes(value)) out = out.split(value).join(`\${${name}}`);
  }
  return out;
}

function substituteString(text: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[], path: PropertyKey[], substitutions: Substitutions): string {
  if (!text.includes('${')) return text;
  return text.replace(reference, (match, inner: string | undefined) => {
    if (match === '$${') return '${';
    const parsed = inner === undefined ? null : variable.exec(inner);
    if (!parsed) {
      issues.push({ where: 'file', path: formatPath(path), message: `malformed reference "${match}": write \${NAME} or \${NAME:-default}` });
      return match;
    }
    const [, name = '', fallback] = parsed;
    if ((ownSecretVariables as readonly string[]).includes(name)) {
      issues.push({ where: 'file', path: formatPath(path), message: `references \${${name}}, one of cutover's own secrets: they are read from the environment by cutover itself and never go into the config's values` });
      return '';
    }
    const set = env[name];
    const value = fallback !== undefined && (set === undefined || set === '') ? fallback : set;
    if (value === undefined) {
      issues.push({ where: 'file', path: formatPath(path), message: `environment variable ${name} is not set` });
      return match;
    }
    if (set !== undefined && value === set) substitutions.set(set, name);
    return value;
  });
}
