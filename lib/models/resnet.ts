/**
 * ResNet34 as torchvision builds it (`torchvision.models.resnet34`), channels-last.
 *
 *   const features = resnetBody(tf.input({shape: [224, 224, 3]}), seed);   // [N, 7, 7, 512]
 *
 * BasicBlock ×[3, 4, 6, 3]; layer names are torchvision's module paths with '.' → '_'
 * (`layer2_0_downsample_0`), so a state dict maps onto them mechanically.
 */
import { tf } from '../backend/index';
import { batchNorm, conv, maxPool, relu } from './layers';

type Sym = tf.SymbolicTensor;

const STAGES: [blocks: number, planes: number][] = [[3, 64], [4, 128], [6, 256], [3, 512]];

function basicBlock(x: Sym, name: string, planes: number, stride: number, seed: number): Sym {
  let y = conv(x, { name: `${name}_conv1`, filters: planes, kernel: 3, stride, pad: 1, bias: false }, seed);
  y = relu(batchNorm(y, `${name}_bn1`), `${name}_relu1`);
  y = batchNorm(conv(y, { name: `${name}_conv2`, filters: planes, kernel: 3, pad: 1, bias: false }, seed + 1), `${name}_bn2`);
  let identity = x;
  if (stride !== 1 || x.shape[3] !== planes) {
    const d = conv(x, { name: `${name}_downsample_0`, filters: planes, kernel: 1, stride, bias: false }, seed + 2);
    identity = batchNorm(d, `${name}_downsample_1`);
  }
  const sum = tf.layers.add({ name: `${name}_add` }).apply([y, identity]) as Sym;
  return relu(sum, `${name}_relu2`);
}

/** Everything before avgpool+fc (the fastai body: cut = -2). */
export function resnetBody(input: Sym, seed: number): Sym {
  let x = conv(input, { name: 'conv1', filters: 64, kernel: 7, stride: 2, pad: 3, bias: false }, seed);
  x = relu(batchNorm(x, 'bn1'), 'relu');
  x = maxPool(x, 'maxpool', 3, 2, 1);
  STAGES.forEach(([blocks, planes], s) => {
    for (let b = 0; b < blocks; b++) {
      x = basicBlock(x, `layer${s + 1}_${b}`, planes, b === 0 && s > 0 ? 2 : 1, seed + 100 * (s + 1) + 10 * b);
    }
  });
  return x;
}

/** torchvision's top: global average pool → fc (the logits). */
export function resnetTop(x: Sym, classes: number, seed: number): Sym {
  const p = tf.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as Sym;
  return tf.layers.dense({ name: 'fc', units: classes, kernelInitializer: tf.initializers.heNormal({ seed }) }).apply(p) as Sym;
}
