export { startSlackStandIn, DEFAULT_BOT_TOKEN, DEFAULT_CHANNELS, DEFAULT_USERGROUPS, DEFAULT_USERS } from './web-api.js';
export { createSlackDriver } from './driver.js';
export type { DeliveryResult, EventResult, SendSignedOptions, SlackDriver, SlackDriverOptions, SlashCommandResult } from './driver.js';
export { signSlackRequest, slackSignatureHeaders } from './signing.js';
export type * from './types.js';
