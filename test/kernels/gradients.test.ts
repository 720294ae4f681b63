/**
 * Every kernel lib/backend/wasm-kernels registers, against the cpu backend on random shapes drawn
 * per run (batch 1–8, kernels 1/3/5/7, strides 1/2, same/valid/explicit padding, non-square inputs,
 * channels 1–64), fresh non-zero data, relative error < 1e-4. Reproduce a failure with the printed
 * DEVISE_TEST_SEED. The native kernels that replace some of these where the addon is built are switched
 * off here (useNativeKernels(false)), so this file always tests the wasm fallback (native.test.ts tests them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf, useNativeKernels } from '../../lib/backend/index';
import { wasmTrainingKernels } from '../../lib/backend/wasm-kernels/index';
import { compare, type ConvCase, expectConvGradients, ConvCoverage, convCase, convTensors, data, int, label, pick, relError, rng, runOn, SEED, size, compareConcat } from './support';

const TOL = 1e-4;
const CASES = 24;
console.log(`wasm kernel tests: DEVISE_TEST_SEED=${SEED}`);

describe('wasm training kernels match the cpu backend', () => {
  beforeAll(() => useNativeKernels(false));
  afterAll(() => useNativeKernels(true));

  it('registers the kernels it tests', () => {
    const names = wasmTrainingKernels.map((k) => k.kernelName);
    expect(names).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'Sum', 'Mean', 'Tile', 'SplitV', 'Concat', 'Identity']));
  });

  it(`Conv2DBackpropFilter and Conv2DBackpropInput on ${CASES} random shapes`, async () => {
    const r = rng(SEED);
    const seen = new ConvCoverage();
    for (let i = 0; i < CASES; i++) {
      const c = convCase(r);
      seen.add(c);
      await expectConvGradients(c, convTensors(r, c), TOL);
    }
    // The draw is random; make sure this run still covered strides and padding kinds.
    expect(seen.stride.size + seen.pad.size, JSON.stringify([...seen.pad])).toBeGreaterThanOrEqual(4);
  });

  it('the 1×1, strided-1×1 and large-padding special cases', async () => {
    const r = rng(SEED + 1);
    const cases: Omit<ConvCase, 'dilation'>[] = [
      { x: [3, 9, 6, 40], f: [1, 1, 40, 24], stride: 1, pad: 'valid', dy: [3, 9, 6, 24] },
      { x: [2, 9, 8, 12], f: [1, 1, 12, 33], stride: 2, pad: 'same', dy: [2, 5, 4, 33] },
      { x: [2, 7, 10, 5], f: [1, 1, 5, 6], stride: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]], dy: [2, 10, 11, 6] },
      { x: [1, 9, 12, 4], f: [3, 3, 4, 5], stride: 2, pad: [[0, 0], [4, 0], [3, 5], [0, 0]], dy: [1, 6, 9, 5] },
      { x: [6, 3, 16, 2], f: [1, 1, 2, 3], stride: 2, pad: [[0, 0], [0, 0], [0, 1], [0, 0]], dy: [6, 2, 9, 3] },
    ];
    for (const c of cases) {
      await expectConvGradients(c, convTensors(r, { ...c, dilation: 1 }), TOL);
    }
  });

  it('MaxPoolGrad on random pools, including ties', async () => {
    const r = rng(SEED + 2);
    for (let i = 0; i < CASES; i++) {
      const k = pick(r, [2, 3, 5]);
      const stride = pick(r, [1, 2]);
      const pad = pick(r, ['same', 'valid'] as const);
      const shape = [int(r, 1, 8), int(r, k, 24), int(r, k, 24), int(r, 1, 64)];
      const values = data(r, size(shape));
      // Repeated values make ties inside windows: the gradient must go to the same cell as on cpu.
      if (i % 3 === 0) for (let j = 0; j < values.length; j++) values[j] = Math.round(values[j]! * 2) / 2 || 0.5;
      const input = { shape, values };
      const y = await runOutput('MaxPool', { x: input }, { filterSize: k, strides: stride, pad });
      const dy = { shape: y.shape, values: data(r, size(y.shape)) };
      const res = await compare('MaxPoolGrad', { dy, input, output: y }, { filterSize: k, strides: stride, pad });
      expect(res.err, label({ shape, k, stride, pad })).toBeLessThan(TOL);
    }
  });

  it('Sum and Mean over leading axes (bias grads, batch-norm moments) and other axes, with keepDims', async () => {
    const r = rng(SEED + 3);
    const shape = [int(r, 1, 8), int(r, 2, 20), int(r, 2, 20), int(r, 1, 64)];
    const x = { shape, values: data(r, size(shape)) };
    for (const kernel of ['Sum', 'Mean']) {
      for (const axis of [[0, 1, 2], [0], [0, 1], [1, 2], [3], [0, 1, 2, 3], [2, 0, 1]]) {
        for (const keepDims of [false, true]) {
          // Relative to the size of a sum of these terms, √Σx² (÷ n for Mean): a signed sum can cancel to near zero,
          // which made max|Σx| a denominator that failed about one seed in ten.
          const n = axis.reduce((p, a) => p * shape[a]!, 1);
          const squares = await runOn('cpu', 'Sum', { x: { shape, values: x.values.map((v) => v * v) } }, { axis, keepDims });
          const scale = Math.sqrt(Math.max(...squares.values[0]!)) / (kernel === 'Mean' ? n : 1);
          const res = await compare(kernel, { x }, { axis, keepDims }, scale);
          expect(res.wasm).toEqual(res.cpu);
          expect(res.err, label({ kernel, shape, axis, keepDims })).toBeLessThan(TOL);
        }
      }
    }
  });

  it('Tile: the batch-norm [1,1,1,C] → [N,H,W,C] broadcast and random reps, float32 and int32', async () => {
    const r = rng(SEED + 5);
    const c = int(r, 1, 64);
    const cases: [number[], number[]][] = [
      [[1, 1, 1, c], [int(r, 1, 8), int(r, 1, 20), int(r, 1, 20), 1]],
      [[int(r, 1, 4), int(r, 1, 5), int(r, 1, 6)], [int(r, 1, 3), int(r, 1, 3), int(r, 1, 3)]],
      [[int(r, 1, 9)], [int(r, 1, 9)]],
      [[2, 3], [1, 1]],
    ];
    for (const [shape, reps] of cases) {
      const res = await compare('Tile', { x: { shape, values: data(r, size(shape)) } }, { reps });
      expect(res.wasm).toEqual(res.cpu);
      expect(res.err, label({ shape, reps })).toBe(0);
    }
    await initBackend({ backend: 'wasm' });
    const t = tf.tile(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), [2, 3]);
    expect(t.arraySync()).toEqual([[1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4], [1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4]]);
    t.dispose();
  });

  it('SplitV and Concat on every axis', async () => {
    const r = rng(SEED + 4);
    const shape = [int(r, 1, 8), int(r, 2, 12), int(r, 2, 12), int(r, 2, 64)];
    const x = { shape, values: data(r, size(shape)) };
    for (let axis = 0; axis < 4; axis++) {
      const first = int(r, 1, shape[axis]! - 1);
      const split = await compare('SplitV', { x }, { numOrSizeSplits: [first, shape[axis]! - first], axis });
      expect(split.wasm).toEqual(split.cpu);
      expect(split.err).toBe(0);
      const other = shape.map((d, i) => (i === axis ? int(r, 1, 5) : d));
      const res = await compareConcat([x, { shape: other, values: data(r, size(other)) }, x], axis);
      expect(res.err).toBe(0);
    }
  });
});

async function runOutput(kernel: string, inputs: Record<string, { shape: number[]; values: Float32Array }>, attrs: object): Promise<{ shape: number[]; values: Float32Array }> {
  const out = await runOn('cpu', kernel, inputs, attrs);
  return { shape: out.shapes[0]!, values: out.values[0]! };
}
