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
import { takeRows, tf } from './backend/index';
import { readAwa2 } from './data/awa2';
import type { Item } from './data/items';
import { ImageLoader } from './data/loader';
import { pkBatches } from './data/sampler';
import { cosineLoss, hingeRankLoss, hybridLoss, type Loss, tripletLoss } from './losses';
import { cosineScores } from './metrics';
import { createModel } from './models/index';
import { fitFrozenClassifier, imageRetrieval, knnClassifier } from './train/knn';
import { labelSource } from './vectors/sources';
import { zeroShot } from './zeroshot';
import { ale, ALE_AWA2, ALE_GRID, chooseOnHeldOutClasses, type Compatibility, ESZSL_AWA2, ESZSL_GRID, eszsl } from './zeroshot-baselines';

/** The objectives compared, in the order of the table. */
export const OBJECTIVES = ['cosine', 'hinge', 'triplet', 'hybrid', 'eszsl', 'ale'] as const;
export type Objective = (typeof OBJECTIVES)[number];

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
}

/** Reads `perClass` photos of every class (first by file name), splits seen classes 60/20/20 and runs the frozen backbone once. */
export async function cacheFeatures(opts: { root: string; weights: string; perClass: number; size: number }): Promise<FeatureSet> {
  for (const p of [opts.root, opts.weights]) if (!fs.existsSync(p)) throw new Error(`objectives: ${p} does not exist (pass --data <AWA2 root> / --weights <SqueezeNet 1.1 file>).`);
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
  const model = await createModel('squeezenet1_1', { head: 'none', weights: opts.weights, inputSize: opts.size });
  const t0 = performance.now();
  const loader = new ImageLoader(items, { classes, size: opts.size, bs: 64, preprocessing: model.preprocessing });
  const features: Float32Array[] = [];
  for await (const b of loader) {
    const f = tf.tidy(() => {
      const map = model.model.apply(b.x, { training: false }) as tf.Tensor4D;
      return tf.concat([tf.mean(map, [1, 2]), tf.max(map, [1, 2])], 1); // fastai's AdaptiveConcatPool
    });
    features.push(...takeRows(f as tf.Tensor2D));
    tf.dispose([b.x, b.y]);
  }
  model.model.dispose();
  if (features.length !== items.length) throw new Error(`objectives: ${items.length - features.length} photos could not be read.`);
  const emb = (await labelSource('word2vec')).embed(classes);
  const vectors = classes.map((_, i) => Array.from(emb.vectors.subarray(i * emb.dim, (i + 1) * emb.dim)));
  return { classes, seen, unseen, features, labels, split, vectors, featureSeconds: (performance.now() - t0) / 1000 };
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
  let scoresOf: ((r: Float32Array[]) => ArrayLike<number>[]) | null;
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
    scoresOf = (r) => model.scores(r, set.vectors);
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
    scoresOf = name === 'triplet' ? null : (r) => cosineScores(head.embed(r) as unknown as number[][], set.vectors, dim);
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
  return {
    seenTop1: zsl ? zsl.seenTop1 : knn.accuracy,
    seenTop1Method: zsl ? 'nearest-label' : 'knn',
    knnTop1: knn.accuracy,
    classifierTop1,
    zeroShotPerClassTop1: zsl?.zeroShotPerClassTop1 ?? null,
    calibratedH: zsl?.calibratedH ?? null,
    ausuc: zsl?.ausuc ?? null,
    recallAt1: retrieval.recallAt[1]!,
    recallAt5: retrieval.recallAt[5]!,
    mAP: retrieval.mAP,
    seconds,
    ...(chosen !== undefined && { chosen }),
  };
}

const NUMERIC = ['seenTop1', 'knnTop1', 'classifierTop1', 'zeroShotPerClassTop1', 'calibratedH', 'ausuc', 'recallAt1', 'recallAt5', 'mAP', 'seconds'] as const;

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

const fmt = (m: number | null, s: number | null, pct: boolean) => (m === null ? 'n/a' : pct ? `${(100 * m).toFixed(1)} ± ${(100 * s!).toFixed(1)}` : `${m.toFixed(3)} ± ${s!.toFixed(3)}`);

/** The comparison as a Markdown table (mean ± sd over seeds). */
export function objectivesTable(objectives: Record<string, Record<string, number | null | string>>, sd: Record<string, Record<string, number | null>>): string {
  const head = '| objective | seen top-1 % (method) | zero-shot top-1 % | calibrated H % | AUSUC | recall@1 % | recall@5 % | mAP % | train s |';
  const lines = Object.entries(objectives).map(([name, m]) => {
    const s = sd[name]!;
    const n = (k: string, pct = true) => fmt(m[k] as number | null, s[k] ?? null, pct);
    const zs = m.zeroShotPerClassTop1 === null ? 'no zero-shot (no label vectors)' : n('zeroShotPerClassTop1');
    return `| ${name} | ${n('seenTop1')} (${m.seenTop1Method}) | ${zs} | ${n('calibratedH')} | ${n('ausuc', false)} | ${n('recallAt1')} | ${n('recallAt5')} | ${n('mAP')} | ${n('seconds', false)} |`;
  });
  return [head, '| --- | --- | --- | --- | --- | --- | --- | --- | --- |', ...lines].join('\n');
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
  return { objectives, objectivesSd, seenTop1Method: Object.fromEntries(which.map((o) => [o, perSeed[o]![0]!.seenTop1Method])), perSeed, table: objectivesTable(ran, objectivesSd as Record<string, Record<string, number | null>>) };
}
