/**
 * Test-side harness for JupyterLab 4 driven by headless Chromium: start Lab from the project's .venv on a private
 * folder, open a notebook, wait for the devise-ts kernel, run all cells through the Run menu, and read back what
 * the page shows (errors, stderr, plotly figures, the live progress display's successive states).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startLab, type RunningLab, VENV } from '../../utils/lab';
import { freePort } from './jupyter';
export { servedFolder } from './jupyter';

// The page functions below run in the browser; the project compiles without the DOM library.
declare const window: any;
declare const document: any;

/** Whether `npm run deps` has made the venv with JupyterLab. */
export const labInstalled = (): boolean => fs.existsSync(path.join(VENV, 'bin', 'jupyter-lab'));

/** Lab on `served` with settings, workspaces and runtime files inside `served` (a user's own are not read). */
export async function startTestLab(served: string, env: Record<string, string> = {}): Promise<RunningLab> {
  const own = (d: string) => path.join(served, '.jupyter', d);
  return startLab({
    root: served, port: await freePort(), token: 'devise-test', openBrowser: false, stdio: 'pipe',
    env: { JUPYTER_CONFIG_DIR: own('config'), JUPYTER_RUNTIME_DIR: own('runtime'), JUPYTER_DATA_DIR: own('data'), JUPYTERLAB_SETTINGS_DIR: own('settings'), JUPYTERLAB_WORKSPACES_DIR: own('workspaces'), ...env },
  });
}

/** Opens `file` (relative to Lab's root) in a new page and waits until its kernel is idle. */
export async function openNotebook(browser: Browser, lab: RunningLab, file: string): Promise<Page> {
  // Tall, so a screenshot holds much of the notebook (Lab scrolls inside its own panel, not the page).
  const page = await browser.newPage({ viewport: { width: 1280, height: 2400 } });
  await page.goto(`${lab.base}lab/tree/${file}?token=${lab.token}&reset`);
  await page.waitForSelector('.jp-NotebookPanel .jp-Notebook', { timeout: 180_000 });
  await waitIdle(page, 180_000);
  return page;
}

/** Waits until the status bar says the kernel is idle. */
export async function waitIdle(page: Page, timeout: number): Promise<void> {
  await page.waitForFunction(() => /\| Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent ?? ''), undefined, { timeout, polling: 250 });
}

/** Whether the open notebook's tab shows unsaved changes. */
export const isDirty = (page: Page): Promise<boolean> => page.evaluate(() => !!document.querySelector('.jp-NotebookPanel')?.classList.contains('jp-mod-dirty') || !!document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty'));

/**
 * Records every distinct state of each progress display (an output holding a <progress> bar or an epoch table) as
 * it changes. textContent: a cell scrolled out of view during Run All has no innerText.
 */
export async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const histories = new Map<unknown, string[]>();
    window.__progress = histories;
    const seen = () => {
      for (const o of document.querySelectorAll('.jp-OutputArea-output')) {
        const text = (o.textContent ?? '') as string;
        if (!o.querySelector('progress') && !/train_loss/.test(text)) continue;
        const states = histories.get(o) ?? [];
        if (states[states.length - 1] !== text) histories.set(o, [...states, text]);
      }
    };
    new window.MutationObserver(seen).observe(document.querySelector('.jp-NotebookPanel'), { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

/** The successive states of each progress display seen since {@link watchProgress}, one list per display. */
export const progressStates = (page: Page): Promise<string[][]> => page.evaluate(() => [...(window.__progress as Map<unknown, string[]>).values()]);

/** Code cells run so far, those in total, error outputs, and whether the kernel is idle. */
const runState = (page: Page) =>
  page.evaluate(() => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].filter((c: any) => (c.querySelector('.cm-content')?.textContent ?? '').trim() !== '');
    return {
      done: cells.filter((c: any) => /\[\d+\]/.test(c.querySelector('.jp-InputPrompt')?.textContent ?? '')).length,
      total: cells.length,
      // Errors and stderr, not the library's one-line warnings (Lab stops Run All only at an error).
      // textContent: Lab does not lay out cells scrolled out of view, so their innerText is empty.
      errors: [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].filter((e: any) => !(e.textContent as string).startsWith('WARNING: ')).length as number,
      idle: /\| Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent ?? ''),
      queued: cells.some((c: any) => /\[\*\]/.test(c.querySelector('.jp-InputPrompt')?.textContent ?? '')),
    };
  });

