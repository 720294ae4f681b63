/** Shared helpers for the test suite: paths, temp dirs and running the project's CLIs. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const SHARED = path.resolve(process.env.DEVISE_SHARED ?? path.join(ROOT, '..', 'shared'));
/** ../shared's real photos: Tiny ImageNet's AWA2 classes in AWA2 layout, and the 20 further animal classes. */
export const TINY_IMAGENET = { awa2: path.join(SHARED, 'data', 'tiny-imagenet-awa2'), animals: path.join(SHARED, 'data', 'tiny-imagenet-animals') };

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'devise-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a TypeScript entry file with tsx, as `npm run` would, and returns its result. */
export function runTs(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, file), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
}
