/**
 * The one table of data and recipe defaults: `deviseConfig`, the CLIs' `--help` (`npm run demo`, `npm run train`)
 * and the notebooks' settings read these numbers, so a default is changed here and nowhere else.
 *
 *   import { DEFAULTS } from './defaults';
 *   DEFAULTS.data.size              // 224 (the original's)
 *   DEFAULTS.epochs.stage2a         // 5
 *   DEFAULTS.smoke.data.size        // 64 (CI's tiny mode)
 */
import { DEFAULT_PHASES, type PhaseKey } from './train/recipe';

/** Epochs of each phase of the two-stage recipe. */
export type PhaseEpochs = Record<PhaseKey, number>;

/** Epochs of the recipe's phases, from the recipe's own table (the original: 4 frozen, 2 unfrozen; 2a 5, 2b 3). */
const RECIPE_EPOCHS: PhaseEpochs = {
  stage1: DEFAULT_PHASES.stage1.epochs,
  stage1Unfrozen: DEFAULT_PHASES.stage1Unfrozen.epochs,
  stage2a: DEFAULT_PHASES.stage2a.epochs,
  stage2b: DEFAULT_PHASES.stage2b.epochs,
};

/** Defaults of a run: the original notebooks' settings, and the tiny ones of smoke mode (`DEVISE_SMOKE=1`, `--quick`). */
export const DEFAULTS = Object.freeze({
  /** fastai's ImageDataBunch settings of the original: 224 px, batch 16, 20 % of each class held out, seed 0. */
  data: { size: 224, bs: 16, validPct: 0.2, seed: 0 },
  arch: 'squeezenet1_1',
  epochs: RECIPE_EPOCHS,
  /** fastai's `lr_find()` sweep length. */
  lrFindIterations: 100,
  /** The classes of the original's PCA animation. */
  pcaClasses: ['elephant', 'buffalo', 'cow', 'dolphin'],
  /** CI's tiny mode: what it changes. */
  smoke: {
    data: { size: 64 },
    epochs: { stage1: 1, stage1Unfrozen: 1, stage2a: 2, stage2b: 1 } satisfies PhaseEpochs,
    lrFindIterations: 12,
  },
});
