/**
 * One error type for everything the Kubernetes adapter reports. `code` says what happened,
 * `transient` says whether trying again later can succeed; the message is what a user reads.
 */
export type KubeErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'conflict'
  | 'invalid'
  | 'bad-request'
  | 'unsupported-media-type'
  | 'forbidden'
  | 'unauthorized'
  | 'unreachable'
  | 'timeout'
  | 'transient'
  | 'name-collision'
  | 'live-version'
  | 'not-bootstrapped'
  /** The live Service is on a version the writer did not expect: someone else changed it. */
  | 'changed-outside'
  /** The live Service carries a newer fencing token: a newer lease holder wrote it. */
  | 'fenced'
  /** The object kept changing under conditional writes (unrelated writers); nothing was written. */
  | 'busy'
  /** An object under a name cutover would write or delete is someone else's. */
  | 'not-owned'
  /** The version is the rollback target: it is kept so a rollback can go back to it. */
  | 'rollback-target'
  | 'kubeconfig'
  | 'aborted'
  | 'unknown';

/** The API call an error came from; it names the permission when the server's message cannot. */
export interface KubeOperation {
  region?: string;
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
}

export interface MissingPermission {
  verb: string;
  resource: string;
  group: string;
  namespace: string | null;
}

export interface KubeErrorOptions {
  transient?: boolean;
  status?: number | null;
  reason?: string | null;
  retryAfterMs?: number | null;
  causes?: { field: string; message: string }[];
  permission?: MissingPermission | null;
  region?: string | null;
  /** What a conditional write found on the live Service instead of what it expected. */
  found?: FoundLive | null;
  cause?: unknown;
}

/** The live Service as a refused conditional write found it. */
export interface FoundLive {
  version: string | null;
  promotedBy: string | null;
  /** The selector differs from the version cutover recorded: changed by something else. */
  changedOutside: boolean;
  fence: number | null;
}

export class KubeError extends Error {
  override readonly name = 'KubeError';
  readonly code: KubeErrorCode;
  readonly transient: boolean;
  /** HTTP status, when the API server answered. */
  readonly status: number | null;
  /** `reason` of the server's Status body (NotFound, Conflict, AlreadyExists, ...). */
  readonly reason: string | null;
  readonly retryAfterMs: number | null;
  readonly causes: { field: string; message: string }[];
  readonly permission: MissingPermission | null;
  readonly region: string | null;
  readonly found: FoundLive | null;

  constructor(code: KubeErrorCode, message: string, options: KubeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.transient = options.transient ?? false;
    this.status = options.status ?? null;
    this.reason = options.reason ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.causes = options.causes ?? [];
    this.permission = options.permission ?? null;
    this.region = options.region ?? null;
    this.found = options.found ?? null;
  }
}

export function isKubeError(error: unknown, code?: KubeErrorCode): error is KubeError {
  return error instanceof KubeError && (code === undefined || error.code === code);
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { retryAfterSeconds?: number; causes?: { field?: string; message?: string }[] };
}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/**
 * Classify anything a client-node call can throw: ApiException (code + Status body), a watch
 * failure (`statusCode`), a network error (FetchError with a system code) or a request timeout.
 */
export function toKubeError(error: unknown, op?: KubeOperation): KubeError {
  if (error instanceof KubeError) return error;
  const where = op?.region ? `${op.region}: ` : '';
  const region = op?.region ?? null;
  const status = httpStatusOf(error);
  if (status !== null) {
    const body = statusBodyOf(error);
    const headers = (error as { headers?: Record<string, string> }).headers ?? {};
    return fromStatus(status, body, headers, op, where, region, error);
  }
  const record = (error ?? {}) as { name?: string; code?: string; type?: string; message?: string; cause?: { code?: string } };
  if (record.name === 'AbortError' || record.type === 'aborted' || record.name === 'TimeoutError') {
    return new KubeError('timeout', `${where}the API server did not answer ${describe(op)} in time`, { transient: true, region, cause: error });
  }
  const code = record.code ?? record.cause?.code;
  if ((code !== undefined && networkCodes.has(code)) || record.type === 'system' || record.name === 'FetchError') {
    return new KubeError('unreachable', `${where}the API server is unreachable (${code ?? 'network error'}) while trying to ${describe(op)}`, { transient: true, region, cause: error });
  }
  const message = record.message ?? String(error);
  return new KubeError('unknown', `${where}${describe(op)} failed: ${message}`, { region, cause: error });
}

