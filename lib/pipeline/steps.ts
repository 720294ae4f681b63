/**
 * The DeViSE pipeline as steps: data + model + label vectors → stage 1 → stage 2 (with a PCA snapshot of
 * chosen classes after every epoch) → embeddings of every image → hnswlib indices → zero-shot evaluation.
 * The notebooks call these one per cell; `runDevise` (lib/pipeline/run.ts) calls them in order.
 *
 *   const run = await prepareRun(deviseConfig());
 *   const lr = await findLr(run);  await run.recipe.stage1();  const s1 = await interpretStage1(run);
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomically } from '../backend/io';
import { displayPath, pretrainedCandidates } from '../settings';
import { tf } from '../backend/index';
import { applyTransforms, CENTER, decodeImage, getTransforms, sampleParams } from '../data/augment';
import type { Item } from '../data/items';
import { type DataBunch, datasetClasses, ImageLoader, imageDataBunch } from '../data/loader';
import { evaluate, interpret, type Interpretation, type MetricRow } from '../metrics';
import { bodyOutputLayer, type CnnModel, createModel, modelSummary } from '../models/index';
import { camOverlay, classActivationMap } from '../plots/cam';
import { normalizeInto } from '../preprocessing';
import { Rng } from '../data/rng';
import { ImageIndex, LabelIndex, type SearchHit } from '../search';
import type { Callback } from '../train/callbacks';
import type { LrFindResult } from '../train/learner';
import { DEFAULT_PHASES, twoStageRecipe, type TwoStageRecipe } from '../train/recipe';
import { usableSuggestion } from '../train/suggest';
import { slice } from '../train/schedule';
import type { LabelEmbeddings, LabelSource } from '../vectors/labels';
import { labelSource } from '../vectors/sources';
import { AWA2_WORDNET, hopMatrix } from '../vectors/wordnet';
import type { DeviseConfig } from './config';
import { dataUri } from '../plots/images';

/** Everything a run builds up, step by step. */
export interface DeviseRun {
  cfg: DeviseConfig;
  data: DataBunch;
  source: LabelSource;
  /** Word vectors of `data.classes` (the stage-2 regression targets). */
  labelVectors: LabelEmbeddings;
  recipe: TwoStageRecipe;
  pca: PcaSnapshots;
  /** The learning rates stages 1 and 2a trained at, and where each came from. */
  lr: { stage1?: ChosenLr; stage2a?: ChosenLr };
  /** Which phases have started and finished (recorded in run.json). */
  phases: Record<string, 'done' | 'running'>;
  /** Wall seconds per step, for the report. */
  seconds: Record<string, number>;
}

/** The label source named by `cfg.labels` (see lib/vectors/sources.ts). */
export function labelSourceOf(cfg: DeviseConfig): Promise<LabelSource> {
  return labelSource(cfg.labels, { awa2Meta: cfg.awa2Meta, seed: cfg.seed });
}

/** Builds the model (pretrained when `cfg.weights` is set), the data in the model's preprocessing, and the recipe. */
export async function prepareRun(cfg: DeviseConfig, opts: { callbacks?: Callback[]; resume?: boolean } = {}): Promise<DeviseRun> {
  const t0 = Date.now();
  if (!cfg.weights) {
    console.warn(`WARNING: no pretrained ${cfg.arch} weights found (looked for DEVISE_WEIGHTS and ${pretrainedCandidates(cfg.arch).map(displayPath).join(', ') || 'models/pretrained/'}): training from RANDOM initialisation, ` +
      'so accuracy will be far below the paper. Fetch them with `npm run weights -- download ' + cfg.arch + '`.');
  }
  const classes = datasetClasses(cfg.data, cfg.split);
  const model = await createModel(cfg.arch, { head: 'classifier', classes: classes.length, weights: cfg.weights ?? undefined, inputSize: cfg.size, seed: cfg.seed });
  const data = await imageDataBunch({ root: cfg.data, size: cfg.size, bs: cfg.bs, validPct: cfg.validPct, seed: cfg.seed, preprocessing: model.preprocessing, classes, split: cfg.split });
  const source = await labelSourceOf(cfg);
  const labelVectors = source.embed(data.classes);
  const pca = new PcaSnapshots(pcaItems(data, cfg.pcaClasses), data);
  const e = cfg.epochs;
  // Resuming: finished phases are loaded from their checkpoints (the recipe's resume), and run.json keeps saying so.
  const phases: DeviseRun['phases'] = opts.resume ? readRunPhases(cfg.out) : {};
  let run: DeviseRun | undefined;
  const recipe = twoStageRecipe({
    onPhase: (name, status) => {
      phases[name] = status;
      if (run) writeRunState(run);
    },
    model,
    data,
    labelVectors,
    path: cfg.out,
    // Stage 1 and 2a train at the LR finder's suggestion (findLr) unless cfg.lr names a rate.
    stage1: { ...DEFAULT_PHASES.stage1, epochs: e.stage1, ...(cfg.lr.stage1 !== undefined && { lr: slice(cfg.lr.stage1) }) },
    stage1Unfrozen: { ...DEFAULT_PHASES.stage1Unfrozen, epochs: e.stage1Unfrozen },
    stage2a: { ...DEFAULT_PHASES.stage2a, epochs: e.stage2a, ...(cfg.lr.stage2a !== undefined && { lr: slice(cfg.lr.stage2a) }) },
    stage2b: { ...DEFAULT_PHASES.stage2b, epochs: e.stage2b },
    callbacks: [pca.callback, ...(opts.callbacks ?? [])],
    resume: opts.resume,
  });
  run = { cfg, data, source, labelVectors, recipe, pca, lr: {}, phases, seconds: { prepare: (Date.now() - t0) / 1000 } };
  writeRunState(run);
  return run;
}

