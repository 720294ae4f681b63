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
    const a = rgba[i * 4 + 3]! / 255;
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

/**
 * One separable pass along rows (`horizontal`) or columns, HWC → float, as libvips' `vips_resize` (sharp) does it:
 * shrinking is `vips_reduce` (Lanczos-3 widened by the factor, centre convention), enlarging is `vips_affine`
 * with the bicubic interpolator at input x = out / scale − 0.5 and edge pixels repeated.
 */
function resample(src: Float32Array, w: number, h: number, out: number, horizontal: boolean): Float32Array {
  const inLen = horizontal ? w : h;
  const scale = out / inLen;
  const [ow, oh] = horizontal ? [out, h] : [w, out];
  const dst = new Float32Array(ow * oh * 3);
  for (let o = 0; o < out; o++) {
    const taps: number[] = [];
    const weights: number[] = [];
    if (scale < 1) {
      const support = 3 / scale; // widen the kernel when shrinking (antialiasing)
      const center = (o + 0.5) / scale - 0.5;
      const lo = Math.max(0, Math.floor(center - support));
      const hi = Math.min(inLen - 1, Math.ceil(center + support));
      let sum = 0;
      for (let i = lo; i <= hi; i++) {
        const wt = lanczos3((i - center) * scale);
        taps.push(i);
        weights.push(wt);
        sum += wt;
      }
      for (let k = 0; k < weights.length; k++) weights[k]! /= sum || 1;
    } else {
      const x = o / scale - 0.5;
      const f = Math.floor(x);
      for (let i = f - 1; i <= f + 2; i++) {
        taps.push(Math.min(inLen - 1, Math.max(0, i)));
        weights.push(catmullRom(i - x));
      }
    }
    const lines = horizontal ? h : w;
    for (let l = 0; l < lines; l++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < weights.length; k++) {
        const i = taps[k]!;
        const s = horizontal ? (l * w + i) * 3 : (i * w + l) * 3;
        const wt = weights[k]!;
        r += src[s]! * wt;
        g += src[s + 1]! * wt;
        b += src[s + 2]! * wt;
      }
      const d = horizontal ? (l * ow + o) * 3 : (o * ow + l) * 3;
      dst[d] = r;
      dst[d + 1] = g;
      dst[d + 2] = b;
    }
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
 * Enlarging on both axes as libvips' affine + bicubic on uchar: input position x = out / scale − 0.5 rounded to
 * 1/1024 px, integer Catmull-Rom coefficients (×4096), each row rounded, then the column; edges repeated.
 */
function enlargeBicubic(rgb: Uint8Array, w: number, h: number, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H * 3);
  const pad = 4; // keeps positions positive, as libvips' edge extension does
  const half = 1 << (INTERPOLATE_SHIFT - 1);
  const at = (x: number, y: number, c: number) => rgb[(Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))) * 3 + c]!;
  const phase = (pos: number) => {
    const s = Math.trunc((pos + pad) * TRANSFORM_SCALE * 2);
    return { i: Math.trunc(pos + pad) - pad, c: bicubicTable[((s & (TRANSFORM_SCALE * 2 - 1)) + 1) >> 1]! };
  };
  const xs = Array.from({ length: W }, (_, o) => phase(o / (W / w) - 0.5));
  for (let oy = 0; oy < H; oy++) {
    const { i: iy, c: cy } = phase(oy / (H / h) - 0.5);
    for (let ox = 0; ox < W; ox++) {
      const { i: ix, c: cx } = xs[ox]!;
      for (let ch = 0; ch < 3; ch++) {
        let acc = 0;
        for (let j = 0; j < 4; j++) {
          let row = 0;
          for (let k = 0; k < 4; k++) row += cx[k]! * at(ix - 1 + k, iy - 1 + j, ch);
          acc += cy[j]! * ((row + half) >> INTERPOLATE_SHIFT);
        }
        out[(oy * W + ox) * 3 + ch] = Math.min(255, Math.max(0, (acc + half) >> INTERPOLATE_SHIFT));
      }
    }
  }
  return out;
}

/** HWC uint8 RGB resized to `W`×`H` as sharp's `resize` with kernel lanczos3 (identity when the size is unchanged). */
export function resizeLanczos3(rgb: Uint8Array, w: number, h: number, W: number, H: number): Uint8Array {
  if (w === W && h === H) return rgb;
  if (W > w && H > h) return enlargeBicubic(rgb, w, h, W, H);
  let f: Float32Array = Float32Array.from(rgb);
  let cw = w;
  if (W !== w) {
    f = resample(f, w, h, W, true);
    cw = W;
  }
  if (H !== h) f = resample(f, cw, h, H, false);
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(f[i]!)));
  return out;
}

/** The library's validation view of an image: short side resized to `size`, then the center `size`² crop. */
export function centerCropRgb(rgb: Uint8Array, w: number, h: number, size: number): Uint8Array {
  const [W, H] = outsideSize(w, h, size);
  const resized = resizeLanczos3(rgb, w, h, W, H);
  const x0 = Math.round(0.5 * (W - size));
  const y0 = Math.round(0.5 * (H - size));
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < size; i++) out.set(resized.subarray(((y0 + i) * W + x0) * 3, ((y0 + i) * W + x0 + size) * 3), i * size * 3);
  return out;
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
