/**
 * The classic zero-shot baselines of Xian et al.'s benchmark (TPAMI 2018), as pure functions over a feature matrix
 * (cached backbone features, one row per image) and class vectors (word vectors or attributes, one row per class):
 * - ESZSL (Romera-Paredes & Torr 2015): V = (XXᵀ + γI)⁻¹ X Y Sᵀ (SSᵀ + λI)⁻¹, two ridge solves, Y ∈ {−1, 1};
 * - ALE (Akata et al. 2016): a bilinear compatibility F(x, y) = xᵀ W φ(y) trained by SGD on the rank-weighted hinge
 *   (the WARP-style ranking loss, {@link aleRankLoss}).
 * Both score images against any class vectors, so unseen classes are scored like seen ones.
 *
 *   const model = eszsl(trainFeatures, trainLabels, seenVectors);                  // AWA2 defaults γ = 10³, λ = 1
 *   const scores = model.scores(testFeatures, allClassVectors);                    // images × classes
 *   const { params } = chooseOnHeldOutClasses(trainFeatures, trainLabels, seenVectors, ESZSL_GRID, eszsl, { seed: 0 });
 *
 * Hyperparameters are chosen on seen classes only: some seen classes are held out as pseudo-unseen (Xian et al.'s
 * train/val class split), never the real unseen classes.
 */
import { Matrix, solve } from 'ml-matrix';
import { Rng } from './data/rng';
import { perClassMeanAccuracy } from './metrics';

type Rows = ArrayLike<number>[];

/** A trained compatibility model: image × class scores for any class vectors. */
export interface Compatibility {
  /** Scores (higher = more compatible) of each feature row with each class vector row. */
  scores(features: Rows, classVectors: Rows): Float64Array[];
}

const toMatrix = (rows: Rows) => new Matrix(rows.map((r) => Array.from(r)));
const asRows = (m: Matrix): Float64Array[] => m.to2DArray().map((r) => Float64Array.from(r));

function checkProblem(features: Rows, labels: ArrayLike<number>, classVectors: Rows, what: string): void {
  if (features.length !== labels.length || !features.length) throw new Error(`${what}: ${features.length} feature rows and ${labels.length} labels (need the same number, > 0).`);
  for (let i = 0; i < labels.length; i++) {
    if (!(Number.isInteger(labels[i]) && labels[i]! >= 0 && labels[i]! < classVectors.length)) throw new Error(`${what}: label ${labels[i]} of row ${i} is not a row of classVectors (0..${classVectors.length - 1}).`);
  }
}

/** Bilinear scores X M Sᵀ. */
function bilinear(M: Matrix): Compatibility {
  return { scores: (features, classVectors) => asRows(toMatrix(features).mmul(M).mmul(toMatrix(classVectors).transpose())) };
}

/** ESZSL's regularisers: γ on the feature side, λ on the class-vector side. */
export interface EszslParams {
  gamma: number;
  lambda: number;
}

/** The AWA2 setting of the public ESZSL implementations that reproduce Xian et al. (α = 3, γ = 0 as powers of ten). */
export const ESZSL_AWA2: EszslParams = { gamma: 1e3, lambda: 1 };

/** Xian et al.'s search range: γ, λ ∈ 10^{−3..3}. */
export const ESZSL_GRID: EszslParams[] = [-3, -2, -1, 0, 1, 2, 3].flatMap((g) => [-3, -2, -1, 0, 1, 2, 3].map((l) => ({ gamma: 10 ** g, lambda: 10 ** l })));

/**
 * ESZSL's closed form on images `features` (m × d) with classes `labels` indexing `classVectors` (z × a):
 * V = (XXᵀ + γI)⁻¹ X Y Sᵀ (SSᵀ + λI)⁻¹ with X = featuresᵀ, S = classVectorsᵀ, Y the m × z matrix of ±1.
 */
export function eszslMatrix(features: Rows, labels: ArrayLike<number>, classVectors: Rows, params: EszslParams = ESZSL_AWA2): Matrix {
  checkProblem(features, labels, classVectors, 'eszsl');
  const X = toMatrix(features).transpose(); // d × m
  const S = toMatrix(classVectors).transpose(); // a × z
  const Y = new Matrix(labels.length, classVectors.length).fill(-1);
  for (let i = 0; i < labels.length; i++) Y.set(i, labels[i]!, 1);
  const left = ridgeLeft(features, X, Y, params.gamma); // (XXᵀ+γI)⁻¹ X Y: d × z
  // Sᵀ (SSᵀ+λI)⁻¹ = (SᵀS+λI)⁻¹ Sᵀ (push-through again): a z × z solve instead of a × a when there are fewer classes.
  const right = S.columns < S.rows
    ? solve(S.transpose().mmul(S).add(Matrix.eye(S.columns).mul(params.lambda)), S.transpose())
    : solve(S.mmul(S.transpose()).add(Matrix.eye(S.rows).mul(params.lambda)), S).transpose(); // symmetric: ((SSᵀ+λI)⁻¹ S)ᵀ
  return left.mmul(right);
}

