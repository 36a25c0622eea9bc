/**
 * Small pieces shared by the cells suite's child processes: argument checks with clear
 * messages, a bounded-concurrency pool (every load and boot loop has a named in-flight limit),
 * and cleanup on SIGTERM/SIGINT (the parent's execFileSync sends SIGTERM on timeout).
 */

export type Mode = 'embedded' | 'nats';

export function parseMode(v: string | undefined): Mode {
  if (v === 'embedded' || v === 'nats') return v;
  throw new Error(`mode must be "embedded" or "nats", got ${JSON.stringify(v)}`);
}

export function parsePositive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** `min-max` milliseconds, e.g. `1-5` (as `cellplane agents --spawn-ms`). */
export function parseRange(name: string, v: string | undefined): { minMs: number; maxMs: number } {
  const m = /^(\d+)-(\d+)$/.exec(v ?? '');
  if (!m || Number(m[1]) > Number(m[2]))
    throw new Error(`${name} must look like 1-5 (min-max ms), got ${JSON.stringify(v)}`);
  return { minMs: Number(m[1]), maxMs: Number(m[2]) };
}

/**
 * Runs `work` on every item with at most `inFlight` at once, in item order of starting. The
 * first failure stops new starts and is rethrown once the running ones have finished.
 */
export async function pool<T>(
  items: readonly T[],
  inFlight: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(inFlight) || inFlight < 1)
    throw new Error(`inFlight must be a positive integer, got ${inFlight}`);
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await work(items[i]!, i);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, worker));
  if (failed) throw failed.err;
}

/** On SIGTERM/SIGINT: run `cleanup` once, then exit 143/130. */
export function onceStopped(cleanup: () => Promise<void>): void {
  let stopping = false;
  const on = (signal: NodeJS.Signals, code: number) =>
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      console.error(`${signal}: stopping…`);
      void cleanup().finally(() => process.exit(code));
    });
  on('SIGTERM', 143);
  on('SIGINT', 130);
}
