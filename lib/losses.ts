/**
 * Loss functions for the two DeViSE stages. Every loss takes the model output and the batch's int32
 * class indices and returns a scalar mean over the batch, so the Learner treats both stages alike.
 *
 *   const learn = new Learner({ model, data, loss: crossEntropy });              // stage 1
 *   const learn2 = new Learner({ model, data, loss: cosineLoss(labelVectors) });  // stage 2 (the original)
 *   const learn3 = new Learner({ model, data, loss: hingeRankLoss(labelVectors, 0.1) }); // DeViSE paper
 *
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
