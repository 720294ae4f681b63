/**
 * Inference benchmark: forward pass (training: false) on random images, tfjs vs PyTorch.
 *
 *   npm run bench -- infer --model squeezenet1_1 --batch 16 --size 224 --json [--steps 5] [--profile] [--backend native|wasm]
 *
 * Same fields as bench/train.ts.
 */
import { tf } from '../lib/backend/index';
import { modelBench } from './support/harness';

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  return modelBench('infer', argv, (model, x) => ({
    step: async () => {
      const out = model.apply(x, { training: false }) as tf.Tensor;
      await out.data();
      out.dispose();
    },
    dispose: () => undefined,
  }));
}
