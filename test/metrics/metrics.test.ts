import { describe, expect, it } from 'vitest';
import {
  top1Accuracy, confusionMatrix, cosineScores, evaluate, gzsl, harmonicMean, hierarchicalPrecisionAtK, hitAtK, mostConfused,
  interpret, perClassMeanAccuracy, topK, topLosses,
} from '../../lib/metrics';

describe('classification metrics (hand-computed)', () => {
  it('per-sample accuracy and per-class mean top-1 differ on an unbalanced set', () => {
    const actual = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    const predicted = new Array(10).fill(0);
    expect(top1Accuracy(actual, predicted)).toBe(0.8);
    expect(perClassMeanAccuracy(actual, predicted)).toBe(0.5); // (8/8 + 0/2) / 2
    expect(perClassMeanAccuracy(actual, predicted, [1])).toBe(0);
    expect(() => top1Accuracy([1], [1, 2])).toThrow(/1 labels but 2 predictions/);
  });

  it('confusion matrix rows are actual; mostConfused sorts off-diagonal counts ≥ minVal', () => {
    const cm = confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 0], 3);
    expect(cm).toEqual([[1, 1, 0], [0, 1, 0], [2, 0, 1]]);
    expect(mostConfused(cm, ['a', 'b', 'c'])).toEqual([{ actual: 'c', predicted: 'a', count: 2 }, { actual: 'a', predicted: 'b', count: 1 }]);
    expect(mostConfused(cm, ['a', 'b', 'c'], 2)).toEqual([{ actual: 'c', predicted: 'a', count: 2 }]);
    expect(() => confusionMatrix([3], [0], 3)).toThrow(/outside 0..2/);
  });

  it('top losses and top-k rank largest first, ties by index', () => {
    expect(topLosses([0.1, 2, 0.5, 2, 3], 3)).toEqual([4, 1, 3]);
    expect(topK([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]], 2)).toEqual([[1, 2], [0, 1]]);
  });

  it('interpret(): argmax predictions, cross-entropy top losses, confusion from probabilities', () => {
    const probs = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]];
    const it2 = interpret(probs, [0, 1, 1, 2], ['a', 'b', 'c'], { k: 2 });
    expect(it2.accuracy).toBe(0.75);
    expect(it2.confusion).toEqual([[1, 0, 0], [1, 1, 0], [0, 0, 1]]);
    expect(it2.mostConfused).toEqual([{ actual: 'b', predicted: 'a', count: 1 }]);
    expect(it2.topLosses.map((t) => t.index)).toEqual([2, 3]); // -log 0.3 > -log 0.6
    expect(it2.topLosses[0]).toMatchObject({ actual: 'b', predicted: 'a', probability: 0.3 });
    expect(it2.topLosses[0]!.loss).toBeCloseTo(-Math.log(0.3), 12);
  });

  it('flat hit@k', () => {
    const ranked = [[1, 2], [0, 1], [2, 0]];
    expect(hitAtK(ranked, [2, 1, 1], 1)).toBe(0);
    expect(hitAtK(ranked, [2, 1, 1], 2)).toBeCloseTo(2 / 3, 12);
  });
});

describe('zero-shot metrics (hand-computed)', () => {
  it('GZSL: s and u are per-class means over the union; H = 2us/(u+s); H of u = 0 is 0', () => {
    const g = gzsl([0, 0, 1, 2, 2], [0, 1, 1, 0, 2], [0, 1], [2]);
    expect(g.s).toBe(0.75); // (1/2 + 1/1) / 2
    expect(g.u).toBe(0.5);
    expect(g.H).toBeCloseTo(0.6, 12);
    expect(gzsl([0, 2], [0, 0], [0], [2])).toEqual({ s: 1, u: 0, H: 0 });
    expect(harmonicMean(0, 0)).toBe(0);
  });

  it('hierarchical precision@k grows the correct set a whole radius at a time (DeViSE appendix)', () => {
    const hops = [[0, 2, 4, 6], [2, 0, 4, 6], [4, 4, 0, 6], [6, 6, 6, 0]];
    expect(hierarchicalPrecisionAtK([[1, 2]], [0], 2, hops)).toBe(0.5); // set {0,1}
    expect(hierarchicalPrecisionAtK([[0, 1]], [0], 2, hops)).toBe(1);
    expect(hierarchicalPrecisionAtK([[3, 2, 1]], [0], 3, hops)).toBeCloseTo(2 / 3, 12); // set {0,1,2}
    expect(hierarchicalPrecisionAtK([[0, 3]], [2], 2, hops)).toBe(0.5); // set {2} ∪ radius 4 {0,1}
    const ranked = [[0, 1], [2, 1], [1, 0]];
    expect(hierarchicalPrecisionAtK(ranked, [0, 0, 1], 1, hops)).toBe(hitAtK(ranked, [0, 0, 1], 1)); // hp@1 = top-1
    expect(() => hierarchicalPrecisionAtK([[0]], [0], 5, hops)).toThrow(/exceeds the 4 candidate/);
  });

  it('cosine scores ignore length', () => {
    const s = cosineScores([[2, 0], [1, 1]], Float32Array.from([1, 0, 0, 3]), 2);
    expect(Array.from(s[0]!)).toEqual([1, 0]);
    expect(s[1]![1]).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('evaluate() returns seen / zsl / gzsl rows for a 2-d toy space', () => {
    const classes = { labels: ['a', 'b', 'c'], dim: 2, vectors: Float32Array.from([1, 0, 0, 1, -1, 0]) };
    const embeddings = [[1, 0.1], [0.1, 1], [0, 1], [-1, 0.2], [0.2, -1]];
    const actual = ['a', 'a', 'b', 'c', 'c'];
    const rows = evaluate({ embeddings, actual, classes, seen: ['a', 'b'], unseen: ['c'], ks: [1, 2] });
    const get = (p: string, m: string) => rows.find((r) => r.protocol === p && r.metric === m)?.value;
    expect(get('seen', 'per-class top-1')).toBe(0.75);
    expect(get('seen', 'hit@1')).toBeCloseTo(2 / 3, 12);
    expect(get('seen', 'hit@2')).toBe(1);
    expect(get('zsl', 'per-class top-1')).toBe(1);
    expect(get('zsl', 'hit@2')).toBeUndefined(); // only one unseen label
    expect(get('gzsl', 's')).toBe(0.75);
    expect(get('gzsl', 'u')).toBe(0.5);
    expect(get('gzsl', 'H')).toBeCloseTo(0.6, 12);
    const flat = evaluate({ embeddings: Float32Array.from(embeddings.flat()), actual, classes, seen: ['a', 'b'], unseen: ['c'], ks: [1, 2] });
    expect(flat).toEqual(rows);
    const hops = [[0, 2, 4], [2, 0, 4], [4, 4, 0]];
    const withH = evaluate({ embeddings, actual, classes, seen: ['a', 'b'], unseen: ['c'], ks: [1, 2], hops });
    expect(withH.find((r) => r.protocol === 'seen' && r.metric === 'hp@1')?.value).toBeCloseTo(2 / 3, 12);
    expect(() => evaluate({ embeddings, actual: ['a', 'a', 'b', 'c', 'zebra'], classes, seen: ['a'] })).toThrow(/'zebra' has no class embedding/);
  });
});
