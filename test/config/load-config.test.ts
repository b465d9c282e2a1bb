/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- tables mutate arbitrary YAML data */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  ConfigError,
  defaultEnvironment,
  environmentsOf,
  findApp,
  findEnvironment,
  loadConfig,
  parseConfig,
  resolveConfigPath,
  toAppSpec,
} from '../../src/config/index.js';
import { planPromotion } from '../../src/core/plan-promotion.js';
import { planCleanup } from '../../src/core/retention.js';

const examplePath = new URL('../../config/cutover.example.yaml', import.meta.url).pathname;

/** A minimal valid config as data; tests mutate a copy. */
function minimal(): Record<string, any> {
  return {
    apps: { shop: { image: 'registry.example.com/shop:{version}' } },
    environments: {
      production: {
        regions: [
          { name: 'eu-west', namespace: 'production', liveUrl: 'http://127.0.0.1:18081' },
          { name: 'us-east', namespace: 'production', liveUrl: 'http://127.0.0.1:18082' },
        ],
      },
    },
  };
}

function parse(data: unknown, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(stringify(data), env, 'cutover.yaml');
}

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the example config', () => {
  it('parses and targets the sandbox', () => {
    const config = loadConfig(examplePath, {});
    const production = findEnvironment(config, 'production')!;
    expect(production.regions.map((r) => [r.name, r.context, r.kubeconfig, r.namespace, r.liveUrl])).toEqual([
      ['eu-west', 'eu-west', '.sandbox/kubeconfig', 'production', 'http://127.0.0.1:18081'],
      ['us-east', 'us-east', '.sandbox/kubeconfig', 'production', 'http://127.0.0.1:18082'],
    ]);
    expect(production.policy.bakeSeconds).toBe(2);
    expect(production.slack.approvals.gated).toEqual(['deploy', 'promote']);
    expect(findEnvironment(config, 'staging')!.regions).toHaveLength(1);
    expect(findEnvironment(config, 'staging')!.slack.approvals.gated).toEqual([]);
    expect(findApp(config, 'shop')!.image).toBe('registry.example.com/shop:{version}');
    expect(defaultEnvironment(config, 'promote')?.name).toBe('production');
    expect(defaultEnvironment(config, 'deploy')?.name).toBe('staging');
  });
});

