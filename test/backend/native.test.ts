/**
 * How initBackend and `npm run info` report the native kernels: served kernels where the addon is built,
 * the reason (with the fix) where it is hidden or missing, DEVISE_NATIVE=1 failing loudly without it;
 * and the wasm heap guard (a failed allocation is an error that names the 4 GiB limit, not a later crash).
 */
import { describe, expect, it } from 'vitest';
import { initBackend, largestBatch, tf, WASM_HEAP_LIMIT, WasmHeapError } from '../../lib/backend/index';
import { runTs } from '../helpers';

interface Info { backend: string; provider: string; native: { kernels: string[]; why?: string; dnnl?: string } | null }

function info(env: NodeJS.ProcessEnv, args = ['--json']): { status: number | null; stdout: string; stderr: string } {
  return runTs('utils/info.ts', args, { DEVISE_BACKEND: '', DEVISE_THREADS: '', DEVISE_WASM_THREADS: '', ...env });
}

describe('native kernels in initBackend', () => {
  it('DEVISE_NATIVE=0 hides the addon: wasm, with the reason, and the human text says so', () => {
    const r = info({ DEVISE_NATIVE: '0' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Info;
    expect(out).toMatchObject({ backend: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', native: { kernels: [], why: 'hidden by DEVISE_NATIVE=0' } });
    expect(info({ DEVISE_NATIVE: '0' }, []).stdout).toMatch(/^native\s+not used: hidden by DEVISE_NATIVE=0$/m);
  });

  it('by default: native kernels where the addon is built, else the reason with the fix', () => {
    const r = info({ DEVISE_NATIVE: '' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Info;
    expect(out.backend).toBe('wasm');
    if (out.native!.kernels.length) {
      expect(out.provider).toMatch(/devise-native \(oneDNN \d+\.\d+/);
      expect(out.native!.kernels).toEqual(expect.arrayContaining(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad']));
      expect(info({ DEVISE_NATIVE: '' }, []).stdout).toMatch(/^native\s+.*Conv2D, FusedConv2D, .*oneDNN/m);
    } else {
      expect(out.native!.why).toMatch(/native kernels not built.*libdnnl-dev/);
    }
  });

  it('DEVISE_NATIVE=1 requires the addon; a bad value is named', () => {
    const r = info({ DEVISE_NATIVE: '1' });
    const built = r.status === 0 && (JSON.parse(r.stdout) as Info).native!.kernels.length > 0;
    if (!built) expect(r.stderr).toMatch(/DEVISE_NATIVE=1 but native kernels not built/);
    const bad = info({ DEVISE_NATIVE: 'yes' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/DEVISE_NATIVE='[^']*' must be one of: 0, 1/);
  });

  it('the cpu backend reports no native status', async () => {
    expect((await initBackend({ backend: 'cpu' })).native).toBeNull();
  });
});

describe('wasm heap guard', () => {
  it('an allocation past the heap throws WasmHeapError instead of writing at address 0', async () => {
    await initBackend({ backend: 'wasm' });
    const module = (tf.findBackend('wasm') as unknown as { wasm: { _malloc(n: number): number; _free(at: number): void } }).wasm;
    // Three blocks of 0.45 × 4 GiB cannot all fit: the third malloc fails and must not return 0 silently.
    // (One request of ≥ 2 GiB is no test: wasm's malloc reads it as a negative size.)
    const blocks = [module._malloc(0.45 * WASM_HEAP_LIMIT), module._malloc(0.45 * WASM_HEAP_LIMIT)];
    expect(blocks.every((at) => at !== 0)).toBe(true);
    expect(() => module._malloc(0.45 * WASM_HEAP_LIMIT)).toThrow(WasmHeapError);
    for (const at of blocks) module._free(at);
    const t = tf.ones([4]);
    expect(Array.from(t.dataSync())).toEqual([1, 1, 1, 1]);
    t.dispose();
  });

  it('largestBatch extrapolates peak bytes linearly from batch 1 and 2', () => {
    const gib = 2 ** 30;
    expect(largestBatch({ 1: 0.5 * gib, 2: 0.75 * gib }, 16)).toMatchObject({ fits: false, largest: 13 });
    expect(largestBatch({ 1: 0.5 * gib, 2: 0.75 * gib }, 8)).toMatchObject({ fits: true, neededBytes: 2.25 * gib });
  });
});
