/**
 * kNN classification, image→image retrieval and the frozen-embedding classifier on constructed sets whose answers are
 * worked out by hand.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { fitFrozenClassifier, imageRetrieval, knnClassifier } from '../../lib/train/knn';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const at = (deg: number, r = 1) => [r * Math.cos((deg * Math.PI) / 180), r * Math.sin((deg * Math.PI) / 180)];

describe('knnClassifier', () => {
  // Training: class 0 at 0°, 10°, 20°; class 1 at 90°, 100°; class 2 at 180°. Lengths vary: cosine ignores them.
  const train = { embeddings: [at(0), at(10, 3), at(20), at(90, 2), at(100), at(180, 5)], labels: [0, 0, 0, 1, 1, 2] };

  it('k = 1: the nearest training image by angle', () => {
    const q = { embeddings: [at(5), at(60), at(170), at(260)], labels: [0, 1, 2, 2] };
    // 60° is 40° from 20° and 30° from 90° → class 1; 260° is 80° from 180° and 100° from 0° (via −100°) → class 2.
    const r = knnClassifier(1)(train, q);
    expect(r.predicted).toEqual([0, 1, 2, 2]);
    expect(r.accuracy).toBe(1);
  });

  it('k = 3: majority vote; per-class accuracy and its mean', () => {
    // 50°: nearest 20° (30°), 10° (40°), 90° (40°; index order breaks the distance tie, 10° first) → two votes for 0.
    // 95°: 90°, 100°, 20° → class 1. 150°: 180°, 100°, 90° → class 1 (2 votes) although 180° is nearest.
    const q = { embeddings: [at(50), at(95), at(150)], labels: [1, 1, 2] };
    const r = knnClassifier(3)(train, q);
    expect(r.predicted).toEqual([0, 1, 1]);
    expect(r.accuracy).toBeCloseTo(1 / 3, 12);
    expect(r.perClass.get(1)).toEqual({ accuracy: 0.5, n: 2 });
    expect(r.perClass.get(2)).toEqual({ accuracy: 0, n: 1 });
    expect(r.perClassMean).toBeCloseTo(0.25, 12);
  });

  it('a vote tie goes to the class with the larger summed similarity', () => {
    // 45° with k = 2 over {0°: class 0, 80°: class 1}: one vote each; 80° is 35° away, 0° is 45° → class 1.
    const r = knnClassifier(2)({ embeddings: [at(0), at(80)], labels: [0, 1] }, { embeddings: [at(45)], labels: [0] });
    expect(r.predicted).toEqual([1]);
  });

  it('bad input is one clear message', () => {
    expect(() => knnClassifier(0)).toThrow(/k must be an integer ≥ 1/);
    expect(() => knnClassifier(1)({ embeddings: [at(0)], labels: [0, 1] }, { embeddings: [], labels: [] })).toThrow(/1 training embeddings but 2 labels/);
  });
});

describe('imageRetrieval', () => {
  it('recall@k and mAP of a leave-one-out ranking', () => {
    // a0 0°, a1 30°, b0 20°, b1 90° (classes a, a, b, b).
    // a0 ranks b0 (20°), a1 (30°), b1 → first relevant at 2: AP 1/2, hit@1 no, hit@5 yes.
    // a1 ranks b0 (10°), a0 (30°), b1 (60°) → AP 1/2. b0 ranks a1 (10°), a0 (20°), b1 (70°) → AP 1/3.
    // b1 ranks a1 (60°), b0 (70°), a0 → AP 1/2.
    const r = imageRetrieval([at(0), at(30), at(20), at(90)], [0, 0, 1, 1], [1, 5]);
    expect(r.recallAt[1]).toBe(0);
    expect(r.recallAt[5]).toBe(1);
    expect(r.mAP).toBeCloseTo((0.5 + 0.5 + 1 / 3 + 0.5) / 4, 12);
    const perfect = imageRetrieval([at(0), at(5), at(90), at(95)], [0, 0, 1, 1]);
    expect(perfect.recallAt[1]).toBe(1);
    expect(perfect.mAP).toBe(1);
  });
});

describe('fitFrozenClassifier', () => {
  it('separates three directions it is trained on', async () => {
    const rows = [0, 5, -5, 120, 125, 115, 240, 235, 245].map((d) => at(d));
    const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];
    const head = await fitFrozenClassifier(rows, labels, { classes: 3, epochs: 100, seed: 3 });
    expect(head.predict([at(2), at(118), at(250), at(60 + 120)])).toEqual([0, 1, 2, 1]);
    const p = head.probabilities([at(0)])[0]!;
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    head.dispose();
  });
});
