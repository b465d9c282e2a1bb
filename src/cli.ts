import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './config/errors.js';
import { ciContext } from './config/ci.js';
import type { Config } from './config/index.js';
import { commandOf, isGated } from './core/approval.js';
import type { ProgressEvent, ReleaseResult } from './core/events.js';
import type { RegionState } from './core/model.js';
import { renderPlan } from './core/render-plan.js';
import { splitDescription } from './core/refusals.js';
import { KubeError } from './kube/errors.js';
import { summaryLines } from './release/summary-text.js';
import { formatProgressEvent } from './wiring/progress-text.js';
import type { ClusterDirectory } from './wiring/release-environment.js';
import type { QueueRunner } from './wiring/queue-runner.js';
import type { LineState } from './wiring/freeze-state.js';
import { describeFreeze, describeStop, freezeRefusal, stopFor } from './core/freeze.js';

export type { QueueRunner, QueuedRequest } from './wiring/queue-runner.js';

// The config loader (zod, yaml, cron-parser), the release runner and the cluster clients
// (@kubernetes/client-node: about half a second to load) are imported when a command needs them,
// so `cutover --help` and bad arguments answer without loading them.

export const exitCodes = { ok: 0, failed: 1, badInput: 2, notApproved: 3, frozen: 4 } as const;

const commands = ['bootstrap', 'deploy', 'promote', 'rollback', 'status', 'cleanup'] as const;
type Command = (typeof commands)[number];

export const usage = `usage: cutover <bootstrap|deploy|promote|rollback|status|cleanup> [app] [version] --env <env>
                [--config <file>] [--dry-run] [--json] [--queue [--request-id <id>] [--request-approval [--channel <id>]]]

  bootstrap [app] [version]   create the live Service and route (optionally selecting version)
  deploy    [app] <version>   install a version in every region; live traffic untouched
  promote   [app] <version>   switch live traffic to an installed version, region by region
  rollback  [app] [version]   switch back to the recorded previous version (or a named one)
  status    [app]             live, previous and installed versions per region
  cleanup   [app]             delete versions the retention policy lets go (--dry-run lists them)

  --config   config file (default $CUTOVER_CONFIG or ./config/cutover.yaml)
  --env, -e  environment (default: the config's default for the command)
  --json     print one JSON result object as the last line
  --queue    enqueue on the release queue and follow the job (same locks as Slack)
  --request-id <id>  with --queue: the same id enqueued twice runs once (CI retries)
  --request-approval with --queue, for an action the environment gates: post the approval
             request in Slack (SLACK_BOT_TOKEN), wait for it, then follow the release; without
             it a gated --queue action is refused at once (exit 2)
  --channel <id>     where the approval request goes (default: the app's first slack.channels)

A freeze (environments.<env>.freezes, or /release freeze in Slack) refuses deploy, promote and
cleanup, direct or --queue; rollback is always allowed. Breaking glass is done from Slack
(/release ... --override "reason", breakGlass users, behind an approval). status shows freezes
and stops in force (--json: "freezes", "stops").

exit codes: 0 success, 1 failed or rolled back, 2 bad input, config or refused (a gated action
without --request-approval), 3 approval rejected, expired or superseded (nothing ran),
4 refused by a freeze, or (without --queue) by a stop (nothing ran)`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Used by `--queue`; wired by the entry point so the CLI core stays testable in-process. */
  queue?: QueueRunner | undefined;
  clusters?: ClusterDirectory | undefined;
  /** Freezes and stops in force; default: read from the config and Redis (wiring/freeze-state.ts). */
  lineState?: ((config: Config, environment: string, apps: readonly string[], t: number) => Promise<LineState>) | undefined;
}

class BadInput extends Error {}

interface ParsedArgs {
  command: Command;
  positionals: string[];
  /** --config as given; resolved against $CUTOVER_CONFIG and the default once the loader is in. */
  configArg: string | undefined;
  env: string | undefined;
  dryRun: boolean;
  json: boolean;
  queue: boolean;
  requestId: string | undefined;
  requestApproval: boolean;
  channel: string | undefined;
}

