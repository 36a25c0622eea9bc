/**
 * Echoing what a client sent, bounded. Error messages quote the offending value (Nova's
 * "Value: …", Placement's jsonschema details) and the value may be 4,000 levels deep or a
 * megabyte long: a plain recursive repr then overflows the stack (a 500) or sends the whole
 * body back. Both APIs format values and messages through here, so every echo stops at
 * `MAX_ECHO_DEPTH` levels and `MAX_ECHO_CHARS` characters, and every error message at
 * `MAX_ERROR_MESSAGE_CHARS`; what is left out shows as `...`.
 */

/** Levels of a nested value printed in an error message; deeper ones print as `[...]`/`{...}`. */
export const MAX_ECHO_DEPTH = 8;
/** Characters of one echoed value in an error message. */
export const MAX_ECHO_CHARS = 256;
/** Characters of a whole error message (it may quote several values, paths, names). */
export const MAX_ERROR_MESSAGE_CHARS = 2048;

const ELLIPSIS = '...';

/** `python`: Python's repr ('str', True, None, {'k': v}); `json`: JSON text as JSON.stringify writes it. */
export type ReprStyle = 'python' | 'json';

/** `s` cut to `max` characters, `...` marking the cut (never splits a surrogate pair). */
export function boundedText(s: string, max = MAX_ERROR_MESSAGE_CHARS): string {
  if (s.length <= max) return s;
  let end = Math.max(0, max - ELLIPSIS.length);
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end) + ELLIPSIS;
}

const pyString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Appends pieces until the budget is spent; `full` tells the writer to stop early. */
class Budget {
  readonly parts: string[] = [];
  private left: number;
  constructor(max: number) {
    this.left = max;
  }
  get full(): boolean {
    return this.left <= 0;
  }
  add(s: string): void {
    if (this.full) return;
    this.parts.push(s.length > this.left ? s.slice(0, this.left) : s);
    this.left -= s.length;
  }
}

function scalar(v: unknown, style: ReprStyle, maxChars: number): string {
  if (typeof v === 'string') {
    const cut = v.length > maxChars ? v.slice(0, maxChars) : v;
    return style === 'python' ? pyString(cut) : JSON.stringify(cut);
  }
  if (style === 'python') {
    if (v === null || v === undefined) return 'None';
    if (v === true) return 'True';
    if (v === false) return 'False';
    return String(v);
  }
  return v === undefined ? 'null' : String(JSON.stringify(v) ?? String(v));
}

function write(v: unknown, style: ReprStyle, depth: number, out: Budget, maxChars: number): void {
  if (out.full) return;
  if (v === null || typeof v !== 'object') {
    out.add(scalar(v, style, maxChars));
    return;
  }
  const isArray = Array.isArray(v);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (depth >= MAX_ECHO_DEPTH) {
    out.add(`${open}${ELLIPSIS}${close}`);
    return;
  }
  out.add(open);
  // Python's repr separates with ', ' and ': '; JSON.stringify with ',' and ':'.
  const [comma, colon] = style === 'python' ? [', ', ': '] : [',', ':'];
  let first = true;
  if (isArray) {
    for (const x of v as unknown[]) {
      if (out.full) break;
      if (!first) out.add(comma);
      first = false;
      write(x, style, depth + 1, out, maxChars);
    }
  } else {
    for (const k in v as Record<string, unknown>) {
      if (out.full) break;
      if (!Object.hasOwn(v, k)) continue;
      if (!first) out.add(comma);
      first = false;
      out.add(`${scalar(k, style, maxChars)}${colon}`);
      write((v as Record<string, unknown>)[k], style, depth + 1, out, maxChars);
    }
  }
  out.add(close);
}

/**
 * A JSON value as `style` prints it, at most `maxChars` characters (`...` marks a cut) and
 * `MAX_ECHO_DEPTH` levels. Never recurses deeper than that, whatever the value.
 */
export function boundedRepr(v: unknown, style: ReprStyle, maxChars = MAX_ECHO_CHARS): string {
  const out = new Budget(maxChars + 1);
  write(v, style, 0, out, maxChars + 1);
  return boundedText(out.parts.join(''), maxChars);
}
