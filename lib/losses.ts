/**
 * Loss functions for the two DeViSE stages. Every loss takes the model output and the batch's int32
 * class indices and returns a scalar mean over the batch, so the Learner treats both stages alike.
 *
 *   const learn = new Learner({ model, data, loss: crossEntropy });              // stage 1
 *   const learn2 = new Learner({ model, data, loss: cosineLoss(labelVectors) });  // stage 2 (the original)
 *   const learn3 = new Learner({ model, data, loss: hingeRankLoss(labelVectors, 0.1) }); // DeViSE paper
 *   const learn4 = new Learner({ model, data: pk, loss: tripletLoss({ margin: 0.2, mining: 'semihard' }) }); // FaceNet
 *   const learn5 = new Learner({ model, data: pk, loss: hybridLoss(labelVectors, { tripletWeight: 1 }) });
 *
 * The triplet losses need several images per class in a batch: train them on a P×K loader (lib/data/sampler.ts).
 * `labelVectors` is a [classes, dim] matrix whose row i is the word vector of class i.
 */
import { tf } from './backend/index';

/** A loss: model output + int32 class indices → scalar mean over the batch. */
export interface Loss {
  (pred: tf.Tensor, y: tf.Tensor1D): tf.Scalar;
  /** Shown in tables and checkpoints. */
  lossName: string;
}

function named(fn: (pred: tf.Tensor, y: tf.Tensor1D) => tf.Scalar, lossName: string): Loss {
  return Object.assign(fn, { lossName });
}

/** Softmax cross-entropy on logits [N, C] against class indices [N] (fastai's CrossEntropyFlat). */
export const crossEntropy: Loss = named(
  (pred, y) =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(pred as tf.Tensor2D);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.cast(y, 'int32'), pred.shape[1]!)), 1);
      return tf.neg(tf.mean(picked)) as tf.Scalar;
    }),
  'crossEntropy',
);

/** Label vectors: a [classes, dim] tensor (the caller keeps ownership) or one row per class. */
export type LabelVectors = tf.Tensor2D | number[][] | Float32Array[];

/** Row-L2-normalised copy of `labelVectors` as a [classes, dim] tensor owned by the caller. */
export function unitRows(labelVectors: LabelVectors, what: string): tf.Tensor2D {
  const rows = labelVectors instanceof tf.Tensor ? undefined : (labelVectors as ArrayLike<number>[]).map((r) => Array.from(r));
  const m = labelVectors instanceof tf.Tensor ? labelVectors : tf.tensor2d(rows!);
  try {
    if (m.rank !== 2 || m.shape[0] < 2) throw new Error(`${what}: labelVectors must be a [classes ≥ 2, dim] matrix, got shape [${m.shape}].`);
    return l2Normalize(m);
  } finally {
    if (m !== labelVectors) m.dispose();
  }
}

function checkDim(pred: tf.Tensor, vectors: tf.Tensor2D, what: string): void {
  if (pred.rank !== 2 || pred.shape[1] !== vectors.shape[1]) {
    throw new Error(`${what}: model output has shape [${pred.shape}] but the label vectors are ${vectors.shape[1]}-d; build the embedding head with dim ${vectors.shape[1]}.`);
  }
}

/** Row-wise L2 normalisation (ε keeps a zero row finite). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.add(tf.norm(x, 'euclidean', 1, true), 1e-8)) as tf.Tensor2D);
}

/** Mean of `1 − cos(ŷ, t_label)`: the original notebooks' stage-2 loss. */
export function cosineLoss(labelVectors: LabelVectors): Loss {
  const unit = unitRows(labelVectors, 'cosineLoss');
  return named((pred, y) => {
    checkDim(pred, unit, 'cosineLoss');
    return tf.tidy(() => {
      const t = tf.gather(unit, tf.cast(y, 'int32'));
      const cos = tf.sum(tf.mul(l2Normalize(pred as tf.Tensor2D), t), 1);
      return tf.mean(tf.sub(1, cos)) as tf.Scalar;
    });
  }, 'cosineLoss');
}

