/**
 * Readiness: every dependency the process needs answers now. Results are cached for a few
 * seconds so frequent probes (several replicas, several probers) do not hammer Redis or the
 * Kubernetes APIs.
 */

export interface ReadinessCheck {
  /** Shown in the report, e.g. "redis" or "region eu-west". */
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) when it does not. */
  check(): Promise<void>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  /** Why the check failed; absent when ok. */
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: CheckResult[];
  /** Names of the checks that failed. */
  failed: string[];
  checkedAt: string;
}

export interface ReadinessOptions {
  /** How long a report is reused; default 3 s. */
  cacheMs?: number;
  /** A check that takes longer fails; default 2 s. */
  timeoutMs?: number;
  now?: () => number;
}

/** A function answering the current readiness report, at most one round of checks per cacheMs. */
export function createReadiness(checks: readonly ReadinessCheck[], options: ReadinessOptions = {}): () => Promise<ReadinessReport> {
  const cacheMs = options.cacheMs ?? 3_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const now = options.now ?? Date.now;
  let cached: { at: number; report: Promise<ReadinessReport> } | null = null;
  return () => {
    const at = now();
    if (cached && at - cached.at < cacheMs) return cached.report;
    const report = runChecks(checks, timeoutMs);
    cached = { at, report };
    return report;
  };
}

async function runChecks(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map((check) => runCheck(check, timeoutMs)));
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  return { ready: failed.length === 0, checks: results, failed, checkedAt: new Date().toISOString() };
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return { name: check.name, ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { name: check.name, ok: false, ms: Math.round(performance.now() - started), error: text.split('\n')[0]!.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}