// The Gram matrix does not depend on γ, λ or the labels: a grid search on the same rows computes it once.
const gramCache = new WeakMap<Rows, Matrix>();

/**
 * (XXᵀ + γI)⁻¹ X Y, as X (XᵀX + γI)⁻¹ Y when there are fewer images than feature dimensions (the same matrix by the
 * push-through identity, solved in the smaller m × m space).
 */
function ridgeLeft(features: Rows, X: Matrix, Y: Matrix, gamma: number): Matrix {
  const kernel = X.columns < X.rows;
  let gram = gramCache.get(features);
  if (!gram) {
    gram = kernel ? X.transpose().mmul(X) : X.mmul(X.transpose());
    gramCache.set(features, gram);
  }
  const A = gram.clone().add(Matrix.eye(gram.rows).mul(gamma));
  return kernel ? X.mmul(solve(A, Y)) : solve(A, X.mmul(Y));
}

/** ESZSL (Romera-Paredes & Torr 2015) as a compatibility model: scores x Vᵀ s. */
export function eszsl(features: Rows, labels: ArrayLike<number>, classVectors: Rows, params: EszslParams = ESZSL_AWA2): Compatibility {
  return bilinear(eszslMatrix(features, labels, classVectors, params));
}

/**
 * ALE's ranking loss for one image (Akata et al. 2016, eq. 5 with Δ the 0/1 loss): with violators
 * V = {j ≠ y : margin + s_j − s_y > 0} and r = |V|, loss = (β_r / r) Σ_{j∈V} (margin + s_j − s_y), β_r = Σ_{i≤r} 1/i
 * (Usunier et al.'s rank weighting: a label ranked far down costs more per violator than one just below the top).
 */
export function aleRankLoss(scores: ArrayLike<number>, label: number, margin = 1): number {
  return aleViolators(scores, label, margin).loss;
}

function aleViolators(scores: ArrayLike<number>, label: number, margin: number): { loss: number; weight: number; violators: number[] } {
  const violators: number[] = [];
  let sum = 0;
  for (let j = 0; j < scores.length; j++) {
    if (j === label) continue;
    const v = margin + scores[j]! - scores[label]!;
    if (v > 0) { violators.push(j); sum += v; }
  }
  const r = violators.length;
  let beta = 0;
  for (let i = 1; i <= r; i++) beta += 1 / i;
  const weight = r ? beta / r : 0;
  return { loss: weight * sum, weight, violators };
}

/** ALE's training settings. */
export interface AleParams {
  lr: number;
  epochs?: number;
  margin?: number;
  seed?: number;
}

/** The AWA2 setting of the public ALE reimplementation that follows Xian et al. (lr 0.01, L2-normalised features). */
export const ALE_AWA2: AleParams = { lr: 0.01, epochs: 20, margin: 1 };

/** ALE's learning-rate search range. */
export const ALE_GRID: AleParams[] = [0.001, 0.01, 0.1, 1].map((lr) => ({ ...ALE_AWA2, lr }));

/** Row-L2-normalised copies (ALE works on unit-length features and class vectors, the reimplementation's norm=L2). */
function unitRows(rows: Rows): Float64Array[] {
  return rows.map((r) => {
    const n = Math.hypot(...Array.from(r)) || 1;
    return Float64Array.from(r, (v) => v / n);
  });
}

/**
 * ALE: W (d × a) trained by SGD, one image at a time in a seeded order, on {@link aleRankLoss} of its scores
 * s_j = xᵀ W φ_j over the training classes. Every violator is found exactly (the class count is small) instead of
 * WARP's sampled estimate of the rank. Features and class vectors are L2-normalised; W starts at small seeded noise.
 */
