import type { RegionReport, ReleaseResult } from '../core/events.js';
import { describeAfter } from '../core/outcome.js';

/** Plain-text summary of a release, one line per region: for the CLI, logs and Slack fallback text. */
export function summaryLines(result: ReleaseResult): string[] {
  const head = `${headline(result)} (${formatMs(result.totalMs)})`;
  const lines = [head, ...result.regions.map(regionLine)];
  if (result.reasons.length > 0) lines.push(...result.reasons.map((r) => `reason: ${r}`));
  if (result.compensation) {
    const { restored, failed } = result.compensation;
    if (restored.length > 0) lines.push(`restored: ${restored.join(', ')} switched back to the previous version and verified`);
    if (failed.length > 0) lines.push(`NOT restored: ${failed.join(', ')} — check these regions now`);
  }
  if (result.split) lines.push('WARNING: regions are on different versions; see each region above and the SPLIT reason');
  return lines;
}

export function headline(result: ReleaseResult): string {
  const line = outcomeLine(result);
  return result.split ? `${line} — SPLIT: regions on different versions` : line;
}

function outcomeLine(result: ReleaseResult): string {
  const what = `${result.action} ${result.app}${result.version ? ` ${result.version}` : ''} in ${result.environment}`;
  switch (result.outcome) {
    case 'succeeded':
      return `✅ ${what}: done`;
    case 'rolled-back':
      return `↩️ ${what}: failed and rolled back`;
    case 'refused':
      return `⛔ ${what}: refused`;
    case 'failed':
      return `❌ ${what}: failed`;
    case 'stopped':
      return `⏹️ ${what}: stopped, a region was changed outside this release`;
    case 'superseded':
      return `⏭️ ${what}: superseded by a newer release`;
  }
}

function regionLine(report: RegionReport): string {
  const parts = [`${report.region}: ${report.outcome}`];
  if (report.from !== null || report.to !== null) parts.push(`${report.from ?? '(none)'} → ${report.to ?? '(none)'}`);
  const t = report.timings;
  if (t.patchMs !== null) parts.push(`patch ${formatMs(t.patchMs)}`);
  if (t.endpointsMs !== null) parts.push(`endpoints ${formatMs(t.endpointsMs)}`);
  if (t.dataPlaneMs !== null) parts.push(`traffic ${formatMs(t.dataPlaneMs)}`);
  if (t.totalMs > 0) parts.push(`total ${formatMs(t.totalMs)}`);
  if (report.health) {
    const seen = Object.entries(report.health.samples).map(([v, n]) => `${n}×${v}`).join(' ');
    parts.push(`health: ${report.health.readyPods} ready pods, samples ${seen || 'none'}${report.health.failedSamples ? `, ${report.health.failedSamples} failed` : ''}`);
  }
  if (report.after) parts.push(describeAfter(report.after));
  if (report.detail && report.outcome === 'failed') parts.push(`— ${report.detail}`);
  return parts.join(' · ');
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
