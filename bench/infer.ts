/**
 * Inference benchmark: forward pass (training: false) on random images, tfjs vs PyTorch.
 *
 *   npm run bench -- infer --model squeezenet1_1 --batch 16 --size 224 --json [--steps 5] [--profile]
 *
 * Same fields as bench/train.ts.
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
  const step = async (): Promise<void> => {
    const out = model.apply(x, { training: false }) as tf.Tensor;
    await out.data();
    out.dispose();
  };
  await step();
  const before = tf.memory().numTensors;
  const stepMs = await timeSteps(step, 1, steps);
  const numTensorsDelta = tf.memory().numTensors - before;
  const profile = hasFlag(argv, 'profile') ? await kernelProfile(step) : undefined;
  const torch = torchBench('infer', arch, batch, size, info.threads, steps);
  const imgPerSec = (batch / stepMs) * 1000;
  const result = {
    bench: 'infer', backend: info.backend, threads: info.threads, model: arch, batch, size,
    imgPerSec: Math.round(imgPerSec * 100) / 100, stepMs: Math.round(stepMs), rssMB: rssMB(), numTensorsDelta,
    ...(torch && { torchImgPerSec: Math.round(torch.imgPerSec * 100) / 100, ratio: Math.round((imgPerSec / torch.imgPerSec) * 100) / 100 }),
    ...(profile && { profile }),
  };
  x.dispose();
  model.dispose();
  return result;
}
