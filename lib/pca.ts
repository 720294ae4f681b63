/**
 * Principal component analysis for embedding plots: fit on one set, project others into the same axes.
 *
 *   import { pca, transform, projectEpochs } from './lib/pca';
 *   const p = pca(embeddings, { k: 2 });              // p.explainedVarianceRatio, p.components
 *   const xy = transform(p, wordVectors);             // the same axes for another set
 *   const frames = projectEpochs(perEpoch, { fitOn: 'last', normalize: true, extra: wordVectors });
 *
 * Components are sign-stable: each one is flipped so that its largest-|loading| entry is positive, or so
 * that it points the same way as a reference fit's component, so animation frames never mirror.
 */
import { Matrix, SVD } from 'ml-matrix';

/** Rows of a data matrix: plain arrays or typed arrays, all of the same length. */
export type Rows = ArrayLike<number>[];

/** A fitted PCA: mean, unit-length components (k × d) and how much variance each explains. */
export interface Pca {
  mean: number[];
  components: number[][];
  explainedVariance: number[];
  explainedVarianceRatio: number[];
  singularValues: number[];
  nSamples: number;
}

/** Options for {@link pca}. */
export interface PcaOptions {
  /** Number of components (default 2). */
  k?: number;
  /** Flip each component to point like this fit's (for frames fitted separately); default: largest |loading| positive. */
  reference?: Pca;
}

/** Fits PCA on `rows` (n × d) by an SVD of the centred data. */
export function pca(rows: Rows, opts: PcaOptions = {}): Pca {
  const k = opts.k ?? 2;
  const n = rows.length;
  if (n < 2) throw new Error(`pca: need at least 2 rows to fit, got ${n}`);
  const d = checkRows(rows, 'pca');
  if (!Number.isInteger(k) || k < 1 || k > Math.min(n, d)) {
    throw new Error(`pca: k=${k} must be an integer in 1..min(rows=${n}, dims=${d})`);
  }
  const mean = new Array<number>(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const centred = new Matrix(rows.map((r) => Array.from({ length: d }, (_, j) => r[j] - mean[j])));
  // Total variance from the data itself, so the ratio is right even though only k components are kept.
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) total += centred.get(i, j) ** 2;
  const svd = new SVD(centred, { computeLeftSingularVectors: false, computeRightSingularVectors: true, autoTranspose: true });
  const V = svd.rightSingularVectors;
  const singularValues = svd.diagonal.slice(0, k);
  const components = singularValues.map((_, c) => flipSign(V.getColumn(c), opts.reference?.components[c]));
  const explainedVariance = singularValues.map((s) => (s * s) / (n - 1));
  const explainedVarianceRatio = singularValues.map((s) => (total > 0 ? (s * s) / total : 0));
  return { mean, components, explainedVariance, explainedVarianceRatio, singularValues, nSamples: n };
}

/** Projects `rows` onto a fitted PCA's components (centred with the fit's mean). */
export function transform(p: Pca, rows: Rows): number[][] {
  const d = p.mean.length;
  if (rows.length > 0 && checkRows(rows, 'transform') !== d) {
    throw new Error(`transform: rows have ${rows[0].length} dims but the PCA was fitted on ${d}`);
  }
  return rows.map((r) => p.components.map((c) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (r[j] - p.mean[j]) * c[j];
    return s;
  }));
}

/** Scales every row to unit L2 length (zero rows stay zero). */
export function l2normalize(rows: Rows): number[][] {
  return rows.map((r) => {
    const norm = Math.hypot(...Array.from(r));
    return Array.from(r, (v) => (norm > 0 ? v / norm : 0));
  });
}

/** Options for {@link projectEpochs}. */
export interface ProjectEpochsOptions {
  k?: number;
  /** Which epoch's rows define the axes: 'last' (default), 'first', an epoch index, or 'each' (refit per epoch, signs aligned to the previous). */
  fitOn?: 'last' | 'first' | 'each' | number;
  /** L2-normalise rows (and `extra`) before fitting and projecting, as the DeViSE plots do. */
  normalize?: boolean;
  /** Fixed rows (e.g. class word vectors) projected into every epoch's axes. */
  extra?: Rows;
}

/** One epoch projected: the points, the extra rows in the same axes, and the fit that made the axes. */
export interface EpochProjection { points: number[][]; extra: number[][]; pca: Pca }

/** Projects each epoch's embeddings into shared (or sign-aligned) PCA axes for an animation. */
export function projectEpochs(epochs: Rows[], opts: ProjectEpochsOptions = {}): EpochProjection[] {
  if (epochs.length === 0) throw new Error('projectEpochs: no epochs given');
  const prep = (rows: Rows): Rows => (opts.normalize ? l2normalize(rows) : rows);
  const data = epochs.map(prep);
  const extra = prep(opts.extra ?? []);
  const fitOn = opts.fitOn ?? 'last';
  if (fitOn === 'each') {
    let previous: Pca | undefined;
    return data.map((rows) => {
      const p = pca(rows, { k: opts.k, reference: previous });
      previous = p;
      return { points: transform(p, rows), extra: transform(p, extra), pca: p };
    });
  }
  const index = fitOn === 'last' ? data.length - 1 : fitOn === 'first' ? 0 : fitOn;
  if (!Number.isInteger(index) || index < 0 || index >= data.length) {
    throw new Error(`projectEpochs: fitOn=${fitOn} is not an epoch index in 0..${data.length - 1}`);
  }
  const p = pca(data[index], { k: opts.k });
  const extraXY = transform(p, extra);
  return data.map((rows) => ({ points: transform(p, rows), extra: extraXY, pca: p }));
}

function flipSign(v: number[], reference?: number[]): number[] {
  let sign: number;
  if (reference) {
    sign = v.reduce((s, x, i) => s + x * reference[i], 0) < 0 ? -1 : 1;
  } else {
    let best = 0;
    for (const x of v) if (Math.abs(x) > Math.abs(best)) best = x;
    sign = best < 0 ? -1 : 1;
  }
  return v.map((x) => x * sign + 0); // + 0 turns -0 into 0
}

function checkRows(rows: Rows, where: string): number {
  const d = rows[0].length;
  rows.forEach((r, i) => {
    if (r.length !== d) throw new Error(`${where}: row ${i} has ${r.length} values, row 0 has ${d}`);
    for (let j = 0; j < d; j++) if (!Number.isFinite(r[j])) throw new Error(`${where}: row ${i} has a non-finite value at ${j}`);
  });
  return d;
}
