/**
 * Instance→cell mappings in the API layer's Store (Redis in a deployment, the memory store
 * embedded), off etcd's write path: etcd takes about 1,000 puts/s here and holds the cell records,
 * host mappings and leases; a mapping per boot there would cap the whole region.
 *
 * Layout in the store:
 *   `cells.instance-mapping/<instance uuid>`  → InstanceMapping (the envelope of mapping.ts)
 *   index `cells.instance-mappings/<cell uuid>` the uuids of the instances mapped to that cell
 * Every change writes the mapping and its index entry in ONE commit, so `count` (what a cell
 * delete checks) and `ofCell` (a down cell's servers listed as UNKNOWN) read the index, never a
 * scan of every mapping.
 *
 * Crash safety, with the cell record still in etcd and the mapping in the store (no transaction
 * spans the two). The rules are those of the etcd mappings before them (cells/README.md):
 * - an instance maps to one cell: the mapping is created by a commit conditional on "must not
 *   exist"; mapping again to the same cell (and project) is an idempotent success.
 * - no instance lands in a cell after a disable of it committed, and no mapping outlives its
 *   cell: `map` writes the mapping, and only once that commit is acknowledged re-reads the cell
 *   record from etcd (a linearizable read that started after the write; concurrent mappers of one
 *   cell share such reads: cell-reads.ts). A re-read that fails removes the mapping too. If the cell is disabled, being deleted or gone by
 *   then, `map` removes the mapping (conditional on the generation it wrote) and refuses. If the
 *   re-read still shows the cell taking instances, the disable or delete commits after it, so
 *   the mapping is older than the disable (it won the race, and a delete counts it). A mapper that
 *   dies between its write and its re-check leaves a mapping but never enqueues the build (the
 *   API enqueues only after `map` returned), so no instance lands there; the mapping is counted by
 *   a delete, which then refuses, until it is removed.
 * - a cell delete marks the cell `deleting` (in etcd) before it counts (here): a mapping written
 *   before the count is counted; one written after it re-reads `deleting` and removes itself.
 *
 * Upgrades: mappings an earlier version wrote to etcd (`instance-mappings/<uuid>` in the
 * coordinator) are still read, counted and removed here until they are moved into the store
 * (instance-mappings-move.ts: at the API's start and by `cellplane cell repair`).
 */
import { decode, encode } from '../core/codec/envelope.ts';
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import { isExternalId, parseUuid } from '../core/model/ids.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import type { Store, WriteOp } from '../core/ports/store.ts';
import { indexPages } from '../core/stores/records.ts';
import { accepting, cellNow, recheckRefusal } from './accepting.ts';
import { type CellReader, SharedCellReads } from './cell-reads.ts';
import {
  type CellRecord,
  INSTANCE_MAPPINGS_PREFIX,
  type InstanceMapping,
  InstanceMappingMessage,
  instanceMappingKey,
} from './mapping.ts';

export const MAPPING_KEY_PREFIX = 'cells.instance-mapping/';
export const mappingKey = (uuid: string) => MAPPING_KEY_PREFIX + uuid;
export const cellMappingsIndex = (cellUuid: string) => `cells.instance-mappings/${cellUuid}`;

/** Attempts to create a mapping that keeps vanishing between our commit and the read of its winner. */
export const INSTANCE_MAPPING_ATTEMPTS = 5;
/**
 * How long a mapping write waits out a store that does not answer (a Redis restart takes a few
 * seconds) before the boot is refused as `unavailable`, and the first pause (doubling) between
 * tries. The write is safe to repeat: one that landed unseen is found as ours on the next try.
 */
export const MAPPING_STORE_WAIT_MS = 10_000;
export const MAPPING_STORE_PAUSE_MS = 100;
/** Index members (and mappings) read per round trip by `ofCell`. */
export const MAPPINGS_PAGE_SIZE = 1000;

/** How `restore` went: written, already there (the same), or there pointing elsewhere. */
export type RestoreOutcome =
  | { readonly kind: 'written'; readonly generation: number }
  | { readonly kind: 'present' }
  | { readonly kind: 'elsewhere'; readonly existing: InstanceMapping };

export interface InstanceMappingsOptions {
  /** The API layer's store: where the mappings live. */
  readonly store: Store;
  /** Where the cell records live (read before and after each mapping), and legacy mappings. */
  readonly coordinator: Coordinator;
  readonly clock: Clock;
  /** How the cell records are read; default: reads shared by concurrent mappers (cell-reads.ts). */
  readonly cellReads?: CellReader;
}

export class InstanceMappings {
  private readonly store: Store;
  private readonly coord: Coordinator;
  private readonly cells: CellReader;

