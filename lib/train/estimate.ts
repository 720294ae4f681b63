/**
 * Told before committing hours: a callback that, after the first batches of a run, prints what the whole run will
 * take at the measured speed, per phase and in total, and says again when a later phase turns out slower or faster.
 *
 *   const eta = new RunEstimate([{ name: 'stage1-frozen', epochs: 4 }, { name: 'stage1-unfrozen', epochs: 2 },
 *     { name: 'stage2a', epochs: 5 }, { name: 'stage2b', epochs: 3 }], { trainBatches: data.train.length, validBatches: data.valid.length });
 *   learn.callbacks.push(eta);      // every fit of this learner (and its LR finder runs) is measured
 *   eta.lines                       // what it printed
 *
 * The speed is measured, not guessed: seconds per training batch over batches 2..1+`afterBatches` of the first fit
 * (the first batch pays for kernel compilation and weight upload), validation at a third of that (a forward pass
 * without the backward one; replaced by the measured value after the first validation). It is measured again over
 * each phase's first epoch and at the start of each later phase (a frozen body trains faster than the whole model),
 * and re-said when that moves the total by more than 15 %.
 */
import { DEFAULTS } from '../defaults';
import { PHASE_NAMES, PHASE_ORDER, type PhaseKey } from './recipe';
import type { Callback, TrainState } from './types';

/** One phase of a planned run: a named fit of `epochs` epochs (or `iterations` training batches, e.g. an LR finder). */
export interface PlannedPhase {
  name: string;
  epochs?: number;
  iterations?: number;
}

/** Options of {@link RunEstimate}. */
export interface RunEstimateOptions {
  /** Training batches per epoch (data.train.length). */
  trainBatches: number;
  /** Validation batches per epoch (data.valid.length). */
  validBatches?: number;
  /** Batches measured before the first estimate (default 5, after one warm-up batch). */
  afterBatches?: number;
  /** Where the lines go (default console.log). */
  log?: (line: string) => void;
}

/** The estimate of one phase, in seconds. */
export interface PhaseEstimate {
  name: string;
  seconds: number;
  /** Whether its own speed was measured (else: the speed of the phase measured last). */
  measured: boolean;
}

/** Seconds as words: 40 s, 12 min, 3.4 h, 2.1 days. */
export function humanDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

/** Prints an estimate of the whole run after its first batches (see the module comment). */
export class RunEstimate implements Callback {
  /** After the recorder and the interrupt handler, before checkpoints and progress. */
  readonly order = 20;
  /** Every line printed. */
  readonly lines: string[] = [];
  /** Seconds per training batch measured in each phase (by name). */
  readonly secondsPerBatch = new Map<string, number>();
  private validSeconds?: number;
  private phaseIndex = -1;
  private current?: { name: string; batches: number; start?: number };
  private validStart?: number;
  private lastTotal?: number;
  private readonly after: number;
  private readonly log: (line: string) => void;

  /**
   * The two-stage recipe as twoStageRecipe runs it: an LR finder of `lrFindIterations` before each frozen phase, then
   * stage 1 frozen and unfrozen, stage 2a and 2b with `epochs` each (a phase of 0 epochs is left out).
   */
  static forRecipe(epochs: Record<PhaseKey, number>, data: { train: { length: number }; valid: { length: number } }, opts: { lrFindIterations?: number; log?: (line: string) => void } = {}): RunEstimate {
    const phases: PlannedPhase[] = [];
    for (const key of PHASE_ORDER) {
      if (opts.lrFindIterations && (key === 'stage1' || key === 'stage2a')) phases.push({ name: 'lrFind', iterations: opts.lrFindIterations });
      if (epochs[key] > 0) phases.push({ name: PHASE_NAMES[key], epochs: epochs[key] });
    }
    return new RunEstimate(phases, { trainBatches: data.train.length, validBatches: data.valid.length, log: opts.log });
  }

  constructor(readonly phases: PlannedPhase[], readonly opts: RunEstimateOptions) {
    if (!phases.length) throw new Error('RunEstimate: no phases planned');
    this.after = opts.afterBatches ?? 5;
    this.log = opts.log ?? ((l) => console.log(l));
  }

