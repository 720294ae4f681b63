#!/usr/bin/python3
"""Writes the project's notebooks (cells only, no outputs) from one template, so the SqueezeNet and
ResNet34 notebooks stay identical but for the backbone.

    /usr/bin/python3 utils/build-notebooks.py        # then `npm run notebooks` executes and signs them

Edit the cells here, not in the .ipynb files: `npm run notebooks` regenerates and re-executes them.
"""
import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
META = {
    "kernelspec": {"name": "tslab", "display_name": "TypeScript", "language": "typescript"},
    "language_info": {"name": "typescript", "file_extension": ".ts", "mimetype": "text/typescript"},
}

ARCHS = {
    "squeezenet1_1": {
        "file": "VisualSemanticModels_Squeezenet1_1.ipynb",
        "title": "SqueezeNet 1.1",
        "why": "SqueezeNet 1.1 reaches AlexNet-level ImageNet accuracy with about 1.2 M parameters: with the DeViSE head it is "
               "about 5.6 MB, small enough for a phone. This notebook is the project's main experiment; "
               "`VisualSemanticModels_Resnet34.ipynb` is the same pipeline with the ResNet34 baseline.",
    },
    "resnet34": {
        "file": "VisualSemanticModels_Resnet34.ipynb",
        "title": "ResNet34 (baseline)",
        "why": "ResNet34 is the baseline: more accurate on ImageNet, but about 22 M parameters (about 88 MB with the DeViSE head). "
               "The pipeline is identical to `VisualSemanticModels_Squeezenet1_1.ipynb`; only the backbone differs.",
    },
}


