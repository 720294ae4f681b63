/**
 * DeViSE on real photos through the notebook API (ImageDataBunch.fromFolder → cnnLearner('squeezenet1_1') with the
 * shipped Keras ImageNet weights → fitOneCycle → toEmbedding → zero-shot evaluation), on ../shared's Tiny ImageNet
 * photos of AWA2 classes at their own 64 px: the first 60 photos of each of the 13 classes (10 seen: 480 train /
 * 120 valid; 3 unseen: 180), body frozen, 3 + 3 epochs. Stage 1 and stage 2 must reach 2× chance; zero-shot over
 * the 3 unseen classes only has to beat chance (it transfers weakly on these photos: 45 % against 33 % here). With
 * GloVe-100 labels the open-vocabulary search over the 3 + 20 labels never trained on (koala, dugong, …) runs and is
 * reported, but not asserted above chance: with 10 seen classes it is at chance (4.7 % against 4.3 %, text→image
 * AUC 0.53; bench/zeroshot.ts measures what moves it).
 * Caveat: ImageNet photos, so the pretrained backbone has seen every class; "unseen" means unseen by the head.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { TINY_IMAGENET_ANIMALS } from '../../lib/data/tiny-imagenet';
import { saveModel } from '../../lib/models/index';
import { accuracy } from '../../lib/train/metrics';
import { cnnLearner, ImageDataBunch, type VisionLearner } from '../../lib/train/vision';
import { downloadGlove100, GLOVE_100D_CACHE } from '../../lib/vectors/glove100';
import type { LabelSource } from '../../lib/vectors/labels';
import { labelSource } from '../../lib/vectors/sources';
import { zeroShotOfImages } from '../../lib/zeroshot-images';
import { tempDir, TINY_IMAGENET } from '../helpers';

const { awa2: AWA2, animals: ANIMALS } = TINY_IMAGENET;
const have = fs.existsSync(AWA2) && fs.existsSync(ANIMALS);
if (!have) console.warn(`Skipping real-photo DeViSE tests: ${AWA2} or ${ANIMALS} is missing (set DEVISE_SHARED).`);

const PER_CLASS = 60;
const SIZE = 64;
const EPOCHS = 3;
const tmp = tempDir('devise-real-tiny-');
afterAll(() => tmp.cleanup());

/** An AWA2-layout copy of the first `n` photos of each class (the class lists as shared). */
function subset(n: number): string {
  const root = path.join(tmp.dir, `awa2-${n}`);
  for (const f of ['classes.txt', 'trainclasses.txt', 'testclasses.txt']) {
    fs.mkdirSync(root, { recursive: true });
    fs.copyFileSync(path.join(AWA2, f), path.join(root, f));
  }
  for (const c of fs.readdirSync(path.join(AWA2, 'JPEGImages'))) {
    fs.mkdirSync(path.join(root, 'JPEGImages', c), { recursive: true });
    for (const f of fs.readdirSync(path.join(AWA2, 'JPEGImages', c)).sort().slice(0, n)) fs.copyFileSync(path.join(AWA2, 'JPEGImages', c, f), path.join(root, 'JPEGImages', c, f));
  }
  return root;
}

/** Stage 2 from `learn`'s stage-1 weights against `source`: head only, EPOCHS at 1e-2 (the notebook's order: toEmbedding, freeze, fit). */
async function stage2(learn: VisionLearner, data: ImageDataBunch, source: LabelSource): Promise<{ top1: number; top5: number }> {
  learn.toEmbedding(source.embed(data.classes));
  learn.freeze();
  await learn.fitOneCycle(EPOCHS, 1e-2);
  return learn.evaluateEmbedding();
}

