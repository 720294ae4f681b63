/**
 * danfojs views of a dataset for notebooks: one row per item, or image counts per class and split,
 * rendered as HTML tables in tslab.
 *
 *   const df = itemsFrame(readAwa2('data_samples').items);   // columns path, label, name, split
 *   await show(countsFrame(items));                          // in a notebook cell
 */
import { createRequire } from 'node:module';
import type { DataFrame } from 'danfojs-node';
import { type Item, displayName } from './items';
import { tableHtml } from '../html';
import { type FrameLike, show } from '../plots/display';

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

/** An HTML table of the first `limit` rows (with a row count caption), for any notebook or page. */
export function frameHtml(df: DataFrame, opts: { limit?: number } = {}): string {
  const limit = opts.limit ?? 20;
  const caption = `${df.shape[0]} rows${df.shape[0] > limit ? `, first ${limit} shown` : ''}`;
  return tableHtml(df.columns as string[], (df.values as unknown[][]).slice(0, limit), caption);
}

/** Displays a frame as a table in the notebook (through `show`); prints it as text elsewhere. */
export async function showFrame(df: DataFrame, opts: { limit?: number } = {}): Promise<void> {
  await show(df as unknown as FrameLike, { limit: opts.limit ?? 20 });
}
