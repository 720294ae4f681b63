/**
 * The notebooks in real JupyterLab 4 (from .venv/, made by `npm run deps`) driven by headless Chromium, as a
 * user steps through them: every committed notebook opens without being marked changed and a save writes the same
 * bytes; the SqueezeNet notebook (smoke settings) runs through Run → Run All Cells with the devise-ts kernel — no
 * error output, every plotly figure turning into plotly's live chart under the mouse, progress changing in place
 * during a fit, each section's outputs in the notebook Lab saves — then a person changes the stage-1 rate in its
 * cell and reruns from there, and reruns the stage-2 cell twice (one PCA callback, checkpoints named for their
 * phase); the Quickstart runs on that run, and a cell typed into Lab shows live progress and comes back with
 * `pull`; the ObjectivesCompared notebook (smoke: data_samples/, 5 photos per class, 1 seed, 2 epochs) runs all
 * cells: one table row per objective, triplet's "no zero-shot" in words, the verdict printed. The ResNet notebooks
 * are the SqueezeNet notebook's own cells (one source) with a 20× heavier backbone: they are opened and saved here,
 * not run. Screenshots are kept in .cache/test-artifacts/ (paths printed). Skipped, with one line, when .venv/ is
 * absent. (These replace the nbclient runs of the SqueezeNet, Quickstart and ObjectivesCompared notebooks.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLab } from '../../utils/lab';
import { build, NOTEBOOKS, type NotebookSpec, pull, readNotebook, syncState } from '../../utils/notebooks';
import { OBJECTIVES } from '../../lib/objectives';
import { GLOVE_100D_CACHE } from '../../lib/vectors/glove100';
import { ROOT, tempDir } from '../helpers';
import { cellOutputs, figuresOf, htmlOf, joinText, launchChromium, type NotebookJson, outputsOf, PLOTLY_MIME, problems, tinyFitCell } from './jupyter';
import {
  addCellAndRun, cellOutputText, closeNotebook, editCell, executionCount, hoverFigures, isDirty, labInstalled, openNotebook, outputsContent, outputsShown, progressStates, runAll, runMenu, save, selectCell,
  servedFolder, startTestLab, waitForCell, waitForRun, watchProgress,
} from './lab';

const ARTIFACTS = path.join(ROOT, '.cache', 'test-artifacts');
const SQUEEZENET = 'VisualSemanticModels_Squeezenet1_1.ipynb';
/** Every notebook the project builds (NOTEBOOKS), as committed. */
const COMMITTED = NOTEBOOKS.map((n) => path.basename(n.out)).filter((name) => fs.existsSync(path.join(ROOT, 'notebooks', name)));
const log = (line: string) => console.log(line);

/** A screenshot of the page (or one element) kept as a test artifact; its path is printed. */
async function screenshot(target: Page | Locator, name: string): Promise<void> {
  const file = path.join(ARTIFACTS, name);
  await target.screenshot({ path: file });
  console.log(`screenshot: ${file}`);
}

