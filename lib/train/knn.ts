/**
 * What a metric-learning embedding (triplet loss) is used through, on plain embedding rows: a k-nearest-neighbour
 * classifier against the training embeddings, image→image retrieval (recall@k, mAP), and the second half of FaceNet's
 * two-part recipe, a softmax classifier trained on the frozen embedding.
 *
 *   const knn = knnClassifier(5)({ embeddings: trainRows, labels: trainY }, { embeddings: validRows, labels: validY });
 *   knn.accuracy; knn.perClass.get(3);                       // {accuracy, n} of class 3
 *   imageRetrieval(testRows, testY, [1, 5]);                 // {recallAt: {1, 5}, mAP}
 *   const head = await fitFrozenClassifier(trainRows, trainY, { classes: 10 });  head.predict(validRows);
 *
 * Similarity is cosine (rows are L2-normalised here), so raw and normalised embeddings give the same answers.
 */
import { takeRows, tf } from '../backend/index';
import { Rng } from '../data/rng';
import { perClassMeanAccuracy } from '../metrics';

type Rows = ArrayLike<number>[];

/** Embeddings with their class indices. */
export interface LabelledRows {
  embeddings: Rows;
  labels: ArrayLike<number>;
}

/** kNN accuracy: overall, per class ({accuracy, n}), their mean, and each query's predicted class. */
export interface KnnResult {
  k: number;
  accuracy: number;
  perClassMean: number;
  perClass: Map<number, { accuracy: number; n: number }>;
  predicted: number[];
}

/** Unit-length Float64 copies of `rows` (a zero row stays zero). */
function unit(rows: Rows): Float64Array[] {
  return rows.map((r) => {
    let s = 0;
    for (let j = 0; j < r.length; j++) s += r[j]! * r[j]!;
    const n = Math.sqrt(s) || 1;
    return Float64Array.from(r, (v) => v / n);
  });
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * b[j]!;
  return s;
}

/** Indices of the `k` largest of `sims`, largest first (index order on ties). */
function nearest(sims: Float64Array, k: number): number[] {
  return Array.from(sims.keys()).sort((a, b) => sims[b]! - sims[a]! || a - b).slice(0, k);
}

/**
 * A k-nearest-neighbour classifier (cosine similarity): each query takes the majority class of its `k` nearest
 * training embeddings; a tie goes to the tied class with the larger summed similarity. Returns an evaluator of
 * query embeddings with known labels.
 */
export function knnClassifier(k = 1): (train: LabelledRows, query: LabelledRows) => KnnResult {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`knnClassifier: k must be an integer ≥ 1, got ${k}.`);
  return (train, query) => {
    if (train.embeddings.length !== train.labels.length) throw new Error(`knnClassifier: ${train.embeddings.length} training embeddings but ${train.labels.length} labels.`);
    if (query.embeddings.length !== query.labels.length) throw new Error(`knnClassifier: ${query.embeddings.length} query embeddings but ${query.labels.length} labels.`);
    if (!train.embeddings.length) throw new Error('knnClassifier: no training embeddings to vote.');
    const T = unit(train.embeddings);
    const predicted = unit(query.embeddings).map((q) => {
      const sims = Float64Array.from(T, (t) => dot(q, t));
      const votes = new Map<number, { n: number; sim: number }>();
      for (const i of nearest(sims, k)) {
        const v = votes.get(train.labels[i]!) ?? { n: 0, sim: 0 };
        v.n++;
        v.sim += sims[i]!;
        votes.set(train.labels[i]!, v);
      }
      return [...votes].sort((a, b) => b[1].n - a[1].n || b[1].sim - a[1].sim)[0]![0];
    });
    const perClass = new Map<number, { accuracy: number; n: number }>();
    const right = new Map<number, number>();
    for (let i = 0; i < predicted.length; i++) {
      const a = query.labels[i]!;
      perClass.set(a, { accuracy: 0, n: (perClass.get(a)?.n ?? 0) + 1 });
      if (predicted[i] === a) right.set(a, (right.get(a) ?? 0) + 1);
    }
    for (const [c, e] of perClass) e.accuracy = (right.get(c) ?? 0) / e.n;
    const hits = [...right.values()].reduce((s, v) => s + v, 0);
    return { k, accuracy: predicted.length ? hits / predicted.length : 0, perClassMean: perClassMeanAccuracy(query.labels, predicted), perClass, predicted };
  };
}

