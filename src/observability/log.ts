import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

/**
 * One structured (JSON) logger per process. The entry point configures it once; until then it is
 * silent, so tests and library use stay quiet. Every line carries the request context of the code
 * that logs it (the release's requestId, the job), and no line carries a secret.
 */

export type LogLevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** What follows a release through the processes: set where it starts, read by every log line. */
export interface RequestContext {
  requestId?: string;
  jobId?: string;
  kind?: string;
  app?: string;
  environment?: string;
}

export interface LoggingOptions {
  level: LogLevelName;
  /** Values that must never appear in a line (config.runtime.secrets.values()); added to the known set. */
  secrets?: readonly string[];
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. { process: 'worker' }. */
  base?: Record<string, unknown>;
}

const redacted = '[redacted]';

/** Object paths that hold credentials wherever they are logged. */
export const redactPaths = [
  'token',
  'password',
  'authorization',
  'signingSecret',
  'botToken',
  'appToken',
  'secrets',
  '*.token',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.signingSecret',
  '*.botToken',
  '*.appToken',
  '*.secrets',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
];

const context = new AsyncLocalStorage<RequestContext>();
const secretValues = new Set<string>();
// Shorter values would blank out ordinary words; nothing real is that short.
const minSecretLength = 4;

let root: Logger = pino({ level: 'silent' });

/** Configure the process's logger (entry points only, once at start). Returns it. */
export function configureLogging(options: LoggingOptions): Logger {
  addSecretValues(options.secrets ?? []);
  root = pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: redacted },
      // A copy: pino merges the line's fields into what the mixin returns.
      mixin: () => ({ ...context.getStore() }),
      hooks: { streamWrite: scrubSecrets },
    },
    options.destination ?? process.stdout,
  );
  return root;
}

/** The process's logger (call it where you log: the entry point may configure it after import). */
export function logger(): Logger {
  return root;
}

/** Run `fn` with these fields on every log line it (and all it awaits) writes; nests by merging. */
export function withRequestContext<T>(fields: RequestContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/** The request context of the running code, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return context.getStore();
}

/** Values to blank out of every line, wherever they come from (e.g. kubeconfig tokens as they are loaded). */
export function addSecretValues(values: Iterable<string>): void {
  for (const value of values) if (value.length >= minSecretLength) secretValues.add(value);
}

/** The last line of defence: a secret in a message (an error's text, a URL) becomes "[redacted]". */
export function scrubSecrets(line: string): string {
  let out = line;
  for (const secret of secretValues) {
    if (out.includes(secret)) out = out.split(secret).join(redacted);
    // As it reads inside a JSON string (quotes, backslashes and control characters escaped).
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(redacted);
  }
  return out;
}
