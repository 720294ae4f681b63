/**
 * fastai v1's vision API (1.0.33 semantics, TypeScript names): an image data bunch that shows its batches,
 * `cnnLearner` (a pretrained body + fastai head + Learner), prediction on a file, export/load for inference,
 * and the DeViSE step: swap the classifier for an embedding head regressing the label vectors.
 *
 *   const data = await ImageDataBunch.fromFolder('data_samples', { size: 224, bs: 16 });
 *   await data.showBatch({ rows: 3 });
 *   const learn = await cnnLearner(data, 'squeezenet1_1', { metrics: [accuracy] });
 *   await learn.lrFind();  const lr = await learn.recorder.plotLr();
 *   await learn.fitOneCycle(4, lr);  await learn.save('stage-1');
 *   learn.unfreeze();  await learn.fitOneCycle(2, slice(1e-6, 1e-4));
 *   await learn.predict('my-photo.jpg');            // {label, probability, ...}
 *   learn.toEmbedding(labelVectors);                 // stage 2: cosine loss against the class word vectors
 *   await learn.export('models/sq');  const inf = await loadLearner('models/sq');
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { takeRows, tf } from '../backend/index';
import { applyTransforms, type AugmentOptions, CENTER, decodeImage, getTransforms, sampleParams } from '../data/augment';
import type { Awa2SplitName } from '../data/awa2';
import { type DataBunch, datasetClasses, ImageLoader, imageDataBunch } from '../data/loader';
import { Rng } from '../data/rng';
import { DEFAULTS } from '../defaults';
import { escapeHtml } from '../html';
import { pkTrainLoader } from '../data/sampler';
import { cosineLoss, hingeRankLoss, hybridLoss, l2Normalize, type Loss, crossEntropy, tripletLoss, type TripletMining } from '../losses';
import { type Arch, type CnnModel, createModel, loadModel, saveModel, swapHead } from '../models/index';
import { show } from '../plots/display';
import { IMAGENET, normalizeInto, type Preprocessing } from '../preprocessing';
import { findPretrained } from '../settings';
import type { Item } from '../data/items';
import { knnClassifier, type KnnResult } from './knn';
import { Learner, type LearnerOptions } from './learner';
import { accuracy, type Metric, nearestLabelAccuracy } from './metrics';
import type { TrainLoader } from './types';

/** Options of {@link ImageDataBunch.fromFolder} (fastai `ImageDataBunch.from_folder`). */
export interface DataBunchOptions {
  size?: number;
  bs?: number;
  /** The share of the training images held out for validation (default 0.1, as fastai's `valid_pct`). */
  validPct?: number;
  /** Training augmentation, fastai's `ds_tfms=get_transforms(...)`: `getTransforms({ maxRotate: 20 })`; false = none. Default `getTransforms()`. */
  dsTfms?: AugmentOptions | false;
  seed?: number;
  /** Only these classes (default: every class folder, or AWA2's trainclasses.txt). */
  classes?: string[];
  /** AWA2 roots: the zero-shot split, 'standard' (the dataset's) or 'proposed' (Xian et al.). */
  split?: Awa2SplitName;
  /** The normalisation; cnnLearner replaces it with its weights' own (`normalize`). Default ImageNet mean/std. */
  preprocessing?: Preprocessing;
  /** Leave out class folders with no readable image (with a warning) instead of stopping. */
  skipEmpty?: boolean;
  /** At most this many images per class (the first in path order; the split is made within them): a quick run on big data. */
  perClass?: number;
  /** Where warnings go (default console.warn). */
  onWarning?: (message: string) => void;
}

/** fastai's `imagenet_stats`, for `data.normalize(imagenetStats)`. */
export const imagenetStats: Preprocessing = IMAGENET;

/**
 * fastai's `ImageDataBunch`: train/valid (and the unseen-class test) loaders over a folder-per-class root or
 * an AWA2 root, with fastai's `get_transforms()` augmentation on train. It is a `DataBunch`.
 */
