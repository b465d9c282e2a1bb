import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { appRefusal, versionRefusal } from '../core/version.js';
import { isJobKind, type JobKind } from './names.js';

// BullMQ custom job ids must not contain ":" and must not be integers.
const requestId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" and "-"')
  .refine((id) => !/^-?\d+$/.test(id), 'must not be a plain integer');

const appName = z.string().superRefine((app, ctx) => {
  const refusal = appRefusal(app);
  if (refusal) ctx.addIssue({ code: 'custom', message: refusal });
});

const base = z.object({
  requestId,
  app: appName,
  environment: z.string().min(1).max(63),
  requestedBy: z.string().min(1),
  approvedBy: z.array(z.string().min(1)).default([]),
  source: z.enum(['slack', 'cli', 'scheduler']),
  slack: z.object({ channel: z.string().min(1), threadTs: z.string().min(1) }).optional(),
  dryRun: z.boolean().optional(),
  /** The approval this job runs under (its id is the job id): the worker verifies it before any change. */
  approvalId: requestId.optional(),
  /** Digest of the plan the approvers saw, for the log; the worker checks the approval record's own. */
  planDigest: z.string().optional(),
  /** Set by enqueueRelease: tells a fresh add from a duplicate of an existing job. */
  enqueueId: z.string().optional(),
});

function versionField<T extends z.ZodTypeAny>(schema: T, field: 'version' | 'toVersion') {
  return schema.superRefine((data, ctx) => {
    const record = data as Record<string, unknown>;
    const version = record[field];
    if (typeof version !== 'string') return;
    const refusal = versionRefusal(String(record.app), version);
    if (refusal) ctx.addIssue({ code: 'custom', path: [field], message: refusal });
  });
}

export const payloadSchemas = {
  deploy: versionField(base.extend({ version: z.string() }), 'version'),
  promote: versionField(base.extend({ version: z.string() }), 'version'),
  rollback: versionField(base.extend({ toVersion: z.string().optional() }), 'toVersion'),
  cleanup: base,
  /** version: the version the live Service starts on, if any is installed. */
  bootstrap: versionField(base.extend({ version: z.string().optional() }), 'version'),
} as const;

export type PayloadOf<K extends JobKind> = z.output<(typeof payloadSchemas)[K]>;
export type PayloadInput<K extends JobKind> = z.input<(typeof payloadSchemas)[K]>;
export type ReleasePayload = { [K in JobKind]: PayloadOf<K> }[JobKind];

/** The readable one-line form of a zod error: `version: "v 1" is not a valid version; app: ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Validate a job's data for its kind; invalid data will never become valid, so it is not retried. */
export function parsePayload<K extends JobKind>(kind: K, data: unknown): PayloadOf<K>;
export function parsePayload(kind: string, data: unknown): ReleasePayload;
export function parsePayload(kind: string, data: unknown): ReleasePayload {
  if (!isJobKind(kind)) throw new UnrecoverableError(`unknown job kind "${kind}"`);
  const result = payloadSchemas[kind].safeParse(data);
  if (!result.success) throw new UnrecoverableError(`invalid ${kind} job: ${describeIssues(result.error)}`);
  return result.data;
}

/** The version a job is about (rollback: its named target, if any). */
export function payloadVersion(payload: ReleasePayload): string | null {
  if ('toVersion' in payload) return payload.toVersion ?? null;
  if ('version' in payload) return payload.version ?? null;
  return null;
}
