// The run estimate: printed after the first batches (before the first epoch ends), per phase and in total, and
// close to the time the run then really takes.
//   npx vitest run test/train/estimate.test.ts --maxWorkers 1
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { crossEntropy } from '../../lib/losses';
import { hook } from '../../lib/train/callbacks';
import { DEFAULTS } from '../../lib/defaults';
import { CostLimitError, costStatement, humanDuration, RunEstimate } from '../../lib/train/estimate';
import { hyperSearch } from '../../lib/train/hypersearch';
import { Learner } from '../../lib/train/learner';
import { blobData, denseModel } from './helpers';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** A callback that makes every training batch take `ms` more, so the run's length is known and dominates noise. */
const slowBatches = (ms: () => number) => ({ order: 5, onBatchEnd: () => new Promise<void>((r) => setTimeout(r, ms())) });

describe('RunEstimate', () => {
  it('says the whole run (per phase, total) after the first batches, close to what it then takes; re-says a slower phase', async () => {
    const data = blobData({ nTrain: 160, nValid: 32, bs: 16 }); // 10 train, 2 valid batches per epoch
    const learn = new Learner({ model: denseModel(data.dim, 3, 1), data, loss: crossEntropy, progress: 'none' });
    const lines: string[] = [];
    const eta = new RunEstimate([{ name: 'phase-a', epochs: 3 }, { name: 'phase-b', epochs: 2 }], { trainBatches: 10, validBatches: 2, afterBatches: 4, log: (l) => lines.push(l) });
    let delay = 60;
    let linesAtFirstEpochEnd = -1;
    // The cpu backend's JS kernels get faster over their first dozens of calls (V8 optimising them): warm up first,
    // so what is measured is the run's steady speed (wasm and native kernels are steady after the first batch).
    await learn.fitOneCycle(2, 0.05);
    learn.callbacks.push(eta, slowBatches(() => delay), hook((event) => {
      if (event === 'epochEnd' && linesAtFirstEpochEnd < 0) linesAtFirstEpochEnd = lines.length;
    }));
    const t0 = performance.now();
    await learn.fitOneCycle(3, 0.05, { name: 'phase-a' });
    const tA = (performance.now() - t0) / 1000;
    expect(linesAtFirstEpochEnd).toBeGreaterThanOrEqual(1); // said before the first epoch ended
    expect(lines[0]).toMatch(/^estimate: /);
    expect(lines[0]).toMatch(/^estimate: 0\.\d\d s per batch of 10 \(measured on 4 batches of phase-a\) → phase-a \d+ s, phase-b \d+ s\*; ≈ \d+ s of training left/);
    const [a, b] = eta.estimate();
    // 3 epochs × 10 batches × ≥ 60 ms: the first estimate (4 batches) is within a factor 2.5 of what phase a took (the
    // first batches of a process run slower, and the machine is shared); the one over the first epoch within 40 % (the machine is shared: other jobs change the speed from epoch to epoch).
    const firstEstimate = Number(/phase-a (\d+) s/.exec(lines[0]!)![1]);
    expect(firstEstimate / tA).toBeGreaterThan(1 / 2.5);
    expect(firstEstimate / tA).toBeLessThan(2.5);
    expect(Math.abs(a!.seconds - tA) / tA).toBeLessThan(0.4);
    expect(b!.measured).toBe(false);
    // Phase b is 2.5× slower per batch: the estimate is said again with the new speed.
    delay = 150;
    const linesAfterA = lines.length;
    const t1 = performance.now();
    await learn.fitOneCycle(2, 0.05, { name: 'phase-b' });
    const tB = (performance.now() - t1) / 1000;
    const updates = lines.slice(linesAfterA);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates[0]).toMatch(/^estimate updated: phase-b runs at 0\.\d\d s per batch/);
    const b2 = eta.estimate()[1]!;
    expect(b2.measured).toBe(true);
    expect(Math.abs(b2.seconds - tB) / tB).toBeLessThan(0.4);
  }, 60_000);

  it('plans the two-stage recipe as twoStageRecipe runs it', () => {
    const eta = RunEstimate.forRecipe({ stage1: 4, stage1Unfrozen: 2, stage2a: 5, stage2b: 0 }, { train: { length: 10 }, valid: { length: 2 } }, { lrFindIterations: 100 });
    expect(eta.phases).toEqual([
      { name: 'lrFind', iterations: 100 }, { name: 'stage1-frozen', epochs: 4 }, { name: 'stage1-unfrozen', epochs: 2 },
      { name: 'lrFind', iterations: 100 }, { name: 'stage2a', epochs: 5 },
    ]);
  });

  it('writes durations as a person reads them', () => {
    expect([humanDuration(42), humanDuration(600), humanDuration(4 * 3600), humanDuration(3 * 86400)]).toEqual(['42 s', '10 min', '4.0 h', '3.0 days']);
  });
});

