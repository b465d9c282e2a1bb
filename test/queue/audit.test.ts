import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { appendAudit, readAudit, type AuditEntry } from '../../src/queue/audit.js';
import { deleteKeys, testPrefix, testRedis } from './redis-fixture.js';

const prefix = testPrefix();
let redis: Redis;

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

describe('audit trail', () => {
  it('reads back what was appended, newest first, optionally for one app', async () => {
    const entries: AuditEntry[] = [
      { at: '2024-05-01T10:00:00.000Z', kind: 'requested', app: 'shop', environment: 'production', version: 'v42', actor: 'U-alice', requestId: 'r1' },
      { at: '2024-05-01T10:01:00.000Z', kind: 'approved', app: 'shop', environment: 'production', version: 'v42', actor: 'U-bob', requestId: 'r1' },
      { at: '2024-05-01T10:02:00.000Z', kind: 'requested', app: 'cart', environment: 'staging', requestId: 'r2' },
      { at: '2024-05-01T10:05:00.000Z', kind: 'failed', app: 'shop', environment: 'production', version: 'v42', requestId: 'r1', detail: 'verify failed in eu-west; us-east restored to v41' },
    ];
    for (const entry of entries) await appendAudit(redis, prefix, entry);

    const newest = await readAudit(redis, prefix, { count: 2 });
    expect(newest.map(({ id: _id, ...entry }) => entry)).toEqual([entries[3], entries[2]]);
    const shop = await readAudit(redis, prefix, { count: 10, app: 'shop' });
    expect(shop.map((entry) => entry.kind)).toEqual(['failed', 'approved', 'requested']);
    expect(shop[2]).not.toHaveProperty('detail');
    expect(await readAudit(redis, prefix, { count: 5, app: 'nothing' })).toEqual([]);
  });
});
