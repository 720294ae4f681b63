/**
 * Sum and Mean for wasm: reductions over leading axes (a bias gradient sums dy [N,H,W,C] over N,H,W;
 * batch norm takes per-channel moments) run as one streaming column sum on the wasm heap; the stock
 * kernels would first transpose the whole tensor. Every other axis pattern goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { heapF32, Info, WasmBackend } from './compose';
import { captureStock } from './stock';

type Args = { inputs: { x: Info }; backend: WasmBackend; attrs: { axis: number | number[]; keepDims: boolean } };

const stockSum = captureStock(tf.Sum);
const stockMean = captureStock(tf.Mean);

/** Sum (scale 1) or Mean (scale 1/count) over leading axes; other reductions go to `stock`. */
function reduceLeading(args: Args, stock: () => tf.KernelFunc, mean: boolean): Info {
  const { inputs: { x }, backend, attrs } = args;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return stock()(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  const inner = x.shape.slice(axes.length).reduce((a, b) => a * b, 1);
  const outer = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const shape = attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
  const out = backend.makeOutput(shape, 'float32');
  const src = heapF32(backend, x);
  // Float64 accumulators: the cpu backend also sums in double precision.
  const acc = new Float64Array(inner);
  for (let i = 0; i < outer; i++) {
    const base = i * inner;
    for (let j = 0; j < inner; j++) acc[j] += src[base + j]!;
  }
  if (mean) for (let j = 0; j < inner; j++) acc[j] /= outer;
  heapF32(backend, out).set(acc);
  return out;
}

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: 'wasm',
  kernelFunc: ((args: Args) => reduceLeading(args, stockSum, false)) as unknown as tf.KernelFunc,
};

export const meanConfig: tf.KernelConfig = {
  kernelName: tf.Mean,
  backendName: 'wasm',
  kernelFunc: ((args: Args) => reduceLeading(args, stockMean, true)) as unknown as tf.KernelFunc,
};
