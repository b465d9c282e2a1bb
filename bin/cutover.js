#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx cutover` works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import(new URL('../src/cli.ts', import.meta.url).href);
const { createQueueRunner } = await import(new URL('../src/wiring/queue-runner.ts', import.meta.url).href);
const code = await runCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env, queue: createQueueRunner() });
process.exit(code);
