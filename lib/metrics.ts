/**
 * Evaluation as pure functions over plain arrays: classification (accuracy, confusion, most confused, top
 * losses), ranking (top-k, flat hit@k, hierarchical precision@k from DeViSE), zero-shot by the Xian et al.
 * protocol (per-class mean top-1, GZSL u/s/H), and `evaluate()` that returns them all as one table.
 *
 *   interpret(softmaxRows, actualIdx, classes).mostConfused;                 // stage 1 (classifier)
 *   const rows = evaluate({ embeddings, actual, classes: source.embed(all), seen, unseen, hops: hopMatrix(all) });
 *   console.table(rows);                                                      // stage 2 + zero-shot
 */

/** Fraction of positions where `predicted[i] === actual[i]` (0 for no samples). */
export function top1Accuracy(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (actual.length !== predicted.length) throw new Error(`top1Accuracy: ${actual.length} labels but ${predicted.length} predictions`);
  let ok = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] === predicted[i]) ok++;
  return actual.length ? ok / actual.length : 0;
}

/** `cm[a][p]` = number of samples of actual class `a` predicted as `p` (rows = actual). */
export function confusionMatrix(actual: ArrayLike<number>, predicted: ArrayLike<number>, nClasses: number): number[][] {
  if (actual.length !== predicted.length) throw new Error(`confusionMatrix: ${actual.length} labels but ${predicted.length} predictions`);
  const cm = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const p = predicted[i]!;
    if (!(a >= 0 && a < nClasses && p >= 0 && p < nClasses)) throw new Error(`confusionMatrix: sample ${i} has class ${a}→${p} outside 0..${nClasses - 1}`);
    cm[a]![p]!++;
  }
  return cm;
}

/** Off-diagonal cells with count ≥ `minVal`, largest first (fastai `most_confused`); ties keep class order. */
export function mostConfused(cm: number[][], classes: string[], minVal = 1): { actual: string; predicted: string; count: number }[] {
  const out: { actual: string; predicted: string; count: number }[] = [];
  cm.forEach((row, a) => row.forEach((count, p) => {
    if (a !== p && count >= minVal) out.push({ actual: classes[a]!, predicted: classes[p]!, count });
  }));
  return out.sort((x, y) => y.count - x.count);
}

/** Indices of the `k` largest losses, largest first (fastai `top_losses`). */
export function topLosses(losses: ArrayLike<number>, k: number): number[] {
  return topIndices(losses, k);
}

/** fastai's `ClassificationInterpretation` as plain data: accuracy, confusion, most confused pairs, top losses. */
export interface Interpretation {
  accuracy: number;
  confusion: number[][];
  mostConfused: { actual: string; predicted: string; count: number }[];
  topLosses: { index: number; actual: string; predicted: string; loss: number; probability: number }[];
}

/**
 * Stage-1 (classifier) interpretation from class probabilities (n × classes, e.g. softmax output): prediction =
 * argmax, loss = cross-entropy −log p(actual), top `k` losses (default 9, fastai's plot_top_losses grid).
 */
export function interpret(probs: ArrayLike<number>[], actual: ArrayLike<number>, classes: string[], opts: { minVal?: number; k?: number } = {}): Interpretation {
  if (probs.length !== actual.length) throw new Error(`interpret: ${actual.length} labels but ${probs.length} probability rows`);
  const predicted = probs.map((row) => topIndices(row, 1)[0]!);
  const losses = probs.map((row, i) => -Math.log(Math.max(row[actual[i]!]!, 1e-12)));
  const confusion = confusionMatrix(actual, predicted, classes.length);
  return {
    accuracy: top1Accuracy(actual, predicted),
    confusion,
    mostConfused: mostConfused(confusion, classes, opts.minVal ?? 1),
    topLosses: topLosses(losses, opts.k ?? 9).map((index) => ({
      index, actual: classes[actual[index]!]!, predicted: classes[predicted[index]!]!, loss: losses[index]!, probability: probs[index]![actual[index]!]!,
    })),
  };
}

/** Indices of the `k` largest values, largest first; equal values keep index order. */
function topIndices(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  return idx.sort((a, b) => values[b]! - values[a]! || a - b).slice(0, k);
}

/** Per row of `scores` (higher = better), the indices of the `k` best columns, best first. */
export function topK(scores: ArrayLike<number>[], k: number): number[][] {
  return scores.map((row) => topIndices(row, k));
}

