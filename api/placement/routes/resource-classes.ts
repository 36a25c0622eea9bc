/**
 * /resource_classes[/{name}] (microversion 1.2+) per placement/handlers/resource_class.py:
 * POST creates (201 + Location), PUT renames a custom class up to 1.6 and is create-or-keep
 * (201/204) from 1.7, DELETE refuses standard (400) and in-use (409) classes.
 */
import type { FastifyInstance } from 'fastify';
import { isStandardResourceClass } from '../../../core/model/resource-classes.ts';
import { ok } from '../../../core/placement/errors.ts';
import {
  createResourceClass,
  deleteResourceClass,
  ensureResourceClass,
  type PlacementState,
} from '../../../core/placement/operations.ts';
import type { RouteOptions } from '../context.ts';
import { badRequest, conflict, notFound, unwrapOutcome } from '../errors.ts';
import {
  cacheHeaders,
  type Handler,
  jsonBody,
  locationOf,
  mv,
  pathParam,
  routes,
  sendEmpty,
  sendJson,
} from '../http.ts';
import { requireVersion } from '../microversion.ts';
import { resourceClassJson, resourceClassPath } from '../serialize.ts';
import { type Schema, validateBody } from '../validate.ts';

const RC_BODY: Schema = {
  type: 'object',
  properties: { name: { type: 'string', pattern: '^CUSTOM_[A-Z0-9_]+$', maxLength: 255 } },
  required: ['name'],
  additionalProperties: false,
};

export async function resourceClassRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const { service } = ctx;
  routes(app, '/resource_classes', {
    GET: async (req, reply) => {
      requireVersion(mv(req), 2);
      const list = await service.read((s) => s.resourceClasses().map(resourceClassJson));
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, { resource_classes: list });
    },
    POST: async (req, reply) => {
      requireVersion(mv(req), 2);
      const { name } = jsonBody<{ name: string }>(req, RC_BODY);
      const out = await service.write((s) => createResourceClass(s, name));
      if (!out.ok && out.error.code === 'conflict')
        throw conflict(`Conflicting resource class already exists: ${name}`);
      unwrapOutcome(out);
      reply.header('location', locationOf(req, resourceClassPath(name)));
      return sendEmpty(reply, 201);
    },
  });
  routes(app, '/resource_classes/:name', {
    GET: async (req, reply) => {
      requireVersion(mv(req), 2);
      const name = pathParam(req, 'name');
      if (!(await service.read((s) => s.hasResourceClass(name))))
        throw notFound(`No such resource class ${name}.`);
      cacheHeaders(req, reply, ctx.now);
      return sendJson(reply, 200, resourceClassJson(name));
    },
    PUT: async (req, reply) => {
      const v = mv(req);
      requireVersion(v, 2);
      const name = pathParam(req, 'name');
      if (!v.atLeast(7)) return renameClass(req, reply);
      validateBody({ name }, RC_BODY);
      const { created } = unwrapOutcome(await service.write((s) => ensureResourceClass(s, name)));
      reply.header('location', locationOf(req, resourceClassPath(name)));
      return sendEmpty(reply, created ? 201 : 204);
    },
    DELETE: async (req, reply) => {
      requireVersion(mv(req), 2);
      const name = pathParam(req, 'name');
      const out = await service.write((s) => deleteResourceClass(s, name));
      if (!out.ok && out.error.code === 'conflict')
        throw conflict(`Unable to delete resource class ${name}. The resource class is in use in inventory.`);
      unwrapOutcome(out);
      return sendEmpty(reply, 204);
    },
  });

  /** 1.2–1.6: PUT {name} renames a custom class that no inventory uses yet. */
  const renameClass: Handler = async (req, reply) => {
    const from = pathParam(req, 'name');
    const { name } = jsonBody<{ name: string }>(req, RC_BODY);
    const out = await service.write((s: PlacementState) => {
      if (!s.hasResourceClass(from)) throw notFound(`No such resource class ${from}.`);
      if (isStandardResourceClass(from)) throw badRequest(`Cannot update standard resource class ${from}`);
      if (s.hasResourceClass(name)) throw conflict(`Resource class already exists: ${name}`);
      const del = deleteResourceClass(s, from);
      if (!del.ok) return del;
      const add = createResourceClass(s, name);
      return add.ok ? ok(undefined) : add;
    });
    unwrapOutcome(out);
    cacheHeaders(req, reply, ctx.now);
    return sendJson(reply, 200, resourceClassJson(name));
  };
}