export class ImageDataBunch implements DataBunch {
  private constructor(private bunch: DataBunch, readonly root: string, private readonly opts: DataBunchOptions) {}

  /** Reads the dataset's layout (no image is decoded until a batch is asked for). */
  static async fromFolder(root: string, opts: DataBunchOptions = {}): Promise<ImageDataBunch> {
    const withClasses = { ...opts, classes: opts.classes ?? datasetClasses(root, opts.split, { skipEmpty: opts.skipEmpty }) };
    return new ImageDataBunch(await ImageDataBunch.load(root, withClasses, opts.preprocessing ?? IMAGENET), root, withClasses);
  }

  /** The loaders of `root` with these options and normalisation (the defaults from lib/defaults.ts). */
  private static load(root: string, opts: DataBunchOptions, preprocessing: Preprocessing): Promise<DataBunch> {
    return imageDataBunch({
      root, split: opts.split, size: opts.size ?? DEFAULTS.data.size, bs: opts.bs ?? DEFAULTS.data.bs, validPct: opts.validPct ?? DEFAULTS.data.validPct,
      seed: opts.seed ?? DEFAULTS.data.seed, preprocessing, classes: opts.classes, augment: opts.dsTfms ?? true, skipEmpty: opts.skipEmpty, perClass: opts.perClass, onWarning: opts.onWarning,
    });
  }

  get classes(): string[] { return this.bunch.classes; }
  get train(): DataBunch['train'] { return this.bunch.train; }
  get valid(): DataBunch['valid'] { return this.bunch.valid; }
  get test(): DataBunch['test'] { return this.bunch.test; }
  get testClasses(): string[] | undefined { return this.bunch.testClasses; }
  get size(): number { return this.bunch.size; }
  get batchSize(): number { return this.bunch.batchSize; }
  get preprocessing(): Preprocessing { return this.bunch.preprocessing; }
  /** Files left out because they cannot be read (each reported once, by path, when the bunch was built). */
  get unreadable(): DataBunch['unreadable'] { return this.bunch.unreadable; }
  get seed(): number { return this.opts.seed ?? DEFAULTS.data.seed; }

  /** The statistics a user asked for with `normalize(stats)` (cnnLearner checks them against the weights'). */
  userStats: Preprocessing | undefined;

  /**
   * Normalises with `prep` from now on (fastai `.normalize(imagenetStats)`). cnnLearner normalises as its weights
   * expect; it refuses, with a message, statistics asked for here that differ from those.
   */
  async normalize(prep: Preprocessing = IMAGENET): Promise<this> {
    this.userStats = prep;
    return this.renormalize(prep);
  }

  /** Rebuilds the loaders with `prep` (same split, classes and augmentation). */
  private async renormalize(prep: Preprocessing): Promise<this> {
    if (JSON.stringify(prep) === JSON.stringify(this.bunch.preprocessing)) return this;
    this.bunch = await ImageDataBunch.load(this.root, this.opts, prep);
    return this;
  }

  /** Normalises as a model's weights expect (cnnLearner); statistics the user chose that differ are refused. */
  async normalizeFor(prep: Preprocessing, arch: string): Promise<this> {
    if (this.userStats && JSON.stringify(this.userStats) !== JSON.stringify(prep)) {
      throw new Error(`data.normalize(${JSON.stringify(this.userStats)}) differs from what the ${arch} weights expect (${JSON.stringify(prep)}); cnnLearner normalises the data for its weights, so drop the normalize() call (or call normalize() with these statistics).`);
    }
    return this.renormalize(prep);
  }

  /** Every item (train, valid, test) with its split. */
  get items(): DataBunch['train']['items'] {
    return [...this.train.items, ...this.valid.items, ...(this.test?.items ?? [])];
  }

  /** Image counts per class and split, as rows (show them with `show`). */
  counts(): Record<string, string | number>[] {
    const splits = [['train', this.train.items], ['valid', this.valid.items], ['test', this.test?.items ?? []]] as const;
    const labels = [...new Set(this.items.map((it) => it.label))];
    return labels.map((label) => {
      const row: Record<string, string | number> = { class: label.replace(/\+/g, ' ') };
      for (const [name, items] of splits) if (items.length) row[name] = items.filter((it) => it.label === label).length;
      return row;
    });
  }

