/**
 * Fencing enforced at the write. A worker is paused (SIGSTOP) right after it passed its lease
 * check and announced its us-east switch; its lease expires, another worker finishes the job, an
 * emergency rollback then puts both regions back on v1. When the paused worker continues
 * (SIGCONT), the live Service carries a newer fencing token than its own: its switch is refused
 * and nothing flips back. (Without the token, the old worker's write would pass: us-east is on
 * v1 again, exactly the `from` its plan expected.)
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { resultOf, waitFor, World, type WorkerProcess } from './harness.js';
import { RedisTripwireProxy, Tripwires } from './redis-tripwire.js';

const world = new World({
  apps: { fence: {} },
  policy: { bakeSeconds: 0, lockTtlSeconds: 5 },
  worker: { concurrency: 2, lockDurationMs: 1500, stalledIntervalMs: 500 },
});
const wires = new Tripwires();
const proxies: RedisTripwireProxy[] = [];

async function spawnProxiedWorker(): Promise<WorkerProcess> {
  const worker = await world.spawnProxiedWorker(wires, proxies);
  await waitFor(() => worker.lines.some((l) => l.msg === 'worker ready'), `worker ${worker.child.pid} to be ready`, 20_000);
  return worker;
}

beforeAll(async () => {
  await world.start();
  await world.prepare('fence', { install: ['v2'] });
  await Promise.all([spawnProxiedWorker(), spawnProxiedWorker()]);
}, 60_000);

afterAll(async () => {
  for (const w of world.workers) if (w.child.signalCode === 'SIGSTOP') w.child.kill('SIGCONT');
  await world.stop();
  await Promise.all(proxies.map((p) => p.close()));
});

async function usEastService(): Promise<{ version: string | undefined; resourceVersion: string | undefined; fence: string | undefined }> {
  const core = loadKubeConfig({ path: world.sandbox.kubeconfigPath, context: 'us-east' }).makeApiClient(CoreV1Api);
  const service = await core.readNamespacedService({ name: 'fence', namespace: 'production' });
  return { version: service.spec?.selector?.['app.kubernetes.io/version'], resourceVersion: service.metadata?.resourceVersion, fence: service.metadata?.annotations?.['cutover.dev/fence'] };
}

describe('a worker paused past its lease TTL', () => {
  it('cannot write when it wakes up: the Service carries a newer fencing token, and nothing flips back', async () => {
    let paused: number | undefined;
    let afterRollback: Awaited<ReturnType<typeof usEastService>> | undefined;
    // Steps: 0, 1 prechecks; 2 switch eu-west; 3 verify eu-west; 4 switch us-east; 5 verify us-east.
    wires.arm({
      match: '{"type":"step-started","index":4,"step":{"kind":"switch","region":"us-east"',
      action: 'hold',
      whileHeld: async () => {
        const victim = world.workers.find((w) => w.lines.some((l) => l.job === 'fence-1'))!;
        paused = victim.child.pid;
        victim.child.kill('SIGSTOP');
        // Its lease and its BullMQ lock expire; the other worker resumes the job and finishes it.
        const finished = await resultOf(world.queue, 'fence-1', 30_000);
        expect(finished.outcome).toBe('succeeded');
        await enqueueRelease(world.queue, 'rollback', { requestId: 'fence-rollback', app: 'fence', environment: 'production', requestedBy: 'U0ONCALL', source: 'cli' });
        expect((await resultOf(world.queue, 'fence-rollback', 30_000)).outcome).toBe('succeeded');
        afterRollback = await usEastService();
        victim.child.kill('SIGCONT');
      },
    });
    await enqueueRelease(world.queue, 'promote', { requestId: 'fence-1', app: 'fence', environment: 'production', version: 'v2', requestedBy: 'U0TEST', source: 'cli' });
    await waitFor(() => wires.trips.length > 0, 'the paused worker to be let go', 60_000);
    const woken = world.workers.find((w) => w.child.pid === paused)!;
    // Give the woken worker the time to try its us-east switch.
    await waitFor(() => woken.lines.some((l) => l.job === 'fence-1' && (l.event === 'step-finished' || /lost|interrupted|fenc/i.test(String(l.msg)))), 'the woken worker to try its switch', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(afterRollback?.version).toBe('v1');
    const now = await usEastService();
    expect(now).toEqual(afterRollback);
    expect(await world.liveVersions('fence')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    const tried = woken.lines.filter((l) => l.job === 'fence-1' && l.event === 'step-finished').map((l) => String(l.msg));
    expect(tried.join('\n')).toMatch(/us-east: .*written by a newer release \(fencing token \d+, this job holds \d+\)/);
  });
});
