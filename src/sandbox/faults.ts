/** Faults one region's API server injects into every request (except its control endpoint). */
export interface FaultSettings {
  /** 0..1: share of requests answered with 500, 503 or 429. */
  errorRate: number;
  /** Added before every answer. */
  latencyMs: number;
  /** Connections are reset without an answer, as when the API is unreachable. */
  unreachable: boolean;
  /**
   * 0..1: share of requests that are carried out but answered only `stallMs` later, so a client
   * with a shorter timeout gives up on a change that was made (the hard case of a timeout).
   */
  stallRate: number;
  stallMs: number;
}

const defaults: FaultSettings = { errorRate: 0, latencyMs: 0, unreachable: false, stallRate: 0, stallMs: 2000 };

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
  const { errorRate, latencyMs, unreachable, stallRate, stallMs } = settings;
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) throw new RangeError(`errorRate must be a number from 0 to 1, got ${String(errorRate)}`);
  if (typeof latencyMs !== 'number' || !(latencyMs >= 0) || !Number.isFinite(latencyMs)) throw new RangeError(`latencyMs must be a number >= 0, got ${String(latencyMs)}`);
  if (typeof unreachable !== 'boolean') throw new RangeError(`unreachable must be a boolean, got ${String(unreachable)}`);
  if (typeof stallRate !== 'number' || !(stallRate >= 0 && stallRate <= 1)) throw new RangeError(`stallRate must be a number from 0 to 1, got ${String(stallRate)}`);
  if (typeof stallMs !== 'number' || !(stallMs >= 0) || !Number.isFinite(stallMs)) throw new RangeError(`stallMs must be a number >= 0, got ${String(stallMs)}`);
  return { errorRate, latencyMs, unreachable, stallRate, stallMs };
}
