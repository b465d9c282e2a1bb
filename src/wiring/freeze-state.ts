import type { Config } from '../config/index.js';
import { freezesInForce, type Freeze, type Stop } from '../core/freeze.js';
import { createRedis, queueSettingsOf, targetOf } from '../queue/connection.js';
import { FreezeStore, freezesInEffect } from '../queue/freezes.js';

export interface LineState {
  /** Freezes in force at the time asked (configured windows and ad-hoc ones). */
  freezes: Freeze[];
  stops: Stop[];
}

/**
 * Freezes and stops of `environment` for these apps, for the CLI: one short-lived Redis
 * connection (the configured windows need none, the ad-hoc freezes and the stops live in Redis).
 * Throws when Redis cannot answer: a release tool does not guess that nothing is frozen.
 */
export async function readLineState(config: Config, environment: string, apps: readonly string[], t: number): Promise<LineState> {
  const redis = createRedis(targetOf(queueSettingsOf(config)), 'client');
  try {
    const [freezes, stops] = await Promise.all([
      freezesInEffect(redis, config.redis.prefix, config, environment, apps, t),
      new FreezeStore(redis, config.redis.prefix).stops(environment, apps),
    ]);
    return { freezes: freezesInForce(freezes, null, t), stops };
  } catch (error) {
    throw new Error(`could not read the freezes and stops of ${environment} from Redis: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    redis.disconnect();
  }
}
