/**
 * danfojs views of a dataset for notebooks: one row per item, or image counts per class and split,
 * rendered as HTML tables in tslab.
 *
 *   const df = itemsFrame(readAwa2('data_samples').items);   // columns path, label, name, split
 *   showFrame(countsFrame(items));                           // in a tslab cell
 */
import { createRequire } from 'node:module';
import type { DataFrame } from 'danfojs-node';
import { type Item, displayName } from './items';
import { escapeHtml } from '../html';

// danfojs loads a second tfjs on import: only pay for it when a frame is actually wanted.
const requireHere = createRequire(__filename);
const danfo = () => requireHere('danfojs-node') as typeof import('danfojs-node');

/** One row per item: path, label (AWA2 spelling), name (display), split. */
export function itemsFrame(items: readonly Item[]): DataFrame {
  const rows = items.map((it) => ({ path: it.path, label: it.label, name: displayName(it.label), split: it.split }));
  return new (danfo().DataFrame)(rows.length ? rows : [], { columns: ['path', 'label', 'name', 'split'] });
}

/** Image counts with one row per class and one column per split present, plus a total column. */
export function countsFrame(items: readonly Item[]): DataFrame {
  const splits = (['train', 'valid', 'test'] as const).filter((s) => items.some((it) => it.split === s));
  const labels = [...new Set(items.map((it) => it.label))];
  const rows = labels.map((label) => {
    const row: Record<string, string | number> = { label };
    for (const s of splits) row[s] = items.filter((it) => it.label === label && it.split === s).length;
    row.total = items.filter((it) => it.label === label).length;
    return row;
  });
  return new (danfo().DataFrame)(rows, { columns: ['label', ...splits, 'total'] });
}

/** An HTML table of the first `limit` rows (with a row count caption), for tslab or any notebook. */
export function frameHtml(df: DataFrame, opts: { limit?: number } = {}): string {
  const limit = opts.limit ?? 20;
  const columns = df.columns as string[];
  const values = (df.values as unknown[][]).slice(0, limit);
  const head = `<tr>${columns.map((c) => `<th>${escapeHtml(String(c))}</th>`).join('')}</tr>`;
  const body = values.map((row) => `<tr>${row.map((v) => `<td>${escapeHtml(String(v))}</td>`).join('')}</tr>`).join('');
  const caption = `${df.shape[0]} rows${df.shape[0] > limit ? `, first ${limit} shown` : ''}`;
  return `<table class="devise-frame"><caption>${caption}</caption><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** Displays a frame as HTML in a tslab notebook; prints it as text elsewhere (tslab throws outside its kernel). */
export function showFrame(df: DataFrame, opts: { limit?: number } = {}): void {
  try {
    (requireHere('tslab') as { display: { html: (s: string) => void } }).display.html(frameHtml(df, opts));
  } catch {
    df.head(opts.limit ?? 20).print();
  }
}
