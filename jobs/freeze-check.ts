import { findEnvironment } from '../src/config/index.js';
import { freezeRefusal, mayOverride } from '../src/core/freeze.js';
import { logger } from '../src/observability/log.js';
import { ApprovalStore } from '../src/queue/approvals.js';
import { appendAudit } from '../src/queue/audit.js';
import { freezesInEffect } from '../src/queue/freezes.js';
import type { PreparedRun } from './run-release-job.js';

/**
 * The freeze check where the change happens, right before the first mutating step of every
 * attempt: a job queued before a freeze began (or a resumed one) is refused like a new request.
 * Break glass: a job under an approval whose request carries an override reason, asked for by a
 * `breakGlass` user, goes through (the approval itself is verified next, as always) and the
 * override is audited. Answers the refusal, or null.
 */
export async function freezeCheck(run: PreparedRun): Promise<string[] | null> {
  const { payload, context, request, job } = run;
  const t = (context.now?.() ?? new Date()).getTime();
  const refusal = freezeRefusal(request.action, payload.app, t, await freezesInEffect(context.redis, context.prefix, context.config, payload.environment, [payload.app], t));
  if (refusal === null) return null;
  const environment = findEnvironment(context.config, payload.environment);
  const record = payload.approvalId ? await new ApprovalStore(context.redis, context.prefix).get(payload.approvalId) : null;
  const override = record?.request.override;
  const requester = record?.request.requester ?? payload.requestedBy;
  const notAllowed = environment ? mayOverride(requester, { users: environment.breakGlass, usergroups: [] }, () => []) : 'unknown environment';
  if (override === undefined || notAllowed !== null || job.id !== payload.approvalId) {
    return [`${refusal}. Nothing was changed${override !== undefined && notAllowed ? `; the override does not count: ${notAllowed}` : ''}`];
  }
  logger().warn({ approvalId: payload.approvalId, requester, override }, 'freeze overridden (break glass)');
  await appendAudit(context.redis, context.prefix, {
    at: new Date(t).toISOString(),
    kind: 'override',
    app: payload.app,
    environment: payload.environment,
    ...(request.version ? { version: request.version } : {}),
    actor: requester,
    requestId: payload.requestId,
    detail: `break glass through a freeze: ${override}`,
  });
  return null;
}
