import { parseArgs } from 'node:util';
import type { RegionReport } from './core/events.js';
import { ensureHelm } from './demo/helm-binary.js';
import { RedisUnavailable } from './demo/redis.js';
import { runInteractive } from './demo/interactive.js';
import { Story, type StoryOutcome } from './demo/story.js';
import { startDemoWorld } from './demo/world.js';
import { formatMs } from './release/summary-text.js';

/**
 * `npm run demo`: the real bot, the real workers and real Redis against two sandbox regions and
 * the Slack stand-in, with users hitting both regions' ingresses the whole time. Exits 0 only when
 * every step succeeded and no request failed.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      interactive: { type: 'boolean', short: 'i' },
      keep: { type: 'boolean' },
      'socket-mode': { type: 'boolean' },
      helm: { type: 'boolean' },
      metrics: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run demo [-- --interactive] [-- --keep] [-- --socket-mode] [-- --helm] [-- --metrics]\n  --interactive  type /release commands as alice, bob, carol or eve, react, watch traffic\n  --keep         keep everything running after the story, for kubectl\n  --socket-mode  the bot connects over Socket Mode (SLACK_APP_TOKEN) instead of the HTTP receiver\n  --helm         release the example chart examples/charts/shop (helm: $CUTOVER_HELM, else the pinned one, fetched once)\n  --metrics      a real Prometheus scrapes both ingresses (apt-get install prometheus): health gates stop a bad build in eu-west, cleanup waits for traffic to drain',
    );
    return 0;
  }
  const say = (line: string): void => console.log(line);
  const started = performance.now();
  say('cutover demo: zero-downtime releases by Service selector switch, driven from Slack\n');
  const helmBinary = values.helm ? await ensureHelm(process.env) : undefined;
  const world = await startDemoWorld(process.env, say, { socketMode: values['socket-mode'] === true, metrics: values.metrics === true, ...(helmBinary ? { helmBinary } : {}) });
  say(`\ninspect at any time:  kubectl --kubeconfig ${world.sandbox.kubeconfigPath} --context eu-west -n production get svc,deploy,endpointslices`);
  try {
    if (values.interactive) {
      await runInteractive(world, say);
      return 0;
    }
    say('\n#releases — alice asks, bob and carol approve (production needs one approval, never from the requester)');
    const story = new Story(world, say);
    const outcome = await story.play();
    const ok = printSummary(outcome, performance.now() - started, say, world.prometheus ? 'v3' : null);
    if (values.keep) {
      say('\n--keep: everything keeps running; Ctrl-C stops it.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return ok ? 0 : 1;
  } finally {
    await world.stop();
  }
}

/** `badBuild`: the version the story made answer 500s on purpose; its own 500s, while its gate watched, are expected. */
function printSummary(outcome: StoryOutcome, elapsedMs: number, say: (line: string) => void, badBuild: string | null): boolean {
  const { steps, traffic } = outcome;
  say('\n══ summary');
  for (const step of steps) say(`${step.ok ? '✓' : '✗'} /release ${step.title.padEnd(18)} ${step.detail}`);
  const switches = steps.flatMap((s) => (s.result && (s.result.action === 'promote' || s.result.action === 'rollback') ? [s.result] : []));
  if (switches.length > 0) {
    say('\nswitches (per region: selector patch, EndpointSlices converged, live traffic converged):');
    for (const result of switches) {
      say(`  ${result.action} ${result.version ?? ''}`.trimEnd());
      for (const region of result.regions) say(`    ${region.region.padEnd(8)} ${timings(region)}`);
    }
  }
  const versions = Object.entries(traffic.versions).map(([v, n]) => `${v}: ${n}`).join(', ');
  const expected = badBuild ? (traffic.failedByVersion[badBuild] ?? 0) : 0;
  const unexpected = traffic.failed - expected;
  say(`\nrequests sent: ${traffic.sent}   failed: ${unexpected}${unexpected > 0 ? ` ${JSON.stringify(traffic.failures)}` : ''}   sessions answered by another version: ${traffic.wrongVersion}`);
  if (badBuild) say(`${badBuild}, the bad build, answered ${expected} requests with 500 in eu-west before its health gate failed and eu-west was switched back (us-east never served it)`);
  say(`answered by: ${versions || '(none)'}`);
  const { slack } = outcome;
  say(`slack: ${slack.calls} Web API calls, ${slack.rateLimited} answered 429 (retried after Retry-After), ${slack.refused.length} refused${slack.refused.length > 0 ? `: ${slack.refused.join(', ')}` : ''}`);
  const ok = steps.every((s) => s.ok) && unexpected === 0 && traffic.wrongVersion === 0 && traffic.sent > 0 && slack.refused.length === 0;
  say(`\n${ok ? '✅ every step succeeded and no request failed' : '❌ something failed: see above'} (${formatMs(elapsedMs)})`);
  return ok;
}

function timings(region: RegionReport): string {
  const t = region.timings;
  const part = (label: string, ms: number | null): string => `${label} ${ms === null ? '—' : formatMs(ms)}`;
  return `${region.from ?? '(none)'} → ${region.to ?? '(none)'}   ${part('patch', t.patchMs)}   ${part('endpoints', t.endpointsMs)}   ${part('traffic', t.dataPlaneMs)}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof RedisUnavailable) console.error(error.message);
    else console.error(`cutover demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
