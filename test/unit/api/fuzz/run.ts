/**
 * The fuzz property: for any sequence of requests (valid ones that build state up, mixed with bad
 * input made from them), on a fresh world
 *   1. no answer is a 5xx;
 *   2. replaying only the requests that succeeded (2xx) on another fresh world succeeds again,
 *      request by request with the same status, and ends in the same state (stores, mappings,
 *      queued jobs, hosts; made-up ids and times renamed) — so a rejected request wrote nothing.
 * fast-check generates the sequences from one printed seed and shrinks a failure to a short
 * sequence; the report prints each request of it and the command that replays it.
 */
import fc from 'fast-check';
import { junk, mutate } from './mutations.ts';
import { type Answer, type ApiSpec, type FuzzRequest, fromDraft, newKnown, send } from './requests.ts';
import { canonical, differences, Names } from './state.ts';

export interface FuzzOptions {
  /** Requests to send in all (the replays come on top). */
  readonly requests: number;
  /** Longest sequence (one fresh world each). */
  readonly maxSequence: number;
  readonly seed: number;
  /** fast-check's path of a failure, to replay just it. */
  readonly path?: string;
  /** URL patterns of the registered routes (junk requests go to any of them). */
  readonly urls: readonly string[];
}

export interface FuzzStats {
  sent: number;
  replayed: number;
  sequences: number;
  byStatus: Record<string, number>;
  /** Valid requests answered 2xx, per route: each route must have some. */
  succeededByRoute: Record<string, number>;
  /**
   * Survey mode (FUZZ_SURVEY=1): 5xx answers are collected here by route and message instead of
   * failing at the first, to list every distinct cause in one run.
   */
  survey?: Map<string, { count: number; example: string }>;
}

const is2xx = (s: number) => s >= 200 && s < 300;

/** Every request of the API's mix: valid, bad input made from a valid one, or junk. */
export function requestArb(api: ApiSpec, urls: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const valid = fc.oneof(
    ...api.routes.map((r) => ({
      weight: r.weight ?? 1,
      arbitrary: r.valid.map((d) => fromDraft(api, r, d)),
    })),
  );
  return fc.oneof(
    { weight: 10, arbitrary: valid },
    { weight: 8, arbitrary: valid.chain((r) => mutate(api, r)) },
    { weight: 1, arbitrary: junk(api, urls) },
  );
}

/** A short line for a request (bodies cut), for reports. */
export function describeRequest(r: FuzzRequest, a?: Answer): string {
  const body =
    r.body === undefined
      ? ''
      : typeof r.body === 'string'
        ? ` body(${r.body.length})=${r.body.slice(0, 160)}`
        : ` bytes=${r.body.hex.slice(0, 80)}`;
  const headers = Object.entries(r.headers)
    .filter(([k]) => k !== 'x-auth-token' || r.headers[k] !== undefined)
    .map(([k, v]) => `${k}: ${v.slice(0, 60)}`)
    .join('; ');
  const answer = a ? ` → ${a.status} ${a.body.slice(0, 300)}` : '';
  return `[${r.label}] ${r.method} ${r.url.slice(0, 200)} {${headers}}${body}${answer}`;
}

interface Played {
  readonly answers: Answer[];
  readonly dump: unknown;
  readonly names: Names;
}

/** Sends `reqs` in order to a fresh world; throws at the first 5xx. */
export async function play(api: ApiSpec, reqs: readonly FuzzRequest[], stats?: FuzzStats): Promise<Played> {
  const world = await api.world();
  try {
    const known = newKnown(api);
    const names = new Names();
    names.keep(JSON.stringify(await world.dump()));
    const answers: Answer[] = [];
    for (const r of reqs) {
      const a = await send(world.app, r, known);
      answers.push(a);
      names.keep(a.sent.url);
      if (typeof a.sent.body === 'string') names.keep(a.sent.body);
      if (stats) {
        stats.byStatus[a.status] = (stats.byStatus[a.status] ?? 0) + 1;
        if (r.label === 'valid' && is2xx(a.status))
          stats.succeededByRoute[r.route] = (stats.succeededByRoute[r.route] ?? 0) + 1;
      }
      if (a.status >= 500 && stats?.survey) {
        const cause = `${r.route} ${a.status} ${a.body.replace(/req-[0-9a-f-]{36}/g, 'req-…').slice(0, 200)}`;
        const seen = stats.survey.get(cause) ?? { count: 0, example: describeRequest(r, a) };
        seen.count++;
        stats.survey.set(cause, seen);
        continue;
      }
      if (a.status >= 500)
        throw new Error(`5xx answer to request #${answers.length}:\n  ${describeRequest(r, a)}`);
      if (is2xx(a.status)) {
        api.learn(r.route, a, known, a.sent.url);
        names.see(a.body);
        names.see(JSON.stringify(a.headers));
      }
    }
    return { answers, dump: await world.dump(), names };
  } finally {
    await world.close();
  }
}