/** The `phases` of an existing `<out>/run.json` ({} when there is none). */
function readRunPhases(out: string): DeviseRun['phases'] {
  try {
    return (JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as { phases?: DeviseRun['phases'] }).phases ?? {};
  } catch {
    return {};
  }
}

/** `<out>/run.json`: what this run is (the run-directory contract read by export, resume and the Quickstart). */
export function writeRunState(run: DeviseRun): void {
  const { cfg, data } = run;
  const state = {
    format: 'devise-ts-run-1', arch: cfg.arch, size: cfg.size, bs: cfg.bs, validPct: cfg.validPct, seed: cfg.seed, labels: run.source.name, data: cfg.data, split: cfg.split,
    classes: data.classes, testClasses: data.testClasses ?? [], preprocessing: data.preprocessing, lr: run.lr, phases: run.phases,
  };
  fs.mkdirSync(cfg.out, { recursive: true });
  writeFileAtomically(path.join(cfg.out, 'run.json'), JSON.stringify(state, null, 2) + '\n');
}

/** `<out>/labels.json`: every class (seen, then unseen) with its vector in the run's label space. */
export function writeLabelTable(run: DeviseRun, allClasses: string[]): void {
  const emb = run.source.embed(allClasses);
  const seen = new Set(run.data.classes);
  const table = { source: run.source.name, dim: emb.dim, classes: allClasses, seen: allClasses.map((c) => seen.has(c)), vectors: allClasses.map((_, i) => Array.from(emb.vectors.subarray(i * emb.dim, (i + 1) * emb.dim))) };
  writeFileAtomically(path.join(run.cfg.out, 'labels.json'), JSON.stringify(table) + '\n');
}

/** A learning rate a phase trained at: the user's, or the LR finder's suggestion. */
export interface ChosenLr {
  value: number;
  /** `user`: cfg.lr; `lr_find`: the finder's suggestion; `default`: the recipe's rate, because the finder's curve never fell. */
  from: 'user' | 'lr_find' | 'default';
  /** Which of the finder's rules gave it (`lr_find` only). */
  method?: 'min/10' | 'valley';
}

/**
 * fastai's `lr_find()` on the frozen model of `phase` (stage 1's classifier, or stage 2a's embedding model after
 * `toEmbedding`); weights restored afterwards. Unless cfg.lr names that phase's rate, the finder's suggestion
 * becomes the phase's maximum learning rate (the recipe's default when the curve never fell, said in `chosen`).
 */
export async function findLr(run: DeviseRun, phase: 'stage1' | 'stage2a' = 'stage1'): Promise<LrFindResult & { chosen: ChosenLr }> {
  if (phase === 'stage2a') run.recipe.toEmbedding();
  run.recipe.learner.freeze();
  const found = await run.recipe.learner.lrFind({ numIt: run.cfg.lrFindIterations });
  const user = run.cfg.lr[phase];
  const suggested = usableSuggestion(found);
  const chosen: ChosenLr = user !== undefined ? { value: user, from: 'user' } : suggested !== undefined ? { ...suggested, from: 'lr_find' } : { value: DEFAULT_PHASES[phase].lr.stop, from: 'default' };
  run.recipe.phases[phase] = { ...run.recipe.phases[phase], lr: slice(chosen.value) };
  run.lr[phase] = chosen;
  writeRunState(run);
  return { ...found, chosen };
}

/** Stage-1 results on the validation set: accuracy, confusion matrix, most confused pairs, top losses (with image paths). */
export async function interpretStage1(run: DeviseRun, k = 9): Promise<Interpretation & { topLossItems: (Interpretation['topLosses'][number] & { path: string })[] }> {
  const { preds, targets } = await run.recipe.learner.getPreds(run.data.valid);
  const probs = tf.tidy(() => tf.softmax(preds));
  const rows = (await probs.array()) as number[][];
  tf.dispose([preds, probs]);
  const result = interpret(rows, targets, run.data.classes, { k });
  const items = run.data.valid.items;
  return { ...result, topLossItems: result.topLosses.map((t) => ({ ...t, path: items[t.index]!.path })) };
}

