/**
 * Parsing of Placement's query-string mini languages (placement/util.py): `resources=VCPU:2,…`,
 * `required=A,!B` / `in:A,B` (1.39), `member_of=<uuid>|in:…|!…|!in:…` (multiple from 1.24,
 * forbidden from 1.32), `in_tree=<uuid>`. Messages are Placement's.
 */
import { tryParseUuid, type Uuid } from '../../core/model/ids.ts';
import { badRequest } from './errors.ts';
import type { Microversion } from './microversion.ts';

const RESOURCES_FORM =
  'Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024.';

export function parseResources(qs: string): Record<string, number> {
  if (qs.trim() === '') throw badRequest(`${RESOURCES_FORM} Got: empty string.`);
  const out: Record<string, number> = {};
  for (const rt of qs.split(',')) {
    const parts = rt.split(':');
    if (parts.length !== 2) throw badRequest(`${RESOURCES_FORM} Got: ${rt}.`);
    const [rc, amountText] = parts as [string, string];
    if (!/^\s*[-+]?\d+\s*$/.test(amountText))
      throw badRequest(`Requested resource ${rc} expected positive integer amount. Got: ${amountText}.`);
    const amount = Number.parseInt(amountText, 10);
    if (amount < 1) throw badRequest(`Requested resource ${rc} requires amount >= 1. Got: ${amount}.`);
    out[rc] = amount;
  }
  return out;
}

export interface TraitFilter {
  /** AND of any-of sets. */
  readonly required: string[][];
  readonly forbidden: string[];
}

/** All `required<suffix>` values (only the last before 1.39, as Placement). */
export function parseRequired(values: readonly string[], v: Microversion): TraitFilter {
  const allowForbidden = v.atLeast(22);
  const allowAny = v.atLeast(39);
  const required: string[][] = [];
  const forbidden = new Set<string>();
  for (const val of allowAny ? values : values.slice(-1)) {
    if (val.startsWith('in:')) {
      if (!allowAny)
        throw badRequest(
          `Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: ${val}`,
        );
      const any = [
        ...new Set(
          val
            .slice(3)
            .split(',')
            .map((s) => s.trim()),
        ),
      ];
      if (any.some((t) => !t))
        throw badRequest(
          `Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: ${val}`,
        );
      if (any.some((t) => t.startsWith('!')))
        throw badRequest(
          `Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: ${val}`,
        );
      required.push(any);
      continue;
    }
    const all = val.split(',').map((s) => s.trim());
    const form = allowForbidden ? 'HW_CPU_X86_VMX,!CUSTOM_MAGIC' : 'HW_CPU_X86_VMX,CUSTOM_MAGIC';
    if (all.some((t) => !t || t === '!'))
      throw badRequest(
        `Invalid query string parameters: Expected 'required' parameter value of the form: ${form}. Got an empty trait in: ${val}`,
      );
    for (const t of all) {
      if (!t.startsWith('!')) required.push([t]);
      else if (!allowForbidden)
        throw badRequest(
          `Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: ${val}`,
        );
      else forbidden.add(t.slice(1));
    }
  }
  return { required, forbidden: [...forbidden] };
}

export interface AggregateFilter {
  readonly memberOf: Uuid[][];
  readonly forbidden: Uuid[];
}

export function parseMemberOf(values: readonly string[], v: Microversion, suffix = ''): AggregateFilter {
  if (!v.atLeast(24) && values.length > 1)
    throw badRequest(`Multiple member_of${suffix} parameters are not supported`);
  const memberOf: Uuid[][] = [];
  const forbidden = new Set<Uuid>();
  for (const value of values) {
    if (value.includes(',') && !value.startsWith('in:') && !value.startsWith('!in:'))
      throw badRequest(
        `Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: ${value}`,
      );
    const neg = value.startsWith('!');
    const body = value.replace(/^!?(in:)?/, '');
    const uuids = body.split(',').map((s) => {
      const u = tryParseUuid(s);
      if (!u)
        throw badRequest(
          `Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: ${s}`,
        );
      return u;
    });
    if (!neg) memberOf.push([...new Set(uuids)]);
    else if (!v.atLeast(32))
      throw badRequest(
        `Forbidden member_of${suffix} parameters are not supported in the specified microversion`,
      );
    else for (const u of uuids) forbidden.add(u);
  }
  return { memberOf, forbidden: [...forbidden] };
}

export function parseInTree(value: string): Uuid {
  const u = tryParseUuid(value.trim());
  if (!u)
    throw badRequest(
      `Invalid query string parameters: Expected 'in_tree' parameter to be a format of uuid. Got: ${value}`,
    );
  return u;
}
