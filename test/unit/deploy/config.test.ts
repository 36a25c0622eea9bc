/** deploy/config.ts: flags over environment over file over defaults; bad values are named. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RECONCILE_INTERVAL_MS } from '../../../cells/reconcile.ts';
import { DEFAULT_DEPLOY_CONFIG, resolveConfig } from '../../../deploy/config.ts';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cp-config-'));
  const path = join(dir, 'cellplane.yaml');
  writeFileSync(path, text);
  return path;
}

describe('deploy config', () => {
  it('defaults with nothing given', () => {
    expect(resolveConfig({}, {})).toEqual(DEFAULT_DEPLOY_CONFIG);
  });

  it('flags beat the environment, which beats the file', () => {
    const config = file(
      'nats: nats://file:4222\netcd: http://file:2379\nprefix: fromfile\nack_wait_ms: 9000\n',
    );
    const env = { CELLPLANE_NATS_URL: 'nats://env:4222', CELLPLANE_CONFIG: config };
    const c = resolveConfig({ nats: undefined, prefix: 'flag' }, env);
    expect(c).toMatchObject({
      nats: 'nats://env:4222',
      etcd: 'http://file:2379',
      prefix: 'flag',
      ackWaitMs: 9000,
      redis: DEFAULT_DEPLOY_CONFIG.redis,
    });
    expect(resolveConfig({ nats: 'nats://flag:1' }, env).nats).toBe('nats://flag:1');
  });

  it('the API knobs: cell_timeout_ms and quota_reconcile_ms from the file, flags over it', () => {
    const config = file('cell_timeout_ms: 1500\nquota_reconcile_ms: 60000\n');
    expect(resolveConfig({ config }, {})).toMatchObject({ cellTimeoutMs: 1500, quotaReconcileMs: 60_000 });
    expect(resolveConfig({ config, cellTimeoutMs: '250' }, {}).cellTimeoutMs).toBe(250);
    expect(DEFAULT_DEPLOY_CONFIG.cellTimeoutMs).toBe(10_000);
    expect(() => resolveConfig({ cellTimeoutMs: '0' }, {})).toThrow(
      /cellTimeoutMs: must be a positive integer/,
    );
  });

  it('refuses unknown keys, bad numbers and bad prefixes with the source named', () => {
    expect(() => resolveConfig({ config: file('natz: x\n') }, {})).toThrow(/unknown key "natz"/);
    expect(() => resolveConfig({ config: file('- a\n') }, {})).toThrow(/must be a mapping/);
    expect(() => resolveConfig({ config: file('a: [\n') }, {})).toThrow(/not valid YAML/);
    expect(() => resolveConfig({ config: '/nonexistent/c.yaml' }, {})).toThrow(
      /config file \/nonexistent\/c.yaml/,
    );
    expect(() => resolveConfig({ leaseTtlMs: 'soon' }, {})).toThrow(/leaseTtlMs: must be a positive integer/);
    expect(() => resolveConfig({ prefix: 'a.b' }, {})).toThrow(/prefix: letters and digits only/);
  });

  it('reconcile_interval_ms: 60 s by default, from the file or the flag, never zero', () => {
    expect(DEFAULT_DEPLOY_CONFIG.reconcileIntervalMs).toBe(DEFAULT_RECONCILE_INTERVAL_MS);
    const config = file('reconcile_interval_ms: 15000\n');
    expect(resolveConfig({ config }, {}).reconcileIntervalMs).toBe(15_000);
    expect(resolveConfig({ config, reconcileIntervalMs: '5000' }, {}).reconcileIntervalMs).toBe(5_000);
    expect(() => resolveConfig({ reconcileIntervalMs: '0' }, {})).toThrow(
      /reconcileIntervalMs: must be a positive integer/,
    );
  });

  it('takes every member of a cluster: a YAML list, or comma-separated in a flag or the environment', () => {
    const config = file(
      'nats: [nats://a:4222, nats://b:4222, nats://c:4222]\netcd:\n  - http://a:2379\n  - http://b:2379\n',
    );
    expect(resolveConfig({ config }, {})).toMatchObject({
      nats: 'nats://a:4222,nats://b:4222,nats://c:4222',
      etcd: 'http://a:2379,http://b:2379',
    });
    const env = { CELLPLANE_ETCD_URL: 'http://x:1, http://y:2' };
    expect(resolveConfig({}, env).etcd).toBe('http://x:1,http://y:2');
    expect(() => resolveConfig({ nats: 'nats://a:1,,nats://b:2' }, {})).toThrow(
      /nats: expected one URL or several/,
    );
    expect(() => resolveConfig({ config: file('etcd: [1, 2]\n') }, {})).toThrow(
      /etcd must be a URL or a list of URLs/,
    );
    expect(() => resolveConfig({ config: file('redis: [redis://a, redis://b]\n') }, {})).toThrow(
      /redis must be a string or a number/,
    );
  });

  it('stream replicas: 1 by default, from file, environment or flag, at most 5', () => {
    expect(resolveConfig({}, {}).streamReplicas).toBe(1);
    expect(resolveConfig({ config: file('stream_replicas: 3\n') }, {}).streamReplicas).toBe(3);
    expect(resolveConfig({}, { CELLPLANE_STREAM_REPLICAS: '3' }).streamReplicas).toBe(3);
    expect(resolveConfig({ streamReplicas: '5' }, { CELLPLANE_STREAM_REPLICAS: '3' }).streamReplicas).toBe(5);
    expect(() => resolveConfig({ streamReplicas: '6' }, {})).toThrow(/streamReplicas: at most 5/);
    expect(() => resolveConfig({ streamReplicas: '0' }, {})).toThrow(
      /streamReplicas: must be a positive integer/,
    );
  });

  it('extra spec validation: strict by default, lenient from file or flag, nothing else', () => {
    expect(resolveConfig({}, {}).extraSpecValidation).toBe('strict');
    const config = file('extra_spec_validation: lenient\n');
    expect(resolveConfig({ config }, {}).extraSpecValidation).toBe('lenient');
    expect(resolveConfig({ config, extraSpecValidation: 'strict' }, {}).extraSpecValidation).toBe('strict');
    expect(() => resolveConfig({ extraSpecValidation: 'off' }, {})).toThrow(
      /extraSpecValidation: one of strict, lenient, got "off"/,
    );
  });
});
