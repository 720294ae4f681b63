/**
 * SplitV and Concat for wasm as block copies on the heap. A fire module's channel concat (and its
 * gradient, a SplitV on the channel axis) cut every pixel's channel vector; the stock SplitV runs a
 * generic strided Slice per output. Non-float32 tensors go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOffset, Info, WasmBackend } from './compose';
import { captureStock } from './stock';

const stockSplitV = captureStock(tf.SplitV);
const stockConcat = captureStock(tf.Concat);

/** Copies `count` blocks of `len` floats within the heap, from `src` (stride `srcStride`) to `dst` (stride `dstStride`). */
export type BlockCopy = (heap: Float32Array, src: number, srcStride: number, dst: number, dstStride: number, len: number, count: number) => void;

/** The JS block copy (the native kernels pass a multithreaded one). */
export const copyBlocks: BlockCopy = function copyBlocks(heap: Float32Array, src: number, srcStride: number, dst: number, dstStride: number, len: number, count: number): void {
  if (len >= 16) {
    // copyWithin is a memmove inside the one heap array: no views, no per-element JS.
    for (let i = 0; i < count; i++) heap.copyWithin(dst + i * dstStride, src + i * srcStride, src + i * srcStride + len);
    return;
  }
  for (let i = 0; i < count; i++) {
    const s = src + i * srcStride;
    const d = dst + i * dstStride;
    for (let j = 0; j < len; j++) heap[d + j] = heap[s + j]!;
  }
};

const splitV = (copy: BlockCopy) => function splitV(args: { inputs: { x: Info }; backend: WasmBackend; attrs: { numOrSizeSplits: number | number[]; axis: number } }): Info[] {
  const { inputs: { x }, backend, attrs } = args;
  if (x.dtype !== 'float32') return stockSplitV()(args as unknown as Parameters<tf.KernelFunc>[0]) as Info[];
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits, axis) as number[];
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const row = x.shape[axis]! * inner;
  const outs = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === axis ? s : d)), 'float32'));
  let offset = heapOffset(backend, x).at;
  outs.forEach((out, k) => {
    const len = sizes[k]! * inner;
    const { heap, at } = heapOffset(backend, out);
    copy(heap, offset, row, at, len, len, outer);
    offset += len;
  });
  return outs;
};

const concat = (copy: BlockCopy) => function concat(args: { inputs: Info[]; backend: WasmBackend; attrs: { axis: number } }): Info {
  const { inputs, backend, attrs } = args;
  const parts = inputs.filter((t) => t.shape.reduce((a, b) => a * b, 1) > 0);
  if (parts.length < 2 || parts.some((t) => t.dtype !== 'float32')) return stockConcat()(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  const axis = tf.util.parseAxisParam(attrs.axis, parts[0]!.shape)[0]!;
  tf.backend_util.assertParamsConsistent(parts.map((t) => t.shape), axis);
  const shape = tf.backend_util.computeOutShape(parts.map((t) => t.shape), axis);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const row = shape[axis]! * inner;
  const out = backend.makeOutput(shape, 'float32');
  let offset = heapOffset(backend, out).at;
  for (const t of parts) {
    const len = t.shape[axis]! * inner;
    const { heap, at } = heapOffset(backend, t);
    copy(heap, at, len, offset, row, len, outer);
    offset += len;
  }
  return out;
};

/** SplitV and Concat whose block copies are done by `copy`. */
export const splitConcatConfigs = (copy: BlockCopy): tf.KernelConfig[] => [
  { kernelName: tf.SplitV, backendName: 'wasm', kernelFunc: splitV(copy) as unknown as tf.KernelFunc },
  { kernelName: tf.Concat, backendName: 'wasm', kernelFunc: concat(copy) as unknown as tf.KernelFunc },
];
export const [splitVConfig, concatConfig] = splitConcatConfigs(copyBlocks) as [tf.KernelConfig, tf.KernelConfig];
