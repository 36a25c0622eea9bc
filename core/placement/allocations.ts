/**
 * Writing and deleting allocations: PUT /allocations/{consumer} is `writeAllocations` with one
 * write, POST /allocations (several consumers, atomically) with many, DELETE is
 * `deleteAllocations`. A write replaces everything the consumer holds; an empty `allocations`
 * removes it all, and a consumer with no allocations left ceases to exist (its next write must
 * expect `null` again), as in Placement.
 *
 * Checks, all before anything changes (a refused write changes nothing):
 *  1. shape: each consumer once, project/user ids 1..255 chars, amounts integers 1..MAX_INT (400);
 *  2. every provider and resource class exists (400);
 *  3. consumer generations (microversion 1.28+): `null` for a consumer that does not exist yet,
 *     otherwise its current generation — else 409 `placement.concurrent_update`;
 *  4. optional provider generations (`expectedProviderGenerations`, the control plane's
 *     snapshot-then-claim; Placement's API ignores the generations in a request body);
 *  5. per allocation: the provider has inventory of the class, and min_unit <= amount <=
 *     max_unit, amount % step_size == 0 (409);
 *  6. per provider and class: (usage of every other consumer) + (sum of the new amounts of all
 *     consumers in this write) <= capacity (409) — so two consumers in one POST cannot together
 *     overfill a provider that fits either alone.
 * Then each consumer's generation goes up by one and each provider in the new allocations gets
 * one generation bump. Providers that only lose allocations keep their generation, exactly as
 * Placement does (checked against Placement 8.0: DELETE /allocations leaves the provider's
 * generation alone) — freeing capacity cannot invalidate anyone's capacity check.
 */
import type { Uuid } from '../model/ids.ts';
import { isExternalId } from '../model/ids.ts';
import { capacity, MAX_INT, unitViolation } from '../model/inventory.ts';
import { concurrentUpdate, invalid, notFound, type Outcome, ok, PlacementCodes, refuse } from './errors.ts';
import type { ConsumerView, PlacementState } from './state.ts';

/** Amount per resource class, per provider uuid: the JSON shape of a request body. */
export type AllocationsInput = Readonly<Record<string, Readonly<Record<string, number>>>>;

export interface ConsumerWrite {
  readonly consumerUuid: Uuid;
  readonly projectId: string;
  readonly userId: string;
  /** Microversion 1.38+. undefined keeps the consumer's current type (null for a new one). */
  readonly consumerType?: string | null;
  /** null: the consumer must not exist; a number: its current generation; undefined: unchecked. */
  readonly expectedGeneration?: number | null;
  /** Everything the consumer will hold; empty removes all its allocations. */
  readonly allocations: AllocationsInput;
}

export interface WriteOptions {
  /** Refuse (409 concurrent_update) unless each listed provider is still at this generation. */
  readonly expectedProviderGenerations?: ReadonlyMap<Uuid, number>;
}

export interface WriteResult {
  /** Each written consumer after the write; null when it no longer holds anything. */
  readonly consumers: ReadonlyMap<Uuid, ConsumerView | null>;
  /** Providers whose usages changed (those in the new allocations also had their generation bumped). */
  readonly providers: readonly Uuid[];
}

type Amounts = Map<Uuid, Map<string, number>>;

export function putAllocations(
  state: PlacementState,
  write: ConsumerWrite,
  opts: WriteOptions = {},
): Outcome<WriteResult> {
  return writeAllocations(state, [write], opts);
}

export function writeAllocations(
  state: PlacementState,
  writes: readonly ConsumerWrite[],
  opts: WriteOptions = {},
): Outcome<WriteResult> {
  const parsed = new Map<Uuid, Amounts>();
  for (const w of writes) {
    if (parsed.has(w.consumerUuid)) return invalid(`consumer ${w.consumerUuid} appears twice`);
    const amounts = parseWrite(state, w);
    if (!amounts.ok) return amounts;
    parsed.set(w.consumerUuid, amounts.value);
  }
  for (const w of writes) {
    const stale = consumerGenerationProblem(state, w.consumerUuid, w.expectedGeneration);
    if (stale) return stale;
  }
  const staleRp = providerGenerationProblem(state, opts.expectedProviderGenerations);
  if (staleRp) return staleRp;
  const fit = checkFit(state, parsed);
  if (fit) return fit;

  const touched = new Set<Uuid>();
  const allocatedTo = new Set<Uuid>();
  const consumers = new Map<Uuid, ConsumerView | null>();
  for (const w of writes) {
    const prev = state.consumer(w.consumerUuid);
    for (const rp of prev?.allocations.keys() ?? []) touched.add(rp);
    const next = parsed.get(w.consumerUuid)!;
    for (const rp of next.keys()) {
      touched.add(rp);
      allocatedTo.add(rp);
    }
    const record =
      next.size === 0
        ? null
        : {
            uuid: w.consumerUuid,
            projectId: w.projectId,
            userId: w.userId,
            consumerType: w.consumerType !== undefined ? w.consumerType : (prev?.consumerType ?? null),
            generation: (prev?.generation ?? 0) + 1,
            allocations: next,
          };
    state.writeConsumer(w.consumerUuid, record);
    consumers.set(w.consumerUuid, record);
  }
  for (const rp of touched) state.usagesChanged(rp, allocatedTo.has(rp));
  return ok({ consumers, providers: [...touched] });
}

/**
 * DELETE /allocations/{consumer}: 404 when the consumer holds nothing. Placement checks no
 * generation here; pass `expectedGeneration` to make it a checked delete.
 */
