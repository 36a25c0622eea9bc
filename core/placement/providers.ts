/**
 * Creating, renaming, re-parenting and deleting resource providers, with Placement's rules:
 * - names are unique and 1..200 characters (409 `placement.duplicate_name`, also for a uuid
 *   that already exists);
 * - a parent must exist and may not be the provider itself (400);
 * - changing an existing parent, or removing it, is refused unless `allowReparenting`
 *   (microversion 1.37+); a new parent inside the provider's own subtree is a loop (400);
 * - deleting a provider with children is 409 `placement.resource_provider.cannot_delete_parent`,
 *   with allocations 409 `placement.resource_provider.inuse`; its inventories, traits and
 *   aggregate links go with it.
 * Renaming or moving a provider does not change its generation (as in Placement): the
 * generation guards inventories, traits, aggregates and allocations.
 */
import type { Uuid } from '../model/ids.ts';
import { invalid, notFound, type Outcome, ok, PlacementCodes, refuse } from './errors.ts';
import type { PlacementState, ProviderView } from './state.ts';

/** Longest provider name Placement accepts. */
export const MAX_PROVIDER_NAME_LENGTH = 200;

export interface CreateProvider {
  readonly uuid: Uuid;
  readonly name: string;
  readonly parentUuid?: Uuid | null;
}

export function createProvider(state: PlacementState, cmd: CreateProvider): Outcome<ProviderView> {
  const bad = nameProblem(cmd.name);
  if (bad) return invalid(bad, { field: 'name' });
  const parentUuid = cmd.parentUuid ?? null;
  if (state.provider(cmd.uuid)) return duplicate(`uuid: ${cmd.uuid}`);
  if (state.providerByName(cmd.name)) return duplicate(`name: ${cmd.name}`);
  if (parentUuid === cmd.uuid) {
    return invalid('parent provider UUID cannot be same as UUID', { uuid: cmd.uuid });
  }
  if (parentUuid !== null && !state.provider(parentUuid)) {
    return invalid('parent provider UUID does not exist', { parentUuid });
  }
  return ok(state.insertProvider(cmd.uuid, cmd.name, parentUuid));
}

export interface UpdateProvider {
  readonly name: string;
  /** undefined: leave the parent as it is; null: make the provider a root. */
  readonly parentUuid?: Uuid | null;
  /** Microversion 1.37+: a provider that has a parent may move to another or become a root. */
  readonly allowReparenting?: boolean;
}

export function updateProvider(
  state: PlacementState,
  uuid: Uuid,
  cmd: UpdateProvider,
): Outcome<ProviderView> {
  const rp = state.provider(uuid);
  if (!rp) return notFound(`No resource provider with uuid ${uuid} found`, { uuid });
  const bad = nameProblem(cmd.name);
  if (bad) return invalid(bad, { field: 'name' });
  const holder = state.providerByName(cmd.name);
  if (holder && holder.uuid !== uuid) return duplicate(`name: ${cmd.name}`);
  if (cmd.parentUuid !== undefined && cmd.parentUuid !== rp.parentUuid) {
    const moveProblem = reparentProblem(state, rp, cmd.parentUuid, cmd.allowReparenting ?? false);
    if (moveProblem) return invalid(moveProblem, { uuid, parentUuid: cmd.parentUuid });
  }
  if (cmd.name !== rp.name) state.renameProvider(uuid, cmd.name);
  if (cmd.parentUuid !== undefined && cmd.parentUuid !== rp.parentUuid)
    state.moveProvider(uuid, cmd.parentUuid);
  return ok(rp);
}

function reparentProblem(
  state: PlacementState,
  rp: ProviderView,
  parentUuid: Uuid | null,
  allowReparenting: boolean,
): string | undefined {
  if (parentUuid === null) {
    return allowReparenting ? undefined : 'un-parenting a provider is not currently allowed';
  }
  if (!state.provider(parentUuid)) return 'parent provider UUID does not exist';
  if (rp.parentUuid !== null && !allowReparenting) return 're-parenting a provider is not currently allowed';
  if (state.subtree(rp.uuid).includes(parentUuid)) return 'creating loop in the provider tree is not allowed';
  return undefined;
}

export function deleteProvider(state: PlacementState, uuid: Uuid): Outcome<void> {
  const rp = state.provider(uuid);
  if (!rp) return notFound(`No resource provider with uuid ${uuid} found for delete`, { uuid });
  if (rp.children.size > 0) {
    return refuse(
      'conflict',
      PlacementCodes.cannotDeleteParent,
      `Unable to delete parent resource provider ${uuid}: It has child resource providers.`,
      { uuid },
    );
  }
  if (rp.consumers.size > 0) {
    return refuse(
      'conflict',
      PlacementCodes.providerInUse,
      `Unable to delete resource provider ${uuid}: Resource provider has allocations.`,
      { uuid },
    );
  }
  state.removeProvider(uuid);
  return ok(undefined);
}

function nameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length < 1 || name.length > MAX_PROVIDER_NAME_LENGTH) {
    return `name must be a string of 1..${MAX_PROVIDER_NAME_LENGTH} characters`;
  }
  return undefined;
}

function duplicate(what: string): Outcome<never> {
  return refuse(
    'conflict',
    PlacementCodes.duplicateName,
    `Conflicting resource provider ${what} already exists.`,
  );
}
