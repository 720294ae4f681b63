/**
 * Helpers for wasm kernels that are built from other wasm kernels or run directly on the wasm heap.
 *
 *   const k = new Composer(backend);
 *   const t = k.run('Transpose', { x }, { perm: [3, 1, 2, 0] });   // intermediate, freed by k.done()
 *   return k.done(result);                                          // frees everything but `result`
 *
 * Kernels here receive and return `TensorInfo`s (dataId + shape), not tensors: the engine wraps the
 * result. Calling the backend's own kernelFunc keeps the heavy work inside XNNPACK.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of the wasm backend (`BackendWasm`, not exported as a type by the package) used here. */
export interface WasmBackend {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number; refCount: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

export type Info = tf.TensorInfo;

/** Runs other wasm kernels and frees their intermediates. */
export class Composer {
  private readonly owned: Info[] = [];

  constructor(readonly backend: WasmBackend) {}

  /** Runs a registered wasm kernel; its output is freed by `done` unless returned. */
  run(kernelName: string, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (kernel === undefined) throw new Error(`wasm kernel ${kernelName} is not registered`);
    const out = kernel.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend: this.backend as unknown as tf.KernelBackend }) as Info;
    this.owned.push(out);
    return out;
  }

  /** A new uninitialised float32 output owned by this composer. */
  alloc(shape: number[]): Info {
    const out = this.backend.makeOutput(shape, 'float32');
    this.owned.push(out);
    return out;
  }

  /** Frees every intermediate except `keep` (whose buffer is handed to the engine). */
  done(keep: Info): Info {
    for (const t of this.owned) if (t.dataId !== keep.dataId) this.backend.disposeData(t.dataId);
    this.owned.length = 0;
    return keep;
  }
}

/** Same buffer, new shape (row-major reinterpretation, no copy, no new reference). */
export function reshapeInfo(t: Info, shape: number[]): Info {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Float32 view of a tensor's wasm-heap buffer; take it after the last allocation (the heap can grow). */
export function heapF32(backend: WasmBackend, t: Info): Float32Array {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('tensor has no wasm buffer (disposed?)');
  const size = t.shape.reduce((a, b) => a * b, 1);
  return backend.wasm.HEAPF32.subarray(data.memoryOffset >>> 2, (data.memoryOffset >>> 2) + size);
}

/** The whole wasm heap as float32 and `t`'s start index in it (for copyWithin between tensors). */
export function heapOffset(backend: WasmBackend, t: Info): { heap: Float32Array; at: number } {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('tensor has no wasm buffer (disposed?)');
  return { heap: backend.wasm.HEAPF32, at: data.memoryOffset >>> 2 };
}

/** Throws unless the conv/pool uses the NHWC layout the wasm backend supports. */
export function assertNHWC(dataFormat: unknown, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`wasm ${kernel}: dataFormat '${String(dataFormat)}' is not supported; use NHWC (channelsLast).`);
  }
}
