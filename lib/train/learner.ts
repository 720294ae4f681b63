/**
 * A fastai v1 (1.0.33) style Learner: AdamW with per-layer-group learning rates, one-cycle and constant
 * schedules, the LR finder, freeze/unfreeze, checkpoints with optimizer state and exact resume, a stop
 * flag wired to SIGINT (tslab's interrupt), NaN/Inf protection and live progress.
 *
 *   const learn = new Learner({ model, data, loss: crossEntropy, metrics: [accuracy] });
 *   const { suggestion } = await learn.lrFind();
 *   await learn.fitOneCycle(4, 1e-3);
 *   learn.unfreeze();
 *   await learn.fitOneCycle(2, slice(1e-6, 1e-4), { checkpoint: 'stage1' });
 *   await learn.resume('stage1');   // after an interrupt: continues the same schedule and data order
 */
import * as path from 'node:path';
import { tf } from '../backend/index';
import type { Loss } from '../losses';
import { type CnnModel, freezeTo } from '../models/index';
import { type Callback, type EpochRecord, type RecorderData, Recorder, type TrainState } from './callbacks';
import { applyWeights, readCheckpoint, writeCheckpoint } from './checkpoint';
import type { Metric } from './metrics';
import { AdamW, type AdamWOptions } from './optimizer';
import { createProgress, type Progress, type ProgressMode } from './progress';
import { constant, exponential, type Hyper, type LrSpec, lrRange, oneCycle, type OneCycleOptions, type Schedule } from './schedule';
import type { TrainData, TrainModel } from './types';

export interface LearnerOptions {
  model: TrainModel;
  data: TrainData;
  loss: Loss;
  metrics?: Metric[];
  /** Decoupled weight decay (fastai default 1e-2), also on BatchNorm weights (fastai bn_wd=True). */
  wd?: number;
  /** Root for checkpoints: `save(name)` writes `<path>/<modelDir>/<name>`. */
  path?: string;
  modelDir?: string;
  /** Callbacks run on every fit, after the recorder. */
  callbacks?: Callback[];
  /** 'auto' (tslab display in notebooks, bar in terminals), 'notebook', 'terminal' or 'none'. */
  progress?: ProgressMode | Progress;
  /** AdamW's β2 and eps. */
  opt?: Omit<AdamWOptions, 'wd'>;
}

export interface FitOptions {
  callbacks?: Callback[];
  /** Overrides the Learner's weight decay for this fit. */
  wd?: number;
  /** Checkpoint name written after every epoch and when stopped, so `resume(name)` can continue. */
  checkpoint?: string;
}

/** The schedule of a fit, kept in checkpoints so `resume` rebuilds it exactly. */
export interface RunPlan {
  kind: 'oneCycle' | 'constant';
  epochs: number;
  lrs: number[];
  wd: number;
  oneCycle?: OneCycleOptions;
  mom?: number;
}

/** Where a fit is: the next epoch and batch to run, and iterations done. */
export interface Position {
  epoch: number;
  batch: number;
  iteration: number;
}

export interface FitResult {
  epochs: EpochRecord[];
  /** Why training stopped early, if it did. */
  stopped?: string;
}

export interface LrFindOptions {
  startLr?: LrSpec;
  endLr?: LrSpec;
  numIt?: number;
  /** Stop when the smoothed loss exceeds 4× its best or is NaN (fastai default true). */
  stopDiv?: boolean;
  wd?: number;
}

export interface LrFindResult {
  /** Learning rate of the last layer group at each iteration. */
  lrs: number[];
  /** Smoothed (debiased EMA, β 0.98) loss at each iteration, as fastai's recorder plots it. */
  losses: number[];
  rawLosses: number[];
  /** Steepest descent of the smoothed curve (fastai's plot suggestion) and min-loss LR / 10. */
  suggestion: { steepest: number; minOver10: number };
}

/** Thrown when a batch produces a NaN/Inf loss or gradient; the weights are those before that batch. */
export class DivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DivergedError';
  }
}

/** fastai `SmoothenValue`: debiased exponential moving average. */
class Smoother {
  n = 0;
  mov = 0;
  constructor(readonly beta = 0.98) {}
  add(v: number): number {
    this.n += 1;
    this.mov = this.beta * this.mov + (1 - this.beta) * v;
    return this.mov / (1 - this.beta ** this.n);
  }
}

interface TrainVar {
  name: string;
  variable: tf.Variable;
  group: number;
}

