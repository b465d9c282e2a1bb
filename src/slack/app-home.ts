import { accessFor, environmentsOf, findEnvironment } from '../config/index.js';
import { isMember } from '../core/authorization.js';
import { splitDescription } from '../core/refusals.js';
import { readAudit, type StoredAuditEntry } from '../queue/audit.js';
import type { ApprovalRecord } from '../queue/approvals.js';
import { context, divider, header, section, type Block } from './block-kit.js';
import { approveActionId, rejectActionId } from './blocks.js';
import { lineStateBlocks } from './line-commands.js';
import { escapeText, fit, slackDateIso } from './mrkdwn.js';
import { errorText } from './ports.js';
import type { SlackContext } from './slack-context.js';

/**
 * The Home tab (`app_home_opened` → `views.publish`): every app and environment with its live
 * version per region (a warning where regions disagree), the approvals waiting for this user with
 * the same Approve/Reject buttons as the request message, freezes and stops in force, and the
 * last releases with links to their threads. At most 100 blocks, Block Kit's limit for a Home
 * tab: each part has its own budget and says what it left out.
 */

export const homeBlockLimit = 100;
const budget = { apps: 30, approvals: 10, releases: 10 };
const releaseKinds = new Set(['succeeded', 'failed', 'rolled-back', 'stopped', 'superseded', 'halted', 'override']);

export interface HomeView {
  type: 'home';
  blocks: Block[];
}

