/**
 * The image pipeline: decode any JPEG/PNG/WebP (grayscale, CMYK, alpha, EXIF-rotated) to RGB with
 * sharp, then fastai 1.0.33 `get_transforms()` augmentation in one geometry + colour pass in JS.
 *
 *   const img = await decodeImage('cat.jpg', 224);             // short side 224, aspect kept (ResizeMethod.CROP)
 *   const p = sampleParams(new Rng(seed), getTransforms());    // random crop, flip, warp, rotate, zoom, lighting
 *   const rgb = applyTransforms(img, 224, p);                  // Uint8Array [224*224*3], HWC
 *
 * Why two passes: sharp orders operations itself (an `affine` after `resize` gave 246×224), so sharp
 * only decodes and resizes, and the geometry is one explicit inverse map with bilinear sampling and
 * reflection padding (as fastai's `grid_sample(padding_mode='reflection')`), which tests can check
 * against the closed form. Coordinates follow fastai: output pixel → [-1, 1]² → warp → zoom → rotate
 * → input pixel; rotation is done in pixel units so it is a true rotation on non-square images.
 */
import sharp from 'sharp';
import type { Rng } from './rng';

/** fastai `get_transforms()` arguments (camelCased); defaults are fastai 1.0.33's. */
export interface AugmentOptions {
  doFlip?: boolean;
  maxRotate?: number;
  maxZoom?: number;
  maxLighting?: number;
  maxWarp?: number;
  pAffine?: number;
  pLighting?: number;
}

/** One draw of every transform's random parameters; `null` = not applied this time. */
export interface TransformParams {
  /** Crop position in [0, 1] (fastai `crop_pad` row_pct/col_pct; 0.5 = center crop). */
  rowPct: number;
  colPct: number;
  flip: boolean;
  /** symmetric_warp magnitudes of the four corners. */
  warp: [number, number, number, number] | null;
  /** Degrees, counter-clockwise in image coordinates as fastai's matrix. */
  rotate: number | null;
  zoom: { scale: number; rowPct: number; colPct: number } | null;
  /** brightness `change` in (0, 1); 0.5 = unchanged. Added as logit(change) in logit space. */
  brightness: number | null;
  /** contrast `scale`; multiplies logits. */
  contrast: number | null;
}

/** HWC uint8 RGB pixels. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The validation transform: center crop, nothing random. */
export const CENTER: TransformParams = { rowPct: 0.5, colPct: 0.5, flip: false, warp: null, rotate: null, zoom: null, brightness: null, contrast: null };

/** fastai `get_transforms(**opts)` with 1.0.33 defaults filled in. */
export function getTransforms(opts: AugmentOptions = {}): Required<AugmentOptions> {
  return { doFlip: true, maxRotate: 10, maxZoom: 1.1, maxLighting: 0.2, maxWarp: 0.2, pAffine: 0.75, pLighting: 0.75, ...opts };
}

/** Draws one set of parameters (a fixed number of draws per call, so streams stay aligned). */
export function sampleParams(rng: Rng, opts: Required<AugmentOptions>): TransformParams {
  const rowPct = rng.next();
  const colPct = rng.next();
  const flip = opts.doFlip && rng.bool(0.5);
  const doWarp = rng.bool(opts.pAffine);
  const w = [0, 1, 2, 3].map(() => rng.uniform(-opts.maxWarp, opts.maxWarp)) as [number, number, number, number];
  const doRotate = rng.bool(opts.pAffine);
  const deg = rng.uniform(-opts.maxRotate, opts.maxRotate);
  const doZoom = rng.bool(opts.pAffine);
  const zoom = { scale: rng.uniform(1, opts.maxZoom), rowPct: rng.next(), colPct: rng.next() };
  const doBright = rng.bool(opts.pLighting);
  const change = rng.uniform(0.5 * (1 - opts.maxLighting), 0.5 * (1 + opts.maxLighting));
  const doContrast = rng.bool(opts.pLighting);
  const scale = opts.maxLighting > 0 ? rng.logUniform(1 - opts.maxLighting, 1 / (1 - opts.maxLighting)) : 1;
  return {
    rowPct,
    colPct,
    flip,
    warp: doWarp && opts.maxWarp > 0 ? w : null,
    rotate: doRotate && opts.maxRotate > 0 ? deg : null,
    zoom: doZoom && opts.maxZoom > 1 ? zoom : null,
    brightness: doBright && opts.maxLighting > 0 ? change : null,
    contrast: doContrast && opts.maxLighting > 0 ? scale : null,
  };
}

/** Decodes to 3-channel sRGB, EXIF-oriented, alpha flattened on white; with `size`, resized so the short side is `size`. */
export async function decodeImage(input: string | Buffer, size?: number): Promise<RgbImage> {
  let pipe = sharp(input, { failOn: 'error' }).rotate().flatten({ background: '#ffffff' }).toColourspace('srgb');
  if (size) pipe = pipe.resize({ width: size, height: size, fit: 'outside', kernel: 'lanczos3' });
  const { data, info } = await pipe.raw().toBuffer({ resolveWithObject: true });
  const rgb = info.channels === 3 ? new Uint8Array(data.buffer, data.byteOffset, data.length) : toRgb(data, info.channels);
  return { data: rgb, width: info.width, height: info.height };
}

function toRgb(data: Buffer, channels: number): Uint8Array {
  const n = data.length / channels;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = data[i * channels + (channels < 3 ? 0 : c)]!;
  return out;
}

