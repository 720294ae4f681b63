/**
 * The ObjectivesCompared notebook executed for real with the tslab kernel in smoke mode (DEVISE_SMOKE=1: data_samples/,
 * 5 photos per class, 1 seed, 2 epochs; about 40 s of CPU): every objective reports, the table has one row per
 * objective with triplet's "no zero-shot" in words, and the verdict is printed.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OBJECTIVES } from '../../lib/objectives';
import { ROOT, tempDir } from '../helpers';
import { executeNotebook, joinText, outputsOf, privateJupyterPath } from './jupyter';

describe('ObjectivesCompared notebook in smoke mode, real tslab kernel', { timeout: 600_000 }, () => {
  const tmp = tempDir('devise-objectives-nb-');
  afterAll(() => tmp.cleanup());

  it('runs on data_samples/: one table row per objective, the verdict in words, no errors', () => {
    const name = 'ObjectivesCompared.ipynb';
    const run = executeNotebook(path.join(ROOT, 'notebooks', name), path.join(tmp.dir, name), { cwd: path.join(ROOT, 'notebooks'), jupyterPath: privateJupyterPath(tmp.dir), env: { DEVISE_SMOKE: '1' }, timeoutS: 540 });
    expect(run.status, run.log).toBe(0);
    const outputs = outputsOf(run.executed!);
    expect(outputs.filter((o) => o.output_type === 'error' || (o.name === 'stderr' && !/^WARNING: /.test(joinText(o.text))))).toEqual([]);
    const text = outputs.map((o) => joinText(o.text)).join('');
    expect(text).toMatch(/^data_samples: 33 seen classes/m);
    for (const o of OBJECTIVES) expect(text).toMatch(new RegExp(`^seed 0 ${o} +seen [\\d.]+ %`, 'm'));
    const html = outputs.map((o) => joinText(o.data?.['text/html'])).join('');
    expect(html.match(/<tr><td>/g)).toHaveLength(OBJECTIVES.length);
    expect(html).toMatch(/<td>triplet<\/td><td>[\d.]+ \(kNN\)<\/td><td>no zero-shot \(no label vectors\)<\/td>/);
    expect(text).toMatch(/^For zero-shot \(unseen classes named by their label vectors\) use \w+ \([\d.]+ %\).*; chance is 10\.0 %/m);
    expect(text).toMatch(/^For image → image retrieval among known classes use \w+/m);
  });
});
