/**
 * End-to-end: a small conv net (conv, fire-style concat, max-pool, batch norm, global pool, dense)
 * trained on wasm (with the project's kernels) and on cpu from the same init and data must end at
 * the same weights; and 50 wasm train steps must not leak tensors or memory.
 */
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { data, relError, rng, SEED } from './support';

type SymT = tf.SymbolicTensor;

function smallNet(): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [19, 17, 3] });
  let x = L.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }).apply(input) as SymT;
  const s = L.conv2d({ filters: 4, kernelSize: 1, activation: 'relu' }).apply(x) as SymT;
  const e1 = L.conv2d({ filters: 6, kernelSize: 1, activation: 'relu' }).apply(s) as SymT;
  const e3 = L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(s) as SymT;
  x = L.concatenate().apply([e1, e3]) as SymT;
  x = L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as SymT;
  x = L.conv2d({ filters: 10, kernelSize: 3, padding: 'same', useBias: false }).apply(x) as SymT;
  x = L.batchNormalization().apply(x) as SymT;
  x = L.reLU().apply(x) as SymT;
  x = L.globalAveragePooling2d({}).apply(x) as SymT;
  x = L.dense({ units: 5 }).apply(x) as SymT;
  return tf.model({ inputs: input, outputs: x });
}

/** Trains `steps` SGD steps on `backend` from `init`; returns the final weights (and batch-norm stats). */
async function train(backend: 'wasm' | 'cpu', init: Float32Array[], xs: Float32Array, labels: number[], steps: number): Promise<Float32Array[]> {
  await initBackend({ backend });
  const model = smallNet();
  model.setWeights(model.weights.map((w, i) => tf.tensor(init[i]!, w.shape as number[])));
  const x = tf.tensor4d(xs, [labels.length, 19, 17, 3]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 5);
  const opt = tf.train.sgd(0.1);
  for (let i = 0; i < steps; i++) {
    tf.dispose(opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true) ?? []);
  }
  const out = model.weights.map((w) => w.read().dataSync() as Float32Array);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return out;
}

describe('training on wasm', () => {
  it('ends at the same weights as the cpu backend after 8 steps from the same init', async () => {
    const r = rng(SEED + 10);
    await initBackend({ backend: 'cpu' });
    const probe = smallNet();
    const init = probe.weights.map((w) => data(r, w.shape.reduce((a, b) => a! * b!, 1)!).map((v) => v * 0.5));
    probe.dispose();
    const n = 6;
    const xs = data(r, n * 19 * 17 * 3);
    const labels = Array.from({ length: n }, (_, i) => i % 5);
    const onWasm = await train('wasm', init, xs, labels, 8);
    const onCpu = await train('cpu', init, xs, labels, 8);
    onWasm.forEach((w, i) => {
      expect(relError(w, init[i]!), `weight ${i} must have moved`).toBeGreaterThan(1e-4);
      expect(relError(w, onCpu[i]!), `weight ${i}`).toBeLessThan(1e-3);
    });
  });

  it('50 steps leave numTensors unchanged and RSS flat', async () => {
    await initBackend({ backend: 'wasm' });
    const r = rng(SEED + 11);
    const model = smallNet();
    const x = tf.tensor4d(data(r, 8 * 19 * 17 * 3), [8, 19, 17, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5);
    const opt = tf.train.momentum(0.05, 0.9);
    const step = (): void => tf.dispose(opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true) ?? []);
    for (let i = 0; i < 5; i++) step(); // optimizer slots and the wasm heap reach steady state
    const tensors = tf.memory().numTensors;
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 50; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    const growthMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
    expect(growthMB, `RSS grew ${growthMB.toFixed(1)} MB over 50 steps`).toBeLessThan(16);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });
});
