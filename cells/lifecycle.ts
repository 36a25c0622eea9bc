/**
 * The cell lifecycle on the Coordinator port: create, list, show, disable/enable, update
 * URLs, delete, and a repair sweep. The port has no multi-key transaction, so each
 * operation is a sequence of single-key CAS steps ordered so that a crash between any two
 * leaves nothing that blocks forever and never two cells with one name:
 *
 * create  1. `cells/<uuid>` state `creating`, attached to a short lease (PENDING_CELL_TTL_MS):
 *            if the creator dies, the half-made cell vanishes by itself.
 *         2. `cell-names/<name>` CAS "must not exist" → the name is ours. If it exists but
 *            its cell record is gone, the claim is an orphan (records are written before
 *            their claim, so a claim whose record is gone can never be committed): delete
 *            it by CAS and try again. Otherwise the name is taken: `conflict`.
 *         3. `cells/<uuid>` state `ready`, CAS on step 1's revision, without the lease: the
 *            commit point. If the lease ran out first the record is gone, the CAS fails and
 *            step 2's claim is released: nothing was created.
 * delete  1. mark `deleting` (new mappings are refused, see memberships.ts); 2. count host
 *         mappings (etcd) and instance mappings (the per-cell index in the API layer's store,
 *         instance-mappings.ts), and if any remain (or they cannot be counted), put the state
 *         back and refuse;
 *         3. delete the record; 4. delete the claim. A crash after 1 leaves a `deleting`
 *         cell: running delete again finishes (or refuses and reverts). A crash after 3
 *         leaves an orphan claim, which the next create of that name (or `repair`) removes.
 * Readers never see `creating` records.
 */
import { randomUUID } from 'node:crypto';
import { encode } from '../core/codec/envelope.ts';
import { CellplaneError } from '../core/errors.ts';
import { parseUuid, tryParseUuid } from '../core/model/ids.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import type { Store } from '../core/ports/store.ts';
import { InstanceMappings } from './instance-mappings.ts';
import {
  CELL_NAMES_PREFIX,
  CELLS_PREFIX,
  type CellRecord,
  CellRecordMessage,
  cellKey,
  cellNameKey,
  NameClaimMessage,
  read,
  type Versioned,
  versioned,
} from './mapping.ts';
import { CellMemberships, type MappingCounts } from './memberships.ts';
import { checkCellName, checkReason, checkStore, checkTransport } from './validate.ts';

/** Lease of a cell being created: if its creator dies, the half-made record vanishes after this. */
export const PENDING_CELL_TTL_MS = 10_000;
/** CAS attempts of one update before giving up with a retryable `conflict`. */
export const CELL_UPDATE_ATTEMPTS = 5;
/** Orphan name claims removed (or vanished claims retried) during one create. */
export const NAME_CLAIM_ATTEMPTS = 3;

export interface CellRegistryOptions {
  clock: Clock;
  /**
   * The API layer's store, where the instance→cell mappings live (instance-mappings.ts): a delete
   * counts them there. Every process that maps, unmaps, counts or lists instances must name the
   * same store (a deployment's `redis` with the keys under `<prefix>.api`).
   */
  mappingStore: Store;
  /** New cell uuids (default: random v4). */
  newUuid?: () => string;
  pendingTtlMs?: number;
}

export interface NewCell {
  name: string;
  transport: string;
  store: string;
  /** Create the cell disabled (e.g. to fill it with hosts before it takes instances). */
  disabled?: boolean;
  disabledReason?: string;
}

export interface CellUrls {
  transport?: string;
  store?: string;
}

export class CellRegistry {
  readonly memberships: CellMemberships;
  private readonly clock: Clock;
  private readonly newUuid: () => string;
  private readonly pendingTtlMs: number;

  constructor(
    private readonly coord: Coordinator,
    opts: CellRegistryOptions,
  ) {
    this.clock = opts.clock;
    this.newUuid = opts.newUuid ?? randomUUID;
    this.pendingTtlMs = opts.pendingTtlMs ?? PENDING_CELL_TTL_MS;
    const instances = new InstanceMappings({
      store: opts.mappingStore,
      coordinator: coord,
      clock: opts.clock,
    });
    this.memberships = new CellMemberships(coord, opts.clock, instances);
  }

