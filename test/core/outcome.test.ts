import { describe, expect, it } from 'vitest';
import type { RegionAfter } from '../../src/core/events.js';
import { judgeTrafficRelease, type RunEnding, type TrafficJudgement } from '../../src/core/outcome.js';

const live = (version: string | null, extra: Partial<{ changedOutside: boolean; promotedBy: string }> = {}): RegionAfter => ({ live: version, changedOutside: false, promotedBy: null, ...extra });

function judge(ending: RunEnding, eu: RegionAfter, us: RegionAfter, options: Partial<TrafficJudgement> = {}) {
  return judgeTrafficRelease({
    action: 'promote',
    app: 'shop',
    environment: 'production',
    target: 'v2',
    ending,
    compensated: false,
    before: new Map([
      ['eu-west', 'v1'],
      ['us-east', 'v1'],
    ]),
    after: [
      { region: 'eu-west', after: eu },
      { region: 'us-east', after: us },
    ],
    touched: new Set(['eu-west', 'us-east']),
    ...options,
  });
}

describe('the outcome of a promotion comes from what the clusters say after it', () => {
  it('succeeded only when every region serves the target', () => {
    expect(judge('completed', live('v2'), live('v2'))).toEqual({ outcome: 'succeeded', split: false, reasons: [] });
  });

  it('a region moved after it was verified turns a completed run into "stopped", split, with the commands that resolve it', () => {
    const judged = judge('completed', live('v3', { changedOutside: true }), live('v2'));
    expect(judged.outcome).toBe('stopped');
    expect(judged.split).toBe(true);
    expect(judged.reasons[0]).toMatch(/^eu-west was changed outside this release: live is v3, promoted by unknown/);
    expect(judged.reasons[1]).toBe(
      'SPLIT: the regions serve different versions now (eu-west: v3, us-east: v2): to put every region on one version, run `/release promote shop v3 --env production` (CLI: `cutover promote shop v3 --env production`) or `/release promote shop v2 --env production` (CLI: `cutover promote shop v2 --env production`)',
    );
  });

  it('a run stopped at an outside change stays "stopped", and says the split', () => {
    expect(judge('stopped', live('v3'), live('v1'))).toMatchObject({ outcome: 'stopped', split: true });
  });

  it('rolled back only when the compensation ran and every region is where it was', () => {
    expect(judge('failed', live('v1'), live('v1'), { compensated: true }).outcome).toBe('rolled-back');
    expect(judge('failed', live('v1'), live('v2'), { compensated: true })).toMatchObject({ outcome: 'failed', split: true });
    expect(judge('failed', live('v1'), live('v1'), { compensated: false }).outcome).toBe('failed');
  });

  it('a region that cannot be read is unknown when this release touched it, and possibly split', () => {
    const judged = judge('failed', live('v1'), { unknown: 'unreachable' }, { compensated: true });
    expect(judged).toMatchObject({ outcome: 'failed', split: true });
    expect(judged.reasons[0]).toBe('us-east could not be read after the release (unreachable): what it serves is unknown');
  });

  it('a region this release never touched that cannot be read is taken to be where it was, and said', () => {
    const judged = judge('failed', live('v1'), { unknown: 'unreachable' }, { compensated: true, touched: new Set(['eu-west']) });
    expect(judged).toMatchObject({ outcome: 'rolled-back', split: false });
    expect(judged.reasons).toEqual(['us-east could not be read after the release (unreachable); this release did not change it']);
  });

  it('superseded stays superseded whatever the regions say', () => {
    expect(judge('superseded', live('v1'), live('v1')).outcome).toBe('superseded');
  });
});