/** Collects every leaf layer (descending into nested models) with its weights. */
function leafLayers(layer: tf.layers.Layer, out: tf.layers.Layer[] = []): tf.layers.Layer[] {
  const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
  if (inner) inner.forEach((l) => leafLayers(l, out));
  else out.push(layer);
  return out;
}

export class Learner {
  model: TrainModel;
  data: TrainData;
  loss: Loss;
  metrics: Metric[];
  wd: number;
  path: string;
  modelDir: string;
  callbacks: Callback[];
  readonly recorder = new Recorder();
  readonly opt: AdamW;
  private progress: Progress;
  private stopRequested: string | undefined;
  private running = false;

  constructor(opts: LearnerOptions) {
    this.model = opts.model;
    this.data = opts.data;
    this.loss = opts.loss;
    this.metrics = opts.metrics ?? [];
    this.wd = opts.wd ?? 1e-2;
    this.path = opts.path ?? '.';
    this.modelDir = opts.modelDir ?? 'models';
    this.callbacks = opts.callbacks ?? [];
    this.opt = new AdamW({ ...opts.opt, wd: this.wd });
    const p = opts.progress ?? 'auto';
    this.progress = typeof p === 'string' ? createProgress(p) : p;
  }

  /** Number of discriminative-LR layer groups. */
  get nGroups(): number {
    return this.model.layerGroups.length;
  }

  /** Asks a running fit to stop after the current batch (also triggered by SIGINT / notebook interrupt). */
  stop(reason = 'stopped by request'): void {
    if (this.running) this.stopRequested = reason;
  }

  /** fastai `fit_one_cycle`: one-cycle cosine schedule of LR (per group) and momentum. */
  async fitOneCycle(epochs: number, maxLr: LrSpec = { stop: 3e-3 }, opts: FitOptions & OneCycleOptions = {}): Promise<FitResult> {
    const { divFactor = 25, pctStart = 0.3, moms = [0.95, 0.85] } = opts;
    const plan: RunPlan = { kind: 'oneCycle', epochs, lrs: lrRange(maxLr, this.nGroups), wd: opts.wd ?? this.wd, oneCycle: { divFactor, pctStart, moms } };
    return this.run(plan, { epoch: 0, batch: 0, iteration: 0 }, opts);
  }

  /** fastai `fit`: constant learning rate(s), momentum 0.9. */
  async fit(epochs: number, lr: LrSpec = { stop: 3e-3 }, opts: FitOptions = {}): Promise<FitResult> {
    const plan: RunPlan = { kind: 'constant', epochs, lrs: lrRange(lr, this.nGroups), wd: opts.wd ?? this.wd, mom: 0.9 };
    return this.run(plan, { epoch: 0, batch: 0, iteration: 0 }, opts);
  }

  /**
   * Continues a fit from checkpoint `name` (written with `{checkpoint: name}`): restores weights,
   * optimizer, recorder and schedule position, then runs the rest with the same data order.
   */
  async resume(name: string, opts: Omit<FitOptions, 'checkpoint' | 'wd'> = {}): Promise<FitResult> {
    const state = await this.load(name);
    const plan = state.plan as RunPlan | undefined;
    const position = state.position as Position | undefined;
    if (!plan || !position) throw new Error(`Checkpoint '${name}' was saved outside a fit (no schedule position); use load('${name}') and fit again.`);
    const frozen = new Set((state.frozen as string[] | undefined) ?? []);
    for (const layer of this.model.model.layers) if (layer.weights.length > 0) layer.trainable = !frozen.has(layer.name);
    return this.run(plan, position, { ...opts, checkpoint: name }, { smoother: state.smoother as { n: number; mov: number } | undefined });
  }

  /** fastai `freeze`: trains only the last layer group (plus BatchNorm, train_bn). Resets the optimizer. */
  freeze(): void {
    this.freezeTo(-1);
  }

  /** fastai `unfreeze`: trains every layer group. Resets the optimizer. */
  unfreeze(): void {
    this.freezeTo(0);
  }

  /**
   * fastai `freeze_to(k)`: groups before k are frozen except BatchNorm layers (train_bn=True); k < 0
   * counts from the end. Resets the optimizer state, as fastai re-creates its optimizer.
   */
  freezeTo(k: number): void {
    // models' freezeTo reads only `model` and `layerGroups`, which every TrainModel has.
    freezeTo(this.model as CnnModel, k);
    this.opt.reset();
  }

  /** Checkpoint folder for `name`. */
  checkpointDir(name: string): string {
    return path.resolve(this.path, this.modelDir, name);
  }

