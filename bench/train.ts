/**
 * Train-step benchmark: SGD (momentum 0.9) + softmax cross-entropy on random images, tfjs vs PyTorch.
 *
 *   npm run bench -- train --model squeezenet1_1 --batch 16 --size 224 --json [--steps 5] [--profile]
 *
 * Prints backend, threads, model, batch, size, imgPerSec, stepMs, rssMB, numTensorsDelta, and with
 * Debian python3-torch torchImgPerSec and ratio (tfjs / torch, same shapes and thread count).
 * `--profile` adds per-kernel ms of one step.
 */
import { initBackend, tf } from '../lib/backend/index';
import { flag, hasFlag, numberFlag, rssMB } from './flags';
import { benchModel, kernelProfile, timeSteps, torchBench } from './support/harness';

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const info = await initBackend();
  const arch = flag(argv, 'model') ?? 'squeezenet1_1';
  const batch = numberFlag(argv, 'batch', 16);
  const size = numberFlag(argv, 'size', 224);
  const steps = numberFlag(argv, 'steps', 5);
  const model = await benchModel(arch, size);
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1);
  const classes = model.outputs[0]!.shape[1]!;
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 2) as tf.Tensor1D, classes);
  const opt = tf.train.momentum(0.01, 0.9);
  const step = async (): Promise<void> => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true)!;
    await loss.data();
    loss.dispose();
  };
  await step(); // creates the optimizer's slots, so the tensor count below is steady-state
  const before = tf.memory().numTensors;
  const stepMs = await timeSteps(step, 1, steps);
  const numTensorsDelta = tf.memory().numTensors - before;
  const profile = hasFlag(argv, 'profile') ? await kernelProfile(step) : undefined;
  const torch = torchBench('train', arch, batch, size, info.threads, steps);
  const imgPerSec = (batch / stepMs) * 1000;
  const result = {
    bench: 'train', backend: info.backend, threads: info.threads, model: arch, batch, size,
    imgPerSec: round(imgPerSec), stepMs: Math.round(stepMs), rssMB: rssMB(), numTensorsDelta,
    ...(torch && { torchImgPerSec: round(torch.imgPerSec), ratio: round(imgPerSec / torch.imgPerSec) }),
    ...(profile && { profile }),
  };
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return result;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
