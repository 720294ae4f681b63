import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countsFrame, frameHtml, itemsFrame } from '../../lib/data/frame';
import type { Item } from '../../lib/data/items';
import { ROOT, tempDir } from '../helpers';
import { executeNotebook, joinText, outputsOf, privateJupyterPath } from '../notebooks/jupyter';

const items: Item[] = [
  { path: '/d/train/grizzly+bear/a.jpg', label: 'grizzly+bear', split: 'train' },
  { path: '/d/train/grizzly+bear/b.jpg', label: 'grizzly+bear', split: 'train' },
  { path: '/d/valid/grizzly+bear/c.jpg', label: 'grizzly+bear', split: 'valid' },
  { path: '/d/train/fox/<odd>.jpg', label: 'fox', split: 'train' },
];

describe('danfojs views', () => {
  it('itemsFrame has path, label, display name and split per item', () => {
    const df = itemsFrame(items);
    expect(df.shape).toEqual([4, 4]);
    expect(df.columns).toEqual(['path', 'label', 'name', 'split']);
    expect(df.values[0]).toEqual(['/d/train/grizzly+bear/a.jpg', 'grizzly+bear', 'grizzly bear', 'train']);
  });

  it('countsFrame counts per class and split; frameHtml escapes and limits rows', () => {
    const counts = countsFrame(items);
    expect(counts.columns).toEqual(['label', 'train', 'valid', 'total']);
    expect(counts.values).toEqual([['grizzly+bear', 2, 1, 3], ['fox', 1, 0, 1]]);
    const html = frameHtml(itemsFrame(items), { limit: 3 });
    expect(html).toMatch(/^<table/);
    expect(html).toContain('<th>split</th>');
    expect(html).toContain('4 rows, first 3 shown');
    expect((html.match(/<tr>/g) ?? []).length).toBe(4); // header + 3 rows
    expect(frameHtml(itemsFrame(items))).toContain('&lt;odd&gt;.jpg');
  });
});

describe('in a real tslab kernel', () => {
  const tmp = tempDir('devise-frame-nb-');
  afterAll(() => tmp.cleanup());

  it('showFrame renders the class counts of data_samples as an HTML table', () => {
    const nb = {
      cells: [
        {
          cell_type: 'code',
          metadata: {},
          outputs: [],
          execution_count: null,
          source: ["import { readAwa2 } from './lib/data/awa2';\n", "import { countsFrame, showFrame } from './lib/data/frame';\n", "showFrame(countsFrame(readAwa2('../data_samples').items), { limit: 50 });\n"],
        },
      ],
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    const file = path.join(tmp.dir, 'frame.ipynb');
    fs.writeFileSync(file, JSON.stringify(nb));
    const out = path.join(tmp.dir, 'executed.ipynb');
    // From notebooks/, so './lib/...' goes through the committed notebooks/lib link, as real notebooks do.
    const run = executeNotebook(file, out, { cwd: path.join(ROOT, 'notebooks'), jupyterPath: privateJupyterPath(tmp.dir), env: { PATH: '/usr/bin:/bin' }, timeoutS: 120 });
    expect(run.status, run.log).toBe(0);
    const html = outputsOf(run.executed!).map((o) => joinText(o.data?.['text/html'])).join('');
    // Through show(): one HTML table with a row per class of data_samples (43).
    expect(html).toMatch(/^<table class="devise-frame">/);
    expect(html.match(/<tr><td>/g)).toHaveLength(43);
    expect(html).toMatch(/<tr><td>giant\+panda<\/td><td>0<\/td><td>5<\/td><td>5<\/td><\/tr>/);
  });
});
