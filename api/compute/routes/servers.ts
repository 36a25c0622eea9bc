/**
 * /servers (nova/api/openstack/compute/servers.py, server actions, instance actions) over the
 * cells, through the ServerBackend port:
 *
 * - POST /servers: validate (schema per microversion, flavor, zone, group), claim the project's
 *   quota in the API's ledger (403 as Nova; quota-ledger.ts — no cell is read), pick a cell among
 *   those that answer (the router; a group's members stay in the cell of its first
 *   member), map the instance to it (refused if the cell was disabled meanwhile: pick again),
 *   hand the conductor a durable build job, write the BUILD record, answer 202. The job alone is
 *   enough for the conductor (it creates the record if our write did not land), so an API crash
 *   after the enqueue loses nothing.
 * - GET /servers, /servers/detail: the merge-sorted cross-cell list (sort_key/sort_dir,
 *   marker/limit, status/host/name/project filters); instances of a cell that does not answer are
 *   shown minimal with status UNKNOWN from 2.69, left out before (as Nova).
 * - GET/DELETE /servers/{id}; POST /servers/{id}/action: reboot, os-stop, os-start, and the
 *   moves resize, migrate, confirmResize, revertResize, evacuate (cells/conductor-move.ts) — the
 *   task state (or the migration's status) is set here with a CAS (409 when another task runs or
 *   the state forbids it), then the job is queued (202; evacuate answers 200 as Nova).
 * - GET /servers/{id}/os-instance-actions[/{request_id}].
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConductorJob, JobOp } from '../../../cells/conductor-jobs.ts';
import type { SortKey, SortKeyName } from '../../../cells/cross-cell-types.ts';
import { type InstanceFlavor, type InstanceRecord, newInstanceRecord } from '../../../cells/instances.ts';
import type { CellRecord } from '../../../cells/mapping.ts';
import { toCellplaneError } from '../../../core/errors.ts';
import { type RouteOptions, requireAction } from '../context.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';
import {
  API_PREFIX,
  baseUrl,
  identity,
  jsonBody,
  memberLinks,
  mv,
  pathParam,
  routes,
  sendEmpty,
  sendJson,
} from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import { effectiveLimits } from '../quota.ts';
import { ALWAYS_UP, queueBuild, type ServerBackend } from '../servers-backend.ts';
import type { FlavorRecord } from '../store/records.ts';
import { pyRepr, type Schema } from '../validate.ts';
import { hostId, novaTime, serverBrief, serverDetail } from './server-view.ts';

/** Largest max_count accepted in one request. */
export const MAX_INSTANCES_PER_CREATE = 100;

const NAME: Schema = { type: 'string', minLength: 1, maxLength: 255 };
const METADATA: Schema = {
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
};
const COUNT: Schema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, minLength: 1 };

function createSchema(v: ApiVersion): Schema {
  const server: Record<string, Schema> = {
    name: NAME,
    imageRef: { type: 'string', maxLength: 255 },
    flavorRef: { type: ['string', 'integer'], minLength: 1 },
    adminPass: { type: 'string' },
    metadata: METADATA,
    availability_zone: { type: 'string', minLength: 1, maxLength: 255 },
    min_count: COUNT,
    max_count: COUNT,
    return_reservation_id: { type: ['boolean', 'string'] },
    key_name: { type: 'string', minLength: 1, maxLength: 255 },
    user_data: { type: 'string', maxLength: 65535 },
    security_groups: { type: 'array', items: { type: 'object' } },
    config_drive: { type: ['boolean', 'string'] },
    accessIPv4: { type: 'string' },
    accessIPv6: { type: 'string' },
    'OS-DCF:diskConfig': { type: 'string', enum: ['AUTO', 'MANUAL'] },
    block_device_mapping_v2: { type: 'array', items: { type: 'object' } },
    networks: v.atLeast(37)
      ? {
          oneOf: [
            { type: 'string', enum: ['auto', 'none'] },
            { type: 'array', items: { type: 'object' } },
          ],
        }
      : { type: 'array', items: { type: 'object' } },
  };
  if (v.atLeast(19)) server.description = { type: ['string', 'null'], maxLength: 255 };
  if (v.atLeast(52)) server.tags = { type: 'array', items: { type: 'string', maxLength: 60 }, maxItems: 50 };
  if (v.atLeast(74)) {
    server.host = { type: 'string', minLength: 1, maxLength: 255 };
    server.hypervisor_hostname = { type: 'string', minLength: 1, maxLength: 255 };
  }
  const required = ['name', 'flavorRef'];
  if (v.atLeast(37)) required.push('networks');
  return {
    type: 'object',
    properties: {
      server: { type: 'object', properties: server, required, additionalProperties: false },
      'os:scheduler_hints': { type: 'object' },
      'OS-SCH-HNT:scheduler_hints': { type: 'object' },
    },
    required: ['server'],
    additionalProperties: false,
  };
}
const CREATE_SCHEMAS = new Map<string, Schema>();
function createSchemaFor(v: ApiVersion): Schema {
  const k = [19, 37, 52, 74].filter((m) => v.atLeast(m)).join(',');
  if (!CREATE_SCHEMAS.has(k)) CREATE_SCHEMAS.set(k, createSchema(v));
  return CREATE_SCHEMAS.get(k)!;
}