  constructor(private readonly o: InstanceMappingsOptions) {
    this.store = o.store;
    this.coord = o.coordinator;
    this.cells = o.cellReads ?? new SharedCellReads(o.coordinator);
  }

  /** Records the instance's cell; refused for a disabled cell, which takes no new instances. */
  /** `f`, tried again while the store answers `unavailable`, for up to MAPPING_STORE_WAIT_MS. */
  private async waitingOutStore<T>(f: () => Promise<T>): Promise<T> {
    const clock = this.o.clock;
    const until = clock.now() + MAPPING_STORE_WAIT_MS;
    for (let pause = MAPPING_STORE_PAUSE_MS; ; pause *= 2) {
      try {
        return await f();
      } catch (err) {
        if (toCellplaneError(err).code !== 'unavailable' || clock.now() + pause > until) throw err;
      }
      await clock.sleep(pause);
    }
  }

  async map(instanceUuid: string, cellUuid: string, projectId: string): Promise<InstanceMapping> {
    const uuid = parseUuid(instanceUuid, 'instanceUuid');
    if (!isExternalId(projectId)) {
      throw new CellplaneError(
        'invalid',
        `projectId must be 1–255 characters, got ${JSON.stringify(projectId)}`,
      );
    }
    const cellId = parseUuid(cellUuid, 'cellUuid');
    const cell = accepting(cellId, await this.cells.recent(cellId), 'instance');
    const mapping: InstanceMapping = {
      instanceUuid: uuid,
      cellUuid: cell.uuid,
      projectId,
      mappedAt: Math.round(this.o.clock.now()),
    };
    for (let attempt = 0; attempt < INSTANCE_MAPPING_ATTEMPTS; attempt++) {
      const res = await this.waitingOutStore(() => this.store.commit(this.created(mapping)));
      if (res.ok) {
        // The re-check (see the header): a read that started after the write was acknowledged.
        const undo = () => this.store.commit(this.removed(mapping, res.generations[mappingKey(uuid)]!));
        let now: CellRecord | undefined;
        try {
          now = await this.cells.fresh(cell.uuid);
        } catch (err) {
          await undo().catch(() => {}); // unverified: the caller is told it failed, so nothing stays
          throw err;
        }
        const refusal = recheckRefusal(cell, now, 'instance');
        if (!refusal) return mapping;
        await undo();
        throw refusal;
      }
      const existing = (await this.waitingOutStore(() => this.stored(uuid)))?.mapping;
      if (!existing) continue; // removed between our commit and this read: try again
      if (existing.cellUuid === cell.uuid && existing.projectId === projectId) return existing;
      throw await this.taken(uuid, existing.cellUuid);
    }
    throw new CellplaneError('conflict', `the mapping of instance ${uuid} kept changing under us; try again`);
  }

  /** The instance's mapping (in the store, else a legacy one still in etcd), or undefined. */
  async get(instanceUuid: string): Promise<InstanceMapping | undefined> {
    const uuid = parseUuid(instanceUuid, 'instanceUuid');
    const stored = await this.stored(uuid);
    if (stored) return stored.mapping;
    const legacy = await this.coord.get(instanceMappingKey(uuid));
    if (legacy) return decode(InstanceMappingMessage, legacy.value);
    // In neither place when we looked: a move may have carried it into the store in between.
    return (await this.stored(uuid))?.mapping;
  }

  /**
   * Removes the instance's mapping (only if it points at `cellUuid`, when given); false when there
   * was none (or it points elsewhere). Idempotent. A legacy mapping in etcd is removed there.
   */
  async unmap(instanceUuid: string, cellUuid?: string): Promise<boolean> {
    const uuid = parseUuid(instanceUuid, 'instanceUuid');
    const first = await this.unmapStored(uuid, cellUuid);
    if (first !== 'absent') return first === 'removed';
    const legacy = await this.coord.get(instanceMappingKey(uuid));
    if (legacy) {
      if (cellUuid !== undefined && decode(InstanceMappingMessage, legacy.value).cellUuid !== cellUuid) {
        return false;
      }
      if (await this.coord.delete(legacy.key, { expectedModRevision: legacy.modRevision })) return true;
    }
    // Gone from etcd under us, or in neither place when we looked: a move (which writes the store
    // before it deletes the legacy key) may have carried it into the store in between.
    return (await this.unmapStored(uuid, cellUuid)) === 'removed';
  }

