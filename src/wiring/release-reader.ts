import type { Redis } from 'ioredis';
import { findApp, findEnvironment, type Config } from '../config/index.js';
import { versionsInUse } from '../queue/in-use.js';
import { observeForStatus, previewRelease } from '../release/release.js';
import type { ReleaseReader } from '../slack/ports.js';
import type { ClusterDirectory } from './release-environment.js';

/** Reads the clusters for the Slack app: previews (dry runs, approval plans) and status. */
export function releaseReader(config: Config, clusters: ClusterDirectory, redis: Redis): ReleaseReader {
  const resolve = (appName: string, environmentName: string) => {
    const app = findApp(config, appName);
    const environment = findEnvironment(config, environmentName);
    if (!app || !environment) throw new Error(`unknown app or environment: ${appName} in ${environmentName}`);
    return clusters.environment(environment, app);
  };
  return {
    async preview(query) {
      const { env, app } = resolve(query.app, query.environment);
      const inUse = query.action === 'cleanup' ? await versionsInUse(redis, config.redis.prefix, query.app, query.environment) : [];
      return previewRelease({ action: query.action, app, version: query.version, actor: query.actor }, env, { inUse });
    },
    async status(appName, environmentName) {
      const { env, app } = resolve(appName, environmentName);
      return observeForStatus(env, app);
    },
  };
}

