import { afterEach, describe, expect, it } from 'vitest';
import { initBackend, registerCustomKernels, tf } from '../../lib/index';
import { runTs } from '../helpers';

describe('initBackend', () => {
  const savedEnv = process.env.DEVISE_BACKEND;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.DEVISE_BACKEND;
    else process.env.DEVISE_BACKEND = savedEnv;
  });

  it('chooses wasm when no native binding is installed, and says why the native ones were skipped', async () => {
    delete process.env.DEVISE_BACKEND;
    const info = await initBackend();
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.tfjs).toBe(tf.version.tfjs);
    expect(info.skipped.map((s) => s.provider)).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    // danfojs-node's alias makes `require('@tensorflow/tfjs-node')` succeed with plain tfjs: it must not count.
    expect(info.skipped[1]!.why).toMatch(/no native `tensorflow` backend registered|not installed/);
    expect(tf.engine().registryFactory['tensorflow']).toBeUndefined();
  });

  it('computes on the chosen backend', async () => {
    await initBackend();
    const y = tf.tidy(() => tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 2]) as tf.Tensor4D, 1, 'same'));
    expect(Array.from(await y.data()).slice(0, 4)).toEqual([4, 4, 6, 6]);
    y.dispose();
  });

  it('DEVISE_BACKEND=cpu forces cpu, and switching back works', async () => {
    process.env.DEVISE_BACKEND = 'cpu';
    expect((await initBackend()).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend({ backend: 'wasm' })).backend).toBe('wasm');
  });

  it('a forced unavailable backend fails with an error naming it and why', async () => {
    await expect(initBackend({ backend: 'tensorflow' })).rejects.toThrow(/Backend 'tensorflow' was requested.*unavailable[\s\S]*tfjs-node-gpu: not installed/);
    process.env.DEVISE_BACKEND = 'webgpu';
    await expect(initBackend()).rejects.toThrow(/Unknown backend 'webgpu' \(from DEVISE_BACKEND\); use one of tensorflow, wasm, cpu/);
  });

  it('registers a custom kernel once however often it is asked', async () => {
    await initBackend({ backend: 'wasm' });
    const config: tf.KernelConfig = { kernelName: 'DeviseTestKernel', backendName: 'wasm', kernelFunc: () => [] as tf.TensorInfo[] };
    expect(registerCustomKernels([config])).toEqual(['DeviseTestKernel']);
    expect(registerCustomKernels([config])).toEqual([]);
    expect(tf.getKernel('DeviseTestKernel', 'wasm')).toBeDefined();
  });
});

describe('npm run info', () => {
  it('--json reports wasm, threads and the tfjs version', () => {
    const run = runTs('utils/info.ts', ['--json'], { DEVISE_BACKEND: '' });
    expect(run.status, run.stderr).toBe(0);
    const info = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ backend: 'wasm', tfjs: tf.version.tfjs });
    expect(info.threads).toEqual(expect.any(Number));
  });

  it('human text names the backend and the skipped bindings', () => {
    const run = runTs('utils/info.ts', [], { DEVISE_BACKEND: 'cpu' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^backend\s+cpu/m);
  });

  it('exits 1 with the reason when the forced backend is missing', () => {
    const run = runTs('utils/info.ts', ['--json'], { DEVISE_BACKEND: 'tensorflow' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Backend 'tensorflow' was requested (DEVISE_BACKEND)");
  });
});