  /** HTML grid of `rows × rows` training images with seeded default augmentation and their labels (fastai `show_batch`). */
  async batchHtml(opts: { rows?: number; seed?: number } = {}): Promise<string> {
    const n = (opts.rows ?? 3) ** 2;
    const rng = new Rng(opts.seed ?? this.seed);
    const tfms = getTransforms(this.opts.dsTfms || {});
    const items = this.train.items;
    const k = Math.min(n, items.length);
    // Evenly spaced over the (class-ordered) items, so the grid shows several classes.
    const picked = Array.from({ length: k }, (_, i) => items[Math.floor((i * items.length) / k)]!);
    const cells = await Promise.all(picked.map(async (it) => {
      const img = await decodeImage(it.path, this.size);
      const rgb = applyTransforms(img, this.size, sampleParams(rng, tfms));
      const jpeg = await sharp(Buffer.from(rgb), { raw: { width: this.size, height: this.size, channels: 3 } }).resize(128, 128).jpeg({ quality: 80 }).toBuffer();
      return `<figure style="display:inline-block;margin:4px;text-align:center"><img src="data:image/jpeg;base64,${jpeg.toString('base64')}" width="128" height="128"><figcaption>${escapeHtml(it.label.replace(/\+/g, ' '))}</figcaption></figure>`;
    }));
    return `<div style="max-width:${(opts.rows ?? 3) * 140}px">${cells.join('')}</div>`;
  }

  /** Displays {@link batchHtml}. */
  async showBatch(opts: { rows?: number; seed?: number } = {}): Promise<void> {
    await show(await this.batchHtml(opts));
  }
}

/** What `data` a VisionLearner needs beyond training: the image size and normalisation (for predict). */
export type VisionData = LearnerOptions['data'] & Partial<Pick<DataBunch, 'size' | 'preprocessing' | 'test' | 'testClasses' | 'batchSize'>>;

/** The fields of a VisionData as a plain object (an ImageDataBunch keeps them behind getters, which a spread drops). */
function dataFields(d: VisionData): VisionData {
  return { classes: d.classes, train: d.train, valid: d.valid, test: d.test, testClasses: d.testClasses, size: d.size, preprocessing: d.preprocessing, batchSize: d.batchSize };
}

/** Class vectors of a label space: row i is the vector of `data.classes[i]`. */
export type ClassVectors = { vectors: Float32Array; dim: number } | number[][];

/** Rows of a class-vector table. */
export function vectorRows(v: ClassVectors): number[][] {
  if (Array.isArray(v)) return v;
  return Array.from({ length: v.vectors.length / v.dim }, (_, i) => Array.from(v.vectors.subarray(i * v.dim, (i + 1) * v.dim)));
}

/** Options of {@link VisionLearner.toEmbedding}. */
export interface EmbeddingOptions {
  /**
   * 'cosine' (the original notebooks, default), 'hinge' (the DeViSE paper's rank loss), 'triplet' (FaceNet: images of a
   * class together, no label vectors; evaluate with knnClassifier — no zero-shot) or 'hybrid' (cosine + tripletWeight × triplet).
   */
  loss?: 'cosine' | 'hinge' | 'triplet' | 'hybrid';
  /** Hinge margin (default 0.1) or triplet margin (default 0.2). */
  margin?: number;
  /** Triplet mining (triplet, hybrid): 'semihard' (default), 'hard' or 'all'. */
  mining?: TripletMining;
  /** Weight of the triplet term in 'hybrid' (default 1). */
  tripletWeight?: number;
  /** P classes × K images per batch; default for triplet and hybrid on image data: K = 4, P = batch size / 4. */
  pk?: { p: number; k: number };
  /** Keep stage 1's hidden head layers (BN + Dense 512) in the embedding head (default true). */
  keepHidden?: boolean;
}

