/**
 * The native oneDNN kernels (lib/backend/native-kernels) against the cpu backend on random shapes drawn
 * per run (printed seed; DEVISE_TEST_SEED reproduces): Conv2D/FusedConv2D (bias, ReLU) forward, both
 * gradients, strides 1/2, same/valid/explicit padding, 1×1/3×3/5×5/7×7, batch 1–16, dilation, MaxPoolGrad
 * with ties, Sum/Mean over leading axes, Slice/PadV2, FusedBatchNorm and its gradient, training-mode batch norm
 * and the ReLU gradient; relative error < 1e-4, and no call may silently delegate.
 * Skipped (with the reason printed) where the addon is hidden (DEVISE_NATIVE=0) or not built.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormTraining, initBackend, nativeStatus, tf, useNativeKernels } from '../../lib/backend/index';
import { loadNative } from '../../lib/backend/native-kernels/addon';
import { compare, compareConcat, countKernelCalls, type ConvCase, expectConvGradients, ConvCoverage, convCase, convTensors, data, int, label, pick, relError, rng, runOn, SEED, size } from './support';

const TOL = 1e-4;
const CASES = 24;
const status = nativeStatus();
console.log(status.kernels.length ? `native kernel tests: DEVISE_TEST_SEED=${SEED}` : `native kernel tests skipped: ${status.why}`);

/** Runs `check` and asserts no call fell back to the kernel the native one replaced. */
async function allNative(check: () => Promise<void>): Promise<void> {
  const before = nativeStatus().delegated;
  await check();
  expect(nativeStatus().delegated - before, 'calls delegated to the wasm kernels').toBe(0);
}

