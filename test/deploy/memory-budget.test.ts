/**
 * The memory budget of deploy/ and the Dockerfile, as text (no soak: `npm run bench:soak` measures
 * it). Each process's V8 heap cap must leave room inside its memory limit for what lives outside
 * the heap, the Dockerfile's default must be the web process's (its CMD), and docs/operating.md
 * must state the figures the manifests declare.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dockerfileNodeOptions, heapCapMiB, processBudget, quantityMiB, repoRoot, type ProcessBudget } from '../support/memory-budget.js';

/**
 * Room outside V8's old space: new space, code, native buffers, sockets and TLS. bench:soak
 * measured up to 119 MiB (web) and 79 MiB (worker) of RSS beyond the whole V8 heap; the old-space
 * cap must leave at least this much of the limit free, and never take more than half of it.
 */
const OUTSIDE_HEAP_MIB = 128;
const MAX_HEAP_SHARE = 0.5;

/** Why a budget does not fit, or null. */
function budgetProblem(b: ProcessBudget): string | null {
  if (b.heapMiB === null) return `deploy/${b.process}.yaml: NODE_OPTIONS sets no --max-old-space-size (V8 would size the heap from the node, not the container)`;
  if (b.limitMiB - b.heapMiB < OUTSIDE_HEAP_MIB) return `deploy/${b.process}.yaml: a heap cap of ${b.heapMiB} MiB leaves ${b.limitMiB - b.heapMiB} MiB of the ${b.limitMiB} MiB limit outside the heap; it needs ${OUTSIDE_HEAP_MIB}`;
  if (b.heapMiB > b.limitMiB * MAX_HEAP_SHARE) return `deploy/${b.process}.yaml: a heap cap of ${b.heapMiB} MiB is more than ${MAX_HEAP_SHARE * 100}% of the ${b.limitMiB} MiB limit`;
  if (b.requestMiB !== null && b.requestMiB > b.limitMiB) return `deploy/${b.process}.yaml: requests ${b.requestMiB} MiB above the limit`;
  return null;
}

describe('memory quantities and heap flags', () => {
  it.each([
    ['384Mi', 384],
    ['1Gi', 1024],
    ['512M', 488.28125],
    ['268435456', 256],
  ])('%s is %d MiB', (quantity, mib) => {
    expect(quantityMiB(quantity)).toBeCloseTo(mib, 5);
  });

  it.each([
    ['--max-old-space-size=192', 192],
    ['--enable-source-maps --max-old-space-size 256', 256],
    ['--max_old_space_size=100 --max-old-space-size=200', 200],
    ['--enable-source-maps', null],
  ])('%s caps the heap at %s MiB', (options, mib) => {
    expect(heapCapMiB(options)).toBe(mib);
  });

  it.each<[string, ProcessBudget, RegExp | null]>([
    ['fits', { process: 'worker', limitMiB: 384, requestMiB: 256, nodeOptions: '', heapMiB: 192 }, null],
    ['no cap', { process: 'worker', limitMiB: 384, requestMiB: 256, nodeOptions: null, heapMiB: null }, /sets no --max-old-space-size/],
    ['cap too big for the limit', { process: 'web', limitMiB: 256, requestMiB: 128, nodeOptions: '', heapMiB: 192 }, /leaves 64 MiB/],
    ['cap over half of a large limit', { process: 'web', limitMiB: 1024, requestMiB: 128, nodeOptions: '', heapMiB: 768 }, /more than 50%/],
  ])('a budget that %s', (_name, budget, problem) => {
    const found = budgetProblem(budget);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });
});

describe('deploy/ memory budget', () => {
  let web: ProcessBudget;
  let worker: ProcessBudget;
  let dockerfile: string | null;
  let operating: string;
  beforeAll(async () => {
    web = await processBudget('web');
    worker = await processBudget('worker');
    dockerfile = await dockerfileNodeOptions();
    operating = await readFile(join(repoRoot, 'docs/operating.md'), 'utf8');
  });

  it('each process caps its heap below its memory limit with room for what lives outside the heap', () => {
    expect(budgetProblem(web)).toBeNull();
    expect(budgetProblem(worker)).toBeNull();
  });

  it('the image defaults to the web process\'s heap cap (its CMD), and the worker sets its own', () => {
    expect(dockerfile).not.toBeNull();
    expect(heapCapMiB(dockerfile)).toBe(web.heapMiB);
    // The worker's container replaces the image's NODE_OPTIONS with its own, sized for its own limit.
    expect(worker.nodeOptions).not.toBeNull();
  });

  it('docs/operating.md states the limits and heap caps the manifests declare', () => {
    for (const b of [web, worker]) {
      const row = new RegExp(`^\\|\\s*${b.process}\\s*\\|[^\\n]*\\b${b.limitMiB} ?Mi\\b[^\\n]*--max-old-space-size=${b.heapMiB}\\b`, 'm');
      expect(operating, `a row "| ${b.process} | ... ${b.limitMiB}Mi ... --max-old-space-size=${b.heapMiB} |" in docs/operating.md`).toMatch(row);
    }
  });
});