/** The SqueezeNet notebook's sections in order, each with its outputs, in a run's saved notebook (smoke settings). */
function expectSqueezenetSections(nb: NotebookJson): void {
  const outputs = outputsOf(nb);
  expect(problems(outputs)).toEqual([]);
  for (const f of figuresOf(outputs)) expect(Object.keys(f.data!).sort()).toEqual([PLOTLY_MIME, 'image/png', 'text/plain']);
  expect(outputs.some((o) => joinText(o.data?.['text/html']).includes('<script'))).toBe(false);
  const has = (marker: string) => cellOutputs(nb, marker);
  expect(htmlOf(has('data.counts()'))).toContain('<table'); // data
  expect(htmlOf(has('data.showBatch('))).toMatch(/<img src="data:image\/jpeg;base64,/); // showBatch
  expect(figuresOf(has('learn.recorder.plotLr()')).length).toBeGreaterThanOrEqual(1); // lrFind + plot
  expect(htmlOf(has('hyperSearch('))).toMatch(/<th>wd<\/th>/); // the lr × wd grid
  const fitTable = /<th>train_loss<\/th><th>valid_loss<\/th><th>error_rate<\/th>/; // metrics: [errorRate], as the original
  expect(htmlOf(has("checkpoint: 'stage1-frozen'"))).toMatch(fitTable); // fitOneCycle(4, lr)
  expect(figuresOf(has('plotTopLosses(9, { heatmap: true })'))).toHaveLength(1); // top losses with heatmaps
  expect(figuresOf(has('plotConfusionMatrix()'))).toHaveLength(1);
  expect(htmlOf(has('mostConfused(1)'))).toContain('<table');
  expect(htmlOf(has("name: 'unfrozen at the default rate'"))).toMatch(fitTable); // the collapse
  expect(figuresOf(has("learn.load('stage1-frozen')"))).toHaveLength(1); // reload + lrFind
  expect(htmlOf(has("checkpoint: 'stage1-unfrozen'"))).toMatch(fitTable);
  expect(htmlOf(has("checkpoint: 'stage2a'"))).toMatch(/<th>nearest_label_accuracy<\/th>/);
  expect(has("pca.gif('stage2a')").some((o) => o.data?.['image/gif'])).toBe(true); // PCA per epoch
  expect(has("pca.gif('stage2b')").some((o) => o.data?.['image/gif'])).toBe(true);
  expect(figuresOf(has('zeroShotSummary(run, space)'))).toHaveLength(1); // GZSL table
  expect(joinText(has('zeroShotSummary(run, space)').map((o) => joinText(o.text)))).toMatch(/\S/); // the verdict
  expect(htmlOf(has('index.searchKnn('))).toContain('<table'); // the index built by hand with hnswlib's calls
  expect(figuresOf(has('searches.image_to_image'))).toHaveLength(3); // the three searches
  expect(figuresOf(has('photoQueryFigure('))).toHaveLength(2); // own photo + any words
  expect(htmlOf(has('backboneSummary('))).toMatch(/squeezenet1_1[\s\S]*resnet50/); // the conclusion: SqueezeNet 1.1 against ResNet-50
}

/** Index (markdown cells counted, as Lab's DOM counts them) of the code cell whose source contains `marker`. */
function cellIndex(nb: NotebookJson, marker: string): number {
  const i = nb.cells.findIndex((c) => c.cell_type === 'code' && joinText(c.source).includes(marker));
  if (i < 0) throw new Error(`no code cell holds ${marker}`);
  return i;
}

/** The head kind ('classifier' | 'embedding') of each checkpoint in a run folder's models/. */
function checkpointHeads(run: string): Record<string, string> {
  const dir = path.join(run, 'models');
  return Object.fromEntries(fs.readdirSync(dir).filter((name) => fs.existsSync(path.join(dir, name, 'model.json'))).sort().map((name) => {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, name, 'model.json'), 'utf8')) as { userDefinedMetadata?: { devise?: { head?: { kind?: string } } } };
    return [name, meta.userDefinedMetadata?.devise?.head?.kind ?? '?'];
  }));
}

const installed = labInstalled();
if (!installed) console.log('JupyterLab tests skipped: .venv/bin/jupyter-lab is missing (npm run deps creates it).');

/** A tiny fit typed into Lab: a slow loader (0.25 s a batch) so the progress display has time to change. */
const FIT_CELL = `${tinyFitCell({ delayMs: 250, cpu: false })} // added in JupyterLab`;

