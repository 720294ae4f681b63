/**
 * Tile for wasm as block copies on the heap. Batch-norm gradients tile a per-channel [1,1,1,C] vector
 * to the whole [N,H,W,C] activation; the stock kernel computes a source index per element. Here each
 * dimension's first repetition is built once and then doubled with copyWithin (memmove speed).
 * Copies move raw 32-bit words, so float32 and int32 share the path; bool/string use the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { heapF32, Info, WasmBackend } from './compose';
import { captureStock } from './stock';

const stockTile = captureStock(tf.Tile);

function tile(args: { inputs: { x: Info }; backend: WasmBackend; attrs: { reps: number[] } }): Info {
  const { inputs: { x }, backend, attrs } = args;
  const { reps } = attrs;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length === 0 || reps.length !== x.shape.length) {
    return stockTile()(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const inShape = x.shape;
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.some((d) => d === 0)) return out;
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  const rank = inShape.length;
  const srcStride = new Array<number>(rank);
  const dstStride = new Array<number>(rank);
  srcStride[rank - 1] = 1;
  dstStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1]! * inShape[d + 1]!;
    dstStride[d] = dstStride[d + 1]! * outShape[d + 1]!;
  }
  const fill = (d: number, s: number, o: number): void => {
    if (d === rank - 1) dst.set(src.subarray(s, s + inShape[d]!), o);
    else for (let i = 0; i < inShape[d]!; i++) fill(d + 1, s + i * srcStride[d]!, o + i * dstStride[d]!);
    // [o, o + block) now holds repetition 0 along d; double it until all reps[d] are there.
    const block = inShape[d]! * dstStride[d]!;
    const total = block * reps[d]!;
    for (let done = block; done < total; done += Math.min(done, total - done)) dst.copyWithin(o + done, o, o + Math.min(done, total - done));
  };
  fill(0, 0, 0);
  return out;
}

export const tileConfig: tf.KernelConfig = { kernelName: tf.Tile, backendName: 'wasm', kernelFunc: tile as unknown as tf.KernelFunc };