describe('costStatement: extra runs say their cost before they start', () => {
  it('runs × epochs × images at the measured speed, in one line', () => {
    const c = costStatement({ what: 'label-source comparison', runs: 5, unit: 'source', imagesPerRun: 1350, epochs: 5, imgPerSec: 45, measuredOn: "this run's stage 2a" });
    expect(c.images).toBe(5 * 5 * 1350);
    expect(c.seconds).toBeCloseTo(33_750 / 45, 6);
    expect(c.overLimit).toBe(false);
    expect(c.line).toBe("label-source comparison: 5 sources × 5 epochs × 1,350 images = 33,750 training images ≈ 13 min at 45 img/s (measured on this run's stage 2a)");
    // Counted by whole runs (the seeds): the measured time of one.
    const seeds = costStatement({ what: '--seeds 3, still to run', runs: 2, unit: 'seed', secondsPerRun: 3 * 3600, measuredOn: 'seed 0' });
    expect(seeds.line).toBe('--seeds 3, still to run: 2 seeds ≈ 6.0 h at 3.0 h per seed (measured on seed 0)');
    expect(seeds.overLimit).toBe(6 > DEFAULTS.cost.askAboveHours);
    expect(costStatement({ what: 'grid', runs: 4, unit: 'trial', imagesPerRun: 100, epochs: 1 }).line).toBe('grid: 4 trials × 1 epoch × 100 images = 400 training images; speed not measured yet');
  });

  it('over the limit: names the perClass that fits (time scales with the images per class)', () => {
    // AWA2-sized: 5 sources × 5 epochs × 29,870 images at 8 img/s ≈ 26 h.
    const c = costStatement({ what: 'label-source comparison', runs: 5, unit: 'source', imagesPerRun: 29_870, epochs: 5, imgPerSec: 8, classes: 40, maxHours: 2 });
    expect(c.overLimit).toBe(true);
    const fits = costStatement({ what: 'x', runs: 5, unit: 'source', imagesPerRun: 40 * c.perClass!, epochs: 5, imgPerSec: 8, maxHours: 2 });
    const more = costStatement({ what: 'x', runs: 5, unit: 'source', imagesPerRun: 40 * (c.perClass! + 2), epochs: 5, imgPerSec: 8, maxHours: 2 });
    expect([fits.overLimit, more.overLimit]).toEqual([false, true]);
    expect(new CostLimitError(c, 'maxHours: 30').message).toMatch(new RegExp(`≈ 25\\.9 h .*over the 2 h limit.*To run it anyway: maxHours: 30; or sub-sample: perClass ${c.perClass} \\(--per-class ${c.perClass}\\)`));
  });

  it('hyperSearch states its cost first and stops over the limit (given speed: before any trial; else after the first)', async () => {
    const made: number[] = [];
    const lines: string[] = [];
    const makeLearner = () => {
      made.push(1);
      const data = blobData({ nTrain: 64, nValid: 16, bs: 16 });
      Object.assign(data.train, { items: new Array(64) }); // a folder's loader lists its items: the trial's size
      return new Learner({ model: denseModel(data.dim, 3), data, loss: crossEntropy, progress: 'none' });
    };
    const space = { lr: [1e-3, 1e-2], wd: [0, 1e-2] };
    // 1e-6 img/s: the grid would take days, so it stops with the statement before the first trial trains.
    await expect(hyperSearch({ space, epochs: 2, makeLearner, imgPerSec: 1e-6, log: (l) => lines.push(l) })).rejects.toThrow(CostLimitError);
    expect(made).toHaveLength(1);
    expect(lines[0]).toMatch(/^hyper-search grid: 4 trials/);
    // No speed given: said after the first trial at its measured time; a limit it exceeds stops the second.
    made.length = 0;
    lines.length = 0;
    await expect(hyperSearch({ space, epochs: 1, makeLearner, maxHours: 1e-9, log: (l) => lines.push(l) })).rejects.toThrow(/over the 1e-9 h limit/);
    expect(made).toHaveLength(1);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^hyper-search grid: 4 trials × 1 epoch × 64 images = 256 training images ≈ \d+ s at \d+ s per trial \(measured on its first trial\)/);
    // Under the limit it runs every trial, having said its cost.
    lines.length = 0;
    const { results } = await hyperSearch({ space, epochs: 1, makeLearner, log: (l) => lines.push(l) });
    expect(results).toHaveLength(4);
    expect(lines).toHaveLength(2);
  }, 60_000);
});
