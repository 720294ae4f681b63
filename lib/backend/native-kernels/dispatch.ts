/**
 * What every native kernel module shares: the on/off switch, tensor addresses on the wasm heap, and
 * the replacement of a tfjs gradient by a native one that falls back per call.
 *
 *   overrideGradient(tf.Relu, (dy, saved) => onNative(x) ? { x: () => ... } : undefined);
 */
import * as tf from '@tensorflow/tfjs';
import { type Info, type WasmBackend } from '../wasm-kernels/compose';
import { type NativeAddon } from './addon';

/** What a wasm kernel function receives. */
export type KernelArgs = { inputs: Record<string, Info>; backend: WasmBackend; attrs: Record<string, unknown> };

let enabled = true;

/** Turns the native kernels on or off for later calls (off: every call goes to the replaced kernel). */
export function useNativeKernels(on: boolean): void {
  enabled = on;
}

/** Whether the native kernels are on (useNativeKernels). */
export const nativeEnabled = (): boolean => enabled;

/** Whether a native gradient serves this call: native on, wasm backend, every tensor float32. */
export const nativeFloat32 = (...ts: tf.Tensor[]): boolean => enabled && tf.getBackend() === 'wasm' && ts.every((t) => t.dtype === 'float32');

/** A tensor's float32 element offset in the wasm heap. */
export const at = (backend: WasmBackend, t: Info): number => {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('tensor has no wasm buffer (disposed?)');
  return data.memoryOffset >>> 2;
};

export const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** A wasm kernel config that always runs the addon (kernels of the project's own names, with nothing to delegate to). */
export const addonKernel = (kernelName: string, addon: NativeAddon, f: (addon: NativeAddon, args: KernelArgs) => Info | Info[]): tf.KernelConfig =>
  ({ kernelName, backendName: 'wasm', kernelFunc: ((args: KernelArgs) => f(addon, args)) as unknown as tf.KernelFunc });

type GradFunc = tf.GradConfig['gradFunc'];

/**
 * Replaces tfjs's gradient of `kernelName` by `native`, which returns the gradients or undefined for
 * calls it does not serve (those run tfjs's own gradient, captured here). The gradient registry is
 * global, so the choice is made per call.
 */
export function overrideGradient(kernelName: string, native: (...args: Parameters<GradFunc>) => ReturnType<GradFunc> | undefined): void {
  const original = tf.getGradient(kernelName);
  tf.unregisterGradient(kernelName);
  tf.registerGradient({
    kernelName,
    inputsToSave: original.inputsToSave,
    outputsToSave: original.outputsToSave,
    gradFunc: (dy, saved, attrs) => native(dy, saved, attrs) ?? original.gradFunc(dy, saved, attrs),
  });
}
