import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { ciContext } from '../../src/config/ci.js';
import { cliIn, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';

let world: SandboxEnv;
beforeAll(async () => {
  world = await startSandboxEnv({ sandbox: { regions: ['eu-west', 'us-east'] } });
});
afterAll(async () => {
  await world?.stop();
});

const cli = (...argv: string[]) => cliIn(world, ...argv);

describe('cutover CLI', () => {
  it('prints usage with --help and exits 0; with no arguments exits 2', async () => {
    expect((await cli('--help')).code).toBe(0);
    const bare = await cli();
    expect(bare.code).toBe(2);
    expect(bare.out.join('\n')).toContain('usage: cutover');
  });

  it('exits 2 with the path of the bad field for an invalid config, touching nothing', async () => {
    const bad = path.join(world.dir, 'bad.yaml');
    await writeFile(bad, 'apps:\n  shop:\n    image: x\n    replicas: -1\nenvironments: {}\n');
    const result = await cli('status', '--config', bad);
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toMatch(/apps\.shop\.replicas/);
  });

  it('exits 2 when the config file does not exist', async () => {
    const result = await cli('status', '--config', path.join(world.dir, 'missing.yaml'));
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toMatch(/missing\.yaml/);
  });

  it.each([
    [['deploy', 'cart', 'v1'], /unknown app "cart".*shop/],
    [['deploy', 'shop', 'v1;rm -rf /'], /not a valid version/],
    [['deploy', 'shop'], /needs a version/],
    [['promote', 'shop', 'v1', '--env', 'prod'], /unknown environment "prod".*production/],
    [['launch', 'shop'], /unknown command "launch"/],
    [['status', 'shop', '--bogus'], /Unknown option '--bogus'/],
    [['deploy', 'shop', 'api'], /"api" is not a version of shop: its versions match \^v\?\[0-9\]/],
    [['cleanup', 'shop'], /cleanup deletes versions, so it runs through the queue, under the same leases and in-use marks as every worker: run it with --queue/],
  ])('refuses %j with exit 2 and a clear message', async (argv, message) => {
    const result = await cli(...argv);
    expect(result.code).toBe(2);
    expect([...result.err, ...result.out].join('\n')).toMatch(message);
  });

  it('refuses to promote a version that is not installed (exit 2), then deploys and promotes it (exit 0, JSON last line)', async () => {
    const refused = await cli('promote', 'shop', 'v1', '--json');
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.out.at(-1)!).outcome).toBe('refused');

    const deployed = await cli('deploy', 'shop', 'v1');
    expect(deployed.code).toBe(0);
    expect(deployed.out.some((l) => l.startsWith('✓ eu-west: install v1'))).toBe(true);
    expect(deployed.out.at(-3)).toMatch(/^✅ deploy shop v1 in production: done/);

    expect((await cli('bootstrap', 'shop', 'v1')).code).toBe(0);
    expect((await cli('deploy', 'shop', 'v2', '--json')).code).toBe(0);
    const dry = await cli('promote', 'shop', 'v2', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out.join('\n')).toMatch(/eu-west[\s\S]*v1 → v2[\s\S]*us-east/);

    const promoted = await cli('promote', 'shop', 'v2', '--json');
    expect(promoted.code).toBe(0);
    const result = JSON.parse(promoted.out.at(-1)!);
    expect(result.outcome).toBe('succeeded');
    expect(result.regions.map((r: { region: string; to: string }) => `${r.region}:${r.to}`)).toEqual(['eu-west:v2', 'us-east:v2']);
    expect(result.regions[0].timings.patchMs).toBeGreaterThan(0);
  });

  it('shows status per region, and runs as a real process through bin/cutover.js', async () => {
    const status = await cli('status', 'shop');
    expect(status.code).toBe(0);
    expect(status.out).toContain('eu-west: live v2, previous v1');

    const { stdout } = await promisify(execFile)(process.execPath, ['bin/cutover.js', 'status', '--json'], {
      env: { ...process.env, CUTOVER_CONFIG: world.configPath },
    });
    const parsed = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(parsed.regions.map((r: { region: string; live: { version: string } }) => `${r.region}:${r.live.version}`)).toEqual(['eu-west:v2', 'us-east:v2']);
  });

  it('exits 1 and names the region when a region API is unreachable, changing nothing', async () => {
    world.sandbox.regions[1]!.faults.set({ unreachable: true });
    try {
      const result = await cli('rollback', 'shop');
      expect(result.code).toBe(1);
      expect(result.err.join('\n')).toMatch(/us-east: the API server is unreachable/);
      // status still shows the region that answers, and says which one does not (exit 1).
      const status = await cli('status', 'shop', '--env', 'production');
      expect(status.code).toBe(1);
      expect(status.out).toContain('eu-west: live v2, previous v1');
      expect(status.out.join('\n')).toMatch(/us-east: UNREACHABLE: us-east: the API server is unreachable/);
    } finally {
      world.sandbox.regions[1]!.faults.set({ unreachable: false });
    }
    expect((await cli('status', 'shop')).out).toContain('us-east: live v2, previous v1');
  });

  it('logs JSON lines to stderr at LOG_LEVEL when it is set, and only warnings otherwise; stdout stays the result', async () => {
    const quiet = await cli('status', 'shop');
    expect(quiet.err).toEqual([]);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['status', 'shop'], { out: (l) => out.push(l), err: (l) => err.push(l), env: { CUTOVER_CONFIG: world.configPath, LOG_LEVEL: 'debug' }, clusters: world.clusters });
    expect(code).toBe(0);
    const lines = err.map((l) => JSON.parse(l) as { level: string; msg: string; process: string });
    expect(lines.some((l) => l.level === 'debug' && l.msg === 'kube call' && l.process === 'cli')).toBe(true);
    expect(out.every((l) => !l.startsWith('{'))).toBe(true);
  });
});

describe('the actor a CLI release is recorded as', () => {
  it.each([
    [{ GITHUB_ACTOR: 'octocat', USER: 'runner' }, 'cli:octocat'],
    [{ GITLAB_USER_LOGIN: 'alice' }, 'cli:alice'],
    [{ CIRCLE_USERNAME: 'bob' }, 'cli:bob'],
    [{ BUILDKITE_BUILD_CREATOR: 'carol' }, 'cli:carol'],
    [{ USER: 'dave' }, 'cli:dave'],
    [{}, 'cli:from-the-os'],
  ])('%j → %s', (env, actor) => {
    expect(ciContext(env, () => 'from-the-os').actor).toBe(actor);
  });
});
