import type { WebClient } from '@slack/web-api';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { accessFor, findEnvironment, type Config, type EnvironmentConfig } from '../config/index.js';
import type { ApprovalPolicy } from '../core/approval.js';
import type { AccessPolicy } from '../core/authorization.js';
import { appendAudit, type AuditEntry } from '../queue/audit.js';
import type { ApprovalStore } from '../queue/approvals.js';
import type { ChannelPacer, PostPriority } from './channel-pacer.js';
import type { SlackMemo } from './slack-memo.js';
import { historyMessage } from './blocks.js';
import { errorText, type ReleaseReader, type SlackLog } from './ports.js';
import type { UsergroupCache } from './usergroup-cache.js';

/** Everything a listener of the Slack app uses; built once by `createSlackApp`. */
export interface SlackContext {
  config: Config;
  redis: Redis;
  /** Redis key prefix of this installation (config `redis.prefix`). */
  prefix: string;
  queue: Queue;
  /** Event and command dedupe, per-thread memos. */
  memo: SlackMemo;
  /** Approval requests, shared with the CLI and the workers. */
  approvals: ApprovalStore;
  groups: UsergroupCache;
  reader: ReleaseReader;
  client: WebClient;
  log: SlackLog;
  now: () => number;
  /** Keeps chat.postMessage within Slack's per-channel pace, shared with the workers through Redis. */
  pacer: ChannelPacer;
  /** Called after a change the App Home shows (a freeze, a stop); debounced by whoever listens. */
  onChange?: () => void;
}

/** What posting in Slack and auditing need: the bot has it all; the CLI builds just this to ask for an approval. */
export type SlackPosting = Pick<SlackContext, 'config' | 'redis' | 'prefix' | 'client' | 'log' | 'now' | 'pacer' | 'approvals'>;

type PostArguments = Parameters<WebClient['chat']['postMessage']>[0] & { channel: string };

/** chat.postMessage, paced per channel; someone is waiting for it unless `priority` says otherwise. */
export async function postMessage(slack: Pick<SlackContext, 'pacer' | 'client'>, args: PostArguments, priority: PostPriority = 'interactive'): Promise<{ ts?: string | undefined }> {
  await slack.pacer.wait(args.channel, priority);
  return slack.client.chat.postMessage(args);
}

/** Who may ask for and approve `action` here: the action's own lists where configured, else the environment's. */
export function accessPolicy(environment: EnvironmentConfig, action: string): AccessPolicy {
  return accessFor(environment, action);
}

/** The approval part of the policy for `action`, as core's `applyReaction` takes it. */
export function approvalPolicy(environment: EnvironmentConfig, action: string): ApprovalPolicy {
  const { approveReaction, rejectReaction } = environment.slack.approvals;
  return { approvers: accessPolicy(environment, action).approvers, approveReaction, rejectReaction };
}

export function environmentOf(slack: Pick<SlackContext, 'config'>, name: string): EnvironmentConfig {
  const environment = findEnvironment(slack.config, name);
  if (!environment) throw new Error(`unknown environment ${name}`);
  return environment;
}

/** Append to the audit stream, and post the line to the environment's audit channel if it has one. */
export async function audit(slack: SlackPosting, entry: AuditEntry): Promise<void> {
  await appendAudit(slack.redis, slack.prefix, entry);
  const channel = findEnvironment(slack.config, entry.environment)?.slack.auditChannel;
  if (channel === undefined) return;
  const line = historyMessage([entry], { app: entry.app, environment: entry.environment });
  await postMessage(slack, { channel, text: `${entry.kind}: ${entry.app}${entry.version ? ` ${entry.version}` : ''} in ${entry.environment}${entry.actor ? ` by ${entry.actor}` : ''}`, blocks: line.blocks.slice(1) }).catch((error: unknown) => slack.log.warn(`audit channel ${channel}: ${errorText(error)}`));
}

/** Slack calls whose failure must not stop the flow: logged, not thrown. */
export async function bestEffort<T>(slack: Pick<SlackContext, 'log'>, what: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    slack.log.warn(`${what}: ${errorText(error)}`);
    return undefined;
  }
}
