/**
 * The bridge between the notebooks' fastai-style cells and the pipeline's steps: a DeviseRun around the data
 * and learner the cells built (ImageDataBunch + cnnLearner), so search, evaluation and the report figures take
 * it; and the free-form queries of the notebook's last section (your own photo, any word).
 *
 *   const run = runOf(cfg, data, learn, source);
 *   const space = await buildSearch(run);
 *   await show(await photoQueryFigure(run, space, 'my-photo.jpg'));
 *   await show(await wordQueryFigure(run, space, 'striped horse'));
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Item } from '../data/items';
import { searchStripFigure } from '../plots/images';
import { imageThumbnail } from '../plots/images';
import type { Figure } from '../plots/figures';
import { twoStageRecipe } from '../train/recipe';
import type { ImageDataBunch, VisionLearner } from '../train/vision';
import type { LabelSource } from '../vectors/labels';
import { ROOT } from '../settings';
import type { DeviseConfig } from './config';
import { type DeviseRun, PcaSnapshots, type SearchSpace, writeRunState } from './steps';

/** Valid images of the PCA classes; the train images too when a class has fewer than 5 there. */
function pcaItems(data: ImageDataBunch, classes: string[]): Item[] {
  return classes.filter((c) => data.classes.includes(c)).flatMap((c) => {
    const valid = data.valid.items.filter((it) => it.label === c);
    return valid.length >= 5 ? valid : [...valid, ...data.train.items.filter((it) => it.label === c)];
  });
}

/** A DeviseRun over a notebook's own data, learner and label source (the learner keeps training in the cells). */
export function runOf(cfg: DeviseConfig, data: ImageDataBunch, learn: VisionLearner, source: LabelSource): DeviseRun {
  const labelVectors = source.embed(data.classes);
  const run: DeviseRun = {
    cfg,
    data,
    source,
    labelVectors,
    recipe: twoStageRecipe({ learner: learn, labelVectors }),
    pca: new PcaSnapshots(pcaItems(data, cfg.pcaClasses), data),
    lr: {},
    phases: {},
    seconds: {},
  };
  writeRunState(run); // the run folder's run.json, as the demo writes it (export and the Quickstart read it)
  return run;
}

async function strip(hits: { label: string; score: number; path?: string }[]) {
  return Promise.all(hits.map(async (h) => ({ image: h.path ? await imageThumbnail(h.path) : '', label: h.label.replace(/\+/g, ' '), score: h.score })));
}

/** Image → image and image → text for any image file (e.g. your own photo): the query with its nearest images, captioned with the nearest labels. */
export async function photoQueryFigure(run: DeviseRun, space: SearchSpace, file: string, k = 5): Promise<Figure> {
  if (!fs.existsSync(file)) throw new Error(`No image at ${file}: put the path of your own photo here.`);
  const vector = await run.recipe.learner.output(file);
  const labels = space.images.imageToText(vector, space.labels, 3).map((h) => `${h.label.replace(/\+/g, ' ')} ${h.score.toFixed(2)}`);
  return searchStripFigure({ image: await imageThumbnail(file) }, await strip(space.images.imageToImage(vector, k)), { title: `your image → nearest labels: ${labels.join(', ')}` });
}

/** Text → image for any words the label source can embed (a class the model never saw, or no class at all). */
export async function wordQueryFigure(run: DeviseRun, space: SearchSpace, words: string, k = 5): Promise<Figure> {
  return searchStripFigure({ word: words }, await strip(space.images.textToImage(words, run.source, k)), { title: `text → image: '${words}'` });
}

/** A trained run folder with search indices: where the Quickstart reads them from. */
export interface FoundRun {
  dir: string;
  /** The run's label-source name (run.json `labels`), when recorded. */
  labels?: string;
  /** The unseen (zero-shot) classes, when recorded. */
  testClasses: string[];
  /** Where it was found: 'DEVISE_RUN', 'notebook' or 'demo'. */
  from: string;
}

/**
 * The run the Quickstart opens: `DEVISE_RUN` if set, else the SqueezeNet notebook's run (`notebookRun`), else the
 * newest `npm run demo` report (`reports/<timestamp>/run`). Null when none has search indices yet.
 */
export function findRun(notebookRun: string, env: NodeJS.ProcessEnv = process.env): FoundRun | null {
  const reports = path.join(ROOT, 'reports');
  const demos = fs.existsSync(reports) ? fs.readdirSync(reports).sort().reverse().map((d) => path.join(reports, d, 'run')) : [];
  const candidates: [string, string][] = [...(env.DEVISE_RUN ? [[path.resolve(env.DEVISE_RUN), 'DEVISE_RUN'] as [string, string]] : []), [notebookRun, 'notebook'], ...demos.map((d) => [d, 'demo'] as [string, string])];
  for (const [dir, from] of candidates) {
    if (!fs.existsSync(path.join(dir, 'search', 'images'))) continue;
    const runJson = path.join(dir, 'run.json');
    const meta = fs.existsSync(runJson) ? (JSON.parse(fs.readFileSync(runJson, 'utf8')) as { labels?: string; testClasses?: string[] }) : {};
    return { dir, labels: meta.labels, testClasses: meta.testClasses ?? [], from };
  }
  return null;
}
