/**
 * Loads the optional native addon (`native/`, npm package `devise-native`: oneDNN over N-API) and
 * sizes its one OpenMP pool.
 *
 *   const { addon, why } = loadNative();   // addon undefined → why says what to do
 *
 * `DEVISE_NATIVE=0` hides the addon (the suite then runs on plain wasm), `DEVISE_NATIVE=1` makes its
 * absence an error; unset uses it when it is built. Threads come from the project's one setting,
 * `DEVISE_THREADS` (default: one per core), the same count the wasm pool gets (./threads.ts).
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { env, withEnvDefaults } from '../../env';

/** The addon's functions (native/src/addon.cc); offsets are float32 element indices into `heap`. */
export interface NativeAddon {
  conv2d(heap: Float32Array, dims: Float64Array, x: number, w: number, bias: number, y: number, relu: boolean): void;
  conv2dBackpropInput(heap: Float32Array, dims: Float64Array, dy: number, w: number, dx: number): void;
  conv2dBackpropFilter(heap: Float32Array, dims: Float64Array, x: number, dy: number, dw: number): void;
  maxPoolGrad(heap: Float32Array, dims: Float64Array, x: number, y: number, dy: number, dx: number): void;
  columnSum(heap: Float32Array, x: number, outer: number, inner: number, scale: number, out: number): void;
  shiftCopy(heap: Float32Array, shapes: Float64Array, src: number, dst: number, fill: number): void;
  batchNormGrad(heap: Float32Array, x: number, mean: number, variance: number, scale: number, dy: number, eps: number, rows: number, channels: number,
    dx: number, dmean: number, dvar: number, dscale: number, doffset: number): void;
  batchNorm(heap: Float32Array, x: number, mean: number, variance: number, scale: number, offset: number, eps: number, rows: number, channels: number, y: number): void;
  batchNormStats(heap: Float32Array, x: number, rows: number, channels: number, mean: number, variance: number): void;
  batchNormTrainGrad(heap: Float32Array, x: number, mean: number, variance: number, scale: number, dy: number, eps: number, rows: number, channels: number,
    dx: number, dscale: number, doffset: number): void;
  reluGrad(heap: Float32Array, dy: number, x: number, n: number, dx: number): void;
  copyBlocks(heap: Float32Array, src: number, srcStride: number, dst: number, dstStride: number, len: number, count: number): void;
  setThreads(n: number): number;
  setActivationFormat(format: 'nhwc' | 'any' | 'auto'): void;
  setWinograd(on: boolean): void;
  info(): { dnnl: string; isa: string; threads: number; format: string; winograd: boolean; cached: number; blocked: number; winogradPrimitives: number };
}

/** The build hint every "not available" reason ends with. */
export const BUILD_HINT = 'install libdnnl-dev (`npm run deps`) and run `npm rebuild devise-native`';

/** The project's thread setting: DEVISE_THREADS, else one per core. */
export function projectThreads(): number {
  return env.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/**
 * The convolutions' activation layout, DEVISE_NATIVE_FORMAT: `nhwc` (default: tfjs's own, no reorders),
 * `any` (oneDNN's blocked layouts, reorders in and out) or `auto` (both timed on each shape's first call).
 */
function activationFormat(): 'nhwc' | 'any' | 'auto' {
  return env.nativeFormat ?? 'nhwc';
}

let loaded: { addon?: NativeAddon; why?: string } | undefined;

/** The addon, loaded once, with its pool sized; or why it is not used. */
export function loadNative(): { addon?: NativeAddon; why?: string } {
  if (loaded) return loaded;
  const mode = env.native;
  if (mode === '0') return (loaded = { why: 'hidden by DEVISE_NATIVE=0' });
  const threads = projectThreads();
  try {
    const addon = withOmpSpin(() => createRequire(__filename)('devise-native') as NativeAddon);
    addon.setThreads(threads);
    addon.setActivationFormat(activationFormat());
    addon.setWinograd(env.nativeWinograd !== '0');
    loaded = { addon };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // npm drops an optional dependency whose build failed, so then only a new install brings it back.
    const why = e.code === 'MODULE_NOT_FOUND' && /'devise-native'/.test(e.message)
      ? 'native kernels not built (the optional package devise-native is not installed: its build needs oneDNN): install libdnnl-dev (`npm run deps`) and run `npm ci` again'
      : e.code === 'DEVISE_NATIVE_NOT_BUILT' ? `native kernels not built: ${BUILD_HINT}`
        : `native kernels failed to load (${e.message.split('\n')[0]}): ${BUILD_HINT}`;
    loaded = { why };
  }
  if (mode === '1' && loaded.addon === undefined) throw new Error(`DEVISE_NATIVE=1 but ${loaded.why}`);
  return loaded;
}

/**
 * Loads libgomp (with the addon) under a short spin-wait unless the user set one: GOMP's default spins
 * ~300k iterations at every barrier and idle point, and between two native kernels the JS thread runs
 * wasm ops while the pool spins on the other core — measured 3–5× slower train steps at 2 threads on a
 * busy machine (GOMP_SPINCOUNT=10000: back to the 1-thread rate or better). libgomp reads its
 * environment once, when it is loaded, so the variable is restored right after (child processes such
 * as the PyTorch benchmark keep their own defaults).
 */
function withOmpSpin<T>(load: () => T): T {
  return withEnvDefaults({ GOMP_SPINCOUNT: '10000' }, ['GOMP_SPINCOUNT', 'OMP_WAIT_POLICY'], load);
}
