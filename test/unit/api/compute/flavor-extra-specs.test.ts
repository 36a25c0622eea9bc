/** Flavors' extra specs (os-extra_specs) and access lists of private flavors (os-flavor-access). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlavor, expectRow, type Harness, harness, type Row } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(() => h.close());

const small = { name: 'm1.small', id: '2', ram: 2048, vcpus: 1, disk: 20 };

describe('extra specs and flavor access', () => {
  beforeEach(async () => {
    await createFlavor(h, small);
  });

  it('set, read, update one, delete one', async () => {
    const set = await h.call('POST', '/v2.1/flavors/2/os-extra_specs', {
      body: {
        extra_specs: {
          'trait:HW_CPU_X86_AVX2': 'required',
          'hw:cpu_policy': 'shared',
          'aggregate_instance_extra_specs:ssd': true,
        },
      },
    });
    expect(set.json.extra_specs).toEqual({
      'trait:HW_CPU_X86_AVX2': 'required',
      'hw:cpu_policy': 'shared',
      'aggregate_instance_extra_specs:ssd': 'True',
    });
    expect((await h.call('GET', '/v2.1/flavors/2/os-extra_specs/hw:cpu_policy')).json).toEqual({
      'hw:cpu_policy': 'shared',
    });
    const put = await h.call('PUT', '/v2.1/flavors/2/os-extra_specs/trait:HW_CPU_X86_AVX2', {
      body: { 'trait:HW_CPU_X86_AVX2': 'forbidden' },
    });
    expect(put.json).toEqual({ 'trait:HW_CPU_X86_AVX2': 'forbidden' });
    const gone = await h.call('DELETE', '/v2.1/flavors/2/os-extra_specs/aggregate_instance_extra_specs:ssd');
    expect(gone.status).toBe(200);
    const all = await h.call('GET', '/v2.1/flavors/2', { version: '2.61' });
    expect(all.json.flavor.extra_specs).toEqual({
      'trait:HW_CPU_X86_AVX2': 'forbidden',
      'hw:cpu_policy': 'shared',
    });
  });

  it('refuses a spec cellplane does not act on, and an unknown one, storing nothing of the request', async () => {
    const pinned = await h.call('POST', '/v2.1/flavors/2/os-extra_specs', {
      body: { extra_specs: { 'trait:HW_CPU_X86_AVX2': 'required', 'hw:cpu_policy': 'dedicated' } },
    });
    expect(pinned.status).toBe(400);
    expect(pinned.json.badRequest.message).toBe(
      "Validation failed; extra spec 'hw:cpu_policy' is valid for Nova but cellplane does not act on it: CPU pinning (dedicated CPUs) is not supported by cellplane yet.",
    );
    const typo = await h.call('PUT', '/v2.1/flavors/2/os-extra_specs/hw:cpu_polcy', {
      body: { 'hw:cpu_polcy': 'shared' },
    });
    expect(typo.json.badRequest.message).toBe(
      "Validation failed; extra spec 'hw:cpu_polcy' does not appear to be a valid extra spec.",
    );
    const bad = await h.call('POST', '/v2.1/flavors/2/os-extra_specs', {
      body: { extra_specs: { 'hw:numa_nodes': 'two' } },
    });
    expect(bad.json.badRequest.message).toBe("Validation failed; 'two' is not a valid integer value.");
    expect((await h.call('GET', '/v2.1/flavors/2/os-extra_specs')).json).toEqual({ extra_specs: {} });
  });

  it('lenient mode stores what Nova would, as given', async () => {
    const lenient = await harness({ extraSpecValidation: 'lenient' });
    try {
      await createFlavor(lenient, small);
      const set = await lenient.call('POST', '/v2.1/flavors/2/os-extra_specs', {
        body: { extra_specs: { 'hw:cpu_policy': 'dedicated', 'x:flag': true } },
      });
      expect(set.status).toBe(200);
      expect(set.json.extra_specs).toEqual({ 'hw:cpu_policy': 'dedicated', 'x:flag': 'True' });
    } finally {
      await lenient.close();
    }
  });

  it('refuses an unknown validation mode when the app is built', async () => {
    await expect(harness({ extraSpecValidation: 'loose' as 'lenient' })).rejects.toThrow(
      /extraSpecValidation must be one of strict, lenient, got "loose"/,
    );
  });

  it.each<Row>([
    {
      name: 'missing key',
      method: 'GET',
      url: '/v2.1/flavors/2/os-extra_specs/nope',
      status: 404,
      fault: 'itemNotFound',
      message: 'Flavor 2 has no extra specs with key nope.',
    },
    {
      name: 'delete missing key',
      method: 'DELETE',
      url: '/v2.1/flavors/2/os-extra_specs/nope',
      status: 404,
      fault: 'itemNotFound',
    },
    {
      name: 'body/URI mismatch',
      method: 'PUT',
      url: '/v2.1/flavors/2/os-extra_specs/a',
      body: { b: '1' },
      status: 400,
      fault: 'badRequest',
      message: 'Request body and URI mismatch',
    },
    {
      name: 'two keys in PUT',
      method: 'PUT',
      url: '/v2.1/flavors/2/os-extra_specs/a',
      body: { a: '1', b: '2' },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'bad key chars',
      method: 'POST',
      url: '/v2.1/flavors/2/os-extra_specs',
      body: { extra_specs: { 'a/b': 'x' } },
      status: 400,
      fault: 'badRequest',
    },
    {
      name: 'specs of missing flavor',
      method: 'GET',
      url: '/v2.1/flavors/9/os-extra_specs',
      status: 404,
      fault: 'itemNotFound',
      message: 'Flavor 9 could not be found.',
    },
    {
      name: 'access list of public',
      method: 'GET',
      url: '/v2.1/flavors/2/os-flavor-access',
      status: 404,
      fault: 'itemNotFound',
      message: 'Access list not available for public flavors.',
    },
    {
      name: 'add access to public',
      method: 'POST',
      url: '/v2.1/flavors/2/action',
      body: { addTenantAccess: { tenant: 'p1' } },
      status: 409,
      fault: 'conflictingRequest',
      message: 'Can not add access to a public flavor.',
    },
    {
      name: 'unknown action',
      method: 'POST',
      url: '/v2.1/flavors/2/action',
      body: { explode: {} },
      status: 404,
      fault: 'itemNotFound',
      message: 'There is no such action: explode',
    },
  ])('$name → $status', async (row) => {
    await expectRow(h, row);
  });

  it('grants and revokes access to a private flavor, which then lists for that project', async () => {
    await createFlavor(h, {
      name: 'priv',
      id: 'p',
      ram: 1,
      vcpus: 1,
      disk: 0,
      'os-flavor-access:is_public': false,
    });
    const add = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { addTenantAccess: { tenant: 'proj1' } },
    });
    expect(add.json).toEqual({ flavor_access: [{ flavor_id: 'p', tenant_id: 'proj1' }] });
    const again = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { addTenantAccess: { tenant: 'proj1' } },
    });
    expect(again.status).toBe(409);
    const listed = await h.call('GET', '/v2.1/flavors', { headers: { 'x-project-id': 'proj1' } });
    expect(listed.json.flavors.map((f: { id: string }) => f.id)).toEqual(['2', 'p']);
    const rm = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { removeTenantAccess: { tenant: 'proj1' } },
    });
    expect(rm.json).toEqual({ flavor_access: [] });
    const gone = await h.call('POST', '/v2.1/flavors/p/action', {
      body: { removeTenantAccess: { tenant: 'proj1' } },
    });
    expect(gone.status).toBe(404);
  });
});
