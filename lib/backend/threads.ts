/**
 * Multi-threaded wasm (XNNPACK thread pool) under Node.
 *
 *   await withWasmThreads(() => tf.setBackend('wasm'));   // DEVISE_WASM_THREADS=1 opts out
 *
 * tfjs-backend-wasm ships a threaded-SIMD build but turns it off in Node (tfjs#3830) because its
 * pthread workers are started from `blob:` URLs, which Node's worker_threads cannot load. Nothing in
 * node_modules is changed; at run time this module:
 *  - writes the worker script (the package's own `wasmWorkerContents`, plus a 2-line shim) to a
 *    content-addressed file in the OS temp folder (write temp + rename, so concurrent processes agree);
 *  - answers `URL.createObjectURL` for exactly that worker blob with the file's path;
 *  - in the worker, answers it for the main-script blob with the package's threaded-simd .js file;
 *  - sets WASM_HAS_MULTITHREAD_SUPPORT, and sizes XNNPACK's pool. The pool is created by a static
 *    constructor as emscripten_num_logical_cores() / 2 (capped at 4; `setThreadsCount` does not reach
 *    it, measured), and that count is `os.cpus().length` under Node, so `os.cpus()` reports 2×N
 *    entries while the module initialises, and is restored right after.
 * The pool's workers are unref'd after start-up, so the process still exits when its work is done.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { writeFileAtomically } from './io';
import { env } from '../env';
import { loadNative, projectThreads } from './native-kernels/addon';

/** What `prepareWasmThreads` decided. */
export interface WasmThreads {
  /** Threads asked of XNNPACK (1 = the single-threaded SIMD build). */
  requested: number;
  /** Why threads are off, when they are. */
  why?: string;
}

let decided: WasmThreads | undefined;

/**
 * Threads wanted: DEVISE_WASM_THREADS, else one when the native kernels are in use (their OpenMP pool
 * has the cores: two pools spinning on the same cores slowed a 2-thread train step 3×, measured), else
 * the project's DEVISE_THREADS (default one per core), up to XNNPACK's cap of 4.
 */
function threadsWanted(): number {
  const n = env.wasmThreads;
  if (n === undefined) return loadNative().addon ? 1 : Math.min(4, projectThreads());
  return n;
}

/**
 * Makes the next wasm backend initialisation use the threaded-SIMD build with `threadsWanted()`
 * threads. Idempotent; only the first call before the backend starts has an effect.
 */
export function prepareWasmThreads(): WasmThreads {
  if (decided) return decided;
  const requested = threadsWanted();
  if (requested === 1) {
    const why = env.wasmThreads ? 'DEVISE_WASM_THREADS=1' : loadNative().addon ? 'the native kernels\' pool has the cores' : 'DEVISE_THREADS=1';
    return (decided = { requested, why });
  }
  if (typeof SharedArrayBuffer === 'undefined') return (decided = { requested: 1, why: 'no SharedArrayBuffer in this Node' });
  const pkgDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const mainScript = path.join(pkgDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(path.join(pkgDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // tfjs escapes newlines the same way before making its blob: the template literal unescaped them.
  const workerSource = wasmWorkerContents.replace(/\n/g, '\\n');
  const shim = `URL.createObjectURL=function(){return ${JSON.stringify(mainScript)}};URL.revokeObjectURL=function(){};\n`;
  const workerFile = writeOnce(shim + workerSource);
  const workerBlobSize = Buffer.byteLength(workerSource);
  const original = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (obj: Parameters<typeof URL.createObjectURL>[0]): string =>
    obj instanceof Blob && obj.type === 'application/javascript' && obj.size === workerBlobSize ? workerFile : original(obj);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasmBackend.setThreadsCount(requested);
  return (decided = { requested });
}

/** Runs `init` (the first wasm backend initialisation) with the thread pool sized as decided above. */
export async function withWasmThreads<T>(init: () => Promise<T>): Promise<T> {
  const { requested } = prepareWasmThreads();
  if (requested === 1) return init();
  // The real module object (a namespace import would be a copy): emscripten calls require("os").cpus().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeOs = require('node:os') as typeof os;
  const cpus = nodeOs.cpus;
  nodeOs.cpus = () => {
    const one = cpus()[0]!;
    return Array.from({ length: 2 * requested }, () => one);
  };
  let result: T;
  try {
    result = await init();
  } finally {
    nodeOs.cpus = cpus;
  }
  // Emscripten ref()s a worker while its pthread runs, and XNNPACK's pool threads never end, so the
  // process would never exit. They only ever work inside a synchronous kernel call of the main
  // thread, so nothing is lost when they stop with the process: unref them.
  const module = (tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers: { unref(): void }[] } } } | undefined)?.wasm;
  for (const worker of module?.PThread?.runningWorkers ?? []) worker.unref();
  return result;
}

/** Writes `source` to a temp file named by its hash (once per content), returns the path. */
function writeOnce(source: string): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `devise-tfjs-wasm-${wasmBackend.version_wasm}-${hash}.worker.js`);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === source) return file;
  writeFileAtomically(file, source);
  return file;
}
