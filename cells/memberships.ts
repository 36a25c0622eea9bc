/**
 * Host→cell and instance→cell mappings. Each is one key, created by CAS against "must not
 * exist", so a host (or an instance) maps to exactly one cell however many callers race;
 * mapping again to the same cell is an idempotent success.
 *
 * Race with `CellRegistry.delete` (lifecycle.ts): a delete first marks the cell `deleting`,
 * then counts mappings. A mapping written before the count is counted (and the delete
 * refused); one written after it re-reads the cell, finds it `deleting` or gone, and
 * removes itself. So a deleted cell never keeps a mapping that points at it.
 *
 * Race with `CellRegistry.disable`, the same way: an instance mapping re-reads its cell after
 * it is written and removes itself if the cell is disabled by then. So once a disable has
 * committed, no instance mapping written after it survives — no instance lands in a disabled
 * cell after the disable (a mapping that won the race is older than the disable).
 */
import { decode, encode, type MessageType } from '../core/codec/envelope.ts';
import { CellplaneError } from '../core/errors.ts';
import { isExternalId, parseUuid } from '../core/model/ids.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Coordinator } from '../core/ports/coordinator.ts';
import {
  type CellRecord,
  CellRecordMessage,
  cellKey,
  HOST_MAPPINGS_PREFIX,
  type HostMapping,
  HostMappingMessage,
  hostMappingKey,
  INSTANCE_MAPPINGS_PREFIX,
  type InstanceMapping,
  InstanceMappingMessage,
  instanceMappingKey,
  read,
} from './mapping.ts';
import { checkHostName } from './validate.ts';

export interface MappingCounts {
  readonly hosts: number;
  readonly instances: number;
}

type Purpose = 'host' | 'instance';

/** Attempts to create a mapping key that keeps vanishing between our CAS and its answer. */
export const MAPPING_CAS_ATTEMPTS = 5;

export class CellMemberships {
  constructor(
    private readonly coord: Coordinator,
    private readonly clock: Clock,
  ) {}

  /** Maps `host` to the cell; `conflict` if it is already mapped to another cell. */
  async mapHost(host: string, cellUuid: string): Promise<HostMapping> {
    checkHostName(host);
    const cell = await this.acceptingCell(cellUuid, 'host');
    const mapping: HostMapping = { host, cellUuid: cell.uuid, mappedAt: Math.round(this.clock.now()) };
    const same = (m: HostMapping) => m.cellUuid === cell.uuid;
    return this.claim(
      hostMappingKey(host),
      HostMappingMessage,
      mapping,
      same,
      `host "${host}"`,
      cell,
      'host',
    );
  }

  async hostMapping(host: string): Promise<HostMapping | undefined> {
    return (await read(this.coord, HostMappingMessage, hostMappingKey(host)))?.value;
  }

  /** Removes the host's mapping (only if it points at `cellUuid`, when given). Idempotent. */
  async unmapHost(host: string, cellUuid?: string): Promise<boolean> {
    return this.unmap(hostMappingKey(host), (e) => decode(HostMappingMessage, e).cellUuid, cellUuid);
  }

  /** Host mappings in host order, optionally only those of one cell. Scans every mapping. */
  async hostMappings(cellUuid?: string): Promise<HostMapping[]> {
    const all = (await this.coord.list(HOST_MAPPINGS_PREFIX)).map((e) => decode(HostMappingMessage, e.value));
    return cellUuid === undefined ? all : all.filter((m) => m.cellUuid === cellUuid);
  }

  /** Records the instance's cell; refused for a disabled cell, which takes no new instances. */
  async mapInstance(instanceUuid: string, cellUuid: string, projectId: string): Promise<InstanceMapping> {
    const uuid = parseUuid(instanceUuid, 'instanceUuid');
    if (!isExternalId(projectId)) {
      throw new CellplaneError(
        'invalid',
        `projectId must be 1–255 characters, got ${JSON.stringify(projectId)}`,
      );
    }
    const cell = await this.acceptingCell(cellUuid, 'instance');
    const mapping: InstanceMapping = {
      instanceUuid: uuid,
      cellUuid: cell.uuid,
      projectId,
      mappedAt: Math.round(this.clock.now()),
    };
    const same = (m: InstanceMapping) => m.cellUuid === cell.uuid && m.projectId === projectId;
    return this.claim(
      instanceMappingKey(uuid),
      InstanceMappingMessage,
      mapping,
      same,
      `instance ${uuid}`,
      cell,
      'instance',
    );
  }

  async instanceMapping(instanceUuid: string): Promise<InstanceMapping | undefined> {
    const key = instanceMappingKey(parseUuid(instanceUuid, 'instanceUuid'));
    return (await read(this.coord, InstanceMappingMessage, key))?.value;
  }

