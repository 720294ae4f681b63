/**
 * Conv2DBackpropInput for wasm as XNNPACK convolutions (the stock kernel is a scalar loop, ~15× slower).
 *
 * dx[n,y,x,ci] = Σ_{a,b,co} dy[n, (y+pt−a)/s, (x+pl−b)/s, co] · W[a,b,ci,co]   (terms with integer indices)
 *
 * For stride s the output splits into s×s phases (y = s·q + r): each phase is a unit-stride conv of
 * dy with the filter taps a ≡ r+pt (mod s), flipped and transposed to [th,tw,Co,Ci]. So no
 * multiply-by-inserted-zero work and no s²-times larger dilated copy of dy; stride 1 is the single
 * phase (the classic "conv with the flipped filter"). Phases are interleaved into dx on the heap.
 */
import * as tf from '@tensorflow/tfjs';
import { assertNHWC, Composer, heapF32, Info, WasmBackend } from './compose';

/** tfjs's own attributes of the kernel (dataFormat is checked to be NHWC at run time). */
type Attrs = tf.Conv2DBackpropInputAttrs;

/** One spatial axis of one phase: which taps it uses and how its conv is padded. */
interface Phase1D {
  /** First tap a0 and tap count t (taps a0, a0+s, …). */
  a0: number;
  taps: number;
  /** Output positions q (dx index s·q + r) in this phase. */
  count: number;
  /** Rows of dy to skip (negative padding), then conv padding before/after. */
  crop: number;
  padBefore: number;
  padAfter: number;
}

/** Phase r of an axis with input size `size`, dy size `outSize`, filter `k`, stride `s`, padding `pad`. */
function phase1D(r: number, size: number, outSize: number, k: number, s: number, pad: number): Phase1D {
  const a0 = (((r + pad) % s) + s) % s;
  const taps = a0 < k ? Math.ceil((k - a0) / s) : 0;
  const count = r < size ? Math.ceil((size - r) / s) : 0;
  const c = (r + pad - a0) / s; // dx[s·q+r] reads dy[q + c − t] for tap a0 + s·t
  const before = taps - 1 - c;
  const crop = Math.max(0, -before);
  const padBefore = Math.max(0, before);
  const padAfter = Math.max(0, count - 1 + c - (outSize - 1));
  return { a0, taps, count, crop, padBefore, padAfter };
}

function conv2dBackpropInput(args: { inputs: { dy: Info; filter: Info }; backend: WasmBackend; attrs: Attrs }): Info {
  const { inputs: { dy, filter }, backend, attrs } = args;
  assertNHWC(attrs.dataFormat, 'Conv2DBackpropInput');
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, outHeight: ho, outWidth: wo } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const k = new Composer(backend);
  const single = sh === 1 && sw === 1;
  const dx = single ? undefined : k.alloc([n, h, w, ci]);
  if (dx) heapF32(backend, dx).fill(0);

  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const ph = phase1D(rh, h, ho, kh, sh, top);
      const pw = phase1D(rw, w, wo, kw, sw, left);
      if (ph.count === 0 || pw.count === 0 || ph.taps === 0 || pw.taps === 0) continue; // stays zero
      const wPhase = phaseFilter(k, filter, ph, pw, sh, sw, kw, ci, co);
      let src = dy;
      if (ph.crop > 0 || pw.crop > 0) {
        src = k.run('Slice', { x: dy }, { begin: [0, ph.crop, pw.crop, 0], size: [n, ho - ph.crop, wo - pw.crop, co] });
      }
      let out = k.run('Conv2D', { x: src, filter: wPhase },
        { strides: 1, dilations: 1, dataFormat: 'NHWC', pad: [[0, 0], [ph.padBefore, ph.padAfter], [pw.padBefore, pw.padAfter], [0, 0]] });
      if (dx === undefined) {
        if (out.shape[1] !== h || out.shape[2] !== w) out = k.run('Slice', { x: out }, { begin: [0, 0, 0, 0], size: [n, h, w, ci] });
        return k.done(out);
      }
      interleave(heapF32(backend, out), out.shape as number[], heapF32(backend, dx), [n, h, w, ci], rh, rw, sh, sw, ph.count, pw.count);
    }
  }
  if (dx === undefined) { // every tap fell outside: dx is all zeros (only with extreme explicit padding)
    const zeros = k.alloc([n, h, w, ci]);
    heapF32(backend, zeros).fill(0);
    return k.done(zeros);
  }
  return k.done(dx);
}

/** The phase's taps of W [kh,kw,Ci,Co], flipped and transposed to [th,tw,Co,Ci]. */
function phaseFilter(k: Composer, filter: Info, ph: Phase1D, pw: Phase1D, sh: number, sw: number, kw: number, ci: number, co: number): Info {
  const out = k.alloc([ph.taps, pw.taps, co, ci]);
  const src = heapF32(k.backend, filter);
  const dst = heapF32(k.backend, out);
  for (let u = 0; u < ph.taps; u++) {
    const a = ph.a0 + sh * (ph.taps - 1 - u);
    for (let v = 0; v < pw.taps; v++) {
      const b = pw.a0 + sw * (pw.taps - 1 - v);
      const sBase = (a * kw + b) * ci * co;
      const dBase = (u * pw.taps + v) * co * ci;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) dst[dBase + o * ci + i] = src[sBase + i * co + o]!;
    }
  }
  return out;
}

/** dx[n, s·q+rh, s·p+rw, :] = phase[n, q, p, :] for q < qh, p < qw. */
function interleave(phase: Float32Array, pShape: number[], dx: Float32Array, dShape: number[], rh: number, rw: number, sh: number, sw: number, qh: number, qw: number): void {
  const [n, h, w, c] = dShape as [number, number, number, number];
  const [, ph, pw] = pShape as [number, number, number, number];
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < qh; q++) {
      const srcRow = ((b * ph + q) * pw) * c;
      const dstRow = ((b * h + sh * q + rh) * w + rw) * c;
      for (let p = 0; p < qw; p++) {
        const s = srcRow + p * c;
        const d = dstRow + p * sw * c;
        for (let j = 0; j < c; j++) dx[d + j] = phase[s + j]!;
      }
    }
  }
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
