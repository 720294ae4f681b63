/**
 * MaxPoolGrad for wasm, run directly on the wasm heap (the stock kernel rescans every window for
 * every input pixel). One pass over the output windows: each window's gradient goes to the first
 * cell (row-major) that equals the forward output — the cpu backend's tie rule — and the scan stops
 * there. Channels are innermost (NHWC), so the window's cells are walked as parallel contiguous runs.
 */
import * as tf from '@tensorflow/tfjs';
import { heapF32, Info, WasmBackend } from './compose';

interface Attrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function maxPoolGrad(args: { inputs: { dy: Info; input: Info; output: Info }; backend: WasmBackend; attrs: Attrs }): Info {
  const { inputs: { dy, input, output }, backend, attrs } = args;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(input.shape, 'float32');
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const dx = heapF32(backend, out);
  dx.fill(0);
  const y = heapF32(backend, output);
  const cells = new Int32Array(fh * fw); // window cell offsets, row-major (the tie order)
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const r0 = Math.max(0, i * sh - top);
      const r1 = Math.min(h, i * sh - top + fh);
      for (let j = 0; j < ow; j++) {
        const c0 = Math.max(0, j * sw - left);
        const c1 = Math.min(w, j * sw - left + fw);
        let count = 0;
        for (let r = r0; r < r1; r++) for (let q = c0; q < c1; q++) cells[count++] = ((b * h + r) * w + q) * c;
        const o = ((b * oh + i) * ow + j) * c;
        for (let ch = 0; ch < c; ch++) {
          const target = y[o + ch]!;
          for (let k = 0; k < count; k++) {
            const p = cells[k]! + ch;
            if (x[p] === target) {
              dx[p] += g[o + ch]!;
              break;
            }
          }
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
