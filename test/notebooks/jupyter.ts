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
import { untilServing } from '../../utils/lab';
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

/**
 * A notebook cell that fits a tiny dense model for 3 epochs × 4 batches through the Learner (so its progress display
 * runs), importing lib/ through a `lib` link beside the notebook; `delayMs` slows each batch down so a browser
 * sees the display change. `cpu` forces tfjs's plain CPU backend (alone in a kernel); without it the cell uses the
 * backend the notebook already has (the CPU backend prints tfjs's "install tfjs-node" banner on stderr).
 */
export function tinyFitCell(opts: { delayMs?: number; cpu?: boolean } = {}): string {
  const { delayMs = 0, cpu = true } = opts;
  return [
    "import { initBackend, tf } from './lib/backend/index';",
    "import { crossEntropy } from './lib/losses';",
    "import { Learner } from './lib/train/learner';",
    "import { accuracy } from './lib/train/metrics';",
    cpu ? "await initBackend({ backend: 'cpu' });" : 'await initBackend();',
    'const x = tf.input({ shape: [4] });',
    "const out = tf.layers.dense({ units: 2, name: 'head' }).apply(x) as tf.SymbolicTensor;",
    "const model = { model: tf.model({ inputs: x, outputs: out }), layerGroups: [['head']] };",
    'const rows = Array.from({ length: 64 }, (_, i) => [i % 2, (i % 3) / 3, 1 - (i % 2), 0.5]);',
    'const loader = { length: 4, setEpoch() {}, async *[Symbol.asyncIterator]() {',
    '  for (let b = 0; b < 64; b += 16) {',
    ...(delayMs ? [`    await new Promise((r) => setTimeout(r, ${delayMs}));`] : []),
    "    yield { x: tf.tensor2d(rows.slice(b, b + 16)), y: tf.tensor1d(rows.slice(b, b + 16).map((r) => r[0]!), 'int32') };",
    '  }',
    '} };',
    "const learn = new Learner({ model, data: { classes: ['a', 'b'], train: loader, valid: loader }, loss: crossEntropy, metrics: [accuracy] });",
    'await learn.fitOneCycle(3, 0.1);',
  ].join('\n');
}

/** A fresh folder inside the checkout (the kernel's TypeScript finds node_modules by walking up) beside a `lib` link. */
export function servedFolder(prefix = 'labserve-'): string {
  fs.mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
  const served = fs.mkdtempSync(path.join(ROOT, '.cache', prefix));
  fs.symlinkSync(path.join(ROOT, 'lib'), path.join(served, 'lib'));
  return served;
}

/** All outputs of a notebook, flattened. */
export const outputsOf = (nb: NotebookJson): NotebookOutput[] => nb.cells.flatMap((c) => c.outputs ?? []);

/** Outputs of the code cells whose source contains `marker`. */
export const cellOutputs = (nb: NotebookJson, marker: string): NotebookOutput[] => outputsOf({ ...nb, cells: nb.cells.filter((c) => c.cell_type === 'code' && joinText(c.source).includes(marker)) });

/** Error outputs and stderr that is not a plain warning line. */
export function problems(outputs: NotebookOutput[]): string[] {
  return outputs
    .filter((o) => o.output_type === 'error' || (o.name === 'stderr' && !/^WARNING: /.test(joinText(o.text))))
    .map((o) => (o.output_type === 'error' ? `${o.ename}` : joinText(o.text)).slice(0, 500));
}

/** The HTML of `outputs`, joined. */
export const htmlOf = (outputs: NotebookOutput[]): string => outputs.map((o) => joinText(o.data?.['text/html'])).join('\n');

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** Outputs that are figures: plotly JSON (interactive) with its PNG. */
export const figuresOf = (outputs: NotebookOutput[]): NotebookOutput[] => outputs.filter((o) => o.data?.[PLOTLY_MIME]);

export async function freePort(): Promise<number> {
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
  const url = `http://127.0.0.1:${port}/`;
  const { stop } = await untilServing(proc, `${url}api`, 'jupyter notebook', 60_000);
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