def main_notebook(arch: str) -> nbformat.NotebookNode:
    a = ARCHS[arch]
    md, code = new_markdown_cell, new_code_cell
    cells = [
        md(f"""# Deep Visual Semantic Embedding Models for Mobile — {a['title']}

This notebook reproduces the research project *Deep Visual Semantic Embedding Models for Mobile* in TypeScript:
a CNN is first trained as a classifier on Animals with Attributes 2 (AWA2), then its head is replaced by one that
outputs a 300-d vector trained to point at the word vector of the image's label (DeViSE, Frome et al. 2013).
In that shared space an image can be searched by another image, by text, and — because any word has a vector —
by the name of a class the model never saw (zero-shot).

{a['why']}

Every step calls the project's library (`./lib/index`); the cells only tell the story."""),
        md("""## Parameters

Defaults run offline in minutes on `data_samples/` (an AWA2-layout sample of emoji artwork). The same notebook
runs on real data with no code change, through environment variables set before starting Jupyter:

| variable | meaning | the original's settings |
| --- | --- | --- |
| `DEVISE_DATA` | AWA2 root (`JPEGImages/`, `classes.txt`, `trainclasses.txt`, `testclasses.txt`) or `train/ valid/ test/` folders | your AwA2 folder |
| `DEVISE_LABELS` | `wordnet` (offline default), `attributes`, or a `.vec` file | `crawl-300d-2M.vec` |
| `DEVISE_WEIGHTS` | `.pth` / `.h5` / TF.js folder (default: `models/pretrained/`, then `../shared`) | torchvision weights |
| `DEVISE_SIZE`, `DEVISE_BS` | image size, batch size | 224, 16 |
| `DEVISE_EPOCHS` | `stage1,stage1Unfrozen,stage2a,stage2b` | `4,2,5,3` |
| `DEVISE_SMOKE=1` | tiny CI mode | |"""),
        code(f"""import * as tslab from 'tslab';
import * as lib from './lib/index';
import {{ plot }} from './lib/index';

const cfg = lib.deviseConfig({{ arch: '{arch}' }});
const backend = await lib.initBackend();
console.log(lib.formatBackendInfo(backend));
console.log(JSON.stringify({{ ...cfg, epochs: cfg.epochs }}, null, 1));"""),
        md("""## Data

AWA2 has 50 animal classes. The standard zero-shot split keeps 40 for training (`trainclasses.txt`), split here
into train and valid, and holds out 10 (`testclasses.txt`) that the model never sees: they are only used for
zero-shot search at the end. The table counts images per class and split."""),
        code("""const run = await lib.prepareRun(cfg);
const allItems = [...run.data.train.items, ...run.data.valid.items, ...(run.data.test?.items ?? [])];
lib.showFrame(lib.countsFrame(allItems), { limit: 60 });"""),
        md("""### Data augmentation

Training images get fastai's default `get_transforms()`: random crop, horizontal flip, symmetric warp, rotation
(±10°), zoom (1–1.1) and lighting changes, each with its fastai probability; validation images are center-cropped.
Augmentation is seeded, so a rerun sees the same images."""),
        code("""tslab.display.html(await lib.batchPreview(run, 8));"""),
        md("""## Hyperparameter search: the learning-rate finder

fastai's `lr_find()` trains with an exponentially growing learning rate and records the (smoothed) loss. We pick
a rate where the loss falls fastest, well before it blows up. The weights are restored afterwards."""),
        code("""const lrFind = await lib.findLr(run);
await plot(lib.lrFinderFigure(lrFind.lrs, lrFind.losses, { suggestion: lrFind.suggestion.steepest }));
lrFind.suggestion"""),
        md("""## Stage 1: training the classifier

First only the new head trains (the pretrained body is frozen, its BatchNorm layers stay trainable), with
`fit_one_cycle`. Then the whole model is unfrozen and trained with discriminative learning rates,
`slice(1e-6, 1e-4)`: the early layers barely move, the head moves most. (In the original, unfreezing at the
default learning rate instead collapsed accuracy from 92% to 42%.)"""),
        code("""const stage1Fits = await run.recipe.stage1();"""),
        md("""## Results

The confusion matrix and the images with the highest loss (prediction / actual / loss / probability of the
actual class), as fastai's `ClassificationInterpretation`."""),
        code("""const stage1 = await lib.interpretStage1(run);
console.log(`valid accuracy: ${(stage1.accuracy * 100).toFixed(1)}%`);
await plot(lib.confusionMatrixFigure(stage1.confusion, run.data.classes), { width: 900, height: 800 });"""),
        code("""await plot(await lib.topLossesFigureOf(stage1));"""),
        md("""### Heatmaps

Where does the network look? The mean activation of the last convolutional block (fastai lesson 6), stretched
over the image: red is strong activation."""),
        code("""for (const item of run.data.valid.items.slice(0, 3)) {
  const h = await lib.heatmap(run, item);
  tslab.display.png(h.png);
  console.log(`actual ${h.actual}, predicted ${h.predicted}`);
}"""),
        md("""## Error analysis

The class pairs the classifier confuses most (actual → predicted, count)."""),
        code("""await plot(lib.mostConfusedFigure(stage1.mostConfused.slice(0, 15)));"""),
        md("""## Stage 2: from classes to the semantic space

The classifier's last layer is replaced by one that outputs a 300-d vector; the body and the head's hidden
layers keep their stage-1 weights. The loss is `1 − cos(ŷ, t)` against the label's word vector `t`.
**2a** trains the head only; **2b** unfreezes the whole model with small, discriminative learning rates.

After every epoch the images of four classes (elephant, buffalo, cow, dolphin where present) are embedded; the
animation shows a 2-D PCA of those normalised embeddings (dots) and of the classes' normalised word vectors
(triangles). As training proceeds each class's dots gather around its triangle."""),
        code("""run.recipe.toEmbedding();
run.pca.startPhase('2a');
const fit2a = await run.recipe.stage2a();"""),
        code("""const pca2a = lib.pcaFigureOf(lib.pcaData(run), '2a');
await plot(pca2a);
await lib.plotGif(pca2a);"""),
        code("""run.pca.startPhase('2b');
const fit2b = await run.recipe.stage2b();
const pca2b = lib.pcaFigureOf(lib.pcaData(run), '2b');
await plot(pca2b);
await lib.plotGif(pca2b);"""),
        code("""const embeddingQuality = await run.recipe.evaluateEmbedding();
console.log(`nearest-label accuracy on valid: top-1 ${(embeddingQuality.top1 * 100).toFixed(1)}%, top-5 ${(embeddingQuality.top5 * 100).toFixed(1)}%`);"""),
        md("""## Zero-shot tests

Every image (train, valid and the unseen test classes) is embedded and stored in an hnswlib index; the label
vectors of all classes go in a second index. The table scores nearest-label search by the standard protocols:
**seen** (valid images among the seen classes), **zsl** (unseen images among the unseen classes, per-class mean
top-1 as Xian et al.), and **gzsl** (all images among all classes: accuracy on seen `s` and unseen `u`, and their
harmonic mean `H`)."""),
        code("""const space = await lib.buildSearch(run);
const zeroShot = lib.zeroShotEvaluation(run, space);
await plot(lib.zeroShotFigureOf(zeroShot));"""),
        md("""The three searches: **image → image** (nearest images to an image of an unseen class), **image → text**
(nearest class vectors), and **text → image**: the name of a class the model never saw during training."""),
        code("""const examples = lib.searchExamples(run, space);
const searches = await lib.searchFiguresOf(examples, run.data.testClasses ?? []);
await plot(searches.image_to_image);
await plot(searches.image_to_text);
await plot(searches.text_to_image);"""),
        md("""## Conclusion: model size

With the same 300-d DeViSE head, SqueezeNet 1.1 is about 6% of ResNet34's size — the point of the project:
semantic image search that fits on a phone."""),
        code("""const sizes = await lib.modelSizes(run.labelVectors.dim);
await plot(lib.modelSizeFigure(sizes));
sizes.map((s) => `${s.name}: ${s.sizeMB.toFixed(1)} MB (${s.params.toLocaleString('en')} parameters)`).join('\\n')"""),
    ]
    nb = new_notebook(cells=cells, metadata=META)
    return nb


