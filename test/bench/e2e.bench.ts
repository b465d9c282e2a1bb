/**
 * `npm run bench:e2e [-- --runs 20]`: end-to-end timings through the real parts. The bot
 * (`node --import tsx src/bot.ts`, HTTP receiver, signatures checked) and one worker
 * (`jobs/worker.ts`) run as their own processes on real Redis; this process holds the two sandbox
 * regions (100 ms proxy sync lag) and the Slack stand-in, and plays Slack: signed slash commands
 * and reaction events, as slack.com sends them.
 *
 * Per run: alice asks `/release promote v2` (gated), bob's approving reaction is sent, timed from
 * the moment it is sent to: the first selector patch (seen by the sandbox's store), both regions
 * verified (the worker's recorded verify steps, same wall clock), the summary posted in the
 * thread. Then alice's ungated `/release rollback`, timed to both regions' ingresses answering v1
 * (3 answers in a row each) and to its summary. One untimed warm-up run first.
 * Goals (idle worker): approval → first patch p99 < 150 ms; rollback → both serving old p99 < 1 s.
 * Exit code 1 when a run did not finish (no summary, wrong outcome); goals are reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findApp, findEnvironment, parseConfig } from '../../src/config/index.js';
import { queueSettingsOf } from '../../src/queue/connection.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { executeRelease } from '../../src/release/release.js';
import type { RunCursor } from '../../src/release/runner.js';
import { mustType } from '../../src/sandbox/resource-types.js';
import { startSandbox } from '../../src/sandbox/sandbox.js';
import { createSlackDriver, startSlackStandIn } from '../../src/sandbox/slack/index.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { formatStats, mustSucceed, numberArg, printResult, sleep, stats } from './bench-support.js';
import { freePort } from '../../src/sandbox/free-port.js';

const runs = Math.round(numberArg('runs', 20));
const proxySyncDelayMs = 100;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const channel = 'C0RELEASES';
const alice = 'U0000ALICE';
const bob = 'U00000BOB';
const signingSecret = `e2e-${randomBytes(8).toString('hex')}`;
const prefix = testPrefix();

/** Start a product process; resolves once its output says `ready`. */
function startProcess(args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with code ${code}:\n${output}`));
    });
  });
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const agent = new http.Agent({ keepAlive: true });
function versionAt(url: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? String(res.headers['x-app-version'] ?? '') : null));
    });
    req.on('error', () => resolve(null));
  });
}

/** Resolves with the time every ingress answered `version` three times in a row. */
async function bothServing(urls: string[], version: string, timeoutMs = 20_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const times = await Promise.all(
    urls.map(async (url) => {
      let inARow = 0;
      while (performance.now() < deadline) {
        inARow = (await versionAt(url)) === version ? inARow + 1 : 0;
        if (inARow >= 3) return performance.now();
        await sleep(2);
      }
      throw new Error(`${url} did not serve ${version} within ${timeoutMs} ms`);
    }),
  );
  return Math.max(...times);
}

const dir = await mkdtemp(path.join(tmpdir(), 'cutover-e2e-'));
const sandbox = await startSandbox({ readyDelayMs: 100, proxySyncDelayMs, graceScale: 0.2, kubeconfigPath: path.join(dir, 'kubeconfig') });
const standIn = await startSlackStandIn({ botChannels: [] });
standIn.invite(channel);
const configText = JSON.stringify({
  redis: { prefix },
  web: { metricsPort: 0 },
  apps: { shop: { image: 'registry.example.com/shop:{version}', replicas: 2, terminationGracePeriodSeconds: 2, slack: { channels: [channel] } } },
  environments: {
    production: {
      protected: true,
      defaultFor: ['deploy', 'promote', 'rollback', 'cleanup', 'bootstrap', 'status', 'history'],
      regions: sandbox.regions.map((r) => ({ name: r.name, kubeconfig: sandbox.kubeconfigPath, context: r.name, namespace: 'production', liveUrl: r.ingressUrl })),
      policy: { bakeSeconds: 0, readyTimeoutSeconds: 30, verifyTimeoutSeconds: 10, healthSamples: 5 },
      slack: { approvals: { required: 1, approvers: { users: [bob] }, requesters: { users: [alice] }, expiresMinutes: 10 } },
    },
  },
});
const configPath = path.join(dir, 'cutover.json');
await writeFile(configPath, configText);
const port = await freePort();
const env = { ...process.env, CUTOVER_CONFIG: configPath, SLACK_BOT_TOKEN: standIn.botToken, SLACK_API_URL: standIn.apiUrl, SLACK_SIGNING_SECRET: signingSecret, REDIS_URL: redisUrl, PORT: String(port), LOG_LEVEL: 'info' };
const config = parseConfig(configText, env, configPath);
const queue = createReleaseQueue(queueSettingsOf(config));
let bot: ChildProcess | undefined;
let worker: ChildProcess | undefined;
let failed = false;

// The first selector patch of each region, as the sandbox's store records it.
const patches: { region: string; version: string; at: number }[] = [];
const selected = new Map<string, string>();
const unwatch = sandbox.regions.map((region) =>
  region.store.watch(mustType('services'), 'production', (event) => {
    const object = event.object as { metadata?: { name?: string }; spec?: { selector?: Record<string, string> } };
    if (object.metadata?.name !== 'shop' || event.type !== 'MODIFIED') return;
    const version = object.spec?.selector?.['app.kubernetes.io/version'];
    if (!version || selected.get(region.name) === version) return;
    selected.set(region.name, version);
    patches.push({ region: region.name, version, at: performance.now() });
  }),
);

try {
  const { env: releaseEnv, app } = new ClusterDirectory().environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  const release = (action: 'deploy' | 'bootstrap', version: string) => executeRelease({ action, app, version, actor: 'bench' }, releaseEnv, { reporter: { report: () => undefined } });
  for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2']] as const) await mustSucceed(release(action, version), `${action} ${version}`);

  bot = await startProcess(['src/bot.ts'], env, 'cutover bot: HTTP');
  worker = await startProcess(['jobs/worker.ts', '--config', configPath], env, '"worker ready"');
  const driver = createSlackDriver({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret, standIn });
  const ingresses = sandbox.regions.map((r) => new URL('/', r.ingressUrl).toString());
  const summaryOf = (ts: string) => standIn.waitFor((s) => s.replies(channel, ts).find((m) => /\neu-west: /.test(m.history.at(-1)?.text ?? m.text ?? '')), 60_000);
  const rootAfter = async (before: number) => standIn.waitFor((s) => s.messages(channel).filter((m) => !m.thread_ts)[before], 20_000);

  /** The job approved in the thread of `threadTs`, once finished (the summary can be posted just before the job completes). */
  const promotionJob = async (threadTs: string) => {
    for (let tries = 0; tries < 500; tries++) {
      const jobs = await queue.getJobs(['completed', 'failed'], 0, 50, false);
      const job = jobs.find((j) => (j.data as { slack?: { threadTs?: string } }).slack?.threadTs === threadTs);
      if (job) return job;
      await sleep(20);
    }
    console.log(`no finished promotion job; jobs: ${JSON.stringify((await queue.getJobs(['completed', 'failed'], 0, 5, false)).map((j) => ({ name: j.name, data: Object.keys(j.data as object) })))}`);
    return undefined;
  };
  const legs = { approval_to_first_patch: [] as number[], approval_to_both_verified: [] as number[], approval_to_summary: [] as number[], rollback_to_both_serving_old: [] as number[], rollback_to_summary: [] as number[] };
  for (let i = 0; i <= runs; i++) {
    const timed = i > 0;
    // Promotion: alice asks, bob approves with a reaction.
    let before = standIn.messages(channel).filter((m) => !m.thread_ts).length;
    await driver.slashCommand(alice, 'promote v2', { channel });
    const request = await rootAfter(before);
    const patchesBefore = patches.length;
    const t0 = performance.now();
    const t0Wall = Date.now();
    await driver.reaction(bob, { channel, ts: request.ts }, 'white_check_mark');
    await summaryOf(request.ts);
    const tSummary = performance.now();
    const firstPatch = patches.slice(patchesBefore).find((p) => p.version === 'v2');
    const job = await promotionJob(request.ts);
    const cursor = (job?.data as { runCursor?: RunCursor } | undefined)?.runCursor;
    const verified = cursor?.records.filter((r) => r.phase === 'forward' && r.step.kind === 'verify' && r.outcome === 'ok') ?? [];
    const outcome = (job?.returnvalue as { outcome?: string } | undefined)?.outcome;
    if (!firstPatch || verified.length < sandbox.regions.length || outcome !== 'succeeded') {
      console.log(`run ${i}: promotion did not finish as expected (outcome ${outcome}, patch ${firstPatch ? 'seen' : 'not seen'}, ${verified.length} regions verified)`);
      failed = true;
      break;
    }
    if (timed) {
      legs.approval_to_first_patch.push(firstPatch.at - t0);
      legs.approval_to_both_verified.push(Math.max(...verified.map((r) => r.startedAtMs + r.durationMs)) - t0Wall);
      legs.approval_to_summary.push(tSummary - t0);
    }

    // Rollback: ungated, the emergency exit.
    before = standIn.messages(channel).filter((m) => !m.thread_ts).length;
    const r0 = performance.now();
    const serving = bothServing(ingresses, 'v1');
    await driver.slashCommand(alice, 'rollback', { channel });
    const rollbackRoot = await rootAfter(before);
    const tServing = await serving;
    await summaryOf(rollbackRoot.ts);
    if (timed) {
      legs.rollback_to_both_serving_old.push(tServing - r0);
      legs.rollback_to_summary.push(performance.now() - r0);
    }
    console.log(`run ${i}${timed ? '' : ' (warm-up)'}: approval → first patch ${Math.round(firstPatch.at - t0)} ms, → summary ${Math.round(tSummary - t0)} ms; rollback → both serving v1 ${Math.round(tServing - r0)} ms`);
  }

  const figures = Object.fromEntries(Object.entries(legs).map(([leg, values]) => [leg, stats(values)]));
  console.log('');
  console.log(`bot and one worker in their own processes, real Redis, signed Slack requests; proxy sync lag ${proxySyncDelayMs} ms; ${runs} promotions (approved by reaction) and ${runs} rollbacks`);
  for (const [leg, s] of Object.entries(figures)) console.log(formatStats(`  ${leg.replaceAll('_', ' ')}`, s));
  const complete = !failed && legs.approval_to_first_patch.length === runs;
  const goals = { approval_to_first_patch_p99_lt_150_ms: complete && figures.approval_to_first_patch!.p99 < 150, rollback_to_both_serving_old_p99_lt_1000_ms: complete && figures.rollback_to_both_serving_old!.p99 < 1000 };
  console.log(`goals: ${Object.entries(goals).map(([goal, met]) => `${goal} ${met ? 'met' : 'NOT met'}`).join(', ')}`);
  if (failed) console.log('FAILED: a run did not finish');
  printResult({ bench: 'e2e', runs, proxy_sync_delay_ms: proxySyncDelayMs, ...figures, goals, ok: !failed });
} finally {
  for (const stop of unwatch) stop();
  await stopProcess(worker);
  await stopProcess(bot);
  await queue.close();
  agent.destroy();
  await standIn.close();
  await sandbox.stop();
  const redis = testRedis();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
