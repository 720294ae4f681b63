/**
 * The notebooks in real JupyterLab 4 (from .venv/, made by `npm run deps`) driven by headless Chromium, as a
 * user steps through them: a committed notebook opens without being marked changed and a save writes the same
 * bytes; the Quickstart runs through Run → Run All Cells with the devise-ts kernel, with no error output and every
 * plotly figure turning into plotly's live chart under the mouse; a cell typed into Lab runs a fit whose progress
 * display changes in place, is saved, and `pull` carries it into the .nb.ts source. Screenshots are kept in
 * .cache/test-artifacts/ (paths printed). Skipped, with one line, when .venv/ is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLab } from '../../utils/lab';
import { build, type NotebookSpec, pull, readNotebook, syncState } from '../../utils/notebooks';
import { ROOT, tempDir } from '../helpers';
import { launchChromium, tinyFitCell } from './jupyter';
import { addCellAndRun, hoverFigures, isDirty, labInstalled, openNotebook, outputsShown, progressStates, runAll, save, servedFolder, startTestLab, waitForRun, watchProgress } from './lab';

const ARTIFACTS = path.join(ROOT, '.cache', 'test-artifacts');
const installed = labInstalled();
if (!installed) console.log('JupyterLab tests skipped: .venv/bin/jupyter-lab is missing (npm run deps creates it).');

/** A tiny fit typed into Lab: a slow loader (0.25 s a batch) so the progress display has time to change. */
const FIT_CELL = `${tinyFitCell({ delayMs: 250, cpu: false })} // added in JupyterLab`;

describe.skipIf(!installed)('JupyterLab 4 with the devise-ts kernel, through its UI', { timeout: 1_800_000 }, () => {
  const tmp = tempDir('devise-lab-');
  let served = '';
  let lab: RunningLab;
  let browser: Browser;

  beforeAll(async () => {
    served = servedFolder();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    lab = await startTestLab(served, { DEVISE_SMOKE: '1', DEVISE_OUT: path.join(tmp.dir, 'run') });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    fs.rmSync(served, { recursive: true, force: true });
    tmp.cleanup();
  });

  it('a committed notebook opens unchanged (kernel connected) and a save in Lab writes the same bytes', async () => {
    const committed = fs.readFileSync(path.join(ROOT, 'notebooks', '00_Quickstart.ipynb'), 'utf8');
    fs.writeFileSync(path.join(served, 'committed.ipynb'), committed);
    const page = await openNotebook(browser, lab, 'committed.ipynb');
    try {
      await page.waitForTimeout(2000); // the kernel's language_info has arrived: nothing may have changed
      expect(await isDirty(page)).toBe(false);
      await save(page, path.join(served, 'committed.ipynb'));
      expect(fs.readFileSync(path.join(served, 'committed.ipynb'), 'utf8') === committed, 'a save of the unchanged notebook rewrote it').toBe(true);
    } finally {
      await page.close();
    }
  });

  it('Quickstart: Run All Cells gives no error, live plotly figures; a cell added in Lab shows live progress and comes back with pull', async () => {
    // The served notebook is built from a copy of the source, so `pull` writes into that copy.
    const source = path.join(served, '00_Quickstart.nb.ts');
    fs.copyFileSync(path.join(ROOT, 'notebooks', '00_Quickstart.nb.ts'), source);
    const spec: NotebookSpec = { source, out: path.join(served, '00_Quickstart.ipynb'), vars: {} };
    build(spec);
    const page = await openNotebook(browser, lab, '00_Quickstart.ipynb');
    try {
      const t0 = Date.now();
      await runAll(page, 1_200_000, (line) => console.log(line));
      console.log(`Quickstart in JupyterLab: Run All Cells took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const shown = await outputsShown(page);
      expect(shown.errors.filter((e) => !e.startsWith('WARNING: '))).toEqual([]);
      expect(shown.plotly).toBeGreaterThanOrEqual(4); // image → image and the text → image strips
      expect(await hoverFigures(page)).toBe(shown.plotly);
      const shot = path.join(ARTIFACTS, 'lab-00_Quickstart.png');
      await page.screenshot({ path: shot });
      console.log(`screenshot: ${shot}`);

      await watchProgress(page);
      await addCellAndRun(page, FIT_CELL);
      await waitForRun(page, 300_000);
      const states = await progressStates(page);
      expect(states.length, states.join('\n---\n')).toBeGreaterThanOrEqual(3); // changed at least twice during the fit
      expect(states.some((s) => /\d+\/12/.test(s))).toBe(true); // the batch count of 3 epochs × 4 batches
      expect(states[states.length - 1]).toMatch(/train_loss/);
      expect((await outputsShown(page)).errors.filter((e) => !e.startsWith('WARNING: '))).toEqual([]);
      const fitShot = path.join(ARTIFACTS, 'lab-fit-cell.png');
      // (Shift-Enter on the last cell adds an empty one below it, as Lab does for a person.)
      await page.locator('.jp-Notebook .jp-CodeCell', { hasText: 'added in JupyterLab' }).screenshot({ path: fitShot });
      console.log(`screenshot: ${fitShot}`);
      await save(page, spec.out);
    } finally {
      await page.close();
    }
    expect(syncState(spec, readNotebook(spec.out))).toBe('notebook edited');
    expect(pull(spec)).toContain(source);
    expect(fs.readFileSync(source, 'utf8')).toContain(`// %%\n${FIT_CELL}\n`);
    expect(syncState(spec, readNotebook(spec.out))).toBe('in sync');
    expect(build(spec).changed).toBe(false); // the edit stays
  });
});
