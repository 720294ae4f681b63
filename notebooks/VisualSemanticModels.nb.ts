// Source of notebooks/VisualSemanticModels_Squeezenet1_1.ipynb and notebooks/VisualSemanticModels_Resnet34.ipynb
// (percent format: `// %%` code cells, `// %% [markdown]` cells). Type-checked by `npm test`; turned into the
// notebooks by `npm run notebooks -- build` (utils/notebooks.ts), which substitutes `// @param` lines and {{NAMES}}.

// %% [markdown]
// # Deep Visual Semantic Embedding Models for Mobile — {{TITLE}}
//
// This notebook reproduces the research project *Deep Visual Semantic Embedding Models for Mobile* in TypeScript,
// cell by cell: a CNN is first trained as a classifier on Animals with Attributes 2 (AWA2), then its head is
// replaced by one that outputs a vector trained to point at the word vector of the image's label (DeViSE,
// Frome et al. 2013). In that shared space an image can be searched by another image, by text, and — because
// words have vectors — by the name of a class the model never saw (zero-shot).
//
// {{WHY}}
//
// The cells call the project's library (`./lib/index`) with fastai v1's API in TypeScript style
// (`ImageDataBunch`, `cnnLearner`, `lrFind`, `fitOneCycle`, `ClassificationInterpretation`, ...). Change a
// learning rate or a number of epochs in a cell and rerun it: every phase is one call.

// %% [markdown]
// ## What ran here
//
// {{RAN}}.
//
// Get the photos with `npm run data -- tiny-imagenet --out <dir>` (from the official Tiny ImageNet archive, 237 MB;
// `--from <zip or folder>` offline), then start Jupyter with `DEVISE_DATA=<dir>/tiny-imagenet-awa2
// DEVISE_PER_CLASS=150 DEVISE_SIZE=112 DEVISE_LABELS=glove100` (`npm run vectors -- download glove-100d` once);
// `npm run notebooks -- execute` runs with exactly these settings. Without `DEVISE_DATA` the same cells run offline
// on the emoji sample in `data_samples/` (243 drawings of AWA2 classes, the shipped word2vec labels, 224 px): that
// stays the default, and its numbers then describe 243 drawings, not photos.
//
// **Caveat:** these are ImageNet photos, and the pretrained backbones were trained on ImageNet, its classes of the
// three unseen animals included: the zero-shot numbers are optimistic (Xian et al.'s reason for the proposed split).

// %% [markdown]
// ## Imports and paths
//
// Defaults run offline on `data_samples/` (an AWA2-layout sample of emoji artwork), with the shipped pretrained
// weights and word vectors. The same notebook runs on real data through environment variables set before
// starting Jupyter (relative paths are taken from the directory Jupyter was started in):
//
// | variable | meaning | the original's settings |
// | --- | --- | --- |
// | `DEVISE_DATA` | AWA2 root (`JPEGImages/`, `classes.txt`, `trainclasses.txt`, `testclasses.txt`) or `train/ valid/ test/` folders | your AwA2 folder |
// | `DEVISE_LABELS` | label space: `word2vec` (default), `wordnet`, `attributes`, or a `.vec` file | `crawl-300d-2M.vec` |
// | `DEVISE_WEIGHTS` | `.pth` / `.h5` / TF.js folder, `none` for random init | torchvision weights |
// | `DEVISE_SIZE`, `DEVISE_BS` | image size, batch size | 224, 16 |
// | `DEVISE_EPOCHS` | `stage1,stage1Unfrozen,stage2a,stage2b` | `4,2,5,3` (the default) |
// | `DEVISE_PER_CLASS` | at most this many images per class (the first in path order): a quick run on big data | every image |
// | `DEVISE_SPLIT` | AWA2 zero-shot split: `standard` or `proposed` (Xian et al.) | standard |
// | `DEVISE_SMOKE=1` | tiny CI mode (64 px, single epochs) | |

// %%
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HierarchicalNSW } from 'hnswlib-node';
import {
  accuracy, errorRate, backboneSummary, buildSearch, comparisonFigure, describeBackbones, exportReport, mobileFigures, ClassificationInterpretation, cnnLearner, compareLabelSources, deviseConfig, displayPath, EmbeddingSnapshots, nativeKernelsAdvice,
  gzslFigure, hyperSearch, ImageDataBunch, initBackend, labelSourceOf, labelSourcesFigure, perUnseenClassFigure, photoQueryFigure, readComparison, runOf, saveModel,
  searchExamples, searchFiguresOf, seenUnseenFigure, show, slice, wordQueryFigure, zeroShotSummary, type Arch,
} from './lib/index';

