/**
 * Measures cellplane's OWN Placement API over HTTP on a bench fleet, as real-placement.ts does for
 * the real Placement, in its own process so the synchronous harness can run it with execFileSync:
 *
 *   node --import tsx bench/placement/cellplane-http.ts ROOTS flat|nested SEED MAX_REQUESTS MAX_SECONDS IN_FLIGHT
 *
 * Starts the API in a child process (cellplane-server.ts: memory store, noauth, free loopback
 * port), so client and server do not share an event loop, like Node and placement-api. Checks the
 * first answer against the in-process index (same candidates, same JSON), warms up, then times
 * GET /allocation_candidates with the same client as real-placement.ts (http-client.ts: node:http,
 * keep-alive): one request at a time (at most MAX_REQUESTS, for at most MAX_SECONDS), then
 * IN_FLIGHT requests at a time for a while, then one at a time through Node's fetch for a while
 * (the client the suite used before, to show what it adds). Also times the search and the JSON
 * encoding of the answer in process, to show where an HTTP request's time goes. Prints one JSON
 * line.
 * The server is stopped on exit, error or signal.
 */
import { deepStrictEqual } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { candidateSlotsBody } from '../../api/placement/candidates-slots-text.ts';
import { Microversion } from '../../api/placement/microversion.ts';
import { candidatesJson } from '../../api/placement/routes/allocation-candidates.ts';
import type { CandidateRequest } from '../../core/placement/candidates.ts';
import {
  type CandidateIndex,
  indexCandidateSlots,
  slotsToCandidates,
} from '../../core/placement/index/index.ts';
import { unwrap } from '../../core/placement/operations.ts';
import { percentile } from '../lib/stats.ts';
import { expectedAnswer } from './expected.ts';
import { BenchClient, fetchBody } from './http-client.ts';
import { timeCalls } from './latency.ts';
import { queryString } from './queries.ts';

const START_DEADLINE_MS = 120_000;
const STOP_GRACE_MS = 3_000;
/** Requests before timing (JIT of both processes, connection set-up). */
const WARMUP_MS = 1_000;
/** The IN_FLIGHT phase runs this long. */
const CONCURRENT_MS = 2_000;
/** The fetch phase runs this long. */
const FETCH_MS = 1_500;
/** In-process breakdown: single calls timed per step. */
const BREAKDOWN = { minCalls: 20, maxCalls: 1000, maxMs: 700 };
const BREAKDOWN_WARMUP = { minCalls: 10, maxCalls: 200, maxMs: 200 };
/** Keep-alive check: the warm-up and timed phases should reuse a handful of connections. */
const MAX_CONNECTIONS_PER_CLIENT = 3;
const HEADERS = { 'OpenStack-API-Version': 'placement 1.39', Accept: 'application/json' };

let server: ChildProcess | undefined;

function cleanup(): void {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  server.stdin?.end();
  server.kill('SIGTERM');
  const s = server;
  setTimeout(() => s.exitCode === null && s.signalCode === null && s.kill('SIGKILL'), STOP_GRACE_MS).unref();
}
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    cleanup();
    process.exit(1);
  });
process.on('exit', cleanup);

/** The next stdout line of the server, parsed; fails if it exits or the deadline passes. */
function nextLine<T>(lines: Interface, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`cellplane-server said nothing in ${ms} ms`)), ms);
    const onExit = (code: number | null) => done(new Error(`cellplane-server exited (${code})`));
    const onLine = (line: string) => done(undefined, JSON.parse(line) as T);
    function done(err?: Error, value?: T) {
      clearTimeout(timer);
      lines.off('line', onLine);
      server?.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    lines.once('line', onLine);
    server?.once('exit', onExit);
  });
}

