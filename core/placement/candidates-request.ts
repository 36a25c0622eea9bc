/**
 * The input of GET /allocation_candidates as data, and its validation (what Placement 8.0's
 * lib.RequestGroup.dict_from_request, RequestWideParams.from_request and the handler refuse at
 * microversion 1.36+, with Placement's messages). Query-string parsing (`resources1=VCPU:2`,
 * `required=in:A,B`, `!T`, `member_of=in:…`) is the API layer's job: it produces this shape.
 *
 * Checks that depend on an older microversion (numeric-only suffixes before 1.33, "All request
 * groups must specify resources" before 1.36, no `!` before 1.22) are also the API layer's:
 * this module applies the 1.36+ rules.
 */
import type { Uuid } from '../model/ids.ts';
import { type Outcome, PlacementCodes, refuse } from './errors.ts';
import type { PlacementState } from './state.ts';

export interface RequestGroup {
  /** Amount per class. Empty only in a suffixed group named in `sameSubtree` (1.33+/1.36+). */
  readonly resources: Readonly<Record<string, number>>;
  /** AND of any-of sets: `required=A,B&required=in:C,D` is [[A],[B],[C,D]]. */
  readonly required?: ReadonlyArray<ReadonlyArray<string>>;
  /** `!T` entries of `required`: traits that must be absent. */
  readonly forbidden?: readonly string[];
  /** AND of any-of sets of aggregate uuids (`member_of=in:a,b&member_of=c`). */
  readonly memberOf?: ReadonlyArray<ReadonlyArray<Uuid>>;
  /** `member_of=!a` / `!in:a,b`: aggregates none of which may hold the provider. */
  readonly forbiddenAggregates?: readonly Uuid[];
  readonly inTree?: Uuid;
}

/** A request group with its suffix: '' is the unnumbered group, '1' or '_NIC' a granular one. */
export interface SuffixedGroup extends RequestGroup {
  readonly suffix: string;
}

export type GroupPolicy = 'none' | 'isolate';

/** One whole GET /allocation_candidates request (microversion 1.39 semantics). */
export interface CandidateRequest {
  /** At most one group per suffix; at least one with resources. Order = enumeration order. */
  readonly groups: readonly SuffixedGroup[];
  /** Required when more than one suffixed group is given (as Placement's handler enforces). */
  readonly groupPolicy?: GroupPolicy;
  /** `same_subtree=_a,_b` (repeatable): suffixes whose providers must share a subtree. */
  readonly sameSubtree?: ReadonlyArray<ReadonlyArray<string>>;
  /** `root_required=A,!B`: traits the anchor root must have / must not have. */
  readonly rootRequired?: readonly string[];
  readonly rootForbidden?: readonly string[];
  /** Maximum number of allocation requests (integer >= 1). */
  readonly limit?: number;
  /**
   * False for microversions before 1.29: candidates using two providers of one tree are dropped
   * and provider summaries cover only the providers allocated from. Default true.
   */
  readonly nestedAware?: boolean;
}

/** Placement's suffix pattern from 1.33 (GROUP_PAT_1_33); before 1.33 the API allows digits only. */
export const SUFFIX_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

const badValue = (msg: string) => refuse<never>('invalid', PlacementCodes.queryBadValue, msg);
const bad = (msg: string) => refuse<never>('invalid', PlacementCodes.undefined, msg);

/** Why `req` cannot be searched, as Placement would answer (400), or undefined when it can. */
export function requestProblem(state: PlacementState, req: CandidateRequest): Outcome<never> | undefined {
  return (
    shapeProblem(req) ??
    subtreeProblem(req) ??
    policyProblem(req) ??
    conflictProblem(req) ??
    namesProblem(state, req)
  );
}

