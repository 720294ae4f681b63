/**
 * ResNets, channels-last: ResNet34 as torchvision builds it (`torchvision.models.resnet34`, BasicBlock ×[3, 4, 6, 3])
 * and ResNet-50 v1 as Keras builds it (`keras.applications.ResNet50`, Keras 2.2.4: Bottleneck ×[3, 4, 6, 3] with
 * the stride in the block's first 1×1 convolution, biased convolutions, BatchNorm epsilon 1e-3). torchvision's
 * resnet50 is v1.5 (stride in the 3×3), a different network: Keras's weights only fit v1.
 *
 *   const features = resnetBody(tf.input({shape: [224, 224, 3]}), seed);     // [N, 7, 7, 512]
 *   const f50 = resnet50Body(tf.input({shape: [224, 224, 3]}), seed);        // [N, 7, 7, 2048]
 *
 * Layer names are torchvision's module paths with '.' → '_' (`layer2_0_downsample_0`), so a state dict
 * maps onto them mechanically and both share the registry's layer-group splits; `kerasResnet50Name` maps
 * ResNet-50's names onto Keras's (`res3a_branch2a`).
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

/** Conv 7×7/2 → BatchNorm → ReLU → max-pool 3×3/2, the stem of every ResNet. */
function stem(input: Sym, seed: number, bias: boolean, eps: number): Sym {
  const x = conv(input, { name: 'conv1', filters: 64, kernel: 7, stride: 2, pad: 3, bias }, seed);
  return maxPool(relu(batchNorm(x, 'bn1', eps), 'relu'), 'maxpool', 3, 2, 1);
}

type Block = (x: Sym, name: string, planes: number, stride: number, seed: number) => Sym;

/** layer1..layer4 of `block`s: stride 2 in the first block of layer2..4. */
function stages(x: Sym, block: Block, seed: number): Sym {
  STAGES.forEach(([blocks, planes], s) => {
    for (let b = 0; b < blocks; b++) x = block(x, `layer${s + 1}_${b}`, planes, b === 0 && s > 0 ? 2 : 1, seed + 100 * (s + 1) + 10 * b);
  });
  return x;
}

/** Everything before avgpool+fc (the fastai body: cut = -2). */
export function resnetBody(input: Sym, seed: number): Sym {
  return stages(stem(input, seed, false, 1e-5), basicBlock, seed);
}

/** Keras's BatchNormalization epsilon (the package's model.json: `"epsilon": 0.001` on all 53). */
const KERAS_BN_EPS = 1e-3;

/** Keras ResNet-50 v1 `conv_block`/`identity_block`: 1×1 (stride here) → 3×3 → 1×1 ×4, projection when the shape changes. */
function bottleneck(x: Sym, name: string, planes: number, stride: number, seed: number): Sym {
  const bn = (y: Sym, i: string) => batchNorm(y, `${name}_${i}`, KERAS_BN_EPS);
  let y = relu(bn(conv(x, { name: `${name}_conv1`, filters: planes, kernel: 1, stride }, seed), 'bn1'), `${name}_relu1`);
  y = relu(bn(conv(y, { name: `${name}_conv2`, filters: planes, kernel: 3, pad: 1 }, seed + 1), 'bn2'), `${name}_relu2`);
  y = bn(conv(y, { name: `${name}_conv3`, filters: 4 * planes, kernel: 1 }, seed + 2), 'bn3');
  let identity = x;
  if (stride !== 1 || x.shape[3] !== 4 * planes) {
    identity = bn(conv(x, { name: `${name}_downsample_0`, filters: 4 * planes, kernel: 1, stride }, seed + 3), 'downsample_1');
  }
  return relu(tf.layers.add({ name: `${name}_add` }).apply([y, identity]) as Sym, `${name}_relu3`);
}

/** Keras ResNet-50 v1 up to its last activation (the fastai body: before avg_pool + fc1000). */
export function resnet50Body(input: Sym, seed: number): Sym {
  return stages(stem(input, seed, true, KERAS_BN_EPS), bottleneck, seed);
}

/** Keras ResNet50 layer name for one of our ResNet-50 layers (`layer2_0_conv1` → `res3a_branch2a`), if it has one. */
export function kerasResnet50Name(layer: string): string | undefined {
  if (layer === 'conv1') return 'conv1';
  if (layer === 'bn1') return 'bn_conv1';
  if (layer === 'fc') return 'fc1000';
  const m = /^layer(\d)_(\d+)_(conv|bn)([123])$|^layer(\d)_(\d+)_downsample_([01])$/.exec(layer);
  if (!m) return undefined;
  const [stage, block] = [Number(m[1] ?? m[5]) + 1, String.fromCharCode(97 + Number(m[2] ?? m[6]))];
  if (m[7] !== undefined) return `${m[7] === '0' ? 'res' : 'bn'}${stage}${block}_branch1`;
  return `${m[3] === 'conv' ? 'res' : 'bn'}${stage}${block}_branch2${'abc'[Number(m[4]) - 1]}`;
}

/** torchvision's top: global average pool → fc (the logits). */
export function resnetTop(x: Sym, classes: number, seed: number): Sym {
  const p = tf.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as Sym;
  return tf.layers.dense({ name: 'fc', units: classes, kernelInitializer: tf.initializers.heNormal({ seed }) }).apply(p) as Sym;
}
