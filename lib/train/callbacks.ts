/**
 * Training callbacks (fastai v2 style: everything around the optimisation step is a callback the loop drives):
 * the Recorder, the interrupt handler (SIGINT / a notebook's interrupt → stop after this batch), checkpoints
 * (every epoch and on stop, so `resume` continues), the LR finder, early stopping, save-best and a user hook.
 *
 *   await learn.fitOneCycle(5, 1e-3, { callbacks: [earlyStopping({ patience: 2 }), saveBest({ name: 'best' })] });
 *   learn.recorder.epochs   // [{epoch, trainLoss, validLoss, metrics, seconds}, ...]
 *   hook((event, s) => { if (event === 'batchEnd' && s.iteration % 50 === 0) console.log(s.smoothLoss); })
 *
 * A callback stops training by setting `state.stop = true` (with a `stopReason`). The progress display is a
 * callback too (progress.ts). The loop's types live in types.ts.
 */
import { tf } from '../backend/index';
import { show } from '../plots/display';
import { type Figure, lossCurvesFigure, lrFinderFigure } from '../plots/figures';
import { type Callback, type CallbackEvent, type EpochRecord, INTERRUPTED, type RecorderData, type TrainState } from './types';
import { usableSuggestion } from './suggest';

export type { Callback, CallbackEvent, EpochRecord, RecorderData, TrainState } from './types';
export { INTERRUPTED } from './types';

/** One finished (or stopped) fit as the recorder keeps it, for loss plots across phases. */
export interface FitRecord {
  name: string;
  lossName: string;
  batchesPerEpoch: number;
  /** Smoothed training loss per batch. */
  losses: number[];
  epochs: EpochRecord[];
}

/**
 * Records losses, learning rates, momentum per batch and the table per epoch of the current fit (fastai
 * `Recorder`), every fit of this Learner in `fits`, and the last LR finder run in `lrFind`.
 *
 *   await learn.lrFind();  await learn.recorder.plotLr();     // the curve with its suggestion
 *   await learn.recorder.plotLosses();                        // every fit so far, x in epochs, phases marked
 */
export class Recorder implements Callback {
  readonly order = 0;
  losses: number[] = [];
  smoothLosses: number[] = [];
  lrs: number[][] = [];
  moms: number[] = [];
  epochs: EpochRecord[] = [];
  /** Every fit this Learner ran, in order (a resumed fit replaces its stopped part). */
  fits: FitRecord[] = [];
  /** The last `lrFind()` result. */
  lrFind?: LrFindResult;

  onTrainEnd(s: TrainState): void {
    if (s.plan.kind === 'lrFind') return;
    const name = s.name ?? `fit ${this.fits.length + 1}`;
    const rec: FitRecord = { name, lossName: s.learner.loss?.lossName ?? 'loss', batchesPerEpoch: s.learner.data.train.length, losses: [...this.smoothLosses], epochs: [...this.epochs] };
    const at = this.fits.findIndex((f) => f.name === name && s.name !== undefined);
    if (at >= 0) this.fits[at] = rec;
    else this.fits.push(rec);
  }

  /** The LR finder's curve (smoothed loss against learning rate, log x) with fastai's suggestion marked. */
  lrFigure(suggestion = this.suggestedLr()): Figure {
    if (!this.lrFind) throw new Error('No LR finder run yet: call learn.lrFind() first.');
    return lrFinderFigure(this.lrFind.lrs, this.lrFind.losses, { suggestion });
  }

  /**
   * The learning rate to train at from the last LR finder run, by fastai's rules (`usableSuggestion`, on the curve
   * without its first tenth and last 5 points): the smoothed loss minimum / 10 when the curve has a minimum inside,
   * fastai v2's valley when it is still falling at the end (cosine loss); fastai's default 3e-3, said in a warning,
   * when the loss never fell.
   */
  suggestedLr(): number {
    if (!this.lrFind) throw new Error('No LR finder run yet: call learn.lrFind() first.');
    const s = usableSuggestion(this.lrFind);
    if (s) return s.value;
    console.warn("WARNING: the LR finder's loss never fell 5 % below its start (its first tenth ignored, as fastai v2 does): using fastai's default 3e-3 (run lrFind with more iterations, or pick a rate).");
    return 3e-3;
  }

