/**
 * Custom kernels the project registers on top of a tfjs backend, listed per backend.
 *
 * The wasm backend lacks some training kernels (e.g. Conv2DBackpropFilter) and runs others slowly;
 * the replacements are added to `customKernels.wasm` by the training-kernels work. Registration
 * itself lives in `registerCustomKernels`, which `initBackend` calls, so it happens exactly once.
 */
import * as tf from '@tensorflow/tfjs';
import { wasmTrainingKernels } from './wasm-kernels/index';

/** Kernels to install per backend name (empty lists mean "use the backend's own"). */
export const customKernels: Record<string, tf.KernelConfig[]> = {
  wasm: [...wasmTrainingKernels],
};

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
