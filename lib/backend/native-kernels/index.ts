/**
 * Native CPU kernels for the wasm backend: oneDNN convolutions (forward with fused bias/ReLU,
 * backward-data, backward-weights), MaxPoolGrad, Sum/Mean over leading axes, Slice, PadV2, FusedBatchNorm
 * and its gradient (as kernel DeviseBatchNormGrad), run by the optional
 * addon (./addon.ts) directly on the tensors' wasm-heap memory, zero-copy.
 *
 *   const kernels = nativeKernels();   // [] when the addon is hidden or not built (see nativeStatus())
 *   useNativeKernels(false);           // per call: delegate to the wasm kernels (tests compare both)
 *
 * Each kernel checks its case (float32, NHWC, ReLU or no activation, shapes oneDNN accepts) and hands
 * every other case to the kernel it replaced: tfjs's stock wasm kernel, or the project's (../wasm-kernels).
 * The heap view is taken after the output is allocated, on every call (memory growth detaches views).
 */
import * as tf from '@tensorflow/tfjs';
import { type Info } from '../wasm-kernels/compose';
import { conv2DBackpropFilterConfig } from '../wasm-kernels/conv2d-backprop-filter';
import { conv2DBackpropInputConfig } from '../wasm-kernels/conv2d-backprop-input';
import { maxPoolGradConfig } from '../wasm-kernels/max-pool-grad';
import { captureStock } from '../wasm-kernels/stock';
import { copyBlocks, splitConcatConfigs } from '../wasm-kernels/split-concat';
import { meanConfig, sumConfig } from '../wasm-kernels/sum';
import { loadNative, type NativeAddon } from './addon';
import { addonKernel, at, type KernelArgs, nativeEnabled, nativeFloat32, overrideGradient, size } from './dispatch';
import { trainingKernels } from './training';

export { BUILD_HINT, projectThreads } from './addon';
export { useNativeKernels } from './dispatch';
export { batchNormTraining } from './training';

/** What the native path is doing in this process. */
export interface NativeStatus {
  /** Kernel names served natively (empty when unavailable). */
  kernels: string[];
  /** Why the native kernels are not used, when they are not. */
  why?: string;
  dnnl?: string;
  isa?: string;
  threads?: number;
  /** Activation layout of the convolutions (DEVISE_NATIVE_FORMAT), and primitives "auto" put on blocked layouts. */
  format?: string;
  blocked?: number;
  /** Winograd for 3×3 stride-1 convolutions (DEVISE_NATIVE_WINOGRAD), and the primitives made with it so far. */
  winograd?: boolean;
  winogradPrimitives?: number;
  /** Calls handed to the replaced kernel because the case is not native (dtype, layout, activation...). */
  delegated: number;
  /** The same, per kernel name. */
  delegatedBy: Record<string, number>;
}

let delegated = 0;
const delegatedBy: Record<string, number> = {};

const dims = new Float64Array(17);
const poolDims = new Float64Array(12);

const nhwc = (f: unknown): boolean => f === undefined || f === 'NHWC' || f === 'channelsLast';

/** Fills `dims` from tfjs's conv geometry; false when oneDNN cannot express it (then delegate). */
function convDims(c: tf.backend_util.Conv2DInfo): boolean {
  const { top, left, bottom, right } = c.padInfo;
  const spanH = (c.filterHeight - 1) * c.dilationHeight + 1;
  const spanW = (c.filterWidth - 1) * c.dilationWidth + 1;
  const consistent = Math.floor((c.inHeight - spanH + top + bottom) / c.strideHeight) + 1 === c.outHeight &&
    Math.floor((c.inWidth - spanW + left + right) / c.strideWidth) + 1 === c.outWidth;
  if (!consistent || c.outHeight < 1 || c.outWidth < 1 || c.batchSize * c.inChannels * c.outChannels === 0) return false;
  dims.set([c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outChannels, c.filterHeight, c.filterWidth, c.outHeight, c.outWidth,
    c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, top, left, bottom, right]);
  return true;
}

