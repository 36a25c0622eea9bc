/**
 * A granular vGPU flavor on a two-cell fleet with vGPU hosts in one cell, end to end on the
 * embedded control plane: every boot lands while there is room (the cell choice counts VGPU and
 * the shard answers the groups with the Placement engine on each host's tree), and the one past
 * the room ends ERROR saying why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { embeddedWorld, type World } from './embedded-fixture.ts';

let w: World;
afterEach(async () => {
  await w?.e.stop();
});

const PLAIN = { vcpus: 8, memoryMb: 16384, diskGb: 100 };
/** cell2's hosts: two GPUs of one vGPU each. */
const GPU_HOST = {
  ...PLAIN,
  gpus: [
    { units: 1, traits: ['CUSTOM_GPU_A10'] },
    { units: 1, traits: ['CUSTOM_GPU_A10'] },
  ],
};

async function flavor(id: string, specs: Record<string, string>): Promise<void> {
  const f = await w.call('POST', '/flavors', { flavor: { name: id, id, ram: 512, vcpus: 1, disk: 1 } });
  expect(f.status).toBe(200);
  const s = await w.call('POST', `/flavors/${id}/os-extra_specs`, { extra_specs: specs });
  expect(s.status, JSON.stringify(s.body)).toBe(200);
}

async function bootAll(n: number, flavorRef: string) {
  const out: Awaited<ReturnType<World['settled']>>[] = [];
  for (let i = 0; i < n; i++) {
    const r = await w.boot(`${flavorRef}-${i}`, { flavorRef });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    out.push(await w.settled(r.body.server.id));
  }
  return out;
}

describe('granular vGPU flavors across cells', () => {
  it('one vGPU per group: every boot lands in the GPU cell while there is room, the next ends ERROR', async () => {
    w = await embeddedWorld(2, 2, { hostByCell: { cell1: PLAIN, cell2: GPU_HOST } });
    await flavor('vgpu1', { 'resources1:VGPU': '1', 'trait1:CUSTOM_GPU_A10': 'required' });
    const servers = await bootAll(4, 'vgpu1'); // 2 hosts × 2 GPUs
    expect(servers.map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(servers.every((s) => /^cell2-cn000[12]$/.test(s['OS-EXT-SRV-ATTR:host']))).toBe(true);
    const [full] = await bootAll(1, 'vgpu1');
    expect(full!.status).toBe('ERROR');
    expect(full!.fault.message).toMatch(/No valid host/);
  });

  it('group_policy=isolate: two vGPUs on two GPUs, so one server per host', async () => {
    w = await embeddedWorld(2, 2, { hostByCell: { cell1: PLAIN, cell2: GPU_HOST } });
    await flavor('vgpu2', { 'resources1:VGPU': '1', 'resources2:VGPU': '1', group_policy: 'isolate' });
    const servers = await bootAll(2, 'vgpu2');
    expect(servers.map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect(new Set(servers.map((s) => s['OS-EXT-SRV-ATTR:host']))).toEqual(
      new Set(['cell2-cn0001', 'cell2-cn0002']),
    );
    const [full] = await bootAll(1, 'vgpu2');
    expect(full!.status).toBe('ERROR');
  });
});
