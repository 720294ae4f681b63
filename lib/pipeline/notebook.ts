/**
 * A DeViSE run as the notebook builds it: the data (`ImageDataBunch.fromFolder`), the learner (`cnnLearner`) and the
 * label source, bundled so search, evaluation and the report take one value; the rate rule of the LR finder; and
 * the free-form queries of the notebook's last section (your own photo, any word). `npm run demo` builds its run
 * with the same calls (lib/pipeline/run.ts).
 *
 *   const data = await ImageDataBunch.fromFolder(cfg.data, { size: cfg.size, bs: cfg.bs, seed: cfg.seed });
 *   const learn = await cnnLearner(data, cfg.arch, { weights: cfg.weights, path: cfg.out, seed: cfg.seed });
 *   const run = runOf(cfg, data, learn, await labelSourceOf(cfg));
 *   const space = await buildSearch(run);
 *   await show(await photoQueryFigure(run, space, 'my-photo.jpg'));
 */
import * as fs from 'node:fs';
import { displayName } from '../data/items';
import type { Figure } from '../plots/figures';
import { imageThumbnail, searchStripFigure } from '../plots/images';
import { RUN_FORMAT, readRunFile, type ChosenLr, writeRunFile } from '../run-folder';
import { DEFAULT_PHASES } from '../train/recipe';
import type { LrFindResult } from '../train/learner';
import { usableSuggestion } from '../train/suggest';
import type { ImageDataBunch, VisionLearner } from '../train/vision';
import type { LabelSource } from '../vectors/labels';
import { labelSource } from '../vectors/sources';
import type { DeviseConfig } from './config';
import type { SearchSpace } from './space';

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
    format: RUN_FORMAT, arch: cfg.arch, size: data.size, bs: data.batchSize, validPct: cfg.validPct, seed: cfg.seed, labels: source.name, data: cfg.data, split: cfg.split,
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

/** A search strip's cells: each hit's thumbnail, display label and score. */
export async function stripCells(hits: { label: string; score: number; path?: string }[]): Promise<{ image: string; label: string; score: number }[]> {
  return Promise.all(hits.map(async (h) => ({ image: h.path ? await imageThumbnail(h.path) : '', label: displayName(h.label), score: h.score })));
}

/** Image → image and image → text for any image file (e.g. your own photo): the query with its nearest images, captioned with the nearest labels. */
export async function photoQueryFigure(run: DeviseRun, space: SearchSpace, file: string, k = 5): Promise<Figure> {
  if (!fs.existsSync(file)) throw new Error(`No image at ${file}: put the path of your own photo here.`);
  const vector = await run.learn.output(file);
  const labels = space.images.imageToText(vector, space.labels, 3).map((h) => `${displayName(h.label)} ${h.score.toFixed(2)}`);
  return searchStripFigure({ image: await imageThumbnail(file) }, await stripCells(space.images.imageToImage(vector, k)), { title: `your image → nearest labels: ${labels.join(', ')}` });
}

/** Text → image for any words the label source can embed (a class the model never saw, or no class at all). */
export async function wordQueryFigure(run: DeviseRun, space: SearchSpace, words: string, k = 5): Promise<Figure> {
  return searchStripFigure({ word: words }, await stripCells(space.images.textToImage(words, run.source, k)), { title: `text → image: '${words}'` });
}