/** A prediction for one image: the best class (classifier) or the nearest class vectors (embedding head). */
export interface Prediction {
  label: string;
  index: number;
  /** Softmax probability (classifier) or cosine similarity (embedding) of `label`. */
  score: number;
  /** The k best classes with their scores. */
  top: { label: string; score: number }[];
}

/** A Learner over a CnnModel and image data: fastai's vision learner. */
export class VisionLearner extends Learner {
  declare model: CnnModel;
  declare data: VisionData;
  /** The class vectors of the embedding head (set by toEmbedding). */
  classVectors?: number[][];
  /** The classifier's loss, metrics and data that toEmbedding replaced: loading a classifier model brings them back. */
  private classifierSetup?: { loss: Loss; metrics: Metric[]; data: VisionData };

  /** Stage 2 (DeViSE): swaps the classifier for an embedding head of the label vectors' dimension, with the cosine, hinge, triplet or hybrid loss (and a P×K loader with `pk`). Keeps the body and hidden head layers. */
  toEmbedding(labelVectors: ClassVectors, opts: EmbeddingOptions = {}): this {
    const rows = vectorRows(labelVectors);
    const n = this.data.classes.length;
    if (rows.length !== n) throw new Error(`labelVectors has ${rows.length} rows but the data has ${n} classes; embed data.classes in order.`);
    const old = this.model;
    if (old.head.kind === 'classifier') this.classifierSetup = { loss: this.loss, metrics: this.metrics, data: this.data };
    if (old.head.kind !== 'embedding' || old.head.units !== rows[0]!.length) {
      this.model = swapHead(old, { kind: 'embedding', units: rows[0]!.length, keepHidden: opts.keepHidden ?? true });
      old.model.dispose();
    }
    const vectors = tf.tensor2d(rows);
    const triplet = { margin: opts.margin ?? 0.2, mining: opts.mining };
    const losses = {
      cosine: () => cosineLoss(vectors),
      hinge: () => hingeRankLoss(vectors, opts.margin ?? 0.1),
      triplet: () => tripletLoss(triplet),
      hybrid: () => hybridLoss(vectors, { ...triplet, tripletWeight: opts.tripletWeight }),
    };
    const make = losses[opts.loss ?? 'cosine'];
    if (!make) throw new Error(`toEmbedding: loss must be one of ${Object.keys(losses).join(', ')}, got '${opts.loss}'.`);
    this.loss = make();
    // A triplet embedding is not tied to the label vectors (they only set its dimension): nearest-label accuracy means nothing.
    this.metrics = opts.loss === 'triplet' ? [] : [nearestLabelAccuracy(vectors, 1), nearestLabelAccuracy(vectors, 5)];
    const items = (this.data.train as Partial<DataBunch['train']>).items;
    // Triplet terms need positives in every batch: image data gets P×K batches (K = 4, FaceNet-style) unless told otherwise.
    const needsPK = opts.loss === 'triplet' || opts.loss === 'hybrid';
    const pk = opts.pk ?? (needsPK && items ? { k: 4, p: Math.min(n, Math.max(2, Math.round((this.data.batchSize ?? DEFAULTS.data.bs) / 4))) } : undefined);
    if (pk) {
      if (!items) throw new Error('toEmbedding: pk needs image data (an ImageDataBunch) whose training items it can regroup.');
      const fields = dataFields(this.data);
      this.data = { ...fields, train: pkTrainLoader({ ...fields, train: { items }, seed: (this.data as { seed?: number }).seed }, pk) };
    }
    vectors.dispose();
    this.classVectors = rows;
    this.opt.reset();
    return this;
  }

  /**
   * Replaces the model with one `saveModel` wrote (e.g. the stage-1 classifier), the old one disposed: a rerun of
   * the stage-2 cell starts from stage 1 again instead of saving the embedding model under stage 1's name. A
   * classifier loaded after toEmbedding gets the classifier's loss, metrics and data back (a rerun of stage 1).
   */
  async loadModel(dir: string): Promise<this> {
    const old = this.model;
    this.model = await loadModel(dir);
    if (old !== this.model) old.model.dispose();
    if (this.model.head.kind === 'classifier' && this.classifierSetup) {
      ({ loss: this.loss, metrics: this.metrics, data: this.data } = this.classifierSetup);
      this.classVectors = undefined;
    }
    this.opt.reset();
    return this;
  }

