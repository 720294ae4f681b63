/**
 * The wasm heap's 4 GiB limit (wasm32: tfjs-backend-wasm's builds cap memory at 65536 pages of 64 KiB).
 *
 *   guardWasmMalloc(backend);                       // initBackend does this once
 *   largestBatch({ 1: peak1, 2: peak2 }, 16)        // → {fits, largest, neededBytes}
 *
 * A tensor allocation beyond the limit makes the wasm `_malloc` return 0; tfjs does not check, writes
 * the tensor at address 0 and the process dies later with "RuntimeError: memory access out of bounds"
 * in `_dispose_data` (ResNet34 training at batch 16, 224 px). The guard turns that into an error at
 * the allocation that names the limit.
 */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30;

interface MallocModule { _malloc(bytes: number): number; _free(at: number): void; deviseGuarded?: boolean }

/** Thrown when a tensor does not fit in the wasm heap. */
export class WasmHeapError extends Error {
  constructor(readonly bytes: number) {
    super(`the wasm heap is full: a ${(bytes / 2 ** 20).toFixed(0)} MB tensor does not fit in wasm32's 4 GiB ` +
      '(use a smaller batch or image size; `npm run bench` reports the largest batch that fits)');
    this.name = 'WasmHeapError';
  }
}

/** Wraps the wasm backend's `_malloc` so that a failed allocation throws instead of returning address 0. */
export function guardWasmMalloc(backend: unknown): void {
  const module = (backend as { wasm?: MallocModule } | undefined)?.wasm;
  if (!module || module.deviseGuarded) return;
  // Emscripten binds exports lazily: the first call replaces `Module._malloc` with the raw export, which
  // would drop a wrapper installed before it. One call first makes the binding final.
  module._free(module._malloc(8));
  const malloc = module._malloc.bind(module);
  module._malloc = (bytes: number): number => {
    const at = malloc(bytes);
    if (at === 0 && bytes > 0) throw new WasmHeapError(bytes);
    return at;
  };
  module.deviseGuarded = true;
}

/**
 * From peak tensor bytes measured at batch 1 and 2 (memory grows linearly with the batch), whether
 * `batch` fits in the wasm heap (with 8% kept for fragmentation and kernel workspaces) and the largest
 * batch that does.
 */
export function largestBatch(peak: { 1: number; 2: number }, batch: number, limit = WASM_HEAP_LIMIT): { fits: boolean; largest: number; neededBytes: number } {
  const perImage = Math.max(1, peak[2] - peak[1]);
  const fixed = peak[1] - perImage;
  const budget = 0.92 * limit;
  const neededBytes = fixed + perImage * batch;
  return { fits: neededBytes <= budget, largest: Math.max(0, Math.floor((budget - fixed) / perImage)), neededBytes };
}