export async function homeView(slack: SlackContext, user: string): Promise<HomeView> {
  const { config } = slack;
  const blocks: Block[] = [header('cutover: where every app stands')];

  // Apps × environments, live version per region.
  const pairs = Object.values(config.apps).flatMap((app) => environmentsOf(config, app).map((env) => ({ app: app.name, environment: env.name })));
  const lines = await Promise.all(
    pairs.slice(0, budget.apps).map(async ({ app, environment }) => {
      try {
        const states = await slack.reader.status(app, environment);
        const regions = states.map((s) => `${s.region} ${s.unreachable !== undefined ? '_unreachable_' : `\`${s.live?.version ?? '—'}\``}`).join(' · ');
        const split = splitDescription(states);
        return `*${escapeText(app)}* in ${escapeText(environment)}: ${regions}${split ? `\n⚠️ the regions serve different versions: ${escapeText(split)}` : ''}`;
      } catch (error) {
        return `*${escapeText(app)}* in ${escapeText(environment)}: _could not read: ${escapeText(fit(errorText(error), 200))}_`;
      }
    }),
  );
  blocks.push(section('*Live versions*'), ...chunk(lines, 8).map((part) => section(part.join('\n'))));
  if (pairs.length > budget.apps) blocks.push(context(`${pairs.length - budget.apps} more app/environment pairs not shown: \`/release status <app>\``));

  // Freezes and stops.
  blocks.push(divider(), section('*Freezes and stops*'));
  const line = (await Promise.all(Object.keys(config.environments).map((env) => lineStateBlocks(slack, env, null)))).flat();
  blocks.push(...(line.length > 0 ? line.slice(0, 8) : [context('Nothing is frozen or stopped.')]));

  // Approvals waiting for this user.
  blocks.push(divider(), section('*Waiting for your approval*'));
  const waiting = await approvalsFor(slack, user);
  if (waiting.length === 0) blocks.push(context('Nothing is waiting for you.'));
  for (const record of waiting.slice(0, budget.approvals)) {
    const r = record.request;
    const what = `${r.action} ${r.app}${r.version ? ` ${r.version}` : ''} in ${r.environment}`;
    blocks.push(section(`*${escapeText(what)}* asked by <@${r.requester}> · ${r.votes.length}/${r.requiredApprovals} approvals · <${threadLink(record.channel, record.ts)}|request>${r.override ? `\n🔨 break glass: ${escapeText(r.override)}` : ''}`));
    blocks.push({
      type: 'actions',
      block_id: fit(`home:${r.id}:${r.votes.length}`, 255),
      elements: [
        { type: 'button', action_id: approveActionId, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: r.id, confirm: { title: { type: 'plain_text', text: 'Approve this release?' }, text: { type: 'plain_text', text: fit(what, 300) }, confirm: { type: 'plain_text', text: 'Approve' }, deny: { type: 'plain_text', text: 'Cancel' } } },
        { type: 'button', action_id: rejectActionId, text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: r.id },
      ],
    });
  }
  if (waiting.length > budget.approvals) blocks.push(context(`${waiting.length - budget.approvals} more not shown`));

  // The last releases.
  blocks.push(divider(), section('*Last releases*'));
  const releases = (await readAudit(slack.redis, slack.prefix, { count: 200 })).filter((e) => releaseKinds.has(e.kind)).slice(0, budget.releases);
  blocks.push(releases.length > 0 ? section(releases.map(releaseLine).join('\n')) : context('No releases yet.'));
  blocks.push(context(`Updated ${slackDateIso(new Date(slack.now()).toISOString())}`));
  return { type: 'home', blocks: blocks.slice(0, homeBlockLimit) };
}

/** Pending requests `user` may decide: an approver of the action there, not the requester, not voted yet. */
async function approvalsFor(slack: SlackContext, user: string): Promise<ApprovalRecord[]> {
  const records = (await Promise.all((await slack.approvals.pending(50)).map((id) => slack.approvals.get(id)))).filter((r): r is ApprovalRecord => r !== null && r.request.state === 'pending');
  const mine: ApprovalRecord[] = [];
  for (const record of records) {
    const r = record.request;
    const env = findEnvironment(slack.config, r.environment);
    if (!env || r.requester === user || r.votes.some((v) => v.user === user)) continue;
    const approvers = accessFor(env, r.action).approvers;
    const groups = await slack.groups.resolve(approvers.usergroups);
    if (isMember(user, approvers, groups)) mine.push(record);
  }
  return mine;
}

function releaseLine(entry: StoredAuditEntry): string {
  const mark = { succeeded: '✅', failed: '❌', 'rolled-back': '↩️', stopped: '⛔', superseded: '⏭️', halted: '🛑', override: '🔨' }[entry.kind as string] ?? '•';
  const what = `${entry.app}${entry.version ? ` ${entry.version}` : ''} in ${entry.environment}`;
  const [channel, ts] = entry.thread?.split('/') ?? [];
  const link = channel && ts ? ` · <${threadLink(channel, ts)}|thread>` : '';
  return `${mark} ${escapeText(entry.kind)} ${escapeText(what)}${entry.actor ? ` by ${entry.actor.startsWith('U') || entry.actor.startsWith('W') ? `<@${entry.actor}>` : escapeText(entry.actor)}` : ''} · ${slackDateIso(entry.at)}${link}`;
}

/** A message link Slack resolves for a signed-in member. */
export function threadLink(channel: string, ts: string): string {
  return `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Publishes Home tabs: at once when a user opens it, and again, debounced, for every user who has
 * opened it when something changes (a freeze, a stop, an approval, a release), never on a timer.
 */
export class HomePublisher {
  private readonly viewers = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** The newest audit entry seen (undefined: not read yet). */
  private lastAuditId: string | null | undefined;

  constructor(
    private readonly slack: SlackContext,
    private readonly debounceMs = 1_000,
  ) {}

  async opened(user: string): Promise<void> {
    this.viewers.add(user);
    // What the audit holds now is in this publish: only newer entries publish again.
    if (this.lastAuditId === undefined) await this.noticeAudit();
    await this.publish(user);
  }

  /** Something the Home tab shows changed: republish for every viewer once things settle. */
  changed(): void {
    if (this.viewers.size === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.publishAll(), this.debounceMs);
    this.timer.unref();
  }

  /**
   * Workers and other bot replicas change what the Home tab shows (a release finished, a cleanup)
   * without this process seeing it; each of those writes the audit trail, so a new entry there
   * publishes the open tabs again. Only read while someone has the tab open.
   */
  async noticeAudit(): Promise<void> {
    if (this.viewers.size === 0) return;
    try {
      const newest = (await readAudit(this.slack.redis, this.slack.prefix, { count: 1 }))[0]?.id ?? null;
      const seen = this.lastAuditId;
      this.lastAuditId = newest;
      if (seen !== undefined && newest !== seen) this.changed();
    } catch (error) {
      this.slack.log.warn(`Home tab refresh: ${errorText(error)}`);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async publishAll(): Promise<void> {
    for (const user of [...this.viewers].slice(0, 200)) await this.publish(user);
  }

  private async publish(user: string): Promise<void> {
    try {
      const view = await homeView(this.slack, user);
      await this.slack.client.views.publish({ user_id: user, view: view });
    } catch (error) {
      this.slack.log.warn(`Home tab for ${user}: ${errorText(error)}`);
    }
  }
}