def quickstart() -> nbformat.NotebookNode:
    md, code = new_markdown_cell, new_code_cell
    cells = [
        md("""# Quickstart: the three searches

Loads the search indices of a trained run (from the SqueezeNet notebook or `npm run demo`, under
`models/run-squeezenet1_1/search/`; if there are none yet, a quick run on `data_samples/` builds them) and
searches image → image, image → text and text → image."""),
        code("""import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lib from './lib/index';
import { plot } from './lib/index';

const cfg = lib.deviseConfig({ arch: 'squeezenet1_1' });
await lib.initBackend();
const searchDir = path.join(cfg.out, 'search');
if (!fs.existsSync(path.join(searchDir, 'images'))) await lib.runDevise({ ...cfg, smoke: true });
const images = lib.ImageIndex.load(path.join(searchDir, 'images'));
const labels = lib.LabelIndex.load(path.join(searchDir, 'labels'));
const source = await lib.labelSource(cfg);
`${images.size} images, ${labels.size} labels`"""),
        md("""**image → image** and **image → text** for the first image of the index:"""),
        code("""const query = 0;
const thumb = (hits: lib.SearchHit[]) => Promise.all(hits.map(async (h) => ({ image: await lib.thumbnail(h.path!), label: h.label, score: h.score })));
await plot(lib.searchStripFigure({ image: await lib.thumbnail(images.rows[query]!.path!) }, await thumb(images.imageToImage(query, 6).slice(1))));
images.imageToText(query, labels, 5).map((h) => `${h.label}  ${h.score.toFixed(3)}`).join('\\n')"""),
        md("""**text → image** with any word the label source can embed — here an unseen class and a word that is no class at all:"""),
        code("""for (const word of ['seal', 'bear']) {
  await plot(lib.searchStripFigure({ word }, await thumb(images.textToImage(word, source, 5))));
}"""),
    ]
    return new_notebook(cells=cells, metadata=META)


def main() -> None:
    for arch, a in ARCHS.items():
        nbformat.write(main_notebook(arch), os.path.join(ROOT, "notebooks", a["file"]))
    nbformat.write(quickstart(), os.path.join(ROOT, "notebooks", "00_Quickstart.ipynb"))


if __name__ == "__main__":
    main()
