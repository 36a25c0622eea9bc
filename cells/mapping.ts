/**
 * Cell mapping records as they live in the coordinator's KV, and their wire encoding
 * (core/codec/envelope.ts, so that mixed versions read each other during an upgrade).
 *
 * Key layout (relative to the coordinator's own root: `<prefix>/kv/` on etcd):
 * - `cells/<uuid>`              → CellRecord        (the cell mapping)
 * - `cell-names/<name>`         → NameClaim         (makes names unique; see lifecycle.ts)
 * - `host-mappings/<host>`      → HostMapping       (a host belongs to exactly one cell)
 * - `instance-mappings/<uuid>`  → InstanceMapping   (an instance lives in exactly one cell)
 */
import { decode, defineMessage, type MessageType } from '../core/codec/envelope.ts';
import { asObject, boolean, int, oneOf, optString, string } from '../core/codec/fields.ts';
import type { Coordinator, KvEntry } from '../core/ports/coordinator.ts';

export const CELLS_PREFIX = 'cells/';
export const CELL_NAMES_PREFIX = 'cell-names/';
export const HOST_MAPPINGS_PREFIX = 'host-mappings/';
export const INSTANCE_MAPPINGS_PREFIX = 'instance-mappings/';

export const cellKey = (uuid: string) => CELLS_PREFIX + uuid;
export const cellNameKey = (name: string) => CELL_NAMES_PREFIX + name;
export const hostMappingKey = (host: string) => HOST_MAPPINGS_PREFIX + host;
export const instanceMappingKey = (uuid: string) => INSTANCE_MAPPINGS_PREFIX + uuid;

/**
 * `creating`: written but not yet committed (its name claim may still fail); invisible to
 * readers and attached to a lease, so it vanishes if its creator dies.
 * `ready`: a committed cell. `deleting`: a delete is checking that nothing maps to the
 * cell; new host and instance mappings are refused meanwhile.
 */
export type CellState = 'creating' | 'ready' | 'deleting';
export const CELL_STATES: readonly CellState[] = ['creating', 'ready', 'deleting'];

export interface CellRecord {
  readonly uuid: string;
  readonly name: string;
  /** NATS URL of the cell's own server/account, or the subject prefix it uses on the shared one. */
  readonly transport: string;
  /** Redis URL of the cell's store. */
  readonly store: string;
  readonly state: CellState;
  /** A disabled cell gets no new instances but keeps serving the ones it has. */
  readonly disabled: boolean;
  readonly disabledReason?: string;
  /** Milliseconds since the epoch, from the injected Clock. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Claims `cell-names/<name>` for one cell uuid. */
export interface NameClaim {
  readonly uuid: string;
}

export interface HostMapping {
  readonly host: string;
  readonly cellUuid: string;
  readonly mappedAt: number;
}

export interface InstanceMapping {
  readonly instanceUuid: string;
  readonly cellUuid: string;
  readonly projectId: string;
  readonly mappedAt: number;
}

export const CellRecordMessage: MessageType<CellRecord> = defineMessage({
  type: 'cp.cells.cell',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.cells.cell';
    const o = asObject(body, p);
    const reason = optString(o, 'disabledReason', p);
    return {
      uuid: string(o, 'uuid', p),
      name: string(o, 'name', p),
      transport: string(o, 'transport', p),
      store: string(o, 'store', p),
      state: oneOf(o, 'state', p, CELL_STATES),
      disabled: boolean(o, 'disabled', p),
      ...(reason === undefined ? {} : { disabledReason: reason }),
      createdAt: int(o, 'createdAt', p),
      updatedAt: int(o, 'updatedAt', p),
    };
  },
});

export const NameClaimMessage: MessageType<NameClaim> = defineMessage({
  type: 'cp.cells.name_claim',
  major: 1,
  minor: 0,
  parse(body) {
    return { uuid: string(asObject(body, 'cp.cells.name_claim'), 'uuid', 'cp.cells.name_claim') };
  },
});

export const HostMappingMessage: MessageType<HostMapping> = defineMessage({
  type: 'cp.cells.host_mapping',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.cells.host_mapping';
    const o = asObject(body, p);
    return {
      host: string(o, 'host', p),
      cellUuid: string(o, 'cellUuid', p),
      mappedAt: int(o, 'mappedAt', p),
    };
  },
});

export const InstanceMappingMessage: MessageType<InstanceMapping> = defineMessage({
  type: 'cp.cells.instance_mapping',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.cells.instance_mapping';
    const o = asObject(body, p);
    return {
      instanceUuid: string(o, 'instanceUuid', p),
      cellUuid: string(o, 'cellUuid', p),
      projectId: string(o, 'projectId', p),
      mappedAt: int(o, 'mappedAt', p),
    };
  },
});

/** A decoded value together with the revision a CAS must name to replace it. */
export interface Versioned<T> {
  readonly value: T;
  readonly modRevision: number;
}

export function versioned<T>(kind: MessageType<T>, e: KvEntry): Versioned<T> {
  return { value: decode(kind, e.value), modRevision: e.modRevision };
}

export async function read<T>(
  coord: Coordinator,
  kind: MessageType<T>,
  key: string,
): Promise<Versioned<T> | undefined> {
  const e = await coord.get(key);
  return e && versioned(kind, e);
}
