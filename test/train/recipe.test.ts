/**
 * The two-stage recipe is built from the notebook's calls: a phase equals fitOneCycle on the same learner;
 * the LR finder's suggestion feeds fitOneCycle; per-phase checkpoints; with `resume` a finished phase is
 * loaded (never re-entered) and a stopped one continues to the uninterrupted result.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import type { CnnModel } from '../../lib/models/index';
import { crossEntropy } from '../../lib/losses';
import { hook } from '../../lib/train/callbacks';
import { accuracy } from '../../lib/train/metrics';
import { PHASE_NAMES, twoStageRecipe } from '../../lib/train/recipe';
import { slice } from '../../lib/train/schedule';
import { VisionLearner } from '../../lib/train/vision';
import { tempDir } from '../helpers';
import { blobData, denseModel, sameBits, snapshot } from './helpers';

const tmp = tempDir('devise-recipe-');
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tmp.cleanup());

const phases = { stage1: { epochs: 2, lr: slice(2e-2) }, stage1Unfrozen: { epochs: 2, lr: slice(1e-4, 1e-2) } };
const recipeOf = (dir: string, extra: Partial<Parameters<typeof twoStageRecipe>[0]> = {}) =>
  twoStageRecipe({ model: denseModel(8, 3, 1) as CnnModel, data: blobData({ seed: 2 }), path: dir, progress: 'none', ...phases, ...extra });

describe('twoStageRecipe', () => {
  it('a phase is fitOneCycle on the learner (same weights bit for bit); checkpoints are named per phase', async () => {
    const dir = path.join(tmp.dir, 'same');
    const r = recipeOf(dir);
    const [frozen, unfrozen] = await r.stage1();
    expect(frozen!.epochs).toHaveLength(2);
    expect(unfrozen!.epochs).toHaveLength(2);
    for (const k of ['stage1', 'stage1Unfrozen'] as const) expect(fs.existsSync(path.join(dir, 'models', PHASE_NAMES[k], 'state.json'))).toBe(true);
    expect(PHASE_NAMES).toEqual({ stage1: 'stage1-frozen', stage1Unfrozen: 'stage1-unfrozen', stage2a: 'stage2a', stage2b: 'stage2b' });

    const data = blobData({ seed: 2 });
    const learn = new VisionLearner({ model: denseModel(8, 3, 1), data, loss: crossEntropy, metrics: [accuracy], path: path.join(tmp.dir, 'by-hand'), progress: 'none' });
    learn.freeze();
    await learn.fitOneCycle(2, slice(2e-2));
    learn.unfreeze();
    await learn.fitOneCycle(2, slice(1e-4, 1e-2));
    expect(sameBits(snapshot(learn.model.model), snapshot(r.learner.model.model))).toBe(true);
    expect(r.learner.recorder.fits.map((f) => f.name)).toEqual(['stage1-frozen', 'stage1-unfrozen']);
  });

  it("lrFind's suggestion feeds fitOneCycle as the last group's maximum rate", async () => {
    const learn = new VisionLearner({ model: denseModel(8, 3, 1), data: blobData({ seed: 2 }), loss: crossEntropy, path: path.join(tmp.dir, 'lr'), progress: 'none' });
    const before = snapshot(learn.model.model);
    const found = await learn.lrFind({ numIt: 30 });
    expect(sameBits(before, snapshot(learn.model.model))).toBe(true);
    expect(learn.recorder.lrFind).toBe(found);
    const lr = found.suggestion.steepest;
    expect(lr).toBeGreaterThan(1e-7);
    await learn.fitOneCycle(1, lr);
    const maxLast = Math.max(...learn.recorder.lrs.map((l) => l.at(-1)!));
    expect(maxLast).toBeCloseTo(lr, 12);
    expect(learn.recorder.lossesFigure().data.length).toBeGreaterThan(0);
  });

  it('resume: a finished phase is loaded, not re-entered; a stopped phase continues to the uninterrupted result', async () => {
    const whole = recipeOf(path.join(tmp.dir, 'whole'));
    await whole.stage1();
    const dir = path.join(tmp.dir, 'stopped');
    const first = recipeOf(dir);
    const stopAt = 3;
    first.learner.callbacks.push(hook((e, s) => void (e === 'batchEnd' && s.name === 'stage1-unfrozen' && s.iteration === stopAt && s.learner.stop('test stop'))));
    const res = await first.stage1();
    expect(res.at(-1)!.stopped).toBe('test stop');
    expect(first.phaseStatus('stage1')).toBe('done');
    expect(first.phaseStatus('stage1Unfrozen')).toBe('partial');

    const ran: string[] = [];
    const phasesSeen: string[] = [];
    const again = recipeOf(dir, { resume: true, onPhase: (n, st) => phasesSeen.push(`${n}:${st}`), callbacks: [hook((e, s) => void (e === 'batchEnd' && ran.push(s.name ?? '?')))] });
    await again.stage1();
    expect(ran.filter((n) => n === 'stage1-frozen')).toEqual([]);
    expect(ran.filter((n) => n === 'stage1-unfrozen')).toHaveLength(2 * again.learner.data.train.length - stopAt);
    expect(phasesSeen).toEqual(['stage1-unfrozen:running', 'stage1-unfrozen:done']);
    expect(again.phaseStatus('stage1Unfrozen')).toBe('done');
    const a = snapshot(whole.learner.model.model);
    const b = snapshot(again.learner.model.model);
    for (const [k, v] of a) v.forEach((x, i) => expect(b.get(k)![i]).toBeCloseTo(x, 5));
  });
});
