/**
 * Test-side adapters for the Learner: a small tf.layers model shaped like a CnnModel (two layer
 * groups, BatchNorm in the body) and an in-memory, seeded DataBunch built from tensors. They stand in
 * for lib/models and lib/data where a test is about the Learner alone.
 */
import { tf } from '../../lib/backend/index';
import type { TrainData, TrainLoader, TrainModel } from '../../lib/train/types';
import { Rng } from '../../lib/data/rng';

/** A seeded uniform [0, 1) stream: the library's own mulberry32 (lib/data/rng.ts). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** A dense net `in → body(dense+BN+relu) → head(dense)`; groups [[body_fc, body_bn], [head_fc]]. */
export function denseModel(inputs: number, classes: number, seed = 1, hidden = 16): TrainModel {
  const x = tf.input({ shape: [inputs] });
  let h = tf.layers.dense({ units: hidden, name: 'body_fc', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'body_bn' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.activation({ activation: 'relu', name: 'body_relu' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, name: 'head_fc', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h) as tf.SymbolicTensor;
  return { model: tf.model({ inputs: x, outputs: out }), layerGroups: [['body_fc', 'body_bn', 'body_relu'], ['head_fc']], head: { kind: 'classifier', units: classes } };
}

/** Gaussian blobs: class c centred at a seeded random point; `n` rows of `dim` features. */
export function blobs(n: number, dim: number, classes: number, seed = 0, spread = 0.6): { x: Float32Array; y: Int32Array } {
  const r = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => gauss() * 2));
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let d = 0; d < dim; d++) x[i * dim + d] = centres[y[i]!]![d]! + gauss() * spread;
  }
  return { x, y };
}

/** A loader over rows of `x`/`y`, shuffled per (seed, epoch) when `shuffle`. */
export function memoryLoader(x: Float32Array, y: Int32Array, dim: number, bs: number, shuffle: boolean, seed = 0): TrainLoader & { epoch: number } {
  const n = y.length;
  const loader = {
    epoch: 0,
    length: Math.ceil(n / bs),
    setEpoch(e: number) {
      loader.epoch = e;
    },
    async *[Symbol.asyncIterator]() {
      const order = Array.from({ length: n }, (_, i) => i);
      if (shuffle) {
        const r = rng(seed * 7919 + loader.epoch + 1);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(r() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      for (let b = 0; b < n; b += bs) {
        const idx = order.slice(b, b + bs);
        const xb = new Float32Array(idx.length * dim);
        idx.forEach((k, i) => xb.set(x.subarray(k * dim, (k + 1) * dim), i * dim));
        yield { x: tf.tensor2d(xb, [idx.length, dim]), y: tf.tensor1d(Int32Array.from(idx.map((k) => y[k]!)), 'int32') };
      }
    },
  };
  return loader;
}

/** An in-memory DataBunch of Gaussian blobs (train shuffled, valid in order). */
export function blobData(opts: { nTrain?: number; nValid?: number; dim?: number; classes?: number; bs?: number; seed?: number } = {}): TrainData & { dim: number } {
  const { nTrain = 96, nValid = 48, dim = 8, classes = 3, bs = 16, seed = 0 } = opts;
  const all = blobs(nTrain + nValid, dim, classes, seed);
  const train = memoryLoader(all.x.subarray(0, nTrain * dim), all.y.subarray(0, nTrain), dim, bs, true, seed);
  const valid = memoryLoader(all.x.subarray(nTrain * dim), all.y.subarray(nTrain), dim, bs, false, seed);
  return { classes: Array.from({ length: classes }, (_, i) => `c${i}`), train, valid, dim };
}

/** Every weight of the model (trainable and not) as plain arrays, by original name. */
export function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)]));
}

/** True when two snapshots are bit-identical. */
export function sameBits(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length) return false;
    const ua = new Uint32Array(v.buffer, v.byteOffset, v.length);
    const ub = new Uint32Array(w.buffer, w.byteOffset, w.length);
    for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  }
  return true;
}
