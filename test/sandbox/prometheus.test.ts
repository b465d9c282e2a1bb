import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusConfig, prometheusUnavailable, startPrometheus } from '../../src/sandbox/prometheus.js';
import { prometheusForTests } from '../support/prometheus.js';

describe('the Prometheus the demo, tests and benchmarks start', () => {
  it('scrapes each target with its labels and path, at the interval asked', () => {
    const config = parse(prometheusConfig({ targets: [{ url: 'http://127.0.0.1:10254/metrics', labels: { region: 'eu-west' } }], scrapeIntervalMs: 500 })) as {
      global: unknown;
      scrape_configs: { static_configs: unknown }[];
    };
    expect(config.global).toEqual({ scrape_interval: '500ms', scrape_timeout: '500ms', evaluation_interval: '500ms' });
    expect(config.scrape_configs[0]!.static_configs).toEqual([{ targets: ['127.0.0.1:10254'], labels: { region: 'eu-west', __metrics_path__: '/metrics', __scheme__: 'http' } }]);
  });

  it('says in one line why it cannot start when the binary is missing', async () => {
    expect(await prometheusUnavailable('no-such-prometheus')).toBe('no-such-prometheus is not installed (apt-get install prometheus; .ci/run installs it)');
  });
});

const hasPrometheus = await prometheusForTests('test/sandbox/prometheus.test.ts');

describe.skipIf(!hasPrometheus)('a real Prometheus', () => {
  it('starts on a free port, answers its API, and leaves nothing behind when stopped', async () => {
    const prometheus = await startPrometheus({ targets: [] });
    const answer = (await (await fetch(`${prometheus.url}/api/v1/query?query=vector(1)`)).json()) as { status: string };
    expect(answer.status).toBe('success');
    const dir = (await (await fetch(`${prometheus.url}/api/v1/status/flags`)).json()) as { data: Record<string, string> };
    expect(existsSync(dir.data['storage.tsdb.path']!)).toBe(true);
    await prometheus.stop();
    expect(existsSync(dir.data['storage.tsdb.path']!)).toBe(false);
    await expect(fetch(`${prometheus.url}/-/ready`)).rejects.toThrow();
  }, 60_000);
});
