// Source of notebooks/00_Quickstart.ipynb (percent format; `npm run notebooks -- build`).

// %% [markdown]
// # Quickstart: the three searches
//
// Opens the search indices of a trained run and searches image → image, image → text and text → image. It
// looks for, in order: the folder in `DEVISE_RUN`, the SqueezeNet notebook's run (`models/run-squeezenet1_1`),
// the newest `npm run demo` report (`reports/<timestamp>/run`). With none of them, a quick run on
// `data_samples/` (a minute or two) builds one.

// %%
import * as path from 'node:path';
import { deviseConfig, displayPath, findRun, ImageIndex, imageThumbnail, initBackend, LabelIndex, labelSource, runDevise, searchStripFigure, show, stripCells } from './lib/index';

const cfg = deviseConfig({ arch: 'squeezenet1_1' });
await initBackend();
let found = findRun({ notebook: cfg.out, needs: 'search' });
if (!found) {
  console.log('No trained run found: a quick one on data_samples/ (set DEVISE_RUN to use another).');
  await runDevise({ ...cfg, smoke: true }, () => undefined);
  found = findRun({ notebook: cfg.out, needs: 'search' })!;
}
const images = ImageIndex.load(path.join(found.dir, 'search', 'images'));
const labels = LabelIndex.load(path.join(found.dir, 'search', 'labels'));
const source = await labelSource(found.run?.labels ?? cfg.labels);
console.log(`${displayPath(found.dir)} (${found.from}): ${images.size} images, ${labels.size} labels, label space ${source.name}`);

// %% [markdown]
// **image → image** and **image → text** for the first image of an unseen class (or the first image):

// %%
const query = Math.max(0, images.rows.findIndex((r) => (found!.run?.testClasses ?? []).includes(r.label)));
await show(searchStripFigure({ image: await imageThumbnail(images.rows[query]!.path!) }, await stripCells(images.imageToImage(query, 6).slice(1)), { title: 'image → image' }));
await show(images.imageToText(query, labels, 5).map((h) => ({ label: h.label.replace(/\+/g, ' '), cosine: h.score })));

// %% [markdown]
// **text → image** with any words the label space knows: here two unseen classes and a seen one. The shipped
// word2vec vectors hold only the 50 AWA2 class names; with `DEVISE_LABELS=crawl-300d-2M.vec` (fastText) try any
// words, e.g. 'striped horse'. Words the label space lacks are reported, not fatal.

// %%
for (const words of ['seal', 'giant panda', 'killer whale', 'striped horse']) {
  try {
    await show(searchStripFigure({ word: words }, await stripCells(images.textToImage(words, source, 5)), { title: `text → image: '${words}'` }));
  } catch (err) {
    console.log(`'${words}': ${(err as Error).message.split('.')[0]}.`);
  }
}