/** Crops `size`×`size` at (rowPct, colPct), warping/rotating/zooming/flipping/relighting per `p`. Output HWC RGB. */
export function applyTransforms(img: RgbImage, size: number, p: TransformParams): Uint8Array {
  const { width: w, height: h, data } = img;
  if (w < size || h < size) throw new Error(`image ${w}×${h} is smaller than the crop ${size}; decode with decodeImage(input, ${size})`);
  const out = new Uint8Array(size * size * 3);
  const x0 = Math.round(p.colPct * (w - size));
  const y0 = Math.round(p.rowPct * (h - size));
  const lut = lightingLut(p.brightness, p.contrast);
  const map = p.warp || p.rotate !== null || p.zoom ? inverseMap(w, h, p) : null;
  const src = new Float64Array(2); // reused: this loop runs size² times per image
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const o = (i * size + (p.flip ? size - 1 - j : j)) * 3;
      if (!map) {
        const s = ((y0 + i) * w + x0 + j) * 3;
        out[o] = lut[data[s]!]!;
        out[o + 1] = lut[data[s + 1]!]!;
        out[o + 2] = lut[data[s + 2]!]!;
        continue;
      }
      map(x0 + j, y0 + i, src);
      bilinear(data, w, h, src[0]!, src[1]!, out, o, lut);
    }
  }
  return out;
}

/** Output pixel (x, y) of the resized image → source pixel (written to `out`), composing warp, zoom and rotate as fastai does. */
export function inverseMap(w: number, h: number, p: Pick<TransformParams, 'warp' | 'rotate' | 'zoom'>): (x: number, y: number, out: Float64Array) => void {
  const hw = (w - 1) / 2;
  const hh = (h - 1) / 2;
  const H = p.warp ? symmetricWarpCoeffs(p.warp) : null;
  const s = p.zoom ? 1 / p.zoom.scale : 1;
  const zc = p.zoom ? (1 - s) * (2 * p.zoom.colPct - 1) : 0;
  const zr = p.zoom ? (1 - s) * (2 * p.zoom.rowPct - 1) : 0;
  const a = ((p.rotate ?? 0) * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  return (x, y, out) => {
    let u = x / hw - 1;
    let v = y / hh - 1;
    if (H) {
      const d = H[6]! * u + H[7]! * v + 1;
      const uu = (H[0]! * u + H[1]! * v + H[2]!) / d;
      v = (H[3]! * u + H[4]! * v + H[5]!) / d;
      u = uu;
    }
    u = u * s + zc;
    v = v * s + zr;
    const px = u * hw;
    const py = v * hh;
    out[0] = cos * px - sin * py + hw;
    out[1] = sin * px + cos * py + hh;
  };
}

/** fastai `symmetric_warp`: the homography taking the moved corners back to the square's corners. */
export function symmetricWarpCoeffs(m: readonly [number, number, number, number]): number[] {
  const orig = [[-1, -1], [-1, 1], [1, -1], [1, 1]];
  const targ = [[-1 - m[3], -1 - m[1]], [-1 - m[2], 1 + m[1]], [1 + m[3], -1 - m[0]], [1 + m[2], 1 + m[0]]];
  const A: number[][] = [];
  const B: number[] = [];
  targ.forEach(([x, y], k) => {
    const [X, Y] = orig[k]!;
    A.push([x!, y!, 1, 0, 0, 0, -X! * x!, -X! * y!]);
    A.push([0, 0, 0, x!, y!, 1, -Y! * x!, -Y! * y!]);
    B.push(X!, Y!);
  });
  return solve(A, B);
}

/** Gaussian elimination with partial pivoting (8×8 here). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

/** 256-entry map for brightness then contrast in logit space (fastai TfmLighting). */
function lightingLut(change: number | null, scale: number | null): Uint8Array {
  const lut = new Uint8Array(256);
  const add = change === null ? 0 : Math.log(change / (1 - change));
  const mul = scale ?? 1;
  for (let v = 0; v < 256; v++) {
    if (change === null && scale === null) {
      lut[v] = v;
      continue;
    }
    const x = v / 255;
    const logit = (Math.log(x) - Math.log(1 - x) + add) * mul;
    lut[v] = Math.round(255 / (1 + Math.exp(-logit)));
  }
  return lut;
}

/** Reflects a coordinate into [0, n-1] (grid_sample's reflection padding with align_corners). */
function reflect(x: number, n: number): number {
  if (x >= 0 && x <= n - 1) return x;
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let r = Math.abs(x) % period;
  if (r > n - 1) r = period - r;
  return r;
}

function bilinear(src: Uint8Array, w: number, h: number, xs: number, ys: number, out: Uint8Array, o: number, lut: Uint8Array): void {
  const x = reflect(xs, w);
  const y = reflect(ys, h);
  const xa = x | 0;
  const ya = y | 0;
  const dx = xa < w - 1 ? 3 : 0;
  const dy = ya < h - 1 ? w * 3 : 0;
  const fx = x - xa;
  const fy = y - ya;
  const i00 = (ya * w + xa) * 3;
  for (let c = 0; c < 3; c++) {
    const a = src[i00 + c]!;
    const b = src[i00 + dx + c]!;
    const top = a + (b - a) * fx;
    const d = src[i00 + dy + c]!;
    const bot = d + (src[i00 + dy + dx + c]! - d) * fx;
    out[o + c] = lut[(top + (bot - top) * fy + 0.5) | 0]!;
  }
}
