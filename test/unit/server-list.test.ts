/** core/adapters/shared/urls.ts: the members of a cluster, as the real adapters take them. */
import { describe, expect, it } from 'vitest';
import { serverList } from '../../core/adapters/shared/urls.ts';

describe('serverList', () => {
  it.each([
    ['nats://a:4222', ['nats://a:4222']],
    ['nats://a:1,nats://b:2, nats://c:3', ['nats://a:1', 'nats://b:2', 'nats://c:3']],
    [
      ['http://a:1', 'http://b:2,http://c:3'],
      ['http://a:1', 'http://b:2', 'http://c:3'],
    ],
  ] as const)('%j → %j', (value, want) => {
    expect(serverList(value, 'x')).toEqual(want);
  });

  it.each(['', 'nats://a:1,', ' , nats://a:1'])('refuses %j: an empty member', (value) => {
    expect(() => serverList(value, 'NATS servers')).toThrow(/NATS servers: expected one URL or several/);
  });

  it('refuses an empty list', () => {
    expect(() => serverList([], 'etcd hosts')).toThrow(/etcd hosts: expected one URL/);
  });
});
