/**
 * GET /allocation_candidates (1.10+): the query becomes an engine CandidateRequest
 * (candidate-query.ts); the answer is shaped per microversion as
 * placement/handlers/allocation_candidate.py does (list form before 1.12, mappings 1.34,
 * summaries: requested classes only before 1.27, traits 1.17, parent/root 1.29). From 1.12 the
 * answer is written straight to JSON text, the same bytes as the object form: from the index's
 * slots (candidates-slots-text.ts) or, for the reference scan's answers, from its `Candidates`
 * (candidates-text.ts). The body is handed to fastify as a Buffer: sent as is, never serialised.
 */
import type { FastifyInstance } from 'fastify';
import type { CandidateRequest } from '../../../core/placement/candidates.ts';
import { CandidateSlots, slotsToCandidates } from '../../../core/placement/index/index.ts';
import type { Candidates } from '../../../core/placement/operations.ts';
import type { BodyPool } from '../body-pool.ts';
import { candidateSlotsBody } from '../candidates-slots-text.ts';
import { candidatesText } from '../candidates-text.ts';
import type { RouteOptions } from '../context.ts';
import { unwrapOutcome } from '../errors.ts';
import { cacheHeaders, mv, routes } from '../http.ts';
import { type Microversion, requireVersion } from '../microversion.ts';
import { candidateRequest } from './candidate-query.ts';

export async function allocationCandidateRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  routes(app, '/allocation_candidates', {
    GET: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 10);
      const request = candidateRequest(req, v);
      const body = await ctx.service.read((s) =>
        candidatesBody(unwrapOutcome(ctx.candidates(s, request)), request, v, ctx.bodies),
      );
      // Back to the pool once the bytes are with the kernel; an aborted response keeps its buffer.
      reply.raw.once('finish', () => ctx.bodies.give(body));
      cacheHeaders(req, reply, ctx.now);
      return reply.code(200).header('content-type', 'application/json').send(body);
    },
  });
}

/** The answer's JSON body, written while the state is the one searched. */
export function candidatesBody(
  found: Candidates | CandidateSlots,
  request: CandidateRequest,
  v: Microversion,
  pool?: BodyPool,
): Buffer {
  if (found instanceof CandidateSlots) {
    if (v.atLeast(12)) return candidateSlotsBody(found, request, v, pool);
    return candidatesBody(slotsToCandidates(found), request, v);
  }
  return Buffer.from(
    v.atLeast(12) ? candidatesText(found, request, v) : JSON.stringify(candidatesJson(found, request, v)),
  );
}

export function candidatesJson(c: Candidates, request: CandidateRequest, v: Microversion) {
  const allocation_requests = c.allocationRequests.map((ar) => {
    if (!v.atLeast(12)) {
      return {
        allocations: [...ar.allocations].map(([uuid, byClass]) => ({
          resource_provider: { uuid },
          resources: Object.fromEntries(byClass),
        })),
      };
    }
    const allocations: Record<string, { resources: Record<string, number> }> = {};
    for (const [uuid, byClass] of ar.allocations)
      allocations[uuid] = { resources: Object.fromEntries(byClass) };
    return v.atLeast(34)
      ? { allocations, mappings: Object.fromEntries([...ar.mappings].map(([k, rps]) => [k, [...rps]])) }
      : { allocations };
  });
  const requested = new Set(request.groups.flatMap((g) => Object.keys(g.resources)));
  const provider_summaries: Record<string, Record<string, unknown>> = {};
  for (const [uuid, ps] of c.providerSummaries) {
    const resources: Record<string, { capacity: number; used: number }> = {};
    for (const [rc, r] of ps.resources)
      if (v.atLeast(27) || requested.has(rc)) resources[rc] = { capacity: r.capacity, used: r.used };
    const out: Record<string, unknown> = { resources };
    if (v.atLeast(17)) out.traits = [...ps.traits];
    if (v.atLeast(29)) {
      out.parent_provider_uuid = ps.parentUuid;
      out.root_provider_uuid = ps.rootUuid;
    }
    provider_summaries[uuid] = out;
  }
  return { allocation_requests, provider_summaries };
}
