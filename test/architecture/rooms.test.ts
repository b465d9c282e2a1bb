import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The rooms of ARCHITECTURE.md, checked on resolved import paths: dependencies point one way.
 * A room may import itself, the rooms listed, and the packages listed.
 */
type Room = 'entry' | 'jobs' | 'slack' | 'queue' | 'release' | 'kube' | 'core' | 'config' | 'sandbox' | 'observability';

const allowed: Record<Room, { rooms: Room[]; packages: RegExp }> = {
  entry: { rooms: ['jobs', 'slack', 'queue', 'release', 'kube', 'core', 'config', 'sandbox', 'observability'], packages: /.*/ },
  jobs: { rooms: ['release', 'queue', 'slack', 'config', 'core', 'observability'], packages: /^(node:|bullmq$|ioredis$|zod$)/ },
  slack: { rooms: ['queue', 'core', 'config', 'observability'], packages: /^(node:|@slack\/|bullmq$|ioredis$|zod$)/ },
  queue: { rooms: ['core', 'config', 'observability'], packages: /^(node:|bullmq$|ioredis$|zod$)/ },
  release: { rooms: ['core', 'kube', 'observability'], packages: /^node:(http|https|timers\/promises|events|util|crypto)$/ },
  kube: { rooms: ['core', 'observability'], packages: /^(node:|@kubernetes\/client-node$)/ },
  core: { rooms: [], packages: /^$/ },
  config: { rooms: ['core'], packages: /^(node:(fs|path|util)|zod$|yaml$|cron-parser$)/ },
  sandbox: { rooms: [], packages: /^(node:|yaml$|@slack\/)/ },
  // Logs, metrics and readiness: a shared leaf every I/O room may use; it imports nothing of the product.
  observability: { rooms: [], packages: /^(node:|pino$|prom-client$)/ },
};

const root = path.resolve(import.meta.dirname, '../..');

function roomOf(file: string): Room | null {
  const rel = path.relative(root, file).split(path.sep).join('/');
  if (/^src\/(bot|cli|demo)\.ts$/.test(rel) || /^src\/(demo|wiring)\//.test(rel) || rel === 'jobs/worker.ts') return 'entry';
  if (rel.startsWith('jobs/')) return 'jobs';
  if (rel.startsWith('src/sandbox/')) return 'sandbox';
  const match = /^src\/(slack|queue|release|kube|core|config|observability)(\/|\.ts$)/.exec(rel);
  return match ? (match[1] as Room) : null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/g)) found.add(match[1]!);
  for (const match of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) found.add(match[1]!);
  return [...found];
}

function violations(): string[] {
  const problems: string[] = [];
  for (const file of [...sourceFiles(path.join(root, 'src')), ...sourceFiles(path.join(root, 'jobs'))]) {
    const room = roomOf(file);
    if (!room) continue;
    for (const specifier of importsOf(file)) {
      const where = path.relative(root, file);
      if (specifier.startsWith('.')) {
        const target = roomOf(path.resolve(path.dirname(file), specifier));
        if (target && target !== room && !allowed[room].rooms.includes(target)) problems.push(`${where}: ${room} imports ${target} (${specifier})`);
      } else if (!allowed[room].packages.test(specifier)) {
        problems.push(`${where}: ${room} imports package ${specifier}`);
      }
    }
  }
  return problems;
}

describe('rooms of the architecture', () => {
  it('every import points down the list of rooms', () => {
    expect(violations()).toEqual([]);
  });

  it('the check sees a violation when there is one', () => {
    expect(roomOf(path.join(root, 'src/core/names.ts'))).toBe('core');
    expect(allowed.core.rooms).not.toContain('kube');
    expect(allowed.core.packages.test('node:http')).toBe(false);
    expect(allowed.sandbox.rooms).toEqual([]);
    expect(roomOf(path.join(root, 'src/sandbox/slack/index.ts'))).toBe('sandbox');
    expect(roomOf(path.join(root, 'src/observability/log.ts'))).toBe('observability');
    expect(allowed.core.rooms).not.toContain('observability');
    expect(allowed.observability.rooms).toEqual([]);
  });
});
