/**
 * Strided spatial copy on the wasm heap, used to turn a strided 1×1 convolution into a unit-stride one.
 *
 *   subsample(k, x, 2, 2, h, w) // [N,H,W,C] → [N,h,w,C] taking every 2nd row/column
 *
 * It copies whole channel vectors (contiguous in NHWC), so it runs at memory speed.
 */
import { Composer, heapF32, Info } from './compose';

/** Keeps rows 0, sh, 2sh… and columns 0, sw, 2sw… of `t`, `oh`×`ow` of them. */
export function subsample(k: Composer, t: Info, sh: number, sw: number, oh: number, ow: number): Info {
  const [n, h, w, c] = t.shape as [number, number, number, number];
  const out = k.alloc([n, oh, ow, c]);
  const src = heapF32(k.backend, t);
  const dst = heapF32(k.backend, out);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const srcRow = (b * h + i * sh) * w * c;
      const dstRow = (b * oh + i) * ow * c;
      for (let j = 0; j < ow; j++) dst.set(src.subarray(srcRow + j * sw * c, srcRow + j * sw * c + c), dstRow + j * c);
    }
  }
  return out;
}