/** Flat hit@k (DeViSE) = top-k accuracy: fraction of samples whose true class is among its first `k` ranked classes. */
export function hitAtK(ranked: number[][], actual: ArrayLike<number>, k: number): number {
  if (ranked.length !== actual.length) throw new Error(`hitAtK: ${actual.length} labels but ${ranked.length} rankings`);
  let hits = 0;
  ranked.forEach((r, i) => { if (r.slice(0, k).includes(actual[i]!)) hits++; });
  return ranked.length ? hits / ranked.length : 0;
}

/**
 * Per-class mean top-1 (Xian et al.): the accuracy of each class that has samples, averaged over those classes,
 * so large classes do not dominate. Optionally only over `classes`.
 */
export function perClassMeanAccuracy(actual: ArrayLike<number>, predicted: ArrayLike<number>, classes?: Iterable<number>): number {
  const total = new Map<number, number>();
  const right = new Map<number, number>();
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    total.set(a, (total.get(a) ?? 0) + 1);
    if (predicted[i] === a) right.set(a, (right.get(a) ?? 0) + 1);
  }
  const over = classes ? [...classes].filter((c) => total.has(c)) : [...total.keys()];
  return over.length ? over.reduce((s, c) => s + (right.get(c) ?? 0) / total.get(c)!, 0) / over.length : 0;
}

/** Harmonic mean H = 2us/(u+s) of unseen and seen accuracy; 0 when both are 0 (and so whenever u = 0). */
export function harmonicMean(u: number, s: number): number {
  return u + s > 0 ? (2 * u * s) / (u + s) : 0;
}

/**
 * Generalized zero-shot (Xian et al.): predictions are over the union of seen and unseen labels; `s` and `u` are
 * per-class mean top-1 on test samples of seen and of unseen classes, `H` their harmonic mean.
 */
export function gzsl(actual: ArrayLike<number>, predicted: ArrayLike<number>, seen: number[], unseen: number[]): { s: number; u: number; H: number } {
  const pick = (set: Set<number>) => {
    const a: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < actual.length; i++) if (set.has(actual[i]!)) { a.push(actual[i]!); p.push(predicted[i]!); }
    return perClassMeanAccuracy(a, p);
  };
  const s = pick(new Set(seen));
  const u = pick(new Set(unseen));
  return { s, u, H: harmonicMean(u, s) };
}

/**
 * Hierarchical precision@k (DeViSE, Frome et al. 2013, appendix): for each sample, grow the correct set from the true
 * label by radius R = 0, 1, 2… hops (`hops[a][b]`, e.g. WordNet) over the candidate labels until it has ≥ k labels;
 * score = |top-k ∩ set| / k, averaged over samples.
 */
export function hierarchicalPrecisionAtK(ranked: number[][], actual: ArrayLike<number>, k: number, hops: number[][]): number {
  if (ranked.length !== actual.length) throw new Error(`hierarchicalPrecisionAtK: ${actual.length} labels but ${ranked.length} rankings`);
  const n = hops.length;
  if (k > n) throw new Error(`hierarchicalPrecisionAtK: k=${k} exceeds the ${n} candidate labels`);
  const cache = new Map<number, Set<number>>();
  const correctSet = (t: number) => {
    let set = cache.get(t);
    if (set) return set;
    const byDist = Array.from({ length: n }, (_, j) => j).sort((a, b) => hops[t]![a]! - hops[t]![b]! || a - b);
    set = new Set<number>();
    for (let i = 0; i < n && set.size < k; ) {
      const r = hops[t]![byDist[i]!]!;
      for (; i < n && hops[t]![byDist[i]!]! === r; i++) set.add(byDist[i]!); // a whole radius at a time
    }
    cache.set(t, set);
    return set;
  };
  let sum = 0;
  ranked.forEach((r, i) => {
    const set = correctSet(actual[i]!);
    sum += r.slice(0, k).filter((p) => set.has(p)).length / k;
  });
  return ranked.length ? sum / ranked.length : 0;
}

/** Cosine similarity of every row of `x` (n × dim) with every row of `y` (m × dim): n × m. */
export function cosineScores(x: Float32Array | number[][], y: Float32Array | number[][], dim: number): Float64Array[] {
  const rows = (a: Float32Array | number[][]): ArrayLike<number>[] =>
    Array.isArray(a) ? a : Array.from({ length: a.length / dim }, (_, i) => a.subarray(i * dim, (i + 1) * dim));
  const norm = (v: ArrayLike<number>) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[j]! * v[j]!;
    return Math.sqrt(s) || 1;
  };
  const Y = rows(y);
  const yn = Y.map(norm);
  return rows(x).map((v) => {
    const vn = norm(v);
    const out = new Float64Array(Y.length);
    Y.forEach((w, c) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += v[j]! * w[j]!;
      out[c] = s / (vn * yn[c]!);
    });
    return out;
  });
}

