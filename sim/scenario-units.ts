/**
 * Duration and size syntax of scenario files, and the did-you-mean helper. Pure functions that
 * return a value or a message (the caller places the message at a line and column).
 *
 * - durations: `500ms`, `90s`, `10m`, `2h`, `1d`, compounds like `1h30m`, or plain seconds
 *   (a YAML number or a numeric string); decimals allowed; the result must be whole ms.
 * - sizes: `512MiB`, `64GiB`, `2TiB` (MB/GB/TB are read as MiB/GiB/TiB, as Nova counts), or a
 *   plain number in the unit the key names (`ram_mb`, `disk_gb`).
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return String(v);
}

/** Milliseconds from a duration value. */
export function parseDuration(v: unknown): Parsed<number> {
  const bad: Parsed<number> = {
    ok: false,
    message: `must be a duration like 500ms, 90s, 10m, 2h or plain seconds, got ${describeValue(v)}`,
  };
  let ms: number;
  if (typeof v === 'number') {
    ms = v * 1000;
  } else if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim())) {
    ms = Number(v.trim()) * 1000;
  } else if (typeof v === 'string') {
    const s = v.trim().replace(/\s+/g, '');
    if (s.length === 0) return bad;
    ms = 0;
    DURATION_PART.lastIndex = 0;
    while (DURATION_PART.lastIndex < s.length) {
      const m = DURATION_PART.exec(s);
      if (m === null) return bad;
      ms += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    }
  } else {
    return bad;
  }
  if (!Number.isFinite(ms) || ms < 0)
    return { ok: false, message: `must be a duration >= 0, got ${describeValue(v)}` };
  const rounded = Math.round(ms);
  if (Math.abs(rounded - ms) > 1e-6) {
    return { ok: false, message: `must be a whole number of milliseconds, got ${describeValue(v)}` };
  }
  return { ok: true, value: rounded };
}

/** Human form of a duration, the largest exact unit: 90000 → "90s", 600000 → "10m". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_MIB: Readonly<Record<string, number>> = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 };

/**
 * A size converted to `unit` (MB = MiB or GB = GiB). Plain numbers are taken as `unit` when
 * `plainAllowed` (the key names the unit), and rejected otherwise.
 */
export function parseSize(v: unknown, unit: 'MB' | 'GB', plainAllowed: boolean): Parsed<number> {
  const example = unit === 'MB' ? '4GiB or 512MiB' : '100GiB or 2TiB';
  const plain = plainAllowed ? ` or a plain number of ${unit}` : '';
  const bad: Parsed<number> = {
    ok: false,
    message: `must be a size like ${example}${plain}, got ${describeValue(v)}`,
  };
  let mib: number;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()))) {
    if (!plainAllowed) {
      return {
        ok: false,
        message: `needs a unit (like ${example}), or use the key ending in _${unit.toLowerCase()}`,
      };
    }
    const n = Number(v);
    mib = unit === 'MB' ? n : n * 1024;
  } else if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt])i?b$/i.exec(v.trim());
    if (m === null) return bad;
    mib = Number(m[1]) * SIZE_MIB[m[2]!.toLowerCase()]!;
  } else {
    return bad;
  }
  const out = unit === 'MB' ? mib : mib / 1024;
  if (!Number.isFinite(out) || out < 0) return bad;
  if (!Number.isInteger(out)) {
    return {
      ok: false,
      message: `must be a whole number of ${unit} (${unit === 'MB' ? 'MiB' : 'GiB'}), got ${describeValue(v)}`,
    };
  }
  return { ok: true, value: out };
}

/** Levenshtein distance (insert, delete, substitute: cost 1 each). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** " (did you mean "x"?)" for the closest candidate within distance 2, or "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | null = null;
  let bestD = 3;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best === null ? '' : ` (did you mean "${best}"?)`;
}
