import { checked, type FaultSettings } from '../faults.js';

/**
 * Faults the Slack stand-in injects into Web API calls (and, with `responseUrls`, into response
 * URL posts), changed at runtime like the Kubernetes sandbox's: `GET/PUT /sandbox/faults`.
 * - `errorRate`: share of calls answered 500 `fatal_error` or 503 `service_unavailable` (Slack's
 *   names for both, in every method's error list), chosen by `errorStatus` (default: either).
 * - `latencyMs`: added before every answer.
 * - `stallRate`/`stallMs`: the call is carried out (the message is posted) but answered `stallMs`
 *   later, so a client with a shorter timeout retries a change that was made.
 * - `unreachable`: connections are reset without an answer.
 * - `methods`: only these methods are faulted (null: all).
 */
export interface SlackFaultSettings extends FaultSettings {
  errorStatus: 500 | 503 | null;
  methods: string[] | null;
  responseUrls: boolean;
}

const defaults: SlackFaultSettings = { errorRate: 0, latencyMs: 0, unreachable: false, stallRate: 0, stallMs: 2000, errorStatus: null, methods: null, responseUrls: false };
const keys = Object.keys(defaults) as (keyof SlackFaultSettings)[];

export class SlackFaults {
  private current: SlackFaultSettings = { ...defaults };

  get settings(): SlackFaultSettings {
    return { ...this.current, methods: this.current.methods ? [...this.current.methods] : null };
  }

  /** Changes some settings; throws a RangeError naming the first bad one (the endpoint answers 400). */
  set(patch: Record<string, unknown>): void {
    const unknown = Object.keys(patch).filter((key) => !keys.includes(key as keyof SlackFaultSettings));
    if (unknown.length > 0) throw new RangeError(`unknown fault settings: ${unknown.join(', ')}`);
    const next = { ...this.current, ...patch };
    checked(next);
    if (next.errorStatus !== null && next.errorStatus !== 500 && next.errorStatus !== 503) throw new RangeError(`errorStatus must be 500, 503 or null, got ${String(next.errorStatus)}`);
    if (next.methods !== null && !(Array.isArray(next.methods) && next.methods.every((m) => typeof m === 'string'))) throw new RangeError('methods must be a list of method names or null');
    if (typeof next.responseUrls !== 'boolean') throw new RangeError(`responseUrls must be a boolean, got ${String(next.responseUrls)}`);
    this.current = next;
  }

  reset(): void {
    this.current = { ...defaults };
  }

  /** Whether a call of `method` (or a response URL post, `method` undefined) is subject to the faults. */
  applies(method: string | undefined): boolean {
    if (method === undefined) return this.current.responseUrls;
    return this.current.methods === null || this.current.methods.includes(method);
  }
}

export interface FaultPlan {
  resetConnection: boolean;
  delayMs: number;
  /** Answer with this status instead of carrying the call out. */
  errorStatus: 500 | 503 | null;
  stallMs: number;
}

/** What the faults do to one call, drawn now. */
export function drawFault(settings: SlackFaultSettings, random: () => number = Math.random): FaultPlan {
  const errorStatus = settings.errorRate > 0 && random() < settings.errorRate ? (settings.errorStatus ?? (random() < 0.5 ? 500 : 503)) : null;
  const stallMs = errorStatus === null && settings.stallRate > 0 && random() < settings.stallRate ? settings.stallMs : 0;
  return { resetConnection: settings.unreachable, delayMs: settings.latencyMs, errorStatus, stallMs };
}
