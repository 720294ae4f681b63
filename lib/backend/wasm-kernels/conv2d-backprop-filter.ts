/**
 * Conv2DBackpropFilter for wasm (missing upstream, tfjs#8474), computed by XNNPACK convolutions.
 *
 * dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s+a−pt, j·s+b−pl, ci] · dy[n,i,j,co]
 *  - 1×1 filters: a matrix product xᵀ·dy, run as a 1×1 conv of xᵀ ([Ci pixels, N·H·W channels]) with dy.
 *  - otherwise: the same GEMM on im2col rows, colᵀ [kh·kw·Ci, N·Ho·Wo] against dy [N·Ho·Wo, Co]; its
 *    long contiguous K dimension keeps XNNPACK near forward-conv speed (a conv with dy as a huge
 *    dilated filter ran at a third of that).
 */
import * as tf from '@tensorflow/tfjs';
import { assertNHWC, Composer, heapOffset, Info, reshapeInfo, WasmBackend } from './compose';
import { subsample } from './spatial';

/** tfjs's own attributes of the kernel (dataFormat is checked to be NHWC at run time). */
type Attrs = tf.Conv2DBackpropFilterAttrs;

function conv2dBackpropFilter(args: { inputs: { x: Info; dy: Info }; backend: WasmBackend; attrs: Attrs }): Info {
  const { inputs: { x, dy }, backend, attrs } = args;
  assertNHWC(attrs.dataFormat, 'Conv2DBackpropFilter');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left, bottom, right } = info.padInfo;
  const k = new Composer(backend);

  if (kh === 1 && kw === 1 && top === 0 && left === 0 && bottom === 0 && right === 0) {
    // The 1×1 case is one GEMM over m = N·Ho·Wo rows: dW = xᵀ·dy.
    const xs = sh === 1 && sw === 1 && ho === h && wo === w ? x : subsample(k, x, sh, sw, ho, wo);
    const m = n * ho * wo;
    const xT = k.run('Transpose', { x: reshapeInfo(xs, [m, ci]) }, { perm: [1, 0] });
    const out = k.run('Conv2D', { x: reshapeInfo(xT, [1, 1, ci, m]), filter: reshapeInfo(dy, [1, 1, m, co]) },
      { strides: 1, pad: 'valid', dilations: 1, dataFormat: 'NHWC' });
    return k.done(reshapeInfo(out, [1, 1, ci, co]));
  }

  // General case: dW = colᵀ·dy with colᵀ [kh·kw·Ci, N·Ho·Wo] (im2col, built row by row from x as [Ci,N,H,W]).
  const m = n * ho * wo;
  const rows = kh * kw * ci;
  const xT = k.run('Transpose', { x }, { perm: [3, 0, 1, 2] });
  const colT = k.alloc([rows, m]);
  const { heap, at: xAt } = heapOffset(backend, xT);
  im2colT(heap, xAt, heapOffset(backend, colT).at, info);
  const out = k.run('Conv2D', { x: reshapeInfo(colT, [1, 1, rows, m]), filter: reshapeInfo(dy, [1, 1, m, co]) },
    { strides: 1, pad: 'valid', dilations: 1, dataFormat: 'NHWC' });
  return k.done(reshapeInfo(out, [kh, kw, ci, co]));
}

/**
 * colT[(a·kw+b)·Ci+c][(n·Ho+i)·Wo+j] = x[c][n][i·sh+a−top][j·sw+b−left] (0 outside the image); both
 * live in `heap` (xT at index `xAt`, colT at `colAt`), so unit-stride rows are copyWithin memmoves.
 */
function im2colT(heap: Float32Array, xAt: number, colAt: number, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: ho, outWidth: wo } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const m = n * ho * wo;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      // Output columns j whose input column j·sw+b−left lies inside [0, w).
      const j0 = Math.min(wo, Math.max(0, Math.ceil((left - b) / sw)));
      const j1 = Math.max(j0, Math.min(wo, Math.floor((w - 1 + left - b) / sw) + 1));
      for (let c = 0; c < ci; c++) {
        const rowBase = ((a * kw + b) * ci + c) * m;
        for (let img = 0; img < n; img++) {
          for (let i = 0; i < ho; i++) {
            const dst = colAt + rowBase + (img * ho + i) * wo;
            const y = i * sh + a - top;
            if (y < 0 || y >= h) {
              heap.fill(0, dst, dst + wo);
              continue;
            }
            const src = xAt + ((c * n + img) * h + y) * w + b - left;
            if (j0 > 0) heap.fill(0, dst, dst + j0);
            if (sw === 1) heap.copyWithin(dst + j0, src + j0, src + j1);
            else for (let j = j0; j < j1; j++) heap[dst + j] = heap[src + j * sw]!;
            if (j1 < wo) heap.fill(0, dst + j1, dst + wo);
          }
        }
      }
    }
  }
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
