/**
 * The parts of the models and data contracts the Learner relies on. A real `CnnModel` / `DataBunch`
 * satisfies them; so does any object of that shape (a small model in a test, an in-memory DataBunch).
 */
import type { CnnModel } from '../models/index';
import type { DataBunch } from '../data/loader';
import type { tf } from '../backend/index';

/** What the Learner needs of a `CnnModel`: the layers model and its layer groups (the rest is kept in checkpoints). */
export type TrainModel = Pick<CnnModel, 'model' | 'layerGroups'> & Partial<Omit<CnnModel, 'model' | 'layerGroups'>>;

/** One batch: images and int32 class indices, owned (and disposed) by the consumer. */
export interface TrainBatch {
  x: tf.Tensor;
  y: tf.Tensor1D;
}

/** What the Learner needs of a `DataLoader`. */
export interface TrainLoader extends AsyncIterable<TrainBatch> {
  readonly length: number;
  setEpoch(epoch: number): void;
}

/** What the Learner needs of a `DataBunch`. */
export type TrainData = Pick<DataBunch, 'classes'> & { train: TrainLoader; valid: TrainLoader };
