/**
 * Threaded wasm under Node (lib/backend/threads.ts): the default uses every core (up to 4),
 * DEVISE_WASM_THREADS=1 turns threads off, a bad value is named, and a process that trained on
 * the thread pool still exits by itself.
 */
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runTs } from '../helpers';

const cores = Math.min(4, os.availableParallelism?.() ?? os.cpus().length);

function info(env: NodeJS.ProcessEnv): { threads: number; backend: string; skipped: { why: string }[] } {
  const r = runTs('utils/info.ts', ['--json'], { DEVISE_BACKEND: '', ...env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; backend: string; skipped: { why: string }[] };
}

describe('wasm threads', () => {
  it('default: one XNNPACK thread per core (≤ 4); DEVISE_WASM_THREADS=1 or DEVISE_THREADS=1: one', () => {
    const plain = { DEVISE_NATIVE: '0', DEVISE_THREADS: '' };
    expect(info({ ...plain, DEVISE_WASM_THREADS: '' }).threads).toBe(cores);
    expect(info({ ...plain, DEVISE_WASM_THREADS: '1' }).threads).toBe(1);
    expect(info({ ...plain, DEVISE_WASM_THREADS: '', DEVISE_THREADS: '1' }).threads).toBe(1);
  });

  it('with the native kernels: one OpenMP thread per core (DEVISE_THREADS), the wasm pool stays single', () => {
    const r = info({ DEVISE_NATIVE: '', DEVISE_WASM_THREADS: '', DEVISE_THREADS: '' }) as ReturnType<typeof info> & { native: { kernels: string[]; threads?: number } };
    if (r.native.kernels.length === 0) return; // addon not built: the test above covers this machine
    expect(r.threads).toBe(os.availableParallelism?.() ?? os.cpus().length);
    expect(r.native.threads).toBe(r.threads);
    const one = info({ DEVISE_NATIVE: '', DEVISE_WASM_THREADS: '', DEVISE_THREADS: '1' }) as ReturnType<typeof info> & { native: { threads?: number } };
    expect([one.threads, one.native.threads]).toEqual([1, 1]);
  });

  it('a bad DEVISE_WASM_THREADS stops with the fix instead of silently falling back to the slow cpu backend', () => {
    const r = runTs('utils/info.ts', ['--json'], { DEVISE_BACKEND: '', DEVISE_WASM_THREADS: 'lots' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DEVISE_WASM_THREADS='[^']*' must be a whole number from 1 to 4/);
  });

  it('a train step on the thread pool, then the process exits on its own', () => {
    // runTs's spawn has a timeout: a process kept alive by the pool would fail the status check.
    const r = runTs('bench/index.ts', ['train', '--model', 'squeezenet1_1', '--batch', '2', '--size', '64', '--steps', '1', '--json'],
      { DEVISE_BENCH_NO_TORCH: '1', DEVISE_BACKEND: 'wasm', DEVISE_WASM_THREADS: '', DEVISE_NATIVE: '0', DEVISE_THREADS: '' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; numTensorsDelta: number };
    expect(out.threads).toBe(cores);
    expect(out.numTensorsDelta).toBe(0);
  });
});
