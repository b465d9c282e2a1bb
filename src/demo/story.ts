import type { ReleaseResult } from '../core/events.js';
import type { RecordedMessage } from '../sandbox/slack/index.js';
import { approveActionId } from '../slack/blocks.js';
import { startTraffic, type Traffic, type TrafficCounters } from './traffic.js';
import { indent, messageText } from './transcript.js';
import { channel, people, type DemoWorld, type Person } from './world.js';

export interface StoryStep {
  title: string;
  ok: boolean;
  detail: string;
  result: ReleaseResult | null;
}

export interface StoryOutcome {
  steps: StoryStep[];
  traffic: TrafficCounters;
  /** What the Slack stand-in saw: Web API calls, those answered 429, those refused for their content. */
  slack: { calls: number; rateLimited: number; refused: string[] };
}

const approve = 'white_check_mark';
const waitMs = 60_000;

/**
 * Plays the release story as two Slack users, alice (asks) and bob (approves), printing the
 * channel and each thread as a person would read them.
 */
export class Story {
  readonly steps: StoryStep[] = [];
  private traffic: Traffic | null = null;
  private readonly liveVersions = new Set<string>();

  constructor(
    private readonly world: DemoWorld,
    private readonly say: (line: string) => void,
  ) {}

  async play(): Promise<StoryOutcome> {
    await this.gated('alice', 'deploy v1', 'bob');
    await this.ungated('alice', 'bootstrap');
    await this.gated('alice', 'promote v1', 'bob');
    this.startUsers();
    await this.gated('alice', 'deploy v2', 'carol', { button: true });
    await this.gated('alice', 'promote v2', 'bob', { selfApproveFirst: true });
    await this.ungated('alice', 'rollback');
    if (this.world.prometheus) {
      // --metrics: a bad build passes its verify (its health path answers) but fails its health gate.
      await this.gated('alice', 'deploy v3', 'carol');
      await this.makeBadBuild('v3');
      await this.gated('alice', 'promote v3', 'bob', { expect: 'rolled-back' });
    }
    await this.ephemeral('alice', 'cleanup --dry-run', this.world.prometheus ? /requests in the last/ : /cleanup|delete|keep/i);
    await this.ephemeral('eve', 'status', /eu-west/);
    // Sessions keep going a moment after the last switch, so late failures would show.
    await sleep(1500);
    const traffic = (await this.traffic?.stop()) ?? { sent: 0, failed: 0, failures: {}, versions: {}, wrongVersion: 0, failedByVersion: {} };
    const calls = this.world.standIn.calls();
    const refused = calls.filter((c) => c.error !== undefined && c.status !== 429).map((c) => `${c.method}: ${c.error}`);
    return { steps: this.steps, traffic, slack: { calls: calls.length, rateLimited: this.world.standIn.rateLimited().length, refused } };
  }

  /** A production action: alice asks, an approver reacts (or presses Approve and confirms), the job runs; wait for the summary. */
  private async gated(requester: Person, command: string, approver: Person, options: { selfApproveFirst?: boolean; button?: boolean; expect?: ReleaseResult['outcome'] } = {}): Promise<void> {
    const root = await this.ask(requester, command);
    if (!root) return;
    if (options.selfApproveFirst) {
      const before = this.world.standIn.ephemerals(channel).length;
      await this.world.driver.reaction(people[requester], { channel, ts: root.ts }, approve);
      this.say(`   ${requester} reacted :${approve}: to her own request`);
      const told = await this.world.standIn.waitFor((s) => s.ephemerals(channel).slice(before).find((e) => e.user === people[requester]), 10_000);
      this.say(indent(`(only ${requester} sees) ${messageText(told, this.world)}`, '   bot: '));
    }
    await sleep(300);
    if (options.button) {
      await this.world.driver.pressButton(people[approver], { channel, ts: root.ts }, approveActionId);
      this.say(`   ${approver} pressed Approve and confirmed`);
    } else {
      await this.world.driver.reaction(people[approver], { channel, ts: root.ts }, approve);
      this.say(`   ${approver} reacted :${approve}:`);
    }
    await this.finish(command, root, options.expect);
  }

  /**
   * Makes `version` a bad build, as `kubectl patch` would: its pods answer 5% of their requests
   * with 500 (the sandbox's error-rate annotation) while its health path stays fine. Waits until
   * the new pods replaced the old ones in every region.
   */
  private async makeBadBuild(version: string): Promise<void> {
    this.say(`\n   (${version} has a bug: 5% of its answers are 500, its /healthz is fine; the sandbox is told so with the pod-template annotation sandbox.cutover.dev/error-rate, as kubectl patch would)`);
    const body = JSON.stringify({ spec: { template: { metadata: { annotations: { 'sandbox.cutover.dev/error-rate': '0.05' } } } } });
    for (const region of this.world.sandbox.regions) {
      const url = `${region.apiUrl.replace(/^https:/, 'http:')}/apis/apps/v1/namespaces/production/deployments/shop-${version}`;
      const headers = { authorization: `Bearer ${region.token}` };
      const patched = await fetch(url, { method: 'PATCH', headers: { ...headers, 'content-type': 'application/merge-patch+json' }, body });
      if (!patched.ok) throw new Error(`patching shop-${version} in ${region.name}: HTTP ${patched.status} ${await patched.text()}`);
      for (let tries = 0; ; tries++) {
        const status = ((await (await fetch(url, { headers })).json()) as { status?: { replicas?: number; updatedReplicas?: number; readyReplicas?: number } }).status ?? {};
        if (status.replicas === 2 && status.updatedReplicas === 2 && status.readyReplicas === 2) break;
        if (tries > 300) throw new Error(`shop-${version} in ${region.name} did not roll out the bad build`);
        await sleep(100);
      }
    }
  }