function shapeProblem(req: CandidateRequest): Outcome<never> | undefined {
  const seen = new Set<string>();
  for (const g of req.groups) {
    if (g.suffix !== '' && !SUFFIX_PATTERN.test(g.suffix))
      return badValue(`Invalid group suffix: ${g.suffix}`);
    if (seen.has(g.suffix)) return badValue(`Duplicate request group suffix: '${g.suffix}'`);
    seen.add(g.suffix);
  }
  if (!req.groups.some((g) => Object.keys(g.resources).length > 0))
    return refuse(
      'invalid',
      PlacementCodes.queryMissingValue,
      'There must be at least one resources or resources[$S] parameter.',
    );
  if (req.limit !== undefined && (!Number.isInteger(req.limit) || req.limit < 1))
    return bad(`Invalid query string parameters: limit must be an integer >= 1, got ${req.limit}`);
  return undefined;
}

function subtreeProblem(req: CandidateRequest): Outcome<never> | undefined {
  const sets = req.sameSubtree ?? [];
  if (sets.some((s) => s.includes('')))
    return badValue('Empty string (unsuffixed group) can not be specified in `same_subtree` ');
  const named = new Set(sets.flat());
  const resourceless = req.groups.filter((g) => Object.keys(g.resources).length === 0).map((g) => g.suffix);
  const orphans = resourceless.filter((s) => !named.has(s));
  if (orphans.length > 0)
    return badValue(
      'Resourceless suffixed group request should be specified in `same_subtree` query param: ' +
        `bad group(s) - [${orphans.map((s) => `'${s}'`).join(', ')}].`,
    );
  const suffixes = req.groups.map((g) => g.suffix);
  const unknown = [...named].filter((s) => !suffixes.includes(s));
  if (unknown.length > 0)
    return badValue(
      `Real suffixes should be specified in \`same_subtree\`: [${unknown.map((s) => `'${s}'`).join(', ')}] ` +
        `not found in [${suffixes.map((s) => `'${s}'`).join(', ')}].`,
    );
  return undefined;
}

function policyProblem(req: CandidateRequest): Outcome<never> | undefined {
  if (req.groupPolicy === undefined && req.groups.filter((g) => g.suffix !== '').length > 1)
    return bad(
      'The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.',
    );
  if (req.groupPolicy !== undefined && req.groupPolicy !== 'none' && req.groupPolicy !== 'isolate')
    return bad(`Invalid query string parameters: group_policy must be none or isolate`);
  return undefined;
}

/** An any-of set whose every member is also forbidden can never be met. */
function conflictProblem(req: CandidateRequest): Outcome<never> | undefined {
  const conflicts: string[] = [];
  for (const g of req.groups) {
    const forbidden = new Set(g.forbidden ?? []);
    for (const anyOf of g.required ?? [])
      if (anyOf.every((t) => forbidden.has(t)))
        conflicts.push(`required${g.suffix}: (${[...anyOf].sort().join(', ')})`);
  }
  if (conflicts.length > 0)
    return bad(
      `Conflicting required and forbidden traits found in the following traits keys: ${conflicts.sort().join(', ')}`,
    );
  const rootConflicts = (req.rootRequired ?? []).filter((t) => req.rootForbidden?.includes(t));
  if (rootConflicts.length > 0)
    return badValue(
      `Conflicting required and forbidden traits found in root_required: ${rootConflicts.join(', ')}`,
    );
  return undefined;
}

function namesProblem(state: PlacementState, req: CandidateRequest): Outcome<never> | undefined {
  for (const g of req.groups) {
    for (const [rc, amount] of Object.entries(g.resources)) {
      if (!state.hasResourceClass(rc))
        return bad(`Invalid resource class in resources parameter: No such resource class ${rc}.`);
      if (!Number.isInteger(amount) || amount < 1)
        return bad(`Requested amount of ${rc} must be an integer >= 1, got ${amount}`);
    }
  }
  const traits = new Set<string>();
  for (const g of req.groups)
    for (const t of [...(g.required ?? []).flat(), ...(g.forbidden ?? [])]) traits.add(t);
  for (const t of [...(req.rootRequired ?? []), ...(req.rootForbidden ?? [])]) traits.add(t);
  const unknown = [...traits].filter((t) => !state.hasTrait(t));
  if (unknown.length > 0) return bad(`No such trait(s): ${unknown.join(', ')}.`);
  return undefined;
}
