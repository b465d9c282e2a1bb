/**
 * A set of field paths, stored the way `fieldsV1` serializes it: a tree whose keys are path
 * elements (`f:<field>`, `k:<key fields as JSON>`, `v:<value as JSON>`) and where `.` marks a path
 * that is itself a member of the set (structured-merge-diff's fieldpath.Set).
 */
export class FieldSet {
  member = false;
  readonly children = new Map<string, FieldSet>();

  static fromFieldsV1(json: unknown): FieldSet {
    const set = new FieldSet();
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return set;
    for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
      if (key === '.') {
        set.member = true;
        continue;
      }
      const child = FieldSet.fromFieldsV1(value);
      // `{}` is a leaf: the path itself is the member.
      if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) child.member = true;
      set.children.set(key, child);
    }
    return set;
  }

  toFieldsV1(): Record<string, unknown> {
    const keys = [...this.children.keys()].filter((key) => !this.children.get(key)!.isEmpty()).sort(compareElements);
    // A member without members below is a leaf: `{}`; one with members below says so with `.`.
    const out: Record<string, unknown> = this.member && keys.length > 0 ? { '.': {} } : {};
    for (const key of keys) out[key] = this.children.get(key)!.toFieldsV1();
    return out;
  }

  child(element: string): FieldSet {
    let found = this.children.get(element);
    if (!found) this.children.set(element, (found = new FieldSet()));
    return found;
  }

  insert(path: readonly string[]): void {
    path.reduce<FieldSet>((node, element) => node.child(element), this).member = true;
  }

  has(path: readonly string[]): boolean {
    return this.at(path)?.member ?? false;
  }

  /** Is `path`, or anything below it, a member? */
  hasAtOrBelow(path: readonly string[]): boolean {
    const node = this.at(path);
    return node !== undefined && !node.isEmpty();
  }

  isEmpty(): boolean {
    if (this.member) return false;
    for (const child of this.children.values()) if (!child.isEmpty()) return false;
    return true;
  }

  /** Every member path, parents before their children. */
  members(prefix: string[] = []): string[][] {
    const out: string[][] = this.member ? [prefix] : [];
    for (const [key, child] of this.children) out.push(...child.members([...prefix, key]));
    return out;
  }

  union(other: FieldSet): FieldSet {
    const out = this.clone();
    for (const path of other.members()) out.insert(path);
    return out;
  }

  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const path of this.members()) if (!other.has(path)) out.insert(path);
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const path of this.members()) if (other.has(path)) out.insert(path);
    return out;
  }

  clone(): FieldSet {
    const out = new FieldSet();
    for (const path of this.members()) out.insert(path);
    return out;
  }

  equals(other: FieldSet): boolean {
    return this.difference(other).isEmpty() && other.difference(this).isEmpty();
  }

  private at(path: readonly string[]): FieldSet | undefined {
    return path.reduce<FieldSet | undefined>((node, element) => node?.children.get(element), this);
  }
}

export const fieldElement = (name: string): string => `f:${name}`;

/** `k:{"name":"shop"}`: the key fields of a keyed list item, sorted by name as fieldpath.KeyByFields does. */
export function keyElement(key: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.keys(key).sort().map((name) => [name, key[name]]));
  return `k:${JSON.stringify(sorted)}`;
}

export const valueElement = (value: unknown): string => `v:${JSON.stringify(value)}`;

/** A path as conflict messages print it: `.spec.template.spec.containers[name="shop"].image`. */
export function pathString(path: readonly string[]): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      if (element.startsWith('f:')) return `.${body}`;
      if (element.startsWith('k:')) {
        const key = JSON.parse(body) as Record<string, unknown>;
        return `[${Object.entries(key).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(',')}]`;
      }
      if (element.startsWith('v:')) return `[=${body}]`;
      return `[${body}]`;
    })
    .join('');
}

/** Field names first, then keys, then values, as fieldpath.PathElement orders them; numbers by value. */
export function compareElements(a: string, b: string): number {
  const rank = (e: string): number => ['f:', 'k:', 'v:', 'i:'].indexOf(e.slice(0, 2));
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a.startsWith('k:')) {
    const ka = Object.entries(JSON.parse(a.slice(2)) as Record<string, unknown>);
    const kb = Object.entries(JSON.parse(b.slice(2)) as Record<string, unknown>);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      const [na, va] = ka[i]!;
      const [nb, vb] = kb[i]!;
      if (na !== nb) return na < nb ? -1 : 1;
      const order = compareValues(va, vb);
      if (order !== 0) return order;
    }
    return ka.length - kb.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
