// Source of notebooks/ObjectivesCompared.ipynb (percent format; `npm run notebooks -- build`).

// %% [markdown]
// # Which embedding objective?
//
// The systems this project draws on train the image embedding in different ways. This notebook trains each of them on
// the **same** frozen backbone features of the same photos — same split, label vectors, batch order (P × K batches:
// 5 classes × 8 photos), head (1024 → 512 → label dimension), optimiser (Adam 1e-3) and epochs — and measures what each
// gives you:
//
// - **cosine**: 1 − cos(image embedding, label vector) — this project's original loss (the DeViSE regression).
// - **hinge**: DeViSE's hinge rank loss (Frome et al., NeurIPS 2013): margin 0.1, summed over the wrong labels.
// - **triplet**: FaceNet's triplet loss (Schroff et al., CVPR 2015): L2-normalised embedding, margin 0.2, online
//   semi-hard mining; judged by kNN (k = 5). It never sees a label vector, so it **cannot do zero-shot**.
// - **hybrid**: cosine to the label vector plus the triplet term between images (weight 1): keeps zero-shot.
// - **ESZSL** (Romera-Paredes & Torr, ICML 2015): a bilinear compatibility in closed form (two ridge solves).
// - **ALE** (Akata et al., CVPR 2013 / TPAMI 2016): a bilinear compatibility trained with a weighted ranking loss.
//
// ESZSL and ALE run at the published AWA2 settings of Xian et al.'s benchmark (TPAMI 2018; ESZSL γ = 10³, λ = 1; ALE
// lr 0.01): choosing them on three held-out seen classes is noise at this size. On AWA2 with ResNet-101 features that
// paper lists zero-shot top-1 DeViSE 59.7, ALE 62.5, ESZSL 58.6 and GZSL H DeViSE 27.8, ALE 23.9, ESZSL 11.0.
//
// Measured per objective: seen top-1 (nearest label, or kNN for triplet), zero-shot per-class top-1 (unseen photos
// among the unseen labels), open-vocabulary top-1 (the unseen photos and 20 further animals among all 23 words),
// calibrated GZSL H (γ chosen on seen validation photos only), AUSUC, image → image recall@1/@5 and mAP
// (leave-one-out over every test photo, seen and unseen) and training seconds; mean ± sd over the seeds.

// %% [markdown]
// ## Settings and features
//
// With `../shared/data/tiny-imagenet-awa2` present (real 64 px ImageNet photos of 13 AWA2 classes: 10 seen, 3 unseen
// — persian cat, pig, chimpanzee; `npm run data -- tiny-imagenet --out <dir>` builds it), the comparison runs on the
// first 100 photos of each class (seen: 60 train / 20 valid / 20 test; unseen: all test), at 64 px, with `glove100`
// labels (GloVe 6B 100-d: it also knows the 20 extra animals of `tiny-imagenet-animals`, 100 photos each), 3 seeds and
// 10 epochs per head. `DEVISE_DATA=<AWA2 root>` runs it on your photos; without the real photos, or with
// `DEVISE_SMOKE=1`, it runs offline on `data_samples/` (emoji drawings, 5 per class, 1 seed, 2 epochs: a check that it
// runs, not a result). The backbone is ImageNet SqueezeNet 1.1 (its weights from `DEVISE_WEIGHTS`, else the shipped
// Keras file), frozen; its feature is the average and the max of the last feature map (1024-d).
//
// **Caveat:** these are ImageNet photos and the backbone was trained on ImageNet, the three unseen classes included, so
// every zero-shot number here is optimistic (Xian et al.'s reason for the proposed split).

// %%
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheFeatures, compareObjectives, deviseConfig, displayPath, initBackend, objectivesTableRows, objectivesVerdict, show } from './lib/index';
import { env, sharedDir } from './lib/env';

