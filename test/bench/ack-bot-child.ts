/** The bot of the ack bench, in its own process so the load generator does not share its event loop. */
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { createSlackApp } from '../../src/slack/app.js';
import { redisUrl, testRedis } from '../queue/redis-fixture.js';
import { FakeClusters, slackConfig } from '../slack/harness.js';

const prefix = process.env.ACK_PREFIX!;
const redis = testRedis();
const queue = createReleaseQueue({ redisUrl, prefix });
const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
const bot = createSlackApp({
  config: slackConfig(prefix),
  reader: new FakeClusters(),
  redis,
  queue,
  botToken: process.env.ACK_BOT_TOKEN!,
  signingSecret: process.env.ACK_SIGNING_SECRET!,
  slackApiUrl: process.env.ACK_SLACK_API_URL!,
  log: quiet,
  sweepIntervalMs: 0,
});
const { port } = await bot.start(0, '127.0.0.1');
console.log(JSON.stringify({ port }));
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage();
  console.error(`bot process CPU: ${Math.round((cpu.user + cpu.system) / 1000)} ms`);
  void bot
    .stop()
    .then(() => queue.close())
    .finally(() => {
      redis.disconnect();
      process.exit(0);
    });
});
