/**
 * The project's notebooks, executed for real in smoke mode (DEVISE_SMOKE=1): headless through Debian's
 * nbclient with the tslab kernel, and the SqueezeNet notebook once more in classic Notebook driven by Chromium.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers';
import { executeNotebook, joinText, launchChromium, type NotebookJson, type NotebookOutput, outputsOf, privateJupyterPath, runAllInBrowser, startNotebookServer } from './jupyter';

const NOTEBOOKS = path.join(ROOT, 'notebooks');
const SQUEEZENET = 'VisualSemanticModels_Squeezenet1_1.ipynb';

/** Error outputs and stderr that is not a plain warning line. */
function problems(outputs: NotebookOutput[]): string[] {
  return outputs
    .filter((o) => o.output_type === 'error' || (o.name === 'stderr' && !/^WARNING: /.test(joinText(o.text))))
    .map((o) => (o.output_type === 'error' ? `${o.ename}` : joinText(o.text)).slice(0, 500));
}

const htmlOf = (outputs: NotebookOutput[]) => outputs.map((o) => joinText(o.data?.['text/html'])).join('\n');

describe('notebooks in smoke mode, real tslab kernel', { timeout: 900_000 }, () => {
  const tmp = tempDir('devise-notebooks-');
  const jupyterPath = privateJupyterPath(tmp.dir);
  const env = { DEVISE_SMOKE: '1', DEVISE_OUT: path.join(tmp.dir, 'run') };
  afterAll(() => tmp.cleanup());

  const execute = (name: string) => {
    const run = executeNotebook(path.join(NOTEBOOKS, name), path.join(tmp.dir, name), { cwd: NOTEBOOKS, jupyterPath, env, timeoutS: 900 });
    expect(run.status, run.log).toBe(0);
    return run.executed!;
  };
  /** Outputs of the code cells whose source contains `marker`. */
  const cellOutputs = (nb: NotebookJson, marker: string) => outputsOf({ ...nb, cells: nb.cells.filter((c) => joinText(c.source).includes(marker)) });

  it('SqueezeNet notebook: every section runs and shows the epoch table, PNG figures and the zero-shot table', () => {
    const nb = execute(SQUEEZENET);
    const outputs = outputsOf(nb);
    expect(problems(outputs)).toEqual([]);
    const html = htmlOf(outputs);
    // Each fit's live table (final state) sits in the cell that ran it: two fits in stage 1, one each in 2a and 2b.
    expect(htmlOf(cellOutputs(nb, 'recipe.stage1()')).match(/<th>train_loss<\/th><th>valid_loss<\/th><th>accuracy<\/th>/g)).toHaveLength(2);
    expect(htmlOf(cellOutputs(nb, 'recipe.stage2a()'))).toMatch(/<th>nearestLabelAccuracy<\/th>/);
    expect(htmlOf(cellOutputs(nb, 'recipe.stage2b()'))).toMatch(/<th>nearestLabelAccuracy<\/th>/);
    expect(html).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/]{1000}/); // static figures rendered in Chromium
    expect(html).toContain('gzsl'); // the zero-shot table
    expect(outputs.some((o) => o.data?.['image/gif'])).toBe(true); // the PCA animation
    expect(outputs.some((o) => o.data?.['image/png'])).toBe(true); // heatmaps
  });

  it('Quickstart notebook: the three searches on the trained run', () => {
    const outputs = outputsOf(execute('00_Quickstart.ipynb'));
    expect(problems(outputs)).toEqual([]);
    expect(htmlOf(outputs)).toContain('seal');
  });

  it('ResNet34 notebook: the same pipeline with the baseline backbone', () => {
    const outputs = outputsOf(execute('VisualSemanticModels_Resnet34.ipynb'));
    expect(problems(outputs)).toEqual([]);
    expect(outputs.map((o) => joinText(o.text)).join('')).toMatch(/resnet34: 87\.9 MB/);
  });

  it('runs the SqueezeNet notebook signed, in classic Notebook driven by headless Chromium', async () => {
    // A copy inside the checkout (the kernel's TypeScript finds node_modules by walking up) beside a `lib` link.
    fs.mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
    const served = fs.mkdtempSync(path.join(ROOT, '.cache', 'nbserve-'));
    fs.copyFileSync(path.join(NOTEBOOKS, SQUEEZENET), path.join(served, SQUEEZENET));
    fs.symlinkSync(path.join(ROOT, 'lib'), path.join(served, 'lib'));
    const sign = spawnSync('/usr/bin/python3', ['-m', 'nbformat.sign', path.join(served, SQUEEZENET)], { encoding: 'utf8', env: { ...process.env, JUPYTER_DATA_DIR: path.join(tmp.dir, 'data') } });
    expect(sign.status, sign.stderr).toBe(0);
    const server = await startNotebookServer(served, jupyterPath, { ...env, JUPYTER_DATA_DIR: path.join(tmp.dir, 'data') });
    const browser = await launchChromium();
    try {
      const run = await runAllInBrowser(browser, server.url, SQUEEZENET, 600_000);
      expect(run.errors).toEqual([]);
      expect(run.stderr.filter((s) => !s.startsWith('WARNING: '))).toEqual([]);
      expect(run.images.some((w) => w > 0) || run.plotlySvgs > 0).toBe(true);
    } finally {
      await browser.close();
      await server.stop();
      fs.rmSync(served, { recursive: true, force: true });
    }
  });
});
