/**
 * GET /servers/{id}/os-instance-actions[/{request_id}]: what was asked of a server and, per
 * action, the events its conductor recorded (host from 2.62, details from 2.84).
 */
import { loadServer } from '../../../cells/servers/load.ts';
import { notFound } from '../errors.ts';
import { type Handler, mv, pathParam, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import { hostId } from './server-view.ts';
import type { ServerRouteDeps } from './servers-ports.ts';

/** GET /servers/{id}/os-instance-actions: newest first. */
export function listInstanceActions(d: ServerRouteDeps): Handler {
  return async (req, reply) => {
    const uuid = pathParam(req, 'id');
    const { cell } = await loadServer(d.ports, uuid);
    const v = mv(req);
    const actions = (await (await d.backend.instances(cell)).actionsOf(uuid)).reverse();
    return sendJson(reply, 200, { instanceActions: actions.map((a) => actionView(a, uuid, v)) });
  };
}

/** GET /servers/{id}/os-instance-actions/{request_id}: one action with its events. */
export function showInstanceAction(d: ServerRouteDeps): Handler {
  return async (req, reply) => {
    const uuid = pathParam(req, 'id');
    const requestId = pathParam(req, 'requestId');
    const { cell, rec } = await loadServer(d.ports, uuid);
    const v = mv(req);
    const a = (await (await d.backend.instances(cell)).actionsOf(uuid)).find(
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