function parse(argv: string[]): ParsedArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        env: { type: 'string', short: 'e' },
        config: { type: 'string', short: 'c' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        queue: { type: 'boolean' },
        'request-id': { type: 'string' },
        'request-approval': { type: 'boolean' },
        channel: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new BadInput(error instanceof Error ? error.message : String(error));
  }
  const [command, ...positionals] = parsed.positionals;
  if (parsed.values.help || command === undefined || command === 'help') return 'help';
  if (!(commands as readonly string[]).includes(command)) throw new BadInput(`unknown command "${command}"`);
  return {
    command: command as Command,
    positionals,
    configArg: parsed.values.config,
    env: parsed.values.env,
    dryRun: parsed.values['dry-run'] ?? false,
    json: parsed.values.json ?? false,
    queue: parsed.values.queue ?? false,
    requestId: parsed.values['request-id'],
    requestApproval: parsed.values['request-approval'] ?? false,
    channel: parsed.values.channel,
  };
}

/** App and version from the positionals: the app may be left out when the config has one app. */
function resolveTarget(config: Config, args: ParsedArgs, findApp: (config: Config, name: string) => unknown): { app: string; version: string | null } {
  const apps = Object.keys(config.apps);
  const [first, second, ...rest] = args.positionals;
  if (rest.length > 0) throw new BadInput(`too many arguments: ${rest.join(' ')}`);
  let app: string | undefined;
  let version: string | undefined;
  if (first !== undefined && findApp(config, first)) {
    app = first;
    version = second;
  } else if (apps.length === 1) {
    if (second !== undefined) throw new BadInput(`unknown app "${first}": the config has ${apps[0]}`);
    app = apps[0];
    version = first;
  } else {
    throw new BadInput(first === undefined ? `name an app: ${apps.join(', ')}` : `unknown app "${first}": known apps are ${apps.join(', ')}`);
  }
  const needsVersion = args.command === 'deploy' || args.command === 'promote';
  const takesVersion = needsVersion || args.command === 'rollback' || args.command === 'bootstrap';
  if (needsVersion && version === undefined) throw new BadInput(`${args.command} needs a version, e.g. cutover ${args.command} ${app} v42`);
  if (!takesVersion && version !== undefined) throw new BadInput(`${args.command} takes no version`);
  return { app: app!, version: version ?? null };
}

