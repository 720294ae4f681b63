/**
 * The wasm backend's own kernels, captured before ours replace them, for the cases we delegate back.
 *
 *   const sum = stockKernel('Sum');   // call as sum(args) for axis patterns we do not specialise
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm'; // registers the stock kernels before this module captures them

const captured = new Map<string, tf.KernelFunc>();

/** Captures the stock kernel now (at module load, before registration replaces it). */
export function captureStock(kernelName: string): () => tf.KernelFunc {
  const config = tf.getKernel(kernelName, 'wasm');
  if (config === undefined) throw new Error(`the wasm backend has no stock ${kernelName} kernel to delegate to`);
  captured.set(kernelName, config.kernelFunc);
  return () => captured.get(kernelName)!;
}
