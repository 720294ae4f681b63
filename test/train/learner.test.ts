/**
 * The Learner's loop on a small dense model with BatchNorm and an in-memory seeded DataBunch:
 * learning, BatchNorm statistics, freezing, discriminative LRs, lrFind, memory, NaN handling,
 * callbacks, checkpoints and resume.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { crossEntropy } from '../../lib/losses';
import { earlyStopping, hook, saveBest } from '../../lib/train/callbacks';
import { DivergedError, Learner } from '../../lib/train/learner';
import { accuracy, errorRate, topKAccuracy } from '../../lib/train/metrics';
import { slice } from '../../lib/train/schedule';
import { seededDropout } from '../../lib/models/layers';
import { tempDir } from '../helpers';
import { blobData, denseModel, sameBits, snapshot } from './helpers';

const tmp = tempDir('devise-learner-');
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tmp.cleanup());

function learner(opts: { seed?: number; classes?: number } = {}): Learner {
  const data = blobData({ classes: opts.classes ?? 3, seed: opts.seed ?? 0 });
  return new Learner({ model: denseModel(data.dim, opts.classes ?? 3, 1), data, loss: crossEntropy, metrics: [accuracy, errorRate, topKAccuracy(2)], path: tmp.dir, progress: 'none' });
}

describe('Learner', () => {
  it('learns: fitOneCycle raises accuracy, records lrs/moms per batch and a row per epoch', async () => {
    const learn = learner();
    const before = await learn.validate();
    const res = await learn.fitOneCycle(3, slice(0.05));
    expect(res.epochs).toHaveLength(3);
    expect(res.epochs[2]!.metrics.accuracy).toBeGreaterThan(Math.max(0.9, before.metrics.accuracy!));
    expect(res.epochs[2]!.metrics.errorRate).toBeCloseTo(1 - res.epochs[2]!.metrics.accuracy!, 6);
    expect(res.epochs[2]!.metrics.top2Accuracy).toBeGreaterThanOrEqual(res.epochs[2]!.metrics.accuracy!);
    const r = learn.recorder;
    expect(r.losses).toHaveLength(3 * learn.data.train.length);
    expect(r.moms[0]).toBeCloseTo(0.95, 10);
    // slice(b) expansion applied to the run: body gets b/10
    expect(r.lrs[0]![0]! * 10).toBeCloseTo(r.lrs[0]![1]!, 12);
  });

  it('BatchNorm moving statistics update in training (model.apply training:true), not in validation', async () => {
    const learn = learner();
    const bn = () => Array.from(learn.model.model.getLayer('body_bn').getWeights()[2]!.dataSync());
    const m0 = bn();
    await learn.validate();
    expect(bn()).toEqual(m0);
    await learn.fit(1, 1e-3);
    expect(bn()).not.toEqual(m0);
  });

  it('freeze trains only the head group (and BatchNorm); unfreeze trains all; slice() spreads LRs', async () => {
    const learn = learner();
    learn.freeze();
    const s0 = snapshot(learn.model.model);
    await learn.fit(1, 1e-2);
    const s1 = snapshot(learn.model.model);
    expect(s1.get('body_fc/kernel')).toEqual(s0.get('body_fc/kernel'));
    expect(s1.get('head_fc/kernel')).not.toEqual(s0.get('head_fc/kernel'));
    expect(s1.get('body_bn/gamma')).not.toEqual(s0.get('body_bn/gamma'));
    learn.unfreeze();
    await learn.fitOneCycle(1, slice(1e-4, 1e-2));
    expect(snapshot(learn.model.model).get('body_fc/kernel')).not.toEqual(s1.get('body_fc/kernel'));
    const peak = learn.recorder.lrs.reduce((a, b) => (b[1]! > a[1]! ? b : a));
    expect(peak[0]).toBeCloseTo(1e-4, 10);
    expect(peak[1]).toBeCloseTo(1e-2, 10);
  });

  it('lrFind: exponential LRs, stops on divergence, restores weights, BN stats and optimizer bit-identically', async () => {
    const learn = learner();
    await learn.fit(1, 1e-3); // non-empty optimizer state
    const w0 = snapshot(learn.model.model);
    const o0 = learn.opt.getState();
    const res = await learn.lrFind({ numIt: 100 });
    expect(res.lrs[0]).toBeCloseTo(1e-7, 15);
    expect(res.lrs[1]! / res.lrs[0]!).toBeCloseTo(10 ** (8 / 100), 10);
    // lr reaches 10 at iteration 100: a dense net diverges well before, and the finder stops there
    expect(res.lrs.length).toBeLessThan(100);
    const last = res.losses[res.losses.length - 1]!;
    expect(!Number.isFinite(last) || last > 4 * Math.min(...res.losses)).toBe(true);
    expect(res.suggestion.steepest).toBeGreaterThan(1e-6);
    expect(res.suggestion.steepest).toBeLessThan(1);
    expect(res.suggestion.minOver10).toBeGreaterThan(0);
    expect(sameBits(snapshot(learn.model.model), w0)).toBe(true);
    expect(learn.opt.getState()).toEqual(o0);
  });

  it('memory: tf.memory().numTensors identical after epoch 1 and epoch 3', async () => {
    const learn = learner();
    const counts: number[] = [];
    await learn.fitOneCycle(3, 1e-2, { callbacks: [hook((e) => void (e === 'epochEnd' && counts.push(tf.memory().numTensors)))] });
    expect(counts).toHaveLength(3);
    expect(counts[2]).toBe(counts[0]);
    const after = tf.memory().numTensors;
    await learn.lrFind({ numIt: 20 });
    expect(tf.memory().numTensors).toBe(after);
  });

  it('a NaN loss stops training with a clear message and keeps the last good weights', async () => {
    const learn = learner();
    const goodWeights: Map<string, Float32Array>[] = [];
    const poison = hook((e, s) => {
      if (e !== 'batchEnd') return;
      goodWeights.push(snapshot(learn.model.model));
      if (s.iteration === 4) learn.loss = Object.assign((p: tf.Tensor, y: tf.Tensor1D) => tf.mul(crossEntropy(p, y), NaN) as tf.Scalar, { lossName: 'broken' });
    });
    await expect(learn.fit(2, 1e-3, { callbacks: [poison] })).rejects.toThrow(DivergedError);
    await expect(learn.fit(1, 1e-3)).rejects.toThrow(/loss is NaN.*last good batch/s);
    learn.loss = crossEntropy;
    expect(sameBits(snapshot(learn.model.model), goodWeights[3]!)).toBe(true);
  });

  it('callbacks: early stopping, save-best (loads the best at the end), user hook, stop()', async () => {
    const learn = learner();
    const events: string[] = [];
    const res = await learn.fit(6, 1e-2, {
      callbacks: [earlyStopping({ monitor: 'accuracy', patience: 0, minDelta: 0.5 }), saveBest({ monitor: 'validLoss', name: 'best' }), hook((e) => void events.push(e))],
    });
    expect(res.stopped).toMatch(/early stopping: accuracy/);
    expect(res.epochs).toHaveLength(2);
    expect(events.filter((e) => e === 'trainBegin')).toHaveLength(1);
    expect(events.filter((e) => e === 'batchEnd')).toHaveLength(2 * learn.data.train.length);
    expect(fs.existsSync(learn.checkpointDir('best'))).toBe(true);
    const stopper = hook((e, s) => void (e === 'batchEnd' && s.iteration === 3 && learn.stop('user stop')));
    const r2 = await learn.fit(3, 1e-3, { callbacks: [stopper], checkpoint: 'stopped' });
    expect(r2.stopped).toBe('user stop');
    expect(learn.recorder.losses).toHaveLength(3);
  });

  it('save/load round-trips weights and optimizer; resume continues the schedule to the same result', async () => {
    // uninterrupted
    const a = learner({ seed: 3 });
    await a.fitOneCycle(4, 0.02);
    const finalA = snapshot(a.model.model);
    // stopped mid-epoch 2, resumed by a fresh learner from the checkpoint
    const b = learner({ seed: 3 });
    const stopAt = b.data.train.length * 2 + 2;
    const res = await b.fitOneCycle(4, 0.02, { checkpoint: 'run', callbacks: [hook((e, s) => void (e === 'batchEnd' && s.iteration === stopAt && b.stop()))] });
    expect(res.stopped).toBeDefined();
    const c = learner({ seed: 3 });
    await c.resume('run');
    expect(c.recorder.losses).toHaveLength(a.recorder.losses.length);
    expect(c.recorder.lrs).toEqual(a.recorder.lrs);
    const finalC = snapshot(c.model.model);
    for (const [k, v] of finalA) v.forEach((x, i) => expect(finalC.get(k)![i]).toBeCloseTo(x, 5));
    expect(c.recorder.epochs).toHaveLength(4);
    expect(c.recorder.epochs[3]!.validLoss).toBeCloseTo(a.recorder.epochs[3]!.validLoss, 5);
    // load into a different architecture fails clearly
    const other = new Learner({ model: denseModel(8, 3, 1, 7), data: c.data, loss: crossEntropy, path: tmp.dir, progress: 'none' });
    await expect(other.load('run')).rejects.toThrow(/shape/);
  });

  it('each fit draws its own dropout masks (a second fit does not replay the first one\'s); resume redraws the same', async () => {
    const x = tf.input({ shape: [8] });
    const h = tf.layers.dense({ units: 16, name: 'body_fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(x) as tf.SymbolicTensor;
    const d = seededDropout(h, 'head_drop', 0.5, 7);
    const out = tf.layers.dense({ units: 3, name: 'head_fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(d) as tf.SymbolicTensor;
    const make = () => new Learner({ model: { model: tf.model({ inputs: x, outputs: out }), layerGroups: [['body_fc'], ['head_drop', 'head_fc']] }, data: blobData(), loss: crossEntropy, path: tmp.dir, progress: 'none' });
    const learn = make();
    const drop = learn.model.model.getLayer('head_drop') as unknown as { step: number };
    const steps = (into: number[]) => hook((e) => void (e === 'batchEnd' && into.push(drop.step - 1)));
    const a: number[] = [];
    const b: number[] = [];
    await learn.fitOneCycle(1, 1e-2, { checkpoint: 'phase-a', callbacks: [steps(a)] });
    await learn.fitOneCycle(1, 1e-2, { checkpoint: 'phase-b', callbacks: [steps(b)] });
    expect(a).toHaveLength(learn.data.train.length);
    expect(b.filter((s) => a.includes(s))).toEqual([]);
    // The same named fit in another learner (a resumed recipe in a new process) draws the same masks.
    const c: number[] = [];
    await make().fitOneCycle(1, 1e-2, { checkpoint: 'phase-b', callbacks: [steps(c)] });
    expect(c).toEqual(b);
  });
});
