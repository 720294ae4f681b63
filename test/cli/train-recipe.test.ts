/**
 * `npm run train -- --stage 2` is the recipe: with no --epochs / --lr / --weights it trains the recipe's 4, 2, 5, 3
 * epochs, runs the LR finder before each frozen phase and trains at its suggestion, starts from the pretrained
 * weights, and takes a label-source name for --vectors. Its numbers equal the recipe run in-process from the
 * notebook's calls (fromFolder, cnnLearner, lrFind, twoStageRecipe({ learner }) with the rate passed), phase by phase
 * (each phase's last valid loss), on one thread. A tiny set (4 classes × 10 images, 32 px) keeps it to seconds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/defaults';
import { chooseLr } from '../../lib/pipeline/notebook';
import { readRunFile } from '../../lib/run-folder';
import { findPretrained } from '../../lib/settings';
import { accuracy } from '../../lib/train/metrics';
import { PHASE_NAMES, PHASE_ORDER, twoStageRecipe } from '../../lib/train/recipe';
import { cnnLearner, ImageDataBunch } from '../../lib/train/vision';
import { labelSource } from '../../lib/vectors/sources';
import { tempDir } from '../helpers';
import { oneThreadBackend } from '../pipeline/one-thread';
import { lastJson, ONE_THREAD, runNode, tinySet } from './run';

const { dir, cleanup } = tempDir('devise-cli-train-recipe-');
afterAll(cleanup);
const LR_FIND_ITERATIONS = 12;

describe('npm run train is the recipe', { timeout: 900_000 }, () => {
  let tiny: string;
  beforeAll(async () => {
    tiny = tinySet(path.join(dir, 'tiny'));
    await oneThreadBackend();
  });

  it('defaults: 4,2,5,3 epochs, the LR finder, pretrained weights, --vectors word2vec; the same numbers as the recipe in-process', async () => {
    const out = path.join(dir, 'cli');
    const r = runNode('utils/train.ts', ['--data', tiny, '--size', '32', '--bs', '4', '--stage', '2', '--vectors', 'word2vec', '--lr-find-iterations', String(LR_FIND_ITERATIONS), '--seed', '0', '--out', out, '--json'], ONE_THREAD);
    expect(r.status, r.stderr).toBe(0);
    const cli = lastJson<{ stage1ValidAccuracy: number; validTop1: number; validCosineLoss: number }>(r.stdout);
    const run = readRunFile(out)!;
    expect(run.command?.settings.weights).toBe(findPretrained('squeezenet1_1'));
    expect(run.lr?.stage1?.from).not.toBe('user');
    expect(run.lr?.stage2a?.from).not.toBe('user');
    const cliPhases = PHASE_ORDER.map((k) => JSON.parse(fs.readFileSync(path.join(out, 'models', PHASE_NAMES[k], 'state.json'), 'utf8')) as { plan: { epochs: number; lrs: number[] }; recorder?: { epochs: { validLoss: number }[] } });
    expect(cliPhases.map((s) => s.plan.epochs)).toEqual(PHASE_ORDER.map((k) => DEFAULTS.epochs[k]));

    // The recipe from the notebook's calls, same settings.
    const data = await ImageDataBunch.fromFolder(tiny, { size: 32, bs: 4, seed: 0, validPct: DEFAULTS.data.validPct }); // the CLI's split (fromFolder alone holds out fastai's 10 %)
    const learn = await cnnLearner(data, 'squeezenet1_1', { metrics: [accuracy], path: path.join(dir, 'lib'), seed: 0, progress: 'none' });
    const source = await labelSource('word2vec');
    const recipe = twoStageRecipe({ learner: learn, labelVectors: source.embed(data.classes) });
    const lr1 = chooseLr(await learn.lrFind({ numIt: LR_FIND_ITERATIONS }), 'stage1');
    const fits = await recipe.stage1(lr1.value);
    const stage1Accuracy = (await learn.validate()).metrics.accuracy;
    recipe.toEmbedding();
    learn.freeze();
    const lr2a = chooseLr(await learn.lrFind({ numIt: LR_FIND_ITERATIONS }), 'stage2a');
    fits.push(await recipe.stage2a(lr2a.value), await recipe.stage2b());
    const ev = await recipe.evaluateEmbedding();

    expect(run.lr?.stage1?.value).toBe(lr1.value);
    expect(run.lr?.stage2a?.value).toBe(lr2a.value);
    expect(cliPhases.map((s) => Math.max(...s.plan.lrs))).toEqual([lr1.value, 1e-4, lr2a.value, 1e-4]);
    expect(fits.map((f) => f.epochs.at(-1)!.validLoss)).toEqual(cliPhases.map((s) => s.recorder?.epochs.at(-1)?.validLoss));
    expect(cli.stage1ValidAccuracy).toBe(stage1Accuracy);
    expect(cli.validTop1).toBe(ev.top1);
    expect(cli.validCosineLoss).toBe(ev.cosineLoss);
  });
});
