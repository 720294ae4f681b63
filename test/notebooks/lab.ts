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

/** Records every distinct state of progress displays (outputs holding a <progress> bar or an epoch table) as it changes. */
export async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.__progress = [] as string[];
    const seen = () => {
      for (const o of document.querySelectorAll('.jp-OutputArea-output')) {
        const text = (o.innerText ?? '') as string;
        if ((o.querySelector('progress') || /train_loss/.test(text)) && window.__progress[window.__progress.length - 1] !== text) window.__progress.push(text);
      }
    };
    new window.MutationObserver(seen).observe(document.querySelector('.jp-NotebookPanel'), { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

export const progressStates = (page: Page): Promise<string[]> => page.evaluate(() => window.__progress as string[]);

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
    };
  });

/** Run → Run All Cells, then {@link waitForRun}. */
export async function runAll(page: Page, timeoutMs: number, log: (s: string) => void = () => undefined): Promise<void> {
  await page.click('.lm-MenuBar-item:has-text("Run")');
  await page.getByRole('menuitem', { name: 'Run All Cells', exact: true }).click();
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

/** What the page shows after a run: error and stderr outputs (text), plotly outputs. */
export async function outputsShown(page: Page): Promise<{ errors: string[]; plotly: number }> {
  return page.evaluate(() => ({
    errors: Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'), (e: any) => e.textContent as string),
    plotly: document.querySelectorAll('.jp-RenderedPlotly').length as number,
  }));
}

/**
 * Moves the mouse over every plotly output (the renderer shows the PNG until then, as a user sees it) and waits
 * until each holds plotly's live chart; returns how many do.
 */
export async function hoverFigures(page: Page, timeoutPerFigure = 60_000): Promise<number> {
  const figures = page.locator('.jp-RenderedPlotly');
  const n = await figures.count();
  for (let i = 0; i < n; i++) {
    const fig = figures.nth(i);
    await fig.scrollIntoViewIfNeeded();
    await fig.hover();
    await fig.locator('.plot-container svg.main-svg').first().waitFor({ timeout: timeoutPerFigure });
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
}