  async unmapInstance(instanceUuid: string, cellUuid?: string): Promise<boolean> {
    const key = instanceMappingKey(parseUuid(instanceUuid, 'instanceUuid'));
    return this.unmap(key, (e) => decode(InstanceMappingMessage, e).cellUuid, cellUuid);
  }

  /** Instance mappings in uuid order, optionally only one cell's. Scans every mapping. */
  async instanceMappings(cellUuid?: string): Promise<InstanceMapping[]> {
    const entries = await this.coord.list(INSTANCE_MAPPINGS_PREFIX);
    const all = entries.map((e) => decode(InstanceMappingMessage, e.value));
    return cellUuid === undefined ? all : all.filter((m) => m.cellUuid === cellUuid);
  }

  /** How many host and instance mappings point at the cell. */
  async count(cellUuid: string): Promise<MappingCounts> {
    const [hosts, instances] = await Promise.all([
      this.hostMappings(cellUuid),
      this.instanceMappings(cellUuid),
    ]);
    return { hosts: hosts.length, instances: instances.length };
  }

  private async acceptingCell(cellUuid: string, purpose: Purpose): Promise<CellRecord> {
    const uuid = parseUuid(cellUuid, 'cellUuid');
    const cell = (await read(this.coord, CellRecordMessage, cellKey(uuid)))?.value;
    if (!cell || cell.state === 'creating') {
      throw new CellplaneError('notFound', `no cell with uuid ${uuid} (run "cellplane cell list")`);
    }
    if (cell.state === 'deleting') {
      throw new CellplaneError(
        'conflict',
        `cell "${cell.name}" is being deleted: it takes no new ${purpose}s`,
        {
          retryable: false,
        },
      );
    }
    if (purpose === 'instance' && cell.disabled) {
      const why = cell.disabledReason ? ` (${cell.disabledReason})` : '';
      throw new CellplaneError(
        'conflict',
        `cell "${cell.name}" is disabled${why}: it takes no new instances`,
        {
          retryable: false,
          details: { cell: cell.name, reason: cell.disabledReason },
        },
      );
    }
    return cell;
  }

  /** Creates `key` unless it exists; an existing mapping that is `same` counts as success. */
  private async claim<T extends { readonly cellUuid: string }>(
    key: string,
    kind: MessageType<T>,
    mapping: T,
    same: (existing: T) => boolean,
    what: string,
    cell: CellRecord,
    purpose: Purpose,
  ): Promise<T> {
    for (let attempt = 0; attempt < MAPPING_CAS_ATTEMPTS; attempt++) {
      const res = await this.coord.cas(key, encode(kind, mapping), 0);
      if (res.ok) {
        await this.recheck(cell, key, res.revision, purpose);
        return mapping;
      }
      if (!res.current) continue; // removed between our CAS and its answer: try again
      const existing = decode(kind, res.current.value);
      if (same(existing)) return existing;
      throw await this.taken(what, existing.cellUuid);
    }
    throw new CellplaneError('conflict', `the mapping of ${what} kept changing under us; try again`);
  }

  /** After writing a mapping: undo it if the cell started deleting (or, for an instance, was disabled) meanwhile. */
  private async recheck(cell: CellRecord, key: string, revision: number, purpose: Purpose): Promise<void> {
    const now = (await read(this.coord, CellRecordMessage, cellKey(cell.uuid)))?.value;
    if (now && now.state !== 'deleting' && !(purpose === 'instance' && now.disabled)) {
      return;
    }
    if (now?.state !== 'deleting') {
      await this.coord.delete(key, { expectedModRevision: revision });
      throw new CellplaneError('conflict', `cell "${cell.name}" was disabled meanwhile; nothing was mapped`, {
        retryable: false,
        details: { cell: cell.name },
      });
    }
    await this.coord.delete(key, { expectedModRevision: revision });
    throw new CellplaneError(
      'conflict',
      `cell "${cell.name}" was deleted or is being deleted; nothing was mapped`,
      {
        retryable: false,
      },
    );
  }

  private async taken(what: string, otherCell: string): Promise<CellplaneError> {
    const other = (await read(this.coord, CellRecordMessage, cellKey(otherCell)))?.value;
    const name = other ? `"${other.name}" (${otherCell})` : otherCell;
    return new CellplaneError('conflict', `${what} is already mapped to cell ${name}; unmap it first`, {
      retryable: false,
      details: { cellUuid: otherCell },
    });
  }

  private async unmap(
    key: string,
    cellOf: (value: Uint8Array) => string,
    onlyCell: string | undefined,
  ): Promise<boolean> {
    const e = await this.coord.get(key);
    if (!e) return false;
    if (onlyCell !== undefined && cellOf(e.value) !== onlyCell) return false;
    return this.coord.delete(key, { expectedModRevision: e.modRevision });
  }
}