  /** Nearest-label top-1/top-5 and cosine loss of the embedding model on the validation set. */
  async evaluateEmbedding(): Promise<{ top1: number; top5: number; cosineLoss: number }> {
    if (!this.classVectors) throw new Error('evaluateEmbedding needs the embedding head: call toEmbedding(labelVectors) first.');
    const saved = { loss: this.loss, metrics: this.metrics };
    const vectors = tf.tensor2d(this.classVectors);
    this.loss = cosineLoss(vectors);
    this.metrics = [nearestLabelAccuracy(vectors, 1), nearestLabelAccuracy(vectors, 5)];
    vectors.dispose();
    try {
      const v = await this.validate();
      return { top1: v.metrics.nearestLabelAccuracy!, top5: v.metrics.nearestLabelTop5!, cosineLoss: v.loss };
    } finally {
      Object.assign(this, saved);
    }
  }

  /** kNN accuracy (cosine, `k` neighbours) of the validation images against the training images' embeddings: how a triplet embedding is judged. */
  async evaluateKnn(k = 5): Promise<KnnResult> {
    const train = (this.data.train as Partial<DataBunch['train']>).items;
    const valid = (this.data.valid as Partial<DataBunch['valid']>).items;
    if (!train?.length || !valid?.length) throw new Error('evaluateKnn needs image data with training and validation images (an ImageDataBunch).');
    const index = new Map(this.data.classes.map((c, i) => [c, i]));
    const rows = async (items: Item[]) => ({ embeddings: await embedImages(this, items, this.data.classes), labels: items.map((it) => index.get(it.label)!) });
    return knnClassifier(k)(await rows(train), await rows(valid));
  }

  /** The model's input for one image file: center crop at the data's size, the model's normalisation. */
  async imageTensor(file: string): Promise<tf.Tensor4D> {
    const size = this.data.size ?? this.model.inputSize;
    const rgb = applyTransforms(await decodeImage(file, size), size, CENTER);
    const pixels = new Float32Array(size * size * 3);
    normalizeInto(rgb, pixels, 0, this.model.preprocessing);
    return tf.tensor4d(pixels, [1, size, size, 3]);
  }

  /** The raw model output for one image file (logits, or the embedding vector). */
  async output(file: string): Promise<Float32Array> {
    const x = await this.imageTensor(file);
    const y = tf.tidy(() => this.model.model.apply(x, { training: false }) as tf.Tensor);
    const out = y.dataSync() as Float32Array;
    tf.dispose([x, y]);
    return out;
  }

  /** fastai `learn.predict(img)` on an image file: the best class and the `k` best (nearest class vectors for an embedding head). */
  async predict(file: string, opts: { k?: number } = {}): Promise<Prediction> {
    if (!fs.existsSync(file)) throw new Error(`predict: no image at ${file}`);
    const out = await this.output(file);
    let scores: number[];
    if (this.model.head.kind === 'embedding') {
      if (!this.classVectors) throw new Error('predict on an embedding head needs its class vectors: call toEmbedding(labelVectors) (or loadLearner an exported one).');
      scores = tf.tidy(() => Array.from(tf.matMul(l2Normalize(tf.tensor2d([Array.from(out)])), l2Normalize(tf.tensor2d(this.classVectors!)), false, true).dataSync()));
    } else {
      scores = tf.tidy(() => Array.from(tf.softmax(tf.tensor1d(out)).dataSync()));
    }
    const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
    const top = order.slice(0, opts.k ?? 5).map((i) => ({ label: this.data.classes[i]!, score: scores[i]! }));
    return { label: top[0]!.label, index: order[0]!, score: top[0]!.score, top };
  }

