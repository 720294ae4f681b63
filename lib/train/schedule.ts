/**
 * Learning-rate and momentum schedules with fastai 1.0.33's exact formulas.
 *
 *   lrRange(slice(1e-6, 1e-4), 3)   // [1e-6, 1e-5, 1e-4]: geometric spread over the layer groups
 *   lrRange(slice(1e-3), 3)         // [1e-4, 1e-4, 1e-3]: b/10 for all but the last group
 *   const s = oneCycle(totalIters, [1e-3], { divFactor: 25, pctStart: 0.3, moms: [0.95, 0.85] });
 *   s.at(i)                         // {lrs, mom} used for training iteration i (0-based)
 */
import type { OneCycleOptions } from './types';

/** fastai's `slice(start, stop)` for discriminative learning rates; `slice(stop)` has no start. */
export interface LrSlice {
  start?: number;
  stop: number;
}

/** A learning rate: one number for every group, a `slice`, or one number per group. */
export type LrSpec = number | LrSlice | number[];

/** `slice(b)` or `slice(a, b)`, as in Python. */
export function slice(a: number, b?: number): LrSlice {
  return b === undefined ? { stop: a } : { start: a, stop: b };
}

/** fastai `annealing_cos`: cosine from `start` (pct 0) to `end` (pct 1). */
export function annealingCos(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/** fastai `annealing_exp`: exponential from `start` to `end`. */
export function annealingExp(start: number, end: number, pct: number): number {
  return start * (end / start) ** pct;
}

/** fastai `Learner.lr_range`: one learning rate per layer group. */
export function lrRange(lr: LrSpec, nGroups: number): number[] {
  if (Array.isArray(lr)) {
    if (lr.length !== nGroups) throw new Error(`Got ${lr.length} learning rates for ${nGroups} layer groups; pass one per group, a number, or slice().`);
    return [...lr];
  }
  if (typeof lr === 'number') return Array<number>(nGroups).fill(lr);
  if (!(lr.stop > 0)) throw new Error(`slice() needs a positive stop learning rate, got ${lr.stop}.`);
  if (lr.start === undefined) return [...Array<number>(nGroups - 1).fill(lr.stop / 10), lr.stop];
  if (nGroups === 1) return [lr.start];
  // fastai even_mults: start * (stop/start)^(i/(n-1)).
  const step = (lr.stop / lr.start) ** (1 / (nGroups - 1));
  return Array.from({ length: nGroups }, (_, i) => lr.start! * step ** i);
}

/** Learning rates (per group) and momentum (Adam's β1) for one iteration. */
export interface Hyper {
  lrs: number[];
  mom: number;
}

/** A schedule over a fixed number of iterations. */
export interface Schedule {
  total: number;
  at(iteration: number): Hyper;
}

export type { OneCycleOptions } from './types';

/**
 * fastai v1 `OneCycleScheduler`: two cosine phases, lr maxLr/div → maxLr → maxLr/(div·1e4), momentum
 * moms[0] → moms[1] → moms[0]. Phase 1 has ⌊total·pctStart⌋ iterations (at least 1, as fastai's Stepper).
 */
export function oneCycle(total: number, maxLrs: number[], opts: OneCycleOptions = {}): Schedule {
  const div = opts.divFactor ?? 25;
  const pct = opts.pctStart ?? 0.3;
  const [m0, m1] = opts.moms ?? [0.95, 0.85];
  const a1 = Math.floor(total * pct);
  const n1 = Math.max(1, a1);
  const n2 = Math.max(1, total - a1);
  return {
    total,
    at(i) {
      // fastai steps the schedule after each batch, so batch i runs with the value after i steps.
      if (i <= n1) {
        const p = i / n1;
        return { lrs: maxLrs.map((lr) => annealingCos(lr / div, lr, p)), mom: annealingCos(m0, m1, p) };
      }
      const p = Math.min(1, (i - n1) / n2);
      return { lrs: maxLrs.map((lr) => annealingCos(lr, lr / div / 1e4, p)), mom: annealingCos(m1, m0, p) };
    },
  };
}

/** Constant learning rates and momentum (fastai `fit`, whose momentum stays at β1 = 0.9). */
export function constant(total: number, lrs: number[], mom = 0.9): Schedule {
  return { total, at: () => ({ lrs: [...lrs], mom }) };
}

/** fastai `LRFinder`: lr grows exponentially from startLr to endLr over numIt iterations. */
export function exponential(numIt: number, startLrs: number[], endLrs: number[], mom = 0.9): Schedule {
  return { total: numIt, at: (i) => ({ lrs: startLrs.map((s, g) => annealingExp(s, endLrs[g]!, i / numIt)), mom }) };
}
