/**
 * Health gates and metric queries, as data and pure judgements: a gate is a named PromQL query
 * with placeholders and a condition its value must meet (`< 0.01`). Querying is I/O and happens
 * elsewhere; here a query is filled in and an answer judged.
 */

export const gateOperators = ['<=', '>=', '==', '!=', '<', '>'] as const;
export type GateOperator = (typeof gateOperators)[number];

export interface GateCondition {
  operator: GateOperator;
  threshold: number;
}

export interface GateDefinition {
  name: string;
  /** PromQL with `{{app}}`, `{{version}}`, `{{region}}`, `{{namespace}}` placeholders. */
  query: string;
  condition: GateCondition;
  /** A query that answers no number (no series, NaN) at the end of the bake: the gate fails, or passes. */
  onNoData: 'fail' | 'pass';
}

/** Placeholders a gate query may use. */
export const gatePlaceholders = ['app', 'version', 'region', 'namespace'] as const;
/** Placeholders the idle (drain) query of cleanup may use. */
export const idlePlaceholders = ['app', 'version', 'region', 'namespace', 'service', 'route', 'path', 'window'] as const;

const placeholder = /\{\{\s*([A-Za-z_]+)\s*\}\}/g;

/** `< 0.01`, `<= 300e-3`, `== 0`: an operator and a number. A refusal (string) when it is not. */
export function parseCondition(text: string): GateCondition | string {
  const match = /^\s*(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/.exec(text);
  if (!match) return `"${text}" is not a condition: write an operator (<, <=, >, >=, ==, !=) and a number, e.g. "< 0.01"`;
  return { operator: match[1] as GateOperator, threshold: Number(match[2]) };
}

export function conditionText(condition: GateCondition): string {
  return `${condition.operator} ${condition.threshold}`;
}

export function meets(value: number, condition: GateCondition): boolean {
  const t = condition.threshold;
  switch (condition.operator) {
    case '<':
      return value < t;
    case '<=':
      return value <= t;
    case '>':
      return value > t;
    case '>=':
      return value >= t;
    case '==':
      return value === t;
    case '!=':
      return value !== t;
  }
}

/** Placeholders in a query template that are not in `allowed`, for the config check. */
export function unknownPlaceholders(template: string, allowed: readonly string[]): string[] {
  return [...template.matchAll(placeholder)].map((m) => m[1]!).filter((name) => !allowed.includes(name));
}

/** The query with every `{{name}}` replaced by its value. */
export function fillQuery(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(placeholder, (whole, name: string) => values[name] ?? whole);
}

/** What one query answered: a single number, no number (no series, NaN), or why it could not be asked. */
export type QueryAnswer = { value: number | null } | { error: string };

export interface GateReading {
  gate: string;
  /** The query as sent, placeholders filled. */
  query: string;
  /** e.g. `< 0.01` */
  condition: string;
  value: number | null;
  error?: string;
  /** pass: meets the condition; fail: breaks it (or no answer at the end); pending: no answer yet, asked again. */
  verdict: 'pass' | 'fail' | 'pending';
}

/**
 * Judge one answer of a gate. A value outside the condition fails at once (fail fast). Mid-bake,
 * an error or an answer without a number is pending (asked again at the next interval); at the
 * end of the bake (`final`) an error fails the gate (Prometheus unreachable never lets a region
 * pass) and no data does what `onNoData` says.
 */
export function judgeGate(gate: GateDefinition, query: string, answer: QueryAnswer, final: boolean): GateReading {
  const base = { gate: gate.name, query, condition: conditionText(gate.condition) };
  if ('error' in answer) return { ...base, value: null, error: answer.error, verdict: final ? 'fail' : 'pending' };
  const value = answer.value !== null && !Number.isNaN(answer.value) ? answer.value : null;
  if (value === null) return { ...base, value: null, verdict: final ? (gate.onNoData === 'pass' ? 'pass' : 'fail') : 'pending' };
  return { ...base, value, verdict: meets(value, gate.condition) ? 'pass' : 'fail' };
}

/** One line a user reads: the gate, the value, the threshold and the query. */
export function describeGateReading(reading: GateReading): string {
  const query = `(query: ${reading.query})`;
  if (reading.error !== undefined) {
    return `gate ${reading.gate} could not be evaluated: ${reading.error}; a gate that cannot be evaluated fails ${query}`;
  }
  if (reading.value === null) {
    return `gate ${reading.gate}: no data (the query answered no number) ${reading.verdict === 'pass' ? 'and onNoData is pass' : 'fails the gate (onNoData: fail)'} ${query}`;
  }
  const verb = reading.verdict === 'fail' ? 'is not' : 'is';
  return `gate ${reading.gate}: ${formatValue(reading.value)} ${verb} ${reading.condition} ${query}`;
}

/** Short form for a passing bake: `error-ratio 0.0021 < 0.01`. */
export function summarizeGateReading(reading: GateReading): string {
  if (reading.value === null) return `${reading.gate} no data`;
  return `${reading.gate} ${formatValue(reading.value)} ${reading.condition}`;
}

export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  return abs >= 1000 || abs < 0.001 ? value.toPrecision(3) : String(Number(value.toPrecision(3)));
}