const NULL_BODY: Schema = { type: 'null' };
const HOST: Schema = { type: 'string', minLength: 1, maxLength: 255 };
const BOOLISH: Schema = { type: ['boolean', 'string'] };

/** The move actions' bodies per microversion (Nova's schemas/migrate_server.py, evacuate.py, servers.py). */
function moveSchemas(v: ApiVersion): Record<string, Schema> {
  const evacuate: Record<string, Schema> = { host: HOST, adminPass: { type: 'string' } };
  if (!v.atLeast(14)) evacuate.onSharedStorage = BOOLISH;
  if (v.atLeast(29) && !v.atLeast(68)) evacuate.force = BOOLISH;
  return {
    resize: {
      type: 'object',
      properties: {
        flavorRef: { type: ['string', 'integer'], minLength: 1 },
        'OS-DCF:diskConfig': { type: 'string', enum: ['AUTO', 'MANUAL'] },
      },
      required: ['flavorRef'],
      additionalProperties: false,
    },
    migrate: v.atLeast(56)
      ? {
          type: ['object', 'null'],
          properties: { host: { type: ['string', 'null'], minLength: 1, maxLength: 255 } },
          additionalProperties: false,
        }
      : NULL_BODY,
    confirmResize: NULL_BODY,
    revertResize: NULL_BODY,
    evacuate: {
      type: 'object',
      properties: evacuate,
      required: v.atLeast(14) ? [] : ['onSharedStorage'],
      additionalProperties: false,
    },
  };
}
const MOVE_ACTIONS = ['resize', 'migrate', 'confirmResize', 'revertResize', 'evacuate'] as const;
type MoveAction = (typeof MOVE_ACTIONS)[number];
const ACTION_SCHEMAS = new Map<string, Schema>();
function actionSchemaFor(v: ApiVersion): Schema {
  const k = [14, 29, 56, 68].filter((m) => v.atLeast(m)).join(',');
  if (!ACTION_SCHEMAS.has(k))
    ACTION_SCHEMAS.set(k, {
      ...ACTION_SCHEMA,
      properties: { ...(ACTION_SCHEMA.properties as Record<string, Schema>), ...moveSchemas(v) },
    });
  return ACTION_SCHEMAS.get(k)!;
}