const ARCH: Arch = 'squeezenet1_1'; // @param ARCH
const cfg = deviseConfig({ arch: ARCH });
const backend = await initBackend();
console.log(`${ARCH} on ${displayPath(cfg.data)} (${cfg.size} px, batch ${cfg.bs}), labels: ${cfg.labels}, split: ${cfg.split}; backend ${backend.backend}`);
console.log(`weights: ${cfg.weights ? displayPath(cfg.weights) : 'none (random init)'}; epochs ${Object.values(cfg.epochs).join(',')}; run folder ${displayPath(cfg.out)}`);
const advice = nativeKernelsAdvice(backend); // the faster path, when this machine is not on it
if (advice) console.log(advice);

// %% [markdown]
// ## Data
//
// AWA2 has 50 animal classes. The standard zero-shot split trains on 40 (`trainclasses.txt`), split here into
// train and valid, and holds out 10 (`testclasses.txt`) that the model never sees: they are only used for
// zero-shot search at the end. The table counts images per class and split.
//
// Which split matters: the standard split's 10 unseen classes are in ImageNet-1k, which the pretrained backbone
// was trained on, so its zero-shot numbers are optimistic. Xian et al.'s *proposed* split (`DEVISE_SPLIT=proposed`)
// holds out 10 classes that are not in ImageNet-1k; this run's split is printed above.

// %%
const data = await ImageDataBunch.fromFolder(cfg.data, { size: cfg.size, bs: cfg.bs, validPct: cfg.validPct, perClass: cfg.perClass ?? undefined, seed: cfg.seed, split: cfg.split });
await show(data.counts());

// %% [markdown]
// ### Data augmentation
//
// Training images get fastai's default `get_transforms()`: random crop, horizontal flip, symmetric warp, rotation
// (±10°), zoom (1–1.1) and lighting changes, each with its fastai probability; validation images are
// center-cropped. Augmentation is seeded (`DEVISE_SEED`), so a rerun sees the same images.

// %%
await data.showBatch({ rows: 3 });

// %% [markdown]
// ## The learner
//
// `cnnLearner` puts fastai's head (concat pooling, BatchNorm, Dropout, Dense 512, ReLU, BatchNorm, Dropout,
// Dense) on the pretrained body and freezes the body (its BatchNorm layers stay trainable); the data is
// normalised the way the weights expect. The metric is the original's `error_rate` (1 − accuracy), a column of
// every training table below.

// %%
const learn = await cnnLearner(data, ARCH, { metrics: [errorRate], weights: cfg.weights, path: cfg.out, seed: cfg.seed });

// %% [markdown]
// ## Hyperparameter search
//
// fastai's `lr_find()` trains with an exponentially growing learning rate and records the smoothed loss; the
// suggestion (marked) is a tenth of the rate at the loss minimum, well before it blows up — or, when the loss is
// still falling at the end of the sweep (stage 2's cosine loss), fastai v2's `valley`. The weights are restored
// afterwards.

// %%
await learn.lrFind({ numIt: cfg.lrFindIterations });
const lr = await learn.recorder.plotLr();
console.log(`suggested learning rate: ${lr.toExponential(1)}`);

// %% [markdown]
// A small grid around that rate and two weight decays, one short epoch each from fresh pretrained weights
// (`hyperSearch`); the table is sorted by validation accuracy. Widen the grid or add epochs to search further.

// %%
const grid = await hyperSearch({
  space: { lr: [lr / 3, lr], wd: [1e-4, 1e-2] },
  epochs: 1, metric: 'accuracy',
  makeLearner: (c) => cnnLearner(data, ARCH, { metrics: [accuracy], weights: cfg.weights, wd: c.wd, path: cfg.out, seed: cfg.seed, progress: 'none' }),
});
await show(grid.table);
// Whether this grid can tell its settings apart here (on a few dozen validation images it often cannot).
const gridScores = grid.results.filter((t) => !t.error).map((t) => (100 * t.score).toFixed(1));
console.log(`${new Set(gridScores).size} distinct validation accuracies among ${gridScores.length} settings (${gridScores.join(', ')} %), on ${data.valid.items.length} validation images`);

// %% [markdown]
// ## Stage 1: training the classifier
//
// `fitOneCycle` with the finder's rate, the body frozen. The checkpoint (`models/stage1-frozen` in the run
// folder) is fastai's `learn.save('stage-1')`. Change the rate here and rerun from this cell: stage 1 starts again
// from the pretrained weights, whatever later cells trained.

