/**
 * POST /reshaper (1.30+): move inventories and allocations between providers of a tree in one
 * atomic step (placement/handlers/reshaper.py). Done as three engine writes inside ONE service
 * write — inventories widened to old ∪ new (generation-checked), allocations written, inventories
 * narrowed to the new ones — so a reshape is all-or-nothing: a refusal at any step makes the
 * service reload the state it had persisted before.
 */
import type { FastifyInstance } from 'fastify';
import { tryParseUuid, type Uuid } from '../../../core/model/ids.ts';
import type { Inventory } from '../../../core/model/inventory.ts';
import { ok } from '../../../core/placement/errors.ts';
import {
  type ConsumerWrite,
  type Outcome,
  type PlacementState,
  setInventories,
  writeAllocations,
} from '../../../core/placement/operations.ts';
import { type ConsumerBody, consumerWrite } from '../allocation-input.ts';
import type { RouteOptions } from '../context.ts';
import { badRequest, unwrapOutcome } from '../errors.ts';
import { jsonBody, mv, routes, sendEmpty } from '../http.ts';
import { requireVersion } from '../microversion.ts';
import { type InventoryBody, inventoryFromBody } from '../serialize.ts';
import type { Schema } from '../validate.ts';
import { postAllocationsSchema, UUID_PATTERN } from './allocation-schemas.ts';
import { PUT_INVENTORIES } from './inventory-schemas.ts';

function reshaperSchema(allocations: Schema): Schema {
  return {
    type: 'object',
    properties: {
      inventories: {
        type: 'object',
        patternProperties: { [UUID_PATTERN]: PUT_INVENTORIES },
        minProperties: 1,
        additionalProperties: false,
      },
      allocations,
    },
    required: ['inventories', 'allocations'],
    additionalProperties: false,
  };
}

interface ReshapeBody {
  inventories: Record<
    string,
    { resource_provider_generation: number; inventories: Record<string, InventoryBody> }
  >;
  allocations: Record<string, ConsumerBody>;
}

interface ProviderReshape {
  readonly uuid: Uuid;
  readonly generation: number;
  readonly inventories: Map<string, Inventory>;
}

export async function reshaperRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  routes(app, '/reshaper', {
    POST: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 30);
      // Below 1.34 the allocations carry no mappings; the 1.28 shape is the floor here.
      const body = jsonBody<ReshapeBody>(req, reshaperSchema(postAllocationsSchema(v, 0)));
      const providers: ProviderReshape[] = Object.entries(body.inventories).map(([rp, inv]) => ({
        uuid: tryParseUuid(rp) ?? (rp as Uuid),
        generation: inv.resource_provider_generation,
        inventories: new Map(Object.entries(inv.inventories).map(([rc, b]) => [rc, inventoryFromBody(b)])),
      }));
      const writes = Object.entries(body.allocations).map(([c, b]) => {
        const uuid = tryParseUuid(c);
        if (!uuid) throw badRequest(`Malformed consumer_uuid: ${c}`);
        return consumerWrite(uuid, b, v);
      });
      const rules = { reservedCanBeTotal: true };
      unwrapOutcome(await ctx.service.write((s) => reshape(s, providers, writes, rules)));
      return sendEmpty(reply, 204);
    },
  });
}

function reshape(
  s: PlacementState,
  providers: readonly ProviderReshape[],
  writes: readonly ConsumerWrite[],
  rules: { reservedCanBeTotal: boolean },
): Outcome<void> {
  for (const p of providers) {
    const current = s.provider(p.uuid)?.inventories ?? new Map<string, Inventory>();
    const widened = new Map([...current, ...p.inventories]);
    const o = setInventories(s, p.uuid, p.generation, widened, rules);
    if (!o.ok) return o;
  }
  if (writes.length > 0) {
    const o = writeAllocations(s, writes);
    if (!o.ok) return o;
  }
  for (const p of providers) {
    const o = setInventories(s, p.uuid, undefined, p.inventories, rules);
    if (!o.ok) return o;
  }
  return ok(undefined);
}
