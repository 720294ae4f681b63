/** Running the CLIs as a user does (npm scripts, node --import tsx) and signalling them like a terminal. */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers';

/**
 * Environment that preloads test/hooks/batch-pause.ts into the command: after every training batch it prints
 * `test: <phase> batch <n> done` and pauses `ms`, so a test can signal at a known point.
 */
export function pauseAfterEachBatch(ms: number): NodeJS.ProcessEnv {
  return { PAUSE_MS: String(ms), NODE_OPTIONS: `--require tsx/cjs --require ${path.join(ROOT, 'test', 'hooks', 'batch-pause.ts')}` };
}

/** One thread everywhere: runs are bit-for-bit reproducible, so a resumed run can be compared with an uninterrupted one. */
export const ONE_THREAD = { DEVISE_WASM_THREADS: '1', DEVISE_THREADS: '1' };

/** `node --import tsx <file> ...args` (what the npm scripts run), synchronously. */
export function runNode(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = ROOT): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, file), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DEVISE_DEBUG: '', PWD: cwd, ...env }, // PWD: as a shell started in cwd sets it
    timeout: 300_000,
  });
}

/** `npm run <script> -- ...args` from `cwd` (default the repository root), synchronously. */
export function npmRun(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = ROOT): SpawnSyncReturns<string> {
  return spawnSync('npm', ['run', '--silent', script, '--', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DEVISE_DEBUG: '', PWD: cwd, ...env }, // PWD: as a shell started in cwd sets it
    timeout: 600_000,
  });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
  stdout: string;
}

/**
 * Starts `npm run <script> -- ...args` in its own process group (as a terminal's foreground job is) and calls
 * `when(output)` on every chunk; when it returns a signal, that signal goes to the whole group, as Ctrl-C in a
 * terminal does (npm, its shell and node all receive it). Resolves when npm exits.
 */
export function npmRunSignalled(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  when: (output: string) => NodeJS.Signals | undefined | Promise<NodeJS.Signals | undefined>,
  /** Called once after the signal was sent, with the process group id (e.g. to send a second one). */
  after?: (group: number) => Promise<void>,
): Promise<Finished & { signalled: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEVISE_DEBUG: '', PWD: ROOT, ...env }, // PWD: as a shell started in cwd sets it
    });
    let output = '';
    let stdout = '';
    let signalled = false;
    let checking = false;
    const check = async (): Promise<void> => {
      if (signalled || checking) return;
      checking = true;
      try {
        const sig = await when(output);
        if (sig && !signalled && child.exitCode === null) {
          signalled = true;
          process.kill(-child.pid!, sig);
          if (after) void after(child.pid!).catch(() => {});
        }
      } finally {
        checking = false;
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      stdout += d.toString();
      void check();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      void check();
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`npm run ${script} did not finish in 8 minutes:\n${output}`));
    }, 480_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, stdout, signalled });
    });
  });
}

/** How npm reports a script stopped by Ctrl-C: npm dies of SIGINT itself after its script exits 130, or exits 130. */
export function exitedInterrupted(r: { code: number | null; signal: NodeJS.Signals | null }): boolean {
  return r.code === 130 || r.signal === 'SIGINT';
}

/** The last JSON object a `--json` run printed on stdout. */
export function lastJson<T = Record<string, unknown>>(stdout: string): T {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no JSON line in:\n${stdout}`);
  return JSON.parse(line) as T;
}

/** A small folder-per-class set (4 classes × 10 images of data_samples), for runs of a few seconds. */
export function tinySet(dir: string, classes = ['tiger', 'rabbit', 'pig', 'mouse']): string {
  for (const c of classes) {
    const from = path.join(ROOT, 'data_samples', 'JPEGImages', c);
    fs.mkdirSync(path.join(dir, c), { recursive: true });
    for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(dir, c, f));
  }
  return dir;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