/** Cell `index` of the open notebook (markdown cells count, as in the .ipynb; Lab keeps every cell in the DOM). */
export const cellAt = (page: Page, index: number) => page.locator('.jp-Notebook .jp-Cell').nth(index);

/** The execution count in cell `index`'s prompt (null while blank or queued). */
export async function executionCount(page: Page, index: number): Promise<number | null> {
  const m = /\[(\d+)\]/.exec((await cellAt(page, index).locator('.jp-InputPrompt').textContent()) ?? '');
  return m ? Number(m[1]) : null;
}

/** The text the outputs of cell `index` show. */
export const cellOutputText = async (page: Page, index: number): Promise<string> => (await cellAt(page, index).locator('.jp-OutputArea').textContent()) ?? '';

/** Selects cell `index` as a person does: scrolls to it and clicks its prompt (command mode). */
export async function selectCell(page: Page, index: number): Promise<void> {
  const cell = cellAt(page, index);
  await cell.scrollIntoViewIfNeeded();
  await cell.locator('.jp-InputPrompt').click();
}

/** Replaces the code in cell `index` by typing into its editor (select all, then the new text). */
export async function editCell(page: Page, index: number, code: string): Promise<void> {
  const editor = cellAt(page, index).locator('.cm-content');
  await editor.scrollIntoViewIfNeeded();
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(code);
  await page.keyboard.press('Escape');
}

/** A Run menu item (e.g. 'Run Selected Cell and All Below'), clicked. */
export async function runMenu(page: Page, item: string): Promise<void> {
  await page.click('.lm-MenuBar-item:has-text("Run")');
  await page.getByRole('menuitem', { name: item, exact: true }).click();
}

/**
 * Waits until cell `index` has run again (its execution count passes `above`) and nothing is queued with the
 * kernel idle, or the run stopped at an error (Lab then clears the queue).
 */
export async function waitForCell(page: Page, index: number, above: number, timeoutMs: number, log: (s: string) => void = () => undefined): Promise<void> {
  const t0 = Date.now();
  let lastLog = t0;
  for (;;) {
    await page.waitForTimeout(1000);
    const s = await runState(page);
    const count = await executionCount(page, index);
    if (s.idle && !s.queued && ((count ?? 0) > above || s.errors > 0)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`cell ${index} did not run again within ${timeoutMs / 1000} s (prompt ${count})`);
    if (Date.now() - lastLog > 30_000) {
      lastLog = Date.now();
      log(`  waiting for cell ${index}: ${((lastLog - t0) / 1000).toFixed(0)} s`);
    }
  }
}

/** Run → Run All Cells, then {@link waitForRun}. */
export async function runAll(page: Page, timeoutMs: number, log: (s: string) => void = () => undefined): Promise<void> {
  await runMenu(page, 'Run All Cells');
  await waitForRun(page, timeoutMs, log);
}

/**
 * Waits until every code cell has run and the kernel is idle, or a cell failed (Lab stops there). Logs how far it
 * got every 30 s, since a notebook takes minutes.
 */