  /** Saves model, optimizer state and (during a fit) the schedule position as `<path>/models/<name>`. */
  async save(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const dir = this.checkpointDir(name);
    // Which layers are frozen, so `resume` continues a frozen phase frozen.
    const frozen = this.model.model.layers.filter((l) => !l.trainable && l.weights.length > 0).map((l) => l.name);
    const state = { version: 1, lossName: this.loss.lossName, classes: this.data.classes, frozen, recorder: this.recorder.data(), ...extra };
    await writeCheckpoint(dir, this.model, this.opt.getState(), state);
    return dir;
  }

  /** Loads `<path>/models/<name>` into this model (and the optimizer unless `weightsOnly`); returns its run state. */
  async load(name: string, opts: { weightsOnly?: boolean } = {}): Promise<Record<string, unknown>> {
    const ck = readCheckpoint(this.checkpointDir(name));
    try {
      applyWeights(this.model.model, ck);
    } finally {
      ck.dispose();
    }
    if (!opts.weightsOnly) {
      if (ck.optimizer) this.opt.setState(ck.optimizer);
      else this.opt.reset();
      const rec = ck.state.recorder as RecorderData | undefined;
      if (rec) this.recorder.restore(rec);
    }
    return ck.state;
  }

  /** Loss and metrics on the validation set (batch-size-weighted means). */
  async validate(loader = this.data.valid): Promise<{ loss: number; metrics: Record<string, number> }> {
    let n = 0;
    let lossSum = 0;
    const sums = this.metrics.map(() => 0);
    for await (const batch of loader) {
      const values = tf.tidy(() => {
        const pred = this.model.model.apply(batch.x, { training: false }) as tf.Tensor;
        return tf.stack([this.loss(pred, batch.y), ...this.metrics.map((m) => m(pred, batch.y))]);
      });
      const v = values.dataSync();
      const bs = batch.x.shape[0]!;
      values.dispose();
      batch.x.dispose();
      batch.y.dispose();
      lossSum += v[0]! * bs;
      sums.forEach((_, i) => (sums[i]! += v[i + 1]! * bs));
      n += bs;
    }
    if (n === 0) throw new Error('The validation loader yielded no batches; give the DataBunch a non-empty valid split.');
    return { loss: lossSum / n, metrics: Object.fromEntries(this.metrics.map((m, i) => [m.metricName, sums[i]! / n])) };
  }

  /** Model outputs and targets over a loader (the caller disposes `preds`). */
  async getPreds(loader = this.data.valid): Promise<{ preds: tf.Tensor2D; targets: number[] }> {
    const parts: tf.Tensor[] = [];
    const targets: number[] = [];
    for await (const batch of loader) {
      parts.push(tf.tidy(() => this.model.model.apply(batch.x, { training: false }) as tf.Tensor));
      targets.push(...(batch.y.dataSync() as unknown as Iterable<number>));
      batch.x.dispose();
      batch.y.dispose();
    }
    const preds = tf.concat(parts) as tf.Tensor2D;
    parts.forEach((p) => p.dispose());
    return { preds, targets };
  }

  /**
   * fastai `lr_find`: exponentially growing LR, debiased EMA of the loss, stops at numIt iterations or
   * when the smoothed loss exceeds 4× its best (or is NaN). Weights, BatchNorm statistics and optimizer
   * state are restored bit-identically afterwards.
   */
  async lrFind(opts: LrFindOptions = {}): Promise<LrFindResult> {
    const numIt = opts.numIt ?? 100;
    const stopDiv = opts.stopDiv ?? true;
    const start = lrRange(opts.startLr ?? 1e-7, this.nGroups);
    const end = lrRange(opts.endLr ?? 10, this.nGroups);
    const schedule = exponential(numIt, start, end);
    const saved = this.model.model.weights.map((w) => tf.clone(w.read()));
    const optState = this.opt.getState();
    const lrs: number[] = [];
    const losses: number[] = [];
    const rawLosses: number[] = [];
    let best = 0;
    this.running = true;
    const smoother = new Smoother();
    const vars = this.trainableVars();
    try {
      this.opt.reset();
      const epochs = Math.ceil(numIt / this.data.train.length);
      outer: for (let epoch = 0; epoch < epochs; epoch++) {
        this.data.train.setEpoch(epoch);
        for await (const batch of this.data.train) {
          if (lrs.length >= numIt || this.stopRequested) {
            batch.x.dispose();
            batch.y.dispose();
            break outer;
          }
          const hyper = schedule.at(lrs.length);
          const { loss } = this.trainStep(batch, vars, hyper, opts.wd ?? this.wd, false);
          const smooth = smoother.add(loss);
          lrs.push(hyper.lrs[hyper.lrs.length - 1]!);
          rawLosses.push(loss);
          losses.push(smooth);
          if (lrs.length === 1 || smooth < best) best = smooth;
          if (stopDiv && (smooth > 4 * best || !Number.isFinite(smooth))) break outer;
        }
      }
    } finally {
      this.running = false;
      this.stopRequested = undefined;
      this.model.model.weights.forEach((w, i) => w.write(saved[i]!));
      saved.forEach((t) => t.dispose());
      this.opt.setState(optState);
    }
    return { lrs, losses, rawLosses, suggestion: suggestLr(lrs, losses) };
  }