/** Valid images of the PCA classes; the train images too when a class has fewer than 5 there (tiny sample sets). */
function pcaItems(data: DataBunch, classes: string[]): Item[] {
  const wanted = classes.filter((c) => data.classes.includes(c));
  return wanted.flatMap((c) => {
    const valid = data.valid.items.filter((it) => it.label === c);
    return valid.length >= 5 ? valid : [...valid, ...data.train.items.filter((it) => it.label === c)];
  });
}

/** Embeds a fixed set of images after every stage-2 epoch, one series per phase ('2a', '2b'), for the PCA animation. */
export class PcaSnapshots {
  readonly classes: string[];
  /** Index into `classes` of each snapshot row. */
  readonly labels: number[];
  readonly series: Record<string, Float32Array[][]> = {};
  private phase = '2a';
  private readonly loader: ImageLoader;

  constructor(readonly items: Item[], data: DataBunch) {
    this.classes = [...new Set(items.map((it) => it.label))];
    this.labels = items.map((it) => this.classes.indexOf(it.label));
    this.loader = new ImageLoader(items, { classes: data.classes, size: data.size, bs: data.batchSize, preprocessing: data.preprocessing });
  }

  /** Names the series the next epochs go to. */
  startPhase(name: string): void {
    this.phase = name;
  }

  readonly callback: Callback = {
    onEpochEnd: async (s) => {
      if (s.learner.model.head?.kind !== 'embedding' || this.items.length === 0) return;
      (this.series[this.phase] ??= []).push(takeRows((await s.learner.getPreds(this.loader)).preds));
    },
  };
}

/** The PCA snapshots with the class word vectors of the drawn classes (what the PCA figures need). */
export function pcaData(run: DeviseRun): { classes: string[]; labels: number[]; series: Record<string, Float32Array[][]>; classVectors: Float32Array[] } {
  const { dim, vectors, labels } = run.labelVectors;
  const classVectors = run.pca.classes.map((c) => vectors.slice(labels.indexOf(c) * dim, (labels.indexOf(c) + 1) * dim));
  return { classes: run.pca.classes, labels: run.pca.labels, series: run.pca.series, classVectors };
}

