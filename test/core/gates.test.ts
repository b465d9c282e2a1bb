import { describe, expect, it } from 'vitest';
import { describeGateReading, fillQuery, judgeGate, parseCondition, unknownPlaceholders, gatePlaceholders, type GateDefinition } from '../../src/core/gates.js';
import { planPromotion } from '../../src/core/plan-promotion.js';
import { planRollback } from '../../src/core/plan-rollback.js';
import { renderPlan } from '../../src/core/render-plan.js';
import { app, brief, planOf, policy, region, version } from './fixtures.js';

const errorRatio: GateDefinition = { name: 'error-ratio', query: 'q', condition: { operator: '<', threshold: 0.01 }, onNoData: 'fail' };

describe('gate conditions', () => {
  it.each([
    ['< 0.01', { operator: '<', threshold: 0.01 }],
    ['<=300e-3', { operator: '<=', threshold: 0.3 }],
    [' > -1 ', { operator: '>', threshold: -1 }],
    ['== 0', { operator: '==', threshold: 0 }],
    ['!= .5', { operator: '!=', threshold: 0.5 }],
  ])('"%s" parses', (text, condition) => {
    expect(parseCondition(text)).toEqual(condition);
  });

  it.each(['0.01', '< ', '< 1%', '=< 1', '< 300ms', 'less than 1'])('"%s" is refused with the expected form', (text) => {
    expect(parseCondition(text)).toMatch(/is not a condition: write an operator .* "< 0.01"/);
  });
});

describe('gate queries', () => {
  it('fills placeholders and names the unknown ones', () => {
    const template = 'sum(rate(x{ingress="{{app}}",region="{{ region }}",v="{{version}}"}[1m])) {{nope}}';
    expect(fillQuery(template, { app: 'shop', region: 'eu-west', version: 'v2' })).toBe('sum(rate(x{ingress="shop",region="eu-west",v="v2"}[1m])) {{nope}}');
    expect(unknownPlaceholders(template, gatePlaceholders)).toEqual(['nope']);
  });
});

describe('judging a gate', () => {
  it.each([
    ['a value within the condition passes', { value: 0.001 }, false, 'pass'],
    ['a value outside fails at once, mid-bake', { value: 0.05 }, false, 'fail'],
    ['NaN (0/0: no requests) is no data, asked again mid-bake', { value: Number.NaN }, false, 'pending'],
    ['no series is asked again mid-bake', { value: null }, false, 'pending'],
    ['no data at the end fails (onNoData: fail)', { value: null }, true, 'fail'],
    ['an unreachable Prometheus mid-bake is asked again', { error: 'connect ECONNREFUSED' }, false, 'pending'],
    ['an unreachable Prometheus at the end fails the gate', { error: 'connect ECONNREFUSED' }, true, 'fail'],
  ] as const)('%s', (_name, answer, final, verdict) => {
    expect(judgeGate(errorRatio, 'q', answer, final).verdict).toBe(verdict);
  });

  it('passes no data at the end when onNoData is pass', () => {
    expect(judgeGate({ ...errorRatio, onNoData: 'pass' }, 'q', { value: null }, true).verdict).toBe('pass');
  });

  it('says the gate, the value, the threshold and the query', () => {
    expect(describeGateReading(judgeGate(errorRatio, 'sum(x{region="eu-west"})', { value: 0.0512 }, false))).toBe('gate error-ratio: 0.0512 is not < 0.01 (query: sum(x{region="eu-west"}))');
    expect(describeGateReading(judgeGate(errorRatio, 'q', { error: 'Prometheus at http://p:9090 unreachable' }, true))).toBe(
      'gate error-ratio could not be evaluated: Prometheus at http://p:9090 unreachable; a gate that cannot be evaluated fails (query: q)',
    );
  });
});

describe('plans with health gates', () => {
  const request = { app, environment: 'production', version: 'v42' };
  const bothOn41 = [region('eu-west', 'v41', 'v40', [version('v41'), version('v42')]), region('us-east', 'v41', 'v40', [version('v41'), version('v42')])];
  const gated = { ...policy, gates: [{ name: 'error-ratio' }, { name: 'p99' }] };

  it('prechecks the gate queries and bakes after every switched region, the last one too', () => {
    const plan = planOf(planPromotion(bothOn41, request, gated));
    expect(brief(plan)).toEqual([
      'eu-west precheck v42>=2',
      'us-east precheck v42>=2',
      'eu-west switch v41->v42',
      'eu-west verify v42',
      'eu-west bake 30000',
      'us-east switch v41->v42',
      'us-east verify v42',
      'us-east bake 30000',
    ]);
    expect(plan.steps.filter((s) => s.kind === 'bake' || s.kind === 'precheck').every((s) => 'gates' in s && s.gates?.join() === 'error-ratio,p99')).toBe(true);
    expect(renderPlan(plan)).toContain('bake 30 s while health gates error-ratio, p99 hold (a failing gate switches back)');
    expect(renderPlan(plan)).toContain('the queries of gates error-ratio, p99 answer');
  });

  it('does not gate a region switched from no live version: there is nothing to switch back to', () => {
    const fresh = [region('eu-west', null, null, [version('v42')]), region('us-east', null, null, [version('v42')])];
    const plan = planOf(planPromotion(fresh, request, gated));
    expect(brief(plan)).toEqual(['eu-west precheck v42>=2', 'us-east precheck v42>=2', 'eu-west switch none->v42', 'eu-west verify v42', 'eu-west bake 30000', 'us-east switch none->v42', 'us-east verify v42']);
    expect(plan.steps.find((s) => s.kind === 'bake')).not.toHaveProperty('gates');
  });

  it('evaluates the gates once after the verify when the bake is 0 s', () => {
    const plan = planOf(planPromotion(bothOn41, request, { ...gated, bakeSeconds: 0 }));
    expect(brief(plan).filter((s) => s.includes('bake'))).toEqual(['eu-west bake 0', 'us-east bake 0']);
  });

  it('leaves gate-less plans exactly as they were', () => {
    const plan = planOf(planPromotion(bothOn41, request, { ...policy, gates: [] }));
    expect(plan).toEqual(planOf(planPromotion(bothOn41, request, policy)));
    expect(JSON.stringify(plan)).not.toContain('gates');
  });

  it('never gates a rollback: the emergency exit', () => {
    const states = [region('eu-west', 'v42', 'v41', [version('v41'), version('v42')]), region('us-east', 'v42', 'v41', [version('v41'), version('v42')])];
    const plan = planOf(planRollback(states, { app, environment: 'production', toVersion: null }, gated));
    expect(JSON.stringify(plan)).not.toContain('gates');
    expect(plan.steps.some((s) => s.kind === 'bake')).toBe(false);
  });
});