// %%
const stage1Start = path.join(cfg.out, 'models', 'stage1-start');
// The first run keeps the model stage 1 starts from; a rerun goes back to it (not the embedding head or the unfrozen body).
if (learn.recorder.fits.some((f) => f.name === 'stage1-frozen')) (await learn.loadModel(stage1Start)).freeze();
else await saveModel(learn.model, stage1Start);
await learn.fitOneCycle(cfg.epochs.stage1, lr, { checkpoint: 'stage1-frozen' });

// %% [markdown]
// ## Results
//
// fastai's `ClassificationInterpretation`: the images with the highest loss (prediction / actual / loss /
// probability of the actual class), each under its class-activation heatmap (the mean activation of the last
// convolutional block, fastai lesson 6: red is where the network looks), then the confusion matrix.

// %%
const interp = await ClassificationInterpretation.fromLearner(learn);
// fastai's interp.plotTopLosses(9, { heatmap: true }), drawn smaller: the photos are 64 px, and the committed notebook stays under 2.5 MB
await show(await interp.topLossesFigure(9, { heatmap: true }), { width: 560, height: 700 });

// %%
await interp.plotConfusionMatrix();

// %% [markdown]
// ### Error analysis
//
// The class pairs confused at least `minVal` times (actual → predicted).

// %%
await show(interp.mostConfused(1));

// %% [markdown]
// ## Unfreezing at the default learning rate
//
// The original unfroze the whole model and trained one epoch at fastai's default rate (`slice(3e-3)`: 3e-4 for
// the body, 3e-3 for the head): validation accuracy collapsed (from 92% to 42% on AWA2). The pretrained
// features are destroyed faster than the small dataset can rebuild them. Watch the valid loss rise below.

// %%
learn.unfreeze();
await learn.fitOneCycle(1, slice(3e-3), { name: 'unfrozen at the default rate' });

// %% [markdown]
// So we reload the stage-1 weights and look for a learning rate for the unfrozen model.

// %%
await learn.load('stage1-frozen');
await learn.lrFind({ numIt: cfg.lrFindIterations });
await learn.recorder.plotLr(); // read the curve: the rate below is chosen from it, as the original did

// %% [markdown]
// The curve is flat until ~1e-4: the unfrozen body wants small, discriminative rates — `slice(1e-6, 1e-4)`
// spreads them from the first layer group to the head.

// %%
learn.unfreeze();
await learn.fitOneCycle(cfg.epochs.stage1Unfrozen, slice(1e-6, 1e-4), { checkpoint: 'stage1-unfrozen' });
await learn.recorder.plotLosses();
// The finished classifier's accuracy: what `npm run demo` reports as stage-1 accuracy (same calls, same number).
const stage1Accuracy = (await ClassificationInterpretation.fromLearner(learn)).accuracy;
console.log(`stage-1 accuracy ${(100 * stage1Accuracy).toFixed(1)}%`);

// %% [markdown]
// ## Stage 2: from classes to the semantic space
//
// The classifier's last layer is replaced by one that outputs a vector of the label space's dimension; the body
// and the head's hidden layers keep their stage-1 weights. The loss is `1 − cos(ŷ, t)` against the label's word
// vector `t` (try `{ loss: 'hinge' }`, the DeViSE paper's rank loss). **2a** trains the head only; **2b**
// unfreezes the whole model with small, discriminative learning rates.
//
// The PCA callback embeds the images of four classes (elephant, buffalo, cow, dolphin where present) after every
// epoch; its animation shows a 2-D PCA of those normalised embeddings (dots) and of the classes' normalised word
// vectors (triangles). As training proceeds, each class's dots gather around its triangle.

// %%
const source = await labelSourceOf(cfg);
const stage1Model = path.join(cfg.out, 'models', 'stage1-model');
// The first run saves the stage-1 classifier (the common start of the label-source comparison below); a rerun of
// this cell starts stage 2 from it again rather than saving the embedding model under stage 1's name.
if (learn.model.head.kind === 'classifier') await saveModel(learn.model, stage1Model);
else await learn.loadModel(stage1Model);
learn.toEmbedding(source.embed(data.classes));
const pca = EmbeddingSnapshots.of(data, cfg.pcaClasses);
learn.addCallback(pca); // replaces the PCA callback of an earlier run of this cell
learn.freeze();
await learn.lrFind({ numIt: cfg.lrFindIterations });
const lr2a = await learn.recorder.plotLr();

// %%
await learn.fitOneCycle(cfg.epochs.stage2a, lr2a, { checkpoint: 'stage2a' });
await show(await pca.gif('stage2a'));

