/**
 * One case of the placement suite's HTTP measurement, alone and quick, for working on the API:
 *
 *   node --import tsx bench/placement/http-latency.ts ROOTS flat|nested [REQUESTS] [SEED]
 *
 * Starts cellplane's Placement API in its own process (cellplane-server.ts, as the suite does),
 * checks that its first answer is the in-process index's JSON, warms up for WARMUP_MS, then times
 * REQUESTS (default 1000) GET /allocation_candidates one at a time with the suite's client
 * (http-client.ts: node:http, keep-alive, microversion 1.39) and prints p50/p90/p99/max in ms on one line. No
 * concurrent phase and no in-process breakdown: `cellplane-http.ts` (run by `npm run bench --
 * --filter placement`) does those. The server is stopped on exit, error or signal.
 */
import { deepStrictEqual } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { percentile } from '../lib/stats.ts';
import { expectedAnswer } from './expected.ts';
import { BenchClient } from './http-client.ts';
import { queryString } from './queries.ts';

const WARMUP_MS = 1_000;
const HEADERS = { 'OpenStack-API-Version': 'placement 1.39', Accept: 'application/json' };

let server: ChildProcess | undefined;
const stop = () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
};
process.on('exit', stop);
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    stop();
    process.exit(1);
  });

const client = new BenchClient(HEADERS);
const get = (url: string) => client.get(url);

async function main(): Promise<void> {
  const [rootsArg, kind, requestsArg = '1000', seed = 'bench-placement-1'] = process.argv.slice(2);
  const requests = Number(requestsArg);
  if (!rootsArg || (kind !== 'flat' && kind !== 'nested') || !(requests >= 1))
    throw new Error('usage: http-latency.ts ROOTS flat|nested [REQUESTS] [SEED]');
  const entry = new URL('./cellplane-server.ts', import.meta.url).pathname;
  server = spawn(process.execPath, ['--import', 'tsx', entry, rootsArg, kind, seed], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: server.stdout! });
  const started = once(lines, 'line');

  const { q, want } = expectedAnswer(Number(rootsArg), kind === 'nested', seed);

  const { url } = JSON.parse(String((await started)[0])) as { url: string };
  const path = `${url}/allocation_candidates?${queryString(q)}`;
  const first = await get(path);
  deepStrictEqual(
    JSON.parse(first.toString()),
    want,
    'the API answered differently from the in-process index',
  );

  const warmUntil = performance.now() + WARMUP_MS;
  while (performance.now() < warmUntil) await get(path);
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const body = await get(path);
    times.push(performance.now() - t0);
    if (body.length !== first.length)
      throw new Error(`an answer of ${body.length} bytes, the first had ${first.length}`);
  }
  const ms = (p: number) => percentile(times, p).toFixed(2);
  console.log(
    `${rootsArg} ${kind}: ${requests} requests, p50 ${ms(50)} / p90 ${ms(90)} / p99 ${ms(99)} / max ${ms(100)} ms, body ${first.length} bytes`,
  );
  client.close();
  server.stdin!.end();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(stop);
