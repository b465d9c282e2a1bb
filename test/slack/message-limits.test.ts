import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { openApproval } from '../../src/core/approval.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { AppSpec, RegionState } from '../../src/core/model.js';
import type { PlanQuery, ReleaseReader } from '../../src/slack/ports.js';
import type { PlanResult } from '../../src/core/plan.js';
import { renderPlan } from '../../src/core/render-plan.js';
import { planCleanup } from '../../src/core/retention.js';
import { approvalRequestMessage, approvalStateMessage, historyMessage, progressMessage, summaryMessage, type SlackMessage } from '../../src/slack/blocks.js';
import { finishedRootMessage, queuedRootMessage } from '../../src/slack/thread-root.js';
import { ALICE, BOB, CHANNEL, SIGNING_SECRET, startWorld, textOf, type World } from './harness.js';

/**
 * Every message the bot sends stays within Slack's limits, the total text of its blocks included
 * (msg_blocks_too_long): 4 regions × 60 installed versions, and versions with 200-character names.
 * The strict stand-in refuses anything Slack would refuse, so "accepted by the stand-in" is the check.
 */

const REGIONS = ['eu-west', 'us-east', 'ap-south', 'sa-east'];
const PER_REGION = 60;
const longName = (i: number) => `v${i}-${'x'.repeat(200 - String(i).length - 2)}`;
const versions = Array.from({ length: PER_REGION }, (_, i) => longName(i + 1));
const now = new Date('2026-06-01T00:00:00Z');

function states(): RegionState[] {
  return REGIONS.map((region) => ({
    region,
    live: { version: versions[PER_REGION - 1]!, previousVersion: versions[PER_REGION - 2]!, promotedAt: '2026-05-30T00:00:00Z', promotedBy: ALICE },
    liveRouteExists: true,
    versions: versions.map((version, i) => ({
      version,
      desiredReplicas: 2,
      readyReplicas: 2,
      updatedReplicas: 2,
      createdAt: new Date(now.getTime() - (PER_REGION - i) * 86_400_000).toISOString(),
      retiredAt: new Date(now.getTime() - (PER_REGION - i) * 43_200_000).toISOString(),
      hasService: true,
      hasRoute: true,
    })),
  }));
}

const app: AppSpec = { name: 'shop', image: 'registry.example.com/shop:{version}', containerPort: 8080, replicas: 2, env: {}, healthPath: '/healthz', versionHeader: 'x-app-version' } as AppSpec;

/** The clusters: 4 regions, 60 versions each, 56 of them due for deletion per region. */
class CrowdedClusters implements ReleaseReader {
  async preview(query: PlanQuery): Promise<PlanResult> {
    return planCleanup(states(), { app, environment: query.environment }, { retention: { keep: 3, minAgeSinceLiveHours: 24, graceAfterInstallHours: 1 } }, now, []);
  }
  async status(): Promise<RegionState[]> {
    return states();
  }
}

const fullPlanText = () => {
  const result = planCleanup(states(), { app, environment: 'production' }, { retention: { keep: 3, minAgeSinceLiveHours: 24, graceAfterInstallHours: 1 } }, now, []);
  if (!result.ok) throw new Error('plan');
  return renderPlan(result.plan);
};

function config(prefix: string) {
  const region = (name: string, port: number) => ({ name, namespace: 'production', liveUrl: `http://127.0.0.1:${port}` });
  return parseConfig(
    JSON.stringify({
      redis: { prefix },
      apps: { shop: { image: 'registry.example.com/shop:{version}' } },
      environments: {
        production: {
          protected: true,
          defaultFor: ['promote', 'rollback', 'cleanup', 'bootstrap', 'status', 'deploy'],
          regions: REGIONS.map((r, i) => region(r, i + 1)),
          slack: { approvals: { gated: ['deploy', 'promote', 'cleanup'], approvers: { users: [BOB] }, requesters: { users: [ALICE] } } },
        },
        staging: { defaultFor: [], regions: REGIONS.map((r, i) => region(r, i + 10)) },
      },
    }),
    { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET },
    'limits.yaml',
  );
}

let world: World;

beforeAll(async () => {
  world = await startWorld({ config, reader: new CrowdedClusters() });
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  world.standIn.reset();
  await world.queue.obliterate({ force: true });
});

/** Every call the bot made that Slack would have refused for its content. */
const refusedForSize = () => world.standIn.calls().filter((c) => c.error === 'msg_blocks_too_long' || c.error === 'invalid_blocks' || c.error === 'msg_too_long');
const refusedResponses = () => world.standIn.responseUrlPosts().filter((p) => p.status !== 200);