// %%
learn.unfreeze();
await learn.fitOneCycle(cfg.epochs.stage2b, slice(1e-6, 1e-4), { checkpoint: 'stage2b' });
await show(await pca.gif('stage2b'));

// %% [markdown]
// The interactive version of the last animation (play it, or drag the slider), and the losses of every phase:
// cross-entropy for stage 1 and cosine loss for stage 2, on separate axes.

// %%
await show(pca.figure('stage2b'));
await learn.recorder.plotLosses();
const embedding = await learn.evaluateEmbedding();
await show([embedding]);

// %% [markdown]
// ## Zero-shot tests
//
// Every image (train, valid and the unseen test classes) is embedded and stored in an hnswlib index; the label
// vectors of all classes go in a second index. Nearest-label search is scored by the standard protocols (Xian
// et al. 2018): **zsl** — unseen images among the unseen classes, per-class mean top-1; **gzsl** — all images
// among all classes: accuracy on seen `s` and unseen `u`, their harmonic mean `H`, uncalibrated and with
// calibrated stacking (Chao et al. 2016: seen scores lowered by γ, chosen on held-out *seen* images), and the
// area under the seen–unseen curve (AUSUC). The lines first say plainly what the numbers mean.

// %%
const run = runOf(cfg, data, learn, source);
const space = await buildSearch(run);
const summary = zeroShotSummary(run, space);
console.log(summary.verdict.join('\n'));
await show(gzslFigure(summary));

// %%
await show(seenUnseenFigure(summary));
await show(perUnseenClassFigure(summary));

// %% [markdown]
// ### The index, by hand
//
// The original built its indices with nmslib: `nmslib.init(space='angulardist')`, `addDataPointBatch`,
// `createIndex`, `knnQuery`. `buildSearch` above does it with hnswlib (`lib/search.ts`); here are its calls in
// the open: `new HierarchicalNSW('cosine', dim)` is `init`, `initIndex(n)` and `addPoint(v, i)` are
// `addDataPointBatch` + `createIndex` (hnswlib builds the graph as points arrive), and `searchKnn(q, k)` is
// `knnQuery`. The index holds this run's embeddings of the valid and unseen images; the query is the word vector
// of a class the model never saw (text → image); the distance is 1 − cosine.

// %%
const predWv = space.evalEmbeddings; // one embedding per valid (seen) and test (unseen) image
const index = new HierarchicalNSW('cosine', source.dim);
index.initIndex(predWv.length);
predWv.forEach((v, i) => index.addPoint(Array.from(v), i));
const unseenWord = data.testClasses?.[0] ?? data.classes[0]!;
const knn = index.searchKnn(Array.from(source.embed([unseenWord]).vectors), Math.min(5, predWv.length));
console.log(`nearest images to the word '${unseenWord}':`);
await show(knn.neighbors.map((i, rank) => ({ image: path.basename(space.evalItems[i]!.path), label: space.evalItems[i]!.label, distance: +knn.distances[rank]!.toFixed(3) })));

// %% [markdown]
// ### Which label space?
//
// The same stage-1 weights, stage 2a against each available label source (word vectors, WordNet hierarchy
// embeddings, AWA2's attributes), scored the same way. This trains 2a once per source (`LABEL_SPACES`; the
// run's own `DEVISE_LABELS` is always among them); a source that cannot embed every class says why.

// %%
const LABEL_SPACES: string = 'word2vec,glove,glove100,wordnet,attributes'; // @param LABEL_SPACES
if (LABEL_SPACES) {
  // (no `{ stage1Model }` shorthand: tslab 1.0.22 does not rewrite it to the earlier cell's variable — ReferenceError)
  const sourceRows = await compareLabelSources(run, { stage1Model: stage1Model, lr: lr2a, names: [...LABEL_SPACES.split(','), cfg.labels] });
  await show(labelSourcesFigure(sourceRows));
  const measured = sourceRows.filter((r) => r.zslPerClassTop1 !== undefined);
  const zsl = measured.map((r) => `${r.source} ${(100 * r.zslPerClassTop1!).toFixed(1)} %`);
  console.log(`zero-shot per-class top-1 by label space: ${zsl.join(', ')} (${new Set(measured.map((r) => r.zslPerClassTop1!.toFixed(3))).size} distinct values over ${measured.length} spaces; chance ${(100 / (data.testClasses?.length || 1)).toFixed(1)} %)`);
} else {
  console.log('The label spaces are compared in VisualSemanticModels_Squeezenet1_1.ipynb: with this backbone on a CPU, stage 2a once per space would add most of an hour.');
}

