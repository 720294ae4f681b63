import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { createModel } from '../../lib/models/index';
import { TorchBatchNorm } from '../../lib/models/layers';

beforeAll(async () => {
  await initBackend();
});

describe('TorchBatchNorm', () => {
  it('train-mode gradients w.r.t. input, gamma and beta match central finite differences', () => {
    const layer = new TorchBatchNorm({ epsilon: 1e-5, momentum: 0.9 });
    layer.build([null, 3]);
    const x0 = tf.tensor2d([[0.3, -1.2, 2.0], [1.1, 0.4, -0.5], [-0.7, 0.9, 0.2], [0.5, -0.1, 1.4]]);
    const w = tf.tensor2d([[0.2, -0.5, 1.0], [0.7, 0.3, -0.4], [-1.1, 0.6, 0.5], [0.4, -0.9, 0.8]]);
    const params = [[1.5, 0.7, 1.1], [0.1, -0.2, 0.3]];
    const set = (p: number[][]) => layer.setWeights([tf.tensor1d(p[0]!), tf.tensor1d(p[1]!), tf.zeros([3]), tf.ones([3])]);
    // The training-mode output depends on the batch only, so the running-stat updates each call makes do not matter.
    const loss = (x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar;
    set(params);
    const dx = tf.grad(loss)(x0).dataSync();
    const { grads } = tf.variableGrads(() => loss(x0), layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val));
    const dParams = Object.values(grads).map((g) => Array.from(g.dataSync()));
    const h = 1e-2;
    const close = (numeric: number, analytic: number) => expect(Math.abs(numeric - analytic)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    const flat = x0.dataSync();
    for (let i = 0; i < flat.length; i++) {
      const at = (d: number) => loss(tf.tensor(flat.map((v, j) => (j === i ? v + d : v)), x0.shape)).dataSync()[0]!;
      close((at(h) - at(-h)) / (2 * h), dx[i]!);
    }
    params.forEach((row, which) => {
      row.forEach((_, i) => {
        const at = (d: number) => {
          set(params.map((r, k) => r.map((v, j) => (k === which && j === i ? v + d : v))));
          return loss(x0).dataSync()[0]!;
        };
        close((at(h) - at(-h)) / (2 * h), dParams[which]![i]!);
      });
    });
    expect(dParams.flat().some((g) => Math.abs(g) > 0.1)).toBe(true);
  });

  it('a train-mode forward of a whole model leaks no tensors and moves the running statistics', async () => {
    const m = await createModel('resnet34', { head: 'embedding', dim: 16, inputSize: 64, seed: 4 });
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 9);
    const bn = m.model.getLayer('layer1_0_bn1');
    const before = Array.from(bn.getWeights()[2]!.dataSync());
    const n0 = tf.memory().numTensors;
    const y = m.model.apply(x, { training: true }) as tf.Tensor;
    y.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    expect(Array.from(bn.getWeights()[2]!.dataSync())).not.toEqual(before);
    m.model.dispose();
  });
});
