/**
 * Which embedding objective? One comparison of cosine, DeViSE's hinge rank, triplet (FaceNet, judged by kNN), the hybrid,
 * ESZSL and ALE on the same frozen backbone features (issue 24): the features are computed once, then every objective
 * trains on the same split, label vectors, P×K batch order and epochs, per seed.
 *
 *   const set = await cacheFeatures({ root: '../shared/data/tiny-imagenet-awa2', weights: 'sq.h5', perClass: 150, size: 64 });
 *   const cmp = await compareObjectives(set, { seeds: 3, epochs: 10 });
 *   cmp.objectives.triplet.seenTop1;  console.log(cmp.table);
 *
 * Per objective: seen top-1 (nearest label, or kNN for triplet: `seenTop1Method`), zero-shot per-class top-1 (unseen
 * images among unseen labels), calibrated GZSL H (γ from seen validation images) and AUSUC, image→image recall@1/@5 and
 * mAP (leave-one-out over all test images, seen and unseen), training seconds; mean and sample sd over seeds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { takeRows, tf } from './backend/index';
import { readAwa2 } from './data/awa2';
import { firstPerClass, type Item, listDirs, listImages } from './data/items';
import { type DataBunch, ImageLoader } from './data/loader';
import { pkBatches } from './data/sampler';
import { cosineLoss, hingeRankLoss, hybridLoss, type Loss, tripletLoss } from './losses';
import { cosineScores, perClassMeanAccuracy } from './metrics';
import { bodyOutputLayer, type CnnModel, createModel, loadModel } from './models/index';
import type { Preprocessing } from './preprocessing';
import { fitFrozenClassifier, imageRetrieval, knnClassifier } from './train/knn';
import type { LabelSource } from './vectors/labels';
import { labelSource } from './vectors/sources';
import { zeroShot } from './zeroshot';
import { ale, ALE_AWA2, ALE_GRID, chooseOnHeldOutClasses, type Compatibility, ESZSL_AWA2, ESZSL_GRID, eszsl } from './zeroshot-baselines';

/** The objectives compared, in the order of the table. */
export const OBJECTIVES = ['cosine', 'hinge', 'triplet', 'hybrid', 'eszsl', 'ale'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** Photos of labels the objectives never trained on (the unseen classes plus extra words), for open-vocabulary zero-shot. */
export interface OpenVocabularySet {
  /** The label source the vectors (and the set's own `vectors`) come from. */
  source: string;
  /** The unseen classes of the set first, then the extra labels. */
  classes: string[];
  features: Float32Array[];
  /** Index into `classes` per row of `features`. */
  labels: number[];
  /** One row per class of `classes`. */
  vectors: number[][];
}

/** Cached backbone features of a seen/unseen photo set. */
export interface FeatureSet {
  classes: string[];
  seen: number[];
  unseen: number[];
  features: Float32Array[];
  labels: number[];
  split: ('train' | 'valid' | 'test')[];
  /** One row per class of `classes`: the label vectors. */
  vectors: number[][];
  featureSeconds: number;
  /** Open vocabulary: absent when not asked for. */
  openVocabulary?: OpenVocabularySet;
}

/** The frozen backbone the features come from: the body's last feature map, and the preprocessing its weights expect. */
export interface FeatureExtractor {
  body: tf.LayersModel;
  preprocessing: Preprocessing;
}

/** A trained model's body (its layers up to the body's output, weights shared, not copied) as a feature extractor. */
export function featureExtractorOf(m: CnnModel): FeatureExtractor {
  return { body: tf.model({ inputs: m.model.inputs, outputs: m.model.getLayer(bodyOutputLayer(m)).output as tf.SymbolicTensor }), preprocessing: m.preprocessing };
}

/** One row per photo (file order): the average and the max of the body's last feature map, concatenated (fastai's AdaptiveConcatPool). */
export async function poolFeatures(extractor: FeatureExtractor, items: Item[], opts: { classes: string[]; size: number }): Promise<Float32Array[]> {
  const loader = new ImageLoader(items, { classes: opts.classes, size: opts.size, bs: 64, preprocessing: extractor.preprocessing });
  const features: Float32Array[] = [];
  for await (const b of loader) {
    const f = tf.tidy(() => {
      const map = extractor.body.apply(b.x, { training: false }) as tf.Tensor4D;
      return tf.concat([tf.mean(map, [1, 2]), tf.max(map, [1, 2])], 1);
    });
    features.push(...takeRows(f as tf.Tensor2D));
    tf.dispose([b.x, b.y]);
  }
  if (features.length !== items.length) throw new Error(`objectives: ${items.length - features.length} photos could not be read.`);
  return features;
}

/** Rows of a label source's vectors for `classes` (throws naming the classes it lacks). */
function vectorsOf(source: LabelSource, classes: string[]): number[][] {
  const emb = source.embed(classes);
  return classes.map((_, i) => Array.from(emb.vectors.subarray(i * emb.dim, (i + 1) * emb.dim)));
}

/** Where the open-vocabulary photos come from: a folder per extra label (e.g. ../shared/data/tiny-imagenet-animals), the first `perClass` of each. */
export interface OpenVocabularyOptions {
  root: string;
  perClass?: number;
}

/** Adds the open-vocabulary part to a set: the extra photos' features and every vector from `source` (which must know all the words). */
async function withOpenVocabulary(set: FeatureSet, extractor: FeatureExtractor, source: LabelSource, opts: OpenVocabularyOptions, size: number): Promise<FeatureSet> {
  const all = listDirs(opts.root).flatMap((label) => listImages(path.join(opts.root, label)).map((f) => ({ path: path.join(opts.root, label, f), label, split: 'test' as const })));
  const items = opts.perClass ? firstPerClass(all, opts.perClass) : all;
  if (!items.length) throw new Error(`objectives: ${opts.root} holds no folder of photos (one folder per word, e.g. koala/*.jpg).`);
  const classes = [...set.unseen.map((c) => set.classes[c]!), ...new Set(items.map((it) => it.label))];
  const index = new Map(classes.map((c, i) => [c, i]));
  const unseenRows = set.features.flatMap((f, i) => (set.split[i] === 'test' && set.unseen.includes(set.labels[i]!) ? [i] : []));
  const extraFeatures = await poolFeatures(extractor, items, { classes, size });
  return {
    ...set,
    openVocabulary: {
      source: source.name,
      classes,
      features: [...unseenRows.map((i) => set.features[i]!), ...extraFeatures],
      labels: [...unseenRows.map((i) => index.get(set.classes[set.labels[i]!]!)!), ...items.map((it) => index.get(it.label)!)],
      vectors: vectorsOf(source, classes),
    },
  };
}

/**
 * Reads `perClass` photos of every class of an AWA2 root (first by file name), splits seen classes 60/20/20 and runs the
 * frozen ImageNet SqueezeNet 1.1 once; `labels` names the label source (default word2vec), `openVocabulary` adds the
 * extra photos of a folder per word.
 */
export async function cacheFeatures(opts: { root: string; weights: string; perClass: number; size: number; labels?: string; openVocabulary?: OpenVocabularyOptions }): Promise<FeatureSet> {
  for (const p of [opts.root, opts.weights, ...(opts.openVocabulary ? [opts.openVocabulary.root] : [])]) if (!fs.existsSync(p)) throw new Error(`objectives: ${p} does not exist (pass --data <AWA2 root> / --weights <SqueezeNet 1.1 file> / --animals <folder per word>).`);
  const awa = readAwa2(opts.root, { onWarning: () => {} });
  const classes = [...awa.trainClasses, ...awa.testClasses];
  const seen = awa.trainClasses.map((_, i) => i);
  const unseen = awa.testClasses.map((_, i) => awa.trainClasses.length + i);
  const items: Item[] = [];
  const labels: number[] = [];
  const split: FeatureSet['split'] = [];
  classes.forEach((c, ci) => {
    const mine = awa.items.filter((it) => it.label === c).sort((a, b) => a.path.localeCompare(b.path)).slice(0, opts.perClass);
    if (mine.length < 5) throw new Error(`objectives: class '${c}' has ${mine.length} photos in ${opts.root}; need at least 5.`);
    mine.forEach((it, j) => {
      items.push(it);
      labels.push(ci);
      split.push(ci >= awa.trainClasses.length ? 'test' : j < 0.6 * mine.length ? 'train' : j < 0.8 * mine.length ? 'valid' : 'test');
    });
  });
  const source = await labelSource(opts.labels ?? 'word2vec');
  const vectors = vectorsOf(source, classes);
  const model = await createModel('squeezenet1_1', { head: 'none', weights: opts.weights, inputSize: opts.size });
  try {
    const extractor = { body: model.model, preprocessing: model.preprocessing };
    const t0 = performance.now();
    const features = await poolFeatures(extractor, items, { classes, size: opts.size });
    const set: FeatureSet = { classes, seen, unseen, features, labels, split, vectors, featureSeconds: 0 };
    const full = opts.openVocabulary ? await withOpenVocabulary(set, extractor, source, opts.openVocabulary, opts.size) : set;
    return { ...full, featureSeconds: (performance.now() - t0) / 1000 };
  } finally {
    model.model.dispose();
  }
}

/**
 * The features of a trained run's own photos through its own backbone (what `npm run demo -- --objectives` compares
 * on): the stage-1 model's body, frozen; its training images train every objective; its validation images are halved
 * in order (every other one) into calibration (valid) and seen test images; its unseen images are the zero-shot test.
 */
export async function runFeatures(data: Pick<DataBunch, 'classes' | 'testClasses' | 'train' | 'valid' | 'test' | 'size'>, stage1: CnnModel, source: LabelSource, opts: { openVocabulary?: OpenVocabularyOptions } = {}): Promise<FeatureSet> {
  const unseenClasses = data.testClasses ?? [];
  if (!unseenClasses.length || !data.test) throw new Error('objectives: the data has no unseen classes (an AWA2 root with testclasses.txt): nothing to compare zero-shot on.');
  const classes = [...data.classes, ...unseenClasses];
  const items = [...data.train.items, ...data.valid.items, ...data.test.items];
  const split: FeatureSet['split'] = [...data.train.items.map(() => 'train' as const), ...data.valid.items.map((_, j) => (j % 2 ? ('valid' as const) : ('test' as const))), ...data.test.items.map(() => 'test' as const)];
  const index = new Map(classes.map((c, i) => [c, i]));
  const extractor = featureExtractorOf(stage1);
  const t0 = performance.now();
  const features = await poolFeatures(extractor, items, { classes, size: data.size });
  const set: FeatureSet = {
    classes, seen: data.classes.map((_, i) => i), unseen: unseenClasses.map((_, i) => data.classes.length + i),
    features, labels: items.map((it) => index.get(it.label)!), split, vectors: vectorsOf(source, classes), featureSeconds: 0,
  };
  const full = opts.openVocabulary ? await withOpenVocabulary(set, extractor, source, opts.openVocabulary, data.size) : set;
  return { ...full, featureSeconds: (performance.now() - t0) / 1000 };
}

/** One objective's numbers for one seed (null: the objective cannot produce it). */
export interface ObjectiveResult {
  seenTop1: number;
  seenTop1Method: 'nearest-label' | 'knn';
  /** kNN (k = 5) top-1 of the seen test images against the training images, for every objective. */
  knnTop1: number;
  /** Triplet's two-part recipe: a softmax classifier on the frozen embedding (seen test top-1). */
  classifierTop1: number | null;
  zeroShotPerClassTop1: number | null;
  /** Per-class top-1 over the open vocabulary (the unseen classes plus the extra words); null without label vectors (triplet) or without the extra photos. */
  openVocabularyTop1: number | null;
  calibratedH: number | null;
  ausuc: number | null;
  recallAt1: number;
  recallAt5: number;
  mAP: number;
  seconds: number;
  /** Hyperparameters chosen on held-out seen classes (ESZSL, ALE). */
  chosen?: unknown;
}

const pick = (set: FeatureSet, where: (i: number) => boolean) => set.features.flatMap((_, i) => (where(i) ? [i] : []));

/** A 1024 → 512 (ReLU) → label-dim MLP, seeded: the head every gradient-trained objective gets. */
function headModel(inputDim: number, outDim: number, seed: number): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [inputDim], units: 512, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 2 + 1 }) }));
  m.add(tf.layers.dense({ units: outDim, kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 2 + 2 }) }));
  return m;
}

