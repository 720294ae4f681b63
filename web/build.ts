/**
 * Builds the static search app into one folder: index.html, app.js (esbuild bundle of web/src with tfjs and its
 * WebGPU, WebGL and wasm backends), the three tfjs-backend-wasm .wasm files (over http the browser fetches the one
 * it runs), wasm/<name>.wasm.js (each binary base64 in its own script, for file://, where the page reads only the
 * one it needs), and export/ (the run's model and tables, plus export/bundle.js that inlines them so the folder
 * also works from file://). No CDN, no network.
 *
 *   await buildWeb('app');                                                    // the app shell only
 *   await buildApp({ run: 'reports/…/run', out: 'app', quantize: 'uint8' }); // shell + export of the run
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { exportRun, type RunExport } from '../lib/export/run';
import type { Quantize } from '../lib/export/quantize';

const WEB = __dirname;
const ROOT = path.resolve(WEB, '..');
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

const wasmDir = () => path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json', { paths: [ROOT] })), 'dist');

/**
 * tfjs-backend-wasm's threaded build (Emscripten) starts a fixed pool of 8 web workers while the backend loads, each
 * evaluating the module's script and instantiating it: on a 2-core machine most of the backend's start. The pool is
 * made `window.DEVISE_WASM_WORKERS` (set by web/src/backend.ts to the threads it asks XNNPACK for), still 8 when unset. XNNPACK's pool must find its workers ready (the main thread
 * cannot wait for one to load), so the count never goes below the threads asked for.
 */
const POOL = 'var pthreadPoolSize=8;';
const workerPool: Plugin = {
  name: 'tfjs-wasm-worker-pool',
  setup(b) {
    let patched = 0;
    b.onLoad({ filter: /tfjs-backend-wasm[^/]*\.js$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8');
      if (!text.includes(POOL)) return undefined;
      patched++;
      return { contents: text.replace(POOL, 'var pthreadPoolSize=window.DEVISE_WASM_WORKERS||8;'), loader: 'js' };
    });
    b.onEnd(() => {
      if (!patched) throw new Error(`web/build.ts: tfjs-backend-wasm no longer holds '${POOL}' (a new version?): update the worker-pool patch`);
    });
  },
};

/** Writes index.html, app.js and the wasm binaries into `out`; returns the bytes of app.js. */
export async function buildWeb(out: string, opts: { minify?: boolean } = {}): Promise<{ appBytes: number }> {
  fs.mkdirSync(out, { recursive: true });
  await build({
    plugins: [workerPool],
    entryPoints: [path.join(WEB, 'src', 'app.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: opts.minify ?? true,
    legalComments: 'none',
    outfile: path.join(out, 'app.js'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'error',
  });
  fs.copyFileSync(path.join(WEB, 'index.html'), path.join(out, 'index.html'));
  fs.mkdirSync(path.join(out, 'wasm'), { recursive: true });
  for (const f of WASM_FILES) {
    fs.copyFileSync(path.join(wasmDir(), f), path.join(out, f));
    // file:// has no threads (no cross-origin isolation), so the threaded build is never needed there.
    if (!f.includes('threaded')) {
      const b64 = fs.readFileSync(path.join(wasmDir(), f)).toString('base64');
      fs.writeFileSync(path.join(out, 'wasm', `${f}.js`), `window.DEVISE_WASM = window.DEVISE_WASM || {};\nwindow.DEVISE_WASM[${JSON.stringify(f)}] = ${JSON.stringify(b64)};\n`);
    }
  }
  return { appBytes: fs.statSync(path.join(out, 'app.js')).size };
}

/** `export/bundle.js`: every export file base64-inlined into `window.DEVISE_BUNDLE` (the file:// path). */
export function writeBundle(exportDir: string): number {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== 'bundle.js') files[path.relative(exportDir, p).split(path.sep).join('/')] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(exportDir);
  const js = `window.DEVISE_BUNDLE = ${JSON.stringify(files)};\n`;
  fs.writeFileSync(path.join(exportDir, 'bundle.js'), js);
  return js.length;
}

export interface AppBuild {
  out: string;
  export: RunExport;
  appBytes: number;
  bundleBytes: number;
}

/** The whole app folder for a run: shell + export/ (+ bundle.js for file://). */
export async function buildApp(opts: { run: string; out: string; quantize?: Quantize; galleryPerClass?: number; onProgress?: (line: string) => void }): Promise<AppBuild> {
  const { appBytes } = await buildWeb(opts.out);
  const exp = await exportRun(opts.run, path.join(opts.out, 'export'), { quantize: opts.quantize ?? 'uint8', galleryPerClass: opts.galleryPerClass, onProgress: opts.onProgress });
  const bundleBytes = writeBundle(exp.dir);
  return { out: opts.out, export: exp, appBytes, bundleBytes };
}
