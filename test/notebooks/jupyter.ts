/**
 * Test-side harness for real Jupyter sessions: a kernelspec in a private JUPYTER_PATH, nbclient
 * execution, and a classic Notebook server on 127.0.0.1 driven by headless Chromium.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { writeKernelSpec } from '../../utils/kernel';
import { ROOT } from '../helpers';
import { CHROMIUM_ARGS, chromiumPath } from '../../lib/plots/render';

// The page functions below run in the browser; the project compiles without the DOM library.
declare const window: any;
declare const document: any;

export interface NotebookOutput { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]>; ename?: string }
export interface NotebookJson { cells: { cell_type: string; source: string | string[]; outputs?: NotebookOutput[] }[]; metadata: Record<string, unknown> }

export const joinText = (v: string | string[] | undefined): string => (Array.isArray(v) ? v.join('') : v ?? '');

/** Writes the project's kernelspec into `<dir>/jupyter/kernels` and returns the JUPYTER_PATH to use. */
export function privateJupyterPath(dir: string): string {
  const jupyterPath = path.join(dir, 'jupyter');
  writeKernelSpec(path.join(jupyterPath, 'kernels'));
  return jupyterPath;
}

/** Executes `notebook` with nbclient from `cwd`; returns the exit status, logs and the executed notebook. */
export function executeNotebook(notebook: string, out: string, opts: { cwd: string; jupyterPath: string; env?: NodeJS.ProcessEnv; timeoutS?: number }) {
  const run = spawnSync('/usr/bin/python3', [path.join(ROOT, 'utils', 'execute-notebook.py'), notebook, out, '--cwd', opts.cwd, '--timeout', String(opts.timeoutS ?? 600)], {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env, JUPYTER_PATH: opts.jupyterPath },
    timeout: ((opts.timeoutS ?? 600) + 120) * 1000,
  });
  const executed = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as NotebookJson) : undefined;
  return { status: run.status, log: `${run.error ?? ''}${run.stdout}\n${run.stderr}`, executed };
}

/** All outputs of a notebook, flattened. */
export const outputsOf = (nb: NotebookJson): NotebookOutput[] => nb.cells.flatMap((c) => c.outputs ?? []);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts Debian's classic `jupyter notebook` on a free 127.0.0.1 port, without token, serving `dir`. */
export async function startNotebookServer(dir: string, jupyterPath: string, env: NodeJS.ProcessEnv = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const runtime = fs.mkdtempSync(path.join(dir, '.runtime-'));
  const proc: ChildProcess = spawn('/usr/bin/jupyter', ['notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', '--NotebookApp.token=', '--NotebookApp.password=', `--notebook-dir=${dir}`, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], {
    env: { ...process.env, ...env, JUPYTER_PATH: jupyterPath, JUPYTER_RUNTIME_DIR: runtime, JUPYTER_CONFIG_DIR: runtime },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout?.on('data', (d) => (log += d));
  proc.stderr?.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`jupyter notebook exited (${proc.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}api`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`jupyter notebook did not answer on ${url} within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { url, stop };
}

/** Headless Debian Chromium with the flags this closed network needs. */
export async function launchChromium(): Promise<Browser> {
  // The library's own Chromium and flags; Playwright gives each launch a fresh temporary profile.
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}

/** What a browser session saw after "run all cells" in classic Notebook. */
export interface BrowserRun { errors: string[]; stderr: string[]; images: number[]; plotlySvgs: number; html: string; consoleErrors: string[] }

/** Opens `notebookPath` (relative to the server root), runs all cells, waits for the kernel to finish. */
export async function runAllInBrowser(browser: Browser, url: string, notebookPath: string, timeoutMs: number): Promise<BrowserRun> {
  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  try {
    await page.goto(`${url}notebooks/${notebookPath}`);
    await page.waitForFunction(() => {
      const J = window.Jupyter;
      return J?.notebook?.kernel?.is_connected?.() && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon');
    }, undefined, { timeout: 60_000 });
    await page.evaluate(() => window.Jupyter.notebook.execute_all_cells());
    await page.waitForFunction(() => {
      const cells = window.Jupyter.notebook.get_cells().filter((c: any) => c.cell_type === 'code');
      const done = cells.every((c: any) => typeof c.input_prompt_number === 'number' || c.get_text().trim() === '');
      return done && document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon');
    }, undefined, { timeout: timeoutMs, polling: 500 });
    return await page.evaluate(() => ({
      errors: Array.from(document.querySelectorAll('.output_error'), (e: any) => e.innerText as string),
      stderr: Array.from(document.querySelectorAll('.output_stderr'), (e: any) => e.innerText as string),
      images: Array.from(document.querySelectorAll('.output_area img'), (i: any) => i.naturalWidth as number),
      plotlySvgs: document.querySelectorAll('.output_area svg.main-svg').length as number,
      html: (document.querySelector('#notebook-container')?.innerHTML ?? '') as string,
      consoleErrors: [] as string[],
    })).then((r) => ({ ...r, consoleErrors }));
  } finally {
    await page.close();
  }
}
