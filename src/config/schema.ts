import { z } from 'zod';
import { defaultLabelKeys } from '../core/names.js';
import { appRefusal } from '../core/version.js';
import { gatePlaceholders, idlePlaceholders, parseCondition, unknownPlaceholders, type GateDefinition } from '../core/gates.js';
import { cronRefusal, timeZoneRefusal } from './cron.js';
import { reactionNameRefusal } from './reaction-names.js';
import { freezeWindowSchema } from './freeze-windows.js';

/** The YAML schema. Objects are strict, so a misspelt key is reported instead of silently ignored. */

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const hostPattern = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;
const labelKeyPattern = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** Every action a user can ask for; `defaultFor` names which environment each one uses by default. */
export const commandActions = ['deploy', 'promote', 'rollback', 'cleanup', 'bootstrap', 'status', 'history'] as const;
export type CommandAction = (typeof commandActions)[number];
/** Actions an environment can put behind an approval. */
export const gateableActions = ['deploy', 'promote', 'rollback', 'cleanup', 'bootstrap'] as const;
export type GateableAction = (typeof gateableActions)[number];

const lowerName = (what: string) =>
  z.string().regex(/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/, `must be a ${what} name: lower-case letters, digits and "-", starting with a letter, at most 40 characters`);

/** Kubernetes quantities and env values are often written as YAML numbers or booleans; they are strings to the API. */
const scalarString = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

const slackUser = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U024BE7LH, not a name');
const slackUsergroup = z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id such as SAZ94GDB8, not a handle');
const slackChannel = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C012AB3CD, not a #name');

const people = z
  .strictObject({
    users: z.array(slackUser).default([]),
    usergroups: z.array(slackUsergroup).default([]),
  })
  .prefault({});

/** A reaction name as Slack sends it in reaction events: canonical, no colons, no skin tone (reaction-names.ts). */
const reactionName = z.string().superRefine((name, ctx) => {
  const refusal = reactionNameRefusal(name);
  if (refusal !== null) ctx.addIssue({ code: 'custom', message: refusal });
});

const seconds = z.number().min(0, 'must be 0 or more seconds');

