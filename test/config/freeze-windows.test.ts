import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { configuredFreezes, ConfigError, findEnvironment, parseConfig } from '../../src/config/index.js';
import { freezeRefusal } from '../../src/core/freeze.js';

/** `environments.<env>.freezes`, `freezers` and `breakGlass`: validated at load, evaluated in their time zone. */

function config(freezes: unknown[], extra: Record<string, unknown> = {}) {
  return {
    apps: { shop: { image: 'registry.example.com/shop:{version}', hosts: ['shop.example.com'] }, cart: { image: 'registry.example.com/cart:{version}', hosts: ['cart.example.com'] } },
    environments: { production: { regions: [{ name: 'eu-west', namespace: 'production' }], freezes, ...extra } },
  };
}

function load(data: unknown) {
  return parseConfig(stringify(data), {}, 'cutover.yaml');
}

function errorOf(data: unknown): string {
  try {
    load(data);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('freeze windows in the config', () => {
  it.each<[string, unknown, string]>([
    ['a bad cron', { cron: '0 25 * * *', duration: '2h', reason: 'x' }, 'environments.production.freezes[0].cron'],
    ['a bad time zone', { cron: '0 17 * * 5', duration: '2h', timeZone: 'Mars/Olympus', reason: 'x' }, 'is not an IANA time zone name'],
    ['a bad duration', { cron: '0 17 * * 5', duration: 'two hours', reason: 'x' }, 'must be a duration such as 2h, 90m, 1h30m or 3d'],
    ['no reason', { cron: '0 17 * * 5', duration: '2h' }, 'a freeze window has either cron, duration (and timeZone) or from and to, and a reason'],
    ['to before from', { from: '2026-12-24T00:00:00+01:00', to: '2026-12-23T00:00:00+01:00', reason: 'x' }, 'must be after from (2026-12-24T00:00:00+01:00)'],
    ['a time without offset', { from: '2026-12-24T00:00:00', to: '2026-12-27T00:00:00Z', reason: 'x' }, 'must be an ISO 8601 time with an offset'],
    ['an unknown app', { from: '2026-12-24T00:00:00Z', to: '2026-12-27T00:00:00Z', reason: 'x', apps: ['shpo'] }, 'unknown app "shpo": apps are shop, cart'],
  ])('refuses %s with a clear message', (_name, window, expected) => {
    expect(errorOf(config([window]))).toContain(expected);
  });

  it('refuses freezers and breakGlass given by name', () => {
    expect(errorOf(config([], { breakGlass: ['alice'] }))).toContain('must be a Slack user id');
    expect(errorOf(config([], { freezers: { usergroups: ['@sre'] } }))).toContain('must be a Slack user group id');
  });

  it('a recurring window is in force from its cron start, in its time zone, for its duration', () => {
    // Fridays 17:00 in Paris (16:00 UTC in winter), for 64 hours: the weekend freeze.
    const parsed = load(config([{ cron: '0 17 * * 5', duration: '64h', timeZone: 'Europe/Paris', reason: 'weekend freeze' }]));
    const env = findEnvironment(parsed, 'production')!;
    const at = (iso: string) => freezeRefusal('promote', 'shop', Date.parse(iso), configuredFreezes(env, ['shop', 'cart'], Date.parse(iso)));
    expect(at('2026-11-27T15:59:59Z')).toBeNull();
    expect(at('2026-11-27T16:00:00Z')).toContain('weekend freeze');
    expect(at('2026-11-30T07:59:59Z')).toContain('weekend freeze');
    expect(at('2026-11-30T08:00:00Z')).toBeNull();
  });

  it('a fixed window covers only its apps, and never a rollback', () => {
    const parsed = load(config([{ from: '2026-12-24T00:00:00+01:00', to: '2026-12-27T00:00:00+01:00', reason: 'holidays', apps: ['cart'] }]));
    const env = findEnvironment(parsed, 'production')!;
    const t = Date.parse('2026-12-25T12:00:00Z');
    const freezes = configuredFreezes(env, ['shop', 'cart'], t);
    expect(freezeRefusal('deploy', 'cart', t, freezes)).toContain('cart in production is frozen by a configured freeze window');
    expect(freezeRefusal('cleanup', 'cart', t, freezes)).toContain('holidays');
    expect(freezeRefusal('rollback', 'cart', t, freezes)).toBeNull();
    expect(freezeRefusal('promote', 'shop', t, freezes)).toBeNull();
  });
});
