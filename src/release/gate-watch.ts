import { describeGateReading, type GateDefinition, type GateReading } from '../core/gates.js';
import { evaluateGates, type MetricsSource } from './metrics.js';

/** A health gate failed (or could not be evaluated at the end of the bake); the region is switched back. */
export class GateFailed extends Error {
  constructor(
    message: string,
    readonly readings: GateReading[],
  ) {
    super(message);
    this.name = 'GateFailed';
  }
}

export interface GateWatch {
  gates: readonly GateDefinition[];
  metrics: MetricsSource | null | undefined;
  /** Placeholder values: app, version, region, namespace. */
  values: Record<string, string>;
  durationMs: number;
  intervalMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * The gated bake: evaluate every gate each `intervalMs` through `durationMs`, then once more at
 * its end. A value outside a gate's condition fails at once; errors and empty answers are asked
 * again, and fail only if the last evaluation still has them (fail closed). Resolves with the
 * last readings; rejects with GateFailed naming the gate, its value, its threshold and its query.
 */
export async function watchGates(watch: GateWatch): Promise<GateReading[]> {
  const started = Date.now();
  const end = started + watch.durationMs;
  let next = started + Math.max(100, watch.intervalMs);
  for (;;) {
    const until = Math.min(next, end);
    await sleep(until - Date.now(), watch.signal);
    const final = until >= end;
    const readings = await evaluateGates(watch.gates, watch.metrics, watch.values, final, watch.signal);
    const failed = readings.filter((r) => r.verdict === 'fail');
    if (failed.length > 0) {
      const after = `${((Date.now() - started) / 1000).toFixed(1)} s into the bake`;
      throw new GateFailed(`health gate failed ${after}: ${failed.map(describeGateReading).join('; ')}`, readings);
    }
    if (final) return readings;
    next += Math.max(100, watch.intervalMs);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('stopped during bake'));
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('stopped during bake'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
