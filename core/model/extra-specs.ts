/**
 * Flavor extra specs, checked against the registry of known keys (extra-spec-rules.ts):
 *
 * - `invalid`: a key nobody knows, or a value not of its key's format (Nova's 2.86 messages,
 *   "Validation failed; …"). Nova itself lets keys without a namespace and keys of namespaces it
 *   does not know through; cellplane does not: a typo would be ignored at every boot after.
 * - `notHonoured`: a key Nova knows that cellplane does not act on (yet), with why.
 * - `honoured`: the scheduler or the hosts act on it.
 *
 * The compute API refuses anything but `honoured` when a flavor's specs are set (unless run
 * lenient, for flavors copied from Nova), and a boot refuses a flavor carrying anything else,
 * so no spec is ever silently ignored.
 */
import { SPEC_RULES, type SpecRule, type ValueRule } from './extra-spec-rules.ts';

export type ExtraSpecVerdict =
  | { readonly kind: 'honoured' }
  | { readonly kind: 'notHonoured' | 'invalid'; readonly reason: string };

export interface ExtraSpecProblem {
  readonly key: string;
  readonly value: string;
  readonly kind: 'notHonoured' | 'invalid';
  readonly reason: string;
}

/** How the compute API treats specs it would refuse when they are set. */
export type ExtraSpecValidation = 'strict' | 'lenient';
export const EXTRA_SPEC_VALIDATIONS: readonly ExtraSpecValidation[] = ['strict', 'lenient'];

const TRUE_WORDS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'f', 'false', 'off', 'n', 'no']);

function valueProblem(rule: ValueRule, value: string): string | undefined {
  switch (rule.kind) {
    case 'any':
      return undefined;
    case 'bool': {
      const v = value.trim().toLowerCase();
      return TRUE_WORDS.has(v) || FALSE_WORDS.has(v)
        ? undefined
        : `'${value}' is not a valid boolean-like value.`;
    }
    case 'int': {
      if (!/^\s*[+-]?\d+\s*$/.test(value)) return `'${value}' is not a valid integer value.`;
      const n = Number(value);
      if (rule.max !== undefined && n > rule.max)
        return `'${value}' is greater than the max value of '${rule.max}'.`;
      if (rule.min !== undefined && n < rule.min)
        return `'${value}' is less than the min value of '${rule.min}'.`;
      return undefined;
    }
    case 'enum':
      return rule.values.includes(value) ? undefined : `'${value}' is not one of: ${rule.values.join(', ')}.`;
    case 'pattern':
      return rule.re.test(value)
        ? undefined
        : `'${value}' is not of the format '${rule.re.source.slice(1, -1)}'.`;
  }
}

function ruleOf(key: string): SpecRule | undefined {
  return SPEC_RULES.find((r) => r.key.test(key) && (r.keyOk?.(key) ?? true));
}

export function checkExtraSpec(key: string, value: string): ExtraSpecVerdict {
  const rule = ruleOf(key);
  if (!rule)
    return {
      kind: 'invalid',
      reason: `Validation failed; extra spec '${key}' does not appear to be a valid extra spec.`,
    };
  const bad = valueProblem(rule.value, value);
  if (bad) return { kind: 'invalid', reason: `Validation failed; ${bad}` };
  const why = rule.unless?.(value, key);
  return why ? { kind: 'notHonoured', reason: why } : { kind: 'honoured' };
}

/** Every spec of `specs` cellplane would not act on, in key order. */
export function extraSpecProblems(specs: Readonly<Record<string, string>>): ExtraSpecProblem[] {
  const out: ExtraSpecProblem[] = [];
  for (const key of Object.keys(specs).sort()) {
    const value = specs[key]!;
    const v = checkExtraSpec(key, value);
    if (v.kind !== 'honoured') out.push({ key, value, kind: v.kind, reason: v.reason });
  }
  return out;
}

/** One line per problem: `hw:numa_nodes=2: guest NUMA topologies are not supported…`. */
export function describeExtraSpecProblems(problems: readonly ExtraSpecProblem[]): string {
  return problems.map((p) => `${p.key}=${p.value}: ${p.reason}`).join('; ');
}

export interface GroupKey {
  readonly scope: 'resources' | 'trait';
  /** '' for the unnumbered group, else the granular group's suffix (`1`, `_gpu`). */
  readonly suffix: string;
  /** The resource class or trait. */
  readonly name: string;
}

const GROUP_KEY = /^(resources|trait)([a-zA-Z0-9_-]{0,64}):(.+)$/;

/** A `resources[N]:<CLASS>` or `trait[N]:<TRAIT>` key taken apart; undefined for any other key. */
export function groupKeyOf(key: string): GroupKey | undefined {
  const m = GROUP_KEY.exec(key);
  return m ? { scope: m[1] as GroupKey['scope'], suffix: m[2]!, name: m[3]! } : undefined;
}
