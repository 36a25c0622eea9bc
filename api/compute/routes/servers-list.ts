/**
 * GET /servers, /servers/detail: the merge-sorted cross-cell list (sort_key/sort_dir,
 * marker/limit, status/host/name/project/changes-since filters); instances of a cell that does not
 * answer are shown minimal with status UNKNOWN from 2.69, left out before (as Nova).
 * GET /servers/{id}: one server's detail.
 */
import type { FastifyRequest } from 'fastify';
import type { CrossCellListRequest } from '../../../cells/cross-cell-list.ts';
import type { SortKey, SortKeyName } from '../../../cells/cross-cell-types.ts';
import type { InstanceRecord } from '../../../cells/instances.ts';
import { toCellplaneError } from '../../../core/errors.ts';
import { badRequest, ComputeHttpError, notFound } from '../errors.ts';
import { API_PREFIX, type Handler, identity, memberLinks, mv, pathParam, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import type { ServerBackend } from '../servers-backend.ts';
import { novaTime, serverBrief, serverDetail } from './server-view.ts';
import type { ServerRouteDeps } from './servers-ports.ts';

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

type ListedRow = Awaited<ReturnType<ServerBackend['list']>>['servers'][number];

/** GET /servers (`detail` false) or /servers/detail. */
export function listServers(d: ServerRouteDeps, detail: boolean): Handler {
  return async (req, reply) => {
    const v = mv(req);
    let page: Awaited<ReturnType<ServerBackend['list']>>;
    try {
      page = await d.backend.list(listRequest(d, req));
    } catch (err) {
      const e = toCellplaneError(err);
      if (e.code === 'invalid') throw badRequest(e.message);
      throw err;
    }
    const b = d.base(req);
    const showDown = v.atLeast(69);
    const rows = page.servers.filter((s) => !s.down || showDown);
    const out = detail
      ? await detailRows(d, rows, v, b)
      : rows.map((s) =>
          s.down
            ? { id: s.uuid, status: 'UNKNOWN', links: memberLinks(b, 'servers', s.uuid) }
            : serverBrief(s, b),
        );
    const body: Record<string, unknown> = { servers: out };
    if (page.next) {
      const params = new URLSearchParams(req.url.split('?')[1] ?? '');
      params.set('marker', page.next);
      const path = detail ? 'servers/detail' : 'servers';
      body.servers_links = [{ href: `${b}${API_PREFIX}/${path}?${params.toString()}`, rel: 'next' }];
    }
    return sendJson(reply, 200, body);
  };
}

/**
 * GET /servers/{id}. A server whose cell does not answer is shown minimal with status UNKNOWN
 * from 2.69 (what its mapping knows, as Nova does), 503 before (Nova had no answer for it).
 */
export function showServer(d: ServerRouteDeps): Handler {
  return async (req, reply) => {
    const id = pathParam(req, 'id');
    const shown = await d.backend.show(id);
    if (!shown) throw notFound(`Instance ${id} could not be found.`);
    const v = mv(req);
    if ('down' in shown) {
      if (!v.atLeast(69))
        throw new ComputeHttpError(
          503,
          `The cell holding instance ${id} does not answer; shown with status UNKNOWN from microversion 2.69`,
        );
      return sendJson(reply, 200, {
        server: unknownServer(id, shown.down.projectId, shown.down.createdAt, d.base(req)),
      });
    }
    const zone = (await d.zones()).of(shown.record.placement?.host);
    return sendJson(reply, 200, { server: serverDetail(shown.record, v, d.base(req), zone) });
  };
}

/** The query as the cross-cell list's request (400 as Nova words it for a bad value). */
function listRequest(d: ServerRouteDeps, req: FastifyRequest): CrossCellListRequest {
  const q = req.query as Record<string, string | string[]>;
  const all = (k: string) => (q[k] === undefined ? [] : Array.isArray(q[k]) ? q[k] : [q[k] as string]);
  const last = (k: string) => all(k).at(-1);
  const limitText = last('limit');
  let limit: number | undefined;
  if (limitText !== undefined) {
    if (!/^[0-9]+$/.test(limitText))
      throw badRequest(`Invalid input for query parameters limit. Value: ${limitText}.`);
    limit = Math.min(Number(limitText), d.ctx.maxLimit);
  }
  const sortKeys = sortKeysOf(all('sort_key'), all('sort_dir'));
  const allTenants = last('all_tenants');
  const project =
    allTenants !== undefined && allTenants !== '0' && allTenants.toLowerCase() !== 'false'
      ? (last('project_id') ?? last('tenant_id'))
      : identity(req).projectId;
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
  return {
    filters,
    sortKeys,
    ...(limit !== undefined ? { limit } : {}),
    ...(marker ? { marker } : {}),
  };
}

function sortKeysOf(keys: readonly string[], dirs: readonly string[]): SortKey[] {
  const sortKeys: SortKey[] = [];
  keys.forEach((k, i) => {
    const key = SORT_KEY_NAMES[k];
    if (!key) throw badRequest(`Invalid sort_key ${k}; one of: ${Object.keys(SORT_KEY_NAMES).join(', ')}`);
    const dir = dirs[i] ?? dirs[0] ?? 'desc';
    if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid sort_dir ${dir}; asc or desc`);
    sortKeys.push({ key, dir });
  });
  if (sortKeys.length === 0) sortKeys.push({ key: 'created_at', dir: 'desc' });
  return sortKeys;
}

/** A server of a cell that does not answer, as Nova 2.69 shows it: what its mapping knows. */
function unknownServer(id: string, projectId: string, createdAt: number, base: string) {
  return {
    id,
    status: 'UNKNOWN',
    tenant_id: projectId,
    created: novaTime(new Date(createdAt).toISOString()),
    links: memberLinks(base, 'servers', id),
  };
}

/** The detail of each row: records read per cell in one batch; a down cell's rows minimal. */
async function detailRows(d: ServerRouteDeps, rows: readonly ListedRow[], v: ApiVersion, b: string) {
  const byCell = new Map<string, string[]>();
  for (const r of rows) if (!r.down) byCell.set(r.cellUuid, [...(byCell.get(r.cellUuid) ?? []), r.uuid]);
  const recs = new Map<string, InstanceRecord>();
  for (const [cellUuid, uuids] of byCell) {
    const cell = await d.backend.cellOf(uuids[0]!);
    if (!cell || cell.uuid !== cellUuid) continue;
    for (const r of await (await d.backend.instances(cell)).getMany(uuids)) if (r) recs.set(r.id, r.value);
  }
  const out: unknown[] = [];
  const zoneOf = (await d.zones()).of;
  for (const row of rows) {
    if (row.down) {
      out.push(unknownServer(row.uuid, row.projectId, row.createdAt, b));
      continue;
    }
    const r = recs.get(row.uuid);
    if (r) out.push(serverDetail(r, v, b, zoneOf(r.placement?.host)));
  }
  return out;
}
