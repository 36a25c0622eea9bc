/** Small numeric helpers for the bench reports. */

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** 1234567.8 → `1,234,568`. */
export function formatOps(hz: number): string {
  return Math.round(hz).toLocaleString('en-US');
}

/** Three significant digits, e.g. `2.51`, `31.4`, `412`. */
export function formatSig(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(3);
}

export function formatRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : '–';
}
