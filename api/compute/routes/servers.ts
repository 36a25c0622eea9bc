/**
 * /servers (nova/api/openstack/compute/servers.py, server actions, instance actions) over the
 * cells. The routes only translate HTTP: parse and validate (schema per microversion, flavor,
 * zone, group), call the use case in cells/servers/ (boot, delete, power, move — which own quota,
 * cell choice with the disabled-cell retry, group pinning, mapping, the durable job and the task
 * state's compare-and-set), serialise the answer. A use case refuses with a coded CellplaneError;
 * app.ts's error handler maps the code to Nova's status and fault body in one place
 * (errors.ts `toComputeError`: invalid 400, quotaExceeded 403, notFound 404, conflict 409).
 *
 * The route table is here; the handlers are in
 * - servers-create.ts: POST /servers;
 * - servers-list.ts: GET /servers, /servers/detail (the merge-sorted cross-cell list), GET
 *   /servers/{id};
 * - servers-actions.ts: DELETE /servers/{id}, POST /servers/{id}/action;
 * - servers-instance-actions.ts: GET /servers/{id}/os-instance-actions[/{request_id}];
 * - servers-ports.ts: the use cases' ports over the ServerBackend, the compute store and the
 *   quota ledger; the zones.
 */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from '../context.ts';
import { routes } from '../http.ts';
import type { ServerBackend } from '../servers-backend.ts';
import { deleteServerRoute, serverAction } from './servers-actions.ts';
import { createServers } from './servers-create.ts';
import { listInstanceActions, showInstanceAction } from './servers-instance-actions.ts';
import { listServers, showServer } from './servers-list.ts';
import { serverRouteDeps } from './servers-ports.ts';

export function serverRoutes(backend: ServerBackend) {
  return async function plugin(app: FastifyInstance, { ctx }: RouteOptions) {
    const d = serverRouteDeps(ctx, backend);
    routes(app, '/servers', { GET: listServers(d, false), POST: createServers(d) });
    routes(app, '/servers/detail', { GET: listServers(d, true) });
    routes(app, '/servers/:id', { GET: showServer(d), DELETE: deleteServerRoute(d) });
    routes(app, '/servers/:id/action', { POST: serverAction(d) });
    routes(app, '/servers/:id/os-instance-actions', { GET: listInstanceActions(d) });
    routes(app, '/servers/:id/os-instance-actions/:requestId', { GET: showInstanceAction(d) });
  };
}