/** A PromQL template: only the placeholders it may use. */
const promqlTemplate = (allowed: readonly string[]) =>
  z
    .string()
    .min(1)
    .superRefine((query, ctx) => {
      const unknown = unknownPlaceholders(query, allowed);
      if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown placeholder ${unknown.map((n) => `{{${n}}}`).join(', ')}: use ${allowed.map((n) => `{{${n}}}`).join(', ')}` });
    });

/**
 * Requests to a version over the idle window, from ingress-nginx's metrics: what reached the
 * version's Service through any route. `or on() (0 * ...)` answers 0, not "no data", for a version
 * without a series of its own while the namespace's series are scraped; without any (Prometheus
 * does not scrape the ingress) the answer is empty and the version is kept.
 */
export const defaultIdleQuery =
  'sum(increase(nginx_ingress_controller_requests{namespace="{{namespace}}",service="{{service}}"}[{{window}}])) or on() (0 * sum(nginx_ingress_controller_requests{namespace="{{namespace}}"}))';

export const retentionSchema = z
  .strictObject({
    keep: z.int().min(1, 'must keep at least 1 version').default(3),
    minAgeSinceLiveHours: z.number().min(0).default(24),
    graceAfterInstallHours: z.number().min(0).default(1),
    /** Drain-aware cleanup: a version is deleted only once its traffic was 0 for the window (needs Prometheus). */
    idle: z
      .strictObject({
        windowMinutes: z.number().min(1 / 60, 'must be at least 1 second (1/60 minute)').default(30),
        query: promqlTemplate(idlePlaceholders).default(defaultIdleQuery),
      })
      .optional(),
  })
  .prefault({});

const gateSchema = z.strictObject({
  /** PromQL answering one number; placeholders {{app}}, {{version}}, {{region}}, {{namespace}}. */
  query: promqlTemplate(gatePlaceholders),
  /** e.g. "< 0.01" */
  condition: z.string().transform((text, ctx) => {
    const parsed = parseCondition(text);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  }),
  /** A query answering no number at the end of the bake: the gate fails (default) or passes. */
  onNoData: z.enum(['fail', 'pass']).default('fail'),
});

/** Where cutover asks Prometheus' HTTP API (/api/v1/query). */
const prometheusSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  timeoutSeconds: z.number().positive().default(10),
});

export const policySchema = z
  .strictObject({
    bakeSeconds: seconds.default(30),
    readyTimeoutSeconds: seconds.positive().default(300),
    verifyTimeoutSeconds: seconds.positive().default(60),
    minReadyReplicas: z.int().min(1).default(1),
    healthSamples: z.int().min(1).max(1000).default(10),
    autoRollback: z.boolean().default(true),
    onRegionUnreachable: z.enum(['rollback', 'hold']).default('rollback'),
    retention: retentionSchema,
    cleanupCron: z.string().optional(),
    /** IANA time zone the cleanup cron is read in (BullMQ's `tz`). */
    cleanupTimezone: z
      .string()
      .superRefine((name, ctx) => {
        const reason = timeZoneRefusal(name);
        if (reason) ctx.addIssue({ code: 'custom', message: reason });
      })
      .default('UTC'),
    lockTtlSeconds: z.number().min(5, 'must be at least 5 seconds').default(60),
    /** Health gates by name, evaluated through each switched region's bake (promotions only). */
    gates: z
      .record(z.string(), gateSchema)
      .default({})
      .superRefine((gates, ctx) => {
        for (const name of Object.keys(gates)) {
          if (!/^[A-Za-z0-9_-]{1,40}$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" must be a gate name: letters, digits, "-" and "_", at most 40` });
        }
      })
      .transform((gates): GateDefinition[] => Object.entries(gates).map(([name, gate]) => ({ name, ...gate }))),
    /** How often the gates are evaluated during a bake. */
    gateIntervalSeconds: z.number().min(0.1).default(10),
    verify: z
      .strictObject({
        /**
         * How a switched region's traffic is sampled: `ingress` (through each region's liveUrl),
         * `service-proxy` (through the API server's service proxy: no route to the ingress needed;
         * RBAC services/proxy get) or `endpoints` (EndpointSlices only, traffic not sampled).
         * Default: ingress where a region has a liveUrl, else service-proxy.
         */
        via: z.enum(['ingress', 'service-proxy', 'endpoints']).optional(),
      })
      .prefault({}),
  })
  // The cron is checked in its time zone, as BullMQ's scheduler will read it.
  .superRefine((policy, ctx) => {
    if (policy.cleanupCron === undefined || timeZoneRefusal(policy.cleanupTimezone)) return;
    const reason = cronRefusal(policy.cleanupCron, policy.cleanupTimezone);
    if (reason) ctx.addIssue({ code: 'custom', path: ['cleanupCron'], message: reason });
  })
  .prefault({});

const approvalsSchema = z
  .strictObject({
    /** Approvals needed, from distinct approvers other than the requester. */
    required: z.int().min(1).default(1),
    /** Actions that need approval; default: deploy and promote when the environment is `protected`. */
    gated: z.array(z.enum(gateableActions)).optional(),
    approvers: people,
    /** Who may ask; empty lists mean anyone in a channel the app is bound to. */
    requesters: people,
    approveReaction: reactionName.default('white_check_mark'),
    rejectReaction: reactionName.default('x'),
    expiresMinutes: z.number().positive().default(30),
    /** Per action, other requesters or approvers than the lists above (e.g. the on-call group may roll back). */
    actions: z
      .partialRecord(
        z.enum(gateableActions),
        z.strictObject({
          requesters: z.strictObject({ users: z.array(slackUser).default([]), usergroups: z.array(slackUsergroup).default([]) }).optional(),
          approvers: z.strictObject({ users: z.array(slackUser).default([]), usergroups: z.array(slackUsergroup).default([]) }).optional(),
        }),
      )
      .default({}),
  })
  .prefault({});

