/** Hyperparameter search: grid and seeded random sampling, a danfojs table sorted by the metric, the best config. */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { crossEntropy } from '../../lib/losses';
import { gridOf, hyperSearch, setDropout } from '../../lib/train/hypersearch';
import { Learner } from '../../lib/train/learner';
import { accuracy } from '../../lib/train/metrics';
import { blobData, denseModel } from './helpers';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('hyperSearch', () => {
  it('grid: every configuration once, table sorted by the validation metric, best first', async () => {
    expect(gridOf({ lr: [1, 2], wd: [3, 4, 5] })).toHaveLength(6);
    const seen: number[] = [];
    const { table, best, results } = await hyperSearch({
      space: { lr: [1e-6, 3e-2], wd: [0, 1e-2], bs: [16, 32] },
      epochs: 2,
      metric: 'accuracy',
      makeLearner: (c) => {
        seen.push(c.bs!);
        const data = blobData({ bs: c.bs, seed: 2 });
        return new Learner({ model: denseModel(data.dim, 3), data, loss: crossEntropy, metrics: [accuracy], wd: c.wd, progress: 'none' });
      },
    });
    expect(results).toHaveLength(8);
    expect(seen.filter((b) => b === 32)).toHaveLength(4);
    expect(best.config.lr).toBe(3e-2); // 1e-6 barely moves the weights
    expect(table.columns).toEqual(expect.arrayContaining(['lr', 'wd', 'bs', 'accuracy', 'validLoss', 'seconds']));
    const acc = (table.values as number[][]).map((row) => row[table.columns.indexOf('accuracy')]!);
    expect(acc).toEqual([...acc].sort((a, b) => b - a));
    expect(acc[0]).toBe(best.score);
  });

  it('random: a seeded sample of distinct configurations (same seed, same sample); setDropout', async () => {
    const pick = async (seed: number) =>
      (
        await hyperSearch({
          space: { lr: [1e-3, 1e-2, 3e-2], wd: [0, 1e-3, 1e-2] },
          mode: 'random',
          trials: 3,
          seed,
          makeLearner: () => {
            const data = blobData({ seed: 1 });
            return new Learner({ model: denseModel(data.dim, 3), data, loss: crossEntropy, progress: 'none' });
          },
        })
      ).results.map((r) => JSON.stringify(r.config));
    const a = await pick(7);
    expect(new Set(a).size).toBe(3);
    expect(await pick(7)).toEqual(a);
    const x = tf.input({ shape: [4] });
    const m = tf.model({ inputs: x, outputs: tf.layers.dropout({ rate: 0.1 }).apply(tf.layers.dropout({ rate: 0.1 }).apply(x)) as tf.SymbolicTensor });
    setDropout(m, [0.25, 0.5]);
    expect(m.layers.filter((l) => l.getClassName() === 'Dropout').map((l) => (l as unknown as { rate: number }).rate)).toEqual([0.25, 0.5]);
  });
});
