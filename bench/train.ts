/**
 * Train-step benchmark: SGD (momentum 0.9) + softmax cross-entropy on random images, tfjs vs PyTorch.
 *
 *   npm run bench -- train --model squeezenet1_1 --batch 16 --size 224 --json [--steps 5] [--profile] [--backend native|wasm]
 *
 * Prints backend ("native" when the oneDNN kernels run), threads, model, batch, size, imgPerSec, stepMs, rssMB, numTensorsDelta, wasmMemoryMB, and with
 * Debian python3-torch torchImgPerSec and ratio (tfjs / torch, same shapes and thread count), and cpuRatio
 * (torch CPU ms / tfjs CPU ms per step: steadier than wall time when other jobs load the machine), torchVersion and
 * torchLayout (the better of NCHW and channels-last); venvTorch, the same for the project venv's pip PyTorch when
 * installed; gflopsPerSec (FLOPs from the model's layer shapes, training = 3× forward) and, with the native addon,
 * peakGflops and peakFraction (against `bench -- peak` at the same thread count).
 * `--profile` adds per-kernel ms of one step.
 */
import { tf } from '../lib/backend/index';
import { modelBench } from './support/harness';

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  return modelBench('train', argv, (model, x) => {
    const classes = model.outputs[0]!.shape[1]!;
    const y = tf.oneHot(tf.randomUniform([x.shape[0]], 0, classes, 'int32', 2) as tf.Tensor1D, classes);
    const opt = tf.train.momentum(0.01, 0.9);
    return {
      step: async () => {
        const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true)!;
        await loss.data();
        loss.dispose();
      },
      dispose: () => {
        y.dispose();
        opt.dispose();
      },
    };
  });
}
