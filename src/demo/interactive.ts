import { createInterface } from 'node:readline/promises';
import { startTraffic } from './traffic.js';
import { indent, messageText } from './transcript.js';
import { channel, people, type DemoWorld, type Person } from './world.js';

const help = `commands:
  /release <args>              as the current user (alice at first), e.g. /release deploy v1
  as <alice|bob|carol|eve>     switch user (alice and bob may ask; bob and carol approve; bob may
                               /release freeze|stop|unfreeze|resume; alice may --override "reason")
  react [user] [emoji] [n]     react to message n of the channel list (default: the newest request), default :white_check_mark:
  unreact [user] [emoji] [n]   remove that reaction
  channel                      show the channel and its threads as they read now
  traffic                      live counters of the users hitting both regions
  home                         open cutover's Home tab as the current user (shown as text)
  approve <n>                  press Approve on the Home tab for its n-th waiting request (default 1)
  help, quit`;

/** A prompt to play the story by hand: type commands as one user or another, react, watch traffic. */
export async function runInteractive(world: DemoWorld, say: (line: string) => void): Promise<void> {
  const traffic = startTraffic({ targets: world.sandbox.regions.map((r) => ({ url: r.ingressUrl, region: r.name })), concurrency: 2, pauseMs: 20 });
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  let user: Person = 'alice';
  let shownRoots = 0;
  say(`\n${help}\n\nUsers hit / on both regions the whole time (503 until something is live: that is expected before the first promotion).`);
  const roots = () => world.standIn.messages(channel).filter((m) => !m.thread_ts);
  const render = (): string =>
    roots()
      .map((root, i) => {
        const thread = world.standIn.replies(channel, root.ts).map((r) => indent(messageText(r, world), '   │ '));
        return [`[${i + 1}] ${messageText(root, world)}`, ...thread].join('\n');
      })
      .join('\n\n');
  try {
    for (;;) {
      const fresh = roots().slice(shownRoots);
      for (const root of fresh) say(indent(messageText(root, world), '   bot: '));
      shownRoots += fresh.length;
      const line = (await rl.question(`${user}> `)).trim();
      if (line === 'quit' || line === 'exit') break;
      if (line === '' ) continue;
      if (line === 'help') say(help);
      else if (line === 'channel') say(render() || '(no messages yet)');
      else if (line === 'traffic') say(JSON.stringify(traffic.counters()));
      else if (line === 'home') {
        const before = world.standIn.homeView(people[user])?.publishedAt ?? -1;
        await world.driver.openAppHome(people[user]);
        const home = await world.standIn.waitFor((s) => { const v = s.homeView(people[user]); return v && v.publishedAt > before ? v : undefined; }, 10_000).catch(() => undefined);
        say(home ? indent(messageText({ blocks: home.view.blocks as unknown[] }, world), '   home: ') : '(the Home tab was not published)');
      } else if (/^approve\b/.test(line)) {
        const n = Number(line.split(/\s+/)[1] ?? '1');
        const view = world.standIn.homeView(people[user])?.view;
        const ids = ((view?.blocks as { type?: string; elements?: { action_id?: string; value?: string }[] }[] | undefined) ?? []).flatMap((b) => (b.type === 'actions' ? (b.elements ?? []).filter((e) => e.action_id === 'cutover_approve').map((e) => e.value ?? '') : []));
        const id = ids[n - 1];
        if (!id) say('nothing to approve on your Home tab (type home first)');
        else {
          await world.driver.pressHomeButton(people[user], 'cutover_approve', id);
          await sleep(800);
          say(`pressed Approve on ${id} as ${user}`);
        }
      }
      else if (line.startsWith('as ')) {
        const who = line.slice(3).trim();
        if (who in people) user = who as Person;
        else say(`unknown user: ${who} (alice, bob, carol, eve)`);
      } else if (line.startsWith('/release')) {
        const before = world.standIn.ephemerals().length;
        const { responseUrl } = await world.driver.slashCommand(people[user], line.replace(/^\/release\s*/, ''), { channel });
        await sleep(800);
        const answer = world.standIn.responseUrlPosts().find((p) => p.url === responseUrl);
        if (answer) say(indent(`(only ${user} sees) ${messageText(answer, world)}`, '   bot: '));
        for (const e of world.standIn.ephemerals().slice(before)) say(indent(`(only you see) ${messageText(e, world)}`, '   bot: '));
      } else if (/^(un)?react\b/.test(line)) {
        const [verb, ...args] = line.split(/\s+/);
        const who = (args.find((a) => a in people) as Person | undefined) ?? user;
        const emoji = args.find((a) => !(a in people) && !/^\d+$/.test(a))?.replace(/:/g, '') ?? 'white_check_mark';
        const index = args.find((a) => /^\d+$/.test(a));
        const target = index ? roots()[Number(index) - 1] : roots().findLast((m) => (m.text ?? '').startsWith('Approval needed'));
        if (!target) say('no such message');
        else {
          const before = world.standIn.ephemerals().length;
          await world.driver.reaction(people[who], { channel, ts: target.ts }, emoji, { removed: verb === 'unreact' });
          await sleep(500);
          for (const e of world.standIn.ephemerals().slice(before)) say(indent(`(only ${world.names[e.user] ?? e.user} sees) ${messageText(e, world)}`, '   bot: '));
        }
      } else say(`not a command: ${line} (type help)`);
    }
  } finally {
    rl.close();
    await traffic.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
