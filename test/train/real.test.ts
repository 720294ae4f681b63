/**
 * Learning happens on real photos: SqueezeNet 1.1 with the real Keras ImageNet weights on real CIFAR-10
 * photos (8 classes, 64 px, frozen body + head), then stage 2 against the real GloVe vectors; and the
 * `npm run train` CLI end to end, unfrozen phases included (conv backprop: wasm training kernels).
 * Runs on the default backend.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { imageDataBunch } from '../../lib/data/loader';
import { createModel } from '../../lib/models/index';
import { hook } from '../../lib/train/callbacks';
import { twoStageRecipe } from '../../lib/train/recipe';
import { slice } from '../../lib/train/schedule';
import { wordVectorSource } from '../../lib/vectors/labels';
import { openVectors } from '../../lib/vectors/vec';
import { runTs, SHARED, tempDir } from '../helpers';

const CIFAR = path.join(SHARED, 'data', 'cifar10-sample');
const WEIGHTS = path.join(SHARED, 'weights', 'keras-squeezenet', 'squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5');
const GLOVE = path.join(SHARED, 'data', 'wordvectors', 'glove6b-50d-concrete-nouns.vec');
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse'];
const haveShared = [CIFAR, WEIGHTS, GLOVE].every((p) => fs.existsSync(p));
if (!haveShared) console.warn(`Skipping real-photo training tests: ${SHARED} lacks the CIFAR-10 sample, SqueezeNet weights or GloVe vectors.`);

const tmp = tempDir('devise-real-');
/** A `train/<class>/` copy of the first `n` photos per class (lib/data reads that layout; the shared set is flat). */
function photoRoot(n: number, classes = CLASSES): string {
  const root = path.join(tmp.dir, `cifar-${n}-${classes.length}`);
  for (const c of classes) {
    fs.mkdirSync(path.join(root, 'train', c), { recursive: true });
    for (const f of fs.readdirSync(path.join(CIFAR, c)).sort().slice(0, n)) fs.copyFileSync(path.join(CIFAR, c, f), path.join(root, 'train', c, f));
  }
  return root;
}

beforeAll(async () => {
  await initBackend();
});
afterAll(() => tmp.cleanup());

describe.skipIf(!haveShared)('learning on real photos', () => {
  it('stage 1 beats 2× chance; stage 2 (GloVe, cosine loss) beats chance and the loss falls', async () => {
    const model = await createModel('squeezenet1_1', { classes: CLASSES.length, inputSize: 64, weights: WEIGHTS });
    const data = await imageDataBunch({ root: photoRoot(60), classes: CLASSES, size: 64, bs: 32, validPct: 0.2, seed: 0, preprocessing: model.preprocessing, augment: false });
    const counts: number[] = [];
    const glove = wordVectorSource(await openVectors(GLOVE), { aliases: { automobile: 'car' }, normalize: true }).embed(data.classes);
    const recipe = twoStageRecipe({
      model,
      data,
      labelVectors: glove,
      path: tmp.dir,
      progress: 'none',
      callbacks: [hook((e, s) => void (e === 'epochEnd' && s.learner === recipe.learner && recipe.stage === 2 && counts.push(tf.memory().numTensors)))],
      stage1: { epochs: 3, lr: slice(1e-2) },
      stage1Unfrozen: { epochs: 0, lr: slice(1e-6, 1e-4) },
      stage2a: { epochs: 3, lr: slice(1e-2) },
    });
    const [s1] = await recipe.stage1();
    const chance = 1 / CLASSES.length;
    expect(s1!.epochs.at(-1)!.metrics.accuracy).toBeGreaterThanOrEqual(2 * chance);

    recipe.toEmbedding();
    const before = await recipe.evaluateEmbedding();
    const s2 = await recipe.stage2a();
    const after = await recipe.evaluateEmbedding();
    expect(s2.epochs).toHaveLength(3);
    expect(after.cosineLoss).toBeLessThan(before.cosineLoss);
    expect(s2.epochs[2]!.validLoss).toBeLessThan(s2.epochs[0]!.validLoss);
    expect(counts).toHaveLength(3);
    expect(counts[2]).toBe(counts[0]); // real model + real loader: no tensor leaks across epochs
    expect(after.top1).toBeGreaterThan(chance);
    expect(after.top5).toBeGreaterThanOrEqual(after.top1);
    console.log(`real photos: stage 1 valid accuracy ${s1!.epochs.at(-1)!.metrics.accuracy!.toFixed(3)}, stage 2 cosine loss ${before.cosineLoss.toFixed(3)} → ${after.cosineLoss.toFixed(3)}, nearest-label top-1 ${after.top1.toFixed(3)} top-5 ${after.top5.toFixed(3)}`);
  });

  it('npm run train -- --stage 2 --json: stage 1 then stage 2, checkpoints, one JSON object', () => {
    const out = path.join(tmp.dir, 'cli');
    const root = photoRoot(24, ['airplane', 'automobile', 'cat']);
    const r = runTs('utils/train.ts', [
      '--data', root, '--model', 'squeezenet1_1', '--weights', WEIGHTS, '--size', '32', '--bs', '16', '--epochs', '1', '--unfreeze-epochs', '1',
      '--stage', '2', '--vectors', GLOVE, '--alias', 'automobile=car', '--out', out, '--seed', '0', '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(res.stage).toBe(2);
    expect(res.epochs).toBe(4); // 1 frozen + 1 unfrozen per stage
    expect(res.validTop1).toBeGreaterThanOrEqual(0);
    expect(res.validTop5).toBe(1); // 3 classes: the true one is always among the top 5
    expect(typeof res.stage1ValidAccuracy).toBe('number');
    expect(res.seconds).toBeGreaterThan(0);
    for (const ck of ['stage1-frozen', 'stage1-unfrozen', 'stage2a', 'stage2b']) expect(fs.existsSync(path.join(out, 'models', ck, 'state.json'))).toBe(true);
    // --from a stage-1 checkpoint skips stage 1 (the checkpoint opens with lib/models' loadModel); hinge loss
    const r2 = runTs('utils/train.ts', ['--data', root, '--size', '32', '--bs', '16', '--epochs', '1', '--unfreeze-epochs', '0', '--stage', '2', '--from', path.join(out, 'models', 'stage1-unfrozen'),
      '--vectors', GLOVE, '--alias', 'automobile=car', '--loss', 'hinge', '--out', path.join(tmp.dir, 'cli2'), '--json']);
    expect(r2.status, r2.stderr).toBe(0);
    const res2 = JSON.parse(r2.stdout.trim().split('\n').at(-1)!);
    expect(res2.epochs).toBe(1);
    expect(res2.stage1ValidAccuracy).toBeUndefined();
    const bad = runTs('utils/train.ts', ['--data', root, '--stage', '2']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--vectors/);
  });
});
