/**
 * An inference-only copy of a trained model made of standard tfjs layers: Dropout (any class whose name
 * contains `Dropout`, e.g. the seeded one) removed, every BatchNorm folded into the Conv2D/Dense before it
 * (ResNet's conv → BN) or the Dense after it (fastai head: BN → Dropout → Dense), else written as a standard
 * `BatchNormalization`; a ReLU right after a Conv2D/Dense becomes its activation (one fused kernel). The result is
 * plain artifacts that `tf.loadLayersModel` reads with no project code.
 *
 *   const inf = await inferenceArtifacts(cnn.model);          // { topology, weights: [{name, shape, values}] }
 *   const m = await tf.loadLayersModel(tf.io.fromMemory(inf.topology, specsOf(inf.weights), ...));
 *
 * Folding (per channel c): s = γ / √(σ² + ε), t = β − μ·s. Before: W[..., c] *= s, b = b·s + t.
 * After (Dense W [in, out]): W[c, :] *= s, b += tᵀW.
 */
// Plain tfjs, not ../backend/index (Node-only): the browser app bundles this module to fold a uint8 export on load.
import * as tf from '@tensorflow/tfjs';

/** One float32 weight in row-major order, named as tfjs names it (`layer/kernel`). */
export interface NamedWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Keras-style layer entry of a functional model's topology. */
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, Record<string, unknown>][][];
}

export interface TopologyJson {
  class_name: string;
  config: { name: string; layers: LayerJson[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] };
  keras_version?: string;
  backend?: string;
}

/** What `inferenceArtifacts` did to each removed or rewritten layer, for reports and tests. */
export interface FoldLog {
  droppedDropout: string[];
  /** BatchNorm name → the Conv2D/Dense it was folded into. */
  foldedBefore: Record<string, string>;
  foldedAfter: Record<string, string>;
  /** BatchNorms kept as standard `BatchNormalization` layers. */
  standardBatchNorm: string[];
  /** ReLU name → the Conv2D/Dense whose activation it became. */
  fusedRelu: Record<string, string>;
}

export interface InferenceArtifacts {
  topology: TopologyJson;
  weights: NamedWeight[];
  log: FoldLog;
}

const isDropout = (cls: string) => /Dropout|GaussianNoise/.test(cls);
const isBatchNorm = (cls: string) => cls === 'TorchBatchNorm' || cls === 'BatchNormalization';

/** The model's topology and weights, copied out (the model is not changed). */
export async function modelArtifacts(model: tf.LayersModel): Promise<{ topology: TopologyJson; weights: NamedWeight[] }> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    captured = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = captured!;
  const data = tf.io.CompositeArrayBuffer.join(a.weightData ?? new ArrayBuffer(0));
  const tensors = tf.io.decodeWeights(data, a.weightSpecs ?? []);
  const weights = (a.weightSpecs ?? []).map((s) => {
    const t = tensors[s.name]!;
    const w = { name: s.name, shape: [...t.shape], values: Float32Array.from(t.dataSync() as Float32Array) };
    t.dispose();
    return w;
  });
  return { topology: JSON.parse(JSON.stringify(a.modelTopology)) as TopologyJson, weights };
}

/** Builds the inference-only topology and folded weights of `model` (see the file comment). */
export async function inferenceArtifacts(model: tf.LayersModel, opts: FoldOptions = {}): Promise<InferenceArtifacts> {
  const { topology, weights } = await modelArtifacts(model);
  return foldArtifacts(topology, weights, opts);
}

/** Which BatchNorm folds to do (both by default); a BatchNorm not folded becomes a standard `BatchNormalization`. */
export interface FoldOptions {
  /** conv/dense → BN: scale the producer's output channels. */
  before?: boolean;
  /** BN → (Dropout) → Dense: scale the Dense's input rows. */
  after?: boolean;
}

