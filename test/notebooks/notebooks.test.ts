/**
 * The project's notebooks, executed for real in smoke mode (DEVISE_SMOKE=1): headless through Debian's
 * nbclient with the tslab kernel, and the SqueezeNet notebook once more in classic Notebook driven by Chromium.
 * (sources.test.ts checks the committed files: drift from their sources, size, paths, figure formats.)
 */
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

  const execute = Object.assign((name: string, extra: NodeJS.ProcessEnv = {}) => {
    const run = executeNotebook(path.join(NOTEBOOKS, name), path.join(tmp.dir, name), { cwd: NOTEBOOKS, jupyterPath, env: { ...env, ...extra }, timeoutS: 900 });
    expect(run.status, run.log).toBe(0);
    execute.last = run.executed!;
    return run.executed!;
  }, { last: undefined as NotebookJson | undefined });
  /** Outputs of the code cells whose source contains `marker`. */
  const cellOutputs = (nb: NotebookJson, marker: string) => outputsOf({ ...nb, cells: nb.cells.filter((c) => joinText(c.source).includes(marker)) });

  const PLOTLY = 'application/vnd.plotly.v1+json';
  /** Outputs that are figures: plotly JSON (interactive) with its PNG. */
  const figures = (outputs: NotebookOutput[]) => outputs.filter((o) => o.data?.[PLOTLY]);

  it('SqueezeNet notebook: the original\'s sections in order, each with its outputs; every figure as plotly JSON + PNG', () => {
    const nb = execute(SQUEEZENET);
    const outputs = outputsOf(nb);
    expect(problems(outputs)).toEqual([]);
    for (const f of figures(outputs)) expect(Object.keys(f.data!).sort()).toEqual([PLOTLY, 'image/png', 'text/plain']);
    expect(outputs.some((o) => joinText(o.data?.['text/html']).includes('<script'))).toBe(false);
    const has = (marker: string) => cellOutputs(nb, marker);
    expect(htmlOf(has('data.counts()'))).toContain('<table'); // data
    expect(htmlOf(has('data.showBatch('))).toMatch(/<img src="data:image\/jpeg;base64,/); // showBatch
    expect(figures(has('learn.recorder.plotLr()')).length).toBeGreaterThanOrEqual(1); // lrFind + plot
    expect(htmlOf(has('hyperSearch('))).toMatch(/<th>wd<\/th>/); // the lr × wd grid
    const fitTable = /<th>train_loss<\/th><th>valid_loss<\/th><th>error_rate<\/th>/; // metrics: [errorRate], as the original
    expect(htmlOf(has("checkpoint: 'stage1-frozen'"))).toMatch(fitTable); // fitOneCycle(4, lr)
    expect(figures(has('plotTopLosses(9, { heatmap: true })'))).toHaveLength(1); // top losses with heatmaps
    expect(figures(has('plotConfusionMatrix()'))).toHaveLength(1);
    expect(htmlOf(has('mostConfused(1)'))).toContain('<table');
    expect(htmlOf(has("name: 'unfrozen at the default rate'"))).toMatch(fitTable); // the collapse
    expect(figures(has("learn.load('stage1-frozen')"))).toHaveLength(1); // reload + lrFind
    expect(htmlOf(has("checkpoint: 'stage1-unfrozen'"))).toMatch(fitTable);
    expect(htmlOf(has("checkpoint: 'stage2a'"))).toMatch(/<th>nearest_label_accuracy<\/th>/);
    expect(has("pca.gif('stage2a')").some((o) => o.data?.['image/gif'])).toBe(true); // PCA per epoch
    expect(has("pca.gif('stage2b')").some((o) => o.data?.['image/gif'])).toBe(true);
    expect(figures(has('zeroShotSummary(run, space)'))).toHaveLength(1); // GZSL table
    expect(joinText(has('zeroShotSummary(run, space)').map((o) => joinText(o.text)))).toMatch(/\S/); // the verdict
    expect(htmlOf(has('index.searchKnn('))).toContain('<table'); // the index built by hand with hnswlib's calls
    expect(figures(has('searches.image_to_image'))).toHaveLength(3); // the three searches
    expect(figures(has('photoQueryFigure('))).toHaveLength(2); // own photo + any words
    expect(htmlOf(has('backboneSummary('))).toMatch(/squeezenet1_1[\s\S]*resnet34/); // the conclusion
  });

  it('Quickstart notebook: the three searches on the trained run', () => {
    const outputs = outputsOf(execute('00_Quickstart.ipynb'));
    expect(problems(outputs)).toEqual([]);
    expect(figures(outputs).length).toBeGreaterThanOrEqual(4); // image → image and the text → image strips
    expect(htmlOf(outputs)).toContain('<table'); // image → text
    for (const f of figures(outputs)) expect(Object.keys(f.data!)).toContain('image/png');
  });

  it('ResNet34 notebook: the same cells with the baseline backbone', () => {
    const nb = execute('VisualSemanticModels_Resnet34.ipynb', { DEVISE_SIZE: '64', DEVISE_WEIGHTS: 'none', DEVISE_OUT: path.join(tmp.dir, 'run-resnet34') });
    expect(problems(outputsOf(nb))).toEqual([]);
    expect(htmlOf(cellOutputs(nb, 'backboneSummary('))).toMatch(/resnet34/);
  });

  it('runs the SqueezeNet notebook untrusted in classic Notebook driven by headless Chromium: figures show as PNGs', async () => {
    // A copy inside the checkout (the kernel's TypeScript finds node_modules by walking up) beside a `lib` link.
    fs.mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
    const served = fs.mkdtempSync(path.join(ROOT, '.cache', 'nbserve-'));
    fs.copyFileSync(path.join(NOTEBOOKS, SQUEEZENET), path.join(served, SQUEEZENET));
    fs.symlinkSync(path.join(ROOT, 'lib'), path.join(served, 'lib'));
    // Not signed: no output needs trust (no scripts), so the user's first open looks like this.
    const server = await startNotebookServer(served, jupyterPath, { ...env, JUPYTER_DATA_DIR: path.join(tmp.dir, 'data') });
    const browser = await launchChromium();
    try {
      const run = await runAllInBrowser(browser, server.url, SQUEEZENET, 600_000);
      expect(run.errors).toEqual([]);
      expect(run.stderr.filter((s) => !s.startsWith('WARNING: '))).toEqual([]);
      expect(run.images.filter((w) => w > 0).length).toBeGreaterThanOrEqual(10); // figure PNGs, heatmaps, GIFs, batch
      for (const h of ['Hyperparameter search', 'Stage 1', 'Unfreezing at the default learning rate', 'Stage 2', 'Zero-shot tests', 'The three searches', 'Your own query', 'Conclusion']) expect(run.html).toContain(h);
    } finally {
      await browser.close();
      await server.stop();
      fs.rmSync(served, { recursive: true, force: true });
    }
  });
});
