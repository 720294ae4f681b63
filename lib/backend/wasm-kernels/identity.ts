/**
 * Identity for wasm without a copy: the output shares the input's buffer (one more reference), as the
 * cpu backend does. Tensors are immutable and variables swap buffers on assign, so sharing is safe;
 * the stock kernel copies every gradient that passes through it.
 */
import * as tf from '@tensorflow/tfjs';
import { Info, WasmBackend } from './compose';

function identity(args: { inputs: { x: Info }; backend: WasmBackend }): Info {
  const { inputs: { x }, backend } = args;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity as unknown as tf.KernelFunc };