/** Trains a head on the seen training features with `loss`, P×K batches (P = 5, K = 8), Adam 1e-3; returns an embedder. */
async function trainHead(set: FeatureSet, loss: Loss, seed: number, epochs: number): Promise<{ embed: (rows: Float32Array[]) => Float32Array[]; seconds: number }> {
  const train = pick(set, (i) => set.split[i] === 'train');
  const dim = set.features[0]!.length;
  const model = headModel(dim, set.vectors[0]!.length, seed);
  const opt = tf.train.adam(1e-3);
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    for (const batch of pkBatches(train.map((i) => set.labels[i]!), { p: 5, k: 8, seed, epoch: e })) {
      const rows = batch.map((j) => train[j]!);
      const x = tf.tensor2d(rows.map((i) => Array.from(set.features[i]!)));
      const y = tf.tensor1d(rows.map((i) => set.labels[i]!), 'int32');
      opt.minimize(() => loss(model.apply(x) as tf.Tensor, y), false);
      tf.dispose([x, y]);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  opt.dispose();
  const embed = (rows: Float32Array[]) => {
    return takeRows(tf.tidy(() => model.predict(tf.tensor2d(rows.map((r) => Array.from(r)))) as tf.Tensor2D));
  };
  return { embed, seconds };
}

/** Runs one objective for one seed on the cached features. */
export async function runObjective(name: Objective, set: FeatureSet, opts: { seed: number; epochs: number; /** ESZSL/ALE: the published AWA2 settings instead of choosing on held-out seen classes. */ defaults?: boolean }): Promise<ObjectiveResult> {
  const { seed, epochs } = opts;
  const idx = { train: pick(set, (i) => set.split[i] === 'train'), valid: pick(set, (i) => set.split[i] === 'valid'), test: pick(set, (i) => set.split[i] === 'test') };
  const seenSet = new Set(set.seen);
  const seenTest = idx.test.filter((i) => seenSet.has(set.labels[i]!));
  const rows = (ix: number[]) => ix.map((i) => set.features[i]!);
  const lab = (ix: number[]) => ix.map((i) => set.labels[i]!);
  let embed: (r: Float32Array[]) => Float32Array[];
  /** Image × label scores against `vectors` (default: the set's classes); null: the objective has no label space. */
  let scoresOf: ((r: Float32Array[], vectors?: number[][]) => ArrayLike<number>[]) | null;
  let seconds: number;
  let chosen: unknown;
  if (name === 'eszsl' || name === 'ale') {
    // Trained on seen classes only: labels re-indexed into the seen vectors, so no unseen vector is ever a training target or negative.
    const seenVectors = set.seen.map((c) => set.vectors[c]!);
    const seenIndex = new Map(set.seen.map((c, i) => [c, i]));
    const trainLabels = lab(idx.train).map((c) => seenIndex.get(c)!);
    const t0 = performance.now();
    const grid = name === 'eszsl' ? (opts.defaults ? [ESZSL_AWA2] : ESZSL_GRID) : (opts.defaults ? [ALE_AWA2] : ALE_GRID).map((p) => ({ ...p, seed }));
    const choice = name === 'eszsl'
      ? chooseOnHeldOutClasses(rows(idx.train), trainLabels, seenVectors, grid as typeof ESZSL_GRID, eszsl, { seed: 0 })
      : chooseOnHeldOutClasses(rows(idx.train), trainLabels, seenVectors, grid as typeof ALE_GRID, ale, { seed: 0 });
    const selectionSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const model: Compatibility = name === 'eszsl' ? eszsl(rows(idx.train), trainLabels, seenVectors, choice.params as typeof ESZSL_AWA2) : ale(rows(idx.train), trainLabels, seenVectors, choice.params as typeof ALE_AWA2);
    seconds = (performance.now() - t1) / 1000;
    chosen = { params: choice.params, heldOutClasses: choice.heldOutClasses.map((c) => set.classes[set.seen[c]!]), heldOutTop1: Math.max(...choice.tried.map((t) => t.accuracy)), selectionSeconds: +selectionSeconds.toFixed(2) };
    // The image's point in label space: its scores against the identity basis = x W (the projection ESZSL/ALE learn).
    const dim = set.vectors[0]!.length;
    const basis = Array.from({ length: dim }, (_, j) => Array.from({ length: dim }, (_, k) => (j === k ? 1 : 0)));
    embed = (r) => model.scores(r, basis).map((row) => Float32Array.from(row));
    scoresOf = (r, vectors = set.vectors) => model.scores(r, vectors);
  } else {
    // Seen vectors only (the hinge's wrong labels must not include unseen classes); seen classes come first, so class index = row.
    const seenVectors = set.seen.map((c, i) => (c === i ? set.vectors[c]! : (() => { throw new Error('objectives: seen classes must be 0..n-1'); })()));
    const losses: Record<string, () => Loss> = {
      cosine: () => cosineLoss(seenVectors),
      hinge: () => hingeRankLoss(seenVectors, 0.1),
      triplet: () => tripletLoss({ margin: 0.2, mining: 'semihard' }),
      hybrid: () => hybridLoss(seenVectors, { tripletWeight: 1, margin: 0.2, mining: 'semihard' }),
    };
    const head = await trainHead(set, losses[name]!(), seed, epochs);
    embed = head.embed;
    seconds = head.seconds;
    const dim = set.vectors[0]!.length;
    scoresOf = name === 'triplet' ? null : (r, vectors = set.vectors) => cosineScores(head.embed(r) as unknown as number[][], vectors, dim);
  }
  const trainEmb = embed(rows(idx.train));
  const seenTestEmb = embed(rows(seenTest));
  const knn = knnClassifier(5)({ embeddings: trainEmb, labels: lab(idx.train) }, { embeddings: seenTestEmb, labels: lab(seenTest) });
  let classifierTop1: number | null = null;
  if (name === 'triplet') {
    const clf = await fitFrozenClassifier(trainEmb, lab(idx.train), { classes: set.classes.length, seed: seed + 1 });
    const pred = clf.predict(seenTestEmb);
    classifierTop1 = pred.filter((p, i) => p === set.labels[seenTest[i]!]).length / pred.length;
    clf.dispose();
  }
  const retrieval = imageRetrieval(embed(rows(idx.test)), lab(idx.test), [1, 5]);
  let zsl: { seenTop1: number; zeroShotPerClassTop1: number; calibratedH: number; ausuc: number } | null = null;
  if (scoresOf) {
    const testScores = scoresOf(rows(idx.test));
    const z = zeroShot({ scores: testScores, actual: lab(idx.test), seen: set.seen, unseen: set.unseen, calibration: { scores: scoresOf(rows(idx.valid)), actual: lab(idx.valid) } });
    const seenPos = new Set(seenTest);
    const seenRows = idx.test.flatMap((i, r) => (seenPos.has(i) ? [testScores[r]!] : []));
    const seenPred = seenRows.map((row) => set.seen.reduce((b, c) => (row[c]! > row[b]! ? c : b), set.seen[0]!));
    zsl = { seenTop1: seenPred.filter((p, i) => p === set.labels[seenTest[i]!]).length / seenPred.length, zeroShotPerClassTop1: z.zsl.perClassTop1, calibratedH: z.gzsl.calibrated.H, ausuc: z.gzsl.ausuc };
  }
  const open = set.openVocabulary;
  let openVocabularyTop1: number | null = null;
  if (scoresOf && open) {
    const pred = scoresOf(open.features, open.vectors).map((row) => open.classes.reduce((b, _, c) => (row[c]! > row[b]! ? c : b), 0));
    openVocabularyTop1 = perClassMeanAccuracy(open.labels, pred);
  }
  return {
    seenTop1: zsl ? zsl.seenTop1 : knn.accuracy,
    seenTop1Method: zsl ? 'nearest-label' : 'knn',
    knnTop1: knn.accuracy,
    classifierTop1,
    zeroShotPerClassTop1: zsl?.zeroShotPerClassTop1 ?? null,
    openVocabularyTop1,
    calibratedH: zsl?.calibratedH ?? null,
    ausuc: zsl?.ausuc ?? null,
    recallAt1: retrieval.recallAt[1]!,
    recallAt5: retrieval.recallAt[5]!,
    mAP: retrieval.mAP,
    seconds,
    ...(chosen !== undefined && { chosen }),
  };
}

const NUMERIC = ['seenTop1', 'knnTop1', 'classifierTop1', 'zeroShotPerClassTop1', 'openVocabularyTop1', 'calibratedH', 'ausuc', 'recallAt1', 'recallAt5', 'mAP', 'seconds'] as const;

/** Mean and sample sd of each number over seeds (null stays null). */
function aggregate(perSeed: ObjectiveResult[]): { mean: Record<string, number | null>; sd: Record<string, number | null> } {
  const mean: Record<string, number | null> = {};
  const sd: Record<string, number | null> = {};
  for (const key of NUMERIC) {
    const xs = perSeed.map((r) => r[key]);
    if (xs.some((x) => x === null)) { mean[key] = null; sd[key] = null; continue; }
    const v = xs as number[];
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    mean[key] = +m.toFixed(4);
    sd[key] = v.length > 1 ? +Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1)).toFixed(4) : 0;
  }
  return { mean, sd };
}