/** Image→image retrieval quality: recall@k and mean average precision. */
export interface RetrievalResult {
  /** Fraction of queries with at least one image of their class among the first k results. */
  recallAt: Record<number, number>;
  /** Mean over queries of the average precision of the full ranking (relevant = same class). */
  mAP: number;
  queries: number;
}

/**
 * Image→image retrieval within one set (leave-one-out): every image queries all the others, ranked by cosine
 * similarity; relevant = same class. Recall@k as in metric-learning papers (Song et al. 2016: a hit among the first k).
 * Queries whose class has no other image are left out.
 */
export function imageRetrieval(embeddings: Rows, labels: ArrayLike<number>, ks: number[] = [1, 5]): RetrievalResult {
  if (embeddings.length !== labels.length) throw new Error(`imageRetrieval: ${embeddings.length} embeddings but ${labels.length} labels.`);
  const U = unit(embeddings);
  const hits = Object.fromEntries(ks.map((k) => [k, 0])) as Record<number, number>;
  let apSum = 0;
  let queries = 0;
  U.forEach((q, i) => {
    const others = U.map((_, j) => j).filter((j) => j !== i);
    const sims = new Map(others.map((j) => [j, dot(q, U[j]!)]));
    const ranked = others.sort((a, b) => sims.get(b)! - sims.get(a)! || a - b);
    const rel = ranked.map((j) => labels[j] === labels[i]);
    const nRel = rel.filter(Boolean).length;
    if (!nRel) return;
    queries++;
    for (const k of ks) if (rel.slice(0, k).some(Boolean)) hits[k]!++;
    let found = 0;
    let ap = 0;
    rel.forEach((r, rank) => { if (r) ap += ++found / (rank + 1); });
    apSum += ap / nRel;
  });
  return { recallAt: Object.fromEntries(ks.map((k) => [k, queries ? hits[k]! / queries : 0])), mAP: queries ? apSum / queries : 0, queries };
}

/** A softmax classifier over frozen embeddings. */
export interface FrozenClassifier {
  /** Class probabilities per row. */
  probabilities(rows: Rows): Float32Array[];
  /** The most probable class per row. */
  predict(rows: Rows): number[];
  dispose(): void;
}

/**
 * FaceNet's second step: a linear softmax classifier trained (Adam, full batch, cross-entropy) on embeddings that stay
 * frozen. Inputs are L2-normalised as the triplet embedding is; `seed` fixes the initial weights.
 */
export async function fitFrozenClassifier(rows: Rows, labels: ArrayLike<number>, opts: { classes: number; epochs?: number; lr?: number; seed?: number }): Promise<FrozenClassifier> {
  const { classes, epochs = 200, lr = 0.05 } = opts;
  if (rows.length !== labels.length || !rows.length) throw new Error(`fitFrozenClassifier: ${rows.length} embeddings and ${labels.length} labels (need the same number, > 0).`);
  const dim = rows[0]!.length;
  const rng = new Rng(opts.seed ?? 1);
  const scale = Math.sqrt(1 / dim);
  const W = tf.variable(tf.tensor2d(Float32Array.from({ length: dim * classes }, () => rng.uniform(-scale, scale)), [dim, classes]));
  const b = tf.variable(tf.zeros([classes]));
  const toX = (r: Rows) => tf.tensor2d(unit(r).map((v) => Array.from(v)));
  const x = toX(rows);
  const y = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), classes);
  const opt = tf.train.adam(lr);
  for (let e = 0; e < epochs; e++) {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, W), b)) as tf.Scalar, true, [W, b]);
    cost?.dispose();
  }
  tf.dispose([x, y]);
  opt.dispose();
  const probabilities = (r: Rows): Float32Array[] => {
    return takeRows(tf.tidy(() => tf.softmax(tf.add(tf.matMul(toX(r), W), b)) as tf.Tensor2D));
  };
  return {
    probabilities,
    predict: (r) => probabilities(r).map((p) => p.indexOf(Math.max(...p))),
    dispose: () => tf.dispose([W, b]),
  };
}