describe.skipIf(!installed)('JupyterLab 4 with the devise-ts kernel, through its UI', { timeout: 1_800_000 }, () => {
  const tmp = tempDir('devise-lab-');
  let served = '';
  let lab: RunningLab;
  let browser: Browser;
  const run = path.join(tmp.dir, 'run'); // the SqueezeNet notebook's run folder, which the Quickstart then opens

  beforeAll(async () => {
    served = servedFolder();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    lab = await startTestLab(served, { DEVISE_SMOKE: '1', DEVISE_OUT: run });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    fs.rmSync(served, { recursive: true, force: true });
    tmp.cleanup();
  });

  it.each(COMMITTED)('committed %s opens unchanged (kernel connected) and a save in Lab writes the same bytes', async (name) => {
    const committed = fs.readFileSync(path.join(ROOT, 'notebooks', name), 'utf8');
    const file = `committed-${name}`;
    fs.writeFileSync(path.join(served, file), committed);
    const page = await openNotebook(browser, lab, file);
    try {
      await page.waitForTimeout(2000); // the kernel's language_info has arrived: nothing may have changed
      expect(await isDirty(page)).toBe(false);
      await save(page, path.join(served, file));
      const saved = fs.readFileSync(path.join(served, file), 'utf8');
      if (saved !== committed) fs.writeFileSync(path.join(ARTIFACTS, `rewritten-${name}`), saved); // to compare by hand
      const line = saved.split('\n').findIndex((l, i) => l !== committed.split('\n')[i]);
      expect(saved === committed, `a save of the unchanged notebook rewrote it from line ${line + 1}: ${saved.split('\n')[line]?.slice(0, 200)}`).toBe(true);
    } finally {
      await closeNotebook(page, lab);
    }
  });

  it('SqueezeNet: Run All Cells (live figures and progress, every section), then the stage-1 rate changed and rerun from there, and stage 2 rerun twice', async () => {
    const file = path.join(served, SQUEEZENET);
    fs.copyFileSync(path.join(ROOT, 'notebooks', SQUEEZENET), file);
    const source = JSON.parse(fs.readFileSync(file, 'utf8')) as NotebookJson;
    const page = await openNotebook(browser, lab, SQUEEZENET);
    try {
      await watchProgress(page);
      let t0 = Date.now();
      await runAll(page, 1_500_000, log);
      console.log(`SqueezeNet in JupyterLab: Run All Cells took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const shown = await outputsShown(page);
      expect(shown.errors).toEqual([]);
      // Progress changed in place at least twice during one fit (bar with batch count, then the table).
      const fits = (await progressStates(page)).filter((states) => states.some((s) => /train_loss/.test(s)));
      expect(fits.length).toBeGreaterThanOrEqual(5); // stage 1, the collapse, stage 1 unfrozen, 2a, 2b (and the grid's)
      expect(Math.max(...fits.map((states) => states.filter((s) => /\d+\/\d+ \d\d:\d\d/.test(s)).length)), fits.map((f) => f.join(' | ')).join('\n')).toBeGreaterThanOrEqual(2);
      await save(page, file);
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as NotebookJson;
      expectSqueezenetSections(saved);
      expect(shown.plotly).toBe(figuresOf(outputsOf(saved)).length);
      expect(await hoverFigures(page)).toBe(shown.plotly); // every figure live: plotly's own DOM in its output area
      await screenshot(page, 'lab-squeezenet.png');

      // As a person: the stage-1 rate replaced by a number in its cell, that cell and those after it rerun.
      const stage1 = cellIndex(source, "checkpoint: 'stage1-frozen'");
      const stage1Source = joinText(source.cells[stage1]!.source);
      expect(stage1Source).toContain('cfg.epochs.stage1, lr, {');
      expect(await cellOutputText(page, stage1)).toMatch(/stage1-frozen · lr \d\.\de-\d/);
      expect(await cellOutputText(page, stage1)).not.toContain('lr 1.5e-3');
      const last = source.cells.length - 1;
      const lastCount = (await executionCount(page, last))!;
      await editCell(page, stage1, stage1Source.replace('cfg.epochs.stage1, lr, {', 'cfg.epochs.stage1, 1.5e-3, {'));
      t0 = Date.now();
      await runMenu(page, 'Run Selected Cell and All Below');
      await waitForCell(page, last, lastCount, 1_500_000, log);
      console.log(`SqueezeNet in JupyterLab: the stage-1 cell and all below rerun in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      expect((await outputsShown(page)).errors).toEqual([]);
      expect(await cellOutputText(page, stage1)).toContain('stage1-frozen · lr 1.5e-3');
      expect(await executionCount(page, last)).toBeGreaterThan(lastCount);

      // The stage-2 cell twice, then stage 2a: one PCA callback, and each checkpoint holds its phase's model.
      const stage2 = cellIndex(source, 'learn.addCallback(pca)');
      const stage2a = cellIndex(source, "checkpoint: 'stage2a'");
      for (const cell of [stage2, stage2, stage2a]) {
        const before = (await executionCount(page, cell))!;
        await selectCell(page, cell);
        await page.keyboard.press('Control+Enter');
        await waitForCell(page, cell, before, 600_000, log);
        expect((await outputsShown(page)).errors).toEqual([]);
      }
      await addCellAndRun(page, "console.log(`PCA callbacks: ${learn.callbacks.filter((c) => c instanceof EmbeddingSnapshots).length}; stage2a snapshots: ${pca.series['stage2a']?.length} of ${cfg.epochs.stage2a} epochs`);");
      await waitForRun(page, 120_000);
      const probe = await page.locator('.jp-Notebook .jp-CodeCell', { hasText: 'PCA callbacks:' }).last().locator('.jp-OutputArea').textContent();
      expect(probe).toMatch(/PCA callbacks: 1; stage2a snapshots: (\d+) of \1 epochs/);
      expect(checkpointHeads(run)).toMatchObject({
        'stage1-frozen': 'classifier', 'stage1-unfrozen': 'classifier', 'stage1-model': 'classifier', stage2a: 'embedding', stage2b: 'embedding',
      });
      await screenshot(page, 'lab-squeezenet-rerun.png');
    } finally {
      await closeNotebook(page, lab);
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
      await runAll(page, 1_200_000, log);
      console.log(`Quickstart in JupyterLab: Run All Cells took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const shown = await outputsShown(page);
      expect(shown.errors).toEqual([]);
      expect(await cellOutputText(page, 1)).toContain('(notebook)'); // the SqueezeNet notebook's run, not a quick one of its own
      expect(shown.plotly).toBeGreaterThanOrEqual(4); // image → image and the text → image strips
      expect(shown.tables).toBeGreaterThanOrEqual(1); // image → text
      expect(await hoverFigures(page)).toBe(shown.plotly);
      await screenshot(page, 'lab-00_Quickstart.png');

      await watchProgress(page);
      await addCellAndRun(page, FIT_CELL);
      await waitForRun(page, 300_000);
      const displays = await progressStates(page);
      expect(displays).toHaveLength(1);
      const states = displays[0]!;
      expect(states.length, states.join('\n---\n')).toBeGreaterThanOrEqual(3); // changed at least twice during the fit
      expect(states.some((s) => /\d+\/12/.test(s))).toBe(true); // the batch count of 3 epochs × 4 batches
      expect(states[states.length - 1]).toMatch(/train_loss/);
      expect((await outputsShown(page)).errors).toEqual([]);
      // (Shift-Enter on the last cell adds an empty one below it, as Lab does for a person.)
      await screenshot(page.locator('.jp-Notebook .jp-CodeCell', { hasText: 'added in JupyterLab' }), 'lab-fit-cell.png');
      await save(page, spec.out);
    } finally {
      await closeNotebook(page, lab);
    }
    expect(syncState(spec, readNotebook(spec.out))).toBe('notebook edited');
    expect(pull(spec)).toContain(source);
    expect(fs.readFileSync(source, 'utf8')).toContain(`// %%\n${FIT_CELL}\n`);
    expect(syncState(spec, readNotebook(spec.out))).toBe('in sync');
    expect(build(spec).changed).toBe(false); // the edit stays
  });

  // Its labels are glove100 at every setting: `npm run deps` downloads them; without the registry the test skips.
  it.skipIf(!fs.existsSync(GLOVE_100D_CACHE))('ObjectivesCompared: Run All Cells (smoke) gives one table row per objective, triplet without zero-shot in words, and the verdict', async () => {
    const source = path.join(served, 'ObjectivesCompared.nb.ts');
    fs.copyFileSync(path.join(ROOT, 'notebooks', 'ObjectivesCompared.nb.ts'), source);
    const spec: NotebookSpec = { source, out: path.join(served, 'ObjectivesCompared.ipynb'), vars: {} };
    build(spec);
    const page = await openNotebook(browser, lab, 'ObjectivesCompared.ipynb');
    try {
      // A person runs the verdict cell first: it fails at once, saying which names earlier cells define (tslab's check).
      const verdictCell = cellIndex(JSON.parse(fs.readFileSync(spec.out, 'utf8')) as NotebookJson, 'objectivesVerdict(cmp');
      await selectCell(page, verdictCell);
      await page.keyboard.press('Control+Enter');
      await waitForCell(page, verdictCell, 0, 120_000, log);
      const early = (await outputsShown(page)).errors.join('\n');
      expect(early).toMatch(/Cannot find name '(objectivesVerdict|cmp|set)'/);
      const t0 = Date.now();
      await runAll(page, 900_000, log);
      console.log(`ObjectivesCompared in JupyterLab: Run All Cells took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      expect((await outputsShown(page)).errors).toEqual([]);
      const shown = await outputsContent(page);
      expect(shown.text).toMatch(/^data_samples: 33 seen classes/m);
      for (const o of OBJECTIVES) expect(shown.text).toMatch(new RegExp(`^seed 0 ${o} +seen [\\d.]+ %`, 'm'));
      expect(shown.html.match(/<tr><td>/g)).toHaveLength(OBJECTIVES.length);
      expect(shown.html).toMatch(/<td>triplet<\/td><td>[\d.]+ \(kNN\)<\/td><td>no zero-shot \(no label vectors\)<\/td>/);
      expect(shown.text).toMatch(/^For zero-shot \(unseen classes named by their label vectors\) use \w+ \([\d.]+ %\).*; chance is 10\.0 %/m);
      expect(shown.text).toMatch(/^For image → image retrieval among known classes use \w+/m);
      await screenshot(page, 'lab-ObjectivesCompared.png');
    } finally {
      await closeNotebook(page, lab);
    }
  });
});
