/**
 * The `openstack` CLI with osc-placement (Debian's Zed packages), unchanged, against
 * `cellplane placement` on Redis — and the same script against the real OpenStack Placement
 * 8.0, side by side. Every step must give the same exit code, the same HTTP status on errors,
 * and the same JSON output once uuids are numbered in order of appearance.
 *
 * Auth as an operator would pass it: `--os-auth-type admin_token --os-token T --os-endpoint URL`
 * (token mode), and `--os-auth-type none --os-endpoint URL` against `--noauth`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../deploy/services.ts';
import { type PlacementPeer, startRealPlacement, waitForHttp } from '../real/placement-peer.ts';
import { services, uniquePrefix } from '../real/services.ts';

const run = promisify(execFile);
const CELLPLANE = join(import.meta.dirname, '..', '..', 'cellplane');
const TOKEN = 'cp-test-token';
const AGG = 'a1b2c3d4-0000-4000-8000-00000000a99a';
const CONSUMER = 'c0ffee00-0000-4000-8000-000000000001';

interface Step {
  /** Arguments after the auth options; `{name}` is replaced by a saved value. */
  args: string[];
  /** JSON output wanted (`-f json`). */
  json?: boolean;
  /** Saves `output[field]` (or `output[0][field]` for lists) under a name. */
  save?: Record<string, string>;
  /** The real API promises no order here (two Placement instances differ): compare as sets. */
  unordered?: boolean;
}

const SCENARIO: Step[] = [
  { args: ['resource', 'class', 'create', 'CUSTOM_CP_GOLD'] },
  { args: ['resource', 'class', 'create', 'CUSTOM_CP_GOLD'] }, // 409: exists
  { args: ['resource', 'class', 'list'], json: true, unordered: true },
  { args: ['trait', 'create', 'CUSTOM_CP_FAST'] },
  { args: ['trait', 'list'], json: true, unordered: true },
  { args: ['resource', 'provider', 'create', 'cp-host-1'], json: true, save: { host: 'uuid' } },
  {
    args: ['resource', 'provider', 'create', 'cp-gpu-1', '--parent-provider', '{host}'],
    json: true,
    save: { gpu: 'uuid' },
  },
  { args: ['resource', 'provider', 'create', 'cp-host-1'], json: true }, // 409: duplicate name
  { args: ['resource', 'provider', 'list'], json: true },
  { args: ['resource', 'provider', 'show', '{host}'], json: true },
  { args: ['resource', 'provider', 'show', '00000000-0000-4000-8000-000000000000'], json: true }, // 404
  {
    args: [
      'resource',
      'provider',
      'inventory',
      'set',
      '{host}',
      '--resource',
      'VCPU=16',
      '--resource',
      'VCPU:allocation_ratio=4.0',
      '--resource',
      'MEMORY_MB=65536',
      '--resource',
      'MEMORY_MB:reserved=512',
      '--resource',
      'DISK_GB=1000',
      '--resource',
      'CUSTOM_CP_GOLD=5',
    ],
    json: true,
  },
  { args: ['resource', 'provider', 'inventory', 'set', '{gpu}', '--resource', 'VGPU=4'], json: true },
  { args: ['resource', 'provider', 'inventory', 'set', '{gpu}', '--resource', 'CUSTOM_NOPE=4'], json: true }, // 400
  { args: ['resource', 'provider', 'inventory', 'list', '{host}'], json: true },
  { args: ['resource', 'provider', 'inventory', 'show', '{host}', 'VCPU'], json: true },
  {
    args: [
      'resource',
      'provider',
      'trait',
      'set',
      '{host}',
      '--trait',
      'HW_CPU_X86_AVX2',
      '--trait',
      'CUSTOM_CP_FAST',
    ],
    json: true,
    unordered: true,
  },
  { args: ['resource', 'provider', 'trait', 'list', '{host}'], json: true, unordered: true },
  { args: ['resource', 'provider', 'show', '{host}'], json: true, save: { gen: 'generation' } },
  {
    args: ['resource', 'provider', 'aggregate', 'set', '{host}', '--aggregate', AGG, '--generation', '{gen}'],
    json: true,
  },
  {
    args: ['resource', 'provider', 'aggregate', 'set', '{host}', '--aggregate', AGG, '--generation', '{gen}'],
    json: true,
  }, // 409 stale
  { args: ['resource', 'provider', 'aggregate', 'list', '{host}'], json: true },
  {
    args: ['allocation', 'candidate', 'list', '--resource', 'VCPU=2', '--resource', 'MEMORY_MB=1024'],
    json: true,
  },
  {
    args: [
      'allocation',
      'candidate',
      'list',
      '--resource',
      'VCPU=2',
      '--resource',
      'VGPU=1',
      '--required',
      'HW_CPU_X86_AVX2',
    ],
    json: true,
  },
  { args: ['allocation', 'candidate', 'list', '--resource', 'VCPU=100'], json: true }, // none fit
  {
    args: [
      'resource',
      'provider',
      'allocation',
      'set',
      CONSUMER,
      '--allocation',
      'rp={host},VCPU=2,MEMORY_MB=1024',
      '--allocation',
      'rp={gpu},VGPU=1',
      '--project-id',
      'proj-a',
      '--user-id',
      'user-a',
      '--consumer-type',
      'INSTANCE',
    ],
    json: true,
  },
  { args: ['resource', 'provider', 'allocation', 'show', CONSUMER], json: true },
  { args: ['resource', 'provider', 'usage', 'show', '{host}'], json: true },
  { args: ['resource', 'usage', 'show', 'proj-a'], json: true },
  { args: ['resource', 'provider', 'inventory', 'delete', '{gpu}', '--resource-class', 'VGPU'] }, // 409 in use
  { args: ['resource', 'provider', 'delete', '{host}'] }, // 409: has a child
  { args: ['resource', 'provider', 'allocation', 'delete', CONSUMER] },
  { args: ['resource', 'provider', 'allocation', 'show', CONSUMER], json: true },
  { args: ['resource', 'provider', 'show', '{host}'], json: true },
  { args: ['resource', 'provider', 'delete', '{gpu}'] },
  { args: ['resource', 'provider', 'delete', '{host}'] },
  { args: ['resource', 'provider', 'list'], json: true },
];