/** A mean (± sd when several seeds), in percent or as a fraction; '—' where the objective has no number. */
const fmt = (m: number | null, s: number | null, pct: boolean) => (m === null ? '—' : (pct ? (100 * m).toFixed(1) : m.toFixed(3)) + (s === null ? '' : ` ± ${pct ? (100 * s).toFixed(1) : s.toFixed(3)}`));

/** The comparison as table cells (one row per objective; "no zero-shot" in words where an objective has no label space). */
export function objectivesTableRows(objectives: Record<string, Record<string, number | null | string>>, sd: Record<string, Record<string, number | null>> | null): { header: string[]; rows: string[][] } {
  const entries = Object.entries(objectives);
  const open = entries.some(([, m]) => typeof m.openVocabularyTop1 === 'number');
  const header = ['objective', 'seen top-1 % (how)', 'zero-shot top-1 %', ...(open ? ['open vocabulary top-1 %'] : []), 'calibrated H %', 'AUSUC', 'recall@1 %', 'recall@5 %', 'mAP %', 'train s'];
  const rows = entries.map(([name, m]) => {
    const n = (k: string, pct = true) => fmt(m[k] as number | null, sd ? (sd[name]?.[k] ?? null) : null, pct);
    const none = m.zeroShotPerClassTop1 === null;
    const zs = none ? 'no zero-shot (no label vectors)' : n('zeroShotPerClassTop1');
    return [name, `${n('seenTop1')} (${m.seenTop1Method === 'knn' ? 'kNN' : 'nearest label'})`, zs, ...(open ? [none ? 'no zero-shot' : n('openVocabularyTop1')] : []), n('calibratedH'), n('ausuc', false), n('recallAt1'), n('recallAt5'), n('mAP'), n('seconds', false)];
  });
  return { header, rows };
}