// %% [markdown]
// ## The three searches
//
// **image → image** (nearest images to an image of an unseen class), **image → text** (nearest class vectors),
// and **text → image**: the name of a class the model never saw during training.

// %%
const searches = await searchFiguresOf(searchExamples(run, space), data.testClasses ?? []);
const strip = { width: 600, height: 177 }; // photo strips drawn smaller: 64 px photos lose nothing, and the notebook stays small
await show(searches.image_to_image, strip);
await show(searches.image_to_text);
await show(searches.text_to_image, strip);

// %% [markdown]
// ### Your own query
//
// Put the path of your own photo in `photo` (any JPEG or PNG; relative paths start in `notebooks/`) and any words
// in `words`: they need not be class names, only words the label space knows. The shipped word2vec vectors hold
// just the 50 AWA2 class names; a fastText `.vec` (`DEVISE_LABELS`) knows two million words.

// %%
const photo = data.test?.items[0]?.path ?? data.valid.items[0]!.path; // or your own, e.g. '../my-photos/cat.jpg'
const words = 'giant panda'; // with DEVISE_LABELS=crawl-300d-2M.vec any English words, e.g. 'striped horse'
await show(await photoQueryFigure(run, space, photo), strip);
await show(await wordQueryFigure(run, space, words), strip);

// %% [markdown]
// ## Conclusion: SqueezeNet 1.1 against the ResNet-50 baseline
//
// The original's headline: SqueezeNet 1.1 against a ResNet baseline, accuracy and size side by side. Each
// backbone's size is measured by saving it with this run's embedding head; the accuracies are those of each
// notebook's last run here (`VisualSemanticModels_Squeezenet1_1.ipynb`, `VisualSemanticModels_Resnet50.ipynb`;
// "not run" until that notebook has run), with the settings each ran at. The line under the table is computed from
// the rows.

// %%
// (written out, not `{ stage1Accuracy }`: tslab does not rewrite a shorthand property naming another cell's variable)
const backbones = await backboneSummary(cfg.out, {
  arch: ARCH, stage1Accuracy: stage1Accuracy, stage2Top1: embedding.top1, zeroShotTop1: summary.zsl.perClassTop1, calibratedH: summary.gzsl.calibrated.H,
  settings: `${displayPath(cfg.data)}, ${cfg.perClass ? `${cfg.perClass} per class, ` : ''}${cfg.size} px, ${cfg.labels}, epochs ${Object.values(cfg.epochs).join(',')}, seed ${cfg.seed}, ${cfg.weights ? 'pretrained' : 'random init'}`,
}, source.dim, [...new Set<Arch>(['squeezenet1_1', 'resnet50', ARCH])]);
await show(backbones);
console.log(describeBackbones(backbones, 'squeezenet1_1', 'resnet50'));

// %% [markdown]
// ### For mobile: the exported model
//
// The stage-2 network exported for the browser (BatchNorm folded, Dropout removed; `npm run export`), in fp32,
// float16 and uint8 weights: bytes on disk, and each variant measured against the trained model on the valid and
// unseen images (the original compares size only). `npm run app` serves it as a search app.

// %%
const exported = await exportReport(cfg.out, { gamma: summary.gzsl.calibrated.gamma });
const mobile = mobileFigures({ rows: exported.rows, sizes: exported.sizes });
await show(mobile.mobile_accuracy);
await show(mobile.mobile_sizes);

// %% [markdown]
// ### Mean ± sd over three seeds: `npm run compare`
//
// One run per backbone cannot separate differences of a few points. `npm run compare` (its defaults are the real-photo
// settings of this notebook's committed outputs) runs SqueezeNet 1.1 and ResNet-50 with the same recipe
// (`runDevise`: this notebook's calls) over seeds 0, 1 and 2, and writes `models/compare/compare.json`: with the same
// settings, its seed-0 runs are this notebook's. The table, with sizes and speeds, and the verdict under it are read
// from that file.

// %%
const comparisonFile = path.join(path.dirname(cfg.out), 'compare', 'compare.json');
if (fs.existsSync(comparisonFile)) {
  const comparison = readComparison(comparisonFile);
  await show(comparisonFigure(comparison));
  console.log(comparison.verdict.join('\n'));
} else {
  console.log(`No ${displayPath(comparisonFile)} here yet: \`npm run compare\` writes it (SqueezeNet 1.1 and ResNet-50, seeds 0, 1, 2; hours on a CPU).`);
}
