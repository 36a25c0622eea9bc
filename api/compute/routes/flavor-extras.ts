/**
 * /flavors/{id}/os-extra_specs[/{key}] (flavors_extraspecs.py) and os-flavor-access
 * (flavor_access.py: GET …/os-flavor-access, POST …/action addTenantAccess|removeTenantAccess).
 * Values are stored as strings, as Nova does (`True` for a JSON true), after the registry's
 * check (`checkSpecs`).
 */
import type { FastifyInstance } from 'fastify';
import { CellplaneError } from '../../../core/errors.ts';
import { checkExtraSpec, type ExtraSpecValidation } from '../../../core/model/extra-specs.ts';
import { type RouteOptions, requireAction } from '../context.ts';
import { badRequest, notFound } from '../errors.ts';
import { jsonBody, pathParam, routes, sendEmpty, sendJson } from '../http.ts';
import type { FlavorRecord } from '../store/records.ts';
import {
  ADD_TENANT_ACCESS,
  EXTRA_SPEC_UPDATE,
  EXTRA_SPECS_CREATE,
  REMOVE_TENANT_ACCESS,
} from './flavor-schemas.ts';

type SpecValue = string | number | boolean;
const asString = (v: SpecValue) => (v === true ? 'True' : v === false ? 'False' : String(v));
const stringify = (specs: Record<string, SpecValue>) =>
  Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, asString(v)]));

/**
 * Strict (the default): every spec set must be one cellplane acts on (core/model/extra-specs.ts),
 * else 400 naming it; lenient (flavors copied from Nova): anything is stored, and a boot with a
 * spec cellplane does not act on is refused instead. Nova validates from 2.86 only; cellplane at
 * every microversion, since an old client's typo would otherwise be ignored at every boot.
 */
function checkSpecs(mode: ExtraSpecValidation, specs: Record<string, string>): void {
  if (mode === 'lenient') return;
  for (const [key, value] of Object.entries(specs)) {
    const v = checkExtraSpec(key, value);
    if (v.kind === 'invalid') throw badRequest(v.reason);
    if (v.kind === 'notHonoured')
      throw badRequest(
        `Validation failed; extra spec '${key}' is valid for Nova but cellplane does not act on it: ${v.reason}.`,
      );
  }
}

const accessList = (f: FlavorRecord) => ({
  flavor_access: f.projects.map((p) => ({ flavor_id: f.flavorid, tenant_id: p })),
});

export async function flavorExtraRoutes(app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const flavors = ctx.store.flavors;

  routes(app, '/flavors/:id/os-extra_specs', {
    GET: async (req, reply) => {
      const f = await flavors.require(pathParam(req, 'id'));
      return sendJson(reply, 200, { extra_specs: { ...f.extraSpecs } });
    },
    POST: async (req, reply) => {
      const body = jsonBody<{ extra_specs: Record<string, SpecValue> }>(req, EXTRA_SPECS_CREATE);
      const specs = stringify(body.extra_specs);
      checkSpecs(ctx.extraSpecValidation, specs);
      await flavors.update(pathParam(req, 'id'), (f) => ({
        ...f,
        extraSpecs: { ...f.extraSpecs, ...specs },
      }));
      return sendJson(reply, 200, { extra_specs: specs });
    },
  });

  routes(app, '/flavors/:id/os-extra_specs/:key', {
    GET: async (req, reply) => {
      const [id, key] = [pathParam(req, 'id'), pathParam(req, 'key')];
      const f = await flavors.require(id);
      if (!Object.hasOwn(f.extraSpecs, key))
        throw notFound(`Flavor ${id} has no extra specs with key ${key}.`);
      return sendJson(reply, 200, { [key]: f.extraSpecs[key] });
    },
    PUT: async (req, reply) => {
      const [id, key] = [pathParam(req, 'id'), pathParam(req, 'key')];
      const body = jsonBody<Record<string, SpecValue>>(req, EXTRA_SPEC_UPDATE);
      if (!Object.hasOwn(body, key)) throw badRequest('Request body and URI mismatch');
      const specs = stringify(body);
      checkSpecs(ctx.extraSpecValidation, specs);
      await flavors.update(id, (f) => ({ ...f, extraSpecs: { ...f.extraSpecs, ...specs } }));
      return sendJson(reply, 200, specs);
    },
    DELETE: async (req, reply) => {
      const [id, key] = [pathParam(req, 'id'), pathParam(req, 'key')];
      await flavors.update(id, (f) => {
        if (!Object.hasOwn(f.extraSpecs, key))
          throw new CellplaneError('notFound', `Flavor ${id} has no extra specs with key ${key}.`);
        const { [key]: _gone, ...rest } = f.extraSpecs;
        return { ...f, extraSpecs: rest };
      });
      return sendEmpty(reply, 200);
    },
  });

  routes(app, '/flavors/:id/os-flavor-access', {
    GET: async (req, reply) => {
      const f = await flavors.require(pathParam(req, 'id'));
      if (f.isPublic) throw notFound('Access list not available for public flavors.');
      return sendJson(reply, 200, accessList(f));
    },
  });

  routes(app, '/flavors/:id/action', {
    POST: async (req, reply) => {
      const id = pathParam(req, 'id');
      const raw = jsonBody<unknown>(req, { type: 'object' });
      const action = requireAction(raw, ['addTenantAccess', 'removeTenantAccess']);
      const add = action === 'addTenantAccess';
      const body = jsonBody<Record<string, { tenant: string }>>(
        req,
        add ? ADD_TENANT_ACCESS : REMOVE_TENANT_ACCESS,
      );
      const tenant = body[action]!.tenant;
      const f = await flavors.update(id, (cur) => {
        if (cur.isPublic) {
          if (add) throw new CellplaneError('conflict', 'Can not add access to a public flavor.');
          throw new CellplaneError('notFound', `Flavor access not found for ${id} / ${tenant} combination.`);
        }
        const has = cur.projects.includes(tenant);
        if (add && has)
          throw new CellplaneError(
            'conflict',
            `Flavor access already exists for flavor ${id} and project ${tenant} combination.`,
          );
        if (!add && !has)
          throw new CellplaneError('notFound', `Flavor access not found for ${id} / ${tenant} combination.`);
        const projects = add ? [...cur.projects, tenant].sort() : cur.projects.filter((p) => p !== tenant);
        return { ...cur, projects };
      });
      return sendJson(reply, 200, accessList(f));
    },
  });
}