  /** Displays {@link lrFigure} (fastai `recorder.plot()`) with the rate to train at marked; resolves to that same rate. */
  async plotLr(): Promise<number> {
    const lr = this.suggestedLr();
    await show(this.lrFigure(lr));
    return lr;
  }

  /** fastai v1's name for {@link plotLr}: `learn.recorder.plot()` after `lrFind`. */
  plot(): Promise<number> {
    return this.plotLr();
  }

  /** Train (per batch) and valid (per epoch) loss of every fit, x in epochs, one axis per loss kind. */
  lossesFigure(opts: { title?: string } = {}): Figure {
    if (!this.fits.length) throw new Error('No fit recorded yet: train first (fit or fitOneCycle).');
    return lossCurvesFigure(this.fits.map((f) => ({ name: f.name, lossName: f.lossName, train: f.losses, valid: f.epochs.map((e) => e.validLoss), batchesPerEpoch: f.batchesPerEpoch })), opts);
  }

  /** Displays {@link lossesFigure} (fastai `recorder.plot_losses()`). */
  async plotLosses(opts: { title?: string } = {}): Promise<void> {
    await show(this.lossesFigure(opts));
  }

  onTrainBegin(s: TrainState): void {
    if (s.plan.kind === 'lrFind') return;
    if (s.iteration === 0) this.restore({ losses: [], smoothLosses: [], lrs: [], moms: [], epochs: [] });
  }

  onBatchEnd(s: TrainState): void {
    if (s.plan.kind === 'lrFind') return;
    this.losses.push(s.loss);
    this.smoothLosses.push(s.smoothLoss);
    this.lrs.push([...s.lrs]);
    this.moms.push(s.mom);
  }

  onEpochEnd(s: TrainState): void {
    if (s.plan.kind !== 'lrFind' && s.last) this.epochs.push(s.last);
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
    onBatchBegin: (s) => fn('batchBegin', s),
    onBatchEnd: (s) => fn('batchEnd', s),
    onEpochEnd: (s) => fn('epochEnd', s),
    onTrainEnd: (s) => fn('trainEnd', s),
  };
}

/**
 * Turns SIGINT (Ctrl-C, a notebook's interrupt button) into a stop after the current batch (tslab's interrupt
 * abandons the awaited promise but not the loop, so the loop needs its own flag). The Learner adds it to every fit.
 */
export function interruptHandler(): Callback {
  let listener: (() => void) | undefined;
  return {
    order: 10,
    async onTrainBegin(s) {
      // Listen only after a macrotask: tslab runs a cell's synchronous part under vm's breakOnSigint, and a
      // SIGINT listener added inside that window makes the next interrupt kill the kernel (measured).
      await new Promise((r) => setImmediate(r));
      listener = () => s.learner.stop(INTERRUPTED);
      process.on('SIGINT', listener);
    },
    onTrainEnd() {
      if (listener) process.off('SIGINT', listener);
      listener = undefined;
    },
  };
}

/** What a checkpoint needs to continue the fit: the plan, the position and the loss smoother. */
export function resumeState(s: TrainState): Record<string, unknown> {
  return { plan: s.plan, position: { ...s.position }, smoother: { ...s.smoother } };
}

/**
 * Writes checkpoint `name` after every epoch but the last and once more when the fit ends (finished or stopped),
 * so `learn.resume(name)` continues where it stopped. Without a name it saves only an interrupted fit, as
 * 'interrupted'. Nothing is written when the fit failed (the previous checkpoint stays).
 */
export function checkpointer(name?: string): Callback {
  return {
    order: 80,
    async onEpochEnd(s) {
      if (name && s.position.epoch < s.plan.epochs && !s.stop) await s.learner.save(name, resumeState(s));
    },
    async onTrainEnd(s) {
      if (s.error !== undefined) return;
      if (name) await s.learner.save(name, resumeState(s));
      else if (s.stop && s.stopReason === INTERRUPTED) await s.learner.save('interrupted', resumeState(s));
    },
  };
}

