import { describe, expect, it } from 'vitest';
import { planCompensation } from '../../src/core/plan-compensation.js';
import type { Step } from '../../src/core/plan.js';

const sw = (region: string, from: string | null, to: string, rollbackTargetBefore?: string | null): Step =>
  rollbackTargetBefore === undefined ? { kind: 'switch', region, from, to } : { kind: 'switch', region, from, to, rollbackTargetBefore };

describe('planCompensation', () => {
  it.each<[string, Step[], Step[], string[]]>([
    [
      'switches back in reverse order and verifies, restoring the old rollback target',
      [{ kind: 'precheck', region: 'eu-west', version: 'v42', minReady: 1 }, sw('eu-west', 'v41', 'v42', 'v40'), { kind: 'verify', region: 'eu-west', version: 'v42' }, sw('us-east', 'v41', 'v42', 'v40')],
      [
        { kind: 'switch', region: 'us-east', from: 'v42', to: 'v41', rollbackTargetAfter: 'v40' },
        { kind: 'verify', region: 'us-east', version: 'v41' },
        { kind: 'switch', region: 'eu-west', from: 'v42', to: 'v41', rollbackTargetAfter: 'v40' },
        { kind: 'verify', region: 'eu-west', version: 'v41' },
      ],
      [],
    ],
    [
      'leaves the rollback target to the runner when the switch did not record it',
      [sw('eu-west', 'v41', 'v42')],
      [
        { kind: 'switch', region: 'eu-west', from: 'v42', to: 'v41' },
        { kind: 'verify', region: 'eu-west', version: 'v41' },
      ],
      [],
    ],
    [
      'cannot switch back a region that had no live version',
      [sw('eu-west', null, 'v1'), sw('us-east', 'v0', 'v1', null)],
      [
        { kind: 'switch', region: 'us-east', from: 'v1', to: 'v0', rollbackTargetAfter: null },
        { kind: 'verify', region: 'us-east', version: 'v0' },
      ],
      ['eu-west had no live version before, so it cannot be switched back and stays on v1'],
    ],
    ['has nothing to do when nothing switched', [{ kind: 'precheck', region: 'eu-west', version: 'v42', minReady: 1 }], [], []],
    [
      'returns a region switched twice to where it started',
      [sw('eu-west', 'v41', 'v42', 'v40'), sw('eu-west', 'v42', 'v43', 'v41')],
      [
        { kind: 'switch', region: 'eu-west', from: 'v43', to: 'v41', rollbackTargetAfter: 'v40' },
        { kind: 'verify', region: 'eu-west', version: 'v41' },
      ],
      [],
    ],
  ])('%s', (_name, completed, steps, notes) => {
    expect(planCompensation(completed)).toEqual({ steps, notes });
  });
});
