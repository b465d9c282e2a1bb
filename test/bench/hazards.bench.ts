/**
 * `npm run bench:hazards [-- --rps 1100 --notice-seconds 2 --rows steady,a,b,c,d,e]`: issue 15's
 * hazards, cutover against the seed's CI job (`kubectl patch svc` per region, see seed-job.ts), in
 * one run under one stream of traffic: about 1,100 requests/s offered to each region's ingress
 * throughout, half new users on `/`, half sessions loading `/<v>/app.js` where v is the version `/`
 * served in that region 2 s earlier (so a session fails when its version goes away).
 *
 * Rows, each first with cutover (executeRelease against the sandbox) then with the seed's job,
 * from the same state (both regions live on v1), each side's failed requests counted over its
 * phase plus 2.5 s for sessions to follow:
 *   steady  promotions and rollbacks between two healthy versions
 *   b       a version that turns ready but answers 20% 500s (health path fine): cutover's health
 *           gate (Prometheus) switches back; the seed's job leaves it until someone notices
 *   a       a version whose pods never turn ready: cutover's precheck refuses; the seed gets 503s
 *   c       the old version removed right after the switch: cutover's cleanup keeps the rollback
 *           target; the seed's job deletes it (pinned sessions fail)
 *   d       the second region unreachable mid-release: cutover switches the first back; the seed
 *           leaves the regions split (the harm counted: regions on different versions)
 *   e       sessions pinned to /v1/ while v1 is cleaned up: cutover's drain-aware cleanup
 *           (retention.idle) waits for them; the seed's job deletes it
 * The seed's job has no check, so "someone notices" after --notice-seconds and reverts by hand.
 * The run fails on a rate below 1,000/s on an ingress in a row, any request not sent on schedule,
 * fewer than 60,000 requests (all rows), cutover failing a request on steady, a, c, d or e (or
 * not switching back on b, or splitting on d), or the seed's job showing no harm on a, b, c, d, e.
 * Needs kubectl and prometheus on PATH. Table, then JSON on the last line.
 */
import { prometheusUnavailable, startPrometheus, type RunningPrometheus } from '../../src/sandbox/prometheus.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { startPinnedSessions } from '../support/pinned-sessions.js';
import { exitWith, numberArg, printResult, sleep } from './bench-support.js';
import { hazardWorld, type HazardWorld } from './hazard-world.js';
import { startPacedTrafficProcess, type PacedCounters } from './paced-traffic.js';
import { hasKubectl, seedDelete, seedSwitch } from './seed-job.js';

const rpsPerIngress = numberArg('rps', 1100);
const noticeMs = numberArg('notice-seconds', 2) * 1000;
const followDelayMs = 2000;
const settleMs = followDelayMs + 500;
const minRps = 1000;
const minRequests = 60_000;
const allRows = ['steady', 'b', 'a', 'c', 'd', 'e'] as const;
type RowName = (typeof allRows)[number];
const rowsArg = process.argv.find((a) => a.startsWith('--rows='))?.slice(7) ?? (process.argv.includes('--rows') ? process.argv[process.argv.indexOf('--rows') + 1] : undefined);
const rows = rowsArg ? allRows.filter((r) => rowsArg.split(',').includes(r)) : [...allRows];

interface Side {
  requests: number;
  failed: number;
  failures: Record<string, number>;
  not_sent: number;
  rps_per_ingress: Record<string, number>;
  seconds: number;
  [extra: string]: unknown;
}

type Load = Awaited<ReturnType<typeof startPacedTrafficProcess>>;

function delta(before: PacedCounters, after: PacedCounters, ms: number): Side {
  const failures: Record<string, number> = {};
  for (const [cause, n] of Object.entries(after.failures)) if (n - (before.failures[cause] ?? 0) > 0) failures[cause] = n - (before.failures[cause] ?? 0);
  return {
    requests: after.sent - before.sent,
    failed: after.failed - before.failed,
    failures,
    not_sent: after.notSent - before.notSent,
    rps_per_ingress: Object.fromEntries(Object.keys(after.byRegion).map((r) => [r, Math.round((after.byRegion[r]!.sent - before.byRegion[r]!.sent) / (ms / 1000))])),
    seconds: Math.round(ms / 100) / 10,
  };
}

