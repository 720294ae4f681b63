/**
 * The app's tfjs backend: WebGPU where the browser has it, WebGL next, wasm last (SIMD, and threads when the
 * page is cross-origin isolated, as `npm run app` serves it), chosen by a short measured warm-up of the model on
 * this device and remembered per device and model in localStorage; `?backend=` forces one (the UI's selector sets it).
 *
 *   await prepareWasm();                                          // only the .wasm binary this browser needs; threads
 *   const c = await chooseBackend(forced, key, () => runOnce());  // { backend, measuredMs, threads, isolated, ... }
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { fromBase64 } from './core';

export { BACKENDS } from './core';

export interface BackendChoice {
  backend: string;
  /** Warm model run (ms) per backend the warm-up measured; empty when one candidate was all there was. */
  measuredMs: Record<string, number>;
  /** Backends left out, with why. */
  skipped: Record<string, string>;
  /** True when the choice came from localStorage (no warm-up measured). */
  remembered: boolean;
  /** wasm's thread count (1 without cross-origin isolation); null for the GPU backends. */
  threads: number | null;
  simd: boolean | null;
  /** `crossOriginIsolated`: SharedArrayBuffer, hence wasm threads, are allowed. */
  isolated: boolean;
}

/** The WebGL renderer string when it is a software rasteriser (SwiftShader, llvmpipe): slower than wasm there. */
function softwareWebgl(): string | null {
  try {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    return /swiftshader|llvmpipe|software/i.test(renderer) ? renderer : null;
  } catch {
    return null;
  }
}

/** Loads a classic script once (file:// allows those where it refuses fetch). */
const scripts = new Map<string, Promise<void>>();
export function loadScript(src: string, missing: string): Promise<void> {
  let p = scripts.get(src);
  if (!p) {
    p = new Promise<void>((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(missing));
      document.head.appendChild(s);
    });
    scripts.set(src, p);
  }
  return p;
}

/**
 * Points tfjs-backend-wasm at its binaries. Over http it fetches the one it needs (threaded-SIMD when isolated,
 * else SIMD, else plain) from beside app.js; from file://, where fetch is refused, the one this browser can run
 * comes from its own script (wasm/<name>.js, base64) as a blob: URL, so only that binary is read.
 */
export async function prepareWasm(): Promise<void> {
  if (location.protocol !== 'file:') {
    setWasmPaths(new URL('./', location.href).href);
    return;
  }
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const name = simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  await loadScript(`wasm/${name}.js`, `wasm/${name}.js is missing: run \`npm run app\` to build the app folder`);
  const b64 = (window as unknown as { DEVISE_WASM: Record<string, string> }).DEVISE_WASM[name]!;
  const url = URL.createObjectURL(new Blob([fromBase64(b64)], { type: 'application/wasm' }));
  // Without isolation tfjs never asks for the threaded build; every name maps to the one binary read.
  setWasmPaths({ 'tfjs-backend-wasm.wasm': url, 'tfjs-backend-wasm-simd.wasm': url, 'tfjs-backend-wasm-threaded-simd.wasm': url });
}

/** Threads wanted of wasm: `?threads=`, else one per logical core up to XNNPACK's cap of 4. */
function wasmThreads(): number {
  const asked = Number(new URLSearchParams(location.search).get('threads'));
  return Math.min(4, asked >= 1 ? Math.floor(asked) : Math.max(1, navigator.hardwareConcurrency || 1));
}

/**
 * Starts a backend. For wasm: XNNPACK's pool is sized once, by a static constructor, as
 * emscripten_num_logical_cores() / 2 = navigator.hardwareConcurrency / 2 (1 thread on a 2-core phone or VM;
 * `setThreadsCount` does not reach it, measured), so while the module initialises the page reports twice the
 * threads wanted, then the real count again.
 */
let wasmStarted = false;
async function start(name: string): Promise<boolean> {
  if (name !== 'wasm' || wasmStarted) return tf.setBackend(name);
  wasmStarted = true;
  // The worker pool the threaded build starts (web/build.ts): as many as the threads asked for, not Emscripten's 8.
  (window as unknown as { DEVISE_WASM_WORKERS?: number }).DEVISE_WASM_WORKERS = wasmThreads();
  const doubled = 2 * wasmThreads();
  Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => doubled, configurable: true }); // shadows the prototype's getter
  try {
    return await tf.setBackend(name);
  } finally {
    delete (navigator as unknown as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

/** Backends worth measuring here, in preference order, with why the others are left out. */
async function candidates(skipped: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) skipped['webgpu'] = 'this browser has no WebGPU';
  else if (!(await gpu.requestAdapter().catch(() => null))) skipped['webgpu'] = 'WebGPU has no adapter here';
  else out.push('webgpu');
  const soft = softwareWebgl();
  if (soft) skipped['webgl'] = `software WebGL (${soft}) is slower than wasm`;
  else out.push('webgl');
  out.push('wasm');
  return out;
}

const storage = (): Storage | null => {
  try {
    return window.localStorage;
  } catch {
    return null; // file:// in some browsers, private modes
  }
};

/** Forgets the remembered choice for `key` (the selector's "auto"). */
export function forgetBackend(key: string): void {
  storage()?.removeItem(key);
}

/**
 * Starts the backend for this device: `forced` if given; else the one remembered under `key`; else each candidate
 * runs `run` (the model on a zero image) once to compile, then twice timed, and the fastest is kept and remembered.
 * `run` must work on whatever backend is current (the model's weights move between backends as tfjs reads them).
 */
export async function chooseBackend(forced: string | null, key: string, run: () => Promise<void>): Promise<BackendChoice> {
  const skipped: Record<string, string> = {};
  const measuredMs: Record<string, number> = {};
  const remembered = forced ? null : storage()?.getItem(key) ?? null;
  const order = forced ? [forced] : remembered ? [remembered] : await candidates(skipped);
  const started: string[] = [];
  for (const name of order) {
    try {
      if (!(await start(name))) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      await run(); // compile shaders / allocate: kept out of the timing
      if (order.length > 1) {
        let best = Infinity;
        for (let i = 0; i < 2; i++) {
          const t0 = performance.now();
          await run();
          best = Math.min(best, performance.now() - t0);
        }
        measuredMs[name] = best;
      }
      started.push(name);
    } catch (err) {
      skipped[name] = err instanceof Error ? err.message : String(err);
    }
  }
  if (!started.length && remembered) {
    forgetBackend(key); // the remembered one no longer starts (a browser update): measure again
    return chooseBackend(null, key, run);
  }
  if (!started.length && !forced) started.push(await fallbackCpu(run, skipped));
  if (!started.length) throw new Error(`the ${forced} backend could not start here: ${skipped[forced!] ?? 'unknown reason'}`);
  const backend = started.reduce((a, b) => ((measuredMs[b] ?? Infinity) < (measuredMs[a] ?? Infinity) ? b : a));
  if (tf.getBackend() !== backend) {
    await tf.setBackend(backend);
    await run(); // the weights move back to it here, not in the first query
  }
  if (!forced && !remembered) storage()?.setItem(key, backend);
  const wasm = backend === 'wasm';
  return {
    backend,
    measuredMs,
    skipped,
    remembered: remembered !== null,
    threads: wasm ? getThreadsCount() : null,
    simd: wasm ? ((await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean) : null,
    isolated: (globalThis as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
  };
}

/** The last resort: tfjs's plain JavaScript backend. */
async function fallbackCpu(run: () => Promise<void>, skipped: Record<string, string>): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error(`no tfjs backend could start: ${JSON.stringify(skipped)}`);
  await run();
  return 'cpu';
}