  /** fastai `learn.export()`: the model and what inference needs (classes, class vectors) in `dir`; read back with {@link loadLearner}. */
  async export(dir: string): Promise<string> {
    await saveModel(this.model, dir);
    const meta = { format: 'devise-ts-learner-1', classes: this.data.classes, size: this.data.size ?? this.model.inputSize, lossName: this.loss.lossName, classVectors: this.classVectors ?? null };
    fs.writeFileSync(path.join(dir, 'learner.json.tmp'), JSON.stringify(meta));
    fs.renameSync(path.join(dir, 'learner.json.tmp'), path.join(dir, 'learner.json'));
    return dir;
  }
}

const emptyLoader = (): TrainLoader & { items: [] } => ({ length: 0, items: [], setEpoch() {}, async *[Symbol.asyncIterator]() {} });

/** fastai `load_learner`: a VisionLearner for inference (predict, output) from a folder written by `export`. */
export async function loadLearner(dir: string): Promise<VisionLearner> {
  const metaFile = path.join(dir, 'learner.json');
  if (!fs.existsSync(metaFile)) throw new Error(`No exported learner in ${dir} (learner.json missing); write one with learn.export('${dir}').`);
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { classes: string[]; size: number; classVectors: number[][] | null };
  const model = await loadModel(dir);
  const learn = new VisionLearner({ model, data: { classes: meta.classes, size: meta.size, preprocessing: model.preprocessing, train: emptyLoader(), valid: emptyLoader() } as VisionData, loss: crossEntropy, progress: 'none' });
  if (meta.classVectors) learn.toEmbedding(meta.classVectors);
  return learn;
}

const warnedRandom = new Set<string>();

/** Options of {@link cnnLearner}. */
export interface CnnLearnerOptions extends Omit<LearnerOptions, 'model' | 'data' | 'loss'> {
  /** Weight file (.pth / .h5 / TF.js folder); default: the downloaded or shipped pretrained file; null = random init. */
  weights?: string | null;
  loss?: Loss;
  seed?: number;
}

/**
 * fastai `cnn_learner(data, arch, metrics=...)`: the architecture's pretrained body with fastai's classifier
 * head for `data.classes`, frozen (only the head and BatchNorm train), data normalised as the weights expect.
 */
export async function cnnLearner(data: ImageDataBunch | VisionData, arch: Arch, opts: CnnLearnerOptions = {}): Promise<VisionLearner> {
  const weights = opts.weights === undefined ? findPretrained(arch) : opts.weights;
  if (!weights && !warnedRandom.has(arch)) {
    warnedRandom.add(arch); // once per architecture and process (a grid search builds many learners)
    console.warn(opts.weights === null
      ? `WARNING: weights none: the ${arch} body starts from RANDOM weights, so accuracy will be far below the paper's.`
      : `WARNING: no pretrained ${arch} weights: the body starts from RANDOM weights. Fetch them with \`npm run weights -- download ${arch}\`.`);
  }
  const model = await createModel(arch, { head: 'classifier', classes: data.classes.length, weights: weights ?? undefined, inputSize: data.size, seed: opts.seed });
  if (data instanceof ImageDataBunch) await data.normalizeFor(model.preprocessing, arch);
  const { weights: _w, seed: _s, loss, ...rest } = opts;
  const learn = new VisionLearner({ ...rest, model, data, loss: loss ?? crossEntropy, metrics: opts.metrics ?? [accuracy] });
  learn.freeze();
  return learn;
}

/**
 * Model outputs (rows) for image items, center-cropped, in the learner's normalisation. An image that fails to decode
 * (damaged mid-file) yields no row and leaves `items` in place (reported once by path), so rows and items agree.
 */
export async function embedImages(learn: VisionLearner, items: DataBunch['train']['items'], classes: string[]): Promise<Float32Array[]> {
  const size = learn.data.size ?? learn.model.inputSize;
  const loader = new ImageLoader(items, { classes, size, bs: learn.data.batchSize ?? DEFAULTS.data.bs, preprocessing: learn.model.preprocessing });
  return takeRows((await learn.getPreds(loader, { logits: true })).preds);
}
