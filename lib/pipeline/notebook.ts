/**
 * A DeViSE run as the notebook builds it: the data (`ImageDataBunch.fromFolder`), the learner (`cnnLearner`) and the
 * label source, bundled so search, evaluation and the report take one value, and the rate rule of the LR finder
 * (search and the free-form queries over a run are in space.ts). `npm run demo` builds its run with the same calls
 * (lib/pipeline/run.ts).
 *
 *   const data = await ImageDataBunch.fromFolder(cfg.data, { size: cfg.size, bs: cfg.bs, seed: cfg.seed });
 *   const learn = await cnnLearner(data, cfg.arch, { weights: cfg.weights, path: cfg.out, seed: cfg.seed });
 *   const run = runOf(cfg, data, learn, await labelSourceOf(cfg));
 */
import { RUN_FORMAT, readRunFile, type ChosenLr, writeRunFile } from '../run-folder';
import { DEFAULT_PHASES } from '../train/recipe';
import type { LrFindResult } from '../train/learner';
import { usableSuggestion } from '../train/suggest';
import type { ImageDataBunch, VisionLearner } from '../train/vision';
import type { LabelSource } from '../vectors/labels';
import { labelSource } from '../vectors/sources';
import type { DeviseConfig } from './config';

export type { ChosenLr } from '../run-folder';

/** A run: its settings, the notebook's data and learner (which keeps training in the cells), and its label source. */
export interface DeviseRun {
  cfg: DeviseConfig;
  data: ImageDataBunch;
  learn: VisionLearner;
  source: LabelSource;
}

/** The label source named by `cfg.labels` (see lib/vectors/sources.ts). */
export function labelSourceOf(cfg: DeviseConfig): Promise<LabelSource> {
  return labelSource(cfg.labels, { awa2Meta: cfg.awa2Meta, seed: cfg.seed });
}

/** A DeviseRun over a notebook's own data, learner and label source; writes the run folder's run.json (kept phases). */
export function runOf(cfg: DeviseConfig, data: ImageDataBunch, learn: VisionLearner, source: LabelSource): DeviseRun {
  const old = readRunFile(cfg.out);
  writeRunFile(cfg.out, {
    format: RUN_FORMAT, arch: cfg.arch, size: data.size, bs: data.batchSize, validPct: cfg.validPct, ...(cfg.perClass !== null && { perClass: cfg.perClass }), seed: cfg.seed, labels: source.name, data: cfg.data, split: cfg.split,
    classes: data.classes, testClasses: data.testClasses ?? [], preprocessing: data.preprocessing, lr: old?.lr ?? {}, phases: old?.phases ?? {},
  });
  return { cfg, data, learn, source };
}

/**
 * The rate a phase trains at after `lrFind`: `user` when given, else the finder's suggestion by the project's rule
 * (`usableSuggestion`: min/10, or the valley when the loss still falls), else the recipe's default for `phase`.
 */
export function chooseLr(found: LrFindResult, phase: 'stage1' | 'stage2a', user?: number): ChosenLr {
  if (user !== undefined) return { value: user, from: 'user' };
  const suggested = usableSuggestion(found);
  return suggested ? { ...suggested, from: 'lr_find' } : { value: DEFAULT_PHASES[phase].lr.stop, from: 'default' };
}

/** How a chosen learning rate came about, in words. */
export function lrWhy(c: ChosenLr): string {
  if (c.from === 'user') return 'your rate';
  if (c.from === 'default') return "the recipe's default: the LR finder's loss never fell";
  return c.method === 'valley' ? "the LR finder's valley: its loss was still falling at the end of the sweep" : "the LR finder's minimum / 10";
}
