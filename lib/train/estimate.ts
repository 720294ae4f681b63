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
