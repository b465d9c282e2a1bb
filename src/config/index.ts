export { toAppSpec } from './app-spec.js';
export { ciContext, type CiContext } from './ci.js';
export { ConfigError, formatIssue, type ConfigErrorCode, type ConfigIssue } from './errors.js';
export {
  accessFor,
  defaultConfigPath,
  defaultEnvironment,
  environmentsOf,
  findApp,
  findEnvironment,
  loadConfig,
  parseConfig,
  resolveConfigPath,
  type AppConfig,
  type ApprovalsConfig,
  type Config,
  type EnvironmentConfig,
  type Policy,
  type RegionConfig,
  type RetentionConfig,
  type WorkerConfig,
} from './load-config.js';
export { describeRedisTarget, hashTagOf, type RedisAuth, type RedisNode, type RedisTarget } from './redis-target.js';
export { RuntimeSettings, Secrets, logLevels, type LogLevel } from './runtime.js';
export { commandActions, gateableActions, type CommandAction, type GateableAction } from './schema.js';
export { configuredFreezes, type FreezeWindow } from './freeze-windows.js';
