/**
 * The versioned messages a host agent speaks (STYLE.md §7). Published by the agent:
 * `cp.host.register` (its provider tree), `cp.host.heartbeat` (a batch of beats: one message
 * per sweep, not per host), `cp.host.instance_event` (state changes with timestamps); by the
 * HeartbeatMonitor: `cp.host.service` (up/down transitions); to the agents: `cp.host.resync`
 * (re-register, all or some). Asks (see asks.ts) carry instance specs and InstanceInfo.
 * Every parser keeps the fields it knows and ignores the rest (newer minors pass through).
 */
import { defineMessage } from '../core/codec/envelope.ts';
import {
  asBoolean,
  asNested,
  asNumber,
  asObject,
  asOneOf,
  asRecord,
  asString,
  boolean,
  type Fields,
  int,
  asInt as int_,
  list,
  number,
  oneOf,
  optList,
  optNested,
  optString,
  optStrings,
  record,
  string,
  strings,
} from '../core/codec/fields.ts';
import type { WireError } from '../core/errors.ts';
import { type Inventory, makeInventory } from '../core/model/inventory.ts';
import {
  type DeviceAssignment,
  type InstanceInfo,
  type InstanceSpec,
  POWER_STATES,
  type ProviderDescription,
} from './driver.ts';

/** Providers one host may report (root + devices). */
export const MAX_PROVIDERS_PER_HOST = 256;
/** Beats in one heartbeat message; a sweep with more due hosts publishes several. */
export const MAX_BEATS_PER_MESSAGE = 1_000;
/** Host names one resync may list. */
export const MAX_RESYNC_HOSTS = 10_000;

/** Where the conductor asks a registered host (`ActorClient` address parts). */
export interface AgentRoute {
  readonly scope: string;
  readonly hostKind: string;
  readonly instanceKind: string;
}

export interface RegisterHost {
  readonly host: string;
  readonly cell: string;
  readonly hypervisorType: string;
  readonly route: AgentRoute;
  readonly providers: readonly ProviderDescription[];
  readonly capabilities: Readonly<Record<string, boolean>>;
  /** Changes every time the agent starts: a registry sees a restart as a new incarnation. */
  readonly incarnation: number;
  readonly atMs: number;
}

export interface Beat {
  readonly host: string;
  readonly seq: number;
  readonly atMs: number;
  readonly incarnation: number;
  readonly instances: number;
}

export interface HeartbeatBatch {
  readonly cell: string;
  readonly beats: readonly Beat[];
}

export type InstanceEventKind =
  | 'spawning'
  | 'spawned'
  | 'spawnFailed'
  | 'destroying'
  | 'destroyed'
  | 'rebooting'
  | 'rebooted'
  | 'stopping'
  | 'stopped'
  | 'starting'
  | 'started'
  | 'operationFailed';
export const INSTANCE_EVENT_KINDS: readonly InstanceEventKind[] = [
  'spawning',
  'spawned',
  'spawnFailed',
  'destroying',
  'destroyed',
  'rebooting',
  'rebooted',
  'stopping',
  'stopped',
  'starting',
  'started',
  'operationFailed',
];

export interface InstanceEvent {
  readonly host: string;
  readonly cell: string;
  readonly instance: string;
  readonly event: InstanceEventKind;
  /** Per host, increasing: a consumer can spot gaps. */
  readonly seq: number;
  readonly atMs: number;
  readonly powerState?: InstanceInfo['powerState'];
  readonly error?: WireError;
}

export interface ServiceTransition {
  readonly host: string;
  readonly up: boolean;
  readonly atMs: number;
  /** Last heartbeat seen (0 = never). */
  readonly lastSeenMs: number;
}

const T = {
  register: 'cp.host.register',
  heartbeat: 'cp.host.heartbeat',
  event: 'cp.host.instance_event',
  service: 'cp.host.service',
  resync: 'cp.host.resync',
  serviceReplay: 'cp.host.service_replay',
} as const;

function parseInventory(o: Fields, p: string): Inventory {
  return makeInventory({
    total: int(o, 'total', p),
    reserved: int(o, 'reserved', p),
    minUnit: int(o, 'minUnit', p),
    maxUnit: int(o, 'maxUnit', p),
    stepSize: int(o, 'stepSize', p),
    allocationRatio: number(o, 'allocationRatio', p),
  });
}

function parseProvider(o: Fields, p: string): ProviderDescription {
  const parentUuid = optString(o, 'parentUuid', p);
  return {
    uuid: string(o, 'uuid', p),
    name: string(o, 'name', p),
    ...(parentUuid === undefined ? {} : { parentUuid }),
    inventories: record(o, 'inventories', p, (v: unknown, q: string) => asNested(v, q, parseInventory)),
    traits: strings(o, 'traits', p),
  };
}