/** One side of a row: its action, then the settle time, counted over the paced traffic (plus its own pinned sessions). */
async function measure(load: Load, body: () => Promise<Record<string, unknown> & { pinned?: { sent: number; failed: number; failures: Record<string, number> } }>): Promise<Side> {
  const before = await load.counters();
  const t0 = performance.now();
  const { pinned, ...extra } = await body();
  await sleep(settleMs);
  const side = delta(before, await load.counters(), performance.now() - t0);
  if (pinned) {
    side.requests += pinned.sent;
    side.failed += pinned.failed;
    for (const [cause, n] of Object.entries(pinned.failures)) side.failures[`pinned ${cause}`] = n;
  }
  return { ...side, ...extra };
}

async function runRow(row: RowName, w: HazardWorld, load: Load): Promise<{ cutover: Side; seed: Side }> {
  const regions = w.regionNames;
  const revert = async (): Promise<void> => void (await seedSwitch(w.seed, regions, 'v1'));
  // The seed's job switches to a bad version; someone notices and switches back by hand.
  const seedSwitchThenRevert = async (version: string) => {
    await seedSwitch(w.seed, regions, version);
    await sleep(noticeMs);
    await revert();
    return { reverted_after_ms: noticeMs };
  };
  switch (row) {
    case 'steady': {
      const cutover = await measure(load, async () => {
        const outcomes: string[] = [];
        for (let i = 0; i < 2; i++) {
          outcomes.push((await w.release('production', 'promote', 'v2')).outcome);
          outcomes.push((await w.release('production', 'rollback', null)).outcome);
        }
        return { outcomes };
      });
      const seed = await measure(load, async () => {
        for (let i = 0; i < 2; i++) for (const v of ['v2', 'v1']) await seedSwitch(w.seed, regions, v).then(() => sleep(500));
        return {};
      });
      return { cutover, seed };
    }
    case 'b': {
      const cutover = await measure(load, async () => {
        let switchedAt: number | null = null;
        let restoredAt: number | null = null;
        const result = await w.release('guarded', 'promote', 'v4', (event) => {
          if (event.type !== 'step-finished') return;
          if (event.phase === 'forward' && event.step.kind === 'switch' && switchedAt === null) switchedAt = performance.now();
          if (event.phase === 'compensation') restoredAt = performance.now();
        });
        const recovery = switchedAt !== null && restoredAt !== null ? Math.round(restoredAt - switchedAt) : null;
        return { outcome: result.outcome, reasons: result.reasons, switched_back: result.compensation?.restored ?? [], recovery_ms: recovery };
      });
      const seed = await measure(load, () => seedSwitchThenRevert('v4'));
      return { cutover, seed };
    }
    case 'a': {
      const cutover = await measure(load, async () => {
        const result = await w.release('production', 'promote', 'v3');
        await sleep(1000);
        return { outcome: result.outcome, reasons: result.reasons };
      });
      const seed = await measure(load, () => seedSwitchThenRevert('v3'));
      return { cutover, seed };
    }
    case 'c': {
      const cutover = await measure(load, async () => {
        const promoted = await w.release('production', 'promote', 'v2');
        const cleanup = await w.release('production', 'cleanup', null);
        const kept = await w.installedEverywhere('v1');
        return { outcome: promoted.outcome, cleanup: cleanup.outcome, v1_kept: kept };
      });
      await w.ensureInstalled('v1');
      await w.resetTo('v1');
      const seed = await measure(load, async () => {
        await seedSwitch(w.seed, regions, 'v2');
        await seedDelete(w.seed, regions, 'v1');
        return {};
      });
      await revert();
      await w.ensureInstalled('v1');
      return { cutover, seed };
    }
    case 'd': {
      const [first, second] = regions as [string, string];
      const cutover = await measure(load, async () => {
        const result = await w.release('production', 'promote', 'v2', (event) => {
          if (event.type === 'step-finished' && event.phase === 'forward' && event.step.kind === 'verify' && event.step.region === first) w.setUnreachable(second, true);
        });
        w.setUnreachable(second, false);
        const live = await w.liveVersions();
        return { outcome: result.outcome, result_split: result.split, live, split: new Set(Object.values(live)).size > 1 };
      });
      w.setUnreachable(second, false);
      await w.resetTo('v1');
      const seed = await measure(load, async () => {
        const job = await seedSwitch(w.seed, regions, 'v2', (_region, index) => index === 1 && w.setUnreachable(second, true));
        w.setUnreachable(second, false);
        const live = await w.liveVersions();
        return { job_failed_at: job.failedAt, live, split: new Set(Object.values(live)).size > 1 };
      });
      await revert();
      return { cutover, seed };
    }
    case 'e': {
      // v1 neither live, nor the rollback target, nor the newest install: live v6, previous v5; sessions still on /v1/.
      await w.resetTo('v5');
      await w.ensureInstalled('v6');
      await w.release('production', 'promote', 'v6');
      await sleep(settleMs);
      const inUseAfterMs = 2000;
      const pinnedOn = (): ReturnType<typeof startPinnedSessions> => startPinnedSessions({ ingressUrls: w.sandbox.regions.map((r) => r.ingressUrl), version: 'v1', concurrency: 2, pauseMs: 5 });
      const cutover = await measure(load, async () => {
        const sessions = pinnedOn();
        // The hazard is cleaning up a version in use: let Prometheus (scrape 0.5 s) see the sessions
        // first, or the first cleanup races the first scrape and measures that instead (both sides wait alike).
        await sleep(inUseAfterMs);
        const started = performance.now();
        let keptWhileUsed = true;
        while (performance.now() - started < 6000) {
          await w.release('guarded', 'cleanup', null);
          keptWhileUsed &&= await w.installedEverywhere('v1');
          await sleep(1000);
        }
        const pinned = await sessions.stop();
        const stopped = performance.now();
        let deletedAfterMs: number | null = null;
        while (deletedAfterMs === null && performance.now() - stopped < 30_000) {
          await w.release('guarded', 'cleanup', null);
          if (await w.goneEverywhere('v1')) deletedAfterMs = Math.round(performance.now() - stopped);
          else await sleep(1000);
        }
        return { pinned, v1_kept_while_used: keptWhileUsed, v1_deleted_after_sessions_ms: deletedAfterMs };
      });
      await w.ensureInstalled('v1');
      const seed = await measure(load, async () => {
        const sessions = pinnedOn();
        await sleep(inUseAfterMs);
        await seedDelete(w.seed, regions, 'v1');
        await sleep(noticeMs);
        return { pinned: await sessions.stop() };
      });
      return { cutover, seed };
    }
  }
}

