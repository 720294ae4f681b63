/**
 * The one place that chooses and initialises the TensorFlow.js backend.
 *
 *   import { initBackend, tf } from './lib/backend';
 *   const info = await initBackend();          // e.g. {backend: 'wasm', threads: 1, ...}
 *
 * Order: @tensorflow/tfjs-node-gpu → @tensorflow/tfjs-node → wasm → cpu, unless `DEVISE_BACKEND`
 * (or `opts.backend`) names one of `tensorflow | wasm | cpu`. The native bindings are optional
 * (their install downloads libtensorflow, impossible offline), so they are probed at run time.
 * wasm runs XNNPACK on every core (up to 4) unless `DEVISE_WASM_THREADS=1` (see ./threads.ts).
 * On wasm, the optional native addon (`native/`, oneDNN) takes over the convolutions and their gradients,
 * MaxPoolGrad, leading-axis Sum/Mean, Slice, PadV2 and the batch-norm gradient where it is built
 * (./native-kernels); `DEVISE_NATIVE=0` hides it, and `info.native.why` says why it is not used.
 * `DEVISE_THREADS` sizes the compute pool (default: one thread per core). A tensor that does not fit in
 * wasm32's 4 GiB heap is a WasmHeapError (./heap.ts), not a later crash inside the wasm module.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { env } from '../env';
import { guardWasmMalloc } from './heap';
import { installedKernels, kernelsFor, registerCustomKernels } from './kernels';
import { nativeStatus, type NativeStatus } from './native-kernels/index';
import { prepareWasmThreads, withWasmThreads } from './threads';

export { tf };

/** The rows of a [n, d] tensor as typed arrays (one read of its data); disposes the tensor. */
export function takeRows(t: tf.Tensor2D): Float32Array[] {
  const flat = t.dataSync() as Float32Array;
  const [n, dim] = t.shape;
  t.dispose();
  return Array.from({ length: n }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}
export { fileLoadHandler, fileSaveHandler, loadLayersModel, saveLayersModel } from './io';
export { customKernels, registerCustomKernels } from './kernels';
export { largestBatch, WASM_HEAP_LIMIT, WasmHeapError } from './heap';
export { batchNormTraining, nativeStatus, useNativeKernels, type NativeStatus } from './native-kernels/index';

export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What `initBackend` chose, and why the better candidates were not used. */
export interface BackendInfo {
  backend: BackendName;
  /** The npm package that provides the backend. */
  provider: string;
  threads: number;
  simd: boolean | null;
  tfjs: string;
  versions: Record<string, string>;
  /** Candidates tried before the chosen one, each with the reason it was not used. */
  skipped: { provider: string; why: string }[];
  /** Custom kernels installed over the backend (`backend/kernel`). */
  kernels: string[];
  /** On wasm: the kernels the native oneDNN addon serves, or why it is not used; null elsewhere. */
  native: NativeStatus | null;
}

export interface BackendOptions {
  /** Force a backend; defaults to DEVISE_BACKEND (`env.backend`), else the best available. */
  backend?: BackendName;
}

interface Candidate {
  provider: string;
  backend: BackendName;
  /** Makes the backend available or returns why it is not. */
  prepare: () => string | null;
}

const requireHere = createRequire(__filename);

/** Loads a native tfjs binding and checks that it really registered the `tensorflow` backend. */
function prepareNative(pkg: string): string | null {
  let loaded: unknown;
  try {
    loaded = requireHere(pkg);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(`'${pkg}'`)) {
      return `not installed (optional: \`npm install ${pkg}\` where libtensorflow can be downloaded)`;
    }
    return `failed to load: ${e.message.split('\n')[0]}`;
  }
  if (tf.engine().registryFactory['tensorflow'] !== undefined) return null;
  // danfojs-node's dependency is aliased to plain @tensorflow/tfjs and hoisted, so a require can
  // succeed without any native code: only a registered `tensorflow` backend proves the binding.
  const name = (loaded as { version?: { tfjs?: string } })?.version?.tfjs !== undefined
    ? 'plain @tensorflow/tfjs (an npm alias, e.g. danfojs-node\'s)'
    : 'a module that registered no backend';
  return `resolves to ${name}; no native \`tensorflow\` backend registered`;
}

const CANDIDATES: Candidate[] = [
  { provider: '@tensorflow/tfjs-node-gpu', backend: 'tensorflow', prepare: () => prepareNative('@tensorflow/tfjs-node-gpu') },
  { provider: '@tensorflow/tfjs-node', backend: 'tensorflow', prepare: () => prepareNative('@tensorflow/tfjs-node') },
  { provider: '@tensorflow/tfjs-backend-wasm', backend: 'wasm', prepare: () => null },
  { provider: '@tensorflow/tfjs-backend-cpu', backend: 'cpu', prepare: () => null },
];

let current: { requested: BackendName | undefined; info: BackendInfo } | undefined;

function requestedBackend(opts: BackendOptions): BackendName | undefined {
  const raw = opts.backend ?? env.backend;
  if (raw === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(raw)) {
    throw new Error(`Unknown backend '${raw}' (from ${opts.backend ? 'options' : 'DEVISE_BACKEND'}); use one of ${BACKENDS.join(', ')}.`);
  }
  return raw as BackendName;
}

