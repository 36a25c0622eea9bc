/**
 * GET /allocation_candidates' query string → the engine's CandidateRequest, with the rules that
 * depend on the microversion (placement/lib.py, schemas/allocation_candidate.py): the unnumbered
 * group only before 1.25, numeric suffixes before 1.33, `!` from 1.22, member_of from 1.21 (many
 * 1.24, forbidden 1.32), in_tree 1.31, root_required 1.35, same_subtree and resourceless groups 1.36,
 * `in:` traits 1.39. What stays valid at 1.36+ is checked by the engine (candidates-request.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { CandidateRequest, SuffixedGroup } from '../../../core/placement/candidates.ts';
import { PlacementCodes } from '../../../core/placement/operations.ts';
import { badRequest } from '../errors.ts';
import { queryAll, queryLast } from '../http.ts';
import { Microversion } from '../microversion.ts';
import { parseInTree, parseMemberOf, parseRequired, parseResources } from '../query.ts';
import { type Schema, validateQuery } from '../validate.ts';

/** root_required takes `!` but not `in:` (legacy trait form). */
const ROOT_REQUIRED_RULES = new Microversion(22);
const KINDS = ['resources', 'required', 'member_of', 'in_tree'] as const;
const STRING = { type: 'string' };

/** One query schema per microversion, built once (validate.ts then finds it compiled by identity). */
const schemas = new Map<number, Schema>();

function schemaFor(v: Microversion): Schema {
  let schema = schemas.get(v.minor);
  if (!schema) {
    schema = buildSchema(v);
    schemas.set(v.minor, schema);
  }
  return schema;
}

function buildSchema(v: Microversion): Schema {
  const properties: Record<string, unknown> = {};
  if (v.atLeast(16)) properties.limit = { type: 'string', pattern: '^[1-9][0-9]*$', minLength: 1 };
  if (!v.atLeast(25)) {
    properties.resources = STRING;
    if (v.atLeast(17)) properties.required = STRING;
    if (v.atLeast(21)) properties.member_of = STRING;
    return { type: 'object', properties, required: ['resources'], additionalProperties: false };
  }
  properties.group_policy = { type: 'string', enum: ['none', 'isolate'] };
  if (v.atLeast(35)) properties.root_required = STRING;
  if (v.atLeast(36)) properties.same_subtree = STRING;
  const suffix = v.atLeast(33) ? '[a-zA-Z0-9_-]{1,64}' : '[1-9][0-9]*';
  const kinds = v.atLeast(31) ? KINDS : KINDS.slice(0, 3);
  const patternProperties = Object.fromEntries(kinds.map((k) => [`^${k}(${suffix})?$`, STRING]));
  return { type: 'object', properties, patternProperties, additionalProperties: false };
}

/** The request, or a 400 in Placement's words. */
export function candidateRequest(req: FastifyRequest, v: Microversion): CandidateRequest {
  const q = queryLast(req);
  validateQuery(q, schemaFor(v));
  const groups = parseGroups(req, q, v);
  if (!v.atLeast(36)) preResourcelessChecks(groups);
  const policy = q.group_policy as 'none' | 'isolate' | undefined;
  if (!policy && groups.filter((g) => g.suffix !== '').length > 1)
    throw badRequest(
      'The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.',
    );
  const out: {
    -readonly [K in keyof CandidateRequest]: CandidateRequest[K];
  } = { groups, nestedAware: v.atLeast(29) };
  if (policy) out.groupPolicy = policy;
  if (q.limit !== undefined) out.limit = Number.parseInt(q.limit, 10);
  const roots = queryAll(req, 'root_required');
  if (roots.length > 1)
    throw badRequest(
      "Query parameter 'root_required' may be specified only once.",
      PlacementCodes.queryDuplicateKey,
    );
  if (roots.length === 1) {
    const { required, forbidden } = parseRequired([roots[0]!], ROOT_REQUIRED_RULES);
    out.rootRequired = required.flat();
    out.rootForbidden = forbidden;
  }
  const subtrees = queryAll(req, 'same_subtree');
  if (subtrees.length > 0)
    out.sameSubtree = subtrees.map((s) => [...new Set(s.split(',').map((x) => x.trim()))]);
  return out;
}

function parseGroups(req: FastifyRequest, q: Record<string, string>, v: Microversion): SuffixedGroup[] {
  const suffixes = new Set<string>();
  for (const key of Object.keys(q)) {
    const kind = KINDS.find((k) => key.startsWith(k));
    if (kind) suffixes.add(key.slice(kind.length));
  }
  const groups: SuffixedGroup[] = [];
  for (const suffix of [...suffixes].sort()) {
    const resources = q[`resources${suffix}`] === undefined ? {} : parseResources(q[`resources${suffix}`]!);
    const traits = parseRequired(queryAll(req, `required${suffix}`), v);
    const aggs = parseMemberOf(queryAll(req, `member_of${suffix}`), v, suffix);
    const g: { -readonly [K in keyof SuffixedGroup]: SuffixedGroup[K] } = { suffix, resources };
    if (traits.required.length > 0) g.required = traits.required;
    if (traits.forbidden.length > 0) g.forbidden = traits.forbidden;
    if (aggs.memberOf.length > 0) g.memberOf = aggs.memberOf;
    if (aggs.forbidden.length > 0) g.forbiddenAggregates = aggs.forbidden;
    const tree = q[`in_tree${suffix}`];
    if (tree !== undefined) g.inTree = parseInTree(tree);
    groups.push(g);
  }
  return groups;
}

/** Before 1.36 every group needs resources (lib.py _check_for_orphans). */
function preResourcelessChecks(groups: readonly SuffixedGroup[]): void {
  const empty = (g: SuffixedGroup) => Object.keys(g.resources).length === 0;
  const traitOrphans = groups
    .filter((g) => empty(g) && (g.required?.length ?? 0) > 0)
    .map((g) => `required${g.suffix}`);
  if (traitOrphans.length > 0)
    throw badRequest(
      `All traits parameters must be associated with resources.  Found the following orphaned traits keys: ${traitOrphans.join(', ')}`,
    );
  const aggOrphans = groups
    .filter((g) => empty(g) && ((g.memberOf?.length ?? 0) > 0 || (g.forbiddenAggregates?.length ?? 0) > 0))
    .map((g) => `member_of${g.suffix}`);
  if (aggOrphans.length > 0)
    throw badRequest(
      `All member_of parameters must be associated with resources. Found the following orphaned member_of keys: ${aggOrphans.join(', ')}`,
    );
  if (groups.length > 0 && !groups.every((g) => !empty(g)))
    throw badRequest('All request groups must specify resources.');
  if (groups.length === 0)
    throw badRequest('At least one request group (`resources` or `resources{$S}`) is required.');
}
