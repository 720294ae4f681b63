/**
 * The triplet and hybrid losses: which triplets each mining picks on a hand-worked batch and the loss value, gradients
 * against central finite differences; the P×K batch sampler (every class K times per batch, seeded, every image each epoch).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { PKImageLoader, pkBatches } from '../../lib/data/sampler';
import { cosineLoss, hybridLoss, mineTriplets, tripletLoss } from '../../lib/losses';
import { IMAGENET } from '../../lib/preprocessing';
import { rng } from './helpers';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

// Four unit vectors in the plane at 0°, 60° (class 0) and 70°, 180° (class 1); squared distance 2 − 2 cos Δ:
// d01 = 1, d02 = 2 − 2cos70° = 1.3159597, d03 = 4, d12 = 2 − 2cos10° = 0.0303845, d13 = 3, d23 = 2 + 2cos70° = 2.6840403.
const deg = [0, 60, 70, 180];
const E = deg.map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]);
const Y = [0, 0, 1, 1];
const c70 = Math.cos((70 * Math.PI) / 180);
const c10 = Math.cos((10 * Math.PI) / 180);
const D = [
  [0, 1, 2 - 2 * c70, 4],
  [1, 0, 2 - 2 * c10, 3],
  [2 - 2 * c70, 2 - 2 * c10, 0, 2 + 2 * c70],
  [4, 3, 2 + 2 * c70, 0],
];

function lossOf(loss: ReturnType<typeof tripletLoss>, rows: number[][], labels: number[]): number {
  return tf.tidy(() => loss(tf.tensor2d(rows), tf.tensor1d(labels, 'int32')).dataSync()[0]!);
}

describe('tripletLoss on a hand-worked batch (margin 0.5)', () => {
  it('semi-hard: the nearest negative beyond the positive, else the farthest negative (TF-addons fallback)', () => {
    const t = mineTriplets(D.flat(), Y, 'semihard');
    // (0,1): negatives at 1.316 and 4, beyond d01 = 1 → 2. (1,0): negative 2 (0.03) is hard, 3 (3) beyond → 3.
    // (2,3): no negative beyond d23 = 2.684 → farthest negative 0 (1.316). (3,2): negatives at 4 and 3 beyond → 1.
    expect(t).toEqual({ anchor: [0, 1, 2, 3], positive: [1, 0, 3, 2], negative: [2, 3, 0, 1] });
    // Hinges: 1 − 1.316 + 0.5 = 0.18404, 1 − 3 + 0.5 → 0, 2.684 − 1.316 + 0.5 = 1.86808, 2.684 − 3 + 0.5 = 0.18404.
    const expected = (0.5 + 1 - (2 - 2 * c70) + 0 + (2 + 2 * c70) - (2 - 2 * c70) + 0.5 + (2 + 2 * c70) - 3 + 0.5) / 4;
    expect(expected).toBeCloseTo(0.5590403, 6);
    expect(lossOf(tripletLoss({ margin: 0.5 }), E, Y)).toBeCloseTo(expected, 5);
  });

  it('hard: per anchor the farthest positive and the nearest negative', () => {
    expect(mineTriplets(D.flat(), Y, 'hard')).toEqual({ anchor: [0, 1, 2, 3], positive: [1, 0, 3, 2], negative: [2, 2, 1, 1] });
    const h = [1 - D[0]![2]!, 1 - D[1]![2]!, D[2]![3]! - D[2]![1]!, D[3]![2]! - D[3]![1]!].map((v) => Math.max(0, v + 0.5));
    expect(lossOf(tripletLoss({ margin: 0.5, mining: 'hard' }), E, Y)).toBeCloseTo(h.reduce((s, v) => s + v) / 4, 5);
  });

  it('all: every valid triplet, zero hinges included in the mean', () => {
    const t = mineTriplets(D.flat(), Y, 'all');
    expect(t.anchor.length).toBe(8); // 4 anchor–positive pairs × 2 negatives
    let sum = 0;
    t.anchor.forEach((a, i) => { sum += Math.max(0, D[a]![t.positive[i]!]! - D[a]![t.negative[i]!]! + 0.5); });
    expect(lossOf(tripletLoss({ margin: 0.5, mining: 'all' }), E, Y)).toBeCloseTo(sum / 8, 5);
  });

  it('normalises the outputs (scaling a row changes nothing) and a batch without triplets gives 0', () => {
    const scaled = E.map((r, i) => r.map((v) => v * (i + 2)));
    expect(lossOf(tripletLoss({ margin: 0.5 }), scaled, Y)).toBeCloseTo(lossOf(tripletLoss({ margin: 0.5 }), E, Y), 5);
    expect(lossOf(tripletLoss(), E, [0, 1, 2, 3])).toBe(0);
    expect(() => tripletLoss({ mining: 'easy' as 'hard' })).toThrow(/mining must be/);
  });
});

describe('gradients against central finite differences', () => {
  const r = rng(7);
  const X = Array.from({ length: 6 }, () => Array.from({ length: 3 }, () => r() * 2 - 1));
  const labels = [0, 0, 1, 1, 2, 2];
  const vectors = [[1, 0, 0.5], [0, 1, -0.5], [0.3, -0.2, 1]];
  const cases: [string, () => ReturnType<typeof tripletLoss>][] = [
    ['semihard', () => tripletLoss({ margin: 0.3 })],
    ['hard', () => tripletLoss({ margin: 0.3, mining: 'hard' })],
    ['all', () => tripletLoss({ margin: 0.3, mining: 'all' })],
    ['hybrid', () => hybridLoss(vectors, { margin: 0.3, tripletWeight: 0.7 })],
  ];
  for (const [name, make] of cases) {
    it(name, () => {
      const loss = make();
      const y = tf.tensor1d(labels, 'int32');
      const grad = tf.grad((x: tf.Tensor) => loss(x, y))(tf.tensor2d(X)).arraySync() as number[][];
      const eps = 1e-3;
      let checked = 0;
      X.forEach((row, i) => row.forEach((_, j) => {
        const plus = X.map((rr) => rr.slice());
        const minus = X.map((rr) => rr.slice());
        plus[i]![j]! += eps;
        minus[i]![j]! -= eps;
        const fd = (lossOf(loss, plus, labels) - lossOf(loss, minus, labels)) / (2 * eps);
        expect(grad[i]![j]!).toBeCloseTo(fd, 2);
        checked += Math.abs(fd) > 1e-3 ? 1 : 0;
      }));
      expect(checked).toBeGreaterThan(6); // the batch has active triplets: the check is not all zeros
      y.dispose();
    });
  }

  it('hybrid = cosine + weight × triplet', () => {
    const y = tf.tensor1d(labels, 'int32');
    const x = tf.tensor2d(X);
    const h = hybridLoss(vectors, { tripletWeight: 0.7 })(x, y).dataSync()[0]!;
    const parts = cosineLoss(vectors)(x, y).dataSync()[0]! + 0.7 * tripletLoss()(x, y).dataSync()[0]!;
    expect(h).toBeCloseTo(parts, 6);
    tf.dispose([x, y]);
  });
});

describe('P×K sampler', () => {
  // Four classes of 7, 4, 5 and 2 images, shuffled in the item list.
  const labels = [0, 1, 2, 0, 3, 1, 0, 2, 2, 0, 1, 3, 0, 2, 1, 0, 2, 0];
  const counts = [7, 4, 5, 2];

  it('every batch holds P classes × K images, every image appears each epoch, same seed → same batches', () => {
    const batches = pkBatches(labels, { p: 2, k: 3, seed: 5, epoch: 0 });
    batches.forEach((b, i) => {
      const per = new Map<number, number>();
      for (const j of b) per.set(labels[j]!, (per.get(labels[j]!) ?? 0) + 1);
      expect([...per.values()].every((n) => n === 3)).toBe(true);
      if (i < batches.length - 1 || per.size === 2) expect(per.size).toBe(2);
    });
    expect(new Set(batches.flat()).size).toBe(labels.length);
    // Groups of 3 per class: ⌈7/3⌉ + ⌈4/3⌉ + ⌈5/3⌉ + ⌈2/3⌉ = 3 + 2 + 2 + 1 = 8 groups → 4 batches of 2.
    expect(batches.flat().length).toBe(counts.reduce((s, c) => s + Math.ceil(c / 3) * 3, 0));
    expect(batches.length).toBe(4);
    expect(pkBatches(labels, { p: 2, k: 3, seed: 5, epoch: 0 })).toEqual(batches);
    expect(pkBatches(labels, { p: 2, k: 3, seed: 5, epoch: 1 })).not.toEqual(batches);
    expect(pkBatches(labels, { p: 2, k: 3, seed: 6, epoch: 0 })).not.toEqual(batches);
  });

  it('rejects p or k below 2 and more classes per batch than the data has', () => {
    expect(() => pkBatches(labels, { p: 1, k: 3 })).toThrow(/p and k must be integers ≥ 2/);
    expect(() => pkBatches(labels, { p: 5, k: 2 })).toThrow(/only 4/);
  });

  it('PKImageLoader hands out those batches, per epoch', () => {
    const classes = ['a', 'b', 'c', 'd'];
    const items = labels.map((l, i) => ({ path: `/nowhere/${i}.jpg`, label: classes[l]!, split: 'train' as const }));
    const loader = new PKImageLoader(items, { classes, size: 8, preprocessing: IMAGENET, seed: 5 }, { p: 2, k: 3 });
    loader.setEpoch(1);
    const expected = pkBatches(labels, { p: 2, k: 3, seed: 5, epoch: 1 });
    expect(loader.length).toBe(expected.length);
    expect(loader.order()).toEqual(expected.flat());
  });
});
