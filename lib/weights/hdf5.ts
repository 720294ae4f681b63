/**
 * Reads Keras HDF5 weight files (`model.save_weights('w.h5')`) with h5wasm, a real HDF5 library.
 *
 *   const layers = await readHdf5Weights('squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5');
 *   layers.get('fire2/squeeze1x1')   // [{name: 'uniform2', shape: [1,1,64,16], data}, {name: ..._b, ...}]
 *
 * Follows Keras's own loader: the root attribute `layer_names` lists the layers in order, and each
 * layer group's `weight_names` attribute lists its weights (kernel first, then bias).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** One stored weight array, channels-last as Keras keeps it. */
export interface Hdf5Weight {
  name: string;
  shape: number[];
  data: Float32Array;
}

type H5Module = typeof import('h5wasm');
const requireHere = createRequire(__filename);
let h5: Promise<H5Module> | undefined;

/**
 * h5wasm ships ES modules only, exported for `import` alone. A dynamic import() is rewritten to
 * require() by tsc (tslab) and unsupported in vitest's VM, so require the ESM file by path
 * (Node ≥ 20.19 loads synchronous ES modules with require).
 */
async function h5wasm(): Promise<H5Module> {
  h5 ??= (async () => {
    const candidates = (requireHere.resolve.paths('h5wasm') ?? []).map((d) => path.join(d, 'h5wasm', 'dist', 'node', 'hdf5_hl.js'));
    const file = candidates.find((f) => fs.existsSync(f));
    if (!file) throw new Error('h5wasm is not installed: run `npm install`.');
    const mod = requireHere(file) as H5Module & { default?: H5Module };
    const lib = mod.default ?? mod;
    await lib.ready;
    return lib;
  })();
  return h5;
}

/**
 * Runs synchronous HDF5 calls with the library's diagnostic stream (the `HDF5-DIAG: Error detected …` stack it
 * prints to stderr on every failed call) captured instead of printed; returns what it said, boiled down to the
 * outermost and innermost messages of its first error stack ('' when it said nothing).
 */
function quietHdf5<T>(fn: () => T): { value?: T; error?: unknown; diag: string } {
  const captured: string[] = [];
  // h5wasm's Node build writes file descriptor 2 with fs.writeSync (its file system maps to the real one);
  // other builds print through console.error. Both are caught, for these synchronous calls only.
  const nodeFs = requireHere('node:fs') as { writeSync: typeof fs.writeSync };
  const writeSync = nodeFs.writeSync;
  nodeFs.writeSync = ((fd: number, buf: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (fd === 2) {
      if (typeof buf === 'string') {
        captured.push(buf);
        return Buffer.byteLength(buf);
      }
      const offset = (rest[0] as number | undefined) ?? 0;
      const length = (rest[1] as number | undefined) ?? buf.byteLength - offset;
      captured.push(Buffer.from(buf.buffer, buf.byteOffset + offset, length).toString('utf8'));
      return length;
    }
    return (writeSync as (...a: unknown[]) => number)(fd, buf, ...rest);
  }) as typeof fs.writeSync;
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (/HDF5-DIAG|^\s+(#\d{3}:|major:|minor:)/m.test(text)) {
      captured.push(text);
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }
    return write.call(process.stderr, chunk, ...(rest as [BufferEncoding]));
  }) as typeof process.stderr.write;
  try {
    return { value: fn(), diag: summariseDiag(captured.join('')) };
  } catch (error) {
    return { error, diag: summariseDiag(captured.join('')) };
  } finally {
    process.stderr.write = write;
    nodeFs.writeSync = writeSync;
  }
}