  /** The cell's mappings in uuid order (the per-cell index, then legacy ones still in etcd). */
  async ofCell(cellUuid: string): Promise<InstanceMapping[]> {
    const cell = parseUuid(cellUuid, 'cellUuid');
    const out: InstanceMapping[] = [];
    for await (const uuids of indexPages(this.store, cellMappingsIndex(cell), MAPPINGS_PAGE_SIZE)) {
      for (const e of await this.store.getMany(uuids.map(mappingKey))) {
        if (e) out.push(decode(InstanceMappingMessage, e.value));
      }
    }
    const seen = new Set(out.map((m) => m.instanceUuid));
    const legacy = (await this.legacyOf(cell)).filter((m) => !seen.has(m.instanceUuid));
    if (legacy.length === 0) return out;
    return [...out, ...legacy].sort((a, b) => (a.instanceUuid < b.instanceUuid ? -1 : 1));
  }

  /** How many instances map to the cell: one index count, plus legacy ones still in etcd. */
  async count(cellUuid: string): Promise<number> {
    const cell = parseUuid(cellUuid, 'cellUuid');
    const [inStore, legacy] = await Promise.all([
      this.store.count(cellMappingsIndex(cell)),
      this.legacyOf(cell),
    ]);
    return inStore + legacy.length;
  }

  /**
   * Writes `m` as it is unless the instance is mapped already (a move from etcd, a rebuild from
   * the cells' records): no check of the cell, whose instance exists already. Idempotent.
   */
  async restore(m: InstanceMapping): Promise<RestoreOutcome> {
    const mapping: InstanceMapping = { ...m, instanceUuid: parseUuid(m.instanceUuid, 'instanceUuid') };
    for (let attempt = 0; attempt < INSTANCE_MAPPING_ATTEMPTS; attempt++) {
      const res = await this.store.commit(this.created(mapping));
      if (res.ok) return { kind: 'written', generation: res.generations[mappingKey(mapping.instanceUuid)]! };
      const existing = (await this.stored(mapping.instanceUuid))?.mapping;
      if (!existing) continue;
      if (existing.cellUuid === mapping.cellUuid) return { kind: 'present' };
      return { kind: 'elsewhere', existing };
    }
    throw new CellplaneError(
      'conflict',
      `the mapping of instance ${mapping.instanceUuid} kept changing; try again`,
    );
  }

  /** Removes a mapping `restore` wrote, unless it changed since (its generation). */
  async undoRestore(m: InstanceMapping, generation: number): Promise<boolean> {
    return (await this.store.commit(this.removed(m, generation))).ok;
  }

  private async stored(uuid: string): Promise<{ mapping: InstanceMapping; generation: number } | undefined> {
    const e = await this.store.get(mappingKey(uuid));
    return e && { mapping: decode(InstanceMappingMessage, e.value), generation: e.generation };
  }

  private async unmapStored(
    uuid: string,
    cellUuid: string | undefined,
  ): Promise<'removed' | 'elsewhere' | 'absent'> {
    const s = await this.stored(uuid);
    if (!s) return 'absent';
    if (cellUuid !== undefined && s.mapping.cellUuid !== cellUuid) return 'elsewhere';
    // A lost commit means someone else removed it first (mappings are never rewritten).
    return (await this.store.commit(this.removed(s.mapping, s.generation))).ok ? 'removed' : 'absent';
  }

  private created(m: InstanceMapping): WriteOp[] {
    return [
      {
        op: 'put',
        key: mappingKey(m.instanceUuid),
        value: encode(InstanceMappingMessage, m),
        expectedGeneration: 0,
      },
      { op: 'index', index: cellMappingsIndex(m.cellUuid), member: m.instanceUuid },
    ];
  }

  private removed(m: InstanceMapping, generation: number): WriteOp[] {
    return [
      { op: 'delete', key: mappingKey(m.instanceUuid), expectedGeneration: generation },
      { op: 'unindex', index: cellMappingsIndex(m.cellUuid), member: m.instanceUuid },
    ];
  }

  /** Legacy mappings of the cell still in etcd (one range read; empty once they were moved). */
  private async legacyOf(cellUuid: string): Promise<InstanceMapping[]> {
    const entries = await this.coord.list(INSTANCE_MAPPINGS_PREFIX);
    return entries.map((e) => decode(InstanceMappingMessage, e.value)).filter((m) => m.cellUuid === cellUuid);
  }

  private async taken(uuid: string, otherCell: string): Promise<CellplaneError> {
    const other = await cellNow(this.coord, otherCell);
    const name = other ? `"${other.name}" (${otherCell})` : otherCell;
    return new CellplaneError(
      'conflict',
      `instance ${uuid} is already mapped to cell ${name}; unmap it first`,
      {
        retryable: false,
        details: { cellUuid: otherCell },
      },
    );
  }
}
