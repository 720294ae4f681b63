/**
 * The wasm training kernels, registered by `initBackend` through `customKernels.wasm`.
 *
 *   import { wasmTrainingKernels } from './wasm-kernels/index';
 */
import type * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input';
import { identityConfig } from './identity';
import { maxPoolGradConfig } from './max-pool-grad';
import { concatConfig, splitVConfig } from './split-concat';
import { meanConfig, sumConfig } from './sum';
import { tileConfig } from './tile';

/** Replacements and additions for the wasm backend, in registration order. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  sumConfig,
  meanConfig,
  tileConfig,
  splitVConfig,
  concatConfig,
  identityConfig,
];
