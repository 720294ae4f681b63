/**
 * The browser app's pure parts (no DOM, no tfjs), shared with Node tests: the library's image
 * preprocessing (sharp's `fit: 'outside'` short-side resize: Lanczos-3 to shrink, bicubic to enlarge; fastai's center crop,
 * the weight source's normalisation from lib/preprocessing.ts) and the exact cosine scans of the searches.
 *
 *   const rgb = centerCropRgb(rgbaToRgbOnWhite(imageData.data), w, h, 224);   // HWC uint8, as lib/data/augment CENTER
 *   const hits = cosineTopK(query, table, dim, 5);                         // [{index, score}], best first
 */
import { normalizeInto, type Preprocessing } from '../../lib/preprocessing';

export { normalizeInto, type Preprocessing };

/** The app's tfjs backends in preference order (./backend.ts picks among them by a measured warm-up). */
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** RGBA (canvas ImageData) → RGB with alpha flattened on white, as `sharp().flatten({background: '#ffffff'})`. */
export function rgbaToRgbOnWhite(rgba: Uint8ClampedArray | Uint8Array): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const alpha = rgba[i * 4 + 3]!;
    if (alpha === 255) {
      // Opaque (every camera photo): the formula below gives the colour unchanged.
      out[i * 3] = rgba[i * 4]!;
      out[i * 3 + 1] = rgba[i * 4 + 1]!;
      out[i * 3 + 2] = rgba[i * 4 + 2]!;
      continue;
    }
    const a = alpha / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(rgba[i * 4 + c]! * a + 255 * (1 - a));
  }
  return out;
}

/** Size after sharp's `resize({width: s, height: s, fit: 'outside'})`: the short side becomes `s`. */
export function outsideSize(w: number, h: number, s: number): [number, number] {
  const scale = Math.max(s / w, s / h);
  return [Math.max(s, Math.round(w * scale)), Math.max(s, Math.round(h * scale))];
}

const lanczos3 = (x: number) => {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
};

/** Catmull-Rom, libvips' `bicubic` interpolator. */
const catmullRom = (x: number) => {
  const t = Math.abs(x);
  if (t < 1) return 1.5 * t ** 3 - 2.5 * t ** 2 + 1;
  if (t < 2) return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2;
  return 0;
};

