/**
 * How pixels are normalised for a given weight source. Every model entry and weight file carries one,
 * and the data pipeline applies the model's, so the two cannot silently disagree (a caffe-trained
 * SqueezeNet fed ImageNet-normalised RGB still "works", just badly).
 *
 *   normalizeInto(rgbBytes, out, 0, CAFFE);   // HWC uint8 RGB → HWC float32 as the weights expect
 */

/** torchvision-style: RGB scaled to 0..1, then (x − mean) / std per channel. */
export interface ImagenetPreprocessing {
  kind: 'imagenet';
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** Caffe-style (Keras `preprocess_input(mode='caffe')`): BGR order, 0..255, minus a per-channel mean. */
export interface CaffePreprocessing {
  kind: 'caffe';
  /** Mean in B, G, R order. */
  meanBgr: readonly [number, number, number];
}

export type Preprocessing = ImagenetPreprocessing | CaffePreprocessing;

export const IMAGENET: ImagenetPreprocessing = { kind: 'imagenet', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
export const CAFFE: CaffePreprocessing = { kind: 'caffe', meanBgr: [103.939, 116.779, 123.68] };

/** Per-output-channel affine map `out[c] = in[src[c]] * scale[c] + shift[c]` equivalent to `prep`. */
export function channelAffine(prep: Preprocessing): { src: [number, number, number]; scale: [number, number, number]; shift: [number, number, number] } {
  if (prep.kind === 'imagenet') {
    const scale = prep.std.map((s) => 1 / (255 * s)) as [number, number, number];
    const shift = prep.mean.map((m, c) => -m / prep.std[c]!) as [number, number, number];
    return { src: [0, 1, 2], scale, shift };
  }
  return { src: [2, 1, 0], scale: [1, 1, 1], shift: prep.meanBgr.map((m) => -m) as [number, number, number] };
}

/** Writes the normalised float32 HWC version of `rgb` (HWC uint8 RGB) into `out` at `offset`. */
export function normalizeInto(rgb: Uint8Array | Uint8ClampedArray, out: Float32Array, offset: number, prep: Preprocessing): void {
  const { src, scale, shift } = channelAffine(prep);
  // One table per output channel: each of the 256 levels computed once, by the same formula, so every value is the
  // float32 the per-pixel expression gives (the browser app runs this on every query: ~10× faster than the formula).
  const [t0, t1, t2] = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => v * scale[c]! + shift[c]!)) as [Float32Array, Float32Array, Float32Array];
  const [s0, s1, s2] = src;
  for (let i = 0; i < rgb.length; i += 3) {
    out[offset + i] = t0[rgb[i + s0]!]!;
    out[offset + i + 1] = t1[rgb[i + s1]!]!;
    out[offset + i + 2] = t2[rgb[i + s2]!]!;
  }
}