/** One row of the table `evaluate()` returns. */
export interface MetricRow {
  protocol: 'seen' | 'zsl' | 'gzsl';
  metric: string;
  value: number;
  /** Test samples the value is computed over. */
  n: number;
}

export interface EvaluateInput {
  /** Image embeddings, n × dim (row-major Float32Array or rows). */
  embeddings: Float32Array | number[][];
  /** True label of each image. */
  actual: string[];
  /** Class embeddings for every label in `seen` ∪ `unseen` (e.g. `source.embed(labels)`). */
  classes: { labels: string[]; dim: number; vectors: Float32Array };
  seen: string[];
  unseen?: string[];
  /** Hop distances between `classes.labels` (e.g. `hopMatrix(labels)`) to add hierarchical precision@k. */
  hops?: number[][];
  ks?: number[];
}

/**
 * Nearest-label evaluation of embedded images: `seen` (seen images over seen labels: per-class mean top-1, hit@k,
 * hierarchical precision hp@k when `hops` is given), `zsl` (the same for unseen images over unseen labels) and `gzsl`
 * (all images over the union: s, u, H).
 */
export function evaluate(input: EvaluateInput): MetricRow[] {
  const { classes, actual } = input;
  const dim = classes.dim;
  const ks = input.ks ?? [1, 5];
  const labelIndex = new Map(classes.labels.map((l, i) => [l, i]));
  const idx = (l: string) => {
    const i = labelIndex.get(l);
    if (i === undefined) throw new Error(`evaluate: label '${l}' has no class embedding (classes.labels)`);
    return i;
  };
  const seen = input.seen.map(idx);
  const unseen = (input.unseen ?? []).map(idx);
  const y = actual.map(idx);
  const scores = cosineScores(input.embeddings, classes.vectors, dim);
  if (scores.length !== y.length) throw new Error(`evaluate: ${scores.length} embeddings but ${y.length} labels`);
  const rows: MetricRow[] = [];
  // Rank among `cands` only, then map back to class indices.
  const rankWithin = (sel: number[], cands: number[], k: number) => sel.map((i) => topIndices(cands.map((c) => scores[i]![c]!), k).map((j) => cands[j]!));
  const protocol = (name: 'seen' | 'zsl', cands: number[]) => {
    const set = new Set(cands);
    const sel = y.flatMap((c, i) => (set.has(c) ? [i] : []));
    if (!sel.length) return;
    const kMax = Math.min(Math.max(...ks), cands.length);
    const ranked = rankWithin(sel, cands, kMax);
    const truth = sel.map((i) => y[i]!);
    rows.push({ protocol: name, metric: 'per-class top-1', value: perClassMeanAccuracy(truth, ranked.map((r) => r[0]!)), n: sel.length });
    for (const k of ks) if (k <= cands.length) rows.push({ protocol: name, metric: `hit@${k}`, value: hitAtK(ranked, truth, k), n: sel.length });
    if (input.hops) {
      const sub = cands.map((a) => cands.map((b) => input.hops![a]![b]!));
      const pos = new Map(cands.map((c, j) => [c, j]));
      const local = ranked.map((r) => r.map((c) => pos.get(c)!));
      for (const k of ks) if (k <= cands.length) rows.push({ protocol: name, metric: `hp@${k}`, value: hierarchicalPrecisionAtK(local, truth.map((c) => pos.get(c)!), k, sub), n: sel.length });
    }
  };
  protocol('seen', seen);
  if (unseen.length) {
    protocol('zsl', unseen);
    const union = [...seen, ...unseen];
    const all = y.flatMap((c, i) => (union.includes(c) ? [i] : []));
    const pred = rankWithin(all, union, 1).map((r) => r[0]!);
    const g = gzsl(all.map((i) => y[i]!), pred, seen, unseen);
    const seenSet = new Set(seen);
    const nSeen = all.filter((i) => seenSet.has(y[i]!)).length;
    // n = the images each number is computed over: s over seen-class images, u over unseen, H over both.
    rows.push({ protocol: 'gzsl', metric: 's', value: g.s, n: nSeen }, { protocol: 'gzsl', metric: 'u', value: g.u, n: all.length - nSeen }, { protocol: 'gzsl', metric: 'H', value: g.H, n: all.length });
  }
  return rows;
}