/** A kernel that runs `native` when it returns an output, else the replaced kernel `fallback`. */
function nativeKernel(kernelName: string, fallback: () => tf.KernelFunc, native: (addon: NativeAddon, args: KernelArgs) => Info | undefined): tf.KernelConfig {
  const { addon } = loadNative();
  const kernelFunc = (args: KernelArgs): Info | Info[] => {
    const out = nativeEnabled() && addon ? native(addon, args) : undefined;
    if (out !== undefined) return out;
    if (nativeEnabled()) {
      delegated++;
      delegatedBy[kernelName] = (delegatedBy[kernelName] ?? 0) + 1;
    }
    return fallback()(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  };
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

const stockConv2D = captureStock(tf.Conv2D);
const stockFusedConv2D = captureStock(tf.FusedConv2D);
const projectKernel = (config: tf.KernelConfig) => (): tf.KernelFunc => config.kernelFunc;

/** Conv2D and FusedConv2D (bias of shape [Co], activation none/linear/relu). */
function conv2d(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { x, filter, bias, preluActivationWeights } = inputs as { x: Info; filter: Info; bias?: Info; preluActivationWeights?: Info };
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || !nhwc(attrs.dataFormat) || preluActivationWeights) return undefined;
  if (activation !== 'linear' && activation !== 'relu') return undefined;
  const c = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    attrs.strides as number, attrs.dilations as number, attrs.pad as 'same', attrs.dimRoundingMode as 'floor', false, 'channelsLast');
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== c.outChannels)) return undefined;
  if (!convDims(c)) return undefined;
  const out = backend.makeOutput(c.outShape, 'float32');
  addon.conv2d(backend.wasm.HEAPF32, dims, at(backend, x), at(backend, filter), bias ? at(backend, bias) : -1, at(backend, out), activation === 'relu');
  return out;
}

function conv2dBackpropInput(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  if (dy.dtype !== 'float32' || !nhwc(attrs.dataFormat)) return undefined;
  const c = tf.backend_util.computeConv2DInfo(attrs.inputShape as [number, number, number, number], filter.shape as [number, number, number, number],
    attrs.strides as number, 1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor');
  if (!convDims(c)) return undefined;
  const out = backend.makeOutput(c.inShape, 'float32');
  addon.conv2dBackpropInput(backend.wasm.HEAPF32, dims, at(backend, dy), at(backend, filter), at(backend, out));
  return out;
}

function conv2dBackpropFilter(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { x, dy } = inputs as { x: Info; dy: Info };
  if (x.dtype !== 'float32' || !nhwc(attrs.dataFormat)) return undefined;
  const c = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape as [number, number, number, number],
    attrs.strides as number, 1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor');
  if (!convDims(c)) return undefined;
  const out = backend.makeOutput(c.filterShape, 'float32');
  addon.conv2dBackpropFilter(backend.wasm.HEAPF32, dims, at(backend, x), at(backend, dy), at(backend, out));
  return out;
}

function maxPoolGrad(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { dy, input, output } = inputs as { dy: Info; input: Info; output: Info };
  if (input.dtype !== 'float32' || size(input.shape) === 0) return undefined;
  const p = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize as number,
    attrs.strides as number, 1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor');
  poolDims.set([p.batchSize, p.inHeight, p.inWidth, p.inChannels, p.outHeight, p.outWidth, p.filterHeight, p.filterWidth,
    p.strideHeight, p.strideWidth, p.padInfo.top, p.padInfo.left]);
  const out = backend.makeOutput(input.shape, 'float32');
  addon.maxPoolGrad(backend.wasm.HEAPF32, poolDims, at(backend, input), at(backend, output), at(backend, dy), at(backend, out));
  return out;
}

/** Sum or Mean over leading axes (bias gradients, batch-norm moments); other patterns delegate. */
const reduceLeading = (mean: boolean) => (addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined => {
  const { x } = inputs as { x: Info };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis as number[], x.shape).sort((a, b) => a - b);
  if (x.dtype !== 'float32' || axes.length === 0 || axes.length >= rank || !axes.every((a, i) => a === i)) return undefined;
  const outer = size(x.shape.slice(0, axes.length));
  const inner = size(x.shape.slice(axes.length));
  if (outer * inner === 0) return undefined;
  const shape = attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
  const out = backend.makeOutput(shape, 'float32');
  addon.columnSum(backend.wasm.HEAPF32, at(backend, x), outer, inner, mean ? 1 / outer : 1, at(backend, out));
  return out;
};

const shapes = new Float64Array(12);

/** Fills `shapes` with src/dst shapes padded to 4-D (leading 1s) and the offset (dst = src + offset). */
function shift4D(src: readonly number[], dst: readonly number[], offset: readonly number[]): boolean {
  const lead = 4 - src.length;
  if (lead < 0) return false;
  for (let i = 0; i < 4; i++) {
    shapes[i] = i < lead ? 1 : src[i - lead]!;
    shapes[4 + i] = i < lead ? 1 : dst[i - lead]!;
    shapes[8 + i] = i < lead ? 0 : offset[i - lead]!;
  }
  return true;
}

/** Slice (e.g. the gradient of ResNet's explicit zero padding) as row copies; rank ≤ 4, float32. */
function slice(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { x } = inputs as { x: Info };
  if (x.dtype !== 'float32' || x.shape.length === 0) return undefined;
  const [begin, sizes] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]) as [number[], number[]];
  if (size(sizes) === 0 || !shift4D(x.shape, sizes, begin.map((b) => -b))) return undefined;
  const out = backend.makeOutput(sizes, 'float32');
  addon.shiftCopy(backend.wasm.HEAPF32, shapes, at(backend, x), at(backend, out), 0);
  return out;
}

