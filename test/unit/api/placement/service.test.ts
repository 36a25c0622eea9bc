/**
 * PlacementService's persistence contract on a store whose commits can be held or failed:
 * reads never see an unpersisted write, a failed commit leaves memory equal to the store and
 * answers 503, and a new service on the same store sees everything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../../core/adapters/memory/store.ts';
import { CellplaneError } from '../../../../core/errors.ts';
import type { CommitResult, WriteOp } from '../../../../core/ports/store.ts';
import { error, type Harness, harness, provider, RP1, RP2 } from './helpers.ts';

/** A memory store whose next commits can be held until released, or made to fail. */
class GatedStore extends MemoryStore {
  fail = false;
  hold: Promise<void> | undefined;
  /** Called when a commit starts (before it is held). */
  entered: (() => void) | undefined;

  override async commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    this.entered?.();
    if (this.hold) await this.hold;
    if (this.fail) throw new CellplaneError('unavailable', 'redis down (simulated)');
    return super.commit(ops);
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('PlacementService persistence', () => {
  it('a read issued during an unpersisted write waits for it, then sees it', async () => {
    const store = new GatedStore();
    h = await harness({ mode: 'noauth' }, store);
    let release!: () => void;
    store.hold = new Promise((r) => {
      release = r;
    });
    const committing = new Promise<void>((r) => {
      store.entered = r;
    });
    const write = h.call('POST', '/resource_providers', {
      version: '1.39',
      body: { name: 'cn1', uuid: RP1 },
    });
    await committing; // the write is applied in memory, its commit held
    let readDone = false;
    const read = h.call('GET', '/resource_providers', { version: '1.39' }).then((r) => {
      readDone = true;
      return r;
    });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const sawUnpersisted = readDone;
    store.hold = undefined;
    release();
    expect(sawUnpersisted).toBe(false);
    expect((await write).status).toBe(200);
    expect((await read).json.resource_providers.map((p: { uuid: string }) => p.uuid)).toEqual([RP1]);
  });

  it('a failed commit answers 503 and memory goes back to what the store holds', async () => {
    const store = new GatedStore();
    h = await harness({ mode: 'noauth' }, store);
    await provider(h, RP1, 'cn1', { VCPU: { total: 4 } });
    store.fail = true;
    const r = await h.call('POST', '/resource_providers', {
      version: '1.39',
      body: { name: 'cn2', uuid: RP2 },
    });
    expect(r.status).toBe(503);
    expect(error(r).title).toBe('Service Unavailable');
    store.fail = false;
    const list = await h.call('GET', '/resource_providers', { version: '1.39' });
    expect(list.json.resource_providers.map((p: { name: string }) => p.name)).toEqual(['cn1']);
    expect(
      (await h.call('GET', `/resource_providers/${RP1}/inventories`, { version: '1.39' })).json.inventories
        .VCPU.total,
    ).toBe(4);
  });

  it('a second service on the same store loads the same state', async () => {
    const store = new MemoryStore();
    h = await harness({ mode: 'noauth' }, store);
    await provider(h, RP1, 'cn1', { VCPU: { total: 4 } });
    await h.call('PUT', `/allocations/c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1`, {
      version: '1.12',
      body: { allocations: { [RP1]: { resources: { VCPU: 3 } } }, project_id: 'p', user_id: 'u' },
    });
    const before = await h.call('GET', `/resource_providers/${RP1}/usages`, { version: '1.39' });
    await h.app.close();
    const again = await harness({ mode: 'noauth' }, store);
    const after = await again.call('GET', `/resource_providers/${RP1}/usages`, { version: '1.39' });
    expect(after.json).toEqual(before.json);
    await again.app.close();
  });
});
