/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** A cell value for people: integers as they are, other numbers to 4 significant digits (or 2-digit exponents). */
export function humanNumber(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(2);
}

/** An HTML table (numbers rounded for people), with an optional caption. */
export function tableHtml(columns: string[], rows: unknown[][], caption?: string): string {
  const head = `<tr>${columns.map((c) => `<th>${escapeHtml(String(c))}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((v) => `<td>${escapeHtml(humanNumber(v))}</td>`).join('')}</tr>`).join('');
  return `<table class="devise-frame">${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<thead>${head}</thead><tbody>${body}</tbody></table>`;
}
