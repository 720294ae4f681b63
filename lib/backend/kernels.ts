/**
 * Custom kernels the project registers on top of a tfjs backend, listed per backend.
 *
 * The wasm backend lacks some training kernels (e.g. Conv2DBackpropFilter) and runs others slowly:
 * `customKernels.wasm` holds the project's wasm replacements (./wasm-kernels), and `kernelsFor('wasm')`
 * puts the native oneDNN kernels (./native-kernels) over them by name where the addon is built.
 * Registration itself lives in `registerCustomKernels`, which `initBackend` calls, so it happens once.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeKernels } from './native-kernels/index';
import { wasmTrainingKernels } from './wasm-kernels/index';

/** The project's own (JS/wasm) kernels per backend name (empty lists mean "use the backend's own"). */
export const customKernels: Record<string, tf.KernelConfig[]> = {
  wasm: [...wasmTrainingKernels],
};

/** Kernels to install on `backend`: the project's, with native ones replacing them by name when available. */
export function kernelsFor(backend: string): tf.KernelConfig[] {
  const own = customKernels[backend] ?? [];
  if (backend !== 'wasm') return own;
  const native = nativeKernels();
  const names = new Set(native.map((k) => k.kernelName));
  return [...own.filter((k) => !names.has(k.kernelName)), ...native];
}

const installed = new Set<string>();

/**
 * Registers `configs` for their backends, replacing any built-in kernel of the same name.
 * Idempotent: a kernel this function already installed is left alone, so repeated calls
 * (notebook re-runs, several `initBackend` calls) register each kernel once.
 * Returns the names newly registered by this call.
 */
export function registerCustomKernels(configs: readonly tf.KernelConfig[]): string[] {
  const added: string[] = [];
  for (const config of configs) {
    const key = `${config.backendName}/${config.kernelName}`;
    if (installed.has(key)) continue;
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
    installed.add(key);
    added.push(config.kernelName);
  }
  return added;
}

/** Names of the kernels this process has installed over the backends, as `backend/kernel`. */
export function installedKernels(): string[] {
  return [...installed].sort();
}