function fromStatus(status: number, body: StatusBody | null, headers: Record<string, string>, op: KubeOperation | undefined, where: string, region: string | null, cause: unknown): KubeError {
  const serverMessage = body?.message ?? null;
  const reason = body?.reason ?? null;
  const common = { status, reason, region, cause };
  const said = serverMessage ?? `${describe(op)}: HTTP ${status}`;
  switch (status) {
    case 400:
      return new KubeError('bad-request', `${where}${said}`, common);
    case 401:
      return new KubeError('unauthorized', `${where}the API server rejected the credentials (HTTP 401): check the kubeconfig user or the service account token`, common);
    case 403: {
      const permission = permissionFrom(serverMessage, op);
      const scope = permission.namespace ? ` in namespace "${permission.namespace}"` : '';
      const group = permission.group ? `.${permission.group}` : '';
      return new KubeError('forbidden', `${where}missing permission: "${permission.verb}" on ${permission.resource}${group}${scope} (grant it in the Role of config/rbac.yaml)`, { ...common, permission });
    }
    case 404:
      return new KubeError('not-found', `${where}${said}`, common);
    case 409:
      if (reason === 'AlreadyExists') return new KubeError('already-exists', `${where}${said}`, common);
      return new KubeError('conflict', `${where}${said}`, { ...common, transient: true });
    case 415:
      return new KubeError('unsupported-media-type', `${where}${said}`, common);
    case 422: {
      const causes = (body?.details?.causes ?? []).map((c) => ({ field: c.field ?? '', message: c.message ?? '' }));
      return new KubeError('invalid', `${where}${said}`, { ...common, causes });
    }
    default:
      break;
  }
  if (status === 429 || status >= 500) {
    const retryAfterMs = retryAfterOf(headers, body);
    const code = status === 504 ? 'timeout' : 'transient';
    return new KubeError(code, `${where}the API server answered ${status} (${reason ?? 'transient'}) to ${describe(op)}`, { ...common, transient: true, retryAfterMs });
  }
  return new KubeError('unknown', `${where}${said}`, common);
}

/** `User "x" cannot patch resource "services" in API group "" in the namespace "production"` */
const forbiddenPattern = /cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/;

function permissionFrom(message: string | null, op: KubeOperation | undefined): MissingPermission {
  const match = message ? forbiddenPattern.exec(message) : null;
  if (match) return { verb: match[1]!, resource: match[2]!, group: match[3]!, namespace: match[4] ?? null };
  // A server-side apply that would create the object passed the patch check and failed the create
  // check, which the server reports without naming the verb ('... is forbidden: ').
  const createOnApply = op?.verb === 'patch' && message !== null && /is forbidden: $/.test(message);
  return { verb: createOnApply ? 'create' : (op?.verb ?? 'unknown'), resource: op?.resource ?? 'unknown', group: op?.group ?? '', namespace: op?.namespace ?? null };
}

function httpStatusOf(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null;
  const record = error as { code?: unknown; statusCode?: unknown; body?: unknown; headers?: unknown };
  // ApiException carries the HTTP status in `code` (a number); system errors carry a string code.
  if (typeof record.code === 'number' && 'headers' in record) return record.code;
  if (typeof record.statusCode === 'number') return record.statusCode;
  return null;
}

function statusBodyOf(error: unknown): StatusBody | null {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? (parsed) : null;
    } catch {
      return null;
    }
  }
  return typeof body === 'object' && body !== null ? (body) : null;
}

function retryAfterOf(headers: Record<string, string>, body: StatusBody | null): number | null {
  const header = headers['retry-after'] ?? headers['Retry-After'];
  if (header !== undefined) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  const fromBody = body?.details?.retryAfterSeconds;
  return typeof fromBody === 'number' && fromBody >= 0 ? fromBody * 1000 : null;
}

function describe(op: KubeOperation | undefined): string {
  if (!op) return 'the request';
  return `${op.verb} ${op.resource}${op.name ? ` "${op.name}"` : ''}`;
}
