/**
 * DELETE /servers/{id} and POST /servers/{id}/action: reboot, os-stop, os-start, and the moves
 * resize, migrate, confirmResize, revertResize, evacuate. The body is checked against Nova's
 * schemas for the microversion (nova/api/openstack/compute/schemas: servers.py, migrate_server.py,
 * evacuate.py), then the use case decides (cells/servers/delete.ts, power.ts, move.ts: the task
 * state or migration status set by compare-and-set, 409 when another task runs or the state
 * forbids it, then the durable job). 204 for a delete, 202 for an action; evacuate answers 200
 * as Nova (with the admin password before 2.14).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { deleteServer } from '../../../cells/servers/delete.ts';
import { MOVE_ACTIONS, type MoveAction, type MoveRequest, moveServer } from '../../../cells/servers/move.ts';
import type { Requester } from '../../../cells/servers/ports.ts';
import { powerServer } from '../../../cells/servers/power.ts';
import { requireAction } from '../context.ts';
import { type Handler, identity, jsonBody, mv, pathParam, sendEmpty, sendJson } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';
import type { Schema } from '../validate.ts';
import type { ServerRouteDeps } from './servers-ports.ts';

const NULL_BODY: Schema = { type: 'null' };
const HOST: Schema = { type: 'string', minLength: 1, maxLength: 255 };
const BOOLISH: Schema = { type: ['boolean', 'string'] };

const POWER_SCHEMA: Schema = {
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
const ACTION_SCHEMAS = new Map<string, Schema>();
function actionSchemaFor(v: ApiVersion): Schema {
  const k = [14, 29, 56, 68].filter((m) => v.atLeast(m)).join(',');
  if (!ACTION_SCHEMAS.has(k))
    ACTION_SCHEMAS.set(k, {
      ...POWER_SCHEMA,
      properties: { ...(POWER_SCHEMA.properties as Record<string, Schema>), ...moveSchemas(v) },
    });
  return ACTION_SCHEMAS.get(k)!;
}

/** Who asks: the request's id and the caller's identity. */
function requester(req: FastifyRequest): Requester {
  const who = identity(req);
  return { requestId: req.computeRequestId, userId: who.userId, projectId: who.projectId };
}

/** DELETE /servers/{id}. */
export function deleteServerRoute(d: ServerRouteDeps): Handler {
  return async (req, reply) => {
    await deleteServer(d.ports, pathParam(req, 'id'), requester(req));
    return sendEmpty(reply, 204);
  };
}

/** POST /servers/{id}/action. */
export function serverAction(d: ServerRouteDeps): Handler {
  return async (req, reply) => {
    const uuid = pathParam(req, 'id');
    const body = jsonBody<Record<string, unknown>>(req, actionSchemaFor(mv(req)));
    const action = requireAction(body, ['reboot', 'os-stop', 'os-start', ...MOVE_ACTIONS]);
    if ((MOVE_ACTIONS as readonly string[]).includes(action)) {
      await moveServer(d.ports, uuid, moveRequest(action as MoveAction, body, requester(req)));
      if (action !== 'evacuate') return sendEmpty(reply, 202);
      if (mv(req).atLeast(14)) return sendEmpty(reply, 200);
      const adminPass = (body.evacuate as { adminPass?: string }).adminPass;
      return sendJson(reply, 200, { adminPass: adminPass ?? randomUUID().replace(/-/g, '').slice(0, 12) });
    }
    const hard =
      action === 'reboot' && String((body.reboot as { type: string }).type).toUpperCase() === 'HARD';
    const name = action === 'reboot' ? 'reboot' : action === 'os-stop' ? 'stop' : 'start';
    await powerServer(d.ports, uuid, { ...requester(req), action: name, hard });
    return sendEmpty(reply, 202);
  };
}

/** The move as the use case takes it, from the action's (schema-checked) body. */
function moveRequest(action: MoveAction, body: Record<string, unknown>, who: Requester): MoveRequest {
  switch (action) {
    case 'resize':
      return { ...who, action, flavorRef: String((body.resize as { flavorRef: string | number }).flavorRef) };
    case 'migrate': {
      const host = (body.migrate as { host?: string | null } | null)?.host ?? undefined;
      return { ...who, action, ...(host !== undefined ? { host } : {}) };
    }
    case 'evacuate': {
      const host = (body.evacuate as { host?: string }).host;
      return { ...who, action, ...(host !== undefined ? { host } : {}) };
    }
    default:
      return { ...who, action };
  }
}