await initBackend();
const cfg = deviseConfig({ arch: 'squeezenet1_1' });
const realPhotos = path.join(sharedDir(), 'data', 'tiny-imagenet-awa2');
const animals = path.join(sharedDir(), 'data', 'tiny-imagenet-animals');
const onRealPhotos = !env.data && !cfg.smoke && fs.existsSync(realPhotos);
const DATA = onRealPhotos ? realPhotos : cfg.data;
const small = cfg.smoke || !onRealPhotos && !env.data;
const SETTINGS = { perClass: cfg.perClass ?? (small ? 5 : 100), size: 64, seeds: small ? 1 : 3, epochs: small ? 2 : 10, labels: 'glove100' };
if (!cfg.weights) throw new Error('The comparison needs pretrained SqueezeNet 1.1 weights (DEVISE_WEIGHTS=none gives a random backbone).');
const set = await cacheFeatures({
  root: DATA, weights: cfg.weights, perClass: SETTINGS.perClass, size: SETTINGS.size, labels: SETTINGS.labels,
  ...(fs.existsSync(animals) && !small ? { openVocabulary: { root: animals, perClass: SETTINGS.perClass } } : {}),
});
const count = (s: string) => set.split.filter((x) => x === s).length;
console.log(`${displayPath(DATA)}: ${set.seen.length} seen classes (${count('train')} train, ${count('valid')} valid photos), ${set.unseen.length} unseen; ${count('test')} test photos`);
console.log(set.openVocabulary ? `open vocabulary: ${set.openVocabulary.features.length} photos of ${set.openVocabulary.classes.length} words (${displayPath(animals)} + the unseen classes)` : 'open vocabulary: not measured (no extra animal photos, or smoke settings)');
console.log(`features: ${set.features.length + (set.openVocabulary?.features.length ?? 0)} photos through the frozen SqueezeNet 1.1 (${displayPath(cfg.weights)}) in ${set.featureSeconds.toFixed(0)} s; settings ${JSON.stringify(SETTINGS)}`);

// %% [markdown]
// ## The comparison
//
// Every objective for every seed (the seed sets the head's initialisation, the batch order and ALE's order). Each line
// is one objective and seed as it finishes.

// %%
const cmp = await compareObjectives(set, {
  seeds: SETTINGS.seeds, epochs: SETTINGS.epochs, defaults: true,
  onResult: (o, seed, r) => console.log(`seed ${seed} ${o.padEnd(7)} seen ${(100 * r.seenTop1).toFixed(1)} % (${r.seenTop1Method}), zero-shot ${r.zeroShotPerClassTop1 === null ? 'none' : `${(100 * r.zeroShotPerClassTop1).toFixed(1)} %`}, recall@1 ${(100 * r.recallAt1).toFixed(1)} %, ${r.seconds.toFixed(1)} s`),
});
const ran = Object.fromEntries(Object.entries(cmp.objectives).filter(([, m]) => m !== null)) as Record<string, Record<string, number | null | string>>;
const { header, rows } = objectivesTableRows(ran, SETTINGS.seeds > 1 ? (cmp.objectivesSd as Record<string, Record<string, number | null>>) : null);
await show(rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))));

// %% [markdown]
// ## Verdict
//
// Computed from the table above (means; "tied" = within one sd of the best).

// %%
const verdict = objectivesVerdict(cmp, { zeroShot: 1 / set.unseen.length, ...(set.openVocabulary ? { openVocabulary: 1 / set.openVocabulary.classes.length } : {}) });
for (const line of verdict) console.log(line);
console.log(`Triplet's second step, a softmax classifier on its frozen embedding: seen top-1 ${(100 * (cmp.objectives.triplet?.classifierTop1 as number)).toFixed(1)} %.`);

// %% [markdown]
// ## Running it yourself
//
// - Offline, on the shipped sample: `DEVISE_SMOKE=1` before starting Jupyter (or no `../shared` photos) runs these cells
//   on `data_samples/` in about a minute; its numbers describe a handful of emoji drawings, not photos.
// - On your AWA2 root: `DEVISE_DATA=~/AwA2 DEVISE_PER_CLASS=150` (the first 150 photos of each class).
// - The same comparison from the command line, with the held-out choice of ESZSL's and ALE's settings as an option:
//   `npm run bench -- objectives --per-class 100 --epochs 10 --seeds 3 --labels glove100 --animals ../shared/data/tiny-imagenet-animals --published-defaults --json`.
// - On a trained run's own backbone and photos: `npm run demo -- --objectives` adds this table (one seed) to the
//   demo's report and `objectives` to its `metrics.json`.