export async function waitForRun(page: Page, timeoutMs: number, log: (s: string) => void = () => undefined): Promise<void> {
  const t0 = Date.now();
  let lastLog = t0;
  let stopped = -1; // the run count at which the kernel was last seen idle after an error
  for (;;) {
    await page.waitForTimeout(1000);
    const s = await runState(page);
    if (s.idle && s.done === s.total) return;
    // The kernel is idle for a moment between queued cells: an error ends the wait only if nothing runs after it.
    if (s.idle && s.errors > 0) {
      if (stopped === s.done) return;
      stopped = s.done;
      await page.waitForTimeout(3000);
      continue;
    }
    stopped = -1;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the cells did not finish in ${timeoutMs / 1000} s: ${s.done} of ${s.total} cells ran`);
    if (Date.now() - lastLog > 30_000) {
      lastLog = Date.now();
      log(`  ${s.done}/${s.total} cells after ${((lastLog - t0) / 1000).toFixed(0)} s`);
    }
  }
}

/** What the page shows after a run: error and stderr outputs (text; not the library's `WARNING: ` lines), plotly outputs, HTML tables. */
/** Every output's text (one per line) and every output table's HTML, as Lab shows them. */
export async function outputsContent(page: Page): Promise<{ text: string; html: string }> {
  return page.evaluate(() => ({
    text: Array.from(document.querySelectorAll('.jp-OutputArea-output'), (e: any) => e.textContent as string).join('\n'),
    html: Array.from(document.querySelectorAll('.jp-OutputArea-output table'), (e: any) => e.outerHTML as string).join(''),
  }));
}

export async function outputsShown(page: Page): Promise<{ errors: string[]; plotly: number; tables: number }> {
  return page.evaluate(() => ({
    errors: Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'), (e: any) => e.textContent as string).filter((t) => !t.startsWith('WARNING: ')),
    plotly: document.querySelectorAll('.jp-RenderedPlotly').length as number,
    tables: document.querySelectorAll('.jp-OutputArea-output table').length as number,
  }));
}

/** Closes the notebook's page and shuts down every kernel of `lab` (its REST API): a closed page leaves its kernel running. */
export async function closeNotebook(page: Page, lab: RunningLab): Promise<void> {
  await page.close();
  const kernels = (await (await fetch(`${lab.base}api/kernels?token=${lab.token}`)).json()) as { id: string }[];
  await Promise.all(kernels.map((k) => fetch(`${lab.base}api/kernels/${k.id}?token=${lab.token}`, { method: 'DELETE' })));
}

/**
 * Moves the mouse over every plotly output (the renderer shows the PNG until then, as a user sees it) and waits
 * until each holds plotly's live chart; returns how many do. The mouse goes over the PNG itself (a narrow figure
 * leaves the middle of its output area empty), and away and back again until the chart appears: a move made while
 * Lab re-lays out the output fires no mouseenter.
 */
export async function hoverFigures(page: Page, timeoutPerFigure = 60_000): Promise<number> {
  const figures = page.locator('.jp-RenderedPlotly');
  const n = await figures.count();
  for (let i = 0; i < n; i++) {
    const fig = figures.nth(i);
    const live = fig.locator('.plot-container svg.main-svg').first();
    for (const t0 = Date.now(); !(await live.isVisible()); ) {
      if (Date.now() - t0 > timeoutPerFigure) throw new Error(`plotly figure ${i + 1} of ${n} did not become a live chart under the mouse within ${timeoutPerFigure / 1000} s`);
      await fig.scrollIntoViewIfNeeded();
      const png = fig.locator('img');
      const box = await ((await png.count()) ? png.first() : fig).boundingBox();
      await page.mouse.move(0, 0);
      if (box) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 3 });
      await live.waitFor({ timeout: 3000 }).catch(() => undefined);
    }
  }
  return page.locator('.jp-RenderedPlotly .plot-container').count();
}

/** Adds a code cell below the last one through the UI (keyboard, as a person does) holding `code`, and runs it. */
export async function addCellAndRun(page: Page, code: string): Promise<void> {
  await page.locator('.jp-Notebook .jp-Cell').last().click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Escape');
  await page.keyboard.press('b');
  await page.keyboard.press('Enter');
  // insertText: no auto-closed brackets or auto-indent, so the cell holds exactly `code`.
  await page.keyboard.insertText(code);
  await page.keyboard.press('Shift+Enter');
}

/**
 * File → Save (Ctrl-S), then waits until the server has written `file` (its modification time moves: a clean tab
 * alone does not say the save happened) and the tab is clean.
 */
export async function save(page: Page, file: string): Promise<void> {
  const before = fs.statSync(file).mtimeMs;
  await page.keyboard.press('Control+s');
  for (const t0 = Date.now(); fs.statSync(file).mtimeMs === before; await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() - t0 > 60_000) throw new Error(`Ctrl-S in JupyterLab did not write ${file} within 60 s`);
  }
  await page.waitForFunction(() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty'), undefined, { timeout: 60_000 });
  // The server truncates the file and then writes it (a 2 MB notebook was read empty): wait until it stops changing.
  for (let last = '', t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 300))) {
    const s = fs.statSync(file);
    const now = `${s.size}:${s.mtimeMs}`;
    if (s.size > 0 && now === last) return;
    if (Date.now() - t0 > 60_000) throw new Error(`JupyterLab's save of ${file} did not settle within 60 s`);
    last = now;
  }
}