/**
 * DeViSE's hinge rank loss `Σ_{j≠label} max(0, margin − t_label·ŷ + t_j·ŷ)`, averaged over the batch.
 * As in the paper the label vectors are scaled to unit norm; ŷ is used as the model outputs it.
 */
export function hingeRankLoss(labelVectors: LabelVectors, margin = 0.1): Loss {
  const unit = unitRows(labelVectors, 'hingeRankLoss');
  return named((pred, y) => {
    checkDim(pred, unit, 'hingeRankLoss');
    return tf.tidy(() => {
      const yi = tf.cast(y, 'int32');
      const scores = tf.matMul(pred as tf.Tensor2D, unit, false, true); // [N, C]: t_j·ŷ
      const own = tf.oneHot(yi, unit.shape[0]);
      const ownScore = tf.sum(tf.mul(scores, own), 1, true); // t_label·ŷ
      const hinge = tf.relu(tf.add(tf.sub(margin, ownScore), scores));
      // j = label contributes exactly `margin`; mask it out rather than subtracting (keeps the gradient exact).
      return tf.mean(tf.sum(tf.mul(hinge, tf.sub(1, own)), 1)) as tf.Scalar;
    });
  }, 'hingeRankLoss');
}

/** How {@link tripletLoss} picks its triplets within a batch. */
export type TripletMining = 'semihard' | 'hard' | 'all';

/** Options of {@link tripletLoss}. */
export interface TripletOptions {
  /** FaceNet's α (default 0.2, on squared distances between unit vectors, which lie in [0, 4]). */
  margin?: number;
  /** 'semihard' (FaceNet, default), 'hard' (batch-hard, Hermans et al. 2017) or 'all' (every valid triplet). */
  mining?: TripletMining;
}

/** The triplets a batch yields: anchor, positive and negative row indices, one entry per triplet. */
export interface Triplets {
  anchor: number[];
  positive: number[];
  negative: number[];
}

/**
 * Picks triplets from a batch's squared-distance matrix `d` (row-major n×n) and labels, as {@link tripletLoss} uses them:
 * - `semihard`: every anchor–positive pair (a, p), with the negative of smallest d(a,n) among those with d(a,n) > d(a,p)
 *   (FaceNet's semi-hard negative; beyond d(a,p) + margin it contributes 0). When no negative is farther than the positive,
 *   the negative farthest from the anchor (TF-addons' `triplet_semihard_loss` fallback: the easiest, so the pair's loss is
 *   the smallest one available, rather than a hard negative that collapses training early on).
 * - `hard`: per anchor, its farthest positive and nearest negative (batch-hard).
 * - `all`: every (a, p, n) with label(a) = label(p) ≠ label(n), a ≠ p.
 * Anchors with no positive or no negative in the batch give no triplet.
 */
export function mineTriplets(d: ArrayLike<number>, labels: ArrayLike<number>, mining: TripletMining): Triplets {
  const n = labels.length;
  const out: Triplets = { anchor: [], positive: [], negative: [] };
  const push = (a: number, p: number, q: number) => { out.anchor.push(a); out.positive.push(p); out.negative.push(q); };
  for (let a = 0; a < n; a++) {
    const pos: number[] = [];
    const neg: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === a) continue;
      (labels[j] === labels[a] ? pos : neg).push(j);
    }
    if (!pos.length || !neg.length) continue;
    const da = (j: number) => d[a * n + j]!;
    if (mining === 'hard') {
      const p = pos.reduce((b, j) => (da(j) > da(b) ? j : b));
      const q = neg.reduce((b, j) => (da(j) < da(b) ? j : b));
      push(a, p, q);
      continue;
    }
    for (const p of pos) {
      if (mining === 'all') {
        for (const q of neg) push(a, p, q);
        continue;
      }
      let q = -1;
      for (const j of neg) if (da(j) > da(p) && (q < 0 || da(j) < da(q))) q = j;
      if (q < 0) q = neg.reduce((b, j) => (da(j) > da(b) ? j : b));
      push(a, p, q);
    }
  }
  return out;
}