/** PadV2 (constant padding) as row copies and fills; rank ≤ 4, float32. */
function padV2(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { x } = inputs as { x: Info };
  const paddings = attrs.paddings as [number, number][];
  if (x.dtype !== 'float32' || x.shape.length === 0 || size(x.shape) === 0) return undefined;
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  if (!shift4D(x.shape, outShape, paddings.map((p) => p[0]))) return undefined;
  const out = backend.makeOutput(outShape, 'float32');
  addon.shiftCopy(backend.wasm.HEAPF32, shapes, at(backend, x), at(backend, out), (attrs.constantValue as number) ?? 0);
  return out;
}

const stockSlice = captureStock(tf.Slice);
const stockPadV2 = captureStock(tf.PadV2);

/** FusedBatchNorm forward with per-channel ([C]) statistics, scale and offset; other shapes delegate. */
function fusedBatchNorm(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info | undefined {
  const { x, mean, variance, offset, scale } = inputs as { x: Info; mean: Info; variance: Info; offset?: Info; scale?: Info };
  const c = x.shape[x.shape.length - 1];
  const perChannel = (t: Info | undefined): boolean => t === undefined || t === null || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === c);
  if (x.dtype !== 'float32' || c === undefined || size(x.shape) === 0 || ![mean, variance, offset, scale].every(perChannel)) return undefined;
  const out = backend.makeOutput(x.shape, 'float32');
  addon.batchNorm(backend.wasm.HEAPF32, at(backend, x), at(backend, mean), at(backend, variance), scale ? at(backend, scale) : -1,
    offset ? at(backend, offset) : -1, attrs.varianceEpsilon as number, size(x.shape) / c, c, at(backend, out));
  return out;
}

const stockFusedBatchNorm = captureStock(tf.FusedBatchNorm);

/** The kernel behind the FusedBatchNorm gradient below: outputs [dx, dmean, dvariance, dscale, doffset]. */
export const BATCH_NORM_GRAD = 'DeviseBatchNormGrad';

