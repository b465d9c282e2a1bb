import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSources, roomViolations } from './rooms.js';

const root = path.resolve(import.meta.dirname, '../..');
const project = readSources(root);

/** A planted file, and the problem the checker must report for it. */
const planted: Array<{ file: string; text: string; reported: string }> = [
  { file: 'src/core/planted-side-effect.ts', text: "import '../kube/kube-cluster.js';\n", reported: 'src/core/planted-side-effect.ts:1: core imports kube (../kube/kube-cluster.js)' },
  {
    file: 'src/core/planted-dynamic.ts',
    text: 'export async function names(): Promise<unknown> {\n  return await import(\'../queue/names.js\');\n}\n',
    reported: 'src/core/planted-dynamic.ts:2: core imports queue (../queue/names.js)',
  },
  { file: 'src/queue/planted-reexport.ts', text: "export { renderBlocks } from '../slack/blocks.js';\n", reported: 'src/queue/planted-reexport.ts:1: queue imports slack (../slack/blocks.js)' },
  { file: 'src/kube/planted-type.ts', text: "import type { StepResult } from '../release/steps.js';\nexport type S = StepResult;\n", reported: 'src/kube/planted-type.ts:1: kube imports release (../release/steps.js)' },
  { file: 'src/core/planted-type-query.ts', text: "export type C = typeof import('../kube/cluster.js');\n", reported: 'src/core/planted-type-query.ts:1: core imports kube (../kube/cluster.js)' },
  { file: 'src/core/planted-require.ts', text: "import x = require('../config/index.js');\nexport const y = x;\n", reported: 'src/core/planted-require.ts:1: core imports config (../config/index.js)' },
  {
    file: 'src/release/planted-computed.ts',
    text: "const where = '../slack/app.js';\nexport const app = import(where);\n",
    reported: 'src/release/planted-computed.ts:2: release has an import whose target the check cannot read',
  },
  { file: 'src/sandbox/planted-product.ts', text: "import { loadConfig } from '../config/index.js';\nexport { loadConfig };\n", reported: 'src/sandbox/planted-product.ts:1: sandbox imports config (../config/index.js)' },
  { file: 'src/core/planted-io.ts', text: "import { readFileSync } from 'node:fs';\nexport { readFileSync };\n", reported: 'src/core/planted-io.ts:1: core imports package node:fs' },
  { file: 'src/slack/planted-kube-client.ts', text: "import { KubeConfig } from '@kubernetes/client-node';\nexport { KubeConfig };\n", reported: 'src/slack/planted-kube-client.ts:1: slack imports package @kubernetes/client-node' },
  { file: 'src/wiring/planted-kube-client.ts', text: "export * from '@kubernetes/client-node';\n", reported: 'src/wiring/planted-kube-client.ts:1: wiring imports package @kubernetes/client-node' },
  { file: 'jobs/planted-slack-app.ts', text: "import { createSlackApp } from '../src/slack/app.js';\nexport { createSlackApp };\n", reported: 'jobs/planted-slack-app.ts:1: jobs imports slack (../src/slack/app.js)' },
  { file: 'src/wiring/planted-entry.ts', text: "import type { CliIo } from '../cli.js';\nexport type I = CliIo;\n", reported: 'src/wiring/planted-entry.ts:1: wiring imports entry (../cli.js)' },
  { file: 'src/bot-planted.ts', text: 'export {};\n', reported: 'src/bot-planted.ts: in no room' },
  { file: 'src/plugins/extra.ts', text: 'export {};\n', reported: 'src/plugins/extra.ts: in no room' },
  { file: 'tools/build.ts', text: 'export {};\n', reported: 'tools/build.ts: in no room' },
  { file: 'src/queue/planted-test-import.ts', text: "import '../../test/support/sandbox-env.js';\n", reported: 'src/queue/planted-test-import.ts:1: queue imports ../../test/support/sandbox-env.js, which is in no room' },
  { file: 'src/bot.ts', text: `import './sandbox/sandbox.js';\n${project.get('src/bot.ts')}`, reported: 'src/bot.ts:1: entry imports sandbox (./sandbox/sandbox.js)' },
  { file: 'bin/planted.js', text: "await import(new URL('../src/sandbox/sandbox.ts', import.meta.url).href);\n", reported: 'bin/planted.js:1: entry imports sandbox (../src/sandbox/sandbox.ts)' },
  { file: 'src/core/planted-clock.ts', text: 'export const now = (): number => Date.now();\n', reported: 'src/core/planted-clock.ts:1: Date.now in core' },
  { file: 'src/core/planted-new-date.ts', text: 'export const today = (): Date => new Date();\n', reported: 'src/core/planted-new-date.ts:1: new Date() in core' },
  { file: 'src/queue/planted-env.ts', text: "export const url = process.env['REDIS_URL'];\n", reported: 'src/queue/planted-env.ts:1: queue reads process.env' },
];

describe('rooms of the architecture', () => {
  it('every source file is in a room and every import points down the list of rooms', () => {
    expect(project.size).toBeGreaterThan(50);
    expect(project.has('bin/cutover.js')).toBe(true);
    expect(project.has('jobs/worker.ts')).toBe(true);
    expect(roomViolations(project)).toEqual([]);
  });

  it.each(planted)('reports a planted violation: $file', ({ file, text, reported }) => {
    const withPlant = new Map(project).set(file, text);
    const problems = roomViolations(withPlant);
    expect(problems.filter((problem) => problem.startsWith(reported))).toHaveLength(1);
    expect(problems.filter((problem) => !problem.startsWith(`${file}:`))).toEqual([]);
  });

  it('accepts the same imports where the rooms allow them', () => {
    const allowed = new Map(project)
      .set('src/release/allowed.ts', "import '../kube/kube-cluster.js';\nimport type { Step } from '../core/plan.js';\nexport type S = Step;\n")
      .set('jobs/allowed.ts', "export { workerThreadReporters } from '../src/slack/thread-reporter.js';\n")
      .set('src/demo/allowed.ts', "export const sandbox = await import('../sandbox/sandbox.js');\n")
      .set('src/config/allowed.ts', "export const env = process.env['X'];\n");
    expect(roomViolations(allowed)).toEqual([]);
  });

  describe('on a project tree on disk', () => {
    const temp = mkdtempSync(path.join(tmpdir(), 'cutover-rooms-'));
    afterAll(() => rmSync(temp, { recursive: true, force: true }));
    const write = (rel: string, text: string): void => {
      mkdirSync(path.dirname(path.join(temp, rel)), { recursive: true });
      writeFileSync(path.join(temp, rel), text);
    };

    it('reads every top-level source folder, skips tests and installed packages, and reports unknown folders', () => {
      write('src/core/names.ts', 'export const a = 1;\n');
      write('src/kube/cluster.ts', "import { a } from '../core/names.js';\nexport const b = a;\n");
      write('src/core/bad.ts', "import '../kube/cluster.js';\n");
      write('tools/build.mjs', 'export {};\n');
      write('test/anything.test.ts', "import '../src/kube/cluster.js';\n");
      write('node_modules/pkg/index.js', 'export {};\n');
      write('eslint.config.js', "import x from 'anything';\nexport default x;\n");
      expect(roomViolations(readSources(temp))).toEqual([
        'src/core/bad.ts:1: core imports kube (../kube/cluster.js)',
        'tools/build.mjs: in no room (an unknown folder or file: add it to the rooms of test/architecture/rooms.ts)',
      ]);
    });
  });
});