interface StepResult {
  step: string;
  exitCode: number;
  httpStatus: string | undefined;
  output: unknown;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Numbers uuids in order of first appearance, so two servers' outputs compare. */
function normaliser(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) =>
    s.replace(UUID, (u) => {
      if (!seen.has(u)) seen.set(u, `<uuid-${seen.size + 1}>`);
      return seen.get(u)!;
    });
}

async function runScenario(auth: string[]): Promise<StepResult[]> {
  const saved: Record<string, string> = {};
  const normalise = normaliser();
  const results: StepResult[] = [];
  for (const step of SCENARIO) {
    const args = step.args.map((a) => a.replace(/\{(\w+)\}/g, (_, k: string) => saved[k] ?? `{${k}}`));
    const full = [
      ...auth,
      '--os-placement-api-version',
      '1.39',
      ...args,
      ...(step.json ? ['-f', 'json'] : []),
    ];
    const res = await run('/usr/bin/openstack', full, { timeout: 60_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
    const output = step.json && res.code === 0 ? JSON.parse(res.stdout) : res.stdout.trim();
    for (const [name, field] of Object.entries(step.save ?? {})) {
      const rec = (Array.isArray(output) ? output[0] : output) as Record<string, unknown>;
      saved[name] = String(rec[field]);
    }
    let normalised = JSON.parse(normalise(JSON.stringify(output))) as unknown;
    if (step.unordered && Array.isArray(normalised)) {
      normalised = normalised
        .map((x) => JSON.stringify(x))
        .sort()
        .map((x) => JSON.parse(x) as unknown);
    }
    results.push({
      step: step.args.join(' '),
      exitCode: res.code,
      httpStatus: /\(HTTP (\d{3})\)/.exec(res.stderr)?.[1],
      output: normalised,
    });
  }
  return results;
}

async function startCellplane(
  args: string[],
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const [port] = (await freePorts(1)) as [number];
  const child = spawn(CELLPLANE, ['placement', '--host', '127.0.0.1', '--port', String(port), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  await waitForHttp(url, 30_000, () => child.exitCode !== null).catch(async (err: Error) => {
    await stop();
    throw new Error(`${err.message}\n${stderr}`);
  });
  return { url, child, stop };
}

describe('openstack CLI (osc-placement) against cellplane placement, side by side with OpenStack Placement 8.0', () => {
  let peer: PlacementPeer | undefined;
  let ours: Awaited<ReturnType<typeof startCellplane>> | undefined;

  beforeAll(async () => {
    [peer, ours] = await Promise.all([
      startRealPlacement(),
      startCellplane(['--auth-token', TOKEN, '--redis', services().redis, '--prefix', uniquePrefix('cli')]),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([peer?.stop(), ours?.stop()]);
  });

  it('gives the same exit codes, HTTP statuses and JSON as the real Placement, step by step', async () => {
    const [real, mine] = await Promise.all([
      runScenario(['--os-auth-type', 'admin_token', '--os-token', 'admin', '--os-endpoint', peer!.url]),
      runScenario(['--os-auth-type', 'admin_token', '--os-token', TOKEN, '--os-endpoint', ours!.url]),
    ]);
    // The script itself must exercise success and failure paths on the real server.
    expect(real.filter((r) => r.exitCode !== 0).map((r) => r.httpStatus)).toEqual([
      '409',
      '409',
      '404',
      '400',
      '409',
      '409',
      '409',
    ]);
    for (let i = 0; i < real.length; i++) {
      expect({ step: mine[i]!.step, exit: mine[i]!.exitCode, http: mine[i]!.httpStatus }).toEqual({
        step: real[i]!.step,
        exit: real[i]!.exitCode,
        http: real[i]!.httpStatus,
      });
      expect(mine[i]!.output, real[i]!.step).toEqual(real[i]!.output);
    }
  }, 240_000);

  it('refuses a wrong token with 401 and works with auth type none against --noauth', async () => {
    const wrong = await run('/usr/bin/openstack', [
      '--os-auth-type',
      'admin_token',
      '--os-token',
      'wrong',
      '--os-endpoint',
      ours!.url,
      'resource',
      'provider',
      'list',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(wrong).toMatchObject({ code: 1 });
    expect((wrong as { stderr: string }).stderr).toMatch(/HTTP 401/);

    const open = await startCellplane(['--noauth']);
    try {
      const { stdout } = await run('/usr/bin/openstack', [
        '--os-auth-type',
        'none',
        '--os-endpoint',
        open.url,
        '--os-placement-api-version',
        '1.39',
        'resource',
        'provider',
        'create',
        'noauth-host',
        '-f',
        'json',
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ name: 'noauth-host', generation: 0 });
    } finally {
      await open.stop();
    }
  }, 60_000);
});