/** Squared Euclidean distances between the rows of `e` (n×dim): n×n, ≥ 0. */
function squaredDistances(e: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(e), 1, true);
    return tf.relu(tf.add(tf.sub(sq, tf.mul(2, tf.matMul(e, e, false, true))), tf.transpose(sq))) as tf.Tensor2D;
  });
}

/** Mean triplet hinge over the mined triplets of L2-normalised rows `unit` (0 when the batch has none). */
function tripletTerm(unit: tf.Tensor2D, y: tf.Tensor1D, margin: number, mining: TripletMining): tf.Scalar {
  return tf.tidy(() => {
    const d = squaredDistances(unit);
    const n = unit.shape[0];
    // Mining is a choice, not a function to differentiate: pick on the values, then the loss flows through d.
    const t = mineTriplets(d.dataSync(), y.dataSync(), mining);
    if (!t.anchor.length) return tf.mul(tf.sum(unit), 0) as tf.Scalar; // keeps the graph connected: zero gradient
    // d[a, j] per triplet as one-hot products: matMul's gradient runs on every backend (gather's needs UnsortedSegmentSum, not in wasm).
    const oneHot = (idx: number[]) => tf.oneHot(tf.tensor1d(idx, 'int32'), n).toFloat();
    const rowsOfAnchor = tf.matMul(oneHot(t.anchor), d); // [T, n]
    const at = (cols: number[]) => tf.sum(tf.mul(rowsOfAnchor, oneHot(cols)), 1);
    return tf.mean(tf.relu(tf.add(tf.sub(at(t.positive), at(t.negative)), margin))) as tf.Scalar;
  });
}

/**
 * FaceNet's triplet loss (Schroff et al. 2015): mean over the batch's mined triplets of
 * max(0, ‖a − p‖² − ‖a − n‖² + margin), on L2-normalised model outputs of any dimension. Mining: {@link mineTriplets}.
 * Labels come from the batch: train on a P×K loader so that each class appears several times per batch.
 */
export function tripletLoss(opts: TripletOptions = {}): Loss {
  const margin = opts.margin ?? 0.2;
  const mining = opts.mining ?? 'semihard';
  if (!['semihard', 'hard', 'all'].includes(mining)) throw new Error(`tripletLoss: mining must be 'semihard', 'hard' or 'all', got '${mining}'.`);
  return named((pred, y) => {
    if (pred.rank !== 2) throw new Error(`tripletLoss: model output must be [batch, dim], got shape [${pred.shape}].`);
    return tf.tidy(() => tripletTerm(l2Normalize(pred as tf.Tensor2D), y, margin, mining));
  }, 'tripletLoss');
}

/** Options of {@link hybridLoss}. */
export interface HybridOptions extends TripletOptions {
  /** Weight of the triplet term against the cosine term (default 1). */
  tripletWeight?: number;
}

/**
 * Cosine loss to the label vector plus `tripletWeight` × the triplet loss between the batch's images: the triplet term
 * pulls images of a class together, the cosine term keeps them near their word vector, so zero-shot still works.
 */
export function hybridLoss(labelVectors: LabelVectors, opts: HybridOptions = {}): Loss {
  const cosine = cosineLoss(labelVectors);
  const triplet = tripletLoss(opts);
  const w = opts.tripletWeight ?? 1;
  if (!(w >= 0)) throw new Error(`hybridLoss: tripletWeight must be ≥ 0, got ${w}.`);
  return named((pred, y) => tf.tidy(() => tf.add(cosine(pred, y), tf.mul(w, triplet(pred, y))) as tf.Scalar), 'hybridLoss');
}
