/**
 * JupyterLab on the notebooks, with the project's TypeScript kernel: starts `.venv/bin/jupyter-lab` (installed by
 * `npm run deps`) on notebooks/ at 127.0.0.1, registers the `devise-ts` kernel in that venv, and prints the URL
 * with its token. Ctrl-C stops it (Jupyter asks to confirm; twice quits).
 *
 *   npm run lab                              # http://127.0.0.1:8888/lab?token=…, opens a browser
 *   npm run lab -- --port 9000 --no-browser  # Jupyter's own flags
 *
 * Autosave is off in this Lab (an override in the venv, not in your own settings): opening a notebook, reading it
 * or hovering a figure (plotly's renderer re-renders its PNG) never rewrites a committed file; Ctrl-S saves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineCli, runCli, UserError } from '../lib/cli';
import { childEnv } from '../lib/env';
import { KERNEL_NAME, writeKernelSpec } from './kernel';

const ROOT = path.resolve(__dirname, '..');
/** The project-local virtual environment `npm run deps` creates. */
export const VENV = path.join(ROOT, '.venv');

/** Lab settings this project's Lab starts with (the venv's overrides.json; a user's own settings still win). */
export const LAB_OVERRIDES = {
  // Reading must not write: the plotly renderer replaces a figure's PNG when the mouse first passes over it.
  '@jupyterlab/docmanager-extension:plugin': { autosave: false },
  // Long code lines wrap instead of running off the right edge.
  '@jupyterlab/notebook-extension:tracker': { codeCellConfig: { lineWrap: true } },
  // No "Jupyter news?" prompt: nothing here fetches from the internet.
  '@jupyterlab/apputils-extension:notification': { fetchNews: 'false' },
};

/** The venv's jupyter-lab, or a UserError that says how to get it. */
export function labExecutable(venv = VENV): string {
  const exe = path.join(venv, 'bin', 'jupyter-lab');
  if (!fs.existsSync(exe)) throw new UserError(`JupyterLab is not installed in ${path.relative(ROOT, venv) || venv}/`, 'run `npm run deps` (it creates .venv/ with `pip install jupyterlab plotly`)');
  return exe;
}

/** Registers the kernel and writes the Lab overrides inside `venv`. */
export function prepareVenv(venv = VENV): void {
  writeKernelSpec(path.join(venv, 'share', 'jupyter', 'kernels'));
  const settings = path.join(venv, 'share', 'jupyter', 'lab', 'settings');
  fs.mkdirSync(settings, { recursive: true });
  fs.writeFileSync(path.join(settings, 'overrides.json'), `${JSON.stringify(LAB_OVERRIDES, null, 2)}\n`);
}

export interface LabOptions {
  /** The folder Lab serves (default notebooks/). */
  root?: string;
  port: number;
  token: string;
  openBrowser?: boolean;
  venv?: string;
  /** Extra environment for Lab and its kernels. */
  env?: Record<string, string | undefined>;
  /** Lab's stdout/stderr: inherited (the command) or collected (tests). */
  stdio?: 'inherit' | 'pipe';
}

/** The jupyter-lab argument list for these options. */
export function labArgs(o: LabOptions): string[] {
  return [
    '--ip=127.0.0.1', `--port=${o.port}`, '--ServerApp.port_retries=0', `--IdentityProvider.token=${o.token}`,
    `--ServerApp.root_dir=${o.root ?? path.join(ROOT, 'notebooks')}`, `--MultiKernelManager.default_kernel_name=${KERNEL_NAME}`,
    ...(o.openBrowser === false ? ['--no-browser'] : []),
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
  ];
}

/** A running Lab: its URL (with token), its process and a stop that waits for it to exit. */
export interface RunningLab {
  url: string;
  base: string;
  token: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** Starts JupyterLab and resolves once its API answers (rejects with its log when it exits or takes over 120 s). */
export async function startLab(o: LabOptions): Promise<RunningLab> {
  const exe = labExecutable(o.venv);
  prepareVenv(o.venv);
  const proc = spawn(exe, labArgs(o), { cwd: ROOT, env: childEnv(o.env ?? {}), stdio: o.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  const base = `http://127.0.0.1:${o.port}/`;
  const server = await untilServing(proc, `${base}api/status?token=${o.token}`, 'jupyter-lab', 120_000);
  return { url: `${base}lab?token=${o.token}`, base, token: o.token, proc, ...server };
}

/**
 * Waits until a Jupyter server child answers `probe` (rejects with its log when it exits or takes over `timeoutMs`);
 * returns its collected log and a stop that sends SIGTERM, then SIGKILL after 15 s, and waits for the exit.
 */
export async function untilServing(proc: ChildProcess, probe: string, what: string, timeoutMs: number): Promise<{ log(): string; stop(): Promise<void> }> {
  let log = '';
  proc.stdout?.on('data', (d) => (log += d));
  proc.stderr?.on('data', (d) => (log += d));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode})${log ? `:\n${log.slice(-3000)}` : ''}`);
    try {
      if ((await fetch(probe)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${what} did not answer on ${new URL(probe).origin} within ${timeoutMs / 1000} s:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return { log: () => log, stop };
}

export const cli = defineCli({
  command: 'npm run lab --',
  summary: `Starts JupyterLab (from .venv/, made by npm run deps) on notebooks/ at 127.0.0.1 with the '${KERNEL_NAME}' TypeScript kernel, and prints its URL and token. Autosave is off: Ctrl-S saves.`,
  flags: {
    port: { type: 'integer', default: 8888, description: "Jupyter's --port (fails if taken)" },
    'no-browser': { type: 'boolean', description: "Jupyter's --no-browser: do not open a browser" },
  },
  examples: ['npm run lab', 'npm run lab -- --port 9000 --no-browser'],
});

function main(argv: string[]): Promise<void> {
  const { values: a } = cli.parse(argv);
  const token = randomBytes(24).toString('hex');
  return startLab({ port: a.port, token, openBrowser: !a['no-browser'] }).then(
    (lab) =>
      new Promise<void>((resolve, reject) => {
        console.log(`\nJupyterLab on notebooks/ with the '${KERNEL_NAME}' kernel:\n  ${lab.url}\n  token: ${token}\n(Ctrl-C stops it)`);
        // Jupyter handles Ctrl-C itself (it asks to confirm); this process waits for it.
        process.on('SIGINT', () => undefined);
        lab.proc.once('exit', (code, signal) => (code === 0 || signal ? resolve() : reject(new UserError(`jupyter-lab exited with code ${code}`))));
      }),
  );
}

if (require.main === module) runCli(() => main(process.argv.slice(2)));