const regionSchema = z
  .strictObject({
    name: lowerName('region'),
    /** Path to a kubeconfig; absent: in-cluster service account. Relative paths are relative to the working directory. */
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    namespace: z.string().regex(dnsLabel, 'must be a Kubernetes namespace name (DNS-1123 label)'),
    /** Where this region's live traffic can be sampled (its ingress or gateway); absent: verification goes through the service proxy. */
    liveUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /** Host header to send with samples, when the ingress routes by host. */
    liveHost: z.string().regex(hostPattern, 'must be a host name').optional(),
    /** This region's Prometheus (health gates, drain-aware cleanup); absent: the environment's. */
    prometheus: prometheusSchema.optional(),
  })
  .superRefine((region, ctx) => {
    if (region.context !== undefined && region.kubeconfig === undefined) {
      ctx.addIssue({ code: 'custom', path: ['context'], message: 'needs a kubeconfig: without one the in-cluster service account is used, which has no contexts' });
    }
  });

const environmentSchema = z
  .strictObject({
    /** Protected environments gate deploy and promote behind approvals unless `slack.approvals.gated` says otherwise. */
    protected: z.boolean().default(false),
    regions: z.array(regionSchema).min(1, 'needs at least one region'),
    /** Prometheus for every region without one of its own. */
    prometheus: prometheusSchema.optional(),
    policy: policySchema,
    slack: z
      .strictObject({
        approvals: approvalsSchema,
        auditChannel: slackChannel.optional(),
      })
      .prefault({}),
    defaultFor: z.array(z.enum(commandActions)).default([]),
    /** Windows in which deploy, promote and cleanup are refused (freeze-windows.ts). */
    freezes: z.array(freezeWindowSchema).default([]),
    /** Who may freeze, unfreeze, stop and resume (`/release freeze|unfreeze|stop|resume`). */
    freezers: people,
    /** Users (by id: the worker checks them too) who may break glass: run a frozen action with `--override "reason"`; it still needs an approval. */
    breakGlass: z.array(slackUser).default([]),
  })
  .superRefine((env, ctx) => {
    const seen = new Set<string>();
    env.regions.forEach((region, index) => {
      if (seen.has(region.name)) ctx.addIssue({ code: 'custom', path: ['regions', index, 'name'], message: `region "${region.name}" is listed twice` });
      seen.add(region.name);
      if (env.policy.verify.via === 'ingress' && region.liveUrl === undefined) {
        ctx.addIssue({ code: 'custom', path: ['regions', index, 'liveUrl'], message: 'Required when policy.verify.via is ingress: the URL of this region\'s ingress or gateway that cutover samples' });
      }
      const needs = [env.policy.gates.length > 0 ? 'policy.gates' : null, env.policy.retention.idle ? 'policy.retention.idle' : null].filter((n) => n !== null);
      if (needs.length > 0 && region.prometheus === undefined && env.prometheus === undefined) {
        ctx.addIssue({ code: 'custom', path: ['regions', index, 'prometheus'], message: `Required by ${needs.join(' and ')}: set prometheus.url for the environment or for this region` });
      }
    });
    const gated = env.slack.approvals.gated ?? (env.protected ? ['deploy', 'promote'] : []);
    const { approvers } = env.slack.approvals;
    if (gated.length > 0 && approvers.users.length === 0 && approvers.usergroups.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['slack', 'approvals', 'approvers'],
        message: `${gated.join(' and ')} need approval here, so at least one approver user or user group is required`,
      });
    }
    if (approvers.usergroups.length === 0 && approvers.users.length > 0 && approvers.users.length < env.slack.approvals.required) {
      ctx.addIssue({
        code: 'custom',
        path: ['slack', 'approvals', 'required'],
        message: `${env.slack.approvals.required} approvals are required but only ${approvers.users.length} approver(s) are listed`,
      });
    }
  })
  .transform((env) => ({
    ...env,
    slack: { ...env.slack, approvals: { ...env.slack.approvals, gated: env.slack.approvals.gated ?? ((env.protected ? ['deploy', 'promote'] : []) as GateableAction[]) } },
  }));

