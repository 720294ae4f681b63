/**
 * ESZSL against its closed form computed independently by numpy (Debian's python3), ALE's rank-weighted hinge on a
 * hand-worked example, and the hyperparameter choice on held-out seen classes.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ale, aleRankLoss, chooseOnHeldOutClasses, ESZSL_GRID, eszsl, eszslMatrix } from '../../lib/zeroshot-baselines';
import { rng } from '../train/helpers';

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

function numpy(script: string, input: unknown): any {
  const r = spawnSync('/usr/bin/python3', ['-c', `import json, sys\nimport numpy as np\nI = json.loads(sys.stdin.read())\n${script}`], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`numpy oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const hasNumpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!hasNumpy) console.warn('Skipping the ESZSL numpy oracle: /usr/bin/python3 with numpy is missing (apt-get install python3-numpy).');

describe.skipIf(!hasNumpy)('ESZSL equals its closed form (numpy)', () => {
  // More images than dimensions and more classes than attributes (the direct solves), then the reverse (push-through solves).
  it.each([[12, 5, 4, 3], [4, 6, 3, 5]])('V = (XXᵀ+γI)⁻¹ X Y Sᵀ (SSᵀ+λI)⁻¹ on a random problem (m %i, d %i, z %i, a %i), within 1e-6', (m, d, z, a) => {
    const r = rng(11 + m);
    const features = Array.from({ length: m }, () => Array.from({ length: d }, () => gauss(r)));
    const labels = Array.from({ length: m }, (_, i) => i % z);
    const S = Array.from({ length: z }, () => Array.from({ length: a }, () => gauss(r)));
    for (const p of [{ gamma: 0.5, lambda: 2 }, { gamma: 1e3, lambda: 1 }]) {
      const V = eszslMatrix(features, labels, S, p).to2DArray();
      const ref = numpy(
        `
X = np.array(I["features"]).T; S = np.array(I["S"]).T
Y = -np.ones((X.shape[1], S.shape[1])); Y[np.arange(X.shape[1]), I["labels"]] = 1
V = np.linalg.inv(X @ X.T + I["gamma"] * np.eye(X.shape[0])) @ X @ Y @ S.T @ np.linalg.inv(S @ S.T + I["lambda"] * np.eye(S.shape[0]))
print(json.dumps(V.tolist()))`,
        { features, labels, S, ...p },
      ) as number[][];
      const scale = Math.max(...ref.flat().map(Math.abs));
      V.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - ref[i]![j]!) / scale).toBeLessThan(1e-6)));
    }
    // Scores are x V s for every image and class.
    const V = eszslMatrix(features, labels, S, { gamma: 0.5, lambda: 2 });
    const s = eszsl(features, labels, S, { gamma: 0.5, lambda: 2 }).scores([features[0]!], [S[2]!])[0]![0]!;
    const xv = V.to2DArray()[0]!.map((_, c) => features[0]!.reduce((t, x, k) => t + x * V.get(k, c), 0));
    expect(s).toBeCloseTo(xv.reduce((t, v, c) => t + v * S[2]![c]!, 0), 10);
  });
});

describe('ALE', () => {
  it('rank-weighted hinge on a hand-worked example', () => {
    // Scores [0.5, 0.2, 0.8, −1.0], label 0, margin 1: hinges 1 + 0.2 − 0.5 = 0.7, 1 + 0.8 − 0.5 = 1.3, 1 − 1 − 0.5 < 0.
    // r = 2 violators, β₂ = 1 + 1/2 = 1.5; loss = 1.5 / 2 × (0.7 + 1.3) = 1.5.
    expect(aleRankLoss([0.5, 0.2, 0.8, -1.0], 0)).toBeCloseTo(1.5, 12);
    // One violator (r = 1, β = 1): only 1 + 0.8 − 1.5 = 0.3 for margin 1 with the label at 1.5.
    expect(aleRankLoss([1.5, 0.2, 0.8, -1.0], 0)).toBeCloseTo(0.3, 12);
    expect(aleRankLoss([3, 0.2, 0.8, -1.0], 0)).toBe(0);
    // Three violators: hinges 1 + 0 − 0 = 1 each, β₃ = 11/6 → 11/6 / 3 × 3 = 11/6.
    expect(aleRankLoss([0, 0, 0, 0], 0)).toBeCloseTo(11 / 6, 12);
  });

  it('learns to rank a separable problem: training images score their own class first', () => {
    const r = rng(4);
    const S = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.7, 0.7, 0]];
    const labels = Array.from({ length: 40 }, (_, i) => i % 4);
    const features = labels.map((c) => [...S[c]!, 0, 0].map((v) => v * 2 + 0.1 * gauss(r)));
    const model = ale(features, labels, S, { lr: 0.5, epochs: 20, seed: 1 });
    const pred = model.scores(features, S).map((row) => row.indexOf(Math.max(...row)));
    expect(pred.filter((p, i) => p === labels[i]).length / labels.length).toBeGreaterThan(0.9);
  });
});

describe('hyperparameters on held-out seen classes', () => {
  it('holds out a seeded third of the seen classes and keeps the best candidate', () => {
    const r = rng(9);
    const z = 9;
    const S = Array.from({ length: z }, () => Array.from({ length: 6 }, () => gauss(r)));
    // Features are a noisy linear image of the class vector, so zero-shot transfer works for well-chosen γ, λ.
    const labels = Array.from({ length: 90 }, (_, i) => i % z);
    const features = labels.map((c) => [...S[c]!, ...S[c]!.map((v) => -v)].map((v) => v + 0.3 * gauss(r)));
    const choice = chooseOnHeldOutClasses(features, labels, S, ESZSL_GRID, eszsl, { seed: 2 });
    expect(choice.heldOutClasses.length).toBe(3);
    expect(choice.tried.length).toBe(49);
    expect(Math.max(...choice.tried.map((t) => t.accuracy))).toBe(choice.tried.find((t) => t.params === choice.params)!.accuracy);
    expect(choice.tried.find((t) => t.params === choice.params)!.accuracy).toBeGreaterThan(0.6); // chance 1/3
    expect(chooseOnHeldOutClasses(features, labels, S, ESZSL_GRID.slice(0, 2), eszsl, { seed: 2 }).heldOutClasses).toEqual(choice.heldOutClasses);
  });
});
