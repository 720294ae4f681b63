/**
 * Training callbacks (fastai v1's Recorder, EarlyStoppingCallback, SaveModelCallback and a user hook).
 *
 *   await learn.fitOneCycle(5, 1e-3, { callbacks: [earlyStopping({ patience: 2 }), saveBest({ name: 'best' })] });
 *   learn.recorder.epochs   // [{epoch, trainLoss, validLoss, metrics, seconds}, ...]
 *   hook((event, s) => { if (event === 'batchEnd' && s.iteration % 50 === 0) console.log(s.smoothLoss); })
 *
 * A callback stops training by setting `state.stop = true` (with a `stopReason`).
 */
import type { Learner } from './learner';

/** Per-epoch results, as in fastai's table. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  metrics: Record<string, number>;
  seconds: number;
}

/** What callbacks see and may change (`stop`). */
export interface TrainState {
  learner: Learner;
  epochs: number;
  epoch: number;
  /** Batch index within the epoch of the batch just run. */
  batch: number;
  /** Training iterations run so far in this fit (position in the schedule). */
  iteration: number;
  totalIterations: number;
  loss: number;
  smoothLoss: number;
  lrs: number[];
  mom: number;
  /** Set on epochEnd. */
  last?: EpochRecord;
  stop: boolean;
  stopReason?: string;
}

export type CallbackEvent = 'trainBegin' | 'epochBegin' | 'batchEnd' | 'epochEnd' | 'trainEnd';

/** Hooks called by the Learner's loop; each may be async. */
export interface Callback {
  onTrainBegin?(s: TrainState): void | Promise<void>;
  onEpochBegin?(s: TrainState): void | Promise<void>;
  onBatchEnd?(s: TrainState): void | Promise<void>;
  onEpochEnd?(s: TrainState): void | Promise<void>;
  onTrainEnd?(s: TrainState): void | Promise<void>;
}

/** Serializable recorder contents (checkpoints keep it so a resumed run's history is whole). */
export interface RecorderData {
  losses: number[];
  smoothLosses: number[];
  lrs: number[][];
  moms: number[];
  epochs: EpochRecord[];
}

/** Records losses, learning rates, momentum per batch and the table per epoch (fastai `Recorder`). */
export class Recorder implements Callback {
  losses: number[] = [];
  smoothLosses: number[] = [];
  lrs: number[][] = [];
  moms: number[] = [];
  epochs: EpochRecord[] = [];

  onTrainBegin(s: TrainState): void {
    if (s.iteration === 0) this.restore({ losses: [], smoothLosses: [], lrs: [], moms: [], epochs: [] });
  }

  onBatchEnd(s: TrainState): void {
    this.losses.push(s.loss);
    this.smoothLosses.push(s.smoothLoss);
    this.lrs.push([...s.lrs]);
    this.moms.push(s.mom);
  }

  onEpochEnd(s: TrainState): void {
    if (s.last) this.epochs.push(s.last);
  }

  /** A copy of the contents. */
  data(): RecorderData {
    return structuredClone({ losses: this.losses, smoothLosses: this.smoothLosses, lrs: this.lrs, moms: this.moms, epochs: this.epochs });
  }

  /** Replaces the contents. */
  restore(d: RecorderData): void {
    Object.assign(this, structuredClone(d));
  }
}

/** Whether larger is better for a monitored quantity: losses and error rates are minimised. */
function maximises(monitor: string): boolean {
  return !/loss|error/i.test(monitor);
}

/** Reads `monitor` ('validLoss', 'trainLoss' or a metric name) from an epoch record. */
export function monitored(rec: EpochRecord, monitor: string): number {
  if (monitor === 'validLoss') return rec.validLoss;
  if (monitor === 'trainLoss') return rec.trainLoss;
  const v = rec.metrics[monitor];
  if (v === undefined) throw new Error(`Cannot monitor '${monitor}': the epoch records validLoss, trainLoss and metrics ${Object.keys(rec.metrics).join(', ') || '(none)'}.`);
  return v;
}

export interface MonitorOptions {
  /** 'validLoss' (default), 'trainLoss' or a metric name such as 'accuracy'. */
  monitor?: string;
  /** Smallest change that counts as an improvement. */
  minDelta?: number;
  /** Force the direction; by default names with "loss"/"error" are minimised, others maximised. */
  mode?: 'min' | 'max';
}

function improvement(opts: MonitorOptions) {
  const monitor = opts.monitor ?? 'validLoss';
  const max = opts.mode ? opts.mode === 'max' : maximises(monitor);
  const minDelta = Math.abs(opts.minDelta ?? 0);
  let best = max ? -Infinity : Infinity;
  return {
    monitor,
    /** True when `rec` improves on the best so far (and records it). */
    check(rec: EpochRecord): boolean {
      const v = monitored(rec, monitor);
      const better = max ? v - minDelta > best : v + minDelta < best;
      if (better) best = v;
      return better;
    },
  };
}

/** Stops when the monitored quantity has not improved for `patience` epochs (fastai EarlyStoppingCallback). */
export function earlyStopping(opts: MonitorOptions & { patience?: number } = {}): Callback {
  const patience = opts.patience ?? 3;
  let imp = improvement(opts);
  let wait = 0;
  return {
    onTrainBegin() {
      imp = improvement(opts);
      wait = 0;
    },
    onEpochEnd(s) {
      if (!s.last) return;
      if (imp.check(s.last)) wait = 0;
      else if (++wait > patience) {
        s.stop = true;
        s.stopReason = `early stopping: ${imp.monitor} has not improved for ${wait} epochs`;
      }
    },
  };
}

/** Saves the model as `name` whenever the monitored quantity improves; loads the best at the end (fastai SaveModelCallback). */
export function saveBest(opts: MonitorOptions & { name?: string; loadAtEnd?: boolean } = {}): Callback {
  const name = opts.name ?? 'bestmodel';
  let imp = improvement(opts);
  let saved = false;
  return {
    onTrainBegin() {
      imp = improvement(opts);
      saved = false;
    },
    async onEpochEnd(s) {
      if (s.last && imp.check(s.last)) {
        await s.learner.save(name);
        saved = true;
      }
    },
    async onTrainEnd(s) {
      if (saved && (opts.loadAtEnd ?? true)) await s.learner.load(name, { weightsOnly: true });
    },
  };
}

/** Wraps a function as a callback that sees every event. */
export function hook(fn: (event: CallbackEvent, s: TrainState) => void | Promise<void>): Callback {
  return {
    onTrainBegin: (s) => fn('trainBegin', s),
    onEpochBegin: (s) => fn('epochBegin', s),
    onBatchEnd: (s) => fn('batchEnd', s),
    onEpochEnd: (s) => fn('epochEnd', s),
    onTrainEnd: (s) => fn('trainEnd', s),
  };
}