  /** Creates a cell; `conflict` (not retryable) when the name is taken, `invalid` on bad input. */
  async create(spec: NewCell): Promise<CellRecord> {
    const now = this.clock.now();
    const draft: CellRecord = {
      uuid: parseUuid(this.newUuid(), 'uuid'),
      name: checkCellName(spec.name),
      transport: checkTransport(spec.transport),
      store: checkStore(spec.store),
      state: 'creating',
      disabled: spec.disabled === true,
      ...(spec.disabled && spec.disabledReason ? { disabledReason: checkReason(spec.disabledReason) } : {}),
      createdAt: now,
      updatedAt: now,
    };
    const lease = await this.coord.grantLease(this.pendingTtlMs);
    try {
      const pending = await this.coord.cas(cellKey(draft.uuid), encode(CellRecordMessage, draft), 0, {
        lease,
      });
      if (!pending.ok) throw new CellplaneError('conflict', `cell uuid ${draft.uuid} already exists`);
      const claimRevision = await this.claimName(draft.name, draft.uuid);
      const ready: CellRecord = { ...draft, state: 'ready' };
      const commit = await this.coord.cas(
        cellKey(ready.uuid),
        encode(CellRecordMessage, ready),
        pending.revision,
      );
      if (!commit.ok) {
        await this.coord.delete(cellNameKey(ready.name), { expectedModRevision: claimRevision });
        throw new CellplaneError(
          'conflict',
          `creating cell "${ready.name}" took longer than its ${lease.ttlMs} ms lease; nothing was created, try again`,
        );
      }
      return ready;
    } finally {
      // Deletes the pending record if we did not commit; a committed one is no longer attached.
      await lease.revoke().catch(() => {});
    }
  }

