/**
 * A validating reader over the YAML AST: every read names its key path and, on a bad value,
 * records a problem at the node's line and column instead of throwing, so one parse reports
 * every problem. Aliases are followed and `<<` merge keys are honoured.
 */

import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { ScenarioProblem } from './scenario-types.ts';
import { describeValue, didYouMean, type Parsed, parseDuration, parseSize } from './scenario-units.ts';

/** A place in the document: the value node (null when the key is absent) and its key path. */
export interface Cur {
  readonly node: Node | null;
  readonly path: string;
  /** Where to report when node is null (the enclosing map). */
  readonly at: Node | null;
}

export function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

export class Fields {
  constructor(
    private readonly r: Reader,
    readonly cur: Cur,
    private readonly byKey: ReadonlyMap<string, Cur>,
  ) {}

  get(key: string): Cur | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The key's value, reporting it as missing when absent. */
  req(key: string, hint = ''): Cur | undefined {
    const c = this.byKey.get(key);
    if (c === undefined) {
      // Point at the parent's key (`run:`) when there is one, else at the map itself.
      const at = this.cur.at !== null && isScalar(this.cur.at) ? this.cur.at : this.cur.node;
      this.r.problem({ ...this.cur, node: at }, `missing required key "${key}"${hint}`);
    }
    return c;
  }

  /** At most one of `keys` may be present; returns the present one. */
  oneOf(keys: readonly string[], required: boolean): string | undefined {
    const offset = (k: string) => this.byKey.get(k)?.at?.range?.[0] ?? 0;
    const present = keys.filter((k) => this.byKey.has(k)).sort((a, b) => offset(a) - offset(b));
    if (present.length > 1) {
      const second = this.byKey.get(present[1]!)!;
      this.r.problem(
        { ...second, node: second.at ?? second.node },
        `give only one of ${keys.join(', ')} (got ${present.join(' and ')})`,
      );
    } else if (present.length === 0 && required) {
      this.r.problem(this.cur, `needs one of ${keys.join(', ')}`);
    }
    return present[0];
  }
}

export class Reader {
  readonly problems: ScenarioProblem[] = [];
  /** Where each key path read so far sits, for checks that run on the parsed object. */
  readonly locations = new Map<string, { line: number; column: number }>();

  constructor(
    private readonly lc: LineCounter,
    private readonly doc: Document,
  ) {}

  root(): Cur {
    return { node: this.deref((this.doc.contents as Node | null) ?? null), path: '', at: null };
  }

