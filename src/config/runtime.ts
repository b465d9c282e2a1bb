import type { ConfigIssue } from './errors.js';
import { describeRedisTarget, readRedisTarget, type RedisTarget } from './redis-target.js';

const redacted = '[redacted]';
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

interface SecretValues {
  slackBotToken: string | null;
  slackSigningSecret: string | null;
  slackAppToken: string | null;
}

/** Secrets from the environment. They never serialize: JSON and util.inspect show "[redacted]". */
export class Secrets {
  readonly #values: SecretValues;
  readonly #extra: readonly string[];

  constructor(values: SecretValues, extra: readonly string[] = []) {
    this.#values = { ...values };
    this.#extra = extra;
  }

  get slackBotToken(): string | null {
    return this.#values.slackBotToken;
  }

  get slackSigningSecret(): string | null {
    return this.#values.slackSigningSecret;
  }

  get slackAppToken(): string | null {
    return this.#values.slackAppToken;
  }

  /** Every secret value that is set (tokens, and the Redis passwords): for log scrubbing. */
  values(): string[] {
    const { slackBotToken, slackSigningSecret, slackAppToken } = this.#values;
    return [slackBotToken, slackSigningSecret, slackAppToken, ...this.#extra].filter((v): v is string => typeof v === 'string' && v.length > 0);
  }

  toJSON(): Record<keyof SecretValues, string | null> {
    const mask = (v: string | null): string | null => (v === null ? null : redacted);
    return { slackBotToken: mask(this.slackBotToken), slackSigningSecret: mask(this.slackSigningSecret), slackAppToken: mask(this.slackAppToken) };
  }

  toString(): string {
    return `Secrets ${JSON.stringify(this.toJSON())}`;
  }

  [inspectCustom](): string {
    return this.toString();
  }
}

/** Settings of the running process, read from the environment by the loader (nothing else reads process.env). */
export class RuntimeSettings {
  constructor(
    /** REDIS_URL (a single server); may hold a password, so it is redacted when serialized. Connect through `redis`. */
    readonly redisUrl: string,
    /** PORT the web process listens on. */
    readonly port: number,
    readonly logLevel: LogLevel,
    /** SLACK_API_URL with a trailing slash, or null for Slack's own. */
    readonly slackApiUrl: string | null,
    readonly secrets: Secrets,
    /** Where Redis is: REDIS_URL, or a cluster (REDIS_CLUSTER_NODES), or Sentinel (REDIS_SENTINELS). */
    readonly redis: RedisTarget = { mode: 'standalone', url: redisUrl },
  ) {}

  toJSON(): Record<string, unknown> {
    return { redisUrl: redactUrl(this.redisUrl), redis: describeRedisTarget(this.redis), port: this.port, logLevel: this.logLevel, slackApiUrl: this.slackApiUrl, secrets: this.secrets.toJSON() };
  }

  [inspectCustom](): string {
    return `RuntimeSettings ${JSON.stringify(this.toJSON())}`;
  }
}

export const defaultRedisUrl = 'redis://127.0.0.1:6379';
export const defaultPort = 3000;

/**
 * REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS and REDIS_SENTINEL_NAME, with REDIS_USERNAME,
 * REDIS_PASSWORD, REDIS_TLS, REDIS_SENTINEL_PASSWORD), PORT, LOG_LEVEL, SLACK_API_URL and the Slack
 * secrets; problems are added to `issues`.
 */
export function readRuntime(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): RuntimeSettings {
  const text = (name: string): string | null => {
    const value = env[name]?.trim();
    return value ? value : null;
  };
  const bad = (path: string, message: string): void => {
    issues.push({ where: 'env', path, message });
  };

  const redisUrl = text('REDIS_URL') ?? defaultRedisUrl;
  const redis = readRedisTarget(env, issues, defaultRedisUrl);
  const redisPassword = parseUrl(redisUrl)?.password;
  if (!/^rediss?:$/.test(parseUrl(redisUrl)?.protocol ?? '')) bad('REDIS_URL', 'must be a redis:// or rediss:// URL');

  let port = defaultPort;
  const portText = text('PORT');
  if (portText !== null) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) bad('PORT', `must be a port number from 1 to 65535, got "${portText.slice(0, 20)}"`);
  }

  const levelText = (text('LOG_LEVEL') ?? 'info').toLowerCase();
  const logLevel = logLevels.find((l) => l === levelText) ?? 'info';
  if (logLevel !== levelText) bad('LOG_LEVEL', `must be one of ${logLevels.join(', ')}, got "${levelText.slice(0, 20)}"`);

  let slackApiUrl = text('SLACK_API_URL');
  if (slackApiUrl !== null) {
    if (!/^https?:$/.test(parseUrl(slackApiUrl)?.protocol ?? '')) bad('SLACK_API_URL', 'must be an http:// or https:// URL');
    else if (!slackApiUrl.endsWith('/')) slackApiUrl = `${slackApiUrl}/`;
  }

  const secrets = new Secrets(
    { slackBotToken: text('SLACK_BOT_TOKEN'), slackSigningSecret: text('SLACK_SIGNING_SECRET'), slackAppToken: text('SLACK_APP_TOKEN') },
    [...(redisPassword ? [decodeURIComponent(redisPassword)] : []), ...redis.secrets],
  );
  return new RuntimeSettings(redisUrl, port, logLevel, slackApiUrl, secrets, redis.target);
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function redactUrl(text: string): string {
  const url = parseUrl(text);
  if (!url || !url.password) return text;
  return `${url.protocol}//${url.username}:${redacted}@${url.host}${url.pathname === '/' ? '' : url.pathname}${url.search}`;
}