export function deleteAllocations(
  state: PlacementState,
  consumerUuid: Uuid,
  expectedGeneration?: number,
): Outcome<WriteResult> {
  const prev = state.consumer(consumerUuid);
  if (!prev) return notFound(`No allocations for consumer '${consumerUuid}'`, { consumerUuid });
  const stale = consumerGenerationProblem(state, consumerUuid, expectedGeneration);
  if (stale) return stale;
  const touched = [...prev.allocations.keys()];
  state.writeConsumer(consumerUuid, null);
  for (const rp of touched) state.usagesChanged(rp, false);
  return ok({ consumers: new Map([[consumerUuid, null]]), providers: touched });
}

function parseWrite(state: PlacementState, w: ConsumerWrite): Outcome<Amounts> {
  if (!isExternalId(w.projectId)) return invalid('project_id must be a string of 1..255 characters');
  if (!isExternalId(w.userId)) return invalid('user_id must be a string of 1..255 characters');
  const out: Amounts = new Map();
  for (const [rpKey, resources] of Object.entries(w.allocations)) {
    const rp = state.provider(rpKey as Uuid);
    if (!rp)
      return invalid(`Allocation for resource provider '${rpKey}' that does not exist.`, { uuid: rpKey });
    const byClass = new Map<string, number>();
    for (const [rc, amount] of Object.entries(resources)) {
      if (!state.hasResourceClass(rc)) return invalid(`No such resource class ${rc}.`, { resourceClass: rc });
      if (!Number.isInteger(amount) || amount < 1 || amount > MAX_INT) {
        return invalid(`Allocation of ${rc} on ${rpKey} must be an integer in 1..${MAX_INT}, got ${amount}`);
      }
      byClass.set(rc, amount);
    }
    if (byClass.size > 0) out.set(rp.uuid, byClass);
  }
  return ok(out);
}

function consumerGenerationProblem(
  state: PlacementState,
  uuid: Uuid,
  expected: number | null | undefined,
): Outcome<never> | undefined {
  if (expected === undefined) return undefined;
  const current = state.consumer(uuid)?.generation ?? null;
  if (current === expected) return undefined;
  return concurrentUpdate(
    `consumer generation conflict - expected ${current ?? 'null'} but got ${expected ?? 'null'}`,
    { consumerUuid: uuid, expected: current, got: expected },
  );
}

function providerGenerationProblem(
  state: PlacementState,
  expected: ReadonlyMap<Uuid, number> | undefined,
): Outcome<never> | undefined {
  for (const [uuid, generation] of expected ?? []) {
    const rp = state.provider(uuid);
    if (!rp) return invalid(`Allocation for resource provider '${uuid}' that does not exist.`, { uuid });
    if (rp.generation !== generation) {
      return concurrentUpdate('resource provider generation conflict', {
        uuid,
        expected: rp.generation,
        got: generation,
      });
    }
  }
  return undefined;
}

/** Why an allocation does not fit, in Placement's words; `reason` goes to `details.reason`. */
type FitReason = 'invalid' | 'min_unit' | 'max_unit' | 'step_size' | 'capacity';

/** Steps 5 and 6 of the header: inventory present, unit rules, then summed capacity. */
function checkFit(state: PlacementState, parsed: ReadonlyMap<Uuid, Amounts>): Outcome<never> | undefined {
  const added: Amounts = new Map();
  for (const amounts of parsed.values()) {
    for (const [rpUuid, byClass] of amounts) {
      const rp = state.provider(rpUuid)!;
      for (const [rc, amount] of byClass) {
        const inv = rp.inventories.get(rc);
        const reason = inv ? unitViolation(inv, amount) : 'invalid';
        if (reason) return cannotAllocate(rc, rpUuid, reason);
        addTo(added, rpUuid, rc, amount);
      }
    }
  }
  const released: Amounts = new Map();
  for (const consumer of parsed.keys()) {
    for (const [rpUuid, byClass] of state.consumer(consumer)?.allocations ?? []) {
      for (const [rc, amount] of byClass) addTo(released, rpUuid, rc, amount);
    }
  }
  for (const [rpUuid, byClass] of added) {
    const rp = state.provider(rpUuid)!;
    for (const [rc, amount] of byClass) {
      const others = (rp.usages.get(rc) ?? 0) - (released.get(rpUuid)?.get(rc) ?? 0);
      if (others + amount > capacity(rp.inventories.get(rc)!)) return cannotAllocate(rc, rpUuid, 'capacity');
    }
  }
  return undefined;
}

function cannotAllocate(rc: string, rpUuid: Uuid, reason: FitReason): Outcome<never> {
  const create = `Unable to create allocation for '${rc}' on resource provider '${rpUuid}'.`;
  const what =
    reason === 'invalid'
      ? `Inventory for '${rc}' on resource provider '${rpUuid}' invalid.`
      : reason === 'capacity'
        ? `${create} The requested amount would exceed the capacity.`
        : `${create} The requested amount would violate inventory constraints.`;
  return refuse('conflict', PlacementCodes.undefined, `Unable to allocate inventory: ${what}`, {
    uuid: rpUuid,
    resourceClass: rc,
    reason,
  });
}

function addTo(m: Amounts, rp: Uuid, rc: string, amount: number): void {
  let byClass = m.get(rp);
  if (!byClass) {
    byClass = new Map();
    m.set(rp, byClass);
  }
  byClass.set(rc, (byClass.get(rc) ?? 0) + amount);
}
