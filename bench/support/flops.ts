/**
 * Floating-point operations of a model, counted from its layer shapes: multiply-adds × 2 of every
 * convolution and dense layer (the convention of torchvision's and tfjs's published figures; batch norm,
 * activations, pooling and adds are left out, under 2 % of these CNNs). Training is counted as 3× the
 * forward pass (forward, gradient of the input, gradient of the weights).
 *
 *   const perImage = forwardFlops(model);            // e.g. SqueezeNet 1.1 at 224 px ≈ 0.70 GFLOP
 *   const gflopsPerSec = (perImage * batch * TRAIN_FLOPS_FACTOR) / (stepMs * 1e6);
 */
import type { tf } from '../../lib/backend/index';

/** Training step FLOPs over forward FLOPs: forward + input gradient + weight gradient, each one forward's cost. */
export const TRAIN_FLOPS_FACTOR = 3;

/** Multiply-adds × 2 of one image's forward pass, summed over the Conv2D, DepthwiseConv2D and Dense layers. */
export function forwardFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind !== 'Conv2D' && kind !== 'DepthwiseConv2D' && kind !== 'Dense') continue;
    const kernel = layer.weights[0]!.shape as number[]; // the kernel comes first, then the bias
    const out = (Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape) as (number | null)[];
    // Output positions per image: every output element but the channel axis (leading null = batch).
    const positions = out.slice(1, -1).reduce<number>((p, d) => p * (d ?? 1), 1);
    const channelsOut = out[out.length - 1]!;
    // Multiply-adds per output element: kernel taps × input channels (Conv2D kernel [kh, kw, in, out]; Dense [in, out];
    // depthwise [kh, kw, in, multiplier]: each output channel sees one input channel).
    const macsPerOutput = kind === 'DepthwiseConv2D' ? kernel[0]! * kernel[1]! : kernel.slice(0, -1).reduce((p, d) => p * d, 1);
    flops += 2 * positions * channelsOut * macsPerOutput;
  }
  return flops;
}