  onTrainBegin(s: TrainState): void {
    const name = s.name ?? (s.plan.kind === 'lrFind' ? 'lrFind' : `fit ${this.phaseIndex + 2}`);
    const at = this.phases.findIndex((p, i) => p.name === name && i > this.phaseIndex);
    // After the plan's last phase (e.g. the label-source comparison's extra fits) there is nothing left to estimate.
    if (at < 0 && this.phaseIndex === this.phases.length - 1) return void (this.current = undefined);
    if (at >= 0) this.phaseIndex = at;
    this.current = { name, batches: 0 };
  }

  onBatchBegin(): void {
    // The clock starts after the warm-up batch: that one compiles kernels and uploads weights.
    if (this.current && this.current.batches === 1) this.current.start = performance.now();
  }

  onBatchEnd(s: TrainState): void {
    const c = this.current;
    if (!c) return;
    c.batches++;
    const endOfEpoch = s.batch === this.opts.trainBatches - 1;
    // The loop validates right after an epoch's last training batch.
    if (endOfEpoch) this.validStart = performance.now();
    if (c.start === undefined) return;
    // Measured twice per phase: after its first batches (said at once), then over its whole first epoch (re-said
    // only when it moves the total by more than 15 %).
    const early = c.batches === 1 + this.after && !this.secondsPerBatch.has(c.name);
    const wholeEpoch = endOfEpoch && c.batches === this.opts.trainBatches && c.batches > 1 + this.after;
    if (!early && !wholeEpoch) return;
    const perBatch = (performance.now() - c.start) / 1000 / (c.batches - 1);
    const first = this.secondsPerBatch.size === 0;
    this.secondsPerBatch.set(c.name, perBatch);
    const total = this.estimate().reduce((n, p) => n + p.seconds, 0);
    if (first || Math.abs(total - this.lastTotal!) > 0.15 * this.lastTotal!) this.say(c.name, perBatch, first);
  }

  onEpochEnd(s: TrainState): void {
    // Validation ran between the epoch's last batch and here: timed once.
    if (this.validSeconds === undefined && this.validStart !== undefined && s.validate) this.validSeconds = (performance.now() - this.validStart) / 1000;
    this.validStart = undefined;
  }

  /** The estimate per planned phase at the speeds measured so far. */
  estimate(): PhaseEstimate[] {
    const { trainBatches, validBatches = 0 } = this.opts;
    let speed = [...this.secondsPerBatch.values()][0] ?? 0;
    return this.phases.map((p) => {
      const own = this.secondsPerBatch.get(p.name);
      if (own !== undefined) speed = own;
      const valid = this.validSeconds ?? (validBatches * speed) / 3;
      const seconds = p.iterations !== undefined ? p.iterations * speed : (p.epochs ?? 0) * (trainBatches * speed + valid);
      return { name: p.name, seconds, measured: own !== undefined };
    });
  }

  private say(phase: string, perBatch: number, first: boolean): void {
    const est = this.estimate();
    const total = est.reduce((n, p) => n + p.seconds, 0);
    this.lastTotal = total;
    // Phases already run are named as done; the time left counts the running phase and those after it.
    const from = Math.max(0, this.phaseIndex);
    const left = est.slice(from).reduce((n, p) => n + p.seconds, 0);
    const parts = est.map((p, i) => (i < from ? `${p.name} done` : `${p.name} ${humanDuration(p.seconds)}${p.measured ? '' : '*'}`));
    const line = first
      ? `estimate: ${perBatch.toFixed(2)} s per batch of ${this.opts.trainBatches} (measured on ${this.after} batches of ${phase}) → ${parts.join(', ')}; ≈ ${humanDuration(left)} of training left (* at the speed measured so far; said again if a phase differs)`
      : `estimate updated: ${phase} runs at ${perBatch.toFixed(2)} s per batch → ${parts.join(', ')}; ≈ ${humanDuration(left)} left`;
    this.lines.push(line);
    this.log(line);
  }
}