  private async ungated(requester: Person, command: string): Promise<void> {
    const root = await this.ask(requester, command);
    if (root) await this.finish(command, root);
  }

  /** A command answered only to its user (dry run, status). */
  private async ephemeral(requester: Person, command: string, expected: RegExp): Promise<void> {
    this.say(`\n── ${requester}: /release ${command}`);
    const { responseUrl } = await this.world.driver.slashCommand(people[requester], command, { channel });
    const post = await this.world.standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === responseUrl), 20_000);
    const text = messageText(post, this.world);
    this.say(indent(`(only ${requester} sees)\n${text}`, '   bot: '));
    const ok = expected.test(text);
    this.steps.push({ title: command, ok, detail: ok ? 'answered' : 'unexpected answer', result: null });
  }

  /** Sends the command; resolves with the root message it opened (approval request or "Queued"). */
  private async ask(requester: Person, command: string): Promise<RecordedMessage | null> {
    this.say(`\n── ${requester}: /release ${command}`);
    const before = this.world.standIn.messages(channel).filter((m) => !m.thread_ts).length;
    const sent = await this.world.driver.slashCommand(people[requester], command, { channel });
    try {
      const root = await this.world.standIn.waitFor((s) => s.messages(channel).filter((m) => !m.thread_ts)[before], 20_000);
      this.say(indent(messageText(root, this.world), '   bot: '));
      return root;
    } catch {
      const answer = this.world.standIn.responseUrlPosts().find((p) => p.url === sent.responseUrl);
      const text = answer ? messageText(answer, this.world) : `no answer (HTTP ${sent.status})`;
      this.say(indent(text, '   bot: '));
      this.steps.push({ title: command, ok: false, detail: text, result: null });
      return null;
    }
  }

  /** Waits for the thread's summary, prints the thread, and records the job's result. */
  private async finish(command: string, root: RecordedMessage, expected: ReleaseResult['outcome'] = 'succeeded'): Promise<void> {
    const { standIn } = this.world;
    let summary: RecordedMessage;
    try {
      summary = await standIn.waitFor((s) => s.replies(channel, root.ts).find((m) => /\neu-west: /.test(m.history.at(-1)?.text ?? m.text ?? '')), waitMs);
    } catch {
      this.steps.push({ title: command, ok: false, detail: 'no summary in the thread within 60 s', result: null });
      this.say('   (no summary in the thread within 60 s)');
      return;
    }
    await sleep(1200); // the root message is updated with the final state right after the summary
    const latestRoot = standIn.message(channel, root.ts) ?? root;
    this.say(indent(`(root message now) ${messageText(latestRoot, this.world).split('\n')[0] ?? ''}`, '   bot: '));
    for (const reply of standIn.replies(channel, root.ts)) {
      this.say(indent(messageText(reply, this.world), '   │ '));
      if (reply !== summary) this.say('   │');
    }
    const result = await this.resultOf(command);
    const ok = result?.outcome === expected;
    if (result && result.outcome === 'succeeded') for (const region of result.regions) if (region.to && (region.outcome === 'switched' || region.outcome === 'already-live')) this.liveVersions.add(region.to);
    this.steps.push({ title: command, ok, detail: result ? `${result.outcome}${expected !== 'succeeded' ? ` (expected: ${expected})` : ''}` : 'no job result', result });
  }

  /** The newest finished job for this command, from the queue (the job's return value is its result). */
  private async resultOf(command: string): Promise<ReleaseResult | null> {
    const [action, version] = command.split(' ');
    const queue = this.world.queue;
    const jobs = await queue.getJobs(['completed'], 0, 50, false);
    const match = jobs
      .filter((job) => job.name === action && (version === undefined || (job.data as { version?: string }).version === version))
      .sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0))[0];
    return (match?.returnvalue as ReleaseResult | undefined) ?? null;
  }

  private startUsers(): void {
    this.traffic = startTraffic({
      targets: this.world.sandbox.regions.map((r) => ({ url: r.ingressUrl, region: r.name })),
      concurrency: 4,
      pauseMs: 5,
      sessionVersions: () => [...this.liveVersions],
    });
    this.say('\n   (users start arriving: new users on /, existing sessions on /<their version>/app.js, in both regions)');
  }

  trafficNow(): TrafficCounters | null {
    return this.traffic?.counters() ?? null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