const renderedInstall = {
  values: z.record(z.string(), z.unknown()).default({}),
  workload: z.string().min(1).optional(),
  suffixNames: z.boolean().default(false),
};

/** How versions are installed: cutover's own objects (default), YAML templates, or a Helm chart rendered with `helm template`. */
const installSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('builtin') }),
    z.strictObject({ kind: z.literal('manifests'), path: z.string().min(1), ...renderedInstall }),
    z.strictObject({
      kind: z.literal('helm'),
      chart: z.string().min(1),
      repo: z.url({ protocol: /^(https?|oci)$/, error: 'must be a chart repository URL (https://, http:// or oci://)' }).optional(),
      version: z.string().min(1).optional(),
      valuesFiles: z.array(z.string().min(1)).default([]),
      imageTagKey: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted values key such as image.tag').default('image.tag'),
      helmBinary: z.string().min(1).optional(),
      ...renderedInstall,
    }),
  ])
  .default({ kind: 'builtin' });

const appSchema = z
  .strictObject({
    image: z.string().refine((image) => image.includes('{version}'), 'must contain {version}, e.g. registry.example.com/shop:{version}'),
    install: installSchema,
    containerPort: z.int().min(1).max(65535).default(8080),
    replicas: z.int().min(1).max(1000).default(2),
    resources: z
      .strictObject({
        requests: z.record(z.string(), scalarString).optional(),
        limits: z.record(z.string(), scalarString).optional(),
      })
      .optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'must be an environment variable name'), scalarString).default({}),
    healthPath: z.string().startsWith('/', 'must start with "/"').default('/healthz'),
    versionHeader: z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name').default('x-app-version'),
    routing: z.enum(['ingress', 'gateway']).default('ingress'),
    gateway: z
      .strictObject({
        name: z.string().regex(dnsSubdomain, 'must be a Gateway name'),
        namespace: z.string().regex(dnsLabel, 'must be a namespace name').optional(),
      })
      .optional(),
    ingressClassName: z.string().regex(dnsSubdomain, 'must be an IngressClass name').optional(),
    /** Host names the live and version routes match; empty: any host. */
    hosts: z.array(z.string().regex(hostPattern, 'must be a host name such as shop.example.com')).default([]),
    labelKeys: z
      .strictObject({
        name: z.string().regex(labelKeyPattern, 'must be a label key').default(defaultLabelKeys.name),
        version: z.string().regex(labelKeyPattern, 'must be a label key').default(defaultLabelKeys.version),
      })
      .prefault({}),
    terminationGracePeriodSeconds: z.int().min(0).default(30),
    podAnnotations: z.record(z.string(), scalarString).default({}),
    /**
     * Every version must match this regular expression. The default (a digit, or "v" and a digit)
     * keeps the seed's `/v42/` routes from ever taking one of the app's own paths (`/api/`).
     */
    versionPattern: z
      .string()
      .refine((pattern) => compiles(pattern), 'must be a regular expression')
      .default('^v?[0-9]'),
    /** Path of a version's route: `/{version}/` (the default), or a reserved prefix such as `/_v/{version}/` when versions may be any word. */
    versionPath: z
      .string()
      .regex(/^\/([A-Za-z0-9._~-]+\/)*\{version\}\/$/, 'must be a path ending in "/{version}/", e.g. /{version}/ or /_v/{version}/')
      .default('/{version}/'),
    /**
     * Version routes strip their prefix, so the app's pods receive `/healthz` for `/v42/healthz`:
     * a Gateway API URLRewrite (ReplacePrefixMatch) filter, or for Ingress ingress-nginx's
     * rewrite-target with a regex path. Default false: the app serves `/<version>/...` itself.
     */
    stripVersionPrefix: z.boolean().default(false),
    slack: z
      .strictObject({
        /** Channels bound to this app: there `/release promote v42` needs no app name. */
        channels: z.array(slackChannel).default([]),
      })
      .prefault({}),
    /** Environments this app may be released to; absent: all. */
    environments: z.array(z.string()).min(1).optional(),
  })
  .superRefine((app, ctx) => {
    if (app.routing === 'gateway' && app.gateway === undefined) {
      ctx.addIssue({ code: 'custom', path: ['gateway'], message: 'Required when routing is gateway: the Gateway the HTTPRoutes attach to ({ name, namespace })' });
    }
    if (app.labelKeys.name === app.labelKeys.version) {
      ctx.addIssue({ code: 'custom', path: ['labelKeys', 'version'], message: 'must differ from labelKeys.name' });
    }
  });

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** Queue worker settings; every replica of an installation must use the same timings. */
export const workerSchema = z
  .strictObject({
    /** Jobs one worker process runs at once. */
    concurrency: z.int().min(1).max(200).default(4),
    /** A job whose worker stops renewing its lock for this long is handed to another worker. */
    lockDurationMs: z.int().min(500).default(30_000),
    /** How often each worker looks for stalled jobs. */
    stalledIntervalMs: z.int().min(250).default(15_000),
    /** Times a job may stall before it is failed. */
    maxStalledCount: z.int().min(0).default(3),
    /** Port of the worker's own HTTP server (GET /metrics, /healthz); absent or null: none. 0: a free port. */
    metricsPort: z.int().min(0).max(65535).nullable().default(null),
    /** How the worker delivers the Slack thread outboxes (never inside a release lease). */
    slackOutbox: z
      .strictObject({
        /** Each Slack request gives up after this long (and is retried). */
        requestTimeoutMs: z.int().min(100).default(10_000),
        /** Deliveries of one thread message before it is dropped with an error line. */
        maxAttempts: z.int().min(1).default(12),
        /** Longest wait between two deliveries of one message (the backoff doubles from 500 ms up to this). */
        maxBackoffMs: z.int().min(100).default(30_000),
      })
      .prefault({}),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    worker: workerSchema,
    web: z
      .strictObject({
        /**
         * Port of the web process's probes and metrics (GET /healthz, /readyz, /metrics), apart from
         * the Slack endpoint on PORT, so they are never reachable where Slack's requests come in. 0: a free port.
         */
        metricsPort: z.int().min(0).max(65535).default(9091),
      })
      .prefault({}),
    redis: z
      .strictObject({
        /** Key prefix, so several installations can share one Redis; use a hash tag such as `{cutover}` on Redis Cluster. */
        prefix: z.string().regex(/^[^\s]+$/, 'must be non-empty without spaces').default('cutover'),
      })
      .prefault({}),
    apps: z.record(z.string(), appSchema),
    environments: z.record(z.string(), environmentSchema),
  })
  .superRefine((config, ctx) => {
    const appNames = Object.keys(config.apps);
    const envNames = Object.keys(config.environments);
    if (appNames.length === 0) ctx.addIssue({ code: 'custom', path: ['apps'], message: 'needs at least one app' });
    if (envNames.length === 0) ctx.addIssue({ code: 'custom', path: ['environments'], message: 'needs at least one environment' });
    for (const name of appNames) {
      const reason = appRefusal(name);
      if (reason) ctx.addIssue({ code: 'custom', path: ['apps', name], message: reason });
    }
    for (const name of envNames) {
      if (!/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) {
        ctx.addIssue({ code: 'custom', path: ['environments', name], message: `"${name}" is not a valid environment name: lower-case letters, digits and "-", starting with a letter` });
      }
    }
    const defaults = new Map<string, string>();
    for (const [envName, env] of Object.entries(config.environments)) {
      env.freezes.forEach((window, index) => {
        (window.apps ?? []).forEach((app, i) => {
          if (!Object.hasOwn(config.apps, app)) ctx.addIssue({ code: 'custom', path: ['environments', envName, 'freezes', index, 'apps', i], message: `unknown app "${app}": apps are ${appNames.join(', ')}` });
        });
      });
      env.defaultFor.forEach((action, index) => {
        const other = defaults.get(action);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['environments', envName, 'defaultFor', index], message: `${action} already defaults to environment ${other}` });
        }
        defaults.set(action, envName);
      });
    }
    for (const [appName, app] of Object.entries(config.apps)) {
      (app.environments ?? []).forEach((envName, index) => {
        if (!Object.hasOwn(config.environments, envName)) {
          ctx.addIssue({ code: 'custom', path: ['apps', appName, 'environments', index], message: `unknown environment "${envName}": environments are ${envNames.join(', ')}` });
        }
      });
      for (const issue of sharedNamespaceClashes(appName, app, config)) ctx.addIssue({ code: 'custom', ...issue });
      for (const envName of app.environments ?? envNames) {
        const env = Object.hasOwn(config.environments, envName) ? config.environments[envName] : undefined;
        if (env && app.install.kind === 'builtin' && env.policy.minReadyReplicas > app.replicas) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', appName, 'replicas'],
            message: `${app.replicas} is below environments.${envName}.policy.minReadyReplicas (${env.policy.minReadyReplicas}): a promotion there could never pass its precheck`,
          });
        }
      }
    }
  });