/** The comparison as a Markdown table (mean ± sd over seeds; `sd` null for a single seed). */
export function objectivesTable(objectives: Record<string, Record<string, number | null | string>>, sd: Record<string, Record<string, number | null>> | null): string {
  const { header, rows } = objectivesTableRows(objectives, sd);
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The comparison: mean and sd per objective over seeds, each seed's numbers, and the Markdown table. */
export interface ObjectivesComparison {
  /** Means; null for an objective that cannot produce a number, and for objectives not run. */
  objectives: Record<Objective, Record<string, number | null | string> | null>;
  objectivesSd: Partial<Record<Objective, Record<string, number | null>>>;
  seenTop1Method: Partial<Record<Objective, ObjectiveResult['seenTop1Method']>>;
  perSeed: Partial<Record<Objective, ObjectiveResult[]>>;
  table: string;
}

/** Runs `objectives` (default all) for seeds 0..seeds−1 on the cached features; `onResult` hears each one as it finishes. */
export async function compareObjectives(set: FeatureSet, opts: { seeds?: number; firstSeed?: number; epochs?: number; defaults?: boolean; objectives?: Objective[]; onResult?: (o: Objective, seed: number, r: ObjectiveResult) => void } = {}): Promise<ObjectivesComparison> {
  const which = opts.objectives ?? [...OBJECTIVES];
  const perSeed: Partial<Record<Objective, ObjectiveResult[]>> = {};
  const first = opts.firstSeed ?? 0;
  for (let seed = first; seed < first + (opts.seeds ?? 3); seed++) {
    for (const o of which) {
      const r = await runObjective(o, set, { seed, epochs: opts.epochs ?? 10, defaults: opts.defaults });
      opts.onResult?.(o, seed, r);
      (perSeed[o] ??= []).push(r);
    }
  }
  return summariseObjectives(perSeed);
}

/** Means, sds and the table from each seed's results (e.g. seeds run in separate processes, concatenated per objective). */
export function summariseObjectives(perSeed: Partial<Record<Objective, ObjectiveResult[]>>): ObjectivesComparison {
  const which = OBJECTIVES.filter((o) => perSeed[o]?.length);
  const objectives = Object.fromEntries(OBJECTIVES.map((o) => [o, null])) as ObjectivesComparison['objectives'];
  const objectivesSd: ObjectivesComparison['objectivesSd'] = {};
  for (const o of which) {
    const a = aggregate(perSeed[o]!);
    objectives[o] = { ...a.mean, seenTop1Method: perSeed[o]![0]!.seenTop1Method };
    objectivesSd[o] = a.sd;
  }
  const ran = Object.fromEntries(which.map((o) => [o, objectives[o]!]));
  const severalSeeds = which.some((o) => perSeed[o]!.length > 1);
  return { objectives, objectivesSd, seenTop1Method: Object.fromEntries(which.map((o) => [o, perSeed[o]![0]!.seenTop1Method])), perSeed, table: objectivesTable(ran, severalSeeds ? (objectivesSd as Record<string, Record<string, number | null>>) : null) };
}

/**
 * `npm run demo -- --objectives`: every objective on a run's own photos, its stage-1 model's body as the frozen
 * feature extractor (runFeatures), one seed (the run's), `epochs` per head (default 10), ESZSL and ALE at the published
 * AWA2 settings (choosing on held-out seen classes is noise at a demo's size).
 */
export async function compareObjectivesOnRun(
  data: Parameters<typeof runFeatures>[0],
  stage1ModelDir: string,
  source: LabelSource,
  opts: { seed: number; epochs?: number; log?: (line: string) => void },
): Promise<ObjectivesComparison & { featureSeconds: number; epochs: number }> {
  const stage1 = await loadModel(stage1ModelDir);
  let set: FeatureSet;
  try {
    set = await runFeatures(data, stage1, source);
  } finally {
    stage1.model.dispose();
  }
  const epochs = opts.epochs ?? 10;
  const cmp = await compareObjectives(set, {
    seeds: 1, firstSeed: opts.seed, epochs, defaults: true,
    onResult: (o, _, r) => opts.log?.(`objective ${o}: seen top-1 ${(100 * r.seenTop1).toFixed(1)}% (${r.seenTop1Method}), zero-shot ${r.zeroShotPerClassTop1 === null ? 'none (no label vectors)' : `${(100 * r.zeroShotPerClassTop1).toFixed(1)}%`}, mAP ${(100 * r.mAP).toFixed(1)}%`),
  });
  return { ...cmp, featureSeconds: set.featureSeconds, epochs };
}

/**
 * The comparison in words, from its numbers: which objective to use for zero-shot (the best mean zero-shot top-1, and
 * those within one sd of it), for open vocabulary, and for image → image retrieval among known classes (recall@1).
 */
export function objectivesVerdict(cmp: Pick<ObjectivesComparison, 'objectives' | 'objectivesSd'>, chance: { zeroShot?: number; openVocabulary?: number } = {}): string[] {
  const ran = OBJECTIVES.filter((o) => cmp.objectives[o]);
  const num = (o: Objective, k: string) => cmp.objectives[o]![k] as number | null;
  const sd = (o: Objective, k: string) => cmp.objectivesSd[o]?.[k] ?? 0;
  const p = (v: number) => `${(100 * v).toFixed(1)} %`;
  /** The best objective on `k` and those whose mean is within one sd (the larger of the two) of it. */
  const leaders = (k: string) => {
    const have = ran.filter((o) => num(o, k) !== null).sort((a, b) => num(b, k)! - num(a, k)!);
    if (!have.length) return null;
    const best = have[0]!;
    return { best, tied: have.slice(1).filter((o) => num(best, k)! - num(o, k)! <= Math.max(sd(best, k), sd(o, k))) };
  };
  const words = (l: { best: Objective; tied: Objective[] }, k: string) => `${l.best} (${p(num(l.best, k)!)})${l.tied.length ? `, tied within one sd with ${l.tied.map((o) => `${o} (${p(num(o, k)!)})`).join(', ')}` : ''}`;
  const againstChance = (l: { best: Objective }, k: string, c?: number) => (c === undefined ? '' : num(l.best, k)! <= c * 1.1 ? `; chance is ${p(c)}, so none is clearly better than guessing` : `; chance is ${p(c)}`);
  const lines: string[] = [];
  const zs = leaders('zeroShotPerClassTop1');
  if (zs) lines.push(`For zero-shot (unseen classes named by their label vectors) use ${words(zs, 'zeroShotPerClassTop1')}${againstChance(zs, 'zeroShotPerClassTop1', chance.zeroShot)}.`);
  const ov = leaders('openVocabularyTop1');
  if (ov) lines.push(`For an open vocabulary (any word the label source knows) use ${words(ov, 'openVocabularyTop1')}${againstChance(ov, 'openVocabularyTop1', chance.openVocabulary)}.`);
  const r1 = leaders('recallAt1');
  if (r1) lines.push(`For image → image retrieval among known classes use ${words(r1, 'recallAt1')} by recall@1${num(r1.best, 'zeroShotPerClassTop1') === null ? `, which cannot do zero-shot (no label vectors)` : ''}.`);
  const none = ran.filter((o) => num(o, 'zeroShotPerClassTop1') === null);
  if (none.length) lines.push(`${none.join(', ')}: no zero-shot — the embedding is never tied to label vectors; its seen top-1 is by kNN (k = 5).`);
  return lines;
}
