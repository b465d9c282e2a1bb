import { InstallRefusal } from './refusal.js';

/** What `{{...}}` can stand for in a manifest template. */
export interface TemplateVariables {
  app: string;
  version: string;
  /** The version's object name: `shop-v1-2-3` for v1.2.3. */
  name: string;
  image: string;
  namespace: string;
  region: string;
  values: Record<string, unknown>;
}

const placeholder = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Replace `{{version}}`, `{{name}}`, `{{image}}`, `{{app}}`, `{{namespace}}`, `{{region}}` and
 * `{{values.<key>}}` (dotted keys into the config's values; objects and lists are written as
 * JSON, which YAML reads as flow style). Anything else between braces is refused, naming the file
 * and line, so a typo never reaches the cluster as a literal. Pure.
 */
export function expandPlaceholders(text: string, variables: TemplateVariables, source: string): string {
  return text.replace(placeholder, (match, expression: string, offset: number) => {
    const line = text.slice(0, offset).split('\n').length;
    const where = `${source}:${line}`;
    if (expression.startsWith('values.')) {
      const value = lookup(variables.values, expression.slice('values.'.length));
      if (value === undefined) throw new InstallRefusal(`${where}: ${match} is not set: add it under install.values`);
      return typeof value === 'string' ? value : JSON.stringify(value);
    }
    switch (expression) {
      case 'app':
      case 'version':
      case 'name':
      case 'image':
      case 'namespace':
      case 'region':
        return variables[expression];
      default:
        throw new InstallRefusal(`${where}: unknown placeholder ${match}: manifests know {{app}}, {{version}}, {{name}}, {{image}}, {{namespace}}, {{region}} and {{values.<key>}}`);
    }
  });
}

function lookup(values: Record<string, unknown>, dotted: string): unknown {
  let current: unknown = values;
  for (const key of dotted.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