describe('defaults', () => {
  const config = parse(minimal());
  const app = config.apps.shop!;
  const env = config.environments.production!;
  it.each([
    ['containerPort', app.containerPort, 8080],
    ['replicas', app.replicas, 2],
    ['healthPath', app.healthPath, '/healthz'],
    ['versionHeader', app.versionHeader, 'x-app-version'],
    ['routing', app.routing, 'ingress'],
    ['hosts', app.hosts, []],
    ['labelKeys', app.labelKeys, { name: 'app.kubernetes.io/name', version: 'app.kubernetes.io/version' }],
    ['terminationGracePeriodSeconds', app.terminationGracePeriodSeconds, 30],
    ['slack channels', app.slack.channels, []],
    ['redis prefix', config.redis.prefix, 'cutover'],
    ['bakeSeconds', env.policy.bakeSeconds, 30],
    ['readyTimeoutSeconds', env.policy.readyTimeoutSeconds, 300],
    ['verifyTimeoutSeconds', env.policy.verifyTimeoutSeconds, 60],
    ['minReadyReplicas', env.policy.minReadyReplicas, 1],
    ['healthSamples', env.policy.healthSamples, 10],
    ['autoRollback', env.policy.autoRollback, true],
    ['onRegionUnreachable', env.policy.onRegionUnreachable, 'rollback'],
    ['retention', env.policy.retention, { keep: 3, minAgeSinceLiveHours: 24, graceAfterInstallHours: 1 }],
    ['lockTtlSeconds', env.policy.lockTtlSeconds, 60],
    ['cleanupTimezone', env.policy.cleanupTimezone, 'UTC'],
    ['gated (unprotected)', env.slack.approvals.gated, []],
    ['approveReaction', env.slack.approvals.approveReaction, 'white_check_mark'],
    ['rejectReaction', env.slack.approvals.rejectReaction, 'x'],
    ['expiresMinutes', env.slack.approvals.expiresMinutes, 30],
    ['required approvals', env.slack.approvals.required, 1],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('names apps and environments and keeps region order', () => {
    expect(app.name).toBe('shop');
    expect(env.name).toBe('production');
    expect(env.regions.map((r) => r.name)).toEqual(['eu-west', 'us-east']);
    expect(environmentsOf(config, app).map((e) => e.name)).toEqual(['production']);
    expect(defaultEnvironment(config, 'promote')?.name).toBe('production');
  });

  it('does not resolve untrusted names through Object.prototype', () => {
    expect(findApp(config, 'constructor')).toBeUndefined();
    expect(findEnvironment(config, '__proto__')).toBeUndefined();
  });
});

type Mutation = (c: Record<string, any>) => void;

describe('a bad config names the field and why', () => {
  it.each<[string, Mutation, string]>([
    ['missing namespace', (c) => delete c.environments.production.regions[1].namespace, 'environments.production.regions[1].namespace: Required'],
    ['no regions', (c) => (c.environments.production.regions = []), 'environments.production.regions: needs at least one region'],
    ['duplicate region', (c) => (c.environments.production.regions[1].name = 'eu-west'), 'environments.production.regions[1].name: region "eu-west" is listed twice'],
    ['bad namespace', (c) => (c.environments.production.regions[0].namespace = 'Prod_1'), 'environments.production.regions[0].namespace: must be a Kubernetes namespace name'],
    ['bad liveUrl', (c) => (c.environments.production.regions[0].liveUrl = 'ftp://x'), 'environments.production.regions[0].liveUrl: must be an http:// or https:// URL'],
    ['context without kubeconfig', (c) => (c.environments.production.regions[0].context = 'eu-west'), 'environments.production.regions[0].context: needs a kubeconfig'],
    ['image without {version}', (c) => (c.apps.shop.image = 'shop:latest'), 'apps.shop.image: must contain {version}'],
    ['replicas as text', (c) => (c.apps.shop.replicas = 'two'), 'apps.shop.replicas: expected a number, got "two"'],
    ['replicas fraction', (c) => (c.apps.shop.replicas = 1.5), 'apps.shop.replicas: expected an integer'],
    ['routing unknown', (c) => (c.apps.shop.routing = 'nginx'), 'apps.shop.routing: must be one of "ingress", "gateway", got "nginx"'],
    ['gateway missing', (c) => (c.apps.shop.routing = 'gateway'), 'apps.shop.gateway: Required when routing is gateway'],
    ['misspelt key', (c) => (c.apps.shop.replica = 3), 'apps.shop.replica: unknown field'],
    ['bad app name', (c) => (c.apps.Shop_1 = c.apps.shop), 'apps.Shop_1: "Shop_1" is not a valid app name'],
    ['bad env name', (c) => (c.environments.Prod = c.environments.production), 'environments.Prod: "Prod" is not a valid environment name'],
    ['unknown env in app', (c) => (c.apps.shop.environments = ['prod']), 'apps.shop.environments[0]: unknown environment "prod": environments are production'],
    ['no apps', (c) => (c.apps = {}), 'apps: needs at least one app'],
    ['bad cron', (c) => (c.environments.production.policy = { cleanupCron: '0 0 0 3 * * *' }), 'environments.production.policy.cleanupCron: "0 0 0 3 * * *" is not a cron expression BullMQ can schedule: Invalid cron expression, too many fields'],
    ['cron out of range', (c) => (c.environments.production.policy = { cleanupCron: '0 25 * * *' }), 'got value 25 expected range 0-23'],
    ['cron that never fires', (c) => (c.environments.production.policy = { cleanupCron: '0 0 30 2 *' }), 'environments.production.policy.cleanupCron: "0 0 30 2 *" is not a cron expression BullMQ can schedule'],
    ['time zone not IANA', (c) => (c.environments.production.policy = { cleanupCron: '0 3 * * *', cleanupTimezone: '+01:00' }), 'environments.production.policy.cleanupTimezone: "+01:00" is not an IANA time zone name'],
    ['unknown time zone', (c) => (c.environments.production.policy = { cleanupTimezone: 'Mars/Olympus_Mons' }), 'environments.production.policy.cleanupTimezone: "Mars/Olympus_Mons" is not an IANA time zone name'],
    ['negative bake', (c) => (c.environments.production.policy = { bakeSeconds: -1 }), 'environments.production.policy.bakeSeconds: must be 0 or more seconds'],
    ['unreachable option', (c) => (c.environments.production.policy = { onRegionUnreachable: 'retry' }), 'policy.onRegionUnreachable: must be one of "rollback", "hold"'],
    ['minReady above replicas', (c) => (c.environments.production.policy = { minReadyReplicas: 3 }), 'apps.shop.replicas: 2 is below environments.production.policy.minReadyReplicas (3)'],
    ['protected without approvers', (c) => (c.environments.production.protected = true), 'environments.production.slack.approvals.approvers: deploy and promote need approval here'],
    ['approver as a name', (c) => (c.environments.production.slack = { approvals: { approvers: { users: ['@alice'] } } }), 'approvers.users[0]: must be a Slack user id such as U024BE7LH, not a name'],
    ['channel as a name', (c) => (c.apps.shop.slack = { channels: ['#shop'] }), 'apps.shop.slack.channels[0]: must be a Slack channel id'],
    ['gates without Prometheus', (c) => (c.environments.production.policy = { gates: { errors: { query: 'vector(0)', condition: '< 0.01' } } }), 'environments.production.regions[0].prometheus: Required by policy.gates: set prometheus.url for the environment or for this region'],
    ['idle cleanup without Prometheus', (c) => (c.environments.production.policy = { retention: { idle: {} } }), 'environments.production.regions[1].prometheus: Required by policy.retention.idle'],
    ['bad gate condition', (c) => {
      c.environments.production.prometheus = { url: 'http://prometheus:9090' };
      c.environments.production.policy = { gates: { errors: { query: 'vector(0)', condition: 'below 1%' } } };
    }, 'environments.production.policy.gates.errors.condition: "below 1%" is not a condition: write an operator (<, <=, >, >=, ==, !=) and a number, e.g. "< 0.01"'],
    ['unknown placeholder in a gate', (c) => {
      c.environments.production.prometheus = { url: 'http://prometheus:9090' };
      c.environments.production.policy = { gates: { errors: { query: 'x{cluster="{{cluster}}"}', condition: '< 1' } } };
    }, 'environments.production.policy.gates.errors.query: unknown placeholder {{cluster}}: use {{app}}, {{version}}, {{region}}, {{namespace}}'],
    ['gate name with a space', (c) => {
      c.environments.production.prometheus = { url: 'http://prometheus:9090' };
      c.environments.production.policy = { gates: { 'error ratio': { query: 'vector(0)', condition: '< 1' } } };
    }, 'must be a gate name'],
    ['bad prometheus url', (c) => (c.environments.production.regions[0].prometheus = { url: 'prometheus:9090' }), 'environments.production.regions[0].prometheus.url: must be an http:// or https:// URL'],
    ['idle window too short', (c) => {
      c.environments.production.prometheus = { url: 'http://prometheus:9090' };
      c.environments.production.policy = { retention: { idle: { windowMinutes: 0 } } };
    }, 'environments.production.policy.retention.idle.windowMinutes: must be at least 1 second'],
    ['two defaults for promote', (c) => {
      c.environments.staging = { ...structuredClone(c.environments.production), defaultFor: ['promote'] };
      c.environments.production.defaultFor = ['promote'];
    }, 'environments.staging.defaultFor[0]: promote already defaults to environment production'],
  ])('%s', (_name, mutate, expected) => {
    const data = minimal();
    mutate(data);
    const error = errorOf(() => parse(data));
    expect(error.code).toBe('invalid');
    expect(error.message).toContain(expected);
    expect(error.message.split('\n').every((line) => line.startsWith('cutover.yaml: '))).toBe(true);
  });

  it('reports every problem at once, one line each', () => {
    const data = minimal();
    data.environments.production.regions[0].liveUrl = 'ftp://example.com';
    data.apps.shop.containerPort = 70000;
    const error = errorOf(() => parse(data));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['apps.shop.containerPort', 'environments.production.regions[0].liveUrl']);
    expect(error.message.split('\n')).toHaveLength(2);
  });

  it('reports YAML syntax errors with their line', () => {
    const error = errorOf(() => parseConfig('apps:\n  shop: [\n', {}, 'cutover.yaml'));
    expect(error.code).toBe('yaml');
    expect(error.message).toMatch(/^cutover\.yaml: line \d+, column \d+: /);
  });

  it('reports duplicate keys', () => {
    const error = errorOf(() => parseConfig('apps: {}\napps: {}\n', {}, 'cutover.yaml'));
    expect(error.code).toBe('yaml');
    expect(error.message).toContain('unique');
  });
});

describe('gateway routing and approvals', () => {
  it('accepts a gateway app and a protected environment with approvers', () => {
    const data = minimal();
    Object.assign(data.apps.shop, { routing: 'gateway', gateway: { name: 'public', namespace: 'gateways' }, replicas: 3, resources: { requests: { cpu: 1 } } });
    data.environments.production.protected = true;
    data.environments.production.slack = { approvals: { approvers: { usergroups: ['S0PLATFORM1'] }, gated: ['promote', 'rollback'] } };
    const config = parse(data);
    const spec = toAppSpec(config.apps.shop!);
    expect(spec).toMatchObject({ name: 'shop', routing: 'gateway', gateway: { name: 'public', namespace: 'gateways' }, replicas: 3, resources: { requests: { cpu: '1' } } });
    expect(spec).not.toHaveProperty('slack');
    expect(spec).not.toHaveProperty('environments');
    expect(config.environments.production!.slack.approvals.gated).toEqual(['promote', 'rollback']);
  });
});

describe('${ENV} substitution', () => {
  it.each([
    ['a set variable', 'http://${EU_HOST}:18081', { EU_HOST: '10.0.0.1' }, 'http://10.0.0.1:18081'],
    ['a fallback', 'http://${EU_HOST:-127.0.0.1}:18081', {}, 'http://127.0.0.1:18081'],
    ['a fallback for an empty value', 'http://${EU_HOST:-127.0.0.1}:18081', { EU_HOST: '' }, 'http://127.0.0.1:18081'],
  ])('substitutes %s', (_name, value, env, expected) => {
    const data = minimal();
    data.environments.production.regions[0].liveUrl = value;
    expect(parse(data, env).environments.production!.regions[0]!.liveUrl).toBe(expected);
  });

  it('keeps $${ as a literal ${ and never re-parses substituted text as YAML', () => {
    const data = minimal();
    data.apps.shop.env = { TEMPLATE: '$${NOT_A_VAR}', DSN: '${DSN}' };
    const config = parse(data, { DSN: 'a: b\n- [c' });
    expect(config.apps.shop!.env).toEqual({ TEMPLATE: '${NOT_A_VAR}', DSN: 'a: b\n- [c' });
  });

  it.each([
    ['missing', '${DB_PASSWORD}', 'apps.shop.env.DB: environment variable DB_PASSWORD is not set'],
    ['malformed', '${DB PASSWORD}', 'apps.shop.env.DB: malformed reference "${DB PASSWORD}"'],
    ['unterminated', 'x${DB', 'apps.shop.env.DB: malformed reference "${"'],
  ])('names a %s variable and its field', (_name, value, expected) => {
    const data = minimal();
    data.apps.shop.env = { DB: value };
    expect(errorOf(() => parse(data)).message).toContain(expected);
  });

  it('never shows a substituted value in an error line: it names the field and the variable', () => {
    const data = minimal();
    data.apps.shop.routing = '${ROUTING}';
    data.apps.shop.healthPath = '${HEALTH}';
    const message = errorOf(() => parse(data, { ROUTING: 's3cr3t-value-1234', HEALTH: 'also-secret-5678' })).message;
    expect(message).not.toContain('s3cr3t-value-1234');
    expect(message).not.toContain('also-secret-5678');
    expect(message).toContain('apps.shop.routing');
    expect(message).toContain('apps.shop.healthPath');
  });

  it.each(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'REDIS_PASSWORD', 'REDIS_URL'])('refuses a reference to cutover\'s own secret %s anywhere in the file, and never copies it', (name) => {
    const data = minimal();
    data.apps.shop.env = { LEAK: `\${${name}}` };
    const secret = 'xoxb-0000-super-secret-value';
    const message = errorOf(() => parse(data, { [name]: secret, SLACK_BOT_TOKEN: secret })).message;
    expect(message).toContain(`apps.shop.env.LEAK: references \${${name}}, one of cutover's own secrets`);
    expect(message).not.toContain(secret);
  });
});