/** `H5Fopen(): unable to synchronously open file … file signature not found` from a HDF5-DIAG stack. */
function summariseDiag(text: string): string {
  const first = text.split(/HDF5-DIAG[^\n]*\n/).find((b) => b.trim());
  if (!first) return '';
  const calls = [...first.matchAll(/#\d{3}:.* in ([\w]+\(\)): ([^\n]+)/g)].map((m) => `${m[1]}: ${m[2]!.trim()}`);
  if (!calls.length) return '';
  return calls.length === 1 ? calls[0]! : `${calls[0]} … ${calls[calls.length - 1]!.replace(/^[\w]+\(\): /, '')}`;
}

/** Reads every layer's weights from a Keras HDF5 weights file, keyed by Keras layer name. */
export async function readHdf5Weights(file: string): Promise<Map<string, Hdf5Weight[]>> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new Error(`${file}: no such file. Download it with \`npm run weights -- download keras-squeezenet1_1-notop\`.`);
  if (fs.statSync(abs).isDirectory()) throw new Error(`${file} is a folder, not an HDF5 weights file: pass the .h5 file inside it.`);
  const lib = await h5wasm();
  // Everything below is synchronous: HDF5's diagnostics are captured for exactly these calls.
  const r = quietHdf5(() => readOpened(lib, abs, file));
  if (r.error === undefined) return r.value!;
  const msg = (r.error as Error).message ?? String(r.error);
  if (!r.diag) throw r.error;
  // h5wasm's own message for a damaged file is bare ("name not defined!"); HDF5's is the one that explains.
  if (/cannot read the weights|not a readable HDF5 file/.test(msg)) throw new Error(`${file}: not a readable HDF5 file (HDF5: ${r.diag}); it is truncated or corrupt. Download it again.`);
  throw new Error(`${msg} (HDF5: ${r.diag})`);
}

function readOpened(lib: H5Module, abs: string, file: string): Map<string, Hdf5Weight[]> {
  let f: InstanceType<H5Module['File']>;
  try {
    f = new lib.File(abs, 'r');
  } catch (err) {
    throw new Error(`${file}: not a readable HDF5 file (${(err as Error).message}); it is truncated or corrupt. Download it again.`);
  }
  try {
    // Full-model files (model.save) keep the weights under /model_weights.
    const rootGroup = (f.get('model_weights') as InstanceType<H5Module['Group']> | null) ?? f;
    const layerNames = attrStrings(rootGroup, 'layer_names', file);
    const out = new Map<string, Hdf5Weight[]>();
    for (const layer of layerNames) {
      const group = f.get(rootGroup === f ? layer : `model_weights/${layer}`) as InstanceType<H5Module['Group']> | null;
      if (!group) throw new Error(`${file}: layer '${layer}' is listed in layer_names but has no group (truncated file?).`);
      const weights: Hdf5Weight[] = [];
      for (const w of attrStrings(group, 'weight_names', file, [])) {
        const ds = group.get(w) as InstanceType<H5Module['Dataset']> | null;
        if (!ds) throw new Error(`${file}: weight '${layer}/${w}' is listed but missing (truncated file?).`);
        const value = readDataset(ds, `${file}:${layer}/${w}`);
        weights.push({ name: w, shape: [...(ds.shape ?? [])], data: value });
      }
      out.set(layer, weights);
    }
    return out;
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (msg.startsWith(file)) throw err;
    // h5wasm reports damaged files with bare messages ("name not defined!"): say which file and what to do.
    throw new Error(`${file}: cannot read the weights (${msg}); the file is truncated or corrupt. Download it again.`);
  } finally {
    try {
      f.close();
    } catch {
      // A file HDF5 never opened has nothing to close.
    }
  }
}

function attrStrings(obj: { attrs: unknown }, name: string, file: string, fallback?: string[]): string[] {
  const attr = (obj.attrs as Record<string, { value: unknown } | undefined>)[name];
  if (!attr) {
    if (fallback) return fallback;
    throw new Error(`${file}: no '${name}' attribute; not a Keras weights file.`);
  }
  const v = attr.value;
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return list.map((s) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)));
}

function readDataset(ds: InstanceType<H5Module['Dataset']>, where: string): Float32Array {
  let value: unknown;
  try {
    value = ds.value;
  } catch (err) {
    throw new Error(`${where}: cannot read the data (${(err as Error).message}); the file is truncated or corrupt.`);
  }
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw new Error(`${where}: unsupported dtype ${ds.dtype}; expected float32.`);
}
