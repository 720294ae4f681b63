/**
 * Batch metrics for the Learner's epoch table (fastai `accuracy`, `error_rate`, `top_k_accuracy`, and
 * nearest-label accuracy for embedding heads). Each returns the batch mean; the Learner averages over
 * the validation set weighted by batch size, as fastai's AverageMetric.
 *
 *   new Learner({ model, data, loss: crossEntropy, metrics: [accuracy, errorRate, topKAccuracy(5)] });
 *   new Learner({ model, data, loss: cosineLoss(vecs), metrics: [nearestLabelAccuracy(vecs, 1)] });
 */
import { tf } from '../backend/index';
import { l2Normalize, type LabelVectors, unitRows } from '../losses';

/** A metric: model output + int32 class indices → scalar batch mean. */
export interface Metric {
  (pred: tf.Tensor, y: tf.Tensor1D): tf.Scalar;
  metricName: string;
}

function named(fn: (pred: tf.Tensor, y: tf.Tensor1D) => tf.Scalar, metricName: string): Metric {
  return Object.assign(fn, { metricName });
}

/** Fraction of rows whose true class is among the `k` highest scores. */
function topKHits(scores: tf.Tensor2D, y: tf.Tensor1D, k: number): tf.Scalar {
  return tf.tidy(() => {
    const kk = Math.min(k, scores.shape[1]);
    const { indices } = tf.topk(scores, kk);
    const hit = tf.any(tf.equal(indices, tf.reshape(tf.cast(y, 'int32'), [-1, 1])), 1);
    return tf.mean(tf.cast(hit, 'float32')) as tf.Scalar;
  });
}

/** Top-1 accuracy of class scores. */
export const accuracy: Metric = named((pred, y) => topKHits(pred as tf.Tensor2D, y, 1), 'accuracy');

/** 1 − accuracy. */
export const errorRate: Metric = named((pred, y) => tf.tidy(() => tf.sub(1, topKHits(pred as tf.Tensor2D, y, 1)) as tf.Scalar), 'errorRate');

/** Top-k accuracy of class scores. */
export function topKAccuracy(k = 5): Metric {
  return named((pred, y) => topKHits(pred as tf.Tensor2D, y, k), `top${k}Accuracy`);
}

/**
 * Nearest-label accuracy of an embedding head: the true class is among the `k` label vectors with the
 * highest cosine similarity to the output. `labelVectors` rows are in class-index order.
 */
export function nearestLabelAccuracy(labelVectors: LabelVectors, k = 1): Metric {
  const unit = unitRows(labelVectors, 'nearestLabelAccuracy');
  return named(
    (pred, y) => tf.tidy(() => topKHits(tf.matMul(l2Normalize(pred as tf.Tensor2D), unit, false, true), y, k)),
    k === 1 ? 'nearestLabelAccuracy' : `nearestLabelTop${k}`,
  );
}