  /** Committed cells (`ready` and `deleting`), by name. */
  async list(): Promise<CellRecord[]> {
    const entries = await this.coord.list(CELLS_PREFIX);
    return entries
      .map((e) => versioned(CellRecordMessage, e).value)
      .filter((c) => c.state !== 'creating')
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The cell named `ref` or with uuid `ref`; undefined when there is none. */
  async find(ref: string): Promise<CellRecord | undefined> {
    return (await this.findVersioned(ref))?.value;
  }

  /** Like `find`, but `notFound` names the cell and says how to list them. */
  async get(ref: string): Promise<CellRecord> {
    return (await this.getVersioned(ref)).value;
  }

  async disable(ref: string, reason?: string): Promise<CellRecord> {
    const why = reason ? checkReason(reason) : undefined;
    return this.mutate(ref, (c) =>
      c.disabled && c.disabledReason === why
        ? c
        : { ...withoutReason(c), disabled: true, ...(why ? { disabledReason: why } : {}) },
    );
  }

  async enable(ref: string): Promise<CellRecord> {
    return this.mutate(ref, (c) => (c.disabled ? { ...withoutReason(c), disabled: false } : c));
  }

  async updateUrls(ref: string, urls: CellUrls): Promise<CellRecord> {
    const transport = urls.transport === undefined ? undefined : checkTransport(urls.transport);
    const store = urls.store === undefined ? undefined : checkStore(urls.store);
    return this.mutate(ref, (c) =>
      (transport ?? c.transport) === c.transport && (store ?? c.store) === c.store
        ? c
        : { ...c, transport: transport ?? c.transport, store: store ?? c.store },
    );
  }

  /** How many host and instance mappings point at the cell. */
  async mappings(ref: string): Promise<MappingCounts> {
    return this.memberships.count((await this.get(ref)).uuid);
  }

  /** Deletes the cell; `conflict` naming the counts while host or instance mappings remain. */
  async delete(ref: string): Promise<CellRecord> {
    const cell = await this.get(ref);
    await this.mutate(cell.uuid, (c) => (c.state === 'deleting' ? c : { ...c, state: 'deleting' }));
    const undelete = () =>
      this.mutate(cell.uuid, (c) => (c.state === 'deleting' ? { ...c, state: 'ready' } : c));
    let counts: MappingCounts;
    try {
      counts = await this.memberships.count(cell.uuid);
    } catch (err) {
      // Not counted (the API's store did not answer): the cell takes instances again.
      await undelete().catch(() => {});
      throw err;
    }
    if (counts.hosts > 0 || counts.instances > 0) {
      await undelete();
      throw new CellplaneError(
        'conflict',
        `cell "${cell.name}" still has ${counts.hosts} host mapping(s) and ${counts.instances} instance mapping(s): move or delete them first`,
        { retryable: false, details: { ...counts, cell: cell.name } },
      );
    }
    for (let attempt = 0; attempt < CELL_UPDATE_ATTEMPTS; attempt++) {
      const current = await read(this.coord, CellRecordMessage, cellKey(cell.uuid));
      if (!current) break; // a concurrent delete finished first
      if (current.value.state !== 'deleting') {
        throw new CellplaneError(
          'conflict',
          `cell "${cell.name}" stopped being deleted meanwhile; try again`,
        );
      }
      if (await this.coord.delete(cellKey(cell.uuid), { expectedModRevision: current.modRevision })) break;
    }
    await this.releaseName(cell.name, cell.uuid);
    return cell;
  }

  /** Removes name claims left by interrupted deletes. Idempotent; returns the names freed. */
  async repair(): Promise<string[]> {
    const freed: string[] = [];
    for (const e of await this.coord.list(CELL_NAMES_PREFIX)) {
      const claim = versioned(NameClaimMessage, e);
      if (await this.coord.get(cellKey(claim.value.uuid))) continue;
      if (await this.coord.delete(e.key, { expectedModRevision: claim.modRevision })) {
        freed.push(e.key.slice(CELL_NAMES_PREFIX.length));
      }
    }
    return freed;
  }

  /** Step 2 of create (see the header). Returns the claim's revision. */
  private async claimName(name: string, uuid: string): Promise<number> {
    for (let attempt = 0; attempt < NAME_CLAIM_ATTEMPTS; attempt++) {
      const res = await this.coord.cas(cellNameKey(name), encode(NameClaimMessage, { uuid }), 0);
      if (res.ok) return res.revision;
      if (!res.current) continue;
      const owner = versioned(NameClaimMessage, res.current).value.uuid;
      const ownerCell = await read(this.coord, CellRecordMessage, cellKey(owner));
      if (ownerCell) {
        const pending = ownerCell.value.state === 'creating' ? ' (it is being created right now)' : '';
        throw new CellplaneError('conflict', `a cell named "${name}" already exists${pending}`, {
          retryable: false,
          details: { name, uuid: owner },
        });
      }
      await this.coord.delete(cellNameKey(name), { expectedModRevision: res.current.modRevision });
    }
    throw new CellplaneError('conflict', `the name "${name}" kept changing hands; try again`);
  }

  private async releaseName(name: string, uuid: string): Promise<void> {
    const claim = await read(this.coord, NameClaimMessage, cellNameKey(name));
    if (claim?.value.uuid === uuid) {
      await this.coord.delete(cellNameKey(name), { expectedModRevision: claim.modRevision });
    }
  }

  private async findVersioned(ref: string): Promise<Versioned<CellRecord> | undefined> {
    let uuid = tryParseUuid(ref);
    if (uuid === undefined) {
      const claim = await read(this.coord, NameClaimMessage, cellNameKey(ref));
      if (!claim) return undefined;
      uuid = parseUuid(claim.value.uuid);
    }
    const cell = await read(this.coord, CellRecordMessage, cellKey(uuid));
    return cell && cell.value.state !== 'creating' ? cell : undefined;
  }

  private async getVersioned(ref: string): Promise<Versioned<CellRecord>> {
    const cell = await this.findVersioned(ref);
    if (cell) return cell;
    const what = tryParseUuid(ref) === undefined ? `named "${ref}"` : `with uuid ${ref}`;
    throw new CellplaneError('notFound', `no cell ${what} (run "cellplane cell list" to see the cells)`, {
      details: { cell: ref },
    });
  }

  /** Read-modify-CAS with retries; `change` returning its argument means "nothing to do". */
  private async mutate(ref: string, change: (c: CellRecord) => CellRecord): Promise<CellRecord> {
    for (let attempt = 0; attempt < CELL_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.getVersioned(ref);
      const next = change(current.value);
      if (next === current.value) return next;
      const updated: CellRecord = { ...next, updatedAt: this.clock.now() };
      const key = cellKey(updated.uuid);
      const res = await this.coord.cas(key, encode(CellRecordMessage, updated), current.modRevision);
      if (res.ok) return updated;
    }
    throw new CellplaneError('conflict', `cell "${ref}" kept changing under us; try again`);
  }
}

function withoutReason(c: CellRecord): CellRecord {
  const { disabledReason: _, ...rest } = c;
  return rest;
}
