import { logger } from '../observability/log.js';

/**
 * The only code that talks to Prometheus: instant queries through its HTTP API
 * (`POST /api/v1/query`, form-encoded, as the API documents for long queries). Answers are read as
 * the API defines them: `{status: "success", data: {resultType, result}}`, sample values as
 * strings (`"0.05"`, `"NaN"`, `"+Inf"`), errors as `{status: "error", errorType, error}`.
 */

export interface PrometheusOptions {
  /** Base URL, e.g. `http://prometheus.monitoring:9090` (credentials in it become Basic auth, never logged). */
  url: string;
  timeoutMs: number;
}

type ApiAnswer =
  | { status: 'success'; data: { resultType: 'vector'; result: { metric: Record<string, string>; value: [number, string] }[] } | { resultType: 'scalar'; result: [number, string] } | { resultType: string; result: unknown } }
  | { status: 'error'; errorType?: string; error?: string };

export class PrometheusClient {
  /** `Prometheus at <url without credentials>`, for messages. */
  readonly description: string;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: PrometheusOptions) {
    const url = new URL(options.url);
    const basic = url.username || url.password ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` : null;
    url.username = '';
    url.password = '';
    const base = url.toString().replace(/\/+$/, '');
    this.description = `Prometheus at ${base}`;
    this.endpoint = `${base}/api/v1/query`;
    this.headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(basic ? { authorization: basic } : {}) };
  }

  /**
   * One instant query answering one number: the single sample's value, or null for no sample or
   * NaN. Rejects, saying where and why, when Prometheus cannot be reached, times out, refuses the
   * query, or answers several series (a query must aggregate them: `sum(...)`, `max(...)`).
   */
  async queryValue(promql: string, options: { signal?: AbortSignal | undefined } = {}): Promise<number | null> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const body = new URLSearchParams({ query: promql, timeout: `${Math.max(1, Math.floor(this.options.timeoutMs / 1000))}s` });
    let status: number;
    let text: string;
    try {
      const response = await fetch(this.endpoint, { method: 'POST', headers: this.headers, body, signal });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (timeout.aborted) throw new Error(`${this.description} did not answer within ${this.options.timeoutMs} ms`);
      if (options.signal?.aborted) throw new Error(`query to ${this.description} stopped: ${reasonOf(options.signal.reason)}`);
      throw new Error(`${this.description} is unreachable: ${causeOf(error)}`);
    } finally {
      logger().debug({ prometheus: this.description, query: promql, ms: Math.round(performance.now() - started) }, 'prometheus query');
    }
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(text) as ApiAnswer;
    } catch {
      throw new Error(`${this.description} answered HTTP ${status} with a body that is not Prometheus' API: ${text.slice(0, 120).trim()}`);
    }
    if (answer.status !== 'success') {
      throw new Error(`${this.description} refused the query (HTTP ${status}${answer.errorType ? `, ${answer.errorType}` : ''}): ${answer.error ?? 'no reason given'}`);
    }
    return singleValue(answer.data, this.description);
  }
}

function singleValue(data: Extract<ApiAnswer, { status: 'success' }>['data'], description: string): number | null {
  if (data.resultType === 'scalar') return sampleValue((data.result as [number, string])[1]);
  if (data.resultType !== 'vector') throw new Error(`${description} answered a ${data.resultType}: the query must answer one number (an instant vector of one series, or a scalar)`);
  const series = data.result as { metric: Record<string, string>; value: [number, string] }[];
  if (series.length === 0) return null;
  if (series.length > 1) {
    const shown = series.slice(0, 3).map((s) => `{${Object.entries(s.metric).map(([k, v]) => `${k}="${v}"`).join(',')}}`);
    throw new Error(`${description} answered ${series.length} series (${shown.join(', ')}${series.length > 3 ? ', ...' : ''}): the query must answer one number; aggregate it with sum(...) or max(...)`);
  }
  return sampleValue(series[0]!.value[1]);
}

/** Prometheus writes special floats as Go does: NaN, +Inf, -Inf. NaN is no number. */
function sampleValue(text: string): number | null {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? ` (${cause.message})` : ''}`;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function reasonOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
