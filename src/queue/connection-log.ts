import { logger } from '../observability/log.js';

/** What emits a Redis connection's state: an ioredis client (Redis or Cluster) or a BullMQ backend. */
export interface ConnectionEvents {
  prependListener(event: 'error', listener: (error: Error) => void): unknown;
  prependListener(event: 'ready', listener: () => void): unknown;
}

/** A BullMQ Queue, Worker or QueueEvents: its backend owns the connections, the object re-emits their errors. */
export interface BullmqOwner {
  getBackend(): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The error's code (ECONNREFUSED, ETIMEDOUT, …) or its first line. */
function reasonOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  return error.message.split('\n')[0]!.slice(0, 200);
}

/**
 * Logs one line per change of a connection's state, never one per reconnection attempt: "redis
 * unreachable" (warn, with the error's code) when it first fails, "redis reachable again" (info,
 * with how long it was down and how many attempts failed) when it is ready again. Having an
 * `error` listener is also what stops ioredis from printing "[ioredis] Unhandled error event"
 * stack traces on stderr for every attempt (ioredis `silentEmit`). Answers a predicate telling
 * whether an error object was one of these connection errors.
 */
export function logConnectionState(source: ConnectionEvents, connection: string, now: () => number = Date.now): (error: unknown) => boolean {
  const seen = new WeakSet<Error>();
  let downSince: number | null = null;
  let failedAttempts = 0;
  // Prepended: BullMQ forwards a backend's errors to its owner from a listener of its own, and the
  // owner's listener must already know that an error is a connection error.
  source.prependListener('error', (error: Error) => {
    if (error instanceof Error) seen.add(error);
    failedAttempts += 1;
    if (downSince !== null) return;
    downSince = now();
    logger().warn({ redis: connection, code: reasonOf(error) }, `redis unreachable (${connection} connection): ${reasonOf(error)}; retrying, logged again when it answers`);
  });
  source.prependListener('ready', () => {
    if (downSince === null) return;
    const downMs = Math.max(0, now() - downSince);
    logger().info({ redis: connection, downMs, failedAttempts }, `redis reachable again (${connection} connection) after ${(downMs / 1000).toFixed(1)} s`);
    downSince = null;
    failedAttempts = 0;
  });
  return (error) => error instanceof Error && seen.has(error);
}

const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** A command that failed because the connection is down (ioredis's and BullMQ's wording), not because of what it asked. */
export function isConnectionFailure(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && connectionCodes.has(code)) return true;
  return /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|max retries per request|Stream isn't writeable/i.test(error.message);
}

/**
 * The same for a BullMQ object: its connections' state is logged once per change, and any other
 * error it emits (a failed script, a lost job lock) is logged once as an error. Errors of commands
 * that failed because the connection is down are left to the state lines. Without an error
 * listener BullMQ prints every such error to stderr with console.error.
 */
export function logBullmqConnections(owner: BullmqOwner, connection: string): void {
  const isConnectionError = logConnectionState(owner.getBackend() as ConnectionEvents, connection);
  owner.on('error', (error) => {
    if (isConnectionError(error) || isConnectionFailure(error)) return;
    logger().error({ redis: connection, err: { message: error.message, name: error.name } }, `${connection}: ${error.message}`);
  });
}