/** Extra work planned on top of a run (see {@link costStatement}). */
export interface CostPlan {
  /** What the user asked for, as they would name it: 'label-source comparison', 'hyper-search grid', '--seeds 3'. */
  what: string;
  /** Runs it makes (sources, trials, seeds) and what one is called ('source', 'trial', 'seed'). */
  runs: number;
  unit: string;
  /** Training images per epoch of one run, and its epochs (absent: the run is counted whole, by `secondsPerRun`). */
  imagesPerRun?: number;
  epochs?: number;
  /** Measured speed: training images per second, or the seconds one run took (e.g. the run's own stage 2a). */
  imgPerSec?: number | null;
  secondsPerRun?: number | null;
  /** Where the speed was measured, in words ("this run's stage 2a"). */
  measuredOn?: string;
  /** Classes trained on: with them, an over-limit statement names the perClass that would fit. */
  classes?: number;
  /** Above this many hours it asks (default DEFAULTS.cost.askAboveHours). */
  maxHours?: number;
}

/** What {@link costStatement} says. */
export interface CostStatement {
  /** Estimated seconds, or null when no speed has been measured yet. */
  seconds: number | null;
  /** Training images it will process in all (runs × epochs × images), when known. */
  images: number | null;
  /** Whether the estimate exceeds `maxHours` (the limit it was checked against). */
  overLimit: boolean;
  maxHours: number;
  /** With `classes` and over the limit: at most this many images per class keeps it under the limit. */
  perClass: number | null;
  /** The one line to print before starting. */
  line: string;
}

/**
 * The cost of extra runs, in one line, before they start: how many runs of what size, and at the measured speed
 * how long ("label-source comparison: 5 sources × 5 epochs × 1,350 images = 33,750 training images ≈ 12 min at 47
 * img/s (measured on this run's stage 2a)"). Used by compareLabelSources, hyperSearch and the demo's seeds.
 */
export function costStatement(plan: CostPlan): CostStatement {
  const maxHours = plan.maxHours ?? DEFAULTS.cost.askAboveHours;
  const runsWord = `${plan.runs} ${plan.unit}${plan.runs === 1 ? '' : 's'}`;
  const images = plan.imagesPerRun !== undefined && plan.epochs !== undefined ? plan.runs * plan.epochs * plan.imagesPerRun : null;
  const perRun = plan.secondsPerRun ?? (images !== null && plan.imgPerSec ? (images / plan.runs) / plan.imgPerSec : null);
  const seconds = perRun === null || !Number.isFinite(perRun) ? null : plan.runs * perRun;
  const size = images !== null ? `${runsWord} × ${plan.epochs} epoch${plan.epochs === 1 ? '' : 's'} × ${fmt(plan.imagesPerRun!)} images = ${fmt(images)} training images` : runsWord;
  const speed = plan.imgPerSec ? `at ${plan.imgPerSec.toFixed(plan.imgPerSec < 10 ? 1 : 0)} img/s` : plan.secondsPerRun ? `at ${humanDuration(plan.secondsPerRun)} per ${plan.unit}` : '';
  const where = plan.measuredOn ? ` (measured on ${plan.measuredOn})` : '';
  const overLimit = seconds !== null && seconds > maxHours * 3600;
  // Time scales with the images trained on: the share of them that fits, spread over the classes.
  const perClass = overLimit && plan.classes && plan.imagesPerRun ? Math.max(1, Math.floor(((maxHours * 3600) / seconds!) * plan.imagesPerRun / plan.classes)) : null;
  const line = seconds === null
    ? `${plan.what}: ${size}; speed not measured yet`
    : `${plan.what}: ${size} ≈ ${humanDuration(seconds)} ${speed}${where}`;
  return { seconds, images, overLimit, maxHours, perClass, line };
}

/** Thrown before extra runs start when their estimate is over the limit: the message says the cost and the ways on. */
export class CostLimitError extends Error {
  constructor(readonly statement: CostStatement, howToAllow: string) {
    super(`${statement.line}: over the ${statement.maxHours} h limit (DEFAULTS.cost.askAboveHours), so it did not start. To run it anyway: ${howToAllow}${statement.perClass !== null ? `; or sub-sample: perClass ${statement.perClass} (--per-class ${statement.perClass}) fits in the limit` : ''}`);
    this.name = 'CostLimitError';
  }
}

/** Stops with a {@link CostLimitError} when `statement` is over its limit. */
export function checkCost(statement: CostStatement, howToAllow: string): void {
  if (statement.overLimit) throw new CostLimitError(statement, howToAllow);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
