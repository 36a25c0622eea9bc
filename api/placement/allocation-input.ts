/** Turning allocation request bodies (any microversion's form) into the engine's ConsumerWrite. */
import { tryParseUuid, type Uuid } from '../../core/model/ids.ts';
import type { ConsumerWrite } from '../../core/placement/operations.ts';
import type { Microversion } from './microversion.ts';

/** Placement's incomplete_consumer_project_id / user_id defaults, for pre-1.8 writes. */
export const INCOMPLETE_CONSUMER_ID = '00000000-0000-0000-0000-000000000000';

export interface ConsumerBody {
  allocations:
    | Array<{ resource_provider: { uuid: string }; resources: Record<string, number> }>
    | Record<string, { resources: Record<string, number>; generation?: number }>;
  project_id?: string;
  user_id?: string;
  consumer_generation?: number | null;
  consumer_type?: string;
  mappings?: Record<string, string[]>;
}

export function consumerWrite(consumerUuid: Uuid, body: ConsumerBody, v: Microversion): ConsumerWrite {
  const allocations: Record<string, Record<string, number>> = {};
  if (Array.isArray(body.allocations)) {
    for (const a of body.allocations) allocations[norm(a.resource_provider.uuid)] = a.resources;
  } else {
    for (const [rp, a] of Object.entries(body.allocations)) allocations[norm(rp)] = a.resources;
  }
  const write: ConsumerWrite = {
    consumerUuid,
    projectId: body.project_id ?? INCOMPLETE_CONSUMER_ID,
    userId: body.user_id ?? INCOMPLETE_CONSUMER_ID,
    allocations,
    ...(v.atLeast(28) ? { expectedGeneration: body.consumer_generation ?? null } : {}),
    ...(v.atLeast(38) && body.consumer_type !== undefined ? { consumerType: body.consumer_type } : {}),
  };
  return write;
}

/** A provider uuid key in canonical form (unparseable keys stay as given and fail as unknown). */
function norm(s: string): string {
  return tryParseUuid(s) ?? s;
}