export type ParsedConfig = z.output<typeof configSchema>;

type AppInput = z.output<typeof appSchema>;
type ConfigInput = { apps: Record<string, AppInput>; environments: Record<string, z.output<typeof environmentSchema>> };

/**
 * Two apps released to the same namespace of the same cluster must never write each other's
 * objects or answer each other's requests: no app name may be another's name plus "-" (its
 * version objects `shop-<version>` would be named like app `shop-api`'s), and their routes need
 * hosts that do not overlap (both answer "/" otherwise).
 */
function sharedNamespaceClashes(appName: string, app: AppInput, config: ConfigInput): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  /** Each cluster namespace the app is released to (kubeconfig, context, namespace), named by its first region. */
  const places = (a: AppInput): Map<string, string> => {
    const found = new Map<string, string>();
    for (const envName of a.environments ?? Object.keys(config.environments)) {
      for (const r of Object.hasOwn(config.environments, envName) ? config.environments[envName]!.regions : []) {
        const key = `${r.kubeconfig ?? 'in-cluster'}|${r.context ?? ''}|${r.namespace}`;
        if (!found.has(key)) found.set(key, `namespace ${r.namespace} of ${r.name} (environment ${envName})`);
      }
    }
    return found;
  };
  const mine = places(app);
  for (const [otherName, other] of Object.entries(config.apps)) {
    if (otherName === appName) continue;
    const shared = [...places(other).keys()].find((key) => mine.has(key));
    if (shared === undefined) continue;
    const where = mine.get(shared)!;
    if (otherName.startsWith(`${appName}-`)) {
      issues.push({ path: ['apps', otherName], message: `${otherName} and ${appName} are both released to ${where}: the objects of ${appName}'s versions are named ${appName}-<version>, like ${otherName}'s; rename one of them` });
    }
    const overlap = app.hosts.length === 0 || other.hosts.length === 0 || app.hosts.some((h) => other.hosts.includes(h));
    if (overlap && appName < otherName) {
      const hosts = app.hosts.length === 0 || other.hosts.length === 0 ? 'for any host' : `for ${app.hosts.filter((h) => other.hosts.includes(h)).join(', ')}`;
      issues.push({ path: ['apps', otherName, 'hosts'], message: `${otherName} and ${appName} are both released to ${where} and both route "/" ${hosts}: give each app hosts of its own` });
    }
  }
  return issues;
}