/** `op` until `ms` passed or `max` calls were made, `inFlight` at a time; single-call times. */
async function drive(op: () => Promise<unknown>, inFlight: number, ms: number, max = Infinity) {
  const times: number[] = [];
  const start = performance.now();
  const until = start + ms;
  const worker = async () => {
    while (times.length < max && performance.now() < until) {
      const t0 = performance.now();
      await op();
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wallMs = performance.now() - start;
  return { times, wallMs };
}

/**
 * Where a request's server time goes, timed in process on the same fleet: the search as the API
 * runs it (the index's slots), the JSON body the API writes from them (candidateSlotsBody, with
 * the per-provider text kept in the index as in a running server), and the object form +
 * JSON.stringify it replaced.
 */
function timeSteps(index: CandidateIndex, request: CandidateRequest, bodyBytes: number) {
  const v = new Microversion(39);
  const search = () => unwrap(indexCandidateSlots(index, request)!);
  const found = search();
  const steps = {
    search,
    text: () => candidateSlotsBody(found, request, v),
    objects: () => Buffer.from(JSON.stringify(candidatesJson(slotsToCandidates(found), request, v))),
  };
  const p50 = (op: () => unknown) => {
    timeCalls(op, BREAKDOWN_WARMUP);
    return timeCalls(op, BREAKDOWN).p50Ms;
  };
  return {
    searchMs: p50(steps.search),
    textMs: p50(steps.text),
    objectsMs: p50(steps.objects),
    bodyBytes,
  };
}

async function main(): Promise<void> {
  const [rootsArg, kind, seed, maxReqArg, maxSecArg, inFlightArg] = process.argv.slice(2);
  const entry = new URL('./cellplane-server.ts', import.meta.url).pathname;
  server = spawn(process.execPath, ['--import', 'tsx', entry, rootsArg!, kind!, seed!], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: server.stdout! });
  const started = nextLine<{ url: string; providers: number; loadMs: number }>(lines, START_DEADLINE_MS);

  // In process, while the server loads: the expected answer.
  const { fleet, q, request, index, want } = expectedAnswer(Number(rootsArg), kind === 'nested', seed!);

  const { url, providers, loadMs } = await started;
  if (providers !== fleet.providers.length) throw new Error(`server loaded ${providers} providers`);
  const path = `${url}/allocation_candidates?${queryString(q)}`;
  const client = new BenchClient(HEADERS);
  const firstBody = await client.get(path);
  const first = JSON.parse(firstBody.toString()) as typeof want;
  if (first.allocation_requests.length !== want.allocation_requests.length)
    throw new Error(
      `cellplane over HTTP gave ${first.allocation_requests.length} candidates, the index ${want.allocation_requests.length}`,
    );
  deepStrictEqual(first, want, 'cellplane over HTTP answered differently from the in-process index');

  const bytes = firstBody.byteLength;
  const checkedWith = (get: () => Promise<Buffer>) => async () => {
    const got = (await get()).byteLength;
    if (got !== bytes) throw new Error(`an answer of ${got} bytes, the first had ${bytes}`);
  };
  const checked = checkedWith(() => client.get(path));
  await drive(checked, 1, WARMUP_MS);
  const one = await drive(checked, 1, Number(maxSecArg) * 1000, Number(maxReqArg));
  const inFlight = Number(inFlightArg);
  const many = await drive(checked, inFlight, CONCURRENT_MS);
  const viaFetch = checkedWith(() => fetchBody(path, HEADERS));
  await drive(viaFetch, 1, WARMUP_MS / 2);
  const fetched = await drive(viaFetch, 1, FETCH_MS);
  client.close();

  // With the server idle, so the two processes do not compete for the cores.
  const breakdown = timeSteps(index, request, bytes);

  server.stdin!.end();
  const { connections } = await nextLine<{ connections: number }>(lines, STOP_GRACE_MS * 2);
  const requests = 1 + one.times.length + many.times.length + fetched.times.length;
  if (connections > MAX_CONNECTIONS_PER_CLIENT * (inFlight + 1))
    throw new Error(`${connections} TCP connections for ${requests} requests: keep-alive is not working`);
  const total = one.times.reduce((a, b) => a + b, 0);
  const out = {
    requests: one.times.length,
    p50Ms: percentile(one.times, 50),
    p99Ms: percentile(one.times, 99),
    qps: (one.times.length * 1000) / total,
    concurrent: {
      inFlight,
      requests: many.times.length,
      p50Ms: percentile(many.times, 50),
      p99Ms: percentile(many.times, 99),
      qps: (many.times.length * 1000) / many.wallMs,
    },
    fetch: {
      requests: fetched.times.length,
      p50Ms: percentile(fetched.times, 50),
      p99Ms: percentile(fetched.times, 99),
    },
    candidates: first.allocation_requests.length,
    providers,
    loadMs,
    connections,
    breakdown,
  };
  console.log(JSON.stringify(out));
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