const ACTION_SCHEMA: Schema = {
  type: 'object',
  properties: {
    reboot: {
      type: 'object',
      properties: { type: { type: 'string', enum: ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'] } },
      required: ['type'],
      additionalProperties: false,
    },
    'os-stop': { type: 'null' },
    'os-start': { type: 'null' },
  },
  additionalProperties: true,
};

interface CreateBody {
  server: {
    name: string;
    imageRef?: string;
    flavorRef: string | number;
    metadata?: Record<string, string>;
    availability_zone?: string;
    min_count?: number | string;
    max_count?: number | string;
    return_reservation_id?: boolean | string;
    block_device_mapping_v2?: Array<Record<string, unknown>>;
    host?: string;
  };
  'os:scheduler_hints'?: Record<string, unknown>;
  'OS-SCH-HNT:scheduler_hints'?: Record<string, unknown>;
}

/** Nova sort keys → the cross-cell list's. */
const SORT_KEY_NAMES: Record<string, SortKeyName> = {
  created_at: 'created_at',
  updated_at: 'updated_at',
  uuid: 'uuid',
  display_name: 'name',
  host: 'host',
  project_id: 'project_id',
  vm_state: 'status',
};

export function serverRoutes(backend: ServerBackend) {
  return async function plugin(app: FastifyInstance, { ctx }: RouteOptions) {
    const base = (req: FastifyRequest) => baseUrl(req, ctx.publicUrl);

    /** The record and its cell, or 404 as Nova words it. */
    const load = async (uuid: string) => {
      const cell = await backend.cellOf(uuid);
      const store = cell && (await backend.instances(cell));
      const rec = store && (await store.get(uuid));
      if (!cell || !store || !rec) throw notFound(`Instance ${uuid} could not be found.`);
      return { cell, rec, store };
    };

    /**
     * The availability zones, from ONE read of the aggregates per request: every zone that exists,
     * and a host's zone (its first zoned aggregate, else the default; '' for no host).
     */
    const zones = async () => {
      const byHost = new Map<string, string>();
      const all = new Set([ctx.defaultZone]);
      for (const a of await ctx.store.aggregates.all()) {
        const z = a.metadata.availability_zone;
        if (!z) continue;
        all.add(z);
        for (const h of a.hosts) if (!byHost.has(h)) byHost.set(h, z);
      }
      return {
        all,
        of: (host: string | null | undefined) => (host ? (byHost.get(host) ?? ctx.defaultZone) : ''),
      };
    };

    routes(app, '/servers', {
      GET: async (req, reply) => sendJson(reply, 200, await listServers(req, false)),
      POST: async (req, reply) => {
        const v = mv(req);
        const who = identity(req);
        const body = jsonBody<CreateBody>(req, createSchemaFor(v));
        const s = body.server;
        const flavorId = flavorIdOf(s.flavorRef);
        const flavor = await ctx.store.flavors.get(flavorId);
        if (!flavor) throw badRequest(`Flavor ${flavorId} could not be found.`);
        if (flavor.disabled) throw badRequest('Flavor is disabled.');
        const bootFromVolume = (s.block_device_mapping_v2 ?? []).some((b) => Number(b.boot_index) === 0);
        const imageRef = s.imageRef ?? '';
        if (imageRef === '' && !bootFromVolume)
          throw badRequest(
            'Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.',
          );

        let zone: string | null = null;
        let forceHost: string | undefined;
        if (s.availability_zone !== undefined) {
          const [z, host] = s.availability_zone.split(':', 2);
          if (z) {
            if (!(await zones()).all.has(z))
              throw badRequest('The requested availability zone is not available');
            zone = z;
          }
          if (host) forceHost = host;
        }
        if (s.host) forceHost = s.host;
        if (forceHost && !(await ctx.hosts.computeHost(forceHost)))
          throw badRequest(`Compute host ${forceHost} could not be found.`);

        const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
        let group: InstanceRecord['group'] = null;
        if (hints.group !== undefined) {
          if (typeof hints.group !== 'string')
            throw badRequest('Invalid input for field/attribute group. Value: must be a uuid');
          const g = await ctx.store.serverGroups.get(hints.group);
          if (!g) throw badRequest(`Invalid server group: ${hints.group} could not be found.`);
          const max = g.rules.max_server_per_host;
          group = { uuid: g.uuid, policy: g.policy, ...(max ? { maxServerPerHost: Number(max) } : {}) };
        }

        const min = Number(s.min_count ?? 1);
        const max = Number(s.max_count ?? min);
        if (min > max) throw badRequest('min_count must be <= max_count');
        if (max > MAX_INSTANCES_PER_CREATE)
          throw badRequest(`max_count must be at most ${MAX_INSTANCES_PER_CREATE} in one request`);
        const reservation = `r-${randomUUID().slice(0, 8)}`;
        // Affinity keeps a group in one cell (its hosts are the cell's); anti-affinity holds
        // across cells by itself (different cells never share a host), so it goes anywhere.
        const groupCell =
          group && (group.policy === 'affinity' || group.policy === 'soft-affinity')
            ? await cellOfGroup(group.uuid)
            : undefined;
        // Quota: claims in the API's ledger, never a read of the cells (a down cell must not
        // refuse another cell's boot).
        const limits = effectiveLimits(ctx.quotaDefaults, await ctx.store.quotas.get(who.projectId));
        const uuids = Array.from({ length: max }, () => ctx.newUuid());
        const reserved = await ctx.quota.reserve({
          projectId: who.projectId,
          limits,
          cores: flavor.vcpus,
          ram: flavor.memoryMb,
          min,
          uuids,
        });
        if (!reserved.ok) throw forbidden(reserved.message);
        const count = reserved.count;
        const created: InstanceRecord[] = [];
        // A claim of an instance not created here goes back (best effort: one left behind is
        // dropped by the reconcile pass after its grace).
        const giveBack = async (from: number, err: unknown): Promise<never> => {
          await Promise.all(uuids.slice(from, count).map((u) => ctx.quota.release(u).catch(() => false)));
          throw err;
        };
        for (let i = 0; i < count; i++) {
          const uuid = uuids[i]!;
          const rec = await accept(
            uuid,
            {
              name: count > 1 ? `${s.name}-${i + 1}` : s.name,
              projectId: who.projectId,
              userId: who.userId,
              flavor: {
                id: flavor.flavorid,
                name: flavor.name,
                vcpus: flavor.vcpus,
                ram: flavor.memoryMb,
                disk: flavor.rootGb,
                ephemeral: flavor.ephemeralGb,
                swap: flavor.swap,
                extraSpecs: flavor.extraSpecs,
              },
              imageRef,
              availabilityZone: zone,
              group,
              metadata: s.metadata ?? {},
              requestId: req.computeRequestId,
              ...(forceHost ? { forceHost } : {}),
            },
            groupCell,
          ).catch((err: unknown) => giveBack(i, err));
          created.push(rec);
          if (group)
            await ctx.store.serverGroups
              .addMembers(group.uuid, [uuid])
              .catch((err: unknown) => giveBack(i + 1, err));
        }
        const returnReservation =
          s.return_reservation_id === true ||
          s.return_reservation_id === 'True' ||
          s.return_reservation_id === 'true';
        if (returnReservation) return sendJson(reply, 202, { reservation_id: reservation });
        const first = created[0]!;
        reply.header('location', `${base(req)}${API_PREFIX}/servers/${first.uuid}`);
        return sendJson(reply, 202, {
          server: {
            id: first.uuid,
            links: memberLinks(base(req), 'servers', first.uuid),
            'OS-DCF:diskConfig': 'MANUAL',
            security_groups: [{ name: 'default' }],
            adminPass: randomUUID().replace(/-/g, '').slice(0, 12),
          },
        });
      },
    });

    /** The cell holding the group's first member still mapped (its members stay together). */
    async function cellOfGroup(groupUuid: string): Promise<CellRecord | undefined> {
      const g = await ctx.store.serverGroups.get(groupUuid);
      for (const m of g?.members ?? []) {
        const cell = await backend.cellOf(m);
        if (cell) return cell;
      }
      return undefined;
    }

    /** Map → enqueue → record; a disabled cell met on the way is replaced by another choice. */
    async function accept(
      uuid: string,
      n: Omit<Parameters<typeof newInstanceRecord>[0], 'uuid'>,
      pinned: CellRecord | undefined,
    ): Promise<InstanceRecord> {
      const hint = {
        vcpus: n.flavor.vcpus,
        ramMb: n.flavor.ram,
        diskGb: n.flavor.disk,
        availabilityZone: n.availabilityZone ?? null,
      };
      const refused = new Set<string>();
      for (let attempt = 0; ; attempt++) {
        const cell = pinned ?? (await chooseCell(hint, refused));
        let mapping: Awaited<ReturnType<ServerBackend['mapInstance']>>;
        try {
          mapping = await backend.mapInstance(uuid, cell, n.projectId);
        } catch (err) {
          const e = toCellplaneError(err);
          if (e.code === 'conflict' && attempt < 3 && !pinned) {
            refused.add(cell.uuid); // disabled meanwhile: choose among the others
            continue;
          }
          if (e.code === 'conflict')
            throw conflict(`Cell ${cell.name} does not accept new instances: ${e.message}`);
          throw err;
        }
        const rec = newInstanceRecord({ uuid, ...n }, new Date(mapping.mappedAt).toISOString());
        await queueBuild(backend, cell, rec, {
          action: 'create',
          requestId: rec.requestId,
          userId: rec.userId,
          projectId: rec.projectId,
          startTime: rec.createdAt,
          updatedAt: rec.createdAt,
          message: null,
          events: [],
        });
        return rec;
      }
    }

    async function chooseCell(
      hint: Parameters<ServerBackend['chooseCell']>[0],
      exclude: ReadonlySet<string>,
    ): Promise<CellRecord> {
      try {
        return await backend.chooseCell(hint, exclude);
      } catch (err) {
        const e = toCellplaneError(err);
        if (e.code === 'notFound') throw conflict(e.message);
        throw err;
      }
    }

    routes(app, '/servers/detail', {
      GET: async (req, reply) => sendJson(reply, 200, await listServers(req, true)),
    });

    async function listServers(req: FastifyRequest, detail: boolean) {
      const v = mv(req);
      const who = identity(req);
      const q = req.query as Record<string, string | string[]>;
      const all = (k: string) => (q[k] === undefined ? [] : Array.isArray(q[k]) ? q[k] : [q[k] as string]);
      const last = (k: string) => all(k).at(-1);
      const limitText = last('limit');
      let limit: number | undefined;
      if (limitText !== undefined) {
        if (!/^[0-9]+$/.test(limitText))
          throw badRequest(`Invalid input for query parameters limit. Value: ${limitText}.`);
        limit = Math.min(Number(limitText), ctx.maxLimit);
      }
      const keys = all('sort_key');
      const dirs = all('sort_dir');
      const sortKeys: SortKey[] = [];
      keys.forEach((k, i) => {
        const key = SORT_KEY_NAMES[k];
        if (!key)
          throw badRequest(`Invalid sort_key ${k}; one of: ${Object.keys(SORT_KEY_NAMES).join(', ')}`);
        const dir = dirs[i] ?? dirs[0] ?? 'desc';
        if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid sort_dir ${dir}; asc or desc`);
        sortKeys.push({ key, dir });
      });
      if (sortKeys.length === 0) sortKeys.push({ key: 'created_at', dir: 'desc' });
      const allTenants = last('all_tenants');
      const project =
        allTenants !== undefined && allTenants !== '0' && allTenants.toLowerCase() !== 'false'
          ? (last('project_id') ?? last('tenant_id'))
          : who.projectId;
      const status = all('status').map((s) => s.toUpperCase());
      const changes = last('changes-since');
      let changesSince: number | undefined;
      if (changes !== undefined) {
        changesSince = Date.parse(changes);
        if (Number.isNaN(changesSince))
          throw badRequest(`Invalid filter field: changes-since. Value: ${changes}`);
      }
      const filters = {
        ...(status.length ? { status } : {}),
        ...(last('host') ? { host: last('host')! } : {}),
        ...(last('name') ? { name: last('name')! } : {}),
        ...(project ? { projectId: project } : {}),
        ...(changesSince !== undefined ? { changesSince } : {}),
      };
      const marker = last('marker');
      let page: Awaited<ReturnType<ServerBackend['list']>>;
      try {
        page = await backend.list({
          filters,
          sortKeys,
          ...(limit !== undefined ? { limit } : {}),
          ...(marker ? { marker } : {}),
        });
      } catch (err) {
        const e = toCellplaneError(err);
        if (e.code === 'invalid') throw badRequest(e.message);
        throw err;
      }
      const b = base(req);
      const showDown = v.atLeast(69);
      const rows = page.servers.filter((s) => !s.down || showDown);
      let out: unknown[];
      if (!detail) {
        out = rows.map((s) =>
          s.down
            ? { id: s.uuid, status: 'UNKNOWN', links: memberLinks(b, 'servers', s.uuid) }
            : serverBrief(s, b),
        );
      } else {
        out = await detailRows(rows, v, b);
      }
      const body: Record<string, unknown> = { servers: out };
      if (page.next) {
        const params = new URLSearchParams(req.url.split('?')[1] ?? '');
        params.set('marker', page.next);
        const path = detail ? 'servers/detail' : 'servers';
        body.servers_links = [{ href: `${b}${API_PREFIX}/${path}?${params.toString()}`, rel: 'next' }];
      }
      return body;
    }

    async function detailRows(
      rows: Awaited<ReturnType<ServerBackend['list']>>['servers'],
      v: ApiVersion,
      b: string,
    ) {
      const byCell = new Map<string, string[]>();
      for (const r of rows) if (!r.down) byCell.set(r.cellUuid, [...(byCell.get(r.cellUuid) ?? []), r.uuid]);
      const recs = new Map<string, InstanceRecord>();
      for (const [cellUuid, uuids] of byCell) {
        const cell = await backend.cellOf(uuids[0]!);
        if (!cell || cell.uuid !== cellUuid) continue;
        for (const r of await (await backend.instances(cell)).getMany(uuids)) if (r) recs.set(r.id, r.value);
      }
      const out: unknown[] = [];
      const zoneOf = (await zones()).of;
      for (const row of rows) {
        if (row.down) {
          out.push({
            id: row.uuid,
            status: 'UNKNOWN',
            tenant_id: row.projectId,
            created: novaTime(new Date(row.createdAt).toISOString()),
            links: memberLinks(b, 'servers', row.uuid),
          });
          continue;
        }
        const r = recs.get(row.uuid);
        if (r) out.push(serverDetail(r, v, b, zoneOf(r.placement?.host)));
      }
      return out;
    }

    routes(app, '/servers/:id', {
      GET: async (req, reply) => {
        const uuid = pathParam(req, 'id');
        const { rec } = await load(uuid);
        const v = mv(req);
        return sendJson(reply, 200, {
          server: serverDetail(rec.value, v, base(req), (await zones()).of(rec.value.placement?.host)),
        });
      },
      DELETE: async (req, reply) => {
        const uuid = pathParam(req, 'id');
        const { cell, rec, store } = await load(uuid);
        if (rec.value.taskState !== 'deleting') {
          const out = await store.update(rec, {
            ...rec.value,
            taskState: 'deleting',
            updatedAt: new Date().toISOString(),
          });
          if (!out.ok && out.current?.value.taskState !== 'deleting') {
            if (!out.current) throw notFound(`Instance ${uuid} could not be found.`);
            throw conflict(`Instance ${uuid} changed while being deleted; try again`);
          }
        }
        await backend.enqueue(cell, jobOf('delete', rec.value, req));
        if (rec.value.group)
          await ctx.store.serverGroups.removeMembers(rec.value.group.uuid, [uuid]).catch(() => {});
        return sendEmpty(reply, 204);
      },
    });

    function jobOf(
      op: ConductorJob['op'],
      r: InstanceRecord,
      req: FastifyRequest,
      more: Partial<ConductorJob> = {},
    ): ConductorJob {
      const who = identity(req);
      return {
        op,
        uuid: r.uuid,
        requestId: req.computeRequestId,
        userId: who.userId,
        projectId: who.projectId,
        acceptedAt: new Date().toISOString(),
        ...more,
      };
    }

    routes(app, '/servers/:id/action', {
      POST: async (req, reply) => {
        const uuid = pathParam(req, 'id');
        const body = jsonBody<Record<string, unknown>>(req, actionSchemaFor(mv(req)));
        const action = requireAction(body, ['reboot', 'os-stop', 'os-start', ...MOVE_ACTIONS]);
        if ((MOVE_ACTIONS as readonly string[]).includes(action))
          return moveAction(action as MoveAction, body, uuid, req, reply);
        const { cell, rec, store } = await load(uuid);
        const r = rec.value;
        const hard =
          action === 'reboot' && String((body.reboot as { type: string }).type).toUpperCase() === 'HARD';
        const allowed: Record<string, readonly string[]> = {
          reboot: hard ? ['active', 'stopped', 'error'] : ['active'],
          'os-stop': ['active', 'error'],
          'os-start': ['stopped'],
        };
        const name = action === 'reboot' ? 'reboot' : action === 'os-stop' ? 'stop' : 'start';
        if (r.taskState !== null)
          throw conflict(`Cannot '${name}' instance ${uuid} while it is in task_state ${r.taskState}`);
        if (!allowed[action]!.includes(r.vmState) || !r.placement)
          throw conflict(`Cannot '${name}' instance ${uuid} while it is in vm_state ${r.vmState}`);
        const task =
          action === 'reboot'
            ? hard
              ? 'rebooting_hard'
              : 'rebooting'
            : action === 'os-stop'
              ? 'powering-off'
              : 'powering-on';
        const out = await store.update(rec, { ...r, taskState: task, updatedAt: new Date().toISOString() });
        if (!out.ok) throw conflict(`Instance ${uuid} changed meanwhile; try again`);
        try {
          await backend.enqueue(
            cell,
            jobOf(name, r, req, name === 'reboot' ? { rebootType: hard ? 'HARD' : 'SOFT' } : {}),
          );
        } catch (err) {
          await store.update(out.record, { ...out.record.value, taskState: null }).catch(() => {});
          throw err;
        }
        return sendEmpty(reply, 202);
      },
    });

    /** 409 unless the instance is idle in one of `allowed` vm_states (Nova's check_instance_state). */
    function requireIdle(r: InstanceRecord, name: string, allowed: readonly string[]): string {
      if (r.taskState !== null)
        throw conflict(`Cannot '${name}' instance ${r.uuid} while it is in task_state ${r.taskState}`);
      if (!allowed.includes(r.vmState) || !r.placement)
        throw conflict(`Cannot '${name}' instance ${r.uuid} while it is in vm_state ${r.vmState}`);
      return r.placement.host;
    }

    /** The record a move action turns `r` into, and what its job carries (throws the 4xx). */
    async function acceptMove(
      action: MoveAction,
      body: Record<string, unknown>,
      r: InstanceRecord,
      req: FastifyRequest,
    ): Promise<{ next: InstanceRecord; op: JobOp; more: Partial<ConductorJob> }> {
      const task = { ...r, requestId: req.computeRequestId, updatedAt: new Date().toISOString() };
      if (action === 'resize') {
        requireIdle(r, 'resize', ['active', 'stopped']);
        const ref = (body.resize as { flavorRef: string | number }).flavorRef;
        const f = await ctx.store.flavors.get(flavorIdOf(ref));
        if (!f || f.disabled) throw badRequest('Unable to locate requested flavor.');
        if (f.flavorid === r.flavor.id) throw badRequest('When resizing, instances must change flavor!');
        await checkResizeQuota(r, f);
        return {
          next: { ...task, status: 'RESIZE', taskState: 'resize_prep' },
          op: 'resize',
          more: { flavor: instanceFlavor(f) },
        };
      }
      if (action === 'migrate') {
        const source = requireIdle(r, 'migrate', ['active', 'stopped']);
        const host = (body.migrate as { host?: string | null } | null)?.host ?? undefined;
        if (host !== undefined) {
          if (!(await ctx.hosts.computeHost(host)))
            throw badRequest(`Compute host ${host} could not be found.`);
          if (host === source)
            throw badRequest(`Unable to migrate instance (${r.uuid}) to current host (${host}).`);
        }
        return {
          next: { ...task, status: 'RESIZE', taskState: 'resize_prep' },
          op: 'migrate',
          more: host ? { host } : {},
        };
      }
      if (action === 'evacuate') {
        const source = requireIdle(r, 'evacuate', ['active', 'stopped', 'error']);
        const host = (body.evacuate as { host?: string }).host;
        if (host !== undefined) {
          if (!(await ctx.hosts.computeHost(host))) throw notFound(`Compute host ${host} not found.`);
          if (host === source) throw badRequest("The target host can't be the same one.");
        }
        if (await (backend.liveness ?? ALWAYS_UP).isUp(source))
          throw conflict(`Compute service of ${source} is still in use.`);
        return {
          next: { ...task, status: 'REBUILD', taskState: 'rebuilding' },
          op: 'evacuate',
          more: host ? { host } : {},
        };
      }
      // confirmResize / revertResize: only a finished resize or migration waits for them.
      const m = r.migration;
      if (r.status !== 'VERIFY_RESIZE' || !m || m.status !== 'finished' || r.taskState !== null)
        throw conflict(`Cannot '${action}' instance ${r.uuid} while it is in vm_state ${r.vmState}`);
      const at = new Date().toISOString();
      if (action === 'confirmResize')
        return {
          next: { ...r, migration: { ...m, status: 'confirming' }, updatedAt: at },
          op: action,
          more: {},
        };
      return {
        next: {
          ...r,
          status: 'REVERT_RESIZE',
          taskState: 'resize_reverting',
          migration: { ...m, status: 'reverting' },
          updatedAt: at,
        },
        op: action,
        more: {},
      };
    }

    /**
     * Nova's upsize check, on the instance's project: only the growth in cores and RAM counts (a
     * downsize always fits). The claim grows to hold both flavors; the reconcile pass lowers it
     * once the move is confirmed or reverted (or if this request goes no further).
     */
    async function checkResizeQuota(r: InstanceRecord, f: FlavorRecord) {
      if (f.vcpus <= r.flavor.vcpus && f.memoryMb <= r.flavor.ram) return;
      const limits = effectiveLimits(ctx.quotaDefaults, await ctx.store.quotas.get(r.projectId));
      const from = { cores: r.flavor.vcpus, ram: r.flavor.ram };
      const out = await ctx.quota.resize(r.uuid, r.projectId, limits, from, {
        cores: f.vcpus,
        ram: f.memoryMb,
      });
      if (typeof out === 'object') throw forbidden(out.refused);
    }

    async function moveAction(
      action: MoveAction,
      body: Record<string, unknown>,
      uuid: string,
      req: FastifyRequest,
      reply: FastifyReply,
    ) {
      const { cell, rec, store } = await load(uuid);
      const { next, op, more } = await acceptMove(action, body, rec.value, req);
      const out = await store.update(rec, next);
      if (!out.ok) throw conflict(`Instance ${uuid} changed meanwhile; try again`);
      try {
        await backend.enqueue(cell, jobOf(op, rec.value, req, more));
      } catch (err) {
        const r = rec.value;
        const undo = { status: r.status, taskState: r.taskState, migration: r.migration ?? null };
        await store.update(out.record, { ...out.record.value, ...undo }).catch(() => {});
        throw err;
      }
      if (action !== 'evacuate') return sendEmpty(reply, 202);
      if (mv(req).atLeast(14)) return sendEmpty(reply, 200);
      const adminPass = (body.evacuate as { adminPass?: string }).adminPass;
      return sendJson(reply, 200, { adminPass: adminPass ?? randomUUID().replace(/-/g, '').slice(0, 12) });
    }

    routes(app, '/servers/:id/os-instance-actions', {
      GET: async (req, reply) => {
        const uuid = pathParam(req, 'id');
        const { cell } = await load(uuid);
        const v = mv(req);
        const actions = (await (await backend.instances(cell)).actionsOf(uuid)).reverse();
        return sendJson(reply, 200, { instanceActions: actions.map((a) => actionView(a, uuid, v)) });
      },
    });
    routes(app, '/servers/:id/os-instance-actions/:requestId', {
      GET: async (req, reply) => {
        const uuid = pathParam(req, 'id');
        const requestId = pathParam(req, 'requestId');
        const { cell, rec } = await load(uuid);
        const v = mv(req);
        const a = (await (await backend.instances(cell)).actionsOf(uuid)).find(
          (x) => x.requestId === requestId,
        );
        if (!a) throw notFound(`Action for request_id ${requestId} on instance ${uuid} not found`);
        const events = a.events.map((e) => ({
          event: e.event,
          start_time: e.startTime.replace('Z', '').slice(0, 26),
          finish_time: e.finishTime ? e.finishTime.replace('Z', '').slice(0, 26) : null,
          result: e.result,
          traceback: e.result === 'Error' ? (e.details ?? null) : null,
          ...(v.atLeast(62) ? { host: e.host ?? '', hostId: hostId(rec.value.projectId, e.host) } : {}),
          ...(v.atLeast(84) ? { details: e.details ?? null } : {}),
        }));
        return sendJson(reply, 200, { instanceAction: { ...actionView(a, uuid, v), events } });
      },
    });
  };
}

function actionView(
  a: {
    action: string;
    requestId: string;
    userId: string;
    projectId: string;
    startTime: string;
    updatedAt: string;
    message: string | null;
  },
  uuid: string,
  v: ApiVersion,
) {
  return {
    action: a.action,
    instance_uuid: uuid,
    message: a.message,
    project_id: a.projectId,
    request_id: a.requestId,
    start_time: a.startTime.replace('Z', '').slice(0, 26),
    user_id: a.userId,
    ...(v.atLeast(58) ? { updated_at: a.updatedAt.replace('Z', '').slice(0, 26) } : {}),
  };
}

/** The instance's copy of an API flavor. */
function instanceFlavor(f: FlavorRecord): InstanceFlavor {
  return {
    id: f.flavorid,
    name: f.name,
    vcpus: f.vcpus,
    ram: f.memoryMb,
    disk: f.rootGb,
    ephemeral: f.ephemeralGb,
    swap: f.swap,
    extraSpecs: f.extraSpecs,
  };
}

/** flavorRef is an id or a link ending in /flavors/<id> (400 when its id is not valid percent-encoding). */
function flavorIdOf(ref: string | number): string {
  const s = String(ref);
  const m = /\/flavors\/([^/]+)\/?$/.exec(s);
  if (!m) return s;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    throw badRequest(`Invalid flavorRef provided: ${pyRepr(s)} is not a valid URL.`);
  }
}
