/**
 * Backbones (SqueezeNet 1.1, ResNet34 — numerically torchvision's) with fastai heads, pretrained
 * weights, freezing by layer group, head swaps and checkpoints.
 *
 *   const m = await createModel('squeezenet1_1', { head: 'embedding', dim: 300, weights: 'squeezenet1_1-b8a52dc0.pth' });
 *   freeze(m);                                   // body frozen except BatchNorm (fastai train_bn)
 *   await saveModel(m, 'models/stage1');
 *   const s2 = swapHead(await loadModel('models/stage1'), { kind: 'classifier', units: 40 });
 *   modelSummary(m);                             // {params, trainable, sizeMB, groups}
 *
 * Inputs are NHWC float32 [N, S, S, 3] normalised with `m.preprocessing`, which the weight source sets.
 */
import { ensureBackend, loadLayersModel, saveLayersModel, tf } from '../backend/index';
import { IMAGENET, type Preprocessing } from '../preprocessing';
import { HEAD_HIDDEN } from './head';
import { openWeights, type OpenedWeights } from './pretrained';
import { ancestorNames, archSpec, buildModel, layerGroupsOf, type AnyHead, type Arch, type ArchSpec, type HeadKind } from './registry';

export { ARCHS, archSpec, type Arch, type HeadKind, type AnyHead } from './registry';
export { SeededDropout, setDropoutStep, TorchBatchNorm } from './layers';

export interface CnnModel {
  arch: Arch;
  /** Input NHWC float32 [null, S, S, 3], already normalised per `preprocessing`. */
  model: tf.LayersModel;
  head: { kind: AnyHead; units: number };
  /** Layer names per discriminative-LR group, in order; the last group is the head. */
  layerGroups: string[][];
  /** Set by the weight source (torchvision = ImageNet mean/std, Keras = caffe BGR). */
  preprocessing: Preprocessing;
  inputSize: number;
  /** The run seed its initialisers (and a swapped head's) derive from. */
  seed?: number;
}

export interface CreateOptions {
  /** `classifier` (logits), `embedding` (a vector), or torchvision's own `imagenet` top, or `none` (the feature map). */
  head?: AnyHead;
  /** Classes of a classifier (or of the `imagenet` top; defaults to the weight file's). */
  classes?: number;
  /** Embedding dimension (default 300, word2vec). */
  dim?: number;
  inputSize?: number;
  /** A torchvision `.pth`, a Keras `.h5` or a TF.js model folder (saveModel / `weights convert`). */
  weights?: string;
  /** The preprocessing your data uses: an error if it differs from the weight source's. */
  preprocessing?: Preprocessing;
  seed?: number;
  /** Discriminative-LR groups: squeezenet 2 (default, fastai 1.0.33) or 3; resnet34 3 (default) or 2. */
  groups?: 2 | 3;
}

/** Builds an architecture with a head, optionally loading pretrained weights (validated before assignment). */
export async function createModel(arch: Arch, opts: CreateOptions = {}): Promise<CnnModel> {
  await ensureBackend();
  const spec = archSpec(arch);
  const source = opts.weights ? await openWeights(opts.weights, spec) : undefined;
  return assemble(spec, source, opts);
}

/**
 * The whole model a weight file holds: torchvision's top with its classes when the file has one
 * (a full `.pth`), else the body (`head: 'none'`). The converter CLI saves this with `saveModel`.
 */
export async function convertWeights(file: string, arch: Arch, opts: { inputSize?: number } = {}): Promise<CnnModel> {
  const spec = archSpec(arch);
  const source = await openWeights(file, spec);
  return assemble(spec, source, { ...opts, weights: file, head: source.topClasses === null ? 'none' : 'imagenet' });
}

