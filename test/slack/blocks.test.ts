import { describe, expect, it } from 'vitest';
import { openApproval, type ApprovalRequest, type Vote } from '../../src/core/approval.js';
import type { ProgressEvent, RegionReport, ReleaseResult } from '../../src/core/events.js';
import type { RegionState } from '../../src/core/model.js';
import type { Plan, Step } from '../../src/core/plan.js';
import { renderPlan } from '../../src/core/render-plan.js';
import {
  approvalRequestMessage,
  approvalStateMessage,
  errorMessage,
  helpMessage,
  historyMessage,
  planMessage,
  progressMessage,
  statusMessage,
  summaryMessage,
  type SlackMessage,
} from '../../src/slack/blocks.js';
import { fit } from '../../src/slack/mrkdwn.js';

const t0 = Date.UTC(2024, 0, 1, 12, 0, 0);

/** Every text a reader sees, joined, plus the limits Slack enforces. */
function allText(message: SlackMessage): string {
  return JSON.stringify(message.blocks);
}

function expectWithinLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(50);
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.text.length).toBeLessThanOrEqual(3000);
  for (const block of message.blocks) {
    const b = block as { type: string; text?: { text: string }; elements?: { text: string }[] };
    if (b.type === 'header') expect(b.text!.text.length).toBeLessThanOrEqual(150);
    if (b.type === 'section') {
      expect(b.text!.text.length).toBeLessThanOrEqual(3000);
      expect(b.text!.text.length).toBeGreaterThan(0);
      expect((b.text!.text.match(/```/g) ?? []).length % 2).toBe(0);
    }
    if (b.type === 'context') {
      expect(b.elements!.length).toBeLessThanOrEqual(10);
      for (const e of b.elements!) expect(e.text.length).toBeLessThanOrEqual(3000);
    }
  }
}

const plan: Plan = {
  action: 'promote',
  app: 'shop',
  environment: 'production',
  version: 'v42',
  regions: ['eu-west', 'us-east'],
  steps: [
    { kind: 'precheck', region: 'eu-west', version: 'v42', minReady: 2 },
    { kind: 'switch', region: 'eu-west', from: 'v41', to: 'v42' },
    { kind: 'verify', region: 'eu-west', version: 'v42' },
    { kind: 'precheck', region: 'us-east', version: 'v42', minReady: 2 },
    { kind: 'switch', region: 'us-east', from: 'v41', to: 'v42' },
    { kind: 'verify', region: 'us-east', version: 'v42' },
  ],
  notes: [],
};

function approval(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const base = openApproval(
    { id: 'req-7', app: 'shop', environment: 'production', action: 'promote', version: 'v42', planDigest: 'abc', requester: 'UREQ', now: t0 },
    { required: 2, expiresMinutes: 30 },
  );
  return { ...base, ...overrides };
}

/** Button votes by these users. */
function votes(...users: string[]): Vote[] {
  return users.map((user) => ({ user, via: 'button', at: t0, allowedAs: { kind: 'user' }, checkedAt: t0 }));
}

function report(region: string, overrides: Partial<RegionReport>): RegionReport {
  return { region, from: 'v41', to: 'v42', outcome: 'switched', timings: { patchMs: 42, endpointsMs: 1250, dataPlaneMs: 2300, totalMs: 35_000 }, health: null, detail: null, ...overrides };
}

describe('approvalRequestMessage', () => {
  it('says what changes where, who asked, n/m approvals by whom, how to react and when it expires', () => {
    const message = approvalRequestMessage(approval({ votes: votes('UALICE') }), renderPlan(plan), {
      approveReaction: 'white_check_mark',
      rejectReaction: 'x',
      approvers: { users: ['UALICE'], usergroups: ['SLEADS'] },
    });
    const text = allText(message);
    expect(text).toContain('Approval needed: promote shop v42 in production');
    expect(text).toContain('<@UREQ> asks to *promote*');
    expect(text).toContain('eu-west: live selector v41 → v42');
    expect(text).toContain('us-east: live selector v41 → v42');
    expect(text).toContain('*Approvals:* 1/2 — approved by <@UALICE>');
    expect(text).toContain('from <@UALICE>, <!subteam^SLEADS>, not from the requester');
    expect(text).toContain('Press *Approve* or *Reject*, or react with :white_check_mark: to approve or :x: to reject');
    expect(text).toContain(`<!date^${(t0 + 30 * 60_000) / 1000}^{date_short_pretty} at {time}|2024-01-01 12:30 UTC>`);
    expect(message.text).toContain('asked by <@UREQ>');
    expectWithinLimits(message);
  });
});

describe('approvalStateMessage', () => {
  it.each<[string, Partial<ApprovalRequest>, RegExp]>([
    ['approved', { state: 'approved', votes: votes('UALICE', 'UBOB') }, /✅ Approved: promote shop v42 in production.*Approved by <@UALICE>, <@UBOB>/],
    ['used', { state: 'used', votes: votes('UALICE') }, /Approved and started.*cannot be used again/],
    ['rejected', { state: 'rejected', rejectedBy: 'UBOB' }, /❌ Rejected.*Rejected by <@UBOB>. Nothing ran/],
    ['cancelled by the requester', { state: 'rejected', rejectedBy: 'UREQ' }, /Cancelled by the requester <@UREQ>/],
    ['expired', { state: 'expired' }, /⌛ Expired.*Not approved before <!date\^/],
    ['superseded', { state: 'superseded' }, /♻️ Superseded.*the plan is different now/],
  ])('%s', (_name, overrides, pattern) => {
    const message = approvalStateMessage(approval(overrides), { planText: renderPlan(plan) });
    expect(allText(message)).toMatch(pattern);
    expectWithinLimits(message);
  });
});

const splitResult: ReleaseResult = {
  outcome: 'rolled-back',
  action: 'promote',
  app: 'shop',
  environment: 'production',
  version: 'v42',
  split: true,
  reasons: ['us-east: live traffic still answered v41 after 60 s'],
  compensation: { ran: true, restored: ['eu-west'], failed: ['us-east'] },
  totalMs: 75_300,
  regions: [
    report('eu-west', { outcome: 'restored', health: { readyPods: 3, samples: { v41: 10 }, failedSamples: 0 }, detail: 'switched back to v41 and verified' }),
    report('us-east', { outcome: 'switched', timings: { patchMs: 38, endpointsMs: 980, dataPlaneMs: null, totalMs: 61_000 }, health: { readyPods: 2, samples: { v42: 7, v41: 3 }, failedSamples: 2 } }),
  ],
};

describe('summaryMessage', () => {
  it('says a split loudly, with timings, health numbers and the compensation', () => {
    const message = summaryMessage(splitResult);
    const text = allText(message);
    expect(text).toContain('Promote shop v42 in production: ↩️ failed and rolled back');
    expect(text).toContain('🚨 *WARNING: the regions are on different versions.* eu-west: `v41`, us-east: `v42`');
    expect(text).toContain('us-east: live traffic still answered v41 after 60 s');
    expect(text).toContain('Restored and verified: eu-west');
    expect(text).toContain('↩️ *eu-west* restored `v41` → `v42` → back to `v41`');
    expect(text).toContain('NOT restored: us-east');
    expect(text).toContain('patch 42 ms · EndpointSlices converged 1.25 s · traffic converged 2.30 s · total 35.0 s');
    expect(text).toContain('patch 38 ms · EndpointSlices converged 980 ms · total 61.0 s');
    expect(text).toContain('health: 3 ready pods · 10 sampled: 10× `v41`');
    expect(text).toContain('health: 2 ready pods · 12 sampled: 7× `v42`, 3× `v41` · 2 failed');
    expect(text).toContain('total 75.3 s');
    expect(message.text).toContain('WARNING: regions are on different versions');
    expectWithinLimits(message);
  });

  it('has no warning when all regions agree', () => {
    const ok: ReleaseResult = { ...splitResult, outcome: 'succeeded', split: false, reasons: [], compensation: null, regions: [report('eu-west', {}), report('us-east', {})] };
    const text = allText(summaryMessage(ok));
    expect(text).toContain('✅ done');
    expect(text).not.toContain('WARNING');
  });

  it('escapes untrusted text from errors', () => {
    const text = allText(summaryMessage({ ...splitResult, reasons: ['<!channel> & <@U1|x>'] }));
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;@U1|x&gt;');
    expect(text).not.toContain('<!channel>');
  });
});

describe('progressMessage', () => {
  const step = (i: number): Step => plan.steps[i]!;
  const events: ProgressEvent[] = [
    { type: 'planned', plan, resumedAt: 0 },
    { type: 'step-started', index: 0, step: step(0), phase: 'forward' },
    { type: 'step-finished', index: 0, step: step(0), phase: 'forward', outcome: 'ok', durationMs: 120, detail: 'ready' },
    { type: 'step-started', index: 1, step: step(1), phase: 'forward' },
    { type: 'step-finished', index: 1, step: step(1), phase: 'forward', outcome: 'skipped', durationMs: 3, detail: 'selector already v42' },
    { type: 'step-started', index: 2, step: step(2), phase: 'forward' },
  ];

  it('shows a line per step: done with its duration, skipped with why, running, waiting', () => {
    const message = progressMessage(events);
    const text = allText(message);
    expect(text).toContain('Promote shop v42 in production: in progress');
    expect(text).toContain('✅ eu-west: precheck v42');
    expect(text).toContain('_120 ms_');
    expect(text).toContain('⏭ eu-west: switch the live selector v41 → v42 — selector already v42');
    expect(text).toContain('⏳ eu-west: verify');
    expect(text).toContain('▫️ us-east: precheck v42');
    expect(text).toContain('2/6 steps done');
    expect(message.text).toContain('eu-west: verify');
    expectWithinLimits(message);
  });

  it('shows a failure, the compensation and the final state', () => {
    const failing: ProgressEvent[] = [
      ...events,
      { type: 'step-finished', index: 2, step: step(2), phase: 'forward', outcome: 'failed', durationMs: 60_000, detail: 'live traffic answered v41' },
      { type: 'compensating', reason: 'eu-west: live traffic answered v41' },
      { type: 'step-started', index: 0, step: { kind: 'switch', region: 'eu-west', from: 'v42', to: 'v41' }, phase: 'compensation' },
      { type: 'step-finished', index: 0, step: { kind: 'switch', region: 'eu-west', from: 'v42', to: 'v41' }, phase: 'compensation', outcome: 'ok', durationMs: 40, detail: '' },
      { type: 'finished', result: splitResult },
    ];
    const text = allText(progressMessage(failing));
    expect(text).toContain('❌ eu-west: verify');
    expect(text).toContain('— live traffic answered v41');
    expect(text).toContain('↩️ *Rolling back*');
    expect(text).toContain('✅ eu-west: switch the live selector v42 → v41');
    expect(text).toContain('failed and rolled back');
    expect(text).toContain('total 75.3 s');
  });

  it('marks steps done by an earlier attempt when a job resumes', () => {
    expect(allText(progressMessage([{ type: 'planned', plan, resumedAt: 2 }]))).toMatch(/✅ eu-west: precheck v42[^\n"]*_\(earlier attempt\)_/);
  });
});

describe('statusMessage', () => {
  const states: RegionState[] = [
    {
      region: 'eu-west',
      live: { version: 'v42', previousVersion: 'v41', promotedAt: '2024-01-01T10:00:00Z', promotedBy: 'UALICE' },
      liveRouteExists: true,
      versions: [
        { version: 'v41', desiredReplicas: 3, readyReplicas: 3, updatedReplicas: 3, createdAt: '2023-12-30T00:00:00Z', retiredAt: null, hasService: true, hasRoute: true },
        { version: 'v42', desiredReplicas: 3, readyReplicas: 2, updatedReplicas: 3, createdAt: '2023-12-31T00:00:00Z', retiredAt: null, hasService: true, hasRoute: false },
      ],
    },
    { region: 'us-east', live: { version: 'v41', previousVersion: null, promotedAt: null, promotedBy: null }, liveRouteExists: true, versions: [] },
    { region: 'ap-south', live: null, liveRouteExists: false, versions: [] },
  ];

  it('shows live, previous and installed versions with readiness and age per region, and a split', () => {
    const message = statusMessage(states, 'shop', 'production');
    const text = allText(message);
    expect(text).toContain('Status: shop in production');
    expect(text).toContain('WARNING: the regions are on different live versions');
    expect(text).toContain('*eu-west*: live `v42` · previous `v41` · promoted by <@UALICE> <!date^');
    expect(text).toMatch(/⏳ `v42` \(live\) 2\/3 ready · installed <!date\^\d+\^\{ago\}\|2023-12-31 00:00 UTC> · ⚠️ no route/);
    expect(text).toContain('✅ `v41` (previous) 3/3 ready');
    expect(text).toContain('*us-east*: live `v41` · previous _none_');
    expect(text).toContain('*ap-south*: not bootstrapped');
    expect(text.indexOf('`v42` (live)')).toBeLessThan(text.indexOf('`v41` (previous)'));
    expectWithinLimits(message);
  });
});

describe('historyMessage, planMessage, errorMessage, helpMessage', () => {
  it('history: one line per entry, newest first as given', () => {
    const text = allText(
      historyMessage(
        [
          { at: '2024-01-01T12:05:00Z', kind: 'succeeded', app: 'shop', environment: 'production', version: 'v42', actor: 'UALICE' },
          { at: '2024-01-01T12:00:00Z', kind: 'requested', app: 'shop', environment: 'production', version: 'v42', actor: 'UREQ', detail: 'promote' },
        ],
        { app: 'shop' },
      ),
    );
    expect(text).toMatch(/✅ <!date\^\d+\^[^|]+\|2024-01-01 12:05 UTC> \*succeeded\* shop `v42` in production by <@UALICE>/);
    expect(text).toContain('*requested* shop `v42` in production by <@UREQ> — promote');
    expect(allText(historyMessage([]))).toContain('No releases recorded yet');
  });

  it('dry run says nothing changed and shows the plan', () => {
    const text = allText(planMessage(renderPlan(plan)));
    expect(text).toContain('Dry run: nothing was changed');
    expect(text).toContain('```\\nPromote shop v42 in production (eu-west, then us-east)');
  });

  it('errors and help escape what they quote', () => {
    expect(allText(errorMessage('unknown app "<!here>"'))).toContain('unknown app \\"&lt;!here&gt;\\"');
    expect(allText(helpMessage('Usage: /release <action>'))).toContain('&lt;action&gt;');
  });
});

describe('limits for huge inputs', () => {
  const long = 'x'.repeat(10_000);
  const manySteps: Step[] = Array.from({ length: 1500 }, (_, i) => ({ kind: 'delete-version', region: `region-${i % 30}`, version: `v${i}`, reason: `${long}` }));
  const hugePlan: Plan = { ...plan, action: 'cleanup', version: null, regions: Array.from({ length: 30 }, (_, i) => `region-${i}`), steps: manySteps };

  it.each<[string, () => SlackMessage]>([
    ['approval request with a huge plan', () => approvalRequestMessage(approval({ votes: votes(...Array.from({ length: 300 }, (_, i) => `U${i}AB`)) }), renderPlan(hugePlan), { approveReaction: 'white_check_mark', rejectReaction: 'x', approvers: { users: Array.from({ length: 500 }, (_, i) => `U${i}AB`), usergroups: [] } })],
    ['approval state with a huge plan', () => approvalStateMessage(approval({ state: 'approved' }), { planText: renderPlan(hugePlan), result: splitResult })],
    ['progress of 1500 steps', () => progressMessage([{ type: 'planned', plan: hugePlan, resumedAt: 0 }, ...manySteps.map((s, index): ProgressEvent => ({ type: 'step-finished', index, step: s, phase: 'forward', outcome: 'failed', durationMs: 5, detail: long }))])],
    ['summary of 200 regions with long reasons', () => summaryMessage({ ...splitResult, reasons: Array.from({ length: 100 }, () => long), regions: Array.from({ length: 200 }, (_, i) => report(`region-${i}`, { outcome: 'failed', detail: long, health: { readyPods: 1, samples: Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`v${j}`, j])), failedSamples: 1 } })) })],
    ['status of 100 regions with 100 versions', () => statusMessage(Array.from({ length: 100 }, (_, r): RegionState => ({ region: `region-${r}`, live: { version: 'v1', previousVersion: null, promotedAt: null, promotedBy: null }, liveRouteExists: true, versions: Array.from({ length: 100 }, (_, i) => ({ version: `v${i}`, desiredReplicas: 3, readyReplicas: 3, updatedReplicas: 3, createdAt: '2024-01-01T00:00:00Z', retiredAt: null, hasService: true, hasRoute: true })) })), 'shop', 'production')],
    ['history of 5000 entries', () => historyMessage(Array.from({ length: 5000 }, () => ({ at: 'not a date', kind: 'failed', app: 'shop', environment: 'production', detail: long })))],
    ['dry run of a huge plan', () => planMessage(renderPlan(hugePlan))],
    ['a huge error', () => errorMessage(`${'<&>'.repeat(5000)}`)],
    ['a plan that tries to close its code fence', () => planMessage(`a\n\`\`\`\n<!channel>\n${'`'.repeat(5000)}`)],
  ])('%s', (_name, build) => {
    const message = build();
    expectWithinLimits(message);
    expect(allText(message)).not.toContain('<!channel>');
  });

  it('truncates without splitting an entity, a Slack token or a surrogate pair', () => {
    expect(fit(`${'a'.repeat(92)}&amp;bbbbbbb`, 100)).toBe(`${'a'.repeat(92)}…`);
    expect(fit(`${'a'.repeat(90)}<@UALICE> and more`, 100)).toBe(`${'a'.repeat(90)}…`);
    expect(fit(`${'a'.repeat(94)}🚀🚀🚀🚀`, 100)).toBe(`${'a'.repeat(94)}…`);
    expect(fit('short', 100)).toBe('short');
    expect(fit(`\`\`\`\n${'a'.repeat(200)}`, 100)).toMatch(/…\n```$/);
  });
});
