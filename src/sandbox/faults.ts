/** Faults one region's API server injects into every request (except its control endpoint). */
export interface FaultSettings {
  /** 0..1: share of requests answered with 500, 503 or 429. */
  errorRate: number;
  /** Added before every answer. */
  latencyMs: number;
  /** Connections are reset without an answer, as when the API is unreachable. */
  unreachable: boolean;
}

const defaults: FaultSettings = { errorRate: 0, latencyMs: 0, unreachable: false };

/** Mutable fault settings, shared between a region's API server and whoever steers it. */
export class Faults {
  private current: FaultSettings;

  constructor(initial: Partial<FaultSettings> = {}) {
    this.current = checked({ ...defaults, ...initial });
  }

  get settings(): FaultSettings {
    return { ...this.current };
  }

  set(patch: Partial<FaultSettings>): void {
    this.current = checked({ ...this.current, ...patch });
  }
}

/** Throws on settings that make no sense; the control endpoint answers those with 400. */
export function checked(settings: FaultSettings): FaultSettings {
  const { errorRate, latencyMs, unreachable } = settings;
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) throw new RangeError(`errorRate must be a number from 0 to 1, got ${String(errorRate)}`);
  if (typeof latencyMs !== 'number' || !(latencyMs >= 0) || !Number.isFinite(latencyMs)) throw new RangeError(`latencyMs must be a number >= 0, got ${String(latencyMs)}`);
  if (typeof unreachable !== 'boolean') throw new RangeError(`unreachable must be a boolean, got ${String(unreachable)}`);
  return { errorRate, latencyMs, unreachable };
}
