/**
 * The project's notebooks, executed for real in smoke mode (DEVISE_SMOKE=1): the ResNet34 notebook headless through
 * Debian's nbclient with the tslab kernel, and the SqueezeNet notebook in classic Notebook driven by Chromium.
 * The SqueezeNet and Quickstart notebooks' section-by-section checks run in JupyterLab (lab.test.ts), on the
 * notebook Lab saved; sources.test.ts checks the committed files (drift from their sources, size, paths, formats).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers';
import { cellOutputs, executeNotebook, htmlOf, launchChromium, outputsOf, privateJupyterPath, problems, runAllInBrowser, startNotebookServer } from './jupyter';

const NOTEBOOKS = path.join(ROOT, 'notebooks');
const SQUEEZENET = 'VisualSemanticModels_Squeezenet1_1.ipynb';

describe('notebooks in smoke mode, real tslab kernel', { timeout: 900_000 }, () => {
  const tmp = tempDir('devise-notebooks-');
  const jupyterPath = privateJupyterPath(tmp.dir);
  const env = { DEVISE_SMOKE: '1', DEVISE_OUT: path.join(tmp.dir, 'run') };
  afterAll(() => tmp.cleanup());

  const execute = (name: string, extra: NodeJS.ProcessEnv = {}) => {
    const run = executeNotebook(path.join(NOTEBOOKS, name), path.join(tmp.dir, name), { cwd: NOTEBOOKS, jupyterPath, env: { ...env, ...extra }, timeoutS: 900 });
    expect(run.status, run.log).toBe(0);
    return run.executed!;
  };

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