  /** Trainable weights with their layer group, from `layerGroups` (every weighted layer must be in one). */
  private trainableVars(): TrainVar[] {
    const groupOf = new Map<string, number>();
    this.model.layerGroups.forEach((names, g) => names.forEach((n) => groupOf.set(n, g)));
    const out: TrainVar[] = [];
    for (const layer of leafLayers(this.model.model as unknown as tf.layers.Layer)) {
      for (const w of layer.trainableWeights) {
        const group = groupOf.get(layer.name);
        if (group === undefined) throw new Error(`Layer '${layer.name}' has trainable weights but is in no layer group; add it to model.layerGroups.`);
        out.push({ name: w.originalName, variable: (w as unknown as { read(): tf.Variable }).read(), group });
      }
    }
    return out;
  }

  /** Non-trainable weights of BatchNorm layers (moving mean/variance), which training mode updates. */
  private bnStatistics(): tf.LayerVariable[] {
    return leafLayers(this.model.model as unknown as tf.layers.Layer)
      .filter((l) => /batchnorm/i.test(l.getClassName()))
      .flatMap((l) => l.nonTrainableWeights);
  }

  /**
   * One optimisation step. The update is skipped when the loss or the gradient norm is not finite,
   * so the weights stay those of the last good batch. Disposes the batch.
   */
  private trainStep(batch: { x: tf.Tensor; y: tf.Tensor1D }, vars: TrainVar[], hyper: Hyper, wd: number, throwOnNaN: boolean): { loss: number } {
    // The forward pass moves BatchNorm statistics; keep them to undo a failed batch (a few KB).
    const stats = this.bnStatistics().map((w) => ({ w, before: tf.clone(w.read()) }));
    const { value, grads } = tf.variableGrads(() => this.loss(this.model.model.apply(batch.x, { training: true }) as tf.Tensor, batch.y), vars.map((v) => v.variable));
    const gradList = vars.map((v) => grads[v.variable.name]!);
    const gsq = tf.tidy(() => (gradList.length ? tf.addN(gradList.map((g) => tf.sum(tf.square(g)))) : tf.scalar(0)));
    const loss = value.dataSync()[0]!;
    const gnorm = gsq.dataSync()[0]!;
    const finite = Number.isFinite(loss) && Number.isFinite(gnorm);
    if (finite) {
      this.opt.options.wd = wd;
      this.opt.step(vars, gradList, vars.map((v) => v.group), hyper);
    } else stats.forEach(({ w, before }) => w.write(before));
    stats.forEach(({ before }) => before.dispose());
    value.dispose();
    gsq.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    batch.x.dispose();
    batch.y.dispose();
    if (!finite && throwOnNaN) {
      const what = Number.isFinite(loss) ? `gradient norm² is ${gnorm}` : `loss is ${loss}`;
      throw new DivergedError(
        `Training diverged: ${what} (lr ${hyper.lrs.map((l) => l.toExponential(2)).join(', ')}). The update was skipped, so the weights are those ` +
          `after the last good batch. Lower the learning rate (see lrFind()) or check the inputs for NaN.`,
      );
    }
    return { loss };
  }

  private scheduleOf(plan: RunPlan): Schedule {
    const total = plan.epochs * this.data.train.length;
    return plan.kind === 'oneCycle' ? oneCycle(total, plan.lrs, plan.oneCycle) : constant(total, plan.lrs, plan.mom);
  }

