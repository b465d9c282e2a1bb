import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { hideSubstituted, substituteEnv, type Substitutions } from './env-substitution.js';
import { redisPrefixIssues } from './redis-target.js';
import { readRuntime, type RuntimeSettings } from './runtime.js';
import { configSchema, type CommandAction, type ParsedConfig } from './schema.js';

export type AppConfig = ParsedConfig['apps'][string] & { name: string };
export type EnvironmentConfig = ParsedConfig['environments'][string] & { name: string };
export type RegionConfig = EnvironmentConfig['regions'][number];
export type Policy = EnvironmentConfig['policy'];
export type RetentionConfig = Policy['retention'];
export type ApprovalsConfig = EnvironmentConfig['slack']['approvals'];
export type WorkerConfig = ParsedConfig['worker'];

export interface Config {
  /** The file it was read from, for messages. */
  sourcePath: string;
  redis: { prefix: string };
  /** Queue worker concurrency and lock/stall timings. */
  worker: WorkerConfig;
  /** The web process: where its probes and metrics listen. */
  web: { metricsPort: number };
  /** By app name, in file order. Look names up with `findApp`: user input must not reach Object.prototype. */
  apps: Record<string, AppConfig>;
  environments: Record<string, EnvironmentConfig>;
  /** Settings read from the environment: Redis URL, port, log level, Slack API URL and secrets. */
  runtime: RuntimeSettings;
}

export const defaultConfigPath = './config/cutover.yaml';

/** `--config <file>` wins, then CUTOVER_CONFIG, then ./config/cutover.yaml. */
export function resolveConfigPath(flag: string | null | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  const fromEnv = env.CUTOVER_CONFIG?.trim();
  return fromEnv ? fromEnv : defaultConfigPath;
}

/** Read, substitute `${ENV}`, validate. Throws ConfigError naming every bad field; touches nothing else. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError('not-found', path, [{ where: 'file', path: '', message: 'file not found (pass --config <file> or set CUTOVER_CONFIG)' }]);
    }
    throw new ConfigError('unreadable', path, [{ where: 'file', path: '', message: `cannot be read: ${code ?? String(error)}` }]);
  }
  return parseConfig(text, env, path);
}

export function parseConfig(yamlText: string, env: NodeJS.ProcessEnv, sourcePath: string): Config {
  const document = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const issues = document.errors.map((error): ConfigIssue => {
      const at = error.linePos?.[0];
      return { where: 'file', path: '', message: `${at ? `line ${at.line}, column ${at.col}: ` : ''}${firstLine(error.message)}` };
    });
    throw new ConfigError('yaml', sourcePath, issues);
  }
  const raw: unknown = document.toJS({ maxAliasCount: 100 });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('invalid', sourcePath, [{ where: 'file', path: '', message: 'must be a YAML mapping with apps and environments' }]);
  }

  const issues: ConfigIssue[] = [];
  const substitutions: Substitutions = new Map();
  const substituted = substituteEnv(raw, env, issues, [], substitutions);
  const runtime = readRuntime(env, issues);
  const parsed = configSchema.safeParse(substituted, { error: friendlyMessage });
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap(toIssues));
  else issues.push(...redisPrefixIssues(parsed.data.redis.prefix, runtime.redis));
  // A value from the environment is named by its variable, never shown: it may be a secret.
  if (issues.length > 0 || !parsed.success) throw new ConfigError('invalid', sourcePath, issues.map((issue) => ({ ...issue, message: hideSubstituted(issue.message, substitutions) })));

  const data = parsed.data;
  return {
    sourcePath,
    redis: data.redis,
    worker: data.worker,
    web: data.web,
    apps: byName(Object.entries(data.apps).map(([name, app]) => ({ ...app, name }))),
    environments: byName(
      Object.entries(data.environments).map(([name, environment]) => ({
        ...environment,
        name,
        regions: environment.regions.map((region) => ({ ...region, kubeconfig: expandHome(region.kubeconfig, env) })),
      })),
    ),
    runtime,
  };
}

/** The app with this name, or undefined; safe for untrusted input. */
export function findApp(config: Config, name: string): AppConfig | undefined {
  return Object.hasOwn(config.apps, name) ? config.apps[name] : undefined;
}

export function findEnvironment(config: Config, name: string): EnvironmentConfig | undefined {
  return Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
}

/** Environments the app may be released to, in file order. */
export function environmentsOf(config: Config, app: AppConfig): EnvironmentConfig[] {
  return Object.values(config.environments).filter((env) => app.environments === undefined || app.environments.includes(env.name));
}

/** Who may ask for and approve `action` in this environment: the action's own lists where configured, else the environment's. */
export function accessFor(environment: EnvironmentConfig, action: string): { requesters: { users: string[]; usergroups: string[] }; approvers: { users: string[]; usergroups: string[] } } {
  const { requesters, approvers, actions } = environment.slack.approvals;
  const own = Object.hasOwn(actions, action) ? actions[action as keyof typeof actions] : undefined;
  return { requesters: own?.requesters ?? requesters, approvers: own?.approvers ?? approvers };
}

/** The environment an action uses when none is named: the one whose `defaultFor` lists it, else the only one. */
export function defaultEnvironment(config: Config, action: CommandAction): EnvironmentConfig | undefined {
  const all = Object.values(config.environments);
  return all.find((env) => env.defaultFor.includes(action)) ?? (all.length === 1 ? all[0] : undefined);
}


function byName<T extends { name: string }>(items: T[]): Record<string, T> {
  const record = Object.create(null) as Record<string, T>;
  for (const item of items) record[item.name] = item;
  return record;
}

function expandHome(path: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (path === undefined || !path.startsWith('~/')) return path;
  return env.HOME ? `${env.HOME}${path.slice(1)}` : path;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** One issue per unknown key, so each names its own path. */
function toIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ where: 'file', path: formatPath([...issue.path, key]), message: 'unknown field (misspelt?)' }));
  }
  return [{ where: 'file', path: formatPath(issue.path), message: issue.message }];
}

function friendlyMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'Required';
      return `expected ${article(issue.expected)}, got ${describe(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}${issue.inclusive === false ? ' (exclusive)' : ''}`;
    case 'too_big':
      return issue.origin === 'array' ? `has more than ${String(issue.maximum)} items` : `must be at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}`;
    case 'invalid_union':
      return `expected a string, number or boolean, got ${describe(issue.input)}`;
    default:
      return undefined;
  }
}

function article(type: string): string {
  if (type === 'int') return 'an integer';
  if (type === 'record' || type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'string') return JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input);
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  return 'a mapping';
}
