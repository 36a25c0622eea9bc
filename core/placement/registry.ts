/**
 * Custom resource classes and custom traits: the names operators add beside the standard ones.
 * - create: the name must match `^CUSTOM_[A-Z0-9_]+$` (400); POST of an existing class is 409;
 *   `ensure*` (PUT, microversion 1.7+ for classes) is idempotent and says whether it created;
 * - delete: a standard name is 400, an unknown one 404; a class still in some provider's
 *   inventory, or a trait still on some provider, is 409.
 * Deleting scans the providers: these are rare administrative calls.
 */
import { isCustomResourceClassName } from '../model/resource-classes.ts';
import { isCustomTraitName } from '../model/traits.ts';
import { invalid, notFound, type Outcome, ok, PlacementCodes, refuse } from './errors.ts';
import type { PlacementState } from './state.ts';

export function createResourceClass(state: PlacementState, name: string): Outcome<void> {
  if (!isCustomResourceClassName(name))
    return invalid(`'${name}' is not a custom resource class name (CUSTOM_*)`);
  if (state.hasResourceClass(name)) {
    return refuse('conflict', PlacementCodes.undefined, `Conflicting resource class already exists: ${name}`);
  }
  state.addCustomResourceClass(name);
  return ok(undefined);
}

/** PUT /resource_classes/{name}: creates when absent; `created` tells 201 from 204. */
export function ensureResourceClass(state: PlacementState, name: string): Outcome<{ created: boolean }> {
  if (!isCustomResourceClassName(name))
    return invalid(`'${name}' is not a custom resource class name (CUSTOM_*)`);
  if (state.hasResourceClass(name)) return ok({ created: false });
  state.addCustomResourceClass(name);
  return ok({ created: true });
}

export function deleteResourceClass(state: PlacementState, name: string): Outcome<void> {
  if (state.hasResourceClass(name) && !state.isCustomResourceClass(name)) {
    return invalid(`Cannot delete standard resource class ${name}`);
  }
  if (!state.isCustomResourceClass(name)) return notFound(`No such resource class ${name}`);
  for (const rp of state.providers()) {
    if (rp.inventories.has(name)) {
      return refuse('conflict', PlacementCodes.undefined, `Resource class ${name} is in use in inventory`);
    }
  }
  state.removeCustomResourceClass(name);
  return ok(undefined);
}

/** PUT /traits/{name}: creates a custom trait when absent; `created` tells 201 from 204. */
export function ensureTrait(state: PlacementState, name: string): Outcome<{ created: boolean }> {
  if (!isCustomTraitName(name)) {
    return invalid(
      'The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"',
    );
  }
  if (state.hasTrait(name)) return ok({ created: false });
  state.addCustomTrait(name);
  return ok({ created: true });
}

export function deleteTrait(state: PlacementState, name: string): Outcome<void> {
  if (state.hasTrait(name) && !state.isCustomTrait(name))
    return invalid(`Cannot delete standard trait ${name}.`);
  if (!state.isCustomTrait(name)) return notFound(`No such trait(s): ${name}`);
  for (const rp of state.providers()) {
    if (rp.traits.has(name)) {
      return refuse(
        'conflict',
        PlacementCodes.undefined,
        `The trait ${name} is in use by a resource provider.`,
      );
    }
  }
  state.removeCustomTrait(name);
  return ok(undefined);
}
