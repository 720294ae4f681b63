import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { l2normalize, pca, projectEpochs, transform } from '../../lib/pca';
import { Rng } from '../../lib/data/rng';

/** A seeded uniform [0, 1) stream: the library's own mulberry32 (lib/data/rng.ts). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Correlated random data: n rows of d dims with decaying per-direction scales. */
function randomData(n: number, d: number, seed: number): number[][] {
  const r = rng(seed);
  const mix = Array.from({ length: d }, () => Array.from({ length: d }, () => r() - 0.5));
  return Array.from({ length: n }, () => {
    const z = Array.from({ length: d }, (_, j) => (r() - 0.5) * 10 / (j + 1));
    return mix.map((row) => row.reduce((s, m, j) => s + m * z[j], 3));
  });
}

describe('pca', () => {
  it('matches a hand-computed 3-D example, including the sign convention', () => {
    // Points m ± 2·u1 and m ± 1·u2 with u1 = (.6,.8,0), u2 = (-.8,.6,0): PC1 = u1, PC2 = -u2 (largest |loading| positive).
    const m = [1, 2, 3];
    const u1 = [0.6, 0.8, 0];
    const u2 = [-0.8, 0.6, 0];
    const at = (u: number[], s: number) => m.map((v, i) => v + s * u[i]);
    const X = [at(u1, 2), at(u1, -2), at(u2, 1), at(u2, -1)];
    const p = pca(X, { k: 2 });
    p.mean.forEach((v, i) => expect(v).toBeCloseTo(m[i], 12));
    [[0.6, 0.8, 0], [0.8, -0.6, 0]].forEach((c, i) => c.forEach((v, j) => expect(p.components[i][j]).toBeCloseTo(v, 12)));
    // Variance along u1: (4+4)/3; along u2: (1+1)/3; total 10/3.
    expect(p.explainedVariance[0]).toBeCloseTo(8 / 3, 12);
    expect(p.explainedVariance[1]).toBeCloseTo(2 / 3, 12);
    expect(p.explainedVarianceRatio[0]).toBeCloseTo(0.8, 12);
    expect(p.explainedVarianceRatio[1]).toBeCloseTo(0.2, 12);
    const xy = transform(p, X);
    [[2, 0], [-2, 0], [0, -1], [0, 1]].forEach((e, i) => e.forEach((v, j) => expect(xy[i][j]).toBeCloseTo(v, 12)));
    // Fit on one set, apply to another: the mean itself projects to the origin.
    transform(p, [m])[0].forEach((v) => expect(v).toBeCloseTo(0, 12));
  });

  it('agrees with numpy SVD on random data: variance ratios, orthonormal components, zero-mean projection', () => {
    const X = randomData(120, 12, 7);
    const k = 4;
    const p = pca(X, { k });
    const py = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, numpy as np
X = np.array(json.load(sys.stdin), dtype=np.float64)
Xc = X - X.mean(0)
U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
# sklearn's svd_flip(u_based_decision=False): largest-|loading| entry of each component positive.
signs = np.sign(Vt[np.arange(Vt.shape[0]), np.argmax(np.abs(Vt), axis=1)])
Vt = Vt * signs[:, None]
var = S**2 / (X.shape[0] - 1)
print(json.dumps({"components": Vt[:${k}].tolist(), "var": var[:${k}].tolist(), "ratio": (var / var.sum())[:${k}].tolist()}))
`], { input: JSON.stringify(X), encoding: 'utf8' });
    expect(py.error, 'Debian python3 with numpy is the oracle: run `npm run deps`').toBeUndefined();
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(py.stdout) as { components: number[][]; var: number[]; ratio: number[] };
    for (let c = 0; c < k; c++) {
      expect(p.explainedVarianceRatio[c]).toBeCloseTo(ref.ratio[c], 10);
      expect(p.explainedVariance[c]).toBeCloseTo(ref.var[c], 8);
      p.components[c].forEach((v, j) => expect(v).toBeCloseTo(ref.components[c][j], 8));
    }
    expect(p.explainedVarianceRatio[0]).toBeGreaterThan(p.explainedVarianceRatio[1]);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        const dot = p.components[a].reduce((s, v, j) => s + v * p.components[b][j], 0);
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
    const xy = transform(p, X);
    for (let c = 0; c < k; c++) expect(xy.reduce((s, r) => s + r[c], 0) / xy.length).toBeCloseTo(0, 10);
  });

  it('keeps signs stable across epochs when refitting each one (no mirrored frames)', () => {
    const base = randomData(60, 8, 3);
    // Small drifts of the same data: refits must not flip, whatever the SVD returns.
    const epochs = [0, 1, 2, 3].map((e) => base.map((r, i) => r.map((v, j) => v + 0.01 * e * Math.sin(i + j))));
    const frames = projectEpochs(epochs, { fitOn: 'each' });
    for (let e = 1; e < frames.length; e++) {
      for (let c = 0; c < 2; c++) {
        const dot = frames[e].pca.components[c].reduce((s, v, j) => s + v * frames[e - 1].pca.components[c][j], 0);
        expect(dot).toBeGreaterThan(0.99);
      }
    }
    // A reference with the opposite orientation flips the new fit to match it.
    const p = pca(base);
    const flipped = { ...p, components: p.components.map((c) => c.map((v) => -v)) };
    const aligned = pca(base, { reference: flipped });
    aligned.components[0].forEach((v, j) => expect(v).toBeCloseTo(-p.components[0][j], 12));
  });

  it('fits once on the last epoch and projects every epoch and the extra rows into those axes', () => {
    const epochs = [randomData(30, 6, 1), randomData(30, 6, 2), randomData(30, 6, 3)];
    const words = randomData(4, 6, 9);
    const frames = projectEpochs(epochs, { fitOn: 'last', normalize: true, extra: words });
    expect(frames).toHaveLength(3);
    const p = pca(l2normalize(epochs[2]));
    frames.forEach((f) => expect(f.pca.components).toEqual(p.components));
    expect(frames[0].points[5]).toEqual(transform(p, l2normalize([epochs[0][5]]))[0]);
    expect(frames[1].extra).toEqual(transform(p, l2normalize(words)));
    // The fit epoch's own projection is centred.
    const meanX = frames[2].points.reduce((s, r) => s + r[0], 0) / 30;
    expect(meanX).toBeCloseTo(0, 12);
    l2normalize(words).forEach((r) => expect(Math.hypot(...r)).toBeCloseTo(1, 12));
  });

  it('rejects bad input with a message naming the problem', () => {
    expect(() => pca([[1, 2]])).toThrow(/at least 2 rows/);
    expect(() => pca([[1, 2], [3]])).toThrow(/row 1 has 1 values/);
    expect(() => pca([[1, 2], [3, 4]], { k: 3 })).toThrow(/k=3/);
    expect(() => pca([[1, NaN], [3, 4]])).toThrow(/non-finite/);
    expect(() => transform(pca([[1, 2], [3, 5], [0, 1]]), [[1, 2, 3]])).toThrow(/fitted on 2/);
    expect(() => projectEpochs([[[1, 2], [3, 4]]], { fitOn: 4 })).toThrow(/fitOn=4/);
  });
});
