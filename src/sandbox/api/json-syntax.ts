/**
 * Why a JSON text does not parse, in the words of Go's encoding/json (which kube-apiserver
 * quotes in its 400 messages), e.g. "invalid character 'b' looking for beginning of object key
 * string". Only called after JSON.parse failed.
 */
export function goJsonSyntaxError(text: string): string {
  let i = 0;
  class Stop extends Error {}
  const fail = (context: string): never => {
    if (i >= text.length) throw new Stop('unexpected end of JSON input');
    throw new Stop(`invalid character ${quote(text[i]!)} ${context}`);
  };
  const space = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const literal = (word: string): void => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (text[i] !== word[k]) fail(`in literal ${word} (expecting ${quote(word[k]!)})`);
    }
    i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail('');
      const c = text[i]!;
      if (c === '"') return void i++;
      if (c < ' ') fail('in string literal');
      if (c === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail('in \\u hexadecimal character escape');
          }
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) fail('in string escape code');
      }
      i++;
    }
  };
  const digits = (context: string): void => {
    if (!/[0-9]/.test(text[i] ?? '')) fail(context);
    while (/[0-9]/.test(text[i] ?? '')) i++;
  };
  const number = (): void => {
    if (text[i] === '-') {
      i++;
      if (!/[0-9]/.test(text[i] ?? '')) fail('in numeric literal');
    }
    if (text[i] === '0') i++;
    else digits('in numeric literal');
    if (text[i] === '.') {
      i++;
      digits('after decimal point in numeric literal');
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits('in exponent of numeric literal');
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') return void i++;
      for (;;) {
        space();
        if (text[i] !== '"') fail('looking for beginning of object key string');
        string();
        space();
        if (text[i] !== ':') fail('after object key');
        i++;
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        fail('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        fail('after array element');
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    fail('looking for beginning of value');
  };
  try {
    value();
    space();
    if (i < text.length) fail('after top-level value');
    return 'unexpected end of JSON input';
  } catch (error) {
    if (error instanceof Stop) return error.message;
    throw error;
  }
}

function quote(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const escaped = JSON.stringify(c).slice(1, -1);
  return `'${escaped}'`;
}