/** `inferenceArtifacts` on already captured artifacts (pure: inputs are not modified). */
export function foldArtifacts(topologyIn: TopologyJson, weightsIn: NamedWeight[], opts: FoldOptions = {}): InferenceArtifacts {
  const topology = JSON.parse(JSON.stringify(topologyIn)) as TopologyJson;
  const W = new Map(weightsIn.map((w) => [w.name, { ...w, values: Float32Array.from(w.values) }]));
  const layers = topology.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const log: FoldLog = { droppedDropout: [], foldedBefore: {}, foldedAfter: {}, standardBatchNorm: [], fusedRelu: {} };
  for (const l of layers) {
    if (l.inbound_nodes.length > 1) throw new Error(`export: layer '${l.name}' is applied ${l.inbound_nodes.length} times; shared layers are not supported`);
  }
  // alias: a removed layer's output is another layer's output.
  const alias = new Map<string, [string, number, number]>();
  const resolve = (ref: [string, number, number]): [string, number, number] => {
    let r = ref;
    while (alias.has(r[0])) r = alias.get(r[0])!;
    return r;
  };
  const singleInput = (l: LayerJson): [string, number, number] => {
    const node = l.inbound_nodes[0] ?? [];
    if (node.length !== 1) throw new Error(`export: layer '${l.name}' (${l.class_name}) should have exactly one input`);
    return [node[0]![0], node[0]![1], node[0]![2]];
  };
  const removed = new Set<string>();
  for (const l of layers) {
    if (!isDropout(l.class_name)) continue;
    alias.set(l.name, singleInput(l));
    removed.add(l.name);
    log.droppedDropout.push(l.name);
  }
  const consumers = () => {
    const c = new Map<string, string[]>();
    for (const l of layers) {
      if (removed.has(l.name)) continue;
      for (const node of l.inbound_nodes) for (const ref of node) {
        const src = resolve([ref[0], ref[1], ref[2]])[0];
        c.set(src, [...(c.get(src) ?? []), l.name]);
      }
    }
    for (const ref of topology.config.output_layers) {
      const src = resolve(ref)[0];
      c.set(src, [...(c.get(src) ?? []), '<output>']);
    }
    return c;
  };
  const get = (name: string) => {
    const w = W.get(name);
    if (!w) throw new Error(`export: weight '${name}' is missing`);
    return w;
  };
  for (const bn of layers) {
    if (!isBatchNorm(bn.class_name) || removed.has(bn.name)) continue;
    const cfg = bn.config as { axis?: number | number[]; epsilon?: number; center?: boolean; scale?: boolean };
    const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1];
    // The layer's per-channel scale and shift, read only when it is folded: with both folds off, no weight is read
    // (the topology alone may be given). float64 for the fold itself; stored as float32.
    const scaleShift = () => {
      const mean = get(`${bn.name}/moving_mean`).values;
      const variance = get(`${bn.name}/moving_variance`).values;
      const n = mean.length;
      const gamma = cfg.scale === false ? new Float32Array(n).fill(1) : get(`${bn.name}/gamma`).values;
      const beta = cfg.center === false ? new Float32Array(n) : get(`${bn.name}/beta`).values;
      const eps = cfg.epsilon ?? 1e-3;
      const s = Array.from(mean, (_, c) => gamma[c]! / Math.sqrt(variance[c]! + eps));
      return { n, s, t: Array.from(mean, (m, c) => beta[c]! - m * s[c]!) };
    };
    const foldable = axis.length === 1 && (axis[0] === -1);
    const cons = consumers();
    const input = resolve(singleInput(bn));
    const prev = byName.get(input[0])!;
    const prevCfg = prev.config as { activation?: string; use_bias?: boolean };
    const dropBn = (to: [string, number, number]) => {
      alias.set(bn.name, to);
      removed.add(bn.name);
      for (const k of ['gamma', 'beta', 'moving_mean', 'moving_variance']) W.delete(`${bn.name}/${k}`);
    };
    if (opts.before !== false && foldable && (prev.class_name === 'Conv2D' || prev.class_name === 'Dense') && (prevCfg.activation ?? 'linear') === 'linear' && (cons.get(prev.name) ?? []).length === 1) {
      const { n, s, t } = scaleShift();
      const kernel = get(`${prev.name}/kernel`);
      const out = kernel.shape[kernel.shape.length - 1]!;
      if (out !== n) throw new Error(`export: ${bn.name} has ${n} channels but ${prev.name} outputs ${out}`);
      for (let i = 0; i < kernel.values.length; i++) kernel.values[i] = kernel.values[i]! * s[i % n]!;
      const bias = prevCfg.use_bias === false ? new Float32Array(n) : get(`${prev.name}/bias`).values;
      const folded = Float32Array.from(bias, (b, c) => b * s[c]! + t[c]!);
      W.set(`${prev.name}/bias`, { name: `${prev.name}/bias`, shape: [n], values: folded });
      prev.config['use_bias'] = true;
      dropBn(input);
      log.foldedBefore[bn.name] = prev.name;
      continue;
    }
    const next = (cons.get(bn.name) ?? []).map((c) => byName.get(c)).filter((l): l is LayerJson => l !== undefined);
    const only = next.length === 1 && (cons.get(bn.name) ?? []).length === 1 ? next[0]! : undefined;
    if (opts.after !== false && foldable && only && only.class_name === 'Dense') {
      const { n, s, t } = scaleShift();
      const kernel = get(`${only.name}/kernel`);
      const [inDim, outDim] = kernel.shape as [number, number];
      if (kernel.shape.length === 2 && inDim === n) {
        const bias = (only.config as { use_bias?: boolean }).use_bias === false ? new Float64Array(outDim) : Float64Array.from(get(`${only.name}/bias`).values);
        for (let i = 0; i < inDim; i++) {
          for (let j = 0; j < outDim; j++) {
            const w = kernel.values[i * outDim + j]!;
            bias[j] = bias[j]! + t[i]! * w;
            kernel.values[i * outDim + j] = w * s[i]!;
          }
        }
        W.set(`${only.name}/bias`, { name: `${only.name}/bias`, shape: [outDim], values: Float32Array.from(bias) });
        only.config['use_bias'] = true;
        dropBn(input);
        log.foldedAfter[bn.name] = only.name;
        continue;
      }
    }
    bn.class_name = 'BatchNormalization';
    log.standardBatchNorm.push(bn.name);
  }
  // A plain ReLU right after a Conv2D/Dense becomes that layer's activation: tfjs then runs one fused kernel
  // (FusedConv2D / _FusedMatMul with the bias and ReLU) instead of a second pass over the activation.
  for (const relu of layers) {
    const cfg = relu.config as { max_value?: number | null; negative_slope?: number; threshold?: number };
    if (relu.class_name !== 'ReLU' || removed.has(relu.name) || cfg.max_value != null || cfg.negative_slope || cfg.threshold) continue;
    const input = resolve(singleInput(relu));
    const prev = byName.get(input[0])!;
    const prevCfg = prev.config as { activation?: string };
    if ((prev.class_name !== 'Conv2D' && prev.class_name !== 'Dense') || (prevCfg.activation ?? 'linear') !== 'linear' || (consumers().get(prev.name) ?? []).length !== 1) continue;
    prev.config['activation'] = 'relu';
    alias.set(relu.name, input);
    removed.add(relu.name);
    log.fusedRelu[relu.name] = prev.name;
  }
  topology.config.layers = layers
    .filter((l) => !removed.has(l.name))
    .map((l) => ({ ...l, config: { ...l.config, trainable: false }, inbound_nodes: l.inbound_nodes.map((node) => node.map((ref) => [...resolve([ref[0], ref[1], ref[2]]), ref[3]] as LayerJson['inbound_nodes'][0][0])) }));
  topology.config.output_layers = topology.config.output_layers.map((r) => resolve(r));
  return { topology, weights: [...W.values()], log };
}

/**
 * Whether folding BatchNorm into weights saves work per image: some BatchNorm reads a convolution's output (ResNets:
 * one pass over every activation saved). Where BatchNorm only sits in the head (SqueezeNet), it costs next to nothing
 * as a layer, and the topology alone can be rewritten (`foldArtifacts(t, [], { before: false, after: false })`).
 */
export function batchNormAfterConv(topology: TopologyJson): boolean {
  const byName = new Map(topology.config.layers.map((l) => [l.name, l]));
  return topology.config.layers.some((l) => isBatchNorm(l.class_name) && byName.get(l.inbound_nodes[0]?.[0]?.[0] ?? '')?.class_name === 'Conv2D');
}

/** Every layer class of a topology (tests: only standard tfjs classes). */
export function layerClasses(topology: { config: { layers: { class_name: string }[] } }): string[] {
  return [...new Set(topology.config.layers.map((l) => l.class_name))].sort();
}
