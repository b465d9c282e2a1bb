/** The Slack stand-in of the ack bench, in its own process: the bot's replies load it, not the load generator. */
import { createInterface } from 'node:readline';
import { startSlackStandIn } from '../../src/sandbox/slack/index.js';

const standIn = await startSlackStandIn();
const send = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
send({ apiUrl: standIn.apiUrl, botToken: standIn.botToken });
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.split(' ');
  if (command === 'issue') {
    const channel = standIn.channels()[0]!.id;
    send({ urls: Array.from({ length: Number(arg) }, () => standIn.issueResponseUrl({ channel, user: 'U0000ALICE', command: '/release' })) });
  } else if (command === 'stats') {
    send({ replies: standIn.responseUrlPosts().length, posts: standIn.messages().length, rateLimited: standIn.rateLimited().length });
  }
}
await standIn.close();
