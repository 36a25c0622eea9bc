/**
 * Host→cell mappings in the coordinator (etcd: few, written when a host joins), and the
 * instance→cell mappings, which live in the API layer's store (instance-mappings.ts: one per
 * boot, off etcd's write path) — one object for both so callers see one API.
 *
 * A host mapping is one key, created by CAS against "must not exist", so a host maps to exactly
 * one cell however many callers race; mapping again to the same cell is an idempotent success.
 *
 * Race with `CellRegistry.delete` (lifecycle.ts): a delete first marks the cell `deleting`,
 * then counts mappings. A mapping written before the count is counted (and the delete
 * refused); one written after it re-reads the cell, finds it `deleting` or gone, and
 * removes itself. So a deleted cell never keeps a mapping that points at it. Instance mappings
 * follow the same rule, and also remove themselves if the cell was disabled meanwhile (the
 * header of instance-mappings.ts says why that holds across etcd and the store).
 */
import { decode, encode, type MessageType } from '../core/codec/envelope.ts';
import { CellplaneError } from '../core/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import { acceptingCell, cellNow, recheckRefusal } from './accepting.ts';
import type { InstanceMappings } from './instance-mappings.ts';
import {
  type CellRecord,
  HOST_MAPPINGS_PREFIX,
  type HostMapping,
  HostMappingMessage,
  hostMappingKey,
  type InstanceMapping,
  read,
} from './mapping.ts';
import { checkHostName } from './validate.ts';

export interface MappingCounts {
  readonly hosts: number;
  readonly instances: number;
}

/** Attempts to create a mapping key that keeps vanishing between our CAS and its answer. */
export const MAPPING_CAS_ATTEMPTS = 5;

export class CellMemberships {
  constructor(
    private readonly coord: Coordinator,
    private readonly clock: Clock,
    /** The instance mappings (in the API layer's store). */
    readonly instances: InstanceMappings,
  ) {}

  /** Maps `host` to the cell; `conflict` if it is already mapped to another cell. */
  async mapHost(host: string, cellUuid: string): Promise<HostMapping> {
    checkHostName(host);
    const cell = await acceptingCell(this.coord, cellUuid, 'host');
    const mapping: HostMapping = { host, cellUuid: cell.uuid, mappedAt: Math.round(this.clock.now()) };
    const same = (m: HostMapping) => m.cellUuid === cell.uuid;
    return this.claim(hostMappingKey(host), HostMappingMessage, mapping, same, `host "${host}"`, cell);
  }

  async hostMapping(host: string): Promise<HostMapping | undefined> {
    return (await read(this.coord, HostMappingMessage, hostMappingKey(host)))?.value;
  }

  /** Removes the host's mapping (only if it points at `cellUuid`, when given). Idempotent. */
  async unmapHost(host: string, cellUuid?: string): Promise<boolean> {
    const e = await this.coord.get(hostMappingKey(host));
    if (!e) return false;
    if (cellUuid !== undefined && decode(HostMappingMessage, e.value).cellUuid !== cellUuid) return false;
    return this.coord.delete(e.key, { expectedModRevision: e.modRevision });
  }

  /** Host mappings in host order, optionally only those of one cell. Scans every host mapping. */
  async hostMappings(cellUuid?: string): Promise<HostMapping[]> {
    const all = (await this.coord.list(HOST_MAPPINGS_PREFIX)).map((e) => decode(HostMappingMessage, e.value));
    return cellUuid === undefined ? all : all.filter((m) => m.cellUuid === cellUuid);
  }

  /** Records the instance's cell; refused for a disabled cell, which takes no new instances. */
  mapInstance(instanceUuid: string, cellUuid: string, projectId: string): Promise<InstanceMapping> {
    return this.instances.map(instanceUuid, cellUuid, projectId);
  }

  instanceMapping(instanceUuid: string): Promise<InstanceMapping | undefined> {
    return this.instances.get(instanceUuid);
  }

  /** Removes the instance's mapping (only if it points at `cellUuid`, when given). Idempotent. */
  unmapInstance(instanceUuid: string, cellUuid?: string): Promise<boolean> {
    return this.instances.unmap(instanceUuid, cellUuid);
  }

  /** The cell's instance mappings in uuid order (its index in the store: no scan of the others). */
  instanceMappings(cellUuid: string): Promise<InstanceMapping[]> {
    return this.instances.ofCell(cellUuid);
  }

  /** How many host and instance mappings point at the cell. */
  async count(cellUuid: string): Promise<MappingCounts> {
    const [hosts, instances] = await Promise.all([
      this.hostMappings(cellUuid),
      this.instances.count(cellUuid),
    ]);
    return { hosts: hosts.length, instances };
  }

  /** Creates `key` unless it exists; an existing mapping that is `same` counts as success. */
  private async claim<T extends { readonly cellUuid: string }>(
    key: string,
    kind: MessageType<T>,
    mapping: T,
    same: (existing: T) => boolean,
    what: string,
    cell: CellRecord,
  ): Promise<T> {
    for (let attempt = 0; attempt < MAPPING_CAS_ATTEMPTS; attempt++) {
      const res = await this.coord.cas(key, encode(kind, mapping), 0);
      if (res.ok) {
        // After writing: undo it if the cell started deleting meanwhile.
        const refusal = recheckRefusal(cell, await cellNow(this.coord, cell.uuid), 'host');
        if (!refusal) return mapping;
        await this.coord.delete(key, { expectedModRevision: res.revision });
        throw refusal;
      }
      if (!res.current) continue; // removed between our CAS and its answer: try again
      const existing = decode(kind, res.current.value);
      if (same(existing)) return existing;
      throw await this.taken(what, existing.cellUuid);
    }
    throw new CellplaneError('conflict', `the mapping of ${what} kept changing under us; try again`);
  }

  private async taken(what: string, otherCell: string): Promise<CellplaneError> {
    const other = await cellNow(this.coord, otherCell);
    const name = other ? `"${other.name}" (${otherCell})` : otherCell;
    return new CellplaneError('conflict', `${what} is already mapped to cell ${name}; unmap it first`, {
      retryable: false,
      details: { cellUuid: otherCell },
    });
  }
}