  /** The training loop shared by fit, fitOneCycle and resume. */
  private async run(plan: RunPlan, from: Position, opts: FitOptions, resumed?: { smoother?: { n: number; mov: number } }): Promise<FitResult> {
    if (this.running) throw new Error('This Learner is already training; await the running fit (or call stop()) first.');
    if (plan.lrs.length !== this.nGroups) throw new Error(`The plan has ${plan.lrs.length} learning rates but the model has ${this.nGroups} layer groups.`);
    const schedule = this.scheduleOf(plan);
    const callbacks: Callback[] = [this.recorder, ...this.callbacks, ...(opts.callbacks ?? [])];
    const vars = this.trainableVars();
    const position = { ...from };
    const smoother = new Smoother();
    if (from.iteration > 0 && resumed?.smoother) Object.assign(smoother, resumed.smoother);
    const state: TrainState = {
      learner: this,
      epochs: plan.epochs,
      epoch: position.epoch,
      batch: 0,
      iteration: position.iteration,
      totalIterations: schedule.total,
      loss: NaN,
      smoothLoss: NaN,
      ...schedule.at(position.iteration),
      stop: false,
    };
    const emit = async (event: keyof Callback): Promise<void> => {
      for (const cb of callbacks) await cb[event]?.(state);
    };
    const onSigint = (): void => this.stop(INTERRUPTED);
    this.running = true;
    // Listen only after a macrotask: tslab runs a cell's synchronous part under vm's breakOnSigint, and a
    // SIGINT listener added inside that window makes the next interrupt kill the kernel (measured).
    await new Promise((r) => setImmediate(r));
    process.on('SIGINT', onSigint);
    this.stopRequested = undefined;
    const checkpoint = async (): Promise<void> => {
      if (opts.checkpoint) await this.save(opts.checkpoint, { plan, position, smoother: { n: smoother.n, mov: smoother.mov } });
    };
    this.progress.begin({ epochs: plan.epochs, totalIterations: schedule.total, metricNames: this.metrics.map((m) => m.metricName), startIteration: position.iteration });
    let failure: unknown;
    try {
      await emit('onTrainBegin');
      while (position.epoch < plan.epochs && !state.stop) {
        const t0 = Date.now();
        state.epoch = position.epoch;
        this.data.train.setEpoch(position.epoch);
        await emit('onEpochBegin');
        let b = 0;
        for await (const batch of this.data.train) {
          // A resumed run replays the epoch's data order and skips the batches already trained on.
          if (b < position.batch || this.stopRequested || state.stop) {
            batch.x.dispose();
            batch.y.dispose();
            if (b++ < position.batch) continue;
            break;
          }
          const hyper = schedule.at(position.iteration);
          const { loss } = this.trainStep(batch, vars, hyper, plan.wd, true);
          position.batch = ++b;
          position.iteration++;
          Object.assign(state, { batch: b - 1, iteration: position.iteration, loss, smoothLoss: smoother.add(loss), lrs: hyper.lrs, mom: hyper.mom });
          this.progress.batch(position.iteration, state.smoothLoss);
          await emit('onBatchEnd');
        }
        if (this.stopRequested && !state.stop) {
          state.stop = true;
          state.stopReason = this.stopRequested;
        }
        if (position.batch < this.data.train.length) break; // stopped mid-epoch: no validation row
        const valid = await this.validate();
        state.last = { epoch: position.epoch, trainLoss: state.smoothLoss, validLoss: valid.loss, metrics: valid.metrics, seconds: (Date.now() - t0) / 1000 };
        await emit('onEpochEnd');
        this.progress.epoch(state.last);
        position.epoch++;
        position.batch = 0;
        if (position.epoch < plan.epochs && !state.stop) await checkpoint();
      }
      // The final (or stopped) position: `resume` continues from here.
      if (opts.checkpoint) await checkpoint();
      else if (state.stop && stopReasonIsInterrupt(state.stopReason)) await this.save('interrupted', { plan, position, smoother: { n: smoother.n, mov: smoother.mov } });
    } catch (err) {
      failure = err;
    } finally {
      process.off('SIGINT', onSigint);
      this.running = false;
      this.stopRequested = undefined;
    }
    const stopped = failure instanceof Error ? failure.message : state.stop ? state.stopReason ?? 'stopped by a callback' : undefined;
    try {
      await emit('onTrainEnd');
    } finally {
      this.progress.end(stopped);
    }
    if (failure) throw failure;
    return { epochs: this.recorder.epochs.slice(), stopped };
  }
}

const INTERRUPTED = 'interrupted (SIGINT)';
const stopReasonIsInterrupt = (r: string | undefined): boolean => r === INTERRUPTED;

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