describe('a cleanup of 4 regions × 60 versions with 200-character names', () => {
  it('asks for approval with a summary ("… and N more versions") and posts the full plan in the thread, every message accepted', async () => {
    await world.driver.slashCommand(ALICE, 'cleanup shop');
    const request = await world.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => !m.thread_ts && m.text?.startsWith('Approval needed')), 15_000);
    const summary = textOf(request);
    expect(summary).toMatch(/… and \d+ more versions/);
    expect(summary).toContain('the full plan follows in this thread');
    // Every version to delete appears in full in the thread, in order.
    const planText = fullPlanText();
    const partsCount = await world.standIn.waitFor((s) => {
      const parts = s.replies(CHANNEL, request.ts).filter((m) => m.text?.startsWith('Full plan, part'));
      const total = Number(/of (\d+)/.exec(parts[0]?.text ?? '')?.[1] ?? 0);
      return total > 0 && parts.length === total && total;
    }, 30_000);
    expect(partsCount).toBeGreaterThan(1);
    const thread = world.standIn.replies(CHANNEL, request.ts).map((m) => textOf(m)).join('\n');
    for (const line of planText.split('\n').filter((l) => /^\s+\d+\. delete /.test(l))) expect(thread).toContain(line.trim().split(' (')[0]);
    expect(refusedForSize()).toEqual([]);
  }, 40_000);

  it('answers the dry run with a summary and the full plan in the following answers, all accepted, the last pointing at the CLI for the rest', async () => {
    const { responseUrl } = await world.driver.slashCommand(ALICE, 'cleanup shop --dry-run');
    const posts = await world.standIn.waitFor((s) => {
      const mine = s.responseUrlPosts().filter((p) => p.url === responseUrl);
      return mine.length === 5 && mine;
    }, 15_000);
    expect(posts.every((p) => p.status === 200 && p.response_type === 'ephemeral')).toBe(true);
    expect(textOf(posts[0])).toMatch(/… and \d+ more versions/);
    expect(textOf(posts[1])).toContain('Full plan, part 1 of');
    expect(textOf(posts[4])).toContain('npx cutover cleanup shop --env production --dry-run');
    expect(refusedResponses()).toEqual([]);
  });

  it('answers status with a summary per region and the full list after it, all accepted', async () => {
    const { responseUrl } = await world.driver.slashCommand(ALICE, 'status shop');
    await world.standIn.waitFor((s) => s.responseUrlPosts().filter((p) => p.url === responseUrl).length >= 2, 15_000);
    const posts = world.standIn.responseUrlPosts().filter((p) => p.url === responseUrl);
    expect(textOf(posts[0])).toMatch(/… and \d+ more versions/);
    expect(textOf(posts[1])).toContain('Status of shop in production, part 1 of');
    expect(refusedResponses()).toEqual([]);
  });

  it('runs an ungated cleanup with the summary in the root and the full plan in its thread', async () => {
    await world.driver.slashCommand(ALICE, 'cleanup shop --env staging');
    const root = await world.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => !m.thread_ts && m.text?.startsWith('Queued')), 15_000);
    expect(textOf(root)).toMatch(/… and \d+ more versions/);
    await world.standIn.waitFor((s) => s.replies(CHANNEL, root.ts).some((m) => m.text?.startsWith('Full plan, part 1')), 15_000);
    expect(refusedForSize()).toEqual([]);
  }, 30_000);
});

describe('what the workers and the approval flow post, rendered for the same crowded release', () => {
  let client: WebClient;
  beforeAll(() => {
    client = new WebClient(world.standIn.botToken, { slackApiUrl: world.standIn.apiUrl, retryConfig: { retries: 0 } });
  });

  const result: ReleaseResult = {
    outcome: 'failed',
    action: 'cleanup',
    app: 'shop',
    environment: 'production',
    version: null,
    regions: REGIONS.map((region) => ({ region, from: null, to: null, outcome: 'failed', timings: { patchMs: null, endpointsMs: null, dataPlaneMs: null, totalMs: 1000 }, health: null, detail: `could not delete ${versions.join(', ')}` })),
    reasons: versions.map((v) => `${v}: the API answered 500`),
    split: false,
    compensation: null,
    totalMs: 4000,
  };

  it('accepts the progress message, the summary, the approval states and the roots', async () => {
    const plan = (await new CrowdedClusters().preview({ action: 'cleanup', app: 'shop', environment: 'production', version: null, actor: ALICE })) as Extract<PlanResult, { ok: true }>;
    const events: ProgressEvent[] = [
      { type: 'planned', plan: plan.plan, resumedAt: 0 },
      ...plan.plan.steps.flatMap((step, index): ProgressEvent[] => [
        { type: 'step-started', index, step, phase: 'forward' },
        { type: 'step-finished', index, step, phase: 'forward', outcome: index % 7 === 0 ? 'failed' : 'ok', durationMs: 20, detail: `${'because '.repeat(40)}` },
      ]),
      { type: 'finished', result },
    ];
    const planText = renderPlan(plan.plan);
    const request = openApproval({ id: 'apr-1', app: 'shop', environment: 'production', action: 'cleanup', version: null, planDigest: 'd', requester: ALICE, now: now.getTime() }, { required: 1, expiresMinutes: 30 });
    const messages: [string, SlackMessage][] = [
      ['progress', progressMessage(events)],
      ['summary', summaryMessage(result)],
      ['approval request', approvalRequestMessage(request, planText, { approveReaction: 'white_check_mark', rejectReaction: 'x', approvers: { users: [BOB], usergroups: [] } })],
      ['approval state', approvalStateMessage({ ...request, state: 'used', votes: [{ user: BOB, via: 'button', at: now.getTime(), allowedAs: { kind: 'user' }, checkedAt: now.getTime() }] }, { planText, result })],
      ['queued root', queuedRootMessage({ action: 'cleanup', app: 'shop', environment: 'production', version: null, requester: ALICE, requestId: 'r' }, planText)],
      ['finished root', finishedRootMessage(result, null)],
      ['history', historyMessage(versions.map((v) => ({ at: now.toISOString(), kind: 'requested', app: 'shop', environment: 'production', version: v, actor: ALICE, detail: 'x'.repeat(300) })))],
    ];
    for (const [name, message] of messages) {
      const posted = await client.chat.postMessage({ channel: CHANNEL, ...message }).catch((e: { data?: { error?: string } }) => e.data?.error ?? 'failed');
      expect([name, typeof posted === 'string' ? posted : 'ok']).toEqual([name, 'ok']);
    }
  });
});