/** Runs one CLI invocation and answers its exit code; never calls process.exit. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs | 'help';
  let config: Config;
  let configs: typeof import('./config/index.js');
  try {
    args = parse(argv);
    if (args === 'help') {
      io.out(usage);
      return argv.length === 0 ? exitCodes.badInput : exitCodes.ok;
    }
    configs = await import('./config/index.js');
    config = configs.loadConfig(configs.resolveConfigPath(args.configArg, io.env), io.env);
  } catch (error) {
    return reportBadInput(error, io);
  }

  // Log lines (JSON) go to stderr, so stdout stays the progress and result lines: at LOG_LEVEL
  // when it is set, else only warnings and errors.
  const { configureLogging } = await import('./observability/log.js');
  configureLogging({
    level: io.env.LOG_LEVEL !== undefined ? config.runtime.logLevel : 'warn',
    secrets: config.runtime.secrets.values(),
    base: { process: 'cli' },
    destination: { write: (line: string) => io.err(line.trimEnd()) },
  });

  try {
    const { defaultEnvironment, findApp, findEnvironment } = configs;
    const { app: appName, version } = resolveTarget(config, args, findApp);
    const environment = args.env !== undefined ? findEnvironment(config, args.env) : defaultEnvironment(config, args.command);
    if (!environment) {
      const known = Object.keys(config.environments).join(', ');
      throw new BadInput(args.env !== undefined ? `unknown environment "${args.env}": known environments are ${known}` : `name an environment with --env (${known})`);
    }
    const appConfig = findApp(config, appName)!;
    const { observeForStatus, previewInstalls, previewRelease, executeRelease } = await import('./release/release.js');
    const clusters = io.clusters ?? new (await import('./wiring/release-environment.js')).ClusterDirectory();
    const { env, app } = clusters.environment(environment, appConfig);
    const ci = ciContext(io.env, () => userInfo().username);
    const actor = ci.actor;

    const now = Date.now();
    const readLine = io.lineState ?? (async (...a: Parameters<NonNullable<CliIo['lineState']>>) => (await import('./wiring/freeze-state.js')).readLineState(...a));
    if (args.command === 'status') {
      const states = await observeForStatus(env, app);
      // Status answers without Redis too; it says so instead of showing no freezes.
      const line = await readLine(config, env.name, [app.name], now).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
      if (args.json) io.out(JSON.stringify({ app: app.name, environment: env.name, regions: states, ...(typeof line === 'string' ? { lineStateError: line } : line) }));
      else for (const text of [...statusLines(states), ...lineStateLines(line, now)]) io.out(text);
      // The regions that answered are shown; one that did not makes the exit code say so.
      return states.some((s) => s.unreachable !== undefined) ? exitCodes.failed : exitCodes.ok;
    }
    const request = { action: args.command, app, version, actor };
    if (args.command === 'cleanup' && !args.dryRun && !args.queue) {
      throw new BadInput(
        'cleanup deletes versions, so it runs through the queue, under the same leases and in-use marks as every worker: run it with --queue (or --dry-run to see what it would delete)',
      );
    }
    if (!args.dryRun) {
      const line = await readLine(config, env.name, [app.name], now);
      const frozen = freezeRefusal(args.command, app.name, now, line.freezes);
      if (frozen) {
        if (args.json) io.out(JSON.stringify({ outcome: 'frozen', reason: frozen }));
        io.err(`cutover: ${frozen}. Nothing was changed; break glass from Slack with --override "reason" (breakGlass users, needs an approval)`);
        return exitCodes.frozen;
      }
      // A stop halts the workers' jobs (a --queue job waits in the queue); a direct run would slip past it.
      const stopped = args.queue ? null : stopFor(args.command, app.name, line.stops);
      if (stopped) {
        if (args.json) io.out(JSON.stringify({ outcome: 'stopped', reason: describeStop(stopped) }));
        io.err(`cutover: ${describeStop(stopped)}. Nothing was changed; it goes on after /release resume (or run it with --queue: it waits in the queue)`);
        return exitCodes.frozen;
      }
    }
    if (args.dryRun) {
      const planned = await previewRelease(request, env);
      const installs = planned.ok && args.command === 'deploy' && version ? await previewInstalls(env, app, version, actor) : [];
      if (args.json) io.out(JSON.stringify(planned.ok ? { ok: true, plan: planned.plan, text: renderPlan(planned.plan), ...(installs.length > 0 ? { install: installs } : {}) } : planned));
      const previewLines = installs.length > 0 ? (await import('./wiring/install-preview-text.js')).installPreviewLines(installs) : [];
      if (!args.json) io.out(planned.ok ? [renderPlan(planned.plan), ...previewLines].join('\n') : planned.reasons.map((r) => `refused: ${r}`).join('\n'));
      return planned.ok && installs.every((i) => i.preview.dryRun.every((d) => d.outcome === 'ok')) ? exitCodes.ok : planned.ok ? exitCodes.failed : exitCodes.badInput;
    }
    const onEvent = (event: ProgressEvent): void => {
      if (args.json || event.type === 'finished') return;
      const line = formatProgressEvent(event);
      if (line !== null) io.out(line);
    };
    let result: ReleaseResult;
    if (args.requestApproval && !args.queue) throw new BadInput('--request-approval works with --queue: the workers run what is approved');
    if (args.queue) {
      if (!io.queue) throw new BadInput('--queue is not available here');
      const note = (line: string): void => {
        if (!args.json) io.out(line);
      };
      const gated = isGated(args.command, environment.slack.approvals);
      if (gated && !args.requestApproval) {
        const what = `${args.command} ${app.name}${version ? ` ${version}` : ''} in ${env.name}`;
        const command = commandOf({ action: args.command, app: app.name, version, environment: env.name });
        throw new BadInput(`${what} needs an approval: add --request-approval to post the request in Slack and wait for it, or ask in Slack with \`/release ${command}\`. Nothing was queued`);
      }
      if (gated) {
        const channel = args.channel ?? appConfig.slack.channels[0];
        if (channel === undefined) throw new BadInput(`--request-approval needs a channel to post in: --channel <id>, or bind ${app.name} to one (apps.${app.name}.slack.channels)`);
        if (!config.runtime.secrets.slackBotToken) throw new BadInput('--request-approval needs SLACK_BOT_TOKEN (and SLACK_API_URL when Slack is not slack.com) to post the approval request');
        const planned = await previewRelease(request, env);
        if (!planned.ok) {
          for (const reason of planned.reasons) io.err(`refused: ${reason}`);
          return exitCodes.badInput;
        }
        const origin = { via: 'cli' as const, actor, ...(ci.runUrl ? { runUrl: ci.runUrl } : {}) };
        const run = await io.queue.runApproved(config, { action: args.command, app: app.name, environment: env.name, version, actor, plan: planned.plan, channel, origin }, onEvent, note);
        if (run.decided === 'not-posted') {
          io.err(`cutover: ${run.reason}`);
          return exitCodes.badInput;
        }
        if (run.decided !== 'approved') {
          if (args.json) io.out(JSON.stringify({ outcome: 'not-approved', decided: run.decided, requestId: run.requestId, reason: run.reason }));
          io.err(`cutover: ${run.reason}`);
          return exitCodes.notApproved;
        }
        result = run.result;
      } else {
        if (args.requestApproval) note(`${args.command} needs no approval in ${env.name}: queued directly`);
        result = await io.queue.run(config, { action: args.command, app: app.name, environment: env.name, version, actor, requestId: args.requestId }, onEvent, note);
      }
    } else {
      result = await executeRelease(request, env, { reporter: { report: onEvent } });
    }
    if (args.json) io.out(JSON.stringify(result));
    else for (const line of summaryLines(result)) io.out(line);
    return result.outcome === 'succeeded' ? exitCodes.ok : result.outcome === 'refused' ? exitCodes.badInput : exitCodes.failed;
  } catch (error) {
    if (error instanceof BadInput || error instanceof ConfigError || (error instanceof KubeError && error.code === 'kubeconfig')) return reportBadInput(error, io);
    io.err(`cutover: ${error instanceof Error ? error.message : String(error)}`);
    return exitCodes.failed;
  }
}

function reportBadInput(error: unknown, io: CliIo): number {
  if (error instanceof ConfigError) {
    io.err(error.message);
  } else if (error instanceof BadInput || error instanceof KubeError) {
    io.err(`cutover: ${error.message}`);
    if (error instanceof BadInput) io.err('run `cutover --help` for usage');
  } else {
    io.err(`cutover: ${error instanceof Error ? error.message : String(error)}`);
  }
  return exitCodes.badInput;
}

export function statusLines(states: readonly RegionState[]): string[] {
  const lines: string[] = [];
  const split = splitDescription(states);
  if (split) lines.push(`WARNING: the regions serve different versions: ${split}`);
  for (const state of states) {
    if (state.unreachable !== undefined) {
      lines.push(`${state.region}: UNREACHABLE: ${state.unreachable}`);
      continue;
    }
    const outside = state.live?.changedOutside ? ' (switched without cutover)' : '';
    const live = state.live ? `live ${state.live.version ?? '(none)'}${outside}, previous ${state.live.previousVersion ?? '(none)'}` : 'not bootstrapped';
    lines.push(`${state.region}: ${live}`);
    for (const v of state.versions) {
      const marker = state.live?.version === v.version ? '*' : ' ';
      lines.push(`  ${marker} ${v.version.padEnd(12)} ${v.readyReplicas}/${v.desiredReplicas} ready   installed ${v.createdAt}`);
      if (v.objects) lines.push(`      objects: ${v.objects.map((o) => `${o.kind}/${o.name}`).join(', ')}`);
    }
    if (state.versions.length === 0) lines.push('    (no versions installed)');
  }
  return lines;
}

/** Freezes and stops in force, for `status`. */
export function lineStateLines(line: LineState | string, now: number): string[] {
  if (typeof line === 'string') return [`WARNING: ${line}`];
  return [...line.freezes.map((f) => `FROZEN: ${describeFreeze(f, now)}`), ...line.stops.map((s) => `STOPPED: ${describeStop(s)}`)];
}

/** The `--queue` runner; BullMQ and ioredis are loaded only when a command asks for it. */
export function lazyQueueRunner(): QueueRunner {
  const runner = async () => (await import('./wiring/queue-runner.js')).createQueueRunner();
  return {
    run: async (...args) => (await runner()).run(...args),
    runApproved: async (...args) => (await runner()).runApproved(...args),
  };
}

/** The `cutover` process (bin/cutover.js): runs the command line and exits with its code. */
export async function main(): Promise<never> {
  const code = await runCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env, queue: lazyQueueRunner() });
  process.exit(code);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