/** Chooses, initialises and reports the backend; repeated calls with the same request are free. */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  const requested = requestedBackend(opts);
  if (current && current.requested === requested && tf.getBackend() === current.info.backend) return current.info;

  // A bad DEVISE_WASM_THREADS is a configuration error, not a reason to fall back to the ~1000× slower cpu backend.
  if (requested === undefined || requested === 'wasm') prepareWasmThreads();
  const skipped: BackendInfo['skipped'] = [];
  for (const candidate of CANDIDATES) {
    if (requested !== undefined && candidate.backend !== requested) continue;
    const why = candidate.prepare() ?? (await activate(candidate.backend));
    if (why !== null) {
      skipped.push({ provider: candidate.provider, why });
      continue;
    }
    registerCustomKernels(kernelsFor(candidate.backend));
    if (candidate.backend === 'wasm') guardWasmMalloc(tf.findBackend('wasm'));
    const native = candidate.backend === 'wasm' ? nativeStatus() : null;
    const info: BackendInfo = {
      backend: candidate.backend,
      provider: native?.kernels.length ? `${candidate.provider} + devise-native (oneDNN ${native.dnnl}, ${native.isa})` : candidate.provider,
      threads: native?.threads ?? threadsOf(candidate.backend),
      simd: candidate.backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean : null,
      tfjs: tf.version.tfjs,
      versions: { ...tf.version, 'tfjs-backend-wasm': wasmBackend.version_wasm, node: process.versions.node },
      skipped,
      kernels: installedKernels(),
      native,
    };
    current = { requested, info };
    return info;
  }
  const reasons = skipped.map((s) => `  - ${s.provider}: ${s.why}`).join('\n');
  throw new Error(
    `Backend '${requested}' was requested (${opts.backend ? 'options.backend' : 'DEVISE_BACKEND'}) but is unavailable:\n${reasons}\n` +
      `Unset DEVISE_BACKEND to use the best available backend, or install what is missing.`,
  );
}

/**
 * Initialises the backend on first use, for library entry points (createModel, loadModel, Learner) called before
 * `initBackend()`: a no-op once a backend is active (initBackend's, or one the user set with tf.setBackend).
 */
export async function ensureBackend(): Promise<void> {
  if (current || tf.engine().backendName) return;
  await initBackend();
}

/** Switches tfjs to `name`; returns null on success or why it failed. */
async function activate(name: BackendName): Promise<string | null> {
  try {
    // wasm's first initialisation loads its threaded build (lib/backend/threads.ts, DEVISE_WASM_THREADS).
    const ok = name === 'wasm' ? await withWasmThreads(() => tf.setBackend(name)) : await tf.setBackend(name);
    return ok ? null : `tf.setBackend('${name}') failed to initialise`;
  } catch (err) {
    return `failed to initialise: ${(err as Error).message}`;
  }
}

function threadsOf(name: BackendName): number {
  if (name === 'wasm') return wasmBackend.getThreadsCount();
  // The native binding uses TensorFlow's own intra-op pool (all cores); the cpu backend is one JS thread.
  return name === 'tensorflow' ? env.tfIntraOpThreads ?? os.cpus().length : 1;
}

/** The command that builds the native oneDNN kernels on Debian/Ubuntu. */
export const NATIVE_KERNELS_FIX = 'sudo apt-get install libdnnl-dev && npm rebuild devise-native';

/**
 * The one line a run prints first when the native kernels are not in use on wasm (they train 2–4× faster), with the
 * command that fixes it; undefined when they are used or do not apply (another backend).
 */
export function nativeKernelsAdvice(info: BackendInfo): string | undefined {
  if (info.backend !== 'wasm' || !info.native || info.native.kernels.length) return undefined;
  if (/DEVISE_NATIVE=0/.test(info.native.why ?? '')) {
    return `native kernels off (DEVISE_NATIVE=0): unset it for the oneDNN kernels, about 2–4× faster (if they are not built: \`${NATIVE_KERNELS_FIX}\`, or \`npm run deps\`)`;
  }
  return `native kernels not built: run \`${NATIVE_KERNELS_FIX}\` (or \`npm run deps\`), about 2–4× faster`;
}

/** Human-readable report of a `BackendInfo`, for `npm run info` and notebooks. */
export function formatBackendInfo(info: BackendInfo): string {
  const lines = [
    `backend   ${info.backend} (${info.provider})`,
    `threads   ${info.threads}${info.native?.kernels.length ? ` (oneDNN/OpenMP; wasm ${wasmBackend.getThreadsCount()})` : ''}${info.simd === null ? '' : `, SIMD ${info.simd ? 'on' : 'off'}`}`,
    `tfjs      ${info.tfjs}   node ${info.versions.node}`,
    `kernels   ${info.kernels.length ? info.kernels.join(', ') : 'none replaced'}`,
  ];
  if (info.native?.kernels.length) lines.push(`native    ${info.native.kernels.join(', ')} (oneDNN ${info.native.dnnl}, ${info.native.isa}, ${info.native.threads} threads, ${info.native.format} activations${info.native.winograd ? ', Winograd for 3×3 stride 1' : ''})`);
  else if (info.native?.why) lines.push(`native    not used: ${info.native.why}`, nativeKernelsAdvice(info)!);
  for (const s of info.skipped) lines.push(`not used  ${s.provider}: ${s.why}`);
  return lines.join('\n');
}
