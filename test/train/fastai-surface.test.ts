/**
 * The fastai v1 names a user types in the notebooks: fromFolder's 10 % validation default and `dsTfms`,
 * `normalize(imagenetStats)` refused with a message when the weights expect other statistics, `getPreds`
 * returning probabilities (logits on request), `recorder.plot()`, and `addCallback` (a rerun cell adds its
 * callback once). The PCA snapshots of a fit rerun under the same name start again.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { getTransforms } from '../../lib/data/augment';
import { crossEntropy } from '../../lib/losses';
import { CAFFE } from '../../lib/preprocessing';
import { Learner } from '../../lib/train/learner';
import { EmbeddingSnapshots } from '../../lib/train/snapshots';
import { DEFAULTS } from '../../lib/defaults';
import { cnnLearner, ImageDataBunch, imagenetStats } from '../../lib/train/vision';
import { ROOT } from '../helpers';
import { blobData, denseModel } from './helpers';

const SAMPLES = path.join(ROOT, 'data_samples');
beforeAll(async () => {
  await initBackend();
});

describe('fastai v1 surface', () => {
  it('fromFolder holds out 10 % by default (fastai valid_pct); dsTfms sets or turns off the training augmentation', async () => {
    expect(DEFAULTS.data.validPct).toBe(0.1);
    const data = await ImageDataBunch.fromFolder(SAMPLES, { size: 32, bs: 8 });
    // Stratified: a tenth of each class, rounded (as the 0.2 split did before).
    const perClass = new Map<string, number>();
    for (const it of [...data.train.items, ...data.valid.items]) perClass.set(it.label, (perClass.get(it.label) ?? 0) + 1);
    expect(data.valid.items.length).toBe([...perClass.values()].reduce((a, n) => a + Math.round(n * 0.1), 0));
    const augmentOf = (d: ImageDataBunch) => (d.train as unknown as { opts: { augment: unknown } }).opts.augment;
    expect(augmentOf(data)).toEqual(getTransforms());
    expect(augmentOf(await ImageDataBunch.fromFolder(SAMPLES, { size: 32, bs: 8, dsTfms: getTransforms({ maxRotate: 20, doFlip: false }) }))).toEqual({ ...getTransforms(), maxRotate: 20, doFlip: false });
    const plain = await ImageDataBunch.fromFolder(SAMPLES, { size: 32, bs: 8, dsTfms: false });
    expect(augmentOf(plain)).toBeNull();
    await plain.normalize(CAFFE); // rebuilt loaders keep the choice
    expect(augmentOf(plain)).toBeNull();
  });

  it('normalize(imagenetStats) on data for weights that expect other statistics is refused with one message; matching ones pass', async () => {
    const data = await ImageDataBunch.fromFolder(SAMPLES, { size: 32, bs: 8 });
    await data.normalize(imagenetStats);
    // The shipped Keras SqueezeNet expects Caffe preprocessing (BGR mean subtraction).
    await expect(cnnLearner(data, 'squeezenet1_1', { progress: 'none' })).rejects.toThrow(/data\.normalize\(.*differs from what the squeezenet1_1 weights expect/);
    const learn = await cnnLearner(data, 'squeezenet1_1', { weights: null, progress: 'none' }); // random init: ImageNet statistics
    expect(data.preprocessing).toEqual(learn.model.preprocessing);
  });

  it('getPreds: probabilities for a cross-entropy learner (rows sum to 1, softmax of the logits), logits with { logits: true }', async () => {
    const learn = new Learner({ model: denseModel(8, 3, 2), data: blobData({ nTrain: 32, nValid: 24, bs: 8, seed: 5 }), loss: crossEntropy, progress: 'none' });
    const probs = await learn.getPreds();
    const logits = await learn.getPreds(undefined, { logits: true });
    const rows = (await probs.preds.array()) as number[][];
    for (const r of rows) expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const expected = tf.softmax(logits.preds);
    expect(tf.max(tf.abs(tf.sub(expected, probs.preds))).dataSync()[0]).toBeLessThan(1e-6);
    expect(logits.preds.arraySync().flat().some((v) => v < 0 || v > 1)).toBe(true);
    expect(probs.targets).toEqual(logits.targets);
    tf.dispose([probs.preds, logits.preds, expected]);
    expect(learn.recorder.plot).toBeTypeOf('function'); // fastai v1's recorder.plot() after lr_find
  });

  it('addCallback replaces a callback of the same class (a rerun cell), keeps others; PCA snapshots of a rerun fit start again', async () => {
    const all = await ImageDataBunch.fromFolder(SAMPLES, { size: 32, bs: 8 });
    const data = await ImageDataBunch.fromFolder(SAMPLES, { size: 32, bs: 8, classes: all.classes.slice(0, 3) }); // small: a few seconds per fit
    const learn = await cnnLearner(data, 'squeezenet1_1', { weights: null, progress: 'none', seed: 3 });
    const other = { order: 10 };
    learn.addCallback(other);
    const first = EmbeddingSnapshots.of(data, data.classes.slice(0, 2));
    learn.addCallback(first);
    const second = EmbeddingSnapshots.of(data, data.classes.slice(0, 2));
    learn.addCallback(second);
    expect(learn.callbacks).toEqual([other, second]);
    learn.toEmbedding(data.classes.map((_, i) => Array.from({ length: 8 }, (_, d) => (d === i % 8 ? 1 : 0.1))));
    await learn.fit(2, 1e-4, { checkpoint: 'stage2a' });
    await learn.fit(2, 1e-4, { checkpoint: 'stage2a' }); // the cell rerun
    expect(second.figure('stage2a').frames).toHaveLength(2); // not 4
  }, 300_000);
});
