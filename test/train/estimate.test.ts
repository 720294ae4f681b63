// The run estimate: printed after the first batches (before the first epoch ends), per phase and in total, and
// close to the time the run then really takes.
//   npx vitest run test/train/estimate.test.ts --maxWorkers 1
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { crossEntropy } from '../../lib/losses';
import { hook } from '../../lib/train/callbacks';
import { humanDuration, RunEstimate } from '../../lib/train/estimate';
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
