/**
 * The stage-2 search space of a run: every image embedded by the run's learner, an hnswlib index of the images
 * and one of the labels (seen + unseen classes), saved in the run folder; nearest-label evaluation over it, and the
 * paper's three searches on one example each, and the free-form queries of the notebook's last section.
 *
 *   const space = await buildSearch(run);
 *   const rows = zeroShotEvaluation(run, space);
 *   const ex = searchExamples(run, space);     // image → image, image → text, text → image
 *   await show(await photoQueryFigure(run, space, 'my-photo.jpg'));   // your own photo; wordQueryFigure: any words
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Figure } from '../plots/figures';
import { imageThumbnail, searchStripFigure } from '../plots/images';
import { displayName, type Item } from '../data/items';
import { evaluate, type MetricRow } from '../metrics';
import { labelTable, runPaths, writeLabelTable } from '../run-folder';
import { ImageIndex, LabelIndex, type SearchHit } from '../search';
import { embedImages } from '../train/vision';
import { AWA2_WORDNET, hopMatrix } from '../vectors/wordnet';
import type { DeviseRun } from './notebook';

/** The stage-2 search space: every image embedded, an image index, and a label index over seen + unseen classes. */
export interface SearchSpace {
  images: ImageIndex;
  labels: LabelIndex;
  /** Embeddings of the valid (seen) and test (unseen) images, with their items, for evaluation. */
  evalItems: Item[];
  evalEmbeddings: Float32Array[];
  allClasses: string[];
}

/** Embeds train, valid and test images, builds both hnswlib indices and saves them (and labels.json) in the run folder. */
export async function buildSearch(run: DeviseRun): Promise<SearchSpace> {
  const { data, learn } = run;
  const testItems = data.test?.items ?? [];
  const allClasses = [...data.classes, ...(data.testClasses ?? [])];
  // Each list embedded as itself: an image that fails to decode here leaves that list (in place) with its row, so
  // rows and items agree and the evaluation below uses the same items.
  const seen = [...(await embedImages(learn, data.train.items, data.classes)), ...(await embedImages(learn, data.valid.items, data.classes))];
  const unseen = testItems.length ? await embedImages(learn, testItems, data.testClasses!) : [];
  const items = [...data.train.items, ...data.valid.items, ...testItems];
  const images = new ImageIndex(seen[0]!.length);
  images.add([...seen, ...unseen].map((r) => Array.from(r)), items.map((it) => ({ label: it.label, path: it.path })));
  const labels = LabelIndex.fromSource(run.source, allClasses);
  const where = runPaths(run.cfg.out);
  images.save(path.join(where.search, 'images'));
  labels.save(path.join(where.search, 'labels'));
  writeLabelTable(run.cfg.out, labelTable(run.source.embed(allClasses), run.source.name, allClasses, data.classes));
  const nTrain = data.train.items.length;
  return { images, labels, evalItems: [...data.valid.items, ...testItems], evalEmbeddings: [...seen.slice(nTrain), ...unseen], allClasses };
}

/** Nearest-label evaluation: seen top-1/top-5, zero-shot per-class top-1 on unseen classes, GZSL s/u/H, hp@k. */
export function zeroShotEvaluation(run: DeviseRun, space: SearchSpace): MetricRow[] {
  const { data } = run;
  let hops: number[][] | undefined;
  try {
    hops = hopMatrix(space.allClasses, AWA2_WORDNET);
  } catch {
    hops = undefined; // classes outside WordNet's mammals (e.g. CIFAR-10): no hierarchical precision
  }
  return evaluate({
    embeddings: space.evalEmbeddings.map((r) => Array.from(r)),
    actual: space.evalItems.map((it) => it.label),
    classes: run.source.embed(space.allClasses),
    seen: data.classes,
    unseen: data.testClasses,
    hops,
  });
}

/** The three searches of the paper on one example each: image→image, image→text, text→image (an unseen word). */
export function searchExamples(run: DeviseRun, space: SearchSpace, k = 5): { queryPath: string; word: string; imageToImage: SearchHit[]; imageToText: SearchHit[]; textToImage: SearchHit[] } {
  const queryIndex = run.data.train.items.length + run.data.valid.items.length; // the first unseen-class image, if any
  const id = Math.min(queryIndex, space.images.size - 1);
  const word = run.data.testClasses?.[0] ?? run.data.classes[0]!;
  return {
    queryPath: space.images.rows[id]!.path!,
    word,
    imageToImage: space.images.imageToImage(id, k + 1).filter((h) => h.id !== id).slice(0, k),
    imageToText: space.images.imageToText(id, space.labels, k),
    textToImage: space.images.textToImage(word, run.source, k),
  };
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