  position(node: Node | null): { line: number; column: number } {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 1, column: 1 };
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }

  problem(cur: Cur, message: string): undefined {
    const { line, column } = this.position(cur.node ?? cur.at);
    this.problems.push({ line, column, path: cur.path === '' ? '(top level)' : cur.path, message });
    return undefined;
  }

  problemAt(node: Node | null, path: string, message: string): undefined {
    return this.problem({ node, path, at: null }, message);
  }

  private deref(node: Node | null): Node | null {
    let n: Node | null = node;
    for (let i = 0; i < 32 && n !== null && isAlias(n); i++)
      n = (n.resolve(this.doc) as Node | undefined) ?? null;
    return n;
  }

  /** The plain value of a scalar, or a marker for collections (for messages). */
  value(cur: Cur): unknown {
    const n = cur.node;
    if (n === null) return null;
    if (isScalar(n)) return n.value;
    if (isSeq(n)) return [];
    if (isMap(n)) return {};
    return undefined;
  }

  /** Key/value pairs of a map in order (merge keys expanded, later keys win). */
  pairs(cur: Cur): Array<{ key: string; keyNode: Node | null; value: Cur }> | undefined {
    if (cur.node === null || !isMap(cur.node)) {
      return this.problem(cur, `must be a map of key: value, got ${describeValue(this.value(cur))}`);
    }
    const out = new Map<string, { key: string; keyNode: Node | null; value: Cur }>();
    for (const item of cur.node.items) {
      if (!isPair(item)) continue;
      const keyNode = this.deref((item.key as Node | null) ?? null);
      const valueNode = this.deref((item.value as Node | null) ?? null);
      const raw = keyNode !== null && isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof raw === 'symbol' || raw === '<<') {
        this.mergeInto(out, valueNode, cur.path);
        continue;
      }
      const key = raw === undefined || raw === null || typeof raw === 'object' ? null : String(raw);
      if (key === null) {
        this.problemAt(keyNode ?? cur.node, cur.path, 'keys must be plain strings');
        continue;
      }
      out.delete(key);
      const path = child(cur.path, key);
      out.set(key, { key, keyNode, value: { node: valueNode, path, at: keyNode } });
      // A scalar is located at its value; a map or list at its key (`m1.small:`), where a reader looks.
      this.locations.set(
        path,
        this.position(valueNode !== null && isScalar(valueNode) ? valueNode : (keyNode ?? valueNode)),
      );
    }
    return [...out.values()];
  }

  private mergeInto(
    out: Map<string, { key: string; keyNode: Node | null; value: Cur }>,
    src: Node | null,
    path: string,
  ) {
    const sources = src !== null && isSeq(src) ? src.items.map((n) => this.deref(n as Node)) : [src];
    for (const s of sources) {
      const ps = this.pairs({ node: s, path, at: src });
      for (const p of ps ?? []) if (!out.has(p.key)) out.set(p.key, p);
    }
  }

  /** The value of `key` in a map, without checking anything else. */
  peek(cur: Cur, key: string): Cur | undefined {
    if (cur.node === null || !isMap(cur.node)) return undefined;
    const problems = this.problems.length;
    const found = this.pairs(cur)?.find((p) => p.key === key)?.value;
    this.problems.length = problems;
    return found;
  }

  /**
   * A map with a fixed set of keys: unknown keys are problems with a suggestion, or with
   * `explain(key)` when it has something better to say (e.g. "not used by kind burst").
   */
  map(
    cur: Cur,
    allowed: readonly string[],
    explain?: (key: string) => string | undefined,
  ): Fields | undefined {
    const ps = this.pairs(cur);
    if (ps === undefined) return undefined;
    const byKey = new Map<string, Cur>();
    for (const p of ps) {
      if (!allowed.includes(p.key)) {
        const why = explain?.(p.key) ?? `unknown key${didYouMean(p.key, allowed)}`;
        this.problemAt(p.keyNode, child(cur.path, p.key), why);
      } else {
        byKey.set(p.key, p.value);
      }
    }
    return new Fields(this, cur, byKey);
  }

  list(cur: Cur): Cur[] | undefined {
    if (cur.node === null || !isSeq(cur.node)) {
      return this.problem(cur, `must be a list, got ${describeValue(this.value(cur))}`);
    }
    return cur.node.items.map((n, i) => ({
      node: this.deref(n as Node),
      path: child(cur.path, i),
      at: cur.node,
    }));
  }

  isMap(cur: Cur): boolean {
    return cur.node !== null && isMap(cur.node);
  }

  isList(cur: Cur): boolean {
    return cur.node !== null && isSeq(cur.node);
  }

  str(cur: Cur | undefined, pattern?: { re: RegExp; what: string }): string | undefined {
    if (cur === undefined) return undefined;
    const v = this.value(cur);
    if (typeof v !== 'string' || v.length === 0)
      return this.problem(cur, `must be a non-empty string, got ${describeValue(v)}`);
    if (pattern !== undefined && !pattern.re.test(v))
      return this.problem(cur, `must be ${pattern.what}, got ${describeValue(v)}`);
    return v;
  }

  /** A string or a number written as a scalar (names, ids), as a string. */
  name(cur: Cur | undefined): string | undefined {
    if (cur === undefined) return undefined;
    const v = this.value(cur);
    if (typeof v === 'number') return String(v);
    return this.str(cur);
  }

  oneOfValues<T extends string>(cur: Cur | undefined, values: readonly T[]): T | undefined {
    if (cur === undefined) return undefined;
    const v = this.value(cur);
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    const hint = typeof v === 'string' ? didYouMean(v, values) : '';
    return this.problem(cur, `must be one of ${values.join(', ')}, got ${describeValue(v)}${hint}`);
  }

  bool(cur: Cur | undefined): boolean | undefined {
    if (cur === undefined) return undefined;
    const v = this.value(cur);
    if (typeof v === 'boolean') return v;
    return this.problem(cur, `must be true or false, got ${describeValue(v)}`);
  }

  int(cur: Cur | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (cur === undefined) return undefined;
    const raw = this.value(cur);
    // 50_000 reads as a string in YAML 1.2: accept digit groups for readable host counts.
    const v = typeof raw === 'string' && /^\d+(_\d+)+$/.test(raw) ? Number(raw.replaceAll('_', '')) : raw;
    const what =
      min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    if (typeof v !== 'number' || !Number.isInteger(v))
      return this.problem(cur, `must be ${what}, got ${describeValue(v)}`);
    if (v < min || v > max)
      return this.problem(
        cur,
        `must be ${what}${max < Number.MAX_SAFE_INTEGER ? ` <= ${max}` : ''}, got ${v}`,
      );
    return v;
  }

  /** A finite number in [min, max]; `minExclusive` makes the lower bound strict. */
  num(cur: Cur | undefined, min: number, max: number, minExclusive = false): number | undefined {
    if (cur === undefined) return undefined;
    const v = this.value(cur);
    const range = `${minExclusive ? '>' : '>='} ${min}${Number.isFinite(max) ? ` and <= ${max}` : ''}`;
    if (typeof v !== 'number' || !Number.isFinite(v))
      return this.problem(cur, `must be a number ${range}, got ${describeValue(v)}`);
    if (v < min || (minExclusive && v === min) || v > max)
      return this.problem(cur, `must be a number ${range}, got ${v}`);
    return v;
  }

  private parsed<T>(cur: Cur, p: Parsed<T>): T | undefined {
    return p.ok ? p.value : this.problem(cur, p.message);
  }

  durationMs(cur: Cur | undefined, positive = false): number | undefined {
    if (cur === undefined) return undefined;
    const ms = this.parsed(cur, parseDuration(this.value(cur)));
    if (ms !== undefined && positive && ms === 0) return this.problem(cur, 'must be a duration > 0');
    return ms;
  }

  sizeMb(cur: Cur | undefined, plainAllowed: boolean): number | undefined {
    if (cur === undefined) return undefined;
    return this.parsed(cur, parseSize(this.value(cur), 'MB', plainAllowed));
  }

  sizeGb(cur: Cur | undefined, plainAllowed: boolean): number | undefined {
    if (cur === undefined) return undefined;
    return this.parsed(cur, parseSize(this.value(cur), 'GB', plainAllowed));
  }

  /** A list of names (a single name is accepted as a list of one). */
  names(cur: Cur, check?: (name: string, at: Cur) => boolean): string[] | undefined {
    const items = this.isList(cur) ? this.list(cur)! : [cur];
    const out: string[] = [];
    for (const it of items) {
      const s = this.name(it);
      if (s === undefined) continue;
      if (check !== undefined && !check(s, it)) continue;
      if (out.includes(s)) this.problem(it, `"${s}" is listed twice`);
      else out.push(s);
    }
    return out;
  }
}