describe.skipIf(status.kernels.length === 0)('native kernels match the cpu backend', () => {
  beforeAll(async () => {
    useNativeKernels(true);
    await initBackend({ backend: 'wasm' });
  });

  it('serves the convolutions, MaxPoolGrad and Sum/Mean', () => {
    expect(nativeStatus().kernels).toEqual(expect.arrayContaining(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad', 'Sum', 'Mean', 'Slice', 'PadV2', 'FusedBatchNorm', 'DeviseBatchNormGrad', 'DeviseBatchNormTrain', 'DeviseBatchNormTrainGrad', 'DeviseReluGrad']));
  });

  it(`Conv2D, FusedConv2D (bias + ReLU) and both gradients on ${CASES} random shapes`, () => allNative(async () => {
    const r = rng(SEED + 20);
    const seen = new ConvCoverage();
    for (let i = 0; i < CASES; i++) {
      const c = convCase(r);
      seen.add(c);
      const { x, filter, dy } = convTensors(r, c);
      const bias = { shape: [c.f[3]!], values: data(r, c.f[3]!) };
      const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
      const y = await compare('Conv2D', { x, filter }, { ...common, dilations: 1 });
      expect(y.wasm, label(c)).toEqual([c.dy]);
      expect(y.err, `y ${label(c)}`).toBeLessThan(TOL);
      const activation = pick(r, ['linear', 'relu']);
      const fused = await compare('FusedConv2D', { x, filter, bias }, { ...common, dilations: 1, activation });
      expect(fused.err, `fused ${activation} ${label(c)}`).toBeLessThan(TOL);
      await expectConvGradients(c, { x, filter, dy }, TOL);
    }
    expect(seen.stride.size + seen.pad.size, JSON.stringify([...seen.pad])).toBeGreaterThanOrEqual(4);
  }));

  it('the models\' own shapes: 7×7/2 stem, strided 1×1, 3×3/2 with explicit padding, batch 16; dilated Conv2D', () => allNative(async () => {
    const r = rng(SEED + 21);
    const cases: ConvCase[] = [
      { x: [16, 22, 22, 3], f: [7, 7, 3, 8], stride: 2, dilation: 1, pad: [[0, 0], [3, 3], [3, 3], [0, 0]], dy: [16, 11, 11, 8] },
      { x: [16, 8, 8, 16], f: [1, 1, 16, 32], stride: 2, dilation: 1, pad: 'valid', dy: [16, 4, 4, 32] },
      { x: [4, 9, 9, 16], f: [3, 3, 16, 16], stride: 2, dilation: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], dy: [4, 5, 5, 16] },
      { x: [2, 13, 13, 64], f: [1, 1, 64, 16], stride: 1, dilation: 1, pad: 'valid', dy: [2, 13, 13, 16] },
      { x: [3, 9, 11, 4], f: [3, 3, 4, 5], stride: 2, dilation: 1, pad: [[0, 0], [4, 0], [3, 5], [0, 0]], dy: [3, 6, 9, 5] },
    ];
    for (let i = 0; i < 4; i++) cases.push(convCase(r, true));
    for (const c of cases) {
      expect(c.dy, label(c)).toEqual(tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], c.f as [number, number, number, number], c.stride, c.dilation, c.pad).outShape);
      const { x, filter, dy } = convTensors(r, c);
      const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
      expect((await compare('Conv2D', { x, filter }, { ...common, dilations: c.dilation })).err, label(c)).toBeLessThan(TOL);
      if (c.dilation > 1) continue; // tfjs's gradients take no dilation
      expect((await compare('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: c.f })).err, label(c)).toBeLessThan(TOL);
      expect((await compare('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: c.x })).err, label(c)).toBeLessThan(TOL);
    }
  }));

  it('Winograd on 3×3 stride-1 convolutions (ResNet\'s blocks) matches the cpu backend, and is what runs on AVX-512', () => allNative(async () => {
    const r = rng(SEED + 29);
    const { addon } = loadNative();
    const cases: ConvCase[] = [
      { x: [4, 14, 14, 64], f: [3, 3, 64, 64], stride: 1, dilation: 1, pad: 'same', dy: [4, 14, 14, 64] },
      { x: [2, 7, 9, 32], f: [3, 3, 32, 48], stride: 1, dilation: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], dy: [2, 7, 9, 48] },
      { x: [1, 10, 10, 16], f: [3, 3, 16, 16], stride: 1, dilation: 1, pad: 'valid', dy: [1, 8, 8, 16] },
      { x: [3, 6, 5, 8], f: [3, 3, 8, 24], stride: 1, dilation: 1, pad: 'same', dy: [3, 6, 5, 24] }, // < 16 channels in: direct
    ];
    try {
      for (const winograd of [true, false]) {
        addon!.setWinograd(winograd);
        const before = addon!.info().winogradPrimitives;
        for (const c of cases) {
          const t = convTensors(r, c);
          expect((await compare('Conv2D', { x: t.x, filter: t.filter }, { strides: 1, pad: c.pad, dataFormat: 'NHWC', dilations: 1 })).err, `winograd ${winograd} y ${label(c)}`).toBeLessThan(TOL);
          await expectConvGradients(c, t, TOL);
        }
        // Forward, backward data and backward weights of each shape with ≥ 16 channels in and out; none when it is off.
        const made = addon!.info().winogradPrimitives - before;
        if (!winograd) expect(made).toBe(0);
        else if (/^avx512/.test(addon!.info().isa)) expect(made).toBe(3 * cases.filter((c) => c.f[2]! >= 16 && c.f[3]! >= 16).length);
      }
    } finally {
      addon!.setWinograd(true);
    }
  }));

  it('the blocked (any) and timed (auto) activation layouts give the same results', () => allNative(async () => {
    const r = rng(SEED + 27);
    const { addon } = loadNative();
    try {
      for (const format of ['any', 'auto'] as const) {
        addon!.setActivationFormat(format);
        for (let i = 0; i < 6; i++) {
          const c = convCase(r);
          const { x, filter, dy } = convTensors(r, c);
          const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
          expect((await compare('Conv2D', { x, filter }, { ...common, dilations: 1 })).err, `${format} y ${label(c)}`).toBeLessThan(TOL);
          expect((await compare('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: c.f })).err, `${format} dW ${label(c)}`).toBeLessThan(TOL);
          expect((await compare('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: c.x })).err, `${format} dX ${label(c)}`).toBeLessThan(TOL);
        }
      }
    } finally {
      addon!.setActivationFormat('nhwc');
    }
  }));

  it('MaxPoolGrad on random pools, including ties, batch 1–16', () => allNative(async () => {
    const r = rng(SEED + 22);
    for (let i = 0; i < CASES; i++) {
      const k = pick(r, [2, 3, 5]);
      const stride = pick(r, [1, 2]);
      const pad = pick(r, ['same', 'valid'] as const);
      const shape = [pick(r, [1, int(r, 2, 8), 16]), int(r, k, 24), int(r, k, 24), pick(r, [1, int(r, 2, 64), int(r, 65, 150)])];
      const values = data(r, size(shape));
      if (i % 3 === 0) for (let j = 0; j < values.length; j++) values[j] = Math.round(values[j]! * 2) / 2 || 0.5;
      const input = { shape, values };
      const out = await runOn('cpu', 'MaxPool', { x: input }, { filterSize: k, strides: stride, pad });
      const y = { shape: out.shapes[0]!, values: out.values[0]! };
      const dy = { shape: y.shape, values: data(r, size(y.shape)) };
      const res = await compare('MaxPoolGrad', { dy, input, output: y }, { filterSize: k, strides: stride, pad });
      expect(res.err, label({ shape, k, stride, pad })).toBeLessThan(TOL);
    }
  }));

  it('Sum and Mean over leading axes, wide and narrow rows, with keepDims', async () => {
    const r = rng(SEED + 23);
    for (const shape of [[int(r, 1, 16), int(r, 2, 20), int(r, 2, 20), int(r, 1, 64)], [int(r, 1, 4), 3, 3, int(r, 600, 2000)], [int(r, 100, 300), 7]]) {
      const x = { shape, values: data(r, size(shape)) };
      for (const kernel of ['Sum', 'Mean']) {
        for (let lead = 1; lead < shape.length; lead++) {
          const axis = [...Array(lead).keys()];
          await allNative(async () => {
            const res = await compare(kernel, { x }, { axis, keepDims: lead % 2 === 0 });
            expect(res.wasm).toEqual(res.cpu);
            expect(res.err, label({ kernel, shape, axis })).toBeLessThan(TOL);
          });
        }
        // Other axis patterns go to the wasm kernels (and count as delegated).
        const res = await compare(kernel, { x }, { axis: [shape.length - 1], keepDims: false });
        expect(res.err).toBeLessThan(TOL);
      }
    }
  });

  it('Slice and PadV2 on random ranks 1–4 (ResNet\'s explicit padding and its gradient)', () => allNative(async () => {
    const r = rng(SEED + 25);
    for (let i = 0; i < CASES; i++) {
      const rank = int(r, 1, 4);
      const shape = Array.from({ length: rank }, () => int(r, 1, 12));
      const x = { shape, values: data(r, size(shape)) };
      const begin = shape.map((d) => int(r, 0, d - 1));
      const sizes = shape.map((d, k) => int(r, 1, d - begin[k]!));
      const sl = await compare('Slice', { x }, { begin, size: sizes });
      expect(sl.wasm).toEqual(sl.cpu);
      expect(sl.err, label({ shape, begin, sizes })).toBe(0);
      const paddings = shape.map(() => [int(r, 0, 3), int(r, 0, 3)]);
      const constantValue = pick(r, [0, 0, -1.5]);
      const pd = await compare('PadV2', { x }, { paddings, constantValue });
      expect(pd.wasm).toEqual(pd.cpu);
      expect(pd.err, label({ shape, paddings })).toBe(0);
    }
  }));

  it('the FusedBatchNorm gradient (x, mean, variance, scale, offset), alone and through tf.moments, batch 1–16', async () => {
    const r = rng(SEED + 26);
    for (let i = 0; i < 6; i++) {
      const shape = [pick(r, [1, int(r, 2, 8), 16]), int(r, 1, 12), int(r, 1, 12), pick(r, [1, int(r, 2, 64), int(r, 65, 200)])];
      const c = shape[3]!;
      const values = { x: data(r, size(shape)), w: data(r, size(shape)), scale: data(r, c), offset: data(r, c), mean: data(r, c), variance: data(r, c).map(Math.abs) };
      const run = async (backend: 'wasm' | 'cpu'): Promise<Float32Array[]> => {
        await initBackend({ backend });
        const x = tf.tensor(values.x, shape);
        const w = tf.tensor(values.w, shape);
        const [scale, offset, mean, variance] = [values.scale, values.offset, values.mean, values.variance].map((v) => tf.tensor1d(v));
        // (Always with a scale: tfjs's own gradient of a scale-less batchNorm fails, on every backend.)
        const given = tf.grads((xx: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
          tf.sum(tf.mul(tf.batchNorm(xx, m, v, o, s, 1e-5), w)))([x, mean!, variance!, offset!, scale!]);
        const moments = tf.grad((xx: tf.Tensor) => {
          const mv = tf.moments(xx, [0, 1, 2]);
          return tf.sum(tf.mul(tf.batchNorm(xx, mv.mean, mv.variance, offset, scale, 1e-5), w));
        })(x);
        const out = [...given, moments].map((t) => t.dataSync() as Float32Array);
        tf.dispose([x, w, scale!, offset!, mean!, variance!, ...given, moments]);
        return out;
      };
      const { result: onWasm, calls } = await countKernelCalls(['DeviseBatchNormGrad'], () => run('wasm'));
      expect(calls, 'native batch-norm gradient calls').toEqual([2]);
      const onCpu = await run('cpu');
      onWasm.forEach((v, k) => expect(relError(v, onCpu[k]!), label({ shape, output: ['dx', 'dmean', 'dvariance', 'doffset', 'dscale', 'dx via moments'][k] })).toBeLessThan(TOL));
    }
  });

  it('training-mode batch norm (y, mean, variance and the gradients of x, scale, offset) and the ReLU gradient on NHWC activations', async () => {
    const r = rng(SEED + 30);
    for (let i = 0; i < 8; i++) {
      const shape = [pick(r, [1, int(r, 2, 8), 16]), int(r, 1, 12), int(r, 1, 12), pick(r, [1, int(r, 2, 64), int(r, 65, 200)])];
      const c = shape[shape.length - 1]!;
      // Shifted data (mean ≫ spread in some channels) and exact zeros for the ReLU tie.
      const values = { x: data(r, size(shape)).map((v, k) => (k % 7 === 0 ? 0 : v + (k % c < 3 ? 20 : 0))), w: data(r, size(shape)), scale: data(r, c), offset: data(r, c) };
      const run = async (backend: 'wasm' | 'cpu'): Promise<Float32Array[]> => {
        await initBackend({ backend });
        const [x, w] = [tf.tensor(values.x, shape), tf.tensor(values.w, shape)];
        const [scale, offset] = [tf.tensor1d(values.scale), tf.tensor1d(values.offset)];
        const axes = [...Array(shape.length - 1).keys()];
        const forward = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } => {
          const fused = batchNormTraining(xx, s, o, 1e-5);
          expect(fused === undefined, `batchNormTraining on ${backend}, rank ${xx.rank}`).toBe(backend === 'cpu' || xx.rank !== 4);
          if (fused) return fused;
          const { mean, variance } = tf.moments(xx, axes);
          return { y: tf.batchNorm(xx, mean, variance, o, s, 1e-5), mean, variance };
        };
        const stats = tf.tidy(() => { const f = forward(x, scale, offset); return [f.y, f.mean, f.variance]; });
        const grads = tf.grads((xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(tf.relu(forward(xx, s, o).y), w)))([x, scale, offset]);
        const relu = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.relu(xx), w)))(x);
        const out = [...stats, ...grads, relu].map((t) => t.dataSync() as Float32Array);
        tf.dispose([x, w, scale, offset, ...stats, ...grads, relu]);
        return out;
      };
      const { result: onWasm, calls } = await countKernelCalls(['DeviseBatchNormTrainGrad', 'DeviseReluGrad'], () => run('wasm'));
      expect(calls, 'native batch-norm and ReLU gradient calls').toEqual([1, 2]);
      const onCpu = await run('cpu');
      onWasm.forEach((v, k) => expect(relError(v, onCpu[k]!), label({ shape, output: ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset', 'relu dx'][k] })).toBeLessThan(TOL));
    }
  });

  it('SplitV and Concat (threaded block copies) on every axis, up to fire-module sizes', async () => {
    const r = rng(SEED + 32);
    const { addon } = loadNative();
    const copy = addon!.copyBlocks;
    let calls = 0;
    addon!.copyBlocks = (...args) => { calls++; copy(...args); };
    try {
      for (const shape of [[int(r, 1, 4), int(r, 2, 9), int(r, 2, 9), int(r, 2, 64)], [int(r, 8, 16), 27, 27, pick(r, [128, 64])]]) {
        const x = { shape, values: data(r, size(shape)) };
        for (let axis = 0; axis < 4; axis++) {
          const first = int(r, 1, shape[axis]! - 1);
          const split = await compare('SplitV', { x }, { numOrSizeSplits: [first, shape[axis]! - first], axis });
          expect(split.err, label({ shape, axis })).toBe(0);
          const other = shape.map((d, i) => (i === axis ? int(r, 1, 5) : d));
          expect((await compareConcat([x, { shape: other, values: data(r, size(other)) }, x], axis)).err, label({ shape, axis })).toBe(0);
        }
      }
    } finally {
      addon!.copyBlocks = copy;
    }
    expect(calls, 'native block copies (2 shapes × 4 axes × (2 split + 3 concat))').toBe(2 * 4 * 5);
  });

  it('FusedBatchNorm forward with per-channel statistics, with and without scale/offset', () => allNative(async () => {
    const r = rng(SEED + 28);
    for (let i = 0; i < 8; i++) {
      const shape = [pick(r, [1, int(r, 2, 8), 16]), int(r, 1, 12), int(r, 1, 12), int(r, 1, 150)];
      const c = shape[3]!;
      const vec = (): { shape: number[]; values: Float32Array } => ({ shape: [c], values: data(r, c) });
      const inputs: Record<string, { shape: number[]; values: Float32Array }> = {
        x: { shape, values: data(r, size(shape)) }, mean: vec(), variance: { shape: [c], values: data(r, c).map(Math.abs) },
      };
      if (i % 2 === 0) inputs.scale = vec();
      if (i % 4 < 2) inputs.offset = vec();
      const res = await compare('FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 });
      expect(res.err, label({ shape, scale: !!inputs.scale, offset: !!inputs.offset })).toBeLessThan(TOL);
    }
  }));

  it('cases it does not serve (an elu-fused conv) go to the wasm kernel and still match', async () => {
    const r = rng(SEED + 24);
    const x = { shape: [2, 6, 7, 3], values: data(r, 2 * 6 * 7 * 3) };
    const filter = { shape: [3, 3, 3, 4], values: data(r, 3 * 3 * 3 * 4) };
    const bias = { shape: [4], values: data(r, 4) };
    const before = nativeStatus().delegated;
    const res = await compare('FusedConv2D', { x, filter, bias }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'elu' });
    expect(res.err).toBeLessThan(TOL);
    expect(nativeStatus().delegated).toBe(before + 1);
  });
});
