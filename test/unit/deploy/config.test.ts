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
});
