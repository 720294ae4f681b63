/**
 * Class-activation heatmaps for one prediction, overlaid on the image.
 *
 *   import { classActivationMap, camOverlay } from './lib/plots/cam';
 *   const cam = classActivationMap(model, 'fire9/concat', x);            // fastai lesson 6: mean channel activation
 *   const grad = classActivationMap(model, 'fire9/concat', x, { method: 'gradcam' });
 *   const devise = classActivationMap(embModel, 'fire9/concat', x, { method: 'gradcam', target: wordVector });
 *   const png = await camOverlay(jpegBytes, grad.heat);                  // heat stretched over the photo
 *
 * Works on any tf.LayersModel given the name of its last conv block's output layer (for our CNNs,
 * `bodyOutputLayer(m)` from lib/models). Grad-CAM re-applies the layers after that one to the
 * activation, so everything after it must depend on it alone (true for a body + head).
 */
import sharp from 'sharp';
import { tf } from '../backend/index';

/** Options for {@link classActivationMap}. */
export interface CamOptions {
  /** Class to explain (default: the predicted one). */
  classIndex?: number;
  /** 'mean' (default): mean channel activation; 'gradcam': ReLU(Σ_k mean(∂score/∂A_k)·A_k). */
  method?: 'mean' | 'gradcam';
  /** For embedding models (DeViSE): the score is the cosine similarity of the output to this vector (e.g. a class word vector), not a class logit. */
  target?: ArrayLike<number>;
}

/**
 * A heatmap (h × w of the layer's grid, not normalised) with the model's outputs (probabilities or an
 * embedding), the class it explains (classifiers) or the output's cosine similarity to `target`.
 */
export interface Cam { heat: number[][]; outputs: number[]; method: 'mean' | 'gradcam'; classIndex?: number; similarity?: number }

/** Computes a class-activation map of `layerName` for one preprocessed image ([H,W,3] or [1,H,W,3]); disposes everything it makes. */
export function classActivationMap(model: tf.LayersModel, layerName: string, image: tf.Tensor3D | tf.Tensor4D, opts: CamOptions = {}): Cam {
  const layer = findLayer(model, layerName);
  if (image.rank === 4 && image.shape[0] !== 1) throw new Error(`classActivationMap: expects one image, got a batch of ${image.shape[0]}`);
  const method = opts.method ?? 'mean';
  const x = image.rank === 3 ? image.expandDims(0) : image;
  const bodyModel = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  try {
    return tf.tidy(() => {
      const acts = bodyModel.predict(x) as tf.Tensor;
      if (acts.rank !== 4) throw new Error(`classActivationMap: layer "${layerName}" outputs rank ${acts.rank}; a conv feature map [1,h,w,c] is needed`);
      const outputs = Array.from((model.predict(x) as tf.Tensor).dataSync());
      const target = opts.target ? tf.tensor1d(Array.from(opts.target)) : undefined;
      if (target && target.size !== outputs.length) throw new Error(`classActivationMap: target has ${target.size} values, the model outputs ${outputs.length}`);
      const classIndex = target ? undefined : opts.classIndex ?? outputs.indexOf(Math.max(...outputs));
      if (classIndex !== undefined && (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= outputs.length)) {
        throw new Error(`classActivationMap: classIndex ${classIndex} is outside 0..${outputs.length - 1}`);
      }
      const cosine = (y: tf.Tensor) => y.reshape([-1]).dot(target!).div(y.norm().mul(target!.norm()));
      const similarity = target ? cosine(tf.tensor1d(outputs)).dataSync()[0] : undefined;
      let heat: tf.Tensor;
      if (method === 'mean') {
        heat = acts.mean(3).squeeze([0]);
      } else {
        const head = headFrom(model, layer);
        const score = (a: tf.Tensor) => (target ? cosine(head(a)) : head(a).slice([0, classIndex!], [1, 1]).sum()) as tf.Scalar;
        const grads = tf.grad(score)(acts);
        const weights = grads.mean([1, 2]); // [1, c]: one weight per channel
        heat = acts.mul(weights.reshape([1, 1, 1, -1])).sum(3).squeeze([0]).relu();
      }
      return { heat: heat.arraySync() as number[][], outputs, method, classIndex, similarity };
    });
  } finally {
    if (x !== image) x.dispose();
  }
}

/** Colours a heatmap (min-max scaled, jet colormap), stretches it over the image and blends it in; returns PNG bytes. */
export async function camOverlay(image: Uint8Array | string, heat: number[][], opts: { opacity?: number } = {}): Promise<Buffer> {
  const h = heat.length;
  const w = heat[0]?.length ?? 0;
  if (!h || !w) throw new Error('camOverlay: the heatmap is empty');
  const meta = await sharp(image).metadata();
  if (!meta.width || !meta.height) throw new Error(`camOverlay: cannot read the size of ${typeof image === 'string' ? image : 'the image'}`);
  const flat = heat.flat();
  const lo = Math.min(...flat);
  const span = Math.max(...flat) - lo || 1;
  const alpha = Math.round(255 * (opts.opacity ?? 0.5));
  const rgba = Buffer.alloc(w * h * 4);
  flat.forEach((v, i) => {
    const [r, g, b] = jet((v - lo) / span);
    rgba.set([r, g, b, alpha], i * 4);
  });
  const layer = await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
    .resize(meta.width, meta.height, { fit: 'fill', kernel: 'cubic' })
    .png()
    .toBuffer();
  return sharp(image).removeAlpha().composite([{ input: layer }]).png().toBuffer();
}

/** The classic jet colormap (blue → cyan → yellow → red) for t in [0, 1]. */
function jet(t: number): [number, number, number] {
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

function findLayer(model: tf.LayersModel, name: string): tf.layers.Layer {
  try {
    return model.getLayer(name);
  } catch {
    const names = model.layers.map((l) => l.name);
    throw new Error(`classActivationMap: no layer "${name}" in model "${model.name}"; the last ones are: ${names.slice(-6).join(', ')}`);
  }
}

/**
 * The part of the model after `layer`, as a function of that layer's activation. A final softmax
 * Activation layer is skipped for the score, so Grad-CAM differentiates the logits, as in the paper.
 */
function headFrom(model: tf.LayersModel, layer: tf.layers.Layer): (a: tf.Tensor) => tf.Tensor {
  const last = model.layers[model.layers.length - 1];
  const softmaxLast = last.getClassName() === 'Activation' && (last.getConfig() as { activation?: string }).activation === 'softmax' && last !== layer;
  const target = softmaxLast ? last.inboundNodes[0].inputTensors[0] : model.outputs[0];
  const start = model.layers.indexOf(layer);
  return (a: tf.Tensor): tf.Tensor => {
    const values = new Map<number, tf.Tensor>([[(layer.output as tf.SymbolicTensor).id, a]]);
    for (const l of model.layers.slice(start + 1)) {
      for (const node of l.inboundNodes) {
        const ins = node.inputTensors.map((t) => values.get(t.id));
        if (ins.some((t) => t === undefined)) continue; // a node of another model sharing this layer
        const out = l.apply(ins.length === 1 ? ins[0]! : (ins as tf.Tensor[]), node.callArgs ?? {});
        (Array.isArray(out) ? out : [out]).forEach((t, i) => values.set(node.outputTensors[i].id, t as tf.Tensor));
      }
      if (values.has(target.id)) break;
    }
    const result = values.get(target.id);
    if (!result) throw new Error(`classActivationMap: the model's output does not depend on layer "${layer.name}" alone (a skip connection around it?); pick the last conv block's output layer`);
    return result;
  };
}