export const registerHost = defineMessage<RegisterHost>({
  type: T.register,
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, T.register);
    const route = asObject(o.route, `${T.register}.route`);
    const rp = `${T.register}.route`;
    return {
      host: string(o, 'host', T.register),
      cell: string(o, 'cell', T.register),
      hypervisorType: string(o, 'hypervisorType', T.register),
      route: {
        scope: string(route, 'scope', rp),
        hostKind: string(route, 'hostKind', rp),
        instanceKind: string(route, 'instanceKind', rp),
      },
      providers: list(o, 'providers', T.register, (v: unknown, q: string) => asNested(v, q, parseProvider), {
        maxItems: MAX_PROVIDERS_PER_HOST,
      }),
      capabilities: record(o, 'capabilities', T.register, (v: unknown, q: string) => asBoolean(v, q)),
      incarnation: int(o, 'incarnation', T.register),
      atMs: number(o, 'atMs', T.register),
    };
  },
});

function parseBeat(o: Fields, p: string): Beat {
  return {
    host: string(o, 'host', p),
    seq: int(o, 'seq', p),
    atMs: number(o, 'atMs', p),
    incarnation: int(o, 'incarnation', p),
    instances: int(o, 'instances', p),
  };
}

export const heartbeat = defineMessage<HeartbeatBatch>({
  type: T.heartbeat,
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, T.heartbeat);
    return {
      cell: string(o, 'cell', T.heartbeat),
      beats: list(o, 'beats', T.heartbeat, (v: unknown, q: string) => asNested(v, q, parseBeat), {
        maxItems: MAX_BEATS_PER_MESSAGE,
      }),
    };
  },
});

export const instanceEvent = defineMessage<InstanceEvent>({
  type: T.event,
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, T.event);
    const powerState =
      o.powerState == null ? undefined : asOneOf(o.powerState, `${T.event}.powerState`, POWER_STATES);
    const error = optNested(o, 'error', T.event, (e: Fields, q: string) => ({
      code: string(e, 'code', q),
      message: string(e, 'message', q),
      retryable: boolean(e, 'retryable', q),
      ...(e.details && typeof e.details === 'object'
        ? { details: e.details as Record<string, unknown> }
        : {}),
    }));
    return {
      host: string(o, 'host', T.event),
      cell: string(o, 'cell', T.event),
      instance: string(o, 'instance', T.event),
      event: oneOf(o, 'event', T.event, INSTANCE_EVENT_KINDS),
      seq: int(o, 'seq', T.event),
      atMs: number(o, 'atMs', T.event),
      ...(powerState === undefined ? {} : { powerState }),
      ...(error === undefined ? {} : { error: error as WireError }),
    };
  },
});

export const serviceTransition = defineMessage<ServiceTransition>({
  type: T.service,
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, T.service);
    return {
      host: string(o, 'host', T.service),
      up: boolean(o, 'up', T.service),
      atMs: number(o, 'atMs', T.service),
      lastSeenMs: number(o, 'lastSeenMs', T.service),
    };
  },
});

/**
 * Asks the cell's service monitor to publish again, now, every host it holds unschedulable: what a
 * scheduler shard leader that just took over (its view starts with every host up) would otherwise
 * learn only from the next periodic re-announcement. `requester` is for the monitor's logs.
 */
export const serviceReplay = defineMessage<{ requester: string }>({
  type: T.serviceReplay,
  major: 1,
  minor: 0,
  parse(body) {
    return { requester: string(asObject(body, T.serviceReplay), 'requester', T.serviceReplay) };
  },
});

/** Asks agents to register again: every host of the receiving processes, or only `hosts`. */
export const resync = defineMessage<{ hosts?: string[] }>({
  type: T.resync,
  major: 1,
  minor: 0,
  parse(body) {
    const hosts = optStrings(asObject(body, T.resync), 'hosts', T.resync, { maxItems: MAX_RESYNC_HOSTS });
    return hosts === undefined ? {} : { hosts };
  },
});

// ---- shared pieces of the asks ---------------------------------------------------------

export function parseInstanceSpec(o: Fields, p: string): InstanceSpec {
  const name = optString(o, 'name', p);
  const amounts = (v: unknown, q: string) => asRecord(v, q, (x, r) => int_(x, r, { min: 1 }));
  const devices = optList(o, 'devices', p, (v: unknown, q: string) =>
    asNested(
      v,
      q,
      (d, r): DeviceAssignment => ({
        providerUuid: string(d, 'providerUuid', r),
        resources: amounts(d.resources, `${r}.resources`),
      }),
    ),
  );
  return {
    uuid: string(o, 'uuid', p),
    ...(name === undefined ? {} : { name }),
    resources: amounts(o.resources, `${p}.resources`),
    devices: devices ?? [],
  };
}

export function parseInstanceInfo(v: unknown, p: string): InstanceInfo {
  const o = asObject(v, p);
  return {
    uuid: asString(o.uuid, `${p}.uuid`),
    powerState: asOneOf(o.powerState, `${p}.powerState`, POWER_STATES),
    changedAtMs: asNumber(o.changedAtMs, `${p}.changedAtMs`),
  };
}