/** The rows of a [n, d] prediction tensor as typed arrays; disposes the tensor. */
function takeRows(preds: tf.Tensor2D): Float32Array[] {
  const flat = preds.dataSync() as Float32Array;
  const [n, dim] = preds.shape;
  preds.dispose();
  return Array.from({ length: n }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

/** Model outputs for `items` (no augmentation, center crop), as rows. */
export async function embedItems(run: DeviseRun, items: Item[], classes: string[]): Promise<Float32Array[]> {
  const loader = new ImageLoader(items, { classes, size: run.data.size, bs: run.data.batchSize, preprocessing: run.data.preprocessing });
  return takeRows((await run.recipe.learner.getPreds(loader)).preds);
}

/** The stage-2 search space: every image embedded, an image index, and a label index over seen + unseen classes. */
export interface SearchSpace {
  images: ImageIndex;
  labels: LabelIndex;
  /** Embeddings of the valid (seen) and test (unseen) images, with their items, for evaluation. */
  evalItems: Item[];
  evalEmbeddings: Float32Array[];
  allClasses: string[];
}

/** Embeds train, valid and test images, builds and saves both hnswlib indices under `<out>/search`. */
export async function buildSearch(run: DeviseRun): Promise<SearchSpace> {
  const { data } = run;
  const testItems = data.test?.items ?? [];
  const allClasses = [...data.classes, ...(data.testClasses ?? [])];
  const seen = await embedItems(run, [...data.train.items, ...data.valid.items], data.classes);
  const unseen = testItems.length ? await embedItems(run, testItems, data.testClasses!) : [];
  const items = [...data.train.items, ...data.valid.items, ...testItems];
  const images = new ImageIndex(seen[0]!.length);
  images.add([...seen, ...unseen].map((r) => Array.from(r)), items.map((it) => ({ label: it.label, path: it.path })));
  const labels = LabelIndex.fromSource(run.source, allClasses);
  images.save(path.join(run.cfg.out, 'search', 'images'));
  labels.save(path.join(run.cfg.out, 'search', 'labels'));
  writeLabelTable(run, allClasses);
  const nTrain = data.train.items.length;
  return { images, labels, evalItems: [...data.valid.items, ...testItems], evalEmbeddings: [...seen.slice(nTrain), ...unseen], allClasses };
}

/** Nearest-label evaluation: seen top-1/top-5, zero-shot per-class top-1 on unseen classes, GZSL s/u/H, hp@k. */
export function zeroShotEvaluation(run: DeviseRun, space: SearchSpace): MetricRow[] {
  const { data } = run;
  let hops: number[][] | undefined;
  try {
    hops = hopMatrix(space.allClasses, AWA2_WORDNET);
  } catch {
    hops = undefined; // classes outside WordNet's mammals (e.g. CIFAR-10): no hierarchical precision
  }
  return evaluate({
    embeddings: space.evalEmbeddings.map((r) => Array.from(r)),
    actual: space.evalItems.map((it) => it.label),
    classes: run.source.embed(space.allClasses),
    seen: data.classes,
    unseen: data.testClasses,
    hops,
  });
}

/** The three searches of the paper on one example each: image→image, image→text, text→image (an unseen word). */
export function searchExamples(run: DeviseRun, space: SearchSpace, k = 5): { queryPath: string; word: string; imageToImage: SearchHit[]; imageToText: SearchHit[]; textToImage: SearchHit[] } {
  const queryIndex = run.data.train.items.length + run.data.valid.items.length; // the first unseen-class image, if any
  const id = Math.min(queryIndex, space.images.size - 1);
  const word = run.data.testClasses?.[0] ?? run.data.classes[0]!;
  return {
    queryPath: space.images.rows[id]!.path!,
    word,
    imageToImage: space.images.imageToImage(id, k + 1).filter((h) => h.id !== id).slice(0, k),
    imageToText: space.images.imageToText(id, space.labels, k),
    textToImage: space.images.textToImage(word, run.source, k),
  };
}

/** Parameters and fp32 MB of SqueezeNet 1.1 and ResNet34, each with the run's 300-d embedding head. */
export async function modelSizes(dim: number): Promise<{ name: string; sizeMB: number; params: number }[]> {
  const out: { name: string; sizeMB: number; params: number }[] = [];
  for (const arch of ['squeezenet1_1', 'resnet34'] as const) {
    const m: CnnModel = await createModel(arch, { head: 'embedding', dim, inputSize: 64 });
    const s = modelSummary(m);
    out.push({ name: arch, sizeMB: s.sizeMB, params: s.params });
    m.model.dispose();
  }
  return out;
}

/** A small JPEG data URI of an image file (for top-loss grids and search strips). */
export async function thumbnail(file: string, size = 96): Promise<string> {
  return dataUri(await sharp(file).rotate().resize(size, size, { fit: 'cover' }).jpeg({ quality: 80 }).toBuffer());
}

/** fastai's `show_batch`: `n` training images with seeded default augmentation, as an HTML grid with labels. */
export async function batchPreview(run: DeviseRun, n = 8, seed = run.cfg.seed): Promise<string> {
  const rng = new Rng(seed);
  const tfms = getTransforms();
  const items = run.data.train.items;
  // Evenly spaced over the (class-ordered) items, so the preview shows several classes.
  const picked = Array.from({ length: Math.min(n, items.length) }, (_, i) => items[Math.floor((i * items.length) / Math.min(n, items.length))]!);
  const cells = await Promise.all(picked.map(async (it) => {
    const img = await decodeImage(it.path, run.data.size);
    const rgb = applyTransforms(img, run.data.size, sampleParams(rng, tfms));
    const png = await sharp(Buffer.from(rgb), { raw: { width: run.data.size, height: run.data.size, channels: 3 } }).png().toBuffer();
    return `<figure style="display:inline-block;margin:4px;text-align:center"><img src="data:image/png;base64,${png.toString('base64')}" width="128" height="128"><figcaption>${displayLabel(it.label)}</figcaption></figure>`;
  }));
  return `<div>${cells.join('')}</div>`;
}

const displayLabel = (label: string) => label.replace(/\+/g, ' ');

/**
 * The class-activation heatmap (fastai lesson 6: mean activation of the last conv block) of the current model
 * for one image, overlaid on it; PNG bytes and what the model predicted.
 */
export async function heatmap(run: DeviseRun, item: Item, method: 'mean' | 'gradcam' = 'mean'): Promise<{ png: Buffer; predicted: string; actual: string }> {
  const size = run.data.size;
  const rgb = applyTransforms(await decodeImage(item.path, size), size, CENTER);
  const pixels = new Float32Array(size * size * 3);
  normalizeInto(rgb, pixels, 0, run.data.preprocessing);
  const model = run.recipe.learner.model as CnnModel;
  const x = tf.tensor3d(pixels, [size, size, 3]);
  const cam = classActivationMap(model.model, bodyOutputLayer(model), x, { method });
  x.dispose();
  const image = await sharp(Buffer.from(rgb), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
  return { png: await camOverlay(image, cam.heat), predicted: run.data.classes[cam.classIndex ?? 0]!, actual: item.label };
}
