/**
 * Layer building blocks that reproduce PyTorch semantics with standard tf.layers.
 *
 *   const y = conv(x, { name: 'conv1', filters: 64, kernel: 7, stride: 2, pad: 3, bias: false }, seed);
 *   const z = batchNorm(y, 'bn1');     // eps 1e-5, torch momentum 0.1, unbiased running variance
 *
 * PyTorch pads symmetrically while tfjs 'same' pads the extra pixel bottom/right for stride 2, so
 * strided padded convolutions and pools are an explicit zeroPadding2d followed by a 'valid' op (stride-1
 * convolutions use 'same', which is symmetric there).
 */
import { batchNormTraining, tf } from '../backend/index';

type Sym = tf.SymbolicTensor;

const BatchNormBase = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as {
  new (args: Record<string, unknown>): tf.layers.Layer;
};

/**
 * BatchNormalization as torch.nn.BatchNorm: in training mode the running variance is updated with the
 * unbiased batch variance (tfjs/Keras use the biased one); normalisation itself uses the biased one.
 */
export class TorchBatchNorm extends BatchNormBase {
  static className = 'TorchBatchNorm';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    if (!kwargs['training']) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const self = this as unknown as BnInternals;
      const axes = [...Array(x.rank - 1).keys()]; // channels-last: reduce all but the last axis
      const fused = batchNormTraining(x, self.gamma.read(), self.beta.read(), self.epsilon);
      const { mean, variance } = fused ?? tf.moments(x, axes);
      const out = fused?.y ?? tf.batchNorm(x, mean, variance, self.beta.read(), self.gamma.read(), self.epsilon);
      const n = x.size / x.shape[x.rank - 1]!;
      const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
      const decay = 1 - self.momentum;
      for (const [v, value] of [[self.movingMean, mean], [self.movingVariance, unbiased]] as const) {
        const old = v.read();
        v.write(tf.sub(old, tf.mul(tf.sub(old, value), decay)));
      }
      return out;
    });
  }
}
tf.serialization.registerClass(TorchBatchNorm as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);

interface BnInternals {
  beta: { read(): tf.Tensor };
  gamma: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
  epsilon: number;
  momentum: number;
}

const DropoutBase = Object.getPrototypeOf(tf.layers.dropout({ rate: 0.5 })).constructor as {
  new (args: Record<string, unknown>): tf.layers.Layer;
};

/**
 * Dropout with a fresh, reproducible mask every training step. tfjs's Dropout with a fixed `seed` draws the
 * same mask on every call, and without one it is unseeded; this layer seeds each mask from (its seed, the
 * step), where the step is set by the training loop (`setDropoutStep`) so a resumed run redraws the same masks.
 */
export class SeededDropout extends DropoutBase {
  static className = 'SeededDropout';
  /** The training step whose mask the next training call draws (advances by itself when nobody sets it). */
  step = 0;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const { rate, seed } = this as unknown as { rate: number; seed: number };
    if (!kwargs['training'] || rate <= 0) return tf.clone(x);
    const mask = stepSeed(seed, this.step++);
    return tf.tidy(() => tf.dropout(x, rate, undefined, mask));
  }
}
tf.serialization.registerClass(SeededDropout as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);

/** A positive 31-bit seed mixed from a layer seed and a step (never 0, which tfjs reads as "unseeded"). */
function stepSeed(seed: number, step: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(step | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h % 0x7ffffffe) + 1;
}

/** A Dropout layer of `rate` whose masks derive from `seed` and the training step. */
export function seededDropout(x: Sym, name: string, rate: number, seed: number): Sym {
  return new SeededDropout({ name, rate, seed }).apply(x) as Sym;
}

/** Sets the step every SeededDropout of `model` draws its next mask for (call once per training step). */
export function setDropoutStep(model: tf.LayersModel, step: number): void {
  for (const layer of model.layers) {
    if (layer instanceof SeededDropout) layer.step = step;
    else if ((layer as unknown as { layers?: unknown }).layers) setDropoutStep(layer as unknown as tf.LayersModel, step);
  }
}

/**
 * torch.nn.BatchNorm2d/1d defaults: eps 1e-5, momentum 0.1 (Keras momentum 0.9). Weights trained elsewhere
 * keep their own epsilon (Keras: 1e-3), which changes every normalised value where the variance is small.
 */
export function batchNorm(x: Sym, name: string, epsilon = 1e-5): Sym {
  return new TorchBatchNorm({ name, epsilon, momentum: 0.9 }).apply(x) as Sym;
}

export interface ConvSpec {
  name: string;
  filters: number;
  kernel: number;
  stride?: number;
  pad?: number;
  bias?: boolean;
}

/**
 * A torch Conv2d (He-normal init, seeded). At stride 1 with pad (k − 1) / 2, tfjs 'same' is torch's
 * symmetric padding, so the convolution pads itself; otherwise an explicit zero padding precedes a
 * 'valid' convolution. Each separate padding layer costs a padded copy of the activation, its gradient
 * and a Slice, all kept until the backward pass ends (a third of ResNet34's training memory).
 */
export function conv(x: Sym, s: ConvSpec, seed: number): Sym {
  const stride = s.stride ?? 1;
  const same = !!s.pad && stride === 1 && s.kernel === 2 * s.pad + 1;
  const padded = s.pad && !same ? zeroPad(x, s.pad, `${s.name}_pad`) : x;
  return tf.layers.conv2d({
    name: s.name,
    filters: s.filters,
    kernelSize: s.kernel,
    strides: stride,
    padding: same ? 'same' : 'valid',
    useBias: s.bias ?? true,
    kernelInitializer: tf.initializers.heNormal({ seed }),
  }).apply(padded) as Sym;
}

/** Zero padding: `pad` on all sides, or [[top, bottom], [left, right]]. */
export function zeroPad(x: Sym, pad: number | [[number, number], [number, number]], name: string): Sym {
  return tf.layers.zeroPadding2d({ name, padding: typeof pad === 'number' ? [[pad, pad], [pad, pad]] : pad }).apply(x) as Sym;
}

/**
 * torch MaxPool2d(k, s, padding, ceil_mode) applied to non-negative inputs (always after a ReLU here),
 * where zero padding is exact: a window always holds at least one real value ≥ 0.
 */
export function maxPool(x: Sym, name: string, k: number, s: number, pad = 0, ceil = false): Sym {
  const [h, w] = [x.shape[1]!, x.shape[2]!];
  const extra = (len: number) => {
    if (!ceil) return 0;
    let out = Math.ceil((len + 2 * pad - k) / s) + 1;
    if ((out - 1) * s >= len + pad) out--; // torch: the last window must start inside the input
    return Math.max(0, (out - 1) * s + k - (len + 2 * pad));
  };
  const [eh, ew] = [extra(h), extra(w)];
  const padded = pad || eh || ew ? zeroPad(x, [[pad, pad + eh], [pad, pad + ew]], `${name}_pad`) : x;
  return tf.layers.maxPooling2d({ name, poolSize: k, strides: s, padding: 'valid' }).apply(padded) as Sym;
}

/** ReLU as its own named layer. */
export function relu(x: Sym, name: string): Sym {
  return tf.layers.reLU({ name }).apply(x) as Sym;
}
