import { configuredFreezes, findEnvironment, type Config } from '../config/index.js';
import { allApps, type Freeze, type Scope, type Stop } from '../core/freeze.js';
import { appendAudit } from './audit.js';
import type { RedisClient } from './connection.js';

/**
 * Ad-hoc freezes and stops in Redis. A freeze is one key per environment and scope (`all` or an
 * app) that expires with the freeze (PX), so a forgotten freeze lifts itself; a stop lasts until
 * someone resumes. Both are audited. Readers name the scopes they care about (no SCAN, so this
 * works on Redis Cluster with a hash-tagged prefix).
 */

export function freezeKey(prefix: string, environment: string, scope: Scope): string {
  return `${prefix}:freeze:${environment}:${scope}`;
}

export function stopKey(prefix: string, environment: string, scope: Scope): string {
  return `${prefix}:stop:${environment}:${scope}`;
}

export class FreezeStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Freeze `scope` until `freeze.until` (replacing an earlier ad-hoc freeze of the same scope). */
  async freeze(freeze: Omit<Freeze, 'source'>): Promise<void> {
    const ttl = Math.max(1, freeze.until - freeze.from);
    await this.redis.set(freezeKey(this.prefix, freeze.environment, freeze.scope), JSON.stringify({ ...freeze, source: 'ad-hoc' }), 'PX', ttl);
    await this.audit('frozen', freeze.scope, freeze.environment, freeze.by, freeze.from, `until ${new Date(freeze.until).toISOString()}: ${freeze.reason}`);
  }

  /** Lift the ad-hoc freeze of `scope`; answers whether there was one. */
  async unfreeze(environment: string, scope: Scope, by: string, at: number): Promise<boolean> {
    return this.lift(freezeKey(this.prefix, environment, scope), 'unfrozen', scope, environment, by, at, 'freeze lifted');
  }

  /** Ad-hoc freezes of `environment` for these apps and `all`. */
  async freezes(environment: string, apps: readonly string[]): Promise<Freeze[]> {
    return this.read<Freeze>(environment, apps, freezeKey);
  }

  async stop(stop: Stop): Promise<void> {
    await this.redis.set(stopKey(this.prefix, stop.environment, stop.scope), JSON.stringify(stop));
    await this.audit('stopped', stop.scope, stop.environment, stop.by, stop.at, `stop-the-line${stop.rollback ? ' with rollback' : ''}: ${stop.reason}`);
  }

  async resume(environment: string, scope: Scope, by: string, at: number): Promise<boolean> {
    return this.lift(stopKey(this.prefix, environment, scope), 'resumed', scope, environment, by, at, 'stop lifted');
  }

  async stops(environment: string, apps: readonly string[]): Promise<Stop[]> {
    return this.read<Stop>(environment, apps, stopKey);
  }

  private async read<T>(environment: string, apps: readonly string[], key: (prefix: string, environment: string, scope: Scope) => string): Promise<T[]> {
    const scopes = [allApps, ...apps.filter((a) => a !== allApps)];
    const values = await Promise.all(scopes.map((scope) => this.redis.get(key(this.prefix, environment, scope))));
    return values.flatMap((raw) => {
      if (raw === null) return [];
      try {
        return [JSON.parse(raw) as T];
      } catch {
        return [];
      }
    });
  }

  /** Delete a freeze or a stop; only a lift that removed something is audited. */
  private async lift(key: string, kind: 'unfrozen' | 'resumed', scope: Scope, environment: string, by: string, at: number, detail: string): Promise<boolean> {
    const removed = await this.redis.del(key);
    if (removed > 0) await this.audit(kind, scope, environment, by, at, detail);
    return removed > 0;
  }

  private async audit(kind: 'frozen' | 'unfrozen' | 'stopped' | 'resumed', scope: Scope, environment: string, actor: string, at: number, detail: string): Promise<void> {
    await appendAudit(this.redis, this.prefix, { at: new Date(at).toISOString(), kind, app: scope, environment, actor, requestId: `${kind}-${environment}-${scope}-${at}`, detail });
  }
}

/** Every freeze of `environment` around `t` for these apps (and `all`): configured windows and ad-hoc ones. */
export async function freezesInEffect(redis: RedisClient, prefix: string, config: Config, environment: string, apps: readonly string[], t: number): Promise<Freeze[]> {
  const env = findEnvironment(config, environment);
  if (!env) return [];
  const adHoc = await new FreezeStore(redis, prefix).freezes(environment, apps);
  return [...configuredFreezes(env, Object.keys(config.apps), t), ...adHoc];
}