const LR_FINDER_DONE = 'LR finder complete: see learn.recorder.plotLr()';

/** What the LR finder measured. */
export interface LrFindResult {
  /** Learning rate of the last layer group at each iteration. */
  lrs: number[];
  /** Smoothed (debiased EMA, β 0.98) loss at each iteration, as fastai's recorder plots it. */
  losses: number[];
  rawLosses: number[];
  /** Steepest descent of the smoothed curve (fastai's plot suggestion) and min-loss LR / 10, over the whole curve. */
  suggestion: { steepest: number; minOver10: number };
  /** The iterations asked for (fastai v2 ignores the first tenth of them when it suggests; see `usableSuggestion`). */
  numIt: number;
}

/**
 * fastai's LRFinder as a callback: records lr and smoothed loss per batch, stops after `numIt` batches or when
 * the smoothed loss exceeds 4× its best (or is not finite), and restores weights, BatchNorm statistics and
 * optimizer state bit-identically when the fit ends. `Learner.lrFind` runs a fit with it.
 */
export class LrFinder implements Callback {
  readonly order = 20;
  lrs: number[] = [];
  losses: number[] = [];
  rawLosses: number[] = [];
  private best = Infinity;
  private saved: tf.Tensor[] = [];
  private optState: unknown;

  constructor(readonly numIt = 100, readonly stopDiv = true) {}

  onTrainBegin(s: TrainState): void {
    this.saved = s.learner.model.model.weights.map((w) => tf.clone(w.read()));
    this.optState = s.learner.opt.getState();
    s.learner.opt.reset();
    s.validate = false;
  }

  onBatchBegin(s: TrainState): void {
    if (this.lrs.length >= this.numIt) this.halt(s, LR_FINDER_DONE);
  }

  onBatchEnd(s: TrainState): void {
    this.lrs.push(s.lrs[s.lrs.length - 1]!);
    this.rawLosses.push(s.loss);
    this.losses.push(s.smoothLoss);
    if (this.lrs.length === 1 || s.smoothLoss < this.best) this.best = s.smoothLoss;
    if (this.stopDiv && (s.smoothLoss > 4 * this.best || !Number.isFinite(s.smoothLoss))) this.halt(s, 'lr finder: the loss diverged');
    else if (this.lrs.length >= this.numIt) this.halt(s, LR_FINDER_DONE);
  }

  onTrainEnd(s: TrainState): void {
    s.learner.model.model.weights.forEach((w, i) => w.write(this.saved[i]!));
    this.saved.forEach((t) => t.dispose());
    this.saved = [];
    s.learner.opt.setState(this.optState as never);
  }

  result(): LrFindResult {
    return { lrs: this.lrs, losses: this.losses, rawLosses: this.rawLosses, suggestion: suggestLr(this.lrs, this.losses), numIt: this.numIt };
  }

  private halt(s: TrainState, reason: string): void {
    if (s.stop) return;
    s.stop = true;
    s.stopReason = reason;
  }
}

/** fastai's suggestions from an LR-finder curve: steepest descent (skipping 10 first / 5 last) and min/10. */
export function suggestLr(lrs: number[], losses: number[]): { steepest: number; minOver10: number } {
  let minI = 0;
  losses.forEach((l, i) => {
    if (l < losses[minI]!) minI = i;
  });
  // fastai's Recorder.plot: losses[10:-5], then numpy.gradient(...).argmin().
  const skip = losses.length > 20;
  const lo = skip ? 10 : 0;
  const part = losses.slice(lo, skip ? -5 : undefined);
  let steepI = 0;
  let steepG = Infinity;
  part.forEach((_, i) => {
    const g = part.length < 2 ? 0 : i === 0 ? part[1]! - part[0]! : i === part.length - 1 ? part[i]! - part[i - 1]! : (part[i + 1]! - part[i - 1]!) / 2;
    if (g < steepG) {
      steepG = g;
      steepI = i;
    }
  });
  return { steepest: lrs[lo + steepI] ?? NaN, minOver10: (lrs[minI] ?? NaN) / 10 };
}
