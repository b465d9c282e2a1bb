import { isDeepStrictEqual } from 'node:util';
import { keyDefaults, listShape, mapShape } from './field-schema.js';
import { FieldSet, fieldElement, keyElement, valueElement } from './field-set.js';

/**
 * The structured-merge-diff walks the sandbox needs, over plain JSON objects of one kind: the
 * field set of an applied configuration, the comparison of two objects, the merge of an applied
 * configuration into a live object, and the removal of fields by path.
 */

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isEmptyObject = (value: unknown): boolean => isObject(value) && Object.keys(value).length === 0;

/** The path element of a list item: `k:{...}` for keyed lists, `v:...` for sets. */
function itemElement(keys: string[] | undefined, item: unknown): string {
  if (!keys) return valueElement(item);
  const key: Obj = {};
  for (const name of keys) {
    const value = isObject(item) ? (item[name] ?? keyDefaults[name]) : undefined;
    if (value !== undefined) key[name] = value;
  }
  return keyElement(key);
}

function listKeys(kind: string, path: readonly string[]): string[] | undefined | 'atomic' {
  const shape = listShape(kind, path);
  if (shape.kind === 'atomic') return 'atomic';
  return shape.kind === 'map' ? shape.keys : undefined;
}

/**
 * The fields an object sets, as ToFieldSet computes them for an apply: every leaf, every list
 * item, every entry of a granular map, and atomic values as a whole.
 */
export function toFieldSet(kind: string, object: Obj): FieldSet {
  const set = new FieldSet();
  walkFields(kind, object, [], set);
  return set;
}

