/**
 * SqueezeNet 1.1 as torchvision builds it (`torchvision.models.squeezenet1_1`), channels-last.
 *
 *   const features = squeezenetBody(tf.input({shape: [224, 224, 3]}), seed);   // [N, 13, 13, 512]
 *
 * Layer names are torchvision's module paths with '.' → '_' (`features_3_expand3x3`), so a state dict
 * maps onto them mechanically. Max-pools use ceil_mode as torchvision does.
 */
import { tf } from '../backend/index';
import { conv, maxPool, relu, seededDropout } from './layers';

type Sym = tf.SymbolicTensor;

/** [features index, squeeze, expand1x1, expand3x3] for each Fire module of squeezenet1_1. */
export const FIRES: [number, number, number, number][] = [
  [3, 16, 64, 64], [4, 16, 64, 64], [6, 32, 128, 128], [7, 32, 128, 128],
  [9, 48, 192, 192], [10, 48, 192, 192], [11, 64, 256, 256], [12, 64, 256, 256],
];

function fire(x: Sym, i: number, s: number, e1: number, e3: number, seed: number): Sym {
  const p = `features_${i}`;
  const sq = relu(conv(x, { name: `${p}_squeeze`, filters: s, kernel: 1 }, seed), `${p}_squeeze_activation`);
  const a = relu(conv(sq, { name: `${p}_expand1x1`, filters: e1, kernel: 1 }, seed + 1), `${p}_expand1x1_activation`);
  const b = relu(conv(sq, { name: `${p}_expand3x3`, filters: e3, kernel: 3, pad: 1 }, seed + 2), `${p}_expand3x3_activation`);
  return tf.layers.concatenate({ name: p, axis: -1 }).apply([a, b]) as Sym;
}

/** torchvision's `features` (the fastai body: cut = -1). */
export function squeezenetBody(input: Sym, seed: number): Sym {
  let x = relu(conv(input, { name: 'features_0', filters: 64, kernel: 3, stride: 2 }, seed), 'features_1');
  x = maxPool(x, 'features_2', 3, 2, 0, true);
  for (const [i, s, e1, e3] of FIRES) {
    x = fire(x, i, s, e1, e3, seed + 10 * i);
    if (i === 4 || i === 7) x = maxPool(x, `features_${i + 1}`, 3, 2, 0, true);
  }
  return x;
}

/** torchvision's `classifier`: Dropout(0.5) → Conv 1×1 → ReLU → global average pool (the logits). */
export function squeezenetTop(x: Sym, classes: number, seed: number): Sym {
  const d = seededDropout(x, 'classifier_0', 0.5, seed + 1);
  const c = relu(conv(d, { name: 'classifier_1', filters: classes, kernel: 1 }, seed), 'classifier_2');
  return tf.layers.globalAveragePooling2d({ name: 'classifier_3' }).apply(c) as Sym;
}

/** Keras (DeepCognition/rcmalli keras-squeezenet) layer name for one of our layers, if it has one. */
export function kerasLayerName(layer: string): string | undefined {
  if (layer === 'features_0') return 'conv1';
  const m = /^features_(\d+)_(squeeze|expand1x1|expand3x3)$/.exec(layer);
  if (!m) return undefined;
  const n = FIRES.findIndex(([i]) => i === Number(m[1]));
  return n < 0 ? undefined : `fire${n + 2}/${m[2] === 'squeeze' ? 'squeeze1x1' : m[2]}`;
}
