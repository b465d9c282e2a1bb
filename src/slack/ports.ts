import type { RegionState } from '../core/model.js';
import { logger } from '../observability/log.js';
import type { Action, PlanResult } from '../core/plan.js';

/**
 * What the Slack app needs from the clusters, injected by the entry point: the Slack room never
 * talks to Kubernetes itself (it may import only queue, core and config).
 */
export interface ReleaseReader {
  /** Observe and plan without changing anything: dry runs, approval requests, plan digests. */
  preview(query: PlanQuery): Promise<PlanResult>;
  /** Every region of the environment, in promotion order. */
  status(app: string, environment: string): Promise<RegionState[]>;
}

export interface PlanQuery {
  action: Action;
  app: string;
  environment: string;
  version: string | null;
  actor: string;
}

/** Log lines of the Slack room; never given a token or a secret. */
export interface SlackLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The process's structured logger (JSON lines with the request context); what the bot uses by default. */
export const structuredLog: SlackLog = {
  info: (message) => logger().info(message),
  warn: (message) => logger().warn(message),
  error: (message) => logger().error(message),
};

/** A short reason from anything thrown, without stack traces. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0]?.slice(0, 300) ?? error.name;
  return String(error).slice(0, 300);
}
