/**
 * The training loop's vocabulary, in one module that imports nothing else from lib/train: what the loop
 * needs of a model and data (`TrainModel`, `TrainData`), what it records (`EpochRecord`, `RecorderData`),
 * what it runs (`RunPlan`, `Position`), what callbacks see (`TrainState`) and implement (`Callback`).
 *
 *   const cb: Callback = { order: 50, onEpochEnd: (s) => console.log(s.epoch, s.last?.validLoss) };
 *   await learn.fitOneCycle(4, 1e-3, { callbacks: [cb] });
 *
 * The Learner, every callback (recorder, progress, interrupt handler, checkpoints, LR finder) and the
 * recipe import from here, so lib/train has no import cycle (test/lib-imports.test.ts walks it).
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

/** Per-epoch results, as in fastai's table. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  metrics: Record<string, number>;
  seconds: number;
}

/** Serializable recorder contents (checkpoints keep it so a resumed run's history is whole). */
export interface RecorderData {
  losses: number[];
  smoothLosses: number[];
  lrs: number[][];
  moms: number[];
  epochs: EpochRecord[];
}

/** fastai's one-cycle options. */
export interface OneCycleOptions {
  /** lr starts at maxLr / divFactor (fastai default 25). */
  divFactor?: number;
  /** Fraction of iterations spent warming up (fastai default 0.3). */
  pctStart?: number;
  /** Momentum goes moms[0] → moms[1] during warm-up and back (fastai default [0.95, 0.85]). */
  moms?: [number, number];
}

/** The schedule of a fit, kept in checkpoints so `resume` rebuilds it exactly. */
export interface RunPlan {
  kind: 'oneCycle' | 'constant' | 'lrFind';
  epochs: number;
  /** Max (one-cycle), constant, or start (LR finder) learning rate per layer group. */
  lrs: number[];
  wd: number;
  oneCycle?: OneCycleOptions;
  mom?: number;
  /** LR finder only: end learning rates and iteration count. */
  endLrs?: number[];
  numIt?: number;
  /** The dropout step of the fit's first iteration (each fit draws its own masks; see Learner). */
  dropoutBase?: number;
}

/** Where a fit is: the next epoch and batch to run, and iterations done. */
export interface Position {
  epoch: number;
  batch: number;
  iteration: number;
}

/** The moving average behind `smoothLoss` (debiased EMA, β 0.98), kept in checkpoints. */
export interface SmootherState {
  n: number;
  mov: number;
}

/** What a callback may call on the Learner running it (a `Learner` is one; so is a test double). */
export interface TrainLearner {
  model: TrainModel;
  data: TrainData;
  /** Asks the running fit to stop after the current batch. */
  stop(reason?: string): void;
  save(name: string, extra?: Record<string, unknown>): Promise<string>;
  load(name: string, opts?: { weightsOnly?: boolean }): Promise<Record<string, unknown>>;
  /** Predictions over a loader (default: the validation set): probabilities for cross-entropy, `{ logits: true }` raw; the caller disposes `preds`. */
  getPreds(loader?: TrainLoader, opts?: { logits?: boolean }): Promise<{ preds: tf.Tensor2D; targets: number[] }>;
  /** The loss (its name tells cross-entropy from cosine in loss plots). */
  readonly loss?: { lossName?: string };
  /** The optimizer's state, for callbacks that must restore it (the LR finder). */
  readonly opt: { getState(): unknown; setState(state: never): void; reset(): void };
}

/** What callbacks see and may change (`stop`, `lrs`/`mom` in onBatchBegin, `validate`). */
export interface TrainState {
  learner: TrainLearner;
  plan: RunPlan;
  /** The fit's name: its checkpoint name (e.g. 'stage1-frozen'), if it has one. */
  name?: string;
  epochs: number;
  /** The epoch running (on epochEnd: the epoch just finished). */
  epoch: number;
  /** Batch index within the epoch of the batch just run. */
  batch: number;
  /** Training iterations run so far in this fit (position in the schedule). */
  iteration: number;
  totalIterations: number;
  loss: number;
  smoothLoss: number;
  /** Hyperparameters of the batch about to run (onBatchBegin) or just run (onBatchEnd). */
  lrs: number[];
  mom: number;
  /** Where `resume` would continue from now (advanced before epochEnd). */
  position: Position;
  smoother: SmootherState;
  /** Names of the metrics in each epoch record. */
  metricNames: string[];
  /** Validate after each epoch (the LR finder turns it off). */
  validate: boolean;
  /** Set on epochEnd. */
  last?: EpochRecord;
  stop: boolean;
  stopReason?: string;
  /** Set (before trainEnd) when the loop failed with an exception. */
  error?: unknown;
}

export type CallbackEvent = 'trainBegin' | 'epochBegin' | 'batchBegin' | 'batchEnd' | 'epochEnd' | 'trainEnd';

/** Hooks called by the Learner's loop, in ascending `order` (default 50); each may be async. */
export interface Callback {
  /** Run order: recorder 0, interrupt handler 10, user callbacks 50, checkpoints 80, progress 90. */
  order?: number;
  onTrainBegin?(s: TrainState): void | Promise<void>;
  onEpochBegin?(s: TrainState): void | Promise<void>;
  onBatchBegin?(s: TrainState): void | Promise<void>;
  onBatchEnd?(s: TrainState): void | Promise<void>;
  onEpochEnd?(s: TrainState): void | Promise<void>;
  onTrainEnd?(s: TrainState): void | Promise<void>;
}

/** The stop reason the interrupt handler (SIGINT, a notebook's interrupt) sets. */
export const INTERRUPTED = 'interrupted (SIGINT)';
