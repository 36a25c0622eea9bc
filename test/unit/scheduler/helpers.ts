/** Runs single stages directly (no pipeline) so tables can state each stage's own verdicts. */
import type { RequestSpec } from '../../../core/scheduler/request.ts';
import { normalise } from '../../../core/scheduler/score.ts';
import type { Snapshot } from '../../../core/scheduler/snapshot.ts';
import type { Filter, Weigher } from '../../../core/scheduler/stage.ts';
import { builtinRegistry } from '../../../core/scheduler/stages/index.ts';

export function stage<T extends Filter | Weigher>(name: string, args: Record<string, unknown> = {}): T {
  const f = builtinRegistry().get(name);
  if (!f) throw new Error(`no stage ${name}`);
  return f.create(f.parseArgs(args)) as T;
}

/** host name → 'ok' or the rejection reason; 'skipped' for every host when the stage is skipped. */
export function verdicts(name: string, snapshot: Snapshot, request: RequestSpec): Record<string, string> {
  const p = stage<Filter>(name).prepare({ snapshot, request });
  const out: Record<string, string> = {};
  for (let h = 0; h < snapshot.size; h++) {
    if (!p) out[snapshot.name(h)] = 'skipped';
    else if (p.only && !p.only.hosts.includes(h)) out[snapshot.name(h)] = p.only.status.reason;
    else {
      const s = p.test(h);
      out[snapshot.name(h)] = s.code === 'success' ? 'ok' : s.reason;
    }
  }
  return out;
}

/** host name → [raw weight, normalised score 0..100] over all hosts of the snapshot; null when skipped. */
export function weights(
  name: string,
  snapshot: Snapshot,
  request: RequestSpec,
  args: Record<string, unknown> = {},
): Record<string, [number, number]> | null {
  const p = stage<Weigher>(name, args).prepare({ snapshot, request });
  if (!p) return null;
  const raw = Float64Array.from({ length: snapshot.size }, (_, h) => p.weigh(h));
  const scores = normalise(raw);
  const out: Record<string, [number, number]> = {};
  for (let h = 0; h < snapshot.size; h++) out[snapshot.name(h)] = [raw[h]!, scores[h]!];
  return out;
}
