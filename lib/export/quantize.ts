/**
 * TF.js weight quantisation as tfjs-converter writes it (`--quantize_float16`, `--quantize_uint8`): each
 * float32 weight becomes float16 (IEEE half, round to nearest even) or uint8 with a per-tensor affine map
 * whose range is nudged so that 0 is exact, and its manifest entry gets `quantization: {dtype, min, scale}`
 * that plain `tf.io.decodeWeights` (hence `tf.loadLayersModel`) dequantises on load.
 *
 *   const { specs, data } = encodeWeights(weights, 'uint8');   // manifest entries + the concatenated bytes
 *   encodeWeights(weights, (w) => (/moving_|gamma|beta/.test(w.name) ? 'none' : 'uint8'));   // per weight, as the converter's patterns
 */
import type { NamedWeight } from './fold';

export type Quantize = 'none' | 'float16' | 'uint8';
export const QUANTIZE: readonly Quantize[] = ['none', 'float16', 'uint8'];

/** A weights-manifest entry (tfjs `WeightsManifestEntry`, with the converter's `original_dtype`). */
export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'uint8' | 'float16'; min?: number; scale?: number; original_dtype: 'float32' };
}

/** Encodes `weights` in order; returns the manifest entries and the concatenated weight bytes. */
export function encodeWeights(weights: NamedWeight[], modeOf: Quantize | ((w: NamedWeight) => Quantize)): { specs: ManifestEntry[]; data: Uint8Array } {
  const parts: Uint8Array[] = [];
  const specs = weights.map((w): ManifestEntry => {
    const mode = typeof modeOf === 'function' ? modeOf(w) : modeOf;
    const base = { name: w.name, shape: w.shape, dtype: 'float32' as const };
    if (mode === 'none') {
      parts.push(new Uint8Array(w.values.buffer.slice(w.values.byteOffset, w.values.byteOffset + w.values.byteLength)));
      return base;
    }
    if (mode === 'float16') {
      parts.push(new Uint8Array(toFloat16(w.values).buffer));
      return { ...base, quantization: { dtype: 'float16', original_dtype: 'float32' } };
    }
    const q = quantizeUint8(w.values);
    parts.push(q.data);
    return { ...base, quantization: { dtype: 'uint8', min: q.min, scale: q.scale, original_dtype: 'float32' } };
  });
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.byteLength;
  }
  return { specs, data };
}

/** tfjs-converter's `quantize_weights(data, np.uint8)`: min/max range nudged so 0 maps to an integer. */
export function quantizeUint8(values: Float32Array): { data: Uint8Array; min: number; scale: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const data = new Uint8Array(values.length);
  if (!(hi > lo)) return { data, min: Number.isFinite(lo) ? lo : 0, scale: 1 };
  const qmax = 255;
  const scale = (hi - lo) / qmax;
  let min = lo;
  let max = hi;
  if (lo <= 0 && 0 <= hi) {
    const zero = Math.round(-lo / scale);
    min = -zero * scale;
    max = qmax * scale + min;
  }
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(max, Math.max(min, values[i]!));
    data[i] = Math.round((v - min) / scale);
  }
  return { data, min, scale };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE 754 half bits, round to nearest even (numpy's astype(np.float16)). */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1))) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
    out[i] = sign | h;
  }
  return out;
}