function summary(row: RowName, side: 'cutover' | 'seed', s: Side): string {
  const base = `${s.failed} failed`;
  if (row === 'b' && side === 'cutover') return `${base}, switched back in ${((s.recovery_ms as number | null) ?? NaN) / 1000} s`;
  if (row === 'd') return `${base}, ${s.split ? `SPLIT ${JSON.stringify(s.live)}` : `not split ${JSON.stringify(s.live)}`}`;
  return base;
}

const hazardText: Record<RowName, string> = {
  steady: 'steady: promotions and rollbacks, healthy versions',
  b: 'b: ready version answering 20% 500s',
  a: 'a: version whose pods never turn ready',
  c: 'c: old version removed right after the switch',
  d: 'd: second region unreachable mid-release',
  e: 'e: sessions pinned while their version is cleaned up',
};

async function main(): Promise<number> {
  const missing = (await prometheusUnavailable()) ?? ((await hasKubectl()) ? null : 'kubectl is not on PATH');
  if (missing !== null) {
    console.log(`bench:hazards needs kubectl and prometheus: ${missing}`);
    printResult({ bench: 'hazards', covered: false, reason: missing });
    return 1;
  }
  const sandbox: Sandbox = await startSandbox({ readyDelayMs: 100, proxySyncDelayMs: 150, graceScale: 0.2 });
  let prometheus: RunningPrometheus | null = null;
  try {
    prometheus = await startPrometheus({ targets: sandbox.regions.map((r) => ({ url: r.ingressMetricsUrl, labels: { region: r.name } })), scrapeIntervalMs: 500 });
    await prometheus.waitForTargets();
    const w = await hazardWorld(sandbox, prometheus.url);
    await w.prepare();
    console.log(`two regions, proxy sync lag 150 ms, prometheus ${prometheus.version} (scrape 500 ms); ${rpsPerIngress} requests/s offered to each ingress, half sessions on the version / served ${followDelayMs / 1000} s earlier; the seed's job is reverted by hand ${noticeMs / 1000} s after it switched`);
    const load = await startPacedTrafficProcess({ targets: sandbox.regions.map((r) => ({ url: r.ingressUrl, region: r.name })), rps: rpsPerIngress * sandbox.regions.length, maxInFlight: 1024, sessionsFollowLive: { delayMs: followDelayMs } });
    const results: Partial<Record<RowName, { cutover: Side; seed: Side }>> = {};
    let total: PacedCounters;
    try {
      await sleep(settleMs);
      for (const row of rows) {
        await w.resetTo('v1');
        await sleep(1000);
        results[row] = await runRow(row, w, load);
        console.log(`${row.padEnd(7)} cutover ${JSON.stringify(results[row].cutover)}`);
        console.log(`${''.padEnd(7)} seed    ${JSON.stringify(results[row].seed)}`);
      }
    } finally {
      total = await load.stop();
    }

    const problems: string[] = [];
    const minRate = Math.min(...Object.values(results).flatMap((r) => [r.cutover, r.seed].flatMap((s) => Object.values(s.rps_per_ingress))));
    if (minRate < minRps) problems.push(`an ingress got ${minRate} requests/s in a row (< ${minRps})`);
    if (total.notSent > 0) problems.push(`${total.notSent} requests not sent on schedule`);
    if (rows.length === allRows.length && total.sent < minRequests) problems.push(`only ${total.sent} requests (< ${minRequests})`);
    for (const [row, r] of Object.entries(results) as [RowName, { cutover: Side; seed: Side }][]) {
      if (row !== 'b' && r.cutover.failed > 0) problems.push(`${row}: cutover failed ${r.cutover.failed} requests`);
      if (row === 'b' && (r.cutover.switched_back as string[]).length === 0) problems.push('b: cutover did not switch back');
      if (row === 'd' && r.cutover.split) problems.push('d: cutover left the regions split');
      if (row === 'd' && !r.seed.split) problems.push('d: the seed job left no split: the hazard did not happen');
      if (row !== 'steady' && row !== 'd' && r.seed.failed === 0) problems.push(`${row}: the seed job failed no request: the measurement is blind`);
      if (row === 'c' && !r.cutover.v1_kept) problems.push("c: cutover's cleanup deleted the rollback target");
      if (row === 'e' && !r.cutover.v1_kept_while_used) problems.push("e: cutover's cleanup deleted a version its sessions still used");
      if (row === 'e' && r.cutover.v1_deleted_after_sessions_ms === null) problems.push('e: cutover never deleted v1 after its sessions stopped');
    }

    console.log('');
    console.log(`${'hazard'.padEnd(54)} ${'cutover'.padEnd(40)} seed's kubectl job`);
    for (const row of rows) console.log(`${hazardText[row].padEnd(54)} ${summary(row, 'cutover', results[row]!.cutover).padEnd(40)} ${summary(row, 'seed', results[row]!.seed)}`);
    console.log(`paced requests ${total.sent} (${total.failed} failed in all, both sides), lowest rate on an ingress in a row ${minRate}/s, not sent on schedule ${total.notSent}`);
    if (total.notSent > 0 || minRate < minRps) console.log('the offered rate was not held (the machine is short of CPU): failures such as ETIMEDOUT are the overload\'s own, so this run does not measure the hazards');
    console.log(problems.length === 0 ? 'OK' : `FAILED: ${problems.join('; ')}`);
    printResult({
      bench: 'hazards',
      covered: true,
      rps_offered_per_ingress: rpsPerIngress,
      notice_seconds: noticeMs / 1000,
      requests: total.sent,
      not_sent: total.notSent,
      min_rps_per_ingress: minRate,
      rows: Object.fromEntries(Object.entries(results).map(([row, r]) => [row, { cutover_failed: r.cutover.failed, seed_failed: r.seed.failed, cutover: r.cutover, seed: r.seed }])),
      ok: problems.length === 0,
      problems,
    });
    return problems.length === 0 ? 0 : 1;
  } finally {
    await prometheus?.stop();
    await sandbox.stop();
  }
}

exitWith(main);
