/**
 * The fastai-shaped API the notebooks call, on the real SqueezeNet and data_samples/ at 32 px (random weights:
 * this is about the calls, not accuracy): ImageDataBunch, cnnLearner, ClassificationInterpretation, predict,
 * export/loadLearner, toEmbedding, the PCA snapshot callback.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { saveModel } from '../../lib/models/index';
import { ClassificationInterpretation } from '../../lib/train/interpret';
import { EmbeddingSnapshots } from '../../lib/train/snapshots';
import { cnnLearner, ImageDataBunch, loadLearner } from '../../lib/train/vision';
import { ROOT, tempDir } from '../helpers';

const tmp = tempDir('devise-vision-');
beforeAll(async () => {
  await initBackend();
});
afterAll(() => tmp.cleanup());

describe('fastai-style vision API', () => {
  it('data → cnnLearner → fit → interpretation → predict → export/load → toEmbedding → PCA snapshots', async () => {
    const data = await ImageDataBunch.fromFolder(path.join(ROOT, 'data_samples'), { size: 32, bs: 16, seed: 0 });
    expect(data.counts().length).toBe(data.classes.length + (data.testClasses?.length ?? 0));
    expect(await data.batchHtml({ rows: 2 })).toMatch(/(<img src="data:image\/jpeg;base64,[^"]+"[^>]*>.*){4}/s);

    const learn = await cnnLearner(data, 'squeezenet1_1', { weights: null, path: tmp.dir, progress: 'none', seed: 1 });
    expect(learn.model.head.kind).toBe('classifier');
    expect(data.preprocessing).toEqual(learn.model.preprocessing); // normalised as the weights expect
    const fit = await learn.fitOneCycle(1, 1e-3, { checkpoint: 'stage1-frozen' });
    expect(fit.epochs).toHaveLength(1);

    const interp = await ClassificationInterpretation.fromLearner(learn);
    const cm = interp.confusionMatrix();
    expect(cm.flat().reduce((a, b) => a + b, 0)).toBe(data.valid.items.length);
    const top = interp.topLosses(3);
    expect(top.map((t) => t.loss)).toEqual([...top.map((t) => t.loss)].sort((a, b) => b - a));
    expect(top[0]!.path).toMatch(/data_samples/);
    const fig = await interp.topLossesFigure(3, { heatmap: true });
    expect(fig.data.filter((t) => t.type === 'image')).toHaveLength(3);
    expect(interp.mostConfused(1).every((p) => p.count >= 1 && p.actual !== p.predicted)).toBe(true);

    const file = data.valid.items[0]!.path;
    const p = await learn.predict(file);
    expect(data.classes).toContain(p.label);
    expect(p.top[0]!.score).toBeGreaterThanOrEqual(p.top[1]!.score);
    await learn.export(path.join(tmp.dir, 'exported'));
    const inf = await loadLearner(path.join(tmp.dir, 'exported'));
    expect((await inf.predict(file)).top).toEqual(p.top.map((t) => ({ label: t.label, score: expect.closeTo(t.score, 5) })));

    const vectors = data.classes.map((_, i) => Array.from({ length: 8 }, (_, j) => Math.sin(i * 7 + j)));
    await saveModel(learn.model, path.join(tmp.dir, 'classifier'));
    learn.toEmbedding(vectors);
    expect(learn.model.head).toEqual({ kind: 'embedding', units: 8 });
    expect(learn.metrics.map((m) => m.metricName)).toEqual(['nearestLabelAccuracy', 'nearestLabelTop5']);
    const pca = EmbeddingSnapshots.of(data, ['elephant', 'buffalo', 'cow', 'dolphin']);
    learn.callbacks.push(pca);
    learn.freeze();
    await learn.fitOneCycle(2, 1e-3, { checkpoint: 'stage2a' });
    expect(pca.series.stage2a).toHaveLength(2);
    expect(pca.figure('stage2a').frames).toHaveLength(2);
    const e = await learn.evaluateEmbedding();
    expect(e.top5).toBeGreaterThanOrEqual(e.top1);
    await learn.export(path.join(tmp.dir, 'exported2'));
    const inf2 = await loadLearner(path.join(tmp.dir, 'exported2'));
    expect((await inf2.predict(file)).label).toBe((await learn.predict(file)).label);
    expect(learn.recorder.fits.map((f) => [f.name, f.lossName])).toEqual([['stage1-frozen', 'crossEntropy'], ['stage2a', 'cosineLoss']]);

    // A rerun of stage 1 after stage 2 (the notebook's stage-1 cell): the classifier comes back with its loss and metrics.
    await learn.loadModel(path.join(tmp.dir, 'classifier'));
    expect([learn.model.head.kind, learn.loss.lossName, learn.metrics.map((m) => m.metricName), learn.classVectors]).toEqual(['classifier', 'crossEntropy', ['accuracy'], undefined]);
    await learn.fitOneCycle(1, 1e-3, { checkpoint: 'stage1-frozen' });
    expect(learn.recorder.fits.map((f) => [f.name, f.lossName])).toEqual([['stage1-frozen', 'crossEntropy'], ['stage2a', 'cosineLoss']]); // the rerun replaced its record
  });
});
