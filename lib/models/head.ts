/**
 * The fastai v1 `create_head`, channels-last, from standard serialisable tf.layers:
 * AdaptiveConcatPool [max ‖ avg] → BatchNorm → Dropout(0.25) → Dense(512) → ReLU → BatchNorm →
 * Dropout(0.5) → Dense(n).
 *
 *   const out = fastaiHead(bodyOutput, 300, seed);   // embedding head: n = word-vector dimension
 *
 * A `classifier` head outputs logits (softmax lives in the loss); an `embedding` head outputs the vector.
 */
import { tf } from '../backend/index';
import { batchNorm, relu, seededDropout } from './layers';

type Sym = tf.SymbolicTensor;

/** Head layers kept by `swapHead(..., {keepHidden: true})`. */
export const HEAD_HIDDEN = ['head_bn1', 'head_fc1', 'head_bn2'];

/** Builds the fastai head on a [N, H, W, C] feature map; `units` = classes or embedding dimension. */
export function fastaiHead(x: Sym, units: number, seed: number, hidden = 512, ps: [number, number] = [0.25, 0.5]): Sym {
  const mx = tf.layers.globalMaxPooling2d({ name: 'head_maxpool' }).apply(x) as Sym;
  const av = tf.layers.globalAveragePooling2d({ name: 'head_avgpool' }).apply(x) as Sym;
  let y = tf.layers.concatenate({ name: 'head_concat', axis: -1 }).apply([mx, av]) as Sym;
  y = batchNorm(y, 'head_bn1');
  y = seededDropout(y, 'head_drop1', ps[0], seed + 2);
  // fastai initialises the head's Linear layers with kaiming_normal_.
  y = tf.layers.dense({ name: 'head_fc1', units: hidden, kernelInitializer: tf.initializers.heNormal({ seed }) }).apply(y) as Sym;
  y = batchNorm(relu(y, 'head_relu'), 'head_bn2');
  y = seededDropout(y, 'head_drop2', ps[1], seed + 3);
  return tf.layers.dense({ name: 'head_fc2', units, kernelInitializer: tf.initializers.heNormal({ seed: seed + 1 }) }).apply(y) as Sym;
}
