/**
 * The etcd adapter asks a read again while etcd answers `unavailable` (a member whose leader is
 * gone says "leader changed" until a new one is elected: ha-e2e saw it as a 503 on POST
 * /servers), a bounded number of times; a write is never repeated (it may have been applied).
 * The gRPC client is a small fake here: what is tested is the adapter's rule, the real client
 * is exercised by the coordinator contract suite on etcd.
 */
import { type Etcd3, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdKeyspace, READ_ATTEMPTS } from '../../core/adapters/etcd/kv.ts';

function fakeClient(failures: number) {
  let calls = 0;
  const exec = async () => {
    calls++;
    if (calls <= failures) throw new GRPCUnavailableError('etcdserver: leader changed');
    return { kvs: [], header: { revision: '1' } };
  };
  const client = {
    get: () => ({ exec }),
    put: () => ({ value: () => ({ exec }) }),
  } as unknown as Etcd3;
  return { client, calls: () => calls };
}

const keyspace = (client: Etcd3) =>
  new EtcdKeyspace(
    client,
    '/p/kv/',
    () => {},
    () => () => {},
  );

describe('etcd adapter: reads through a change of leader', () => {
  it('a read refused while the leader changes is asked again and answers', async () => {
    const f = fakeClient(3);
    expect(await keyspace(f.client).get('k')).toBeUndefined();
    expect(f.calls()).toBe(4);
  });

  it(`gives up after ${READ_ATTEMPTS} attempts with the unavailable error`, async () => {
    const f = fakeClient(100);
    await expect(keyspace(f.client).get('k')).rejects.toMatchObject({ code: 'unavailable' });
    expect(f.calls()).toBe(READ_ATTEMPTS);
  });

  it('a write refused so is not repeated', async () => {
    const f = fakeClient(1);
    await expect(keyspace(f.client).put('k', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(f.calls()).toBe(1);
  });
});
