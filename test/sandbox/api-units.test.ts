import { describe, expect, it } from 'vitest';
import { goJsonSyntaxError } from '../../src/sandbox/api/json-syntax.js';
import { matchesLabels, parseLabelSelector } from '../../src/sandbox/api/label-selector.js';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../src/sandbox/api/patch.js';

const labels = { app: 'shop', version: 'v2', tier: 'web' };

describe('label selectors', () => {
  it.each([
    ['', true],
    ['app=shop', true],
    ['app==shop,version=v2', true],
    ['version!=v2', false],
    ['version in (v1,v2)', true],
    ['version notin (v1, v2)', false],
    ['tier', true],
    ['!tier', false],
    ['missing!=x', true],
    ['!missing', true],
    ['  app = shop , version in ( v2 ) ', true],
  ])('%j matches the labels: %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each(['a in (b', 'a b', '=x', 'a=b c', 'a=bad value!'])('%j is a 400 BadRequest', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(expect.objectContaining({ code: 400, reason: 'BadRequest' }));
  });
});

describe("Go's JSON syntax messages", () => {
  it.each([
    ['{bad', "invalid character 'b' looking for beginning of object key string"],
    ['', 'unexpected end of JSON input'],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b"}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{} x', "invalid character 'x' after top-level value"],
    ['{"a":', 'unexpected end of JSON input'],
  ])('%j -> %s', (text, message) => {
    expect(goJsonSyntaxError(text)).toBe(message);
  });
});

describe('patches', () => {
  it('merge patch: maps merge, null deletes, lists replace', () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({ a: { c: 2, d: 3 }, l: [3] });
  });

  it('JSON patch: add, remove, replace, move, copy, test', () => {
    const doc = { a: { b: [1, 2] }, 'x/y': 1 };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/a/b/-', value: 3 },
        { op: 'remove', path: '/a/b/0' },
        { op: 'replace', path: '/x~1y', value: 2 },
        { op: 'copy', from: '/x~1y', path: '/c' },
        { op: 'move', from: '/c', path: '/d' },
        { op: 'test', path: '/d', value: 2 },
      ]),
    ).toEqual({ a: { b: [2, 3] }, 'x/y': 2, d: 2 });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/x~1y', value: 5 }])).toThrow(expect.objectContaining({ code: 422 }));
  });

  it('strategic merge: directives $patch replace/delete, $retainKeys, $setElementOrder, $deleteFromPrimitiveList', () => {
    const original = {
      metadata: { finalizers: ['a', 'b'] },
      spec: {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
        template: { spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '1' }] } },
        selector: { x: '1', y: '2' },
      },
    };
    const patched = strategicMergePatch(original, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
        template: { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'a', image: '2' }] } },
        selector: { $patch: 'replace', z: '3' },
      },
    });
    expect(patched).toEqual({
      metadata: { finalizers: ['b'] },
      spec: {
        strategy: { type: 'Recreate' },
        template: { spec: { containers: [{ name: 'b', image: '1' }, { name: 'a', image: '2' }] } },
        selector: { z: '3' },
      },
    });
  });
});
