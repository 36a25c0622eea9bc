/** The fake hypervisor: provider tree, seeded latency/failures on virtual time, its own capacity books. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../core/adapters/memory/clock.ts';
import { hasCode } from '../../../core/errors.ts';
import { shouldReschedule } from '../../../host-agent/driver.ts';
import { describeFakeHost, stableUuid } from '../../../host-agent/drivers/fake-host.ts';
import { FakeHypervisor, type FakeHypervisorOptions } from '../../../host-agent/drivers/fake-hypervisor.ts';
import { smallHost, vm } from './helpers.ts';

function fake(opts: Partial<FakeHypervisorOptions> = {}, clock = new VirtualClock(0)) {
  const description = describeFakeHost(smallHost('cn1', { gpus: [{ units: 2 }], sriovPfs: [{ units: 4 }] }));
  return { clock, hv: new FakeHypervisor({ clock, description, seed: 1, ...opts }) };
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; v: T } | { ok: false; e: unknown }> {
  return p.then(
    (v) => ({ ok: true as const, v }),
    (e) => ({ ok: false as const, e }),
  );
}

describe('describeFakeHost', () => {
  it('reports a Placement provider tree: root compute node, devices as children', () => {
    const d = describeFakeHost(
      smallHost('cn1', {
        sriovPfs: [{ units: 8 }],
        gpus: [{ units: 4, traits: ['CUSTOM_NVIDIA_11'] }],
        fpgas: [{ units: 1 }],
      }),
    );
    const [root, pf, gpu, fpga] = d.providers;
    expect(root).toMatchObject({ name: 'cn1', uuid: stableUuid('cn1') });
    expect(root?.parentUuid).toBeUndefined();
    // 8 VCPU at ratio 2; Nova reserves 512 MB of RAM by default.
    expect(root?.inventories.VCPU).toMatchObject({ total: 8, reserved: 0, allocationRatio: 2 });
    expect(root?.inventories.MEMORY_MB).toMatchObject({ total: 16_384, reserved: 512, allocationRatio: 1 });
    expect(root?.traits).toEqual(['COMPUTE_NODE', 'HW_ARCH_X86_64', 'HW_CPU_X86_AVX2']);
    expect(pf).toMatchObject({ name: 'cn1_pf0', parentUuid: root?.uuid, traits: ['HW_NIC_SRIOV'] });
    expect(pf?.inventories.SRIOV_NET_VF?.total).toBe(8);
    expect(gpu).toMatchObject({ name: 'cn1_gpu0', traits: ['CUSTOM_NVIDIA_11'] });
    expect(gpu?.inventories.VGPU?.total).toBe(4);
    expect(fpga?.inventories.FPGA?.total).toBe(1);
    expect(d.capabilities).toMatchObject({ supportsSriov: true, supportsVgpu: true, supportsFpga: true });
    // Stable across calls: a restarted agent reports the same UUIDs.
    expect(describeFakeHost(smallHost('cn1')).providers[0]?.uuid).toBe(root?.uuid);
  });

  it.each([
    ['a trait that is neither standard nor CUSTOM_', smallHost('cn1', { traits: ['AVX2'] }), /AVX2/],
    ['reserved above total', smallHost('cn1', { reserved: { vcpus: 9 } }), /VCPU/],
    ['a bad hostname', smallHost('cn 1'), /hostname/],
  ])('refuses %s', (_what, spec, message) => {
    expect(() => describeFakeHost(spec)).toThrow(message);
  });
});

describe('FakeHypervisor latency and failures', () => {
  it('takes its latency on the injected clock', async () => {
    const { clock, hv } = fake({ latency: { spawn: 5_000 } });
    let done = false;
    const p = hv.spawn(vm({ VCPU: 1 })).then(() => {
      done = true;
    });
    await clock.advance(4_999);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(done).toBe(true);
    expect(clock.now()).toBe(5_000);
  });

  it('replays the same latencies and failures for the same seed, others for another', async () => {
    async function run(seed: number) {
      const clock = new VirtualClock(0);
      const { hv } = fake(
        { seed, latency: { spawn: { minMs: 100, maxMs: 10_000 } }, failureRate: { spawn: 0.3 } },
        clock,
      );
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        const start = clock.now();
        const r = settle(hv.spawn(vm({ MEMORY_MB: 1 })));
        await clock.runUntilIdle();
        const res = await r;
        out.push(`${clock.now() - start}:${res.ok ? 'ok' : 'fail'}`);
      }
      return out;
    }
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
    const latencies = a.map((s) => Number(s.split(':')[0]));
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...latencies)).toBeLessThanOrEqual(10_000);
    expect(a.some((s) => s.endsWith('fail')) && a.some((s) => s.endsWith('ok'))).toBe(true);
  });

  it('an injected spawn failure is retryable, asks for a reschedule and leaves nothing behind', async () => {
    const { hv } = fake({ failureRate: { spawn: 1 } });
    const res = await settle(hv.spawn(vm({ VCPU: 16 })));
    expect(res.ok).toBe(false);
    const e = (res as { e: unknown }).e;
    expect(hasCode(e, 'unavailable')).toBe(true);
    expect(shouldReschedule(e)).toBe(true);
    expect(hv.instanceCount).toBe(0);
    expect(hv.used(stableUuid('cn1'), 'VCPU')).toBe(0);
  });

  it('validates its knobs', () => {
    expect(() => fake({ failureRate: { reboot: 1.5 } })).toThrow(/failureRate.reboot/);
    expect(() => fake({ latency: { spawn: { minMs: 10, maxMs: 5 } } })).toThrow(/latency.spawn/);
  });
});

describe('FakeHypervisor capacity books', () => {
  const root = stableUuid('cn1');

  it('refuses to overcommit: capacity = int((total - reserved) * ratio)', async () => {
    const { hv } = fake();
    // VCPU: (8 - 0) * 2 = 16 → 10 + 6 fit, 1 more does not.
    await hv.spawn(vm({ VCPU: 10 }));
    await hv.spawn(vm({ VCPU: 6 }));
    const res = await settle(hv.spawn(vm({ VCPU: 1 })));
    expect(res.ok).toBe(false);
    const e = (res as { e: { code: string; details: Record<string, unknown> } }).e;
    expect(e.code).toBe('conflict');
    expect(e.details).toMatchObject({
      reason: 'capacity',
      reschedule: true,
      used: 16,
      capacity: 16,
      requested: 1,
    });
    // MEMORY_MB: 16384 - 512 reserved = 15872 at ratio 1.
    const mem = await settle(hv.spawn(vm({ MEMORY_MB: 15_873 })));
    expect(mem.ok).toBe(false);
    await hv.spawn(vm({ MEMORY_MB: 15_872 }));
  });

  it('counts device inventories on their own providers', async () => {
    const { hv } = fake();
    const gpu = stableUuid('cn1_gpu0');
    await hv.spawn(vm({ VCPU: 1 }, [{ providerUuid: gpu, resources: { VGPU: 2 } }]));
    expect(hv.used(gpu, 'VGPU')).toBe(2);
    const res = await settle(hv.spawn(vm({ VCPU: 1 }, [{ providerUuid: gpu, resources: { VGPU: 1 } }])));
    expect(res.ok).toBe(false);
    // The refused spawn took nothing, not even its root resources.
    expect(hv.used(root, 'VCPU')).toBe(1);
  });

  it('two overlapping spawns for the last slot: exactly one wins', async () => {
    const { clock, hv } = fake({ latency: { spawn: 1_000 } });
    const first = hv.spawn(vm({ VCPU: 15 }));
    await clock.runUntilIdle();
    await first;
    const a = settle(hv.spawn(vm({ VCPU: 1 })));
    const b = settle(hv.spawn(vm({ VCPU: 1 })));
    await clock.runUntilIdle();
    const results = [await a, await b];
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(hv.used(root, 'VCPU')).toBe(16);
  });

  it.each([
    ['an unknown provider', { VCPU: 1 }, [{ providerUuid: stableUuid('nope'), resources: { VGPU: 1 } }]],
    ['a class the provider lacks', { VGPU: 1 }, []],
    ['a zero amount', { VCPU: 0 }, []],
  ])('refuses %s as invalidSpec, without reschedule', async (_what, resources, devices) => {
    const { hv } = fake();
    const res = await settle(hv.spawn(vm(resources, devices)));
    expect(res.ok).toBe(false);
    const e = (res as { e: unknown }).e;
    expect(hasCode(e, 'invalid')).toBe(true);
    expect(shouldReschedule(e)).toBe(false);
  });

  it('spawn is idempotent for the same spec; destroy frees and is idempotent; power ops move state', async () => {
    const { hv } = fake();
    const spec = vm({ VCPU: 4 });
    await hv.spawn(spec);
    await hv.spawn(spec);
    expect(hv.used(root, 'VCPU')).toBe(4);
    const clash = await settle(hv.spawn({ ...spec, resources: { VCPU: 2 } }));
    expect(clash.ok).toBe(false);
    expect((clash as { e: { details: { reason: string } } }).e.details.reason).toBe('duplicate');
    expect((await hv.powerOff(spec.uuid)).powerState).toBe('shutdown');
    expect((await hv.powerOn(spec.uuid)).powerState).toBe('running');
    expect(hv.crash(spec.uuid)).toBe(true);
    expect((await hv.reboot(spec.uuid, 'hard')).powerState).toBe('running');
    expect(await hv.destroy(spec.uuid)).toBe(true);
    expect(await hv.destroy(spec.uuid)).toBe(false);
    expect(hv.used(root, 'VCPU')).toBe(0);
    const gone = await settle(hv.reboot(spec.uuid, 'soft'));
    expect(hasCode((gone as { e: unknown }).e, 'notFound')).toBe(true);
  });
});