describe.skipIf(!have)('DeViSE on real photos (Tiny ImageNet, AWA2 classes, 64 px)', () => {
  let data: ImageDataBunch;
  let learn: VisionLearner;
  let stage1Dir: string;

  beforeAll(async () => {
    await initBackend();
    data = await ImageDataBunch.fromFolder(subset(PER_CLASS), { size: SIZE, bs: 32, validPct: 0.2, seed: 0 });
  });

  it('stage 1 ≥ 2× chance, stage 2 (word2vec, the default labels) ≥ 2× chance, zero-shot above chance', async () => {
    expect(data.classes).toHaveLength(10);
    expect(data.testClasses).toEqual(['persian+cat', 'pig', 'chimpanzee']);
    learn = await cnnLearner(data, 'squeezenet1_1', { metrics: [accuracy], path: tmp.dir, seed: 0, progress: 'none' });
    const s1 = await learn.fitOneCycle(EPOCHS, 1e-2);
    const s1Accuracy = s1.epochs.at(-1)!.metrics.accuracy!;
    stage1Dir = path.join(tmp.dir, 'stage1-model');
    await saveModel(learn.model, stage1Dir);

    const source = await labelSource('word2vec');
    const s2 = await stage2(learn, data, source);
    const z = await zeroShotOfImages(learn, data, source, data.testClasses!, data.test!.items);
    const chance = 1 / data.classes.length;
    console.log(`real photos, ${SIZE} px, ${PER_CLASS}/class, ${EPOCHS}+${EPOCHS} epochs: stage-1 accuracy ${(100 * s1Accuracy).toFixed(1)} % (chance ${100 * chance} %), ` +
      `stage-2 top-1 ${(100 * s2.top1).toFixed(1)} % / top-5 ${(100 * s2.top5).toFixed(1)} %, zero-shot per-class top-1 ${(100 * z.zsl.perClassTop1).toFixed(1)} % ` +
      `(chance ${(100 * z.zsl.chance).toFixed(1)} %), calibrated H ${(100 * z.gzsl.calibrated.H).toFixed(1)} %`);
    expect(s1Accuracy).toBeGreaterThanOrEqual(2 * chance);
    expect(s2.top1).toBeGreaterThanOrEqual(2 * chance);
    expect(z.zsl.n).toBe(3 * PER_CLASS);
    expect(z.zsl.perClassTop1).toBeGreaterThan(z.zsl.chance);
  }, 600_000);

  it('with glove100: stage 2 ≥ 2× chance, and labels no shipped vector file has (koala, dugong, …) are searched', async (ctx) => {
    if (!stage1Dir) return ctx.skip();
    if (!fs.existsSync(GLOVE_100D_CACHE)) {
      try {
        await downloadGlove100(); // what `npm run vectors -- download glove-100d` does (npm registry)
      } catch (err) {
        console.warn(`Skipping the open-vocabulary test: glove100 could not be downloaded (${(err as Error).message})`);
        return ctx.skip();
      }
    }
    const animals = TINY_IMAGENET_ANIMALS.map((c) => c.label);
    // The shipped word2vec file holds the 50 AWA2 classes only: these labels need a large vocabulary.
    await expect(labelSource('word2vec').then((w) => w.embed(['koala']))).rejects.toThrow(/koala/);
    const source = await labelSource('glove100');
    const learn2 = await cnnLearner(data, 'squeezenet1_1', { metrics: [accuracy], weights: stage1Dir, path: tmp.dir, seed: 0, progress: 'none' });
    const s2 = await stage2(learn2, data, source);
    const animalItems = animals.flatMap((label) => fs.readdirSync(path.join(ANIMALS, label)).sort().slice(0, 20).map((f) => ({ path: path.join(ANIMALS, label, f), label })));
    const unseen = [...data.testClasses!, ...animals];
    const z = await zeroShotOfImages(learn2, data, source, unseen, [...data.test!.items, ...animalItems]);
    console.log(`glove100: stage-2 top-1 ${(100 * s2.top1).toFixed(1)} %, open-vocabulary per-class top-1 over ${unseen.length} unseen labels ` +
      `${(100 * z.zsl.perClassTop1).toFixed(1)} % (chance ${(100 * z.zsl.chance).toFixed(1)} %), per class: ` +
      [...z.zsl.perClass].map(([c, v]) => `${unseen[c - data.classes.length]} ${(100 * v.top1).toFixed(0)}`).join(', '));
    expect(s2.top1).toBeGreaterThanOrEqual(2 / data.classes.length);
    // Every photo scored, every label ranked: the search is open-vocabulary. Its accuracy is reported, not asserted (see above).
    expect(z.zsl.n).toBe(3 * PER_CLASS + 20 * animals.length);
    expect(z.zsl.perClass.size).toBe(unseen.length);
    expect(z.zsl.chance).toBeCloseTo(1 / 23, 12);
  }, 600_000);
});
