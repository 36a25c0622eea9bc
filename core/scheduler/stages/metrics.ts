/**
 * metrics — Nova's MetricsWeigher: raw weight = Σ ratio × metric over the configured metrics
 * (`settings: { 'cpu.percent': -1, … }`, Nova's `[metrics] weight_setting`). A host missing any
 * of them weighs `weightOfUnavailable` (Nova's default -10000). No settings: the stage is skipped.
 */

import { argError, numberArg, onlyKeys, type RawArgs } from '../args.ts';
import { defineStage, type Weigher } from '../stage.ts';

const NAME = 'metrics';
export const METRICS_WEIGHT_OF_UNAVAILABLE = -10_000;

export interface MetricsArgs {
  readonly multiplier: number;
  readonly settings: readonly { readonly metric: string; readonly ratio: number }[];
  readonly weightOfUnavailable: number;
}

function parseArgs(raw: RawArgs): MetricsArgs {
  onlyKeys(NAME, raw, ['multiplier', 'settings', 'weightOfUnavailable']);
  const s = raw.settings ?? {};
  if (typeof s !== 'object' || s === null || Array.isArray(s)) {
    throw argError(NAME, 'settings must be an object of metric name → ratio');
  }
  const settings = Object.entries(s).map(([metric, ratio]) => {
    if (typeof ratio !== 'number' || !Number.isFinite(ratio))
      throw argError(NAME, `ratio of ${metric} must be finite`);
    return { metric, ratio };
  });
  return {
    multiplier: numberArg(NAME, raw, 'multiplier', 1.0),
    settings,
    weightOfUnavailable: numberArg(NAME, raw, 'weightOfUnavailable', METRICS_WEIGHT_OF_UNAVAILABLE),
  };
}

export const metricsWeigher = defineStage<MetricsArgs>({
  name: NAME,
  kind: 'weigher',
  doc: 'weighted sum of host metrics (settings: metric → ratio)',
  parseArgs,
  create: ({ multiplier, settings, weightOfUnavailable }): Weigher => ({
    kind: 'weigher',
    name: NAME,
    multiplier,
    prepare({ snapshot }) {
      if (settings.length === 0) return null;
      const cols = settings.map((s) => snapshot.cols.metrics.get(s.metric));
      const ratios = settings.map((s) => s.ratio);
      return {
        weigh(h) {
          let w = 0;
          for (let i = 0; i < cols.length; i++) {
            const v = cols[i]?.[h];
            if (v === undefined || Number.isNaN(v)) return weightOfUnavailable;
            w += ratios[i]! * v;
          }
          return w;
        },
      };
    },
  }),
});