describe('runtime settings from the environment', () => {
  it('defaults', () => {
    const { runtime } = parse(minimal());
    expect(runtime.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(runtime.port).toBe(3000);
    expect(runtime.logLevel).toBe('info');
    expect(runtime.slackApiUrl).toBeNull();
    expect(runtime.secrets.slackBotToken).toBeNull();
  });

  it('reads every variable and never prints a secret', () => {
    const env = {
      REDIS_URL: 'redis://:hunter2pass@redis.internal:6380/1',
      SLACK_BOT_TOKEN: 'xoxb-secret-bot-token',
      SLACK_SIGNING_SECRET: 'signing-secret-value',
      SLACK_APP_TOKEN: 'xapp-secret-app-token',
      SLACK_API_URL: 'http://127.0.0.1:4000/api',
      PORT: '8081',
      LOG_LEVEL: 'debug',
    };
    const config = parse(minimal(), env);
    const { runtime } = config;
    expect(runtime.secrets.slackBotToken).toBe('xoxb-secret-bot-token');
    expect(runtime.secrets.slackSigningSecret).toBe('signing-secret-value');
    expect(runtime.secrets.slackAppToken).toBe('xapp-secret-app-token');
    expect(runtime.redisUrl).toBe(env.REDIS_URL);
    expect(runtime.slackApiUrl).toBe('http://127.0.0.1:4000/api/');
    expect(runtime.port).toBe(8081);
    expect(runtime.logLevel).toBe('debug');
    expect(runtime.secrets.values().sort()).toEqual(['hunter2pass', 'signing-secret-value', 'xapp-secret-app-token', 'xoxb-secret-bot-token']);
    for (const printed of [JSON.stringify(config), inspect(config, { depth: 10 }), String(runtime.secrets), `${inspect(runtime)}`]) {
      for (const secret of runtime.secrets.values()) expect(printed).not.toContain(secret);
    }
    expect(JSON.stringify(runtime)).toContain('[redacted]');
  });

  it.each([
    ['PORT', 'http', 'environment variable PORT: must be a port number from 1 to 65535, got "http"'],
    ['PORT', '70000', 'environment variable PORT: must be a port number'],
    ['LOG_LEVEL', 'verbose', 'environment variable LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'],
    ['REDIS_URL', 'localhost:6379', 'environment variable REDIS_URL: must be a redis:// or rediss:// URL'],
    ['SLACK_API_URL', 'slack', 'environment variable SLACK_API_URL: must be an http:// or https:// URL'],
  ])('refuses %s=%s', (name, value, expected) => {
    expect(errorOf(() => parse(minimal(), { [name]: value })).message).toContain(expected);
  });
});

describe('resolveConfigPath', () => {
  it.each([
    ['the flag wins', 'a.yaml', { CUTOVER_CONFIG: 'b.yaml' }, 'a.yaml'],
    ['then CUTOVER_CONFIG', undefined, { CUTOVER_CONFIG: 'b.yaml' }, 'b.yaml'],
    ['then the default', undefined, {}, './config/cutover.yaml'],
    ['an empty variable is unset', null, { CUTOVER_CONFIG: ' ' }, './config/cutover.yaml'],
  ])('%s', (_name, flag, env, expected) => {
    expect(resolveConfigPath(flag, env)).toBe(expected);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says when the file is missing', () => {
    const error = errorOf(() => loadConfig(join(dir, 'nope.yaml'), {}));
    expect(error.code).toBe('not-found');
    expect(error.message).toBe(`${join(dir, 'nope.yaml')}: file not found (pass --config <file> or set CUTOVER_CONFIG)`);
  });

  it('reads a file and expands ~ in kubeconfig paths', () => {
    const data = minimal();
    Object.assign(data.environments.production.regions[0], { kubeconfig: '~/.kube/config', context: 'eu' });
    const path = join(dir, 'cutover.yaml');
    writeFileSync(path, stringify(data));
    const config = loadConfig(path, { HOME: '/home/ops' });
    expect(config.sourcePath).toBe(path);
    expect(config.environments.production!.regions[0]!.kubeconfig).toBe('/home/ops/.kube/config');
    expect(config.environments.production!.regions[1]!.kubeconfig).toBeUndefined();
  });
});

describe('health gates and drain-aware cleanup', () => {
  it('reads gates as a list with their conditions, Prometheus per region or per environment, and the idle defaults', () => {
    const data = minimal();
    data.environments.production.prometheus = { url: 'http://prometheus.monitoring:9090' };
    data.environments.production.regions[1].prometheus = { url: 'http://prometheus.us-east:9090', timeoutSeconds: 3 };
    data.environments.production.policy = {
      gates: { 'error-ratio': { query: 'sum(rate(x{region="{{region}}"}[1m]))', condition: '< 0.01' }, p99: { query: 'vector(0.1)', condition: '<= 0.3', onNoData: 'pass' } },
      retention: { idle: {} },
    };
    const production = findEnvironment(parse(data), 'production')!;
    expect(production.policy.gates).toEqual([
      { name: 'error-ratio', query: 'sum(rate(x{region="{{region}}"}[1m]))', condition: { operator: '<', threshold: 0.01 }, onNoData: 'fail' },
      { name: 'p99', query: 'vector(0.1)', condition: { operator: '<=', threshold: 0.3 }, onNoData: 'pass' },
    ]);
    expect(production.policy.gateIntervalSeconds).toBe(10);
    expect(production.policy.retention.idle).toEqual({ windowMinutes: 30, query: expect.stringContaining('nginx_ingress_controller_requests{namespace="{{namespace}}",service="{{service}}"}[{{window}}]') });
    expect(production.prometheus).toEqual({ url: 'http://prometheus.monitoring:9090', timeoutSeconds: 10 });
    expect(production.regions[1]!.prometheus).toEqual({ url: 'http://prometheus.us-east:9090', timeoutSeconds: 3 });
  });

  it('leaves gate-less environments without gates or idle checks', () => {
    const production = findEnvironment(parse(minimal()), 'production')!;
    expect(production.policy.gates).toEqual([]);
    expect(production.policy.retention.idle).toBeUndefined();
  });
});

describe('the config drives the plans', () => {
  it('passes its policy and app spec straight to core', () => {
    const config = loadConfig(examplePath, {});
    const production = config.environments.production!;
    const spec = toAppSpec(config.apps.shop!);
    const states = production.regions.map((r) => ({
      region: r.name,
      live: { version: 'v1', previousVersion: null, promotedAt: null, promotedBy: null },
      liveRouteExists: true,
      versions: [{ version: 'v2', desiredReplicas: 2, readyReplicas: 2, updatedReplicas: 2, createdAt: '2024-01-01T00:00:00Z', retiredAt: null, hasService: true, hasRoute: true }],
    }));
    const promotion = planPromotion(states, { app: spec, environment: production.name, version: 'v2' }, production.policy);
    expect(promotion.ok && promotion.plan.steps.find((s) => s.kind === 'bake')).toEqual({ kind: 'bake', region: 'eu-west', durationMs: 2000, version: 'v2' });
    expect(planCleanup(states, { app: spec, environment: production.name }, production.policy, new Date(), []).ok).toBe(true);
  });
});

describe('apps sharing a namespace can never touch each other (refused at config load)', () => {
  it('refuses an app named like another app plus "-": shop-<version> objects would be named like it', () => {
    const data = minimal();
    data.apps['shop'].hosts = ['shop.example.com'];
    data.apps['shop-api'] = { image: 'registry.example.com/api:{version}', hosts: ['api.example.com'] };
    expect(errorOf(() => parse(data)).message).toContain(
      'apps.shop-api: shop-api and shop are both released to namespace production of eu-west (environment production): the objects of shop\'s versions are named shop-<version>, like shop-api\'s; rename one of them',
    );
  });

  it('refuses two apps whose routes overlap (no hosts, or a common host), and accepts hosts of their own', () => {
    const data = minimal();
    data.apps['cart'] = { image: 'registry.example.com/cart:{version}' };
    expect(errorOf(() => parse(data)).message).toContain('apps.shop.hosts: shop and cart are both released to namespace production of eu-west (environment production) and both route "/" for any host: give each app hosts of its own');
    data.apps['shop'].hosts = ['www.example.com'];
    data.apps['cart'].hosts = ['www.example.com'];
    expect(errorOf(() => parse(data)).message).toContain('both route "/" for www.example.com');
    data.apps['cart'].hosts = ['cart.example.com'];
    expect(() => parse(data)).not.toThrow();
  });

  it('accepts the same names in different namespaces', () => {
    const data = minimal();
    data.apps['shop-api'] = { image: 'registry.example.com/api:{version}', environments: ['staging'] };
    data.environments['staging'] = { regions: [{ name: 'eu-west', namespace: 'staging', liveUrl: 'http://127.0.0.1:18083' }] };
    data.apps['shop'].environments = ['production'];
    expect(() => parse(data)).not.toThrow();
  });

  it('checks versionPattern and versionPath', () => {
    const data = minimal();
    data.apps['shop'].versionPattern = '^v[0-9';
    data.apps['shop'].versionPath = '/_v/';
    const message = errorOf(() => parse(data)).message;
    expect(message).toContain('apps.shop.versionPattern: must be a regular expression');
    expect(message).toContain('apps.shop.versionPath: must be a path ending in "/{version}/"');
  });
});