async function assemble(spec: ArchSpec, source: OpenedWeights | undefined, opts: CreateOptions): Promise<CnnModel> {
  const preprocessing = source?.preprocessing ?? opts.preprocessing ?? IMAGENET;
  if (source && opts.preprocessing) assertPreprocessing({ preprocessing, arch: spec.arch }, opts.preprocessing, `weights ${opts.weights}`);
  const kind: AnyHead = opts.head ?? (opts.classes !== undefined ? 'classifier' : 'embedding');
  const units = headUnits(kind, opts, source?.topClasses ?? null, spec.arch);
  const inputSize = opts.inputSize ?? spec.inputSize;
  const groups = opts.groups ?? spec.defaultGroups;
  const model = buildModel(spec, { inputSize, head: { kind, units }, seed: opts.seed ?? 0 });
  try {
    const m: CnnModel = { arch: spec.arch, model, head: { kind, units }, layerGroups: layerGroupsOf(model, spec, groups), preprocessing, inputSize, seed: opts.seed ?? 0 };
    if (source) {
      const saved = source.savedHead;
      const includeTop = kind === 'imagenet' || (saved !== undefined && saved.kind === kind && saved.units === units);
      source.assign(model, { includeTop });
    }
    return m;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

function headUnits(kind: AnyHead, opts: CreateOptions, fileClasses: number | null, arch: string): number {
  if (kind === 'embedding') return opts.dim ?? 300;
  if (kind === 'classifier') {
    if (opts.classes === undefined) throw new Error(`createModel('${arch}', {head: 'classifier'}) needs \`classes\` (the number of classes).`);
    return opts.classes;
  }
  if (kind === 'imagenet') {
    if (opts.classes !== undefined && fileClasses !== null && opts.classes !== fileClasses) {
      throw new Error(`${opts.weights} has a ${fileClasses}-class top but classes=${opts.classes} was asked for.`);
    }
    return opts.classes ?? fileClasses ?? 1000;
  }
  return 0;
}

/** Throws unless `prep` (what the data pipeline applies) equals the model's weight-source preprocessing. */
export function assertPreprocessing(m: Pick<CnnModel, 'preprocessing' | 'arch'>, prep: Preprocessing, where = 'the data'): void {
  if (JSON.stringify(m.preprocessing) !== JSON.stringify(prep)) {
    throw new Error(
      `Preprocessing mismatch: ${m.arch} ${where} expects ${describePrep(m.preprocessing)} but ${describePrep(prep)} was given. ` +
        `Use the model's \`preprocessing\` for the data (e.g. imageDataBunch({preprocessing: m.preprocessing})).`,
    );
  }
}

function describePrep(p: Preprocessing): string {
  return p.kind === 'caffe' ? `caffe (BGR, 0-255, minus mean ${p.meanBgr.join('/')})` : `imagenet (RGB 0-1, mean ${p.mean.join('/')}, std ${p.std.join('/')})`;
}

/** The name of the body's output layer (feature maps for CAM/PCA). */
export function bodyOutputLayer(m: CnnModel): string {
  return archSpec(m.arch).bodyOutput;
}

const isBatchNorm = (l: tf.layers.Layer) => l.getClassName() === 'TorchBatchNorm' || l.getClassName() === 'BatchNormalization';

/** fastai `freeze_to(k)`: groups before k frozen except BatchNorm (train_bn), groups from k on trainable. */
export function freezeTo(m: CnnModel, k: number): void {
  const n = m.layerGroups.length;
  const from = k < 0 ? n + k : k;
  m.layerGroups.forEach((names, g) => {
    for (const name of names) {
      const layer = m.model.getLayer(name);
      layer.trainable = g >= from || isBatchNorm(layer);
    }
  });
}

/** fastai `freeze()`: only the head (and every BatchNorm) trains. */
export function freeze(m: CnnModel): void {
  freezeTo(m, -1);
}

/** fastai `unfreeze()`: everything trains. */
export function unfreeze(m: CnnModel): void {
  freezeTo(m, 0);
}

/**
 * A new model with the same body weights (bit-identical copies) and a fresh head; `keepHidden` also keeps
 * the head's BatchNorm/Dense(512) layers (stage-1 → stage-2 reuse). `m` is left intact; dispose it if unused.
 */
export function swapHead(m: CnnModel, head: { kind: HeadKind; units: number; keepHidden?: boolean; seed?: number }): CnnModel {
  const spec = archSpec(m.arch);
  const model = buildModel(spec, { inputSize: m.inputSize, head: { kind: head.kind, units: head.units }, seed: head.seed ?? m.seed ?? 0 });
  const keep = ancestorNames(model, spec.bodyOutput);
  if (head.keepHidden && m.head.kind !== 'imagenet' && m.head.kind !== 'none') HEAD_HIDDEN.forEach((n) => keep.add(n));
  for (const layer of model.layers) {
    if (!keep.has(layer.name) || layer.weights.length === 0) continue;
    // Assigning a variable shares its data (ref-counted, copy-on-write): no copy, no leak.
    layer.setWeights(m.model.getLayer(layer.name).getWeights());
  }
  const groups = (m.layerGroups.length as 2 | 3);
  return { ...m, model, head: { kind: head.kind, units: head.units }, layerGroups: layerGroupsOf(model, spec, groups) };
}

/** Saves the whole model (architecture, weights, head, groups, preprocessing) to `dir` atomically. */
export async function saveModel(m: CnnModel, dir: string): Promise<void> {
  m.model.setUserDefinedMetadata({
    devise: { arch: m.arch, head: m.head, groups: m.layerGroups.length, preprocessing: m.preprocessing, inputSize: m.inputSize, seed: m.seed },
  });
  await saveLayersModel(m.model, dir);
}

/** Loads a model saved by `saveModel` or written by `npm run weights -- convert`. */
export async function loadModel(dir: string): Promise<CnnModel> {
  await ensureBackend();
  const model = await loadLayersModel(dir);
  const meta = (model.getUserDefinedMetadata() as { devise?: { arch: Arch; head: CnnModel['head']; groups: 2 | 3; preprocessing: Preprocessing; inputSize: number; seed?: number } } | undefined)?.devise;
  if (!meta) {
    model.dispose();
    throw new Error(`${dir}: a TF.js model without devise metadata; save models with saveModel() or convert weights with \`npm run weights -- convert\`.`);
  }
  const spec = archSpec(meta.arch);
  return { arch: meta.arch, model, head: meta.head, layerGroups: layerGroupsOf(model, spec, meta.groups), preprocessing: meta.preprocessing, inputSize: meta.inputSize, seed: meta.seed };
}

export interface ModelSummary {
  arch: Arch;
  head: CnnModel['head'];
  /** Learnable parameters as torch counts them (BatchNorm running statistics excluded). */
  params: number;
  trainable: number;
  /** BatchNorm running mean/variance values (stored, not learned). */
  buffers: number;
  /** fp32 size of the parameters in MB (10^6 bytes). */
  sizeMB: number;
  groups: { index: number; layers: number; params: number; trainable: number }[];
}

/** Parameter counts (total/trainable), fp32 size and per-layer-group breakdown. */
export function modelSummary(m: CnnModel): ModelSummary {
  const count = (ws: tf.LayerVariable[]) => ws.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  const groups = m.layerGroups.map((names, index) => {
    const layers = names.map((n) => m.model.getLayer(n));
    return {
      index,
      layers: layers.length,
      params: layers.reduce((s, l) => s + count(isBatchNorm(l) ? l.weights.slice(0, 2) : l.weights), 0),
      trainable: layers.reduce((s, l) => s + count(l.trainableWeights), 0),
    };
  });
  const params = groups.reduce((s, g) => s + g.params, 0);
  const all = count(m.model.weights);
  return {
    arch: m.arch,
    head: m.head,
    params,
    trainable: groups.reduce((s, g) => s + g.trainable, 0),
    buffers: all - params,
    sizeMB: (params * 4) / 1e6,
    groups,
  };
}
