/**
 * Training-mode batch norm and the ReLU gradient as single native kernels, where tfjs composes them of
 * many element-wise ops (moments: Mean, Sub, Square, Mean; their gradients: Multiply, RealDiv, Add...;
 * ReLU's gradient: Step, Cast, Multiply). tfjs keeps every forward intermediate and every gradient until
 * the backward pass ends, so each op removed saves a full activation-sized buffer as well as a pass:
 * ResNet34 training at batch 16, 224 px, fits wasm32's 4 GiB heap only this way.
 *
 *   const fused = batchNormTraining(x, gamma, beta, 1e-5);   // {y, mean, variance} or undefined
 *
 * Both paths run only on wasm with the native kernels on; elsewhere `batchNormTraining` returns undefined
 * (the caller composes tf.moments + tf.batchNorm) and the ReLU gradient is tfjs's own.
 */
import * as tf from '@tensorflow/tfjs';
import { type Info } from '../wasm-kernels/compose';
import { type NativeAddon } from './addon';
import { addonKernel, at, type KernelArgs, nativeFloat32, overrideGradient, size } from './dispatch';

/** Kernel: inputs {x, scale, offset}, attrs {varianceEpsilon}; outputs [y, mean, variance] over all but the last axis. */
export const BATCH_NORM_TRAIN = 'DeviseBatchNormTrain';
/** Kernel: inputs {x, mean, variance, scale, dy}, attrs {varianceEpsilon}; outputs [dx, dscale, doffset]. */
export const BATCH_NORM_TRAIN_GRAD = 'DeviseBatchNormTrainGrad';
/** Kernel: inputs {dy, x}; output dx = dy where x > 0, else 0. */
export const RELU_GRAD = 'DeviseReluGrad';

function batchNormTrain(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info[] {
  const { x, scale, offset } = inputs as { x: Info; scale: Info; offset: Info };
  const c = x.shape[x.shape.length - 1]!;
  const rows = size(x.shape) / c;
  const [y, mean, variance] = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')] as [Info, Info, Info];
  const heap = backend.wasm.HEAPF32; // read after the allocations (memory growth detaches views)
  addon.batchNormStats(heap, at(backend, x), rows, c, at(backend, mean), at(backend, variance));
  addon.batchNorm(heap, at(backend, x), at(backend, mean), at(backend, variance), at(backend, scale), at(backend, offset),
    attrs.varianceEpsilon as number, rows, c, at(backend, y));
  return [y, mean, variance];
}

function batchNormTrainGrad(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info[] {
  const { x, mean, variance, scale, dy } = inputs as { x: Info; mean: Info; variance: Info; scale: Info; dy: Info };
  const c = mean.shape[0]!;
  const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')] as [Info, Info, Info];
  addon.batchNormTrainGrad(backend.wasm.HEAPF32, at(backend, x), at(backend, mean), at(backend, variance), at(backend, scale), at(backend, dy),
    attrs.varianceEpsilon as number, size(x.shape) / c, c, ...outs.map((o) => at(backend, o)) as [number, number, number]);
  return outs;
}

function reluGrad(addon: NativeAddon, { inputs, backend }: KernelArgs): Info {
  const { dy, x } = inputs as { dy: Info; x: Info };
  const out = backend.makeOutput(x.shape, 'float32');
  addon.reluGrad(backend.wasm.HEAPF32, at(backend, dy), at(backend, x), size(x.shape), at(backend, out));
  return out;
}

/**
 * Training-mode batch norm of an NHWC activation over all but the last axis: y = (x − mean) / √(variance + ε) · scale + offset
 * with the batch's mean and biased variance, as one kernel whose gradient also flows through the
 * statistics. Returns undefined where the native kernels do not run (compose tf.moments + tf.batchNorm then).
 * `mean` and `variance` carry no gradient: use them for running statistics only.
 */
export function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } | undefined {
  const c = x.shape[x.rank - 1];
  const perChannel = (t: tf.Tensor): boolean => t.rank === 1 && t.shape[0] === c;
  // Spatial activations only: on a head's [N, C] features the composed ops are already cheap, and the
  // head keeps tfjs's own arithmetic (the committed results stay bit-identical).
  if (!nativeFloat32(x, scale, offset) || x.rank !== 4 || x.size === 0 || !perChannel(scale) || !perChannel(offset)) return undefined;
  // Without the addon (not built, or hidden with DEVISE_NATIVE=0) the kernel was never registered: compose instead.
  if (!tf.getKernel(BATCH_NORM_TRAIN, 'wasm')) return undefined;
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale, offset }, { varianceEpsilon: epsilon }) as tf.Tensor[];
  return { y: y!, mean: mean!, variance: variance! };
}

/** Registers the gradients of the training batch norm and (replacing tfjs's) of Relu; returns the kernel configs for the wasm backend. */
export function trainingKernels(addon: NativeAddon): tf.KernelConfig[] {
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const dy = (dys as tf.Tensor[])[0]!;
      // Computed here, not in the closures: the engine runs each closure in its own tidy.
      const [dx, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { x, mean, variance, scale, dy }, attrs) as tf.Tensor[];
      return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
    },
  });
  overrideGradient(tf.Relu, (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    if (!nativeFloat32(x, dy as tf.Tensor)) return undefined;
    return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor };
  });
  return [addonKernel(BATCH_NORM_TRAIN, addon, batchNormTrain), addonKernel(BATCH_NORM_TRAIN_GRAD, addon, batchNormTrainGrad), addonKernel(RELU_GRAD, addon, reluGrad)];
}
