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
import { ensureBackend, tf } from '../backend/index';
import type { Loss } from '../losses';
import { type CnnModel, freezeTo } from '../models/index';
import { setDropoutStep } from '../models/layers';
import { checkpointer, interruptHandler, LrFinder, type LrFindResult, Recorder } from './callbacks';
import { defaults } from './defaults';
import { applyWeights, readCheckpoint, writeCheckpoint } from './checkpoint';
import type { Metric } from './metrics';
import { AdamW, type AdamWOptions } from './optimizer';
import { createProgress, type Progress, progressCallback, type ProgressMode } from './progress';
import { constant, exponential, type Hyper, type LrSpec, lrRange, oneCycle, type Schedule } from './schedule';
import type { Callback, EpochRecord, OneCycleOptions, Position, RecorderData, RunPlan, SmootherState, TrainData, TrainModel, TrainState } from './types';

export type { LrFindResult } from './callbacks';
export { suggestLr } from './callbacks';
export type { Position, RunPlan } from './types';

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
  /** The fit's name in the recorder and loss plots (default: the checkpoint name). */
  name?: string;
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
  /** The state of the fit running now (`stop()` sets its flag). */
  private current: TrainState | undefined;

  /**
   * Adds a callback, replacing one of the same class added before, so a notebook cell that adds it can be rerun
   * without the callback running twice (fastai's `learn.callbacks.append` does not guard this).
   */
  addCallback(cb: Callback): this {
    const cls = Object.getPrototypeOf(cb)?.constructor;
    this.callbacks = [...this.callbacks.filter((c) => cls === Object || Object.getPrototypeOf(c)?.constructor !== cls), cb];
    return this;
  }

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

  /**
   * Where a fit's dropout steps start (kept in its plan, so `resume` redraws the same masks). Each fit gets its
   * own masks: restarting at step 0 replays the previous fit's (image, mask) pairs of epoch 0 — the data order
   * restarts too — and a head that has seen them reports a training loss far below the truth (measured: 0.13
   * against 2.0 with fresh masks). A named fit's start comes from its name, so a resumed recipe in a new process
   * draws the masks the uninterrupted one would; unnamed fits count up.
   */
  private dropoutBase(opts: FitOptions): number {
    const name = opts.checkpoint ?? opts.name;
    if (!name) return (1 << 30) + 1_000_000 * ++this.unnamedFits;
    let h = 0x811c9dc5;
    for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return 1_000_000 * (1 + (h % 1000));
  }

  private unnamedFits = 0;

  /** Number of discriminative-LR layer groups. */
  get nGroups(): number {
    return this.model.layerGroups.length;
  }

  /** Asks a running fit to stop after the current batch (also triggered by SIGINT / notebook interrupt). */
  stop(reason = 'stopped by request'): void {
    if (this.current && !this.current.stop) {
      this.current.stop = true;
      this.current.stopReason = reason;
    }
  }

  /** Whether a fit (or the LR finder) is running. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /** fastai `fit_one_cycle`: one-cycle cosine schedule of LR (per group) and momentum. */
  async fitOneCycle(epochs: number, maxLr: LrSpec = { stop: 3e-3 }, opts: FitOptions & OneCycleOptions = {}): Promise<FitResult> {
    const { divFactor = 25, pctStart = 0.3, moms = [0.95, 0.85] } = opts;
    const plan: RunPlan = { kind: 'oneCycle', epochs, lrs: lrRange(maxLr, this.nGroups), wd: opts.wd ?? this.wd, oneCycle: { divFactor, pctStart, moms }, dropoutBase: this.dropoutBase(opts) };
    return this.run(plan, { epoch: 0, batch: 0, iteration: 0 }, opts);
  }

  /** fastai `fit`: constant learning rate(s), momentum 0.9. */
  async fit(epochs: number, lr: LrSpec = { stop: 3e-3 }, opts: FitOptions = {}): Promise<FitResult> {
    const plan: RunPlan = { kind: 'constant', epochs, lrs: lrRange(lr, this.nGroups), wd: opts.wd ?? this.wd, mom: 0.9, dropoutBase: this.dropoutBase(opts) };
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
    if (plan?.kind === 'lrFind') throw new Error(`Checkpoint '${name}' is not a fit.`);
    if (!plan || !position) throw new Error(`Checkpoint '${name}' was saved outside a fit (no schedule position); use load('${name}') and fit again.`);
    const frozen = new Set((state.frozen as string[] | undefined) ?? []);
    for (const layer of this.model.model.layers) if (layer.weights.length > 0) layer.trainable = !frozen.has(layer.name);
    return this.run(plan, position, { ...opts, checkpoint: name }, state.smoother as SmootherState | undefined);
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
    await ensureBackend();
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

  /**
   * fastai `get_preds`: predictions and targets over a loader (default the validation set; the caller disposes
   * `preds`). With a cross-entropy loss they are probabilities (softmax), as fastai returns them; `{ logits: true }`
   * gives the model's raw outputs (always raw for other losses, e.g. an embedding head's vectors).
   */
  async getPreds(loader = this.data.valid, opts: { logits?: boolean } = {}): Promise<{ preds: tf.Tensor2D; targets: number[] }> {
    const softmax = !opts.logits && this.loss.lossName === 'crossEntropy';
    const parts: tf.Tensor[] = [];
    const targets: number[] = [];
    for await (const batch of loader) {
      parts.push(tf.tidy(() => {
        const out = this.model.model.apply(batch.x, { training: false }) as tf.Tensor;
        return softmax ? tf.softmax(out) : out;
      }));
      targets.push(...(batch.y.dataSync() as unknown as Iterable<number>));
      batch.x.dispose();
      batch.y.dispose();
    }
    const preds = tf.concat(parts) as tf.Tensor2D;
    parts.forEach((p) => p.dispose());
    return { preds, targets };
  }

  /**
   * fastai `lr_find`: a fit driven by the LrFinder callback: exponentially growing LR, debiased EMA of the
   * loss, stops at numIt iterations or when the smoothed loss exceeds 4× its best (or is NaN). Weights,
   * BatchNorm statistics and optimizer state are restored bit-identically afterwards. The result is also
   * kept as `recorder.lrFind` (plot it with `learn.recorder.plotLr()`).
   */
  async lrFind(opts: LrFindOptions = {}): Promise<LrFindResult> {
    const numIt = opts.numIt ?? 100;
    const finder = new LrFinder(numIt, opts.stopDiv ?? true);
    const plan: RunPlan = {
      kind: 'lrFind',
      epochs: Math.ceil(numIt / this.data.train.length),
      lrs: lrRange(opts.startLr ?? 1e-7, this.nGroups),
      endLrs: lrRange(opts.endLr ?? 10, this.nGroups),
      numIt,
      wd: opts.wd ?? this.wd,
    };
    await this.run(plan, { epoch: 0, batch: 0, iteration: 0 }, { callbacks: [finder] });
    const result = finder.result();
    this.recorder.lrFind = result;
    return result;
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
  private trainStep(batch: { x: tf.Tensor; y: tf.Tensor1D }, vars: TrainVar[], hyper: Hyper, wd: number, throwOnNaN: boolean, step: number): { loss: number } {
    // Dropout masks derive from the schedule position, so a resumed fit redraws exactly the masks it would have.
    setDropoutStep(this.model.model, step);
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
    if (plan.kind === 'lrFind') return exponential(plan.numIt!, plan.lrs, plan.endLrs!);
    const total = plan.epochs * this.data.train.length;
    return plan.kind === 'oneCycle' ? oneCycle(total, plan.lrs, plan.oneCycle) : constant(total, plan.lrs, plan.mom);
  }

  /**
   * The training loop shared by fit, fitOneCycle, resume and lrFind. Everything around the optimisation step
   * is a callback: the recorder, the interrupt handler, checkpoints, progress, the LR finder, the user's.
   */
  private async run(plan: RunPlan, from: Position, opts: FitOptions, smootherState?: SmootherState): Promise<FitResult> {
    await ensureBackend();
    if (this.current) throw new Error('This Learner is already training; await the running fit (or call stop()) first.');
    if (plan.lrs.length !== this.nGroups) throw new Error(`The plan has ${plan.lrs.length} learning rates but the model has ${this.nGroups} layer groups.`);
    const schedule = this.scheduleOf(plan);
    const finding = plan.kind === 'lrFind';
    const callbacks: Callback[] = [
      ...(finding ? [] : [this.recorder, ...this.callbacks, ...defaults.extraCallbacks, checkpointer(opts.checkpoint)]),
      interruptHandler(),
      progressCallback(this.progress, finding ? 'LR finder' : undefined),
      ...(opts.callbacks ?? []),
    ].sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
    const vars = this.trainableVars();
    const smoother = new Smoother();
    if (from.iteration > 0 && smootherState) Object.assign(smoother, smootherState);
    const state: TrainState = {
      learner: this,
      plan,
      name: opts.name ?? opts.checkpoint,
      epochs: plan.epochs,
      epoch: from.epoch,
      batch: 0,
      iteration: from.iteration,
      totalIterations: schedule.total,
      loss: NaN,
      smoothLoss: NaN,
      ...schedule.at(from.iteration),
      position: { ...from },
      smoother: { n: smoother.n, mov: smoother.mov },
      metricNames: this.metrics.map((m) => m.metricName),
      validate: true,
      stop: false,
    };
    const emit = async (event: keyof Callback): Promise<void> => {
      for (const cb of callbacks) await (cb[event] as ((s: TrainState) => void | Promise<void>) | undefined)?.call(cb, state);
    };
    this.current = state;
    const position = state.position;
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
          if (b < position.batch || state.stop) {
            batch.x.dispose();
            batch.y.dispose();
            if (b++ < position.batch) continue;
            break;
          }
          Object.assign(state, schedule.at(position.iteration));
          await emit('onBatchBegin');
          if (state.stop) {
            batch.x.dispose();
            batch.y.dispose();
            break;
          }
          const hyper: Hyper = { lrs: state.lrs, mom: state.mom };
          // The LR finder's dropout steps are apart from any fit's iterations.
          const { loss } = this.trainStep(batch, vars, hyper, plan.wd, !finding, (finding ? LR_FIND_STEPS : plan.dropoutBase ?? 0) + position.iteration);
          position.batch = ++b;
          position.iteration++;
          const smooth = smoother.add(loss);
          Object.assign(state, { batch: b - 1, iteration: position.iteration, loss, smoothLoss: smooth, smoother: { n: smoother.n, mov: smoother.mov } });
          await emit('onBatchEnd');
        }
        if (position.batch < this.data.train.length) break; // stopped mid-epoch: no validation row
        if (state.validate) {
          const valid = await this.validate();
          state.last = { epoch: position.epoch, trainLoss: state.smoothLoss, validLoss: valid.loss, metrics: valid.metrics, seconds: (Date.now() - t0) / 1000 };
        }
        // The position `resume` continues from is the next epoch's start (checkpoints on epochEnd save it).
        position.epoch++;
        position.batch = 0;
        await emit('onEpochEnd');
      }
    } catch (err) {
      state.error = err;
    } finally {
      this.current = undefined;
    }
    await emit('onTrainEnd');
    if (state.error !== undefined) throw state.error;
    const stopped = state.stop ? state.stopReason ?? 'stopped by a callback' : undefined;
    return fitResult(this.recorder.epochs.slice(), finding ? undefined : stopped);
  }
}

/** A FitResult that prints as one rounded line (a notebook cell ending in a fit prints it). */
function fitResult(epochs: EpochRecord[], stopped?: string): FitResult {
  const r: FitResult = { epochs, stopped };
  Object.defineProperty(r, Symbol.for('nodejs.util.inspect.custom'), {
    enumerable: false,
    value: () => {
      const last = epochs.at(-1);
      const metrics = last ? Object.entries(last.metrics).map(([k, v]) => `, ${k} ${v.toFixed(4)}`).join('') : '';
      return `${epochs.length} epoch${epochs.length === 1 ? '' : 's'}${last ? `: valid loss ${last.validLoss.toFixed(4)}${metrics}` : ''}${stopped ? ` (stopped: ${stopped})` : ''}`;
    },
  });
  return r;
}

/** Dropout steps of the LR finder start here, apart from any fit's iterations. */
const LR_FIND_STEPS = 10_000_000;
