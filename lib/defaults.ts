/**
 * The one table of data and recipe defaults: `deviseConfig`, the CLIs' `--help` (`npm run demo`, `npm run train`)
 * and the notebooks' settings read these numbers, so a default is changed here and nowhere else.
 *
 *   import { DEFAULTS } from './lib/defaults';
 *   DEFAULTS.data.size              // 224 (the original's)
 *   DEFAULTS.epochs.stage2a         // 5
 *   DEFAULTS.smoke.data.size        // 64 (CI's tiny mode)
 */
// No imports: every module may read this table (lib/train/recipe.ts takes its epochs from here).

/** Epochs of each phase of the two-stage recipe (keys: the recipe's PhaseKey). */
export interface PhaseEpochs {
  stage1: number;
  stage1Unfrozen: number;
  stage2a: number;
  stage2b: number;
}

/** The original's epochs: stage 1 4 frozen + 2 unfrozen; stage 2a 5, 2b 3. */
const RECIPE_EPOCHS: PhaseEpochs = { stage1: 4, stage1Unfrozen: 2, stage2a: 5, stage2b: 3 };

/** Defaults of a run: the original notebooks' settings, and the tiny ones of smoke mode (`DEVISE_SMOKE=1`, `--quick`). */
export const DEFAULTS = Object.freeze({
  /** fastai's ImageDataBunch settings of the original: 224 px, batch 16, 10 % of each class held out (valid_pct=0.1), seed 0. */
  data: { size: 224, bs: 16, validPct: 0.1, seed: 0 },
  arch: 'squeezenet1_1',
  epochs: RECIPE_EPOCHS,
  /** fastai's `lr_find()` sweep length. */
  lrFindIterations: 100,
  /** The classes of the original's PCA animation. */
  pcaClasses: ['elephant', 'buffalo', 'cow', 'dolphin'],
  /**
   * The browser app (`npm run app`, the demo's app/): thumbnails of at most `galleryPerClass` images per class are
   * inlined (50 classes → ≤ 1,000 thumbnails, ~2.3 MB, at AWA2's 37,322 images too); the search index covers every
   * image, and a hit outside the gallery shows its label, score and file name.
   */
  app: { galleryPerClass: 20, thumbSize: 64 },
  /**
   * Extra runs on top of a run (the label-source comparison, the hyper-search grid) state their cost before they
   * start; above `askAboveHours` at the measured speed they stop and ask (an option to allow it, or a perClass that fits).
   */
  cost: { askAboveHours: 2 },
  /** CI's tiny mode: what it changes. */
  smoke: {
    data: { size: 64 },
    epochs: { stage1: 1, stage1Unfrozen: 1, stage2a: 2, stage2b: 1 } satisfies PhaseEpochs,
    lrFindIterations: 12,
  },
});
