import { findEnvironment } from '../config/index.js';
import { appliesTo, describeFreeze, describeStop, freezesInForce, mayFreeze } from '../core/freeze.js';
import type { LineCommand } from '../core/freeze-grammar.js';
import { FreezeStore, freezesInEffect } from '../queue/freezes.js';
import { section, type Block, type SlackMessage } from './block-kit.js';
import { errorMessage } from './blocks.js';
import { refusalMessage } from './thread-root.js';
import type { CommandOutcome, CommandInput } from './command-handler.js';
import { bestEffort, type SlackContext } from './slack-context.js';

/**
 * `/release freeze|unfreeze|stop|resume`: allowed to the environment's freezers; the change is
 * stored (and audited) in Redis, where the workers read it before every step, and announced in
 * the channel. Nothing here touches a cluster.
 */
export async function handleLineCommand(slack: SlackContext, input: CommandInput, command: LineCommand, onChange?: () => void): Promise<CommandOutcome> {
  const done = (result: CommandOutcome['result']): CommandOutcome => ({ action: command.action, result });
  const say = (message: SlackMessage, visible = false) => bestEffort(slack, 'respond', () => input.respond({ response_type: visible ? 'in_channel' : 'ephemeral', ...message }));
  const environment = findEnvironment(slack.config, command.environment)!;
  const groupMembers = await slack.groups.resolve(environment.freezers.usergroups);
  const refused = mayFreeze(input.userId, environment.freezers, groupMembers);
  if (refused) {
    await say(refusalMessage(`${refused}. Nothing was changed.`));
    return done('refused');
  }
  const store = new FreezeStore(slack.redis, slack.prefix);
  const now = slack.now();
  const where = `${command.scope === 'all' ? 'every app' : command.scope} in ${command.environment}`;
  let text: string;
  switch (command.action) {
    case 'freeze': {
      const freeze = { scope: command.scope, environment: command.environment, reason: command.reason ?? '', from: now, until: now + (command.durationMs ?? 0), by: input.userId };
      await store.freeze(freeze);
      text = `🧊 ${describeFreeze({ ...freeze, source: 'ad-hoc' }, now)}. Deploy, promote and cleanup are refused; rollback is allowed. Lift it with \`/release unfreeze ${command.scope} --env ${command.environment}\`.`;
      break;
    }
    case 'unfreeze': {
      const lifted = await store.unfreeze(command.environment, command.scope, input.userId, now);
      const configured = freezesInForce(await freezesInEffect(slack.redis, slack.prefix, slack.config, command.environment, [], now), null, now).filter((f) => f.source === 'config');
      const still = configured.length > 0 ? ` A configured freeze window is still in force and cannot be lifted from Slack: ${configured.map((f) => describeFreeze(f, now)).join('; ')}.` : '';
      if (!lifted) {
        await say(errorMessage(`${where} has no ad-hoc freeze to lift.${still}`));
        return done('answered');
      }
      text = `🌤️ <@${input.userId}> lifted the freeze of ${where}.${still}`;
      break;
    }
    case 'stop': {
      const stop = { scope: command.scope, environment: command.environment, reason: command.reason ?? '', by: input.userId, at: now, rollback: command.rollback };
      await store.stop(stop);
      text = `🛑 ${describeStop(stop)}. Running releases halt at their next step${command.rollback ? ' and roll back what they switched' : ' (nothing is rolled back)'}; queued ones wait. Rollbacks still run. \`/release resume ${command.scope} --env ${command.environment}\` lets them go on.`;
      break;
    }
    case 'resume': {
      const resumed = await store.resume(command.environment, command.scope, input.userId, now);
      if (!resumed) {
        await say(errorMessage(`${where} is not stopped.`));
        return done('answered');
      }
      text = `▶️ <@${input.userId}> resumed ${where}: stopped releases go on.`;
      break;
    }
  }
  onChange?.();
  await say({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }, true);
  return done('answered');
}

/** Freezes and stops in force for `app` (null: every app), as blocks for status and the App Home; none: no blocks. */
export async function lineStateBlocks(slack: Pick<SlackContext, 'redis' | 'prefix' | 'config' | 'now'>, environment: string, app: string | null): Promise<Block[]> {
  const now = slack.now();
  const apps = app === null ? Object.keys(slack.config.apps) : [app];
  const freezes = freezesInForce(await freezesInEffect(slack.redis, slack.prefix, slack.config, environment, apps, now), app, now);
  const stops = (await new FreezeStore(slack.redis, slack.prefix).stops(environment, apps)).filter((s) => app === null || appliesTo(s.scope, app));
  const lines = [...freezes.map((f) => `🧊 ${describeFreeze(f, now)}`), ...stops.map((s) => `🛑 ${describeStop(s)}`)];
  return lines.length === 0 ? [] : [section(lines.join('\n').slice(0, 2900))];
}
