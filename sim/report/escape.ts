/**
 * Escaping for text that comes from users' scenario files (flavor names, failure reasons,
 * cell names): every string that reaches HTML/SVG or a terminal passes through here.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML/SVG element content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Makes a user string safe to print on a terminal: control characters (ESC, CR, BEL…) become
 * visible `\xNN` escapes so a reason string cannot move the cursor or recolour the screen.
 */
export function escapeTerminal(text: unknown): string {
  let out = '';
  for (const ch of String(text)) {
    const code = ch.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    out += control ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

/** Cuts a string to at most `max` characters, ending with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}
