/**
 * Hyperparameter search by short runs: every point of a grid (or a seeded random sample of it) gets a
 * fresh Learner from your factory and a short fitOneCycle; results come back as a danfojs DataFrame
 * sorted by the validation metric, with the best configuration.
 *
 *   const { table, best } = await hyperSearch({
 *     space: { lr: [1e-3, 3e-3, 1e-2], wd: [1e-4, 1e-2], dropout: [0.25, 0.5], bs: [16, 32] },
 *     mode: 'random', trials: 6, epochs: 1, metric: 'accuracy',
 *     makeLearner: async (c) => { const data = await imageDataBunch({ ..., bs: c.bs }); const m = await createModel(...);
 *                                 setDropout(m.model, c.dropout); return new Learner({ model: m, data, wd: c.wd, ... }); },
 *   });
 *   table.print(); best.config.lr;
 *
 * `lr` is the max LR of the one-cycle run (fastai `slice(lr)` across groups); other keys are passed
 * through to the factory. Each trial's model is disposed after its run.
 *
 * Told before committing hours: it states its cost before the first trial (trials × epochs × training images, and
 * the time at `imgPerSec` when you give a measured speed), else after the first trial at that trial's measured time;
 * an estimate over `maxHours` (default DEFAULTS.cost.askAboveHours) stops it with a CostLimitError naming the cost,
 * `maxHours` and a perClass that fits.
 */
import { createRequire } from 'node:module';
import type { tf } from '../backend/index';
import { Rng } from '../data/rng';
import { monitored } from './callbacks';
import { checkCost, costStatement, type CostPlan } from './estimate';
import type { Learner } from './learner';
import { slice } from './schedule';

export type SearchConfig = Record<string, number>;

export interface HyperSearchOptions {
  /** Candidate values per hyperparameter. */
  space: Record<string, number[]>;
  mode?: 'grid' | 'random';
  /** Random mode: how many distinct configurations to try (default 8). */
  trials?: number;
  seed?: number;
  /** Epochs per trial (default 1). */
  epochs?: number;
  /** 'validLoss' (default) or a metric name; minimised when it names a loss/error, else maximised. */
  metric?: string;
  makeLearner(config: SearchConfig): Learner | Promise<Learner>;
  /** Called after each trial (for progress). */
  onTrial?(result: TrialResult, index: number, total: number): void;
  /** Measured training speed (images per second), so the cost is stated in time before the first trial. */
  imgPerSec?: number;
  /** Above this many estimated hours the search stops before (or after its first trial) with a CostLimitError. */
  maxHours?: number;
  /** Where the cost statement goes (default console.log). */
  log?(line: string): void;
}

export interface TrialResult {
  config: SearchConfig;
  score: number;
  validLoss: number;
  metrics: Record<string, number>;
  seconds: number;
  /** Set when the trial diverged or failed. */
  error?: string;
}

/** danfojs DataFrame (typed loosely: danfojs is loaded lazily, it takes seconds to import). */
export interface DataFrameLike {
  print(): void;
  values: unknown[];
  columns: string[];
}

/** Sets the rate of every Dropout layer (fastai `ps`); a number for all or one per Dropout layer in order. */
export function setDropout(model: tf.LayersModel, ps: number | number[]): void {
  const drops = model.layers.filter((l) => /Dropout$/.test(l.getClassName()));
  drops.forEach((l, i) => ((l as unknown as { rate: number }).rate = Array.isArray(ps) ? ps[i] ?? ps[ps.length - 1]! : ps));
}

/** All combinations of `space`, in key order. */
export function gridOf(space: Record<string, number[]>): SearchConfig[] {
  return Object.entries(space).reduce<SearchConfig[]>((acc, [k, vs]) => acc.flatMap((c) => vs.map((v) => ({ ...c, [k]: v }))), [{}]);
}

/** Runs the search; returns the table (best first), the best trial and every result. */
export async function hyperSearch(opts: HyperSearchOptions): Promise<{ table: DataFrameLike; best: TrialResult; results: TrialResult[] }> {
  const grid = gridOf(opts.space);
  let configs = grid;
  if (opts.mode === 'random') {
    configs = new Rng(opts.seed ?? 0).shuffle(grid).slice(0, opts.trials ?? 8);
  }
  const metric = opts.metric ?? 'validLoss';
  const maximise = !/loss|error/i.test(metric);
  const results: TrialResult[] = [];
  const log = opts.log ?? ((line: string) => console.log(line));
  const allow = `hyperSearch({ …, maxHours: <hours> }), fewer trials (mode: 'random', trials) or epochs`;
  let plan: CostPlan | undefined;
  for (const [i, config] of configs.entries()) {
    const t0 = Date.now();
    const learn = await opts.makeLearner(config);
    if (i === 0) {
      // The first learner's data gives the size of every trial; the speed is the user's, else the first trial's.
      const items = (learn.data.train as { items?: unknown[] }).items?.length;
      plan = { what: `hyper-search ${opts.mode === 'random' ? 'sample' : 'grid'}`, runs: configs.length, unit: 'trial', imagesPerRun: items, epochs: items === undefined ? undefined : opts.epochs ?? 1, imgPerSec: opts.imgPerSec, measuredOn: opts.imgPerSec ? 'the speed given' : undefined, classes: learn.data.classes.length, maxHours: opts.maxHours };
      const cost = costStatement(plan);
      log(cost.line + (cost.seconds === null ? ': said after the first trial' : ''));
      try {
        checkCost(cost, allow);
      } catch (err) {
        learn.model.model.dispose();
        throw err;
      }
    }
    let result: TrialResult;
    try {
      const fit = await learn.fitOneCycle(opts.epochs ?? 1, slice(config.lr ?? 3e-3));
      const last = fit.epochs[fit.epochs.length - 1]!;
      result = { config, score: monitored(last, metric), validLoss: last.validLoss, metrics: last.metrics, seconds: (Date.now() - t0) / 1000 };
    } catch (err) {
      result = { config, score: maximise ? -Infinity : Infinity, validLoss: NaN, metrics: {}, seconds: (Date.now() - t0) / 1000, error: (err as Error).message };
    } finally {
      learn.model.model.dispose();
    }
    results.push(result);
    opts.onTrial?.(result, i, configs.length);
    if (i === 0 && !opts.imgPerSec && configs.length > 1) {
      const cost = costStatement({ ...plan!, imgPerSec: undefined, secondsPerRun: result.seconds, measuredOn: 'its first trial' });
      log(cost.line);
      checkCost(cost, allow);
    }
  }
  const sorted = [...results].sort((a, b) => (maximise ? b.score - a.score : a.score - b.score));
  const dfd = createRequire(__filename)('danfojs-node') as { DataFrame: new (rows: Record<string, unknown>[]) => DataFrameLike };
  const rows = sorted.map((r) => ({ ...r.config, [metric]: r.score, ...(metric === 'validLoss' ? {} : { validLoss: r.validLoss }), seconds: r.seconds, error: r.error ?? '' }));
  return { table: new dfd.DataFrame(rows), best: sorted[0]!, results };
}