/** The filter of one separable pass, for outputs `from`…`to − 1`: output o reads `index[k]` × `weight[k]` for k in `offset[o − from]`…`offset[o − from + 1] − 1`. */
interface Taps {
  offset: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

/**
 * The taps libvips' `vips_resize` (sharp) uses along one axis of `inLen` pixels resized to `out`: shrinking is
 * `vips_reduce` (Lanczos-3 widened by the factor, centre convention), enlarging is `vips_affine` with the bicubic
 * interpolator at input x = out / scale − 0.5 and edge pixels repeated.
 */
function tapsFor(inLen: number, out: number, from: number, to: number): Taps {
  const scale = out / inLen;
  const index: number[] = [];
  const weight: number[] = [];
  const offset = new Int32Array(to - from + 1);
  for (let o = from; o < to; o++) {
    const first = index.length;
    if (scale < 1) {
      const support = 3 / scale; // widen the kernel when shrinking (antialiasing)
      const center = (o + 0.5) / scale - 0.5;
      const lo = Math.max(0, Math.floor(center - support));
      const hi = Math.min(inLen - 1, Math.ceil(center + support));
      let sum = 0;
      for (let i = lo; i <= hi; i++) {
        const wt = lanczos3((i - center) * scale);
        if (wt === 0) continue; // adds exactly nothing to a sum: left out
        index.push(i);
        weight.push(wt);
        sum += wt;
      }
      for (let k = first; k < weight.length; k++) weight[k]! /= sum || 1;
    } else {
      const x = o / scale - 0.5;
      const f = Math.floor(x);
      for (let i = f - 1; i <= f + 2; i++) {
        index.push(Math.min(inLen - 1, Math.max(0, i)));
        weight.push(catmullRom(i - x));
      }
    }
    offset[o - from + 1] = index.length;
  }
  return { offset, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/** The pass along rows: rows `r0`…`r0 + rows − 1` of the HWC image `src` (`w` wide) → `taps`' columns × `rows` (float). */
function resampleRows(src: Uint8Array | Float32Array, w: number, r0: number, rows: number, taps: Taps): Float32Array {
  const { offset, weight } = taps;
  const index3 = taps.index.map((i) => i * 3);
  const ow = offset.length - 1;
  const dst = new Float32Array(ow * rows * 3);
  let d = 0;
  for (let l = 0; l < rows; l++) {
    const line = (r0 + l) * w * 3;
    for (let o = 0; o < ow; o++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const end = offset[o + 1]!;
      for (let k = offset[o]!; k < end; k++) {
        const s = line + index3[k]!;
        const wt = weight[k]!;
        r += src[s]! * wt;
        g += src[s + 1]! * wt;
        b += src[s + 2]! * wt;
      }
      dst[d++] = r;
      dst[d++] = g;
      dst[d++] = b;
    }
  }
  return dst;
}

/**
 * The pass along columns: columns `c0`…`c0 + cols − 1` of `src` (`w` wide) → cols × `taps`' rows (float). Each output
 * row is summed tap by tap over the whole row at once (a float64 row of sums, same order of terms per value).
 */
function resampleColumns(src: Uint8Array | Float32Array, w: number, c0: number, cols: number, taps: Taps): Float32Array {
  const { offset, index, weight } = taps;
  const oh = offset.length - 1;
  const dst = new Float32Array(cols * oh * 3);
  const acc = new Float64Array(cols * 3);
  for (let o = 0; o < oh; o++) {
    acc.fill(0);
    for (let k = offset[o]!; k < offset[o + 1]!; k++) {
      const s0 = (index[k]! * w + c0) * 3;
      const wt = weight[k]!;
      for (let j = 0; j < cols * 3; j++) acc[j]! += src[s0 + j]! * wt;
    }
    dst.set(acc, o * cols * 3);
  }
  return dst;
}

const TRANSFORM_SCALE = 1024; // libvips: sub-pixel positions of its interpolation tables
const INTERPOLATE_SHIFT = 12; // libvips: fixed-point bits of the uchar coefficients
const bicubicTable = Array.from({ length: TRANSFORM_SCALE + 1 }, (_, i) => {
  const f = Math.fround(i / TRANSFORM_SCALE);
  return [catmullRom(1 + f), catmullRom(f), catmullRom(1 - f), catmullRom(2 - f)].map((c) => Math.trunc(c * (1 << INTERPOLATE_SHIFT)));
});

/**
 * libvips' affine + bicubic on uchar along one axis of `inLen` enlarged to `out`, for outputs `from`…`to − 1`: input
 * position x = out / scale − 0.5 rounded to 1/1024 px, its 4 integer Catmull-Rom coefficients (×4096) and the 4
 * input indices they read (edges repeated).
 */
function bicubicTaps(inLen: number, out: number, from: number, to: number): { index: Int32Array; coef: Int32Array } {
  const pad = 4; // keeps positions positive, as libvips' edge extension does
  const index = new Int32Array((to - from) * 4);
  const coef = new Int32Array((to - from) * 4);
  for (let o = from; o < to; o++) {
    const pos = o / (out / inLen) - 0.5;
    const s = Math.trunc((pos + pad) * TRANSFORM_SCALE * 2);
    const i = Math.trunc(pos + pad) - pad;
    const c = bicubicTable[((s & (TRANSFORM_SCALE * 2 - 1)) + 1) >> 1]!;
    for (let k = 0; k < 4; k++) {
      index[(o - from) * 4 + k] = Math.min(inLen - 1, Math.max(0, i - 1 + k));
      coef[(o - from) * 4 + k] = c[k]!;
    }
  }
  return { index, coef };
}

/**
 * Enlarging on both axes (libvips: each row of 4 taps rounded, then the column of 4 rows), the window `x0, y0, cw × ch`
 * of the `W`×`H` result. A rounded row value depends only on the input row it reads, so each input row the window
 * needs is filtered once and shared by the output rows that read it.
 */
function enlargeBicubic(rgb: Uint8Array, w: number, h: number, W: number, H: number, x0: number, y0: number, cw: number, ch: number): Uint8Array {
  const out = new Uint8Array(cw * ch * 3);
  const half = 1 << (INTERPOLATE_SHIFT - 1);
  const xs = bicubicTaps(w, W, x0, x0 + cw);
  const ys = bicubicTaps(h, H, y0, y0 + ch);
  const n = cw * 3;
  // The input rows the window reads (ys.index ascends), each filtered once along x into one buffer.
  const first = ys.index[0]!;
  const rows = new Int32Array((ys.index[ys.index.length - 1]! - first + 1) * n);
  for (let y = first, r = 0; r < rows.length; y++, r += n) {
    const line = y * w * 3;
    for (let ox = 0; ox < cw; ox++) {
      const a = line + xs.index[ox * 4]! * 3;
      const b = line + xs.index[ox * 4 + 1]! * 3;
      const c = line + xs.index[ox * 4 + 2]! * 3;
      const d = line + xs.index[ox * 4 + 3]! * 3;
      const ka = xs.coef[ox * 4]!;
      const kb = xs.coef[ox * 4 + 1]!;
      const kc = xs.coef[ox * 4 + 2]!;
      const kd = xs.coef[ox * 4 + 3]!;
      const o = r + ox * 3;
      rows[o] = (ka * rgb[a]! + kb * rgb[b]! + kc * rgb[c]! + kd * rgb[d]! + half) >> INTERPOLATE_SHIFT;
      rows[o + 1] = (ka * rgb[a + 1]! + kb * rgb[b + 1]! + kc * rgb[c + 1]! + kd * rgb[d + 1]! + half) >> INTERPOLATE_SHIFT;
      rows[o + 2] = (ka * rgb[a + 2]! + kb * rgb[b + 2]! + kc * rgb[c + 2]! + kd * rgb[d + 2]! + half) >> INTERPOLATE_SHIFT;
    }
  }
  for (let oy = 0; oy < ch; oy++) {
    const ra = (ys.index[oy * 4]! - first) * n;
    const rb = (ys.index[oy * 4 + 1]! - first) * n;
    const rc = (ys.index[oy * 4 + 2]! - first) * n;
    const rd = (ys.index[oy * 4 + 3]! - first) * n;
    const ka = ys.coef[oy * 4]!;
    const kb = ys.coef[oy * 4 + 1]!;
    const kc = ys.coef[oy * 4 + 2]!;
    const kd = ys.coef[oy * 4 + 3]!;
    const base = oy * n;
    for (let i = 0; i < n; i++) {
      const v = (ka * rows[ra + i]! + kb * rows[rb + i]! + kc * rows[rc + i]! + kd * rows[rd + i]! + half) >> INTERPOLATE_SHIFT;
      out[base + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/**
 * HWC uint8 RGB resized to `W`×`H` as sharp's `resize` with kernel lanczos3 (identity when the size is unchanged),
 * computing only the window `x0, y0, cw × ch` of the result (default: all of it). Shrinking, or enlarging along one
 * axis, is two separable float passes (rows, then columns), each over only what the window needs.
 */
export function resizeLanczos3(rgb: Uint8Array, w: number, h: number, W: number, H: number, x0 = 0, y0 = 0, cw = W, ch = H): Uint8Array {
  if (W > w && H > h) return enlargeBicubic(rgb, w, h, W, H, x0, y0, cw, ch);
  let f: Uint8Array | Float32Array;
  if (W === w && H === h) f = rgb;
  else if (H === h) f = resampleRows(rgb, w, y0, ch, tapsFor(w, W, x0, x0 + cw));
  else {
    const vertical = tapsFor(h, H, y0, y0 + ch);
    if (W === w) f = resampleColumns(rgb, w, x0, cw, vertical);
    else {
      // Only the rows the vertical taps read go through the row pass.
      const first = Math.min(...vertical.index);
      const rows = Math.max(...vertical.index) - first + 1;
      const across = resampleRows(rgb, w, first, rows, tapsFor(w, W, x0, x0 + cw));
      f = resampleColumns(across, cw, 0, cw, { ...vertical, index: vertical.index.map((i) => i - first) });
    }
  }
  const out = new Uint8Array(cw * ch * 3);
  if (f === rgb) {
    for (let i = 0; i < ch; i++) out.set(rgb.subarray(((y0 + i) * W + x0) * 3, ((y0 + i) * W + x0 + cw) * 3), i * cw * 3);
    return out;
  }
  const floats = f as Float32Array;
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(floats[i]!);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** The library's validation view of an image: short side resized to `size`, then the center `size`² crop. */
export function centerCropRgb(rgb: Uint8Array, w: number, h: number, size: number): Uint8Array {
  const [W, H] = outsideSize(w, h, size);
  return resizeLanczos3(rgb, w, h, W, H, Math.round(0.5 * (W - size)), Math.round(0.5 * (H - size)), size, size);
}

/** Rows of `flat` (n × dim) scaled to unit length (zero rows stay zero). */
export function normalizeRows(flat: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(flat.length);
  for (let r = 0; r * dim < flat.length; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += flat[r * dim + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[r * dim + j] = flat[r * dim + j]! * inv;
  }
  return out;
}

/** images.bin's 'int8-rows' rows (each scaled to a largest |value| of 127: lib/export/run.ts int8Rows) as unit float rows. */
export function rowsFromInt8(bytes: Uint8Array, dim: number): Float32Array {
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return normalizeRows(Float32Array.from(q), dim);
}

export interface Hit {
  index: number;
  /** Cosine similarity. */
  score: number;
}

/** Exact cosine top-k of `query` against the unit rows of `table` (n × dim), best first; `shift(i)` is added to row i's score. */
export function cosineTopK(query: ArrayLike<number>, table: Float32Array, dim: number, k: number, skip?: (i: number) => boolean, shift?: (i: number) => number): Hit[] {
  let qn = 0;
  for (let j = 0; j < dim; j++) qn += query[j]! ** 2;
  const inv = qn > 0 ? 1 / Math.sqrt(qn) : 0;
  const hits: Hit[] = [];
  for (let r = 0; r * dim < table.length; r++) {
    if (skip?.(r)) continue;
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += query[j]! * table[r * dim + j]!;
    const score = dot * inv + (shift ? shift(r) : 0);
    if (hits.length < k || score > hits[hits.length - 1]!.score) {
      hits.push({ index: r, score });
      hits.sort((a, b) => b.score - a.score);
      if (hits.length > k) hits.pop();
    }
  }
  return hits;
}

/** The vocabulary entry a typed word means: exact label, or with spaces for `+`, case-insensitive. */
export function findLabel(word: string, labels: string[]): number {
  const w = word.trim().toLowerCase().replace(/\s+/g, '+');
  return labels.findIndex((l) => l.toLowerCase() === w);
}

/** 'grizzly+bear' → 'grizzly bear'. */
export const displayName = (label: string) => label.replace(/\+/g, ' ');

/** Base64 → bytes (the file:// bundle). */
export function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