function batchNormGrad(addon: NativeAddon, { inputs, backend, attrs }: KernelArgs): Info[] {
  const { x, mean, variance, scale, dy } = inputs as { x: Info; mean: Info; variance: Info; scale?: Info; dy: Info };
  const c = mean.shape[0]!;
  const outs = [backend.makeOutput(x.shape, 'float32'), ...[0, 1, 2, 3].map(() => backend.makeOutput([c], 'float32'))] as [Info, Info, Info, Info, Info];
  addon.batchNormGrad(backend.wasm.HEAPF32, at(backend, x), at(backend, mean), at(backend, variance), scale ? at(backend, scale) : -1, at(backend, dy),
    attrs.varianceEpsilon as number, size(x.shape) / c, c, ...outs.map((o) => at(backend, o)) as [number, number, number, number, number]);
  return outs;
}

/**
 * Replaces tfjs's FusedBatchNorm gradient (≈10 element-wise passes over the activation) with one native
 * kernel of two passes, on wasm with the native kernels on; every other case (another backend, native
 * off, per-pixel statistics) runs tfjs's own gradient.
 */
function installBatchNormGrad(): void {
  overrideGradient(tf.FusedBatchNorm, (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const c = x.shape[x.rank - 1];
    const plain = (t: tf.Tensor | undefined): boolean => t === undefined || t === null || (t.dtype === 'float32' && t.rank === 1 && t.shape[0] === c);
    if (!nativeFloat32(x) || !plain(mean) || !plain(variance) || !plain(scale)) return undefined;
    // Computed here, not in the closures: the engine calls each closure inside its own tidy, which would
    // dispose the outputs the other closures return. Unused outputs go with the backward pass's scope.
    const [dx, dmean, dvariance, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_GRAD,
      { x, mean, variance, dy: dy as tf.Tensor, ...(scale ? { scale } : {}) }, attrs) as tf.Tensor[];
    return { x: () => dx!, mean: () => dmean!, variance: () => dvariance!, scale: () => dscale!, offset: () => doffset! };
  });
}

let built: tf.KernelConfig[] | undefined;

/** The native kernel configs for the wasm backend; [] when the addon is hidden or not built. */
export function nativeKernels(): tf.KernelConfig[] {
  if (built) return built;
  const { addon } = loadNative();
  if (!addon) return (built = []);
  installBatchNormGrad();
  return (built = [
    nativeKernel(tf.Conv2D, stockConv2D, conv2d),
    nativeKernel(tf.FusedConv2D, stockFusedConv2D, conv2d),
    nativeKernel(tf.Conv2DBackpropInput, projectKernel(conv2DBackpropInputConfig), conv2dBackpropInput),
    nativeKernel(tf.Conv2DBackpropFilter, projectKernel(conv2DBackpropFilterConfig), conv2dBackpropFilter),
    nativeKernel(tf.MaxPoolGrad, projectKernel(maxPoolGradConfig), maxPoolGrad),
    nativeKernel(tf.Sum, projectKernel(sumConfig), reduceLeading(false)),
    nativeKernel(tf.Mean, projectKernel(meanConfig), reduceLeading(true)),
    nativeKernel(tf.Slice, stockSlice, slice),
    nativeKernel(tf.PadV2, stockPadV2, padV2),
    nativeKernel(tf.FusedBatchNorm, stockFusedBatchNorm, fusedBatchNorm),
    addonKernel(BATCH_NORM_GRAD, addon, batchNormGrad),
    ...trainingKernels(addon),
    // A fire module's channel concat and its gradient: the project's SplitV/Concat with threaded copies.
    ...splitConcatConfigs((heap, src, srcStride, dst, dstStride, len, count) => nativeEnabled()
      ? addon.copyBlocks(heap, src, srcStride, dst, dstStride, len, count) : copyBlocks(heap, src, srcStride, dst, dstStride, len, count)),
  ]);
}

/** Which kernels run natively and on what, or why none do. */
export function nativeStatus(): NativeStatus {
  const { addon, why } = loadNative();
  if (!addon) return { kernels: [], why, delegated, delegatedBy: { ...delegatedBy } };
  const info = addon.info();
  return { kernels: nativeKernels().map((k) => k.kernelName), dnnl: info.dnnl, isa: info.isa, threads: info.threads, format: info.format, blocked: info.blocked, winograd: info.winograd, winogradPrimitives: info.winogradPrimitives, delegated, delegatedBy: { ...delegatedBy } };
}