function walkFields(kind: string, value: unknown, path: string[], node: FieldSet): void {
  if (Array.isArray(value)) {
    const keys = listKeys(kind, path);
    if (keys === 'atomic') {
      node.member = true;
      return;
    }
    for (const item of value) {
      const child = node.child(itemElement(keys, item));
      if (keys && isObject(item)) walkFields(kind, item, path, child);
      child.member = true;
    }
    return;
  }
  if (!isObject(value)) {
    node.member = true;
    return;
  }
  const shape = mapShape(kind, path);
  if (shape === 'atomic') {
    node.member = true;
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const childNode = node.child(fieldElement(key));
    walkFields(kind, child, [...path, key], childNode);
    if (shape === 'map' || child === null || isEmptyObject(child)) childNode.member = true;
  }
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * What changed from `before` to `after`, as typed.Compare reports it: leaves added, modified or
 * removed, plus lists, list items and granular maps that appeared or disappeared as a whole.
 * (The real walk also marks structs that appear, depending on Go zero values; the sandbox does not.)
 */
export function compareObjects(kind: string, before: Obj, after: Obj): Comparison {
  const out: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  compareAt(kind, before, after, [], [], out, 'struct');
  return out;
}

function compareAt(kind: string, a: unknown, b: unknown, schemaPath: string[], path: string[], out: Comparison, container: 'struct' | 'item' | 'entry'): void {
  if (a === undefined && b === undefined) return;
  const bothArrays = (a === undefined || Array.isArray(a)) && (b === undefined || Array.isArray(b));
  const bothObjects = (a === undefined || isObject(a)) && (b === undefined || isObject(b));
  const keys = bothArrays ? listKeys(kind, schemaPath) : undefined;
  const shape = bothObjects ? mapShape(kind, schemaPath) : undefined;
  const emptyBoth = (a === undefined || isEmptyObject(a) || (Array.isArray(a) && a.length === 0)) && (b === undefined || isEmptyObject(b) || (Array.isArray(b) && b.length === 0));
  const leaf = (!bothArrays && !bothObjects) || keys === 'atomic' || shape === 'atomic' || emptyBoth;
  if (leaf) {
    if (path.length === 0) return;
    if (a === undefined) out.added.insert(path);
    else if (b === undefined) out.removed.insert(path);
    else if (!isDeepStrictEqual(a, b)) out.modified.insert(path);
    return;
  }
  if (bothArrays) {
    const itemKeys = keys;
    const itemsA = new Map(((a as unknown[] | undefined) ?? []).map((item) => [itemElement(itemKeys, item), item]));
    const itemsB = new Map(((b as unknown[] | undefined) ?? []).map((item) => [itemElement(itemKeys, item), item]));
    for (const element of new Set([...itemsA.keys(), ...itemsB.keys()])) {
      compareAt(kind, itemsA.get(element), itemsB.get(element), schemaPath, [...path, element], out, 'item');
    }
  } else {
    const objA = (a as Obj | undefined) ?? {};
    const objB = (b as Obj | undefined) ?? {};
    for (const key of new Set([...Object.keys(objA), ...Object.keys(objB)])) {
      compareAt(kind, objA[key], objB[key], [...schemaPath, key], [...path, fieldElement(key)], out, shape === 'map' ? 'entry' : 'struct');
    }
  }
  // Lists, list items and map entries that appear or go are members themselves; structs are not.
  const marked = bothArrays || container !== 'struct' || shape === 'map';
  if (path.length === 0 || !marked) return;
  if (a === undefined) out.added.insert(path);
  else if (b === undefined) out.removed.insert(path);
}

/**
 * The applied configuration merged into the live object: struct fields and granular map entries
 * merge one by one, keyed list items merge by key (live order, new items after), sets unite,
 * atomic values and scalars are replaced, and a null removes the field.
 */
export function mergeApplied(kind: string, live: unknown, config: unknown, path: string[] = []): unknown {
  if (Array.isArray(config)) {
    const keys = listKeys(kind, path);
    if (keys === 'atomic' || !Array.isArray(live)) return structuredClone(config);
    const configItems = new Map((config as unknown[]).map((item) => [itemElement(keys, item), item]));
    const liveElements = new Set<string>();
    const merged = (live as unknown[]).map((item): unknown => {
      const element = itemElement(keys, item);
      liveElements.add(element);
      if (!configItems.has(element)) return structuredClone(item);
      return keys ? mergeApplied(kind, item, configItems.get(element), path) : structuredClone(item);
    });
    for (const [element, item] of configItems) if (!liveElements.has(element)) merged.push(structuredClone(item));
    return merged;
  }
  if (isObject(config)) {
    if (mapShape(kind, path) === 'atomic' || !isObject(live)) return dropNulls(structuredClone(config));
    const merged: Obj = structuredClone(live);
    for (const [key, value] of Object.entries(config)) {
      if (value === null) delete merged[key];
      else merged[key] = mergeApplied(kind, live[key], value, [...path, key]);
    }
    return merged;
  }
  return config;
}

function dropNulls(value: Obj): Obj {
  for (const [key, child] of Object.entries(value)) if (child === null) delete value[key];
  return value;
}

/**
 * Removes the field at `path` (path elements) from `object`, then any map or list the removal
 * left empty on the way up. Answers whether something was removed.
 */
export function removePath(kind: string, object: Obj, path: readonly string[]): boolean {
  const trail: { parent: Obj | unknown[]; at: string | number }[] = [];
  let node: unknown = object;
  const schemaPath: string[] = [];
  for (const element of path) {
    if (element.startsWith('f:')) {
      if (!isObject(node)) return false;
      const name = element.slice(2);
      if (!(name in node)) return false;
      trail.push({ parent: node, at: name });
      node = node[name];
      schemaPath.push(name);
    } else {
      if (!Array.isArray(node)) return false;
      const keys = listKeys(kind, schemaPath);
      const index = node.findIndex((item) => itemElement(keys === 'atomic' ? undefined : keys, item) === element);
      if (index < 0) return false;
      trail.push({ parent: node, at: index });
      node = node[index];
    }
  }
  for (let i = trail.length - 1; i >= 0; i--) {
    const { parent, at } = trail[i]!;
    if (i === trail.length - 1) {
      if (Array.isArray(parent)) parent.splice(at as number, 1);
      else delete parent[at as string];
    } else {
      const child = Array.isArray(parent) ? parent[at as number] : parent[at as string];
      const empty = (Array.isArray(child) && child.length === 0) || isEmptyObject(child);
      if (!empty) break;
      if (Array.isArray(parent)) parent.splice(at as number, 1);
      else delete parent[at as string];
    }
  }
  return true;
}