/** The property for one sequence: no 5xx, and the successful requests alone rebuild the state. */
export async function checkSequence(api: ApiSpec, reqs: readonly FuzzRequest[], stats?: FuzzStats) {
  const run = await play(api, reqs, stats);
  if (stats?.survey) {
    stats.sent += reqs.length;
    stats.sequences++;
    return;
  }
  const kept = reqs.map((r, i) => ({ r, a: run.answers[i]! })).filter((x) => is2xx(x.a.status));
  const replay = await play(
    api,
    kept.map((x) => x.r),
  );
  if (stats) {
    stats.sent += reqs.length;
    stats.replayed += kept.length;
    stats.sequences++;
  }
  kept.forEach(({ r, a }, i) => {
    const b = replay.answers[i]!;
    if (b.status !== a.status)
      throw new Error(
        `request ${describeRequest(r)} answered ${a.status} in the run but ${b.status} when only the ` +
          `successful requests were replayed (${b.body.slice(0, 300)}): a rejected request changed the state`,
      );
  });
  const [after, rebuilt] = [canonical(run.dump, run.names), canonical(replay.dump, replay.names)];
  const diff = differences(after, rebuilt);
  if (diff.length > 0)
    throw new Error(
      `the state after the run differs from the state the successful requests alone build ` +
        `(path: run ≠ replay):\n  ${diff.join('\n  ')}`,
    );
}

/** Longest time spent shortening a failing sequence. */
const MINIMIZE_BUDGET_MS = 120_000;

/** The error `reqs` fails with, or undefined when it passes. */
async function failure(api: ApiSpec, reqs: readonly FuzzRequest[]): Promise<unknown> {
  try {
    await checkSequence(api, reqs);
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * A shorter sequence that still fails (chunks removed while it keeps failing, halving the chunk
 * when none can go), within MINIMIZE_BUDGET_MS.
 */
export async function minimize(api: ApiSpec, reqs: readonly FuzzRequest[]): Promise<readonly FuzzRequest[]> {
  const end = Date.now() + MINIMIZE_BUDGET_MS;
  let cur = reqs;
  for (let chunk = Math.ceil(cur.length / 2); chunk >= 1 && Date.now() < end; ) {
    let removed = false;
    for (let i = 0; i < cur.length && Date.now() < end; ) {
      const candidate = [...cur.slice(0, i), ...cur.slice(i + chunk)];
      if (candidate.length > 0 && (await failure(api, candidate)) !== undefined) {
        cur = candidate;
        removed = true;
      } else i += chunk;
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  return cur;
}

/** Runs the property over `opts.requests` requests; returns what was sent, throws a report. */
export async function fuzz(api: ApiSpec, opts: FuzzOptions & { survey?: boolean }): Promise<FuzzStats> {
  const stats: FuzzStats = {
    sent: 0,
    replayed: 0,
    sequences: 0,
    byStatus: {},
    succeededByRoute: {},
    ...(opts.survey ? { survey: new Map() } : {}),
  };
  const arb = fc.array(requestArb(api, opts.urls), {
    minLength: opts.maxSequence,
    maxLength: opts.maxSequence,
  });
  const numRuns = Math.max(1, Math.ceil(opts.requests / opts.maxSequence));
  const details = await fc.check(
    fc.asyncProperty(arb, (reqs) => checkSequence(api, reqs, stats)),
    { seed: opts.seed, numRuns, endOnFailure: true, ...(opts.path ? { path: opts.path } : {}) },
  );
  if (!details.failed) return stats;
  const seq = details.counterexample?.[0] ?? [];
  const short = await minimize(api, seq);
  const err = await failure(api, short);
  const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH="${details.counterexamplePath}" npx vitest run --project unit test/unit/api/fuzz/`;
  throw new Error(
    `${api.name} fuzz failed after ${stats.sent} requests (seed ${details.seed}). Replay: ${replay}\n` +
      `${err instanceof Error ? err.message : String(err ?? details.errorInstance)}\n` +
      `shortest failing sequence found (${short.length} of ${seq.length} requests):\n` +
      short.map((r, i) => `  #${i + 1} ${describeRequest(r)}`).join('\n'),
  );
}
