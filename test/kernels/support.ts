/**
 * Helpers for the wasm-kernel tests: a seeded RNG drawn fresh per run (printed, and reproducible with
 * DEVISE_TEST_SEED), random non-zero data, and "run this kernel on wasm and on cpu, compare".
 */
import { expect } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { Rng } from '../../lib/data/rng';

/** This run's seed: DEVISE_TEST_SEED, else new every run. */
export const SEED = Number(process.env.DEVISE_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A seeded uniform [0, 1) stream: the library's own mulberry32 (lib/data/rng.ts). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Values in ±[0.1, 1): random sign and magnitude, never zero. */
export function data(r: () => number, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (r() < 0.5 ? -1 : 1) * (0.1 + 0.9 * r());
  return out;
}

/** max|a−b| / max|b|: the relative error the issue bounds by 1e-4. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

export interface KernelRun { values: Float32Array[]; shapes: number[][] }

/** Runs `kernel` with fresh tensors made from `inputs` on `backend`, returns outputs, frees everything. */
export async function runOn(backend: 'wasm' | 'cpu', kernel: string, inputs: Record<string, { shape: number[]; values: Float32Array }>, attrs: object): Promise<KernelRun> {
  await initBackend({ backend });
  const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
  const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  const outs = Array.isArray(out) ? out : [out];
  const result = { values: outs.map((t) => t.dataSync() as Float32Array), shapes: outs.map((t) => t.shape) };
  tf.dispose([...outs, ...Object.values(ts)]);
  return result;
}

/**
 * Runs the kernel on wasm and cpu, returns the worst relative error and both output shapes. `scale` replaces the
 * denominator max|cpu| (e.g. a reduction of |x|: float32 sums are exact relative to Σ|x|, not to a Σx that cancels).
 */
export async function compare(kernel: string, inputs: Record<string, { shape: number[]; values: Float32Array }>, attrs: object, scale?: number): Promise<{ err: number; wasm: number[][]; cpu: number[][] }> {
  const w = await runOn('wasm', kernel, inputs, attrs);
  const c = await runOn('cpu', kernel, inputs, attrs);
  const err = Math.max(...w.values.map((v, i) => (scale === undefined ? relError(v, c.values[i]!) : maxAbsDiff(v, c.values[i]!) / scale)));
  return { err, wasm: w.shapes, cpu: c.shapes };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;
export interface ConvCase { x: number[]; f: number[]; stride: number; dilation: number; pad: Pad; dy: number[] }

export const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
export const label = (c: object): string => JSON.stringify(c);

/** A random conv shape (1×1 … 7×7, stride 1/2 or dilation 2/3, same/valid/explicit padding) whose cpu-backend cost stays ≤ ~20 MFLOP. */
export function convCase(r: () => number, dilated = false): ConvCase {
  for (;;) {
    const k = pick(r, [1, 3, 5, 7]);
    const stride = dilated ? 1 : pick(r, [1, 2]);
    const dilation = dilated ? pick(r, [2, 3]) : 1;
    const n = pick(r, [1, int(r, 2, 8), 16]);
    const h = int(r, k, 20);
    const w = int(r, k, 20);
    const ci = pick(r, [1, 2, 3, int(r, 4, 16), int(r, 17, 64)]);
    const co = pick(r, [1, 3, int(r, 4, 16), int(r, 17, 64)]);
    const kind = dilated ? pick(r, ['same', 'valid'] as const) : pick(r, ['same', 'valid', 'explicit'] as const);
    const pad: Pad = kind !== 'explicit' ? kind : [[0, 0], [int(r, 0, k), int(r, 0, k)], [int(r, 0, k), int(r, 0, k)], [0, 0]];
    const info = tf.backend_util.computeConv2DInfo([n, h, w, ci], [k, k, ci, co], stride, dilation, pad);
    if (info.outHeight < 1 || info.outWidth < 1 || h === w) continue;
    if (2 * n * info.outHeight * info.outWidth * k * k * ci * co > 20e6) continue;
    return { x: [n, h, w, ci], f: [k, k, ci, co], stride, dilation, pad, dy: info.outShape };
  }
}

/** Random input, filter and output-gradient tensors of a conv case. */
export function convTensors(r: () => number, c: ConvCase): Record<'x' | 'filter' | 'dy', { shape: number[]; values: Float32Array }> {
  return { x: { shape: c.x, values: data(r, size(c.x)) }, filter: { shape: c.f, values: data(r, size(c.f)) }, dy: { shape: c.dy, values: data(r, size(c.dy)) } };
}

/** Which kernel sizes, strides and padding kinds a random draw covered (asserted so a run cannot silently miss them). */
export class ConvCoverage {
  readonly k = new Set<number>();
  readonly stride = new Set<number>();
  readonly pad = new Set<string>();
  add(c: ConvCase): void {
    this.k.add(c.f[0]!);
    this.stride.add(c.stride);
    this.pad.add(typeof c.pad === 'string' ? c.pad : 'explicit');
  }
}

/** Both convolution gradients of a case against the cpu backend: output shapes exact, relative error below `tol`. */
export async function expectConvGradients(c: Omit<ConvCase, 'dilation'>, t: ReturnType<typeof convTensors>, tol: number): Promise<void> {
  const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
  const dW = await compare('Conv2DBackpropFilter', { x: t.x, dy: t.dy }, { ...common, filterShape: c.f });
  expect(dW.wasm, label(c)).toEqual([c.f]);
  expect(dW.err, `dW ${label(c)}`).toBeLessThan(tol);
  const dX = await compare('Conv2DBackpropInput', { dy: t.dy, filter: t.filter }, { ...common, inputShape: c.x });
  expect(dX.wasm, label(c)).toEqual([c.x]);
  expect(dX.err, `dX ${label(c)}`).toBeLessThan(tol);
}

/** Concat of `parts` on `axis`, wasm against cpu. */
export async function compareConcat(parts: { shape: number[]; values: Float32Array }[], axis: number): Promise<{ err: number }> {
  const run = async (backend: 'wasm' | 'cpu'): Promise<Float32Array> => {
    await initBackend({ backend });
    const ts = parts.map((p) => tf.tensor(p.values, p.shape));
    const out = tf.engine().runKernel('Concat', ts as unknown as tf.NamedTensorMap, { axis }) as tf.Tensor;
    const v = out.dataSync() as Float32Array;
    tf.dispose([out, ...ts]);
    return v;
  };
  return { err: relError(await run('wasm'), await run('cpu')) };
}

/** Runs `run` while counting the calls of the named wasm kernels; returns its result and the counts, in order. */
export async function countKernelCalls<T>(names: string[], run: () => Promise<T>): Promise<{ result: T; calls: number[] }> {
  const kernels = names.map((name) => tf.getKernel(name, 'wasm')! as { kernelFunc: tf.KernelFunc });
  const inner = kernels.map((k) => k.kernelFunc);
  const calls = names.map(() => 0);
  kernels.forEach((k, j) => { k.kernelFunc = (args) => { calls[j]!++; return inner[j]!(args); }; });
  try {
    return { result: await run(), calls };
  } finally {
    kernels.forEach((k, j) => { k.kernelFunc = inner[j]!; });
  }
}
