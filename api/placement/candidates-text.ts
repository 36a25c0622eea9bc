/**
 * GET /allocation_candidates' answer written straight to JSON text, for microversions 1.12+: the
 * same JSON value as `candidatesJson(c, request, v)` (routes/allocation-candidates.ts keeps that
 * object form; test/unit/api/placement/candidates-text.test.ts checks they agree), with keys in
 * insertion order, as Placement's Python dicts print them (a JS object would move integer-like
 * keys such as the mapping suffix "1" before "").
 * With limit=1000 the answer is 0.5–1 MB: building it as objects and then stringifying them cost
 * about three times what writing the text does, and more than the candidate search itself
 * (bench/RESULTS.md, placement section).
 */
import type { CandidateRequest } from '../../core/placement/candidates.ts';
import type { Candidates } from '../../core/placement/operations.ts';
import type { Microversion } from './microversion.ts';

/** Characters that never need escaping in JSON: uuids, class and trait names, suffixes. */
const PLAIN = /^[A-Za-z0-9_.:-]*$/;
/** A JSON string or null, as JSON.stringify writes it (quoted directly when nothing needs escaping). */
const str = (s: string | null): string => (s !== null && PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));
/** A JSON number as JSON.stringify writes it (null for non-finite). */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

function allocationRequestsText(c: Candidates, v: Microversion): string {
  const withMappings = v.atLeast(34);
  const parts: string[] = [];
  for (const ar of c.allocationRequests) {
    let allocations = '';
    for (const [uuid, byClass] of ar.allocations) {
      let resources = '';
      for (const [rc, n] of byClass) resources += `${resources ? ',' : ''}${str(rc)}:${num(n)}`;
      allocations += `${allocations ? ',' : ''}${str(uuid)}:{"resources":{${resources}}}`;
    }
    if (!withMappings) {
      parts.push(`{"allocations":{${allocations}}}`);
      continue;
    }
    let mappings = '';
    for (const [suffix, rps] of ar.mappings)
      mappings += `${mappings ? ',' : ''}${str(suffix)}:${JSON.stringify(rps)}`;
    parts.push(`{"allocations":{${allocations}},"mappings":{${mappings}}}`);
  }
  return `[${parts.join(',')}]`;
}

function providerSummariesText(c: Candidates, request: CandidateRequest, v: Microversion): string {
  const allClasses = v.atLeast(27);
  const requested = new Set(request.groups.flatMap((g) => Object.keys(g.resources)));
  const parts: string[] = [];
  for (const [uuid, ps] of c.providerSummaries) {
    let resources = '';
    for (const [rc, r] of ps.resources)
      if (allClasses || requested.has(rc))
        resources += `${resources ? ',' : ''}${str(rc)}:{"capacity":${num(r.capacity)},"used":${num(r.used)}}`;
    let out = `${str(uuid)}:{"resources":{${resources}}`;
    if (v.atLeast(17)) out += `,"traits":${JSON.stringify(ps.traits)}`;
    if (v.atLeast(29))
      out += `,"parent_provider_uuid":${str(ps.parentUuid)},"root_provider_uuid":${str(ps.rootUuid)}`;
    parts.push(`${out}}`);
  }
  return `{${parts.join(',')}}`;
}

/** The answer's JSON text; microversion 1.12+ (the dict form of allocation requests). */
export function candidatesText(c: Candidates, request: CandidateRequest, v: Microversion): string {
  if (!v.atLeast(12)) throw new Error('candidatesText writes microversion 1.12+ only');
  return `{"allocation_requests":${allocationRequestsText(c, v)},"provider_summaries":${providerSummariesText(c, request, v)}}`;
}
