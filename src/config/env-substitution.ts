import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';

const reference = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const variable = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Replace `${NAME}` (and `${NAME:-default}`) in every string value of parsed YAML; `$${` is a
 * literal `${`. Done on values, not on the text, so a substituted value can never change the
 * YAML structure. A missing variable is an issue naming it and the field.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, issues: ConfigIssue[], path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') return substituteString(value, env, issues, path);
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, issues, [...path, index]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, issues, [...path, key])]));
  }
  return value;
}

function substituteString(text: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[], path: PropertyKey[]): string {
  if (!text.includes('${')) return text;
  return text.replace(reference, (match, inner: string | undefined) => {
    if (match === '$${') return '${';
    const parsed = inner === undefined ? null : variable.exec(inner);
    if (!parsed) {
      issues.push({ where: 'file', path: formatPath(path), message: `malformed reference "${match}": write \${NAME} or \${NAME:-default}` });
      return match;
    }
    const [, name = '', fallback] = parsed;
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      issues.push({ where: 'file', path: formatPath(path), message: `environment variable ${name} is not set` });
      return match;
    }
    return set;
  });
}
