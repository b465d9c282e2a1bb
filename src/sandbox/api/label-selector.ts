import { badRequest } from './status.js';

export type Operator = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

/** A parsed selector: all requirements must hold (an empty selector matches everything). */
export type Selector = Requirement[];

const word = /^[A-Za-z0-9_./-]*/;

/**
 * Parses a label selector as `?labelSelector=` carries it, equality and set based:
 * `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, and `a>1` / `a<1`.
 * Malformed input throws a 400 BadRequest, as the real server answers.
 */
export function parseLabelSelector(text: string | null | undefined): Selector {
  const source = (text ?? '').trim();
  if (source === '') return [];
  const requirements: Requirement[] = [];
  let rest = source;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why}`);
  };
  const take = (pattern: RegExp): string => {
    const match = pattern.exec(rest);
    const found = match?.[0] ?? '';
    rest = rest.slice(found.length);
    return found;
  };
  const skipSpace = (): void => {
    rest = rest.replace(/^\s+/, '');
  };
  for (;;) {
    skipSpace();
    const negated = rest.startsWith('!');
    if (negated) rest = rest.slice(1);
    skipSpace();
    const key = take(word);
    if (key === '') fail(`found '${rest[0] ?? 'end of string'}', expected: identifier`);
    checkKey(key);
    skipSpace();
    if (negated) {
      requirements.push({ key, operator: '!', values: [] });
    } else if (rest === '' || rest.startsWith(',')) {
      requirements.push({ key, operator: 'exists', values: [] });
    } else {
      const op = take(/^(==|=|!=|>|<|in\b|notin\b)/);
      if (op === '') fail(`found '${rest}', expected: in, notin, =, ==, !=, gt, lt`);
      skipSpace();
      if (op === 'in' || op === 'notin') {
        if (!rest.startsWith('(')) fail(`found '${rest[0] ?? 'end of string'}', expected: '('`);
        const close = rest.indexOf(')');
        if (close < 0) fail(`found 'end of string', expected: ')'`);
        const values = rest.slice(1, close).split(',').map((v) => v.trim());
        rest = rest.slice(close + 1);
        if (values.length === 1 && values[0] === '' && op === 'in') fail(`for 'in', 'notin' operators, values set can't be empty`);
        values.forEach(checkValue);
        requirements.push({ key, operator: op, values: values.filter((v, i) => values.indexOf(v) === i) });
      } else {
        const value = take(word);
        checkValue(value);
        if ((op === '>' || op === '<') && !/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
        const operator: Operator = op === '>' ? 'gt' : op === '<' ? 'lt' : op === '!=' ? '!=' : '=';
        requirements.push({ key, operator, values: [value] });
      }
    }
    skipSpace();
    if (rest === '') break;
    if (!rest.startsWith(',')) fail(`found '${rest}', expected: ',' or 'end of string'`);
    rest = rest.slice(1);
  }
  return requirements;
}

export function matchesLabels(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  return selector.every(({ key, operator, values }) => {
    const present = Object.hasOwn(have, key);
    const value = have[key];
    switch (operator) {
      case 'exists':
        return present;
      case '!':
        return !present;
      case '=':
      case 'in':
        return present && values.includes(value!);
      case '!=':
      case 'notin':
        return !present || !values.includes(value!);
      case 'gt':
        return present && /^-?\d+$/.test(value!) && Number(value) > Number(values[0]);
      case 'lt':
        return present && /^-?\d+$/.test(value!) && Number(value) < Number(values[0]);
    }
  });
}

/** A Deployment/Service-style `{matchLabels, matchExpressions}` as a Selector. */
export function fromLabelSelector(selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined): Selector {
  const out: Selector = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) out.push({ key, operator: '=', values: [value] });
  for (const expression of selector?.matchExpressions ?? []) {
    const operator = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as Record<string, Operator>)[expression.operator];
    if (operator) out.push({ key: expression.key, operator, values: expression.values ?? [] });
  }
  return out;
}

function checkKey(key: string): void {
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (!/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/.test(name) || name.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
}

function checkValue(value: string): void {
  if (value.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value)) {
    throw badRequest(`unable to parse requirement: values[0][${value}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
}
