import { prometheusUnavailable, startPrometheus, type RunningPrometheus } from '../../src/sandbox/prometheus.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';

/**
 * Whether the tests that need a real Prometheus can run. In CI (`CI` set, as `.ci/run` runs) a
 * missing binary is a failure, never a skip: `.ci/run` installs Debian's prometheus. Locally the
 * test files skip, saying why in one line.
 */
export async function prometheusForTests(file: string): Promise<boolean> {
  const missing = await prometheusUnavailable();
  if (missing === null) return true;
  if (process.env.CI) throw new Error(`${file} needs Prometheus in CI: ${missing}`);
  console.warn(`SKIPPED ${file}: ${missing}`);
  return false;
}

/** A Prometheus scraping every region's ingress metrics each `scrapeIntervalMs`, series labelled with `region`; waits for the first scrape. */
export async function scrapeSandbox(sandbox: Sandbox, scrapeIntervalMs = 500): Promise<RunningPrometheus> {
  const prometheus = await startPrometheus({ targets: sandbox.regions.map((r) => ({ url: r.ingressMetricsUrl, labels: { region: r.name } })), scrapeIntervalMs });
  try {
    await prometheus.waitForTargets();
  } catch (error) {
    await prometheus.stop();
    throw error;
  }
  return prometheus;
}