export function ale(features: Rows, labels: ArrayLike<number>, classVectors: Rows, params: AleParams = ALE_AWA2): Compatibility {
  checkProblem(features, labels, classVectors, 'ale');
  const X = unitRows(features);
  const P = unitRows(classVectors);
  const d = X[0]!.length;
  const a = P[0]!.length;
  const rng = new Rng(params.seed ?? 1);
  const W = Float64Array.from({ length: d * a }, () => rng.uniform(-1, 1) / Math.sqrt(d)); // row-major d × a
  const margin = params.margin ?? 1;
  const xw = new Float64Array(a);
  const step = new Float64Array(a);
  for (let e = 0; e < (params.epochs ?? 20); e++) {
    for (const i of rng.shuffle(X.map((_, k) => k))) {
      const x = X[i]!;
      xw.fill(0);
      for (let r = 0; r < d; r++) {
        const xr = x[r]!;
        if (xr === 0) continue;
        for (let c = 0; c < a; c++) xw[c] += xr * W[r * a + c]!;
      }
      const s = P.map((phi) => phi.reduce((t, v, c) => t + v * xw[c]!, 0));
      const { weight, violators } = aleViolators(s, labels[i]!, margin);
      if (!violators.length) continue;
      // ∂loss/∂W = weight · x (Σ_j φ_j − r φ_y)ᵀ
      step.fill(0);
      for (const j of violators) for (let c = 0; c < a; c++) step[c] += P[j]![c]! - P[labels[i]!]![c]!;
      for (let r = 0; r < d; r++) {
        const g = params.lr * weight * x[r]!;
        if (g === 0) continue;
        for (let c = 0; c < a; c++) W[r * a + c] -= g * step[c]!;
      }
    }
  }
  const M = new Matrix(d, a);
  for (let r = 0; r < d; r++) for (let c = 0; c < a; c++) M.set(r, c, W[r * a + c]!);
  return { scores: (f, cv) => bilinear(M).scores(unitRows(f), unitRows(cv)) };
}

/** The choice {@link chooseOnHeldOutClasses} made and the validation accuracy of each candidate. */
export interface Choice<P> {
  params: P;
  /** Per-class mean top-1 of the held-out seen classes among themselves, per candidate. */
  tried: { params: P; accuracy: number }[];
  heldOutClasses: number[];
}

/**
 * Picks hyperparameters on seen classes only (Xian et al.'s protocol): a seeded third of the seen classes (at least 2)
 * is held out as pseudo-unseen, each candidate is trained on the rest and scored by zero-shot per-class top-1 on the
 * held-out classes' images; the best candidate wins (the first on ties).
 */
export function chooseOnHeldOutClasses<P>(
  features: Rows, labels: ArrayLike<number>, classVectors: Rows, candidates: P[],
  train: (f: Rows, l: ArrayLike<number>, cv: Rows, p: P) => Compatibility, opts: { seed?: number; heldOut?: number } = {},
): Choice<P> {
  checkProblem(features, labels, classVectors, 'chooseOnHeldOutClasses');
  if (!candidates.length) throw new Error('chooseOnHeldOutClasses: no candidate hyperparameters.');
  const present = [...new Set(Array.from(labels))].sort((x, y) => x - y);
  const nHeld = opts.heldOut ?? Math.max(2, Math.round(present.length / 3));
  if (present.length - nHeld < 2) throw new Error(`chooseOnHeldOutClasses: ${present.length} seen classes are too few to hold ${nHeld} out and train on the rest.`);
  const held = new Rng(opts.seed ?? 0).shuffle(present).slice(0, nHeld).sort((x, y) => x - y);
  const heldSet = new Set(held);
  const fit = present.filter((c) => !heldSet.has(c));
  const fitIndex = new Map(fit.map((c, i) => [c, i]));
  const heldIndex = new Map(held.map((c, i) => [c, i]));
  const fitRows: ArrayLike<number>[] = [];
  const fitLabels: number[] = [];
  const valRows: ArrayLike<number>[] = [];
  const valLabels: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (heldSet.has(labels[i]!)) { valRows.push(features[i]!); valLabels.push(heldIndex.get(labels[i]!)!); }
    else { fitRows.push(features[i]!); fitLabels.push(fitIndex.get(labels[i]!)!); }
  }
  const tried = candidates.map((params) => {
    const model = train(fitRows, fitLabels, fit.map((c) => classVectors[c]!), params);
    const pred = model.scores(valRows, held.map((c) => classVectors[c]!)).map((row) => row.indexOf(Math.max(...row)));
    return { params, accuracy: perClassMeanAccuracy(valLabels, pred) };
  });
  const best = tried.reduce((b, t) => (t.accuracy > b.accuracy ? t : b));
  return { params: best.params, tried, heldOutClasses: held };
}
