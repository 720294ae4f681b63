/**
 * Zero-shot evaluation done by the book: Xian et al. 2018 (per-class mean top-1, GZSL u/s/H), Chao et al. 2016
 * (calibrated stacking: subtract γ from seen-class scores; the seen–unseen accuracy curve over γ and its area,
 * AUSUC) and hubness reduction for nearest-label search (CSLS, Lample et al. 2018). Pure functions over score rows.
 *
 *   const z = zeroShot({ scores, actual, seen, unseen, calibration });   // scores: images × classes (cosine)
 *   z.gzsl.calibrated.H; z.gzsl.ausuc; z.zsl.perClass['chimpanzee'];
 *
 * γ is chosen on held-out images of seen classes only (`calibration`), never on unseen-class test images: the largest
 * γ that keeps their GZSL accuracy within `maxSeenLoss` (default 10 %) of its uncalibrated value.
 */
import { displayName } from './data/items';
import { harmonicMean, perClassMeanAccuracy } from './metrics';

type Rows = ArrayLike<number>[];

/** Per-class mean accuracies on seen (`s`) and unseen (`u`) images, H, and how many images each is over. */
export interface GzslResult {
  s: number;
  u: number;
  H: number;
  nSeen: number;
  nUnseen: number;
}

/** Index of the best class among `cands` for row `row`, after subtracting `gamma` from classes in `seenSet`. */
function argmaxShifted(row: ArrayLike<number>, cands: number[], seenSet: Set<number>, gamma: number): number {
  let best = -1;
  let bestScore = -Infinity;
  for (const c of cands) {
    const v = row[c]! - (seenSet.has(c) ? gamma : 0);
    if (v > bestScore) {
      bestScore = v;
      best = c;
    }
  }
  return best;
}

/** Calibrated stacking (Chao et al. 2016): predictions over seen ∪ unseen with γ subtracted from seen scores. */
export function calibratedPredictions(scores: Rows, seen: number[], unseen: number[], gamma: number): number[] {
  const cands = [...seen, ...unseen];
  const seenSet = new Set(seen);
  return scores.map((row) => argmaxShifted(row, cands, seenSet, gamma));
}

/** GZSL s/u/H at calibration γ (γ = 0: the plain nearest-label protocol of Xian et al.). */
export function gzslAt(scores: Rows, actual: ArrayLike<number>, seen: number[], unseen: number[], gamma = 0): GzslResult {
  const pred = calibratedPredictions(scores, seen, unseen, gamma);
  const seenSet = new Set(seen);
  const unseenSet = new Set(unseen);
  const part = (set: Set<number>) => {
    const a: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < actual.length; i++) if (set.has(actual[i]!)) { a.push(actual[i]!); p.push(pred[i]!); }
    return { acc: perClassMeanAccuracy(a, p), n: a.length };
  };
  const s = part(seenSet);
  const u = part(unseenSet);
  return { s: s.acc, u: u.acc, H: harmonicMean(u.acc, s.acc), nSeen: s.n, nUnseen: u.n };
}

/** Per row: best seen score minus best unseen score, the γ at which its prediction flips from seen to unseen. */
function flipPoints(scores: Rows, seen: number[], unseen: number[]): number[] {
  const best = (row: ArrayLike<number>, cs: number[]) => cs.reduce((m, c) => Math.max(m, row[c]!), -Infinity);
  return scores.map((row) => best(row, seen) - best(row, unseen));
}

/** The γ values at which some prediction changes, as midpoints between flips, plus one beyond each end. */
function criticalGammas(flips: number[]): number[] {
  const u = [...new Set(flips)].sort((a, b) => a - b);
  if (!u.length) return [0];
  const mids = u.slice(1).map((v, i) => (v + u[i]!) / 2);
  return [u[0]! - 1, ...mids, u[u.length - 1]! + 1];
}

/**
 * γ from held-out seen-class images only: the largest γ ≥ 0 whose GZSL accuracy on them is at least
 * (1 − maxSeenLoss) of the accuracy at γ = 0, taken mid-way between the flips around it (accuracy is a step
 * function of γ, so a threshold on a step is fragile). Never looks at unseen-class images; 0 without held-out images.
 */
export function chooseGamma(heldOut: Rows, actual: ArrayLike<number>, seen: number[], unseen: number[], maxSeenLoss = 0.1): number {
  if (!heldOut.length || !unseen.length) return 0;
  const seenSet = new Set(seen);
  for (let i = 0; i < actual.length; i++) {
    if (!seenSet.has(actual[i]!)) throw new Error(`chooseGamma: held-out image ${i} is of class ${actual[i]}, not a seen class; γ must be chosen on seen-class images only.`);
  }
  const accAt = (g: number) => gzslAt(heldOut, actual, seen, unseen, g).s;
  const floor = (1 - maxSeenLoss) * accAt(0);
  const candidates = criticalGammas([0, ...flipPoints(heldOut, seen, unseen).filter((f) => f > 0)]).filter((g) => g > 0);
  let gamma = 0;
  for (const g of candidates) if (g > gamma && accAt(g) >= floor - 1e-12) gamma = g;
  return gamma;
}

/** One point of the seen–unseen accuracy curve. */
export interface CurvePoint {
  gamma: number;
  s: number;
  u: number;
}

/** The seen–unseen accuracy curve over γ (Chao et al. 2016), from all-seen (γ → −∞) to all-unseen (γ → +∞). */
export function seenUnseenCurve(scores: Rows, actual: ArrayLike<number>, seen: number[], unseen: number[]): CurvePoint[] {
  return criticalGammas(flipPoints(scores, seen, unseen)).map((gamma) => {
    const r = gzslAt(scores, actual, seen, unseen, gamma);
    return { gamma, s: r.s, u: r.u };
  });
}

/** Area under the seen–unseen curve (trapezoids of u over s), in [0, 1]. */
export function ausuc(curve: CurvePoint[]): number {
  const pts = [...curve].sort((a, b) => a.s - b.s || b.u - a.u);
  let area = 0;
  for (let i = 1; i < pts.length; i++) area += ((pts[i]!.s - pts[i - 1]!.s) * (pts[i]!.u + pts[i - 1]!.u)) / 2;
  return area;
}

/** Top-1 accuracy of each class that has images: class index → {top1, n}. */
export function perClassTop1(actual: ArrayLike<number>, predicted: ArrayLike<number>): Map<number, { top1: number; n: number }> {
  const out = new Map<number, { right: number; n: number }>();
  for (let i = 0; i < actual.length; i++) {
    const e = out.get(actual[i]!) ?? { right: 0, n: 0 };
    e.n++;
    if (predicted[i] === actual[i]) e.right++;
    out.set(actual[i]!, e);
  }
  return new Map([...out].map(([c, e]) => [c, { top1: e.right / e.n, n: e.n }]));
}

/**
 * CSLS (cross-domain similarity local scaling) of image→label scores: 2·cos(x, c) − r(c), with r(c) the mean
 * similarity of label c to its `k` nearest images in the pool. Labels that are near everything ("hubs") lose their
 * edge; the image-side term is the same for every label of a row, so rankings need only −r(c).
 */
export function csls(scores: Rows, k = 10): Float64Array[] {
  const nClasses = scores[0]?.length ?? 0;
  const kk = Math.min(k, scores.length);
  const r = new Float64Array(nClasses);
  for (let c = 0; c < nClasses; c++) {
    const col = scores.map((row) => row[c]!).sort((a, b) => b - a);
    r[c] = col.slice(0, kk).reduce((s, v) => s + v, 0) / Math.max(kk, 1);
  }
  return scores.map((row) => Float64Array.from({ length: nClasses }, (_, c) => 2 * row[c]! - r[c]!));
}

export interface ZeroShotInput {
  /** Image × class scores (higher = closer), over every class of `seen` ∪ `unseen`. */
  scores: Rows;
  /** True class index of each scored image (seen-class images and unseen-class images). */
  actual: ArrayLike<number>;
  seen: number[];
  unseen: number[];
  /** Held-out seen-class images for choosing γ (their own score rows and classes); default: the seen images of `scores`. */
  calibration?: { scores: Rows; actual: ArrayLike<number> };
  maxSeenLoss?: number;
}

/** Everything the zero-shot section reports, for one score matrix. */
export interface ZeroShotResult {
  zsl: { perClassTop1: number; n: number; chance: number; perClass: Map<number, { top1: number; n: number }>; landing: Map<number, Landing<number>> };
  gzsl: GzslResult & { calibrated: GzslResult & { gamma: number }; ausuc: number; curve: CurvePoint[]; chanceU: number };
}

/**
 * Where one unseen class's images go: how many land nearest each label of all (seen ∪ unseen, uncalibrated), and
 * which unseen label each is given under the ZSL protocol. This is what explains a weak zero-shot number: the photos
 * land near some seen labels, and the unseen label whose vector is nearest those wins them.
 */
export interface Landing<K extends number | string> {
  n: number;
  nearestOfAll: Map<K, number>;
  unseenLabel: Map<K, number>;
}

const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

/** ZSL (unseen images over unseen labels), GZSL uncalibrated and calibrated, the curve and AUSUC. */
export function zeroShot(input: ZeroShotInput): ZeroShotResult {
  const { scores, actual, seen, unseen } = input;
  const unseenSet = new Set(unseen);
  const seenSet = new Set(seen);
  const zslIdx = Array.from(actual).flatMap((a, i) => (unseenSet.has(a) ? [i] : []));
  const zslPred = zslIdx.map((i) => argmaxShifted(scores[i]!, unseen, new Set(), 0));
  const zslActual = zslIdx.map((i) => actual[i]!);
  const landing = new Map<number, Landing<number>>();
  const everyLabel = [...seen, ...unseen];
  zslIdx.forEach((i, j) => {
    const l = landing.get(actual[i]!) ?? { n: 0, nearestOfAll: new Map(), unseenLabel: new Map() };
    l.n++;
    bump(l.nearestOfAll, argmaxShifted(scores[i]!, everyLabel, new Set(), 0));
    bump(l.unseenLabel, zslPred[j]!);
    landing.set(actual[i]!, l);
  });
  const cal = input.calibration ?? (() => {
    const idx = Array.from(actual).flatMap((a, i) => (seenSet.has(a) ? [i] : []));
    return { scores: idx.map((i) => scores[i]!), actual: idx.map((i) => actual[i]!) };
  })();
  const gamma = chooseGamma(cal.scores, cal.actual, seen, unseen, input.maxSeenLoss);
  const curve = seenUnseenCurve(scores, actual, seen, unseen);
  return {
    zsl: { perClassTop1: perClassMeanAccuracy(zslActual, zslPred), n: zslIdx.length, chance: unseen.length ? 1 / unseen.length : 0, perClass: perClassTop1(zslActual, zslPred), landing },
    gzsl: {
      ...gzslAt(scores, actual, seen, unseen, 0),
      calibrated: { ...gzslAt(scores, actual, seen, unseen, gamma), gamma },
      ausuc: ausuc(curve),
      curve,
      chanceU: unseen.length ? 1 / (seen.length + unseen.length) : 0,
    },
  };
}

/** What the report, metrics.json and the notebook show of zero-shot search. */
export interface ZeroShotSummary {
  split: string;
  seenClasses: number;
  unseenClasses: number;
  zsl: {
    perClassTop1: number; n: number; chance: number; perClass: Record<string, { top1: number; n: number }>;
    /** Per unseen class: the fraction of its images nearest each label of all, and given each unseen label (largest first). */
    landing: Record<string, { n: number; nearestOfAll: Record<string, number>; unseenLabel: Record<string, number> }>;
  };
  gzsl: GzslResult & { calibrated: GzslResult & { gamma: number }; ausuc: number; curve: CurvePoint[]; chanceU: number };
  /** The same numbers with CSLS hubness reduction (k nearest images per label). */
  csls: { k: number; zslPerClassTop1: number; u: number; s: number; H: number; calibrated: { u: number; s: number; H: number; gamma: number }; calibratedH: number; ausuc: number };
  /** The results in words, with what they mean and what to do (at chance, u = 0, …). */
  verdict: string[];
}

const pct = (v: number) => `${(Math.round(v * 1000) / 10).toFixed(1)}%`;

/** The results in plain words: chance levels, the seen-class bias (u = 0) and its remedy, which classes fail. */
export function describeZeroShot(z: Omit<ZeroShotSummary, 'verdict'>): string[] {
  if (!z.unseenClasses) return ['No unseen classes in this data set: zero-shot search was not evaluated (give an AWA2 root with testclasses.txt).'];
  const out: string[] = [];
  const { zsl, gzsl } = z;
  const ratio = zsl.chance ? zsl.perClassTop1 / zsl.chance : 0;
  out.push(zsl.perClassTop1 <= zsl.chance
    ? `Zero-shot (unseen images among the ${z.unseenClasses} unseen labels): per-class top-1 ${pct(zsl.perClassTop1)} is at or below chance (${pct(zsl.chance)}): the embedding does not transfer to these classes. More seen classes, real photos and larger word vectors are the remedies.`
    : `Zero-shot (unseen images among the ${z.unseenClasses} unseen labels): per-class top-1 ${pct(zsl.perClassTop1)}, ${ratio.toFixed(1)}× chance (${pct(zsl.chance)}), over ${zsl.n} images.`);
  const failing = Object.entries(zsl.perClass).filter(([, v]) => v.top1 === 0).map(([c]) => c);
  if (failing.length) out.push(`Unseen classes never recognised: ${failing.join(', ')}.`);
  if (gzsl.u === 0) {
    out.push(`Generalized zero-shot without calibration: u = 0, so H = 0 — every unseen image was labelled with a seen class (the seen-class bias of Chao et al. 2016; seen images score higher because training pulled them onto their own vectors).`);
  } else {
    out.push(`Generalized zero-shot without calibration: u ${pct(gzsl.u)}, s ${pct(gzsl.s)}, H ${pct(gzsl.H)}.`);
  }
  out.push(...describeLanding(z));
  const c = gzsl.calibrated;
  out.push(c.H > 0
    ? `Calibrated stacking (γ = ${c.gamma.toFixed(3)}, chosen on the seen validation images only): u ${pct(c.u)}, s ${pct(c.s)}, H ${pct(c.H)}${gzsl.H > 0 ? ` (uncalibrated H ${pct(gzsl.H)})` : ''}.`
    : `Calibrated stacking (γ = ${c.gamma.toFixed(3)}, chosen on the seen validation images only) still leaves H = 0: the unseen classes are out of reach of this model; train on more seen classes or real data.`);
  out.push(`Area under the seen–unseen curve (AUSUC, all γ): ${gzsl.ausuc.toFixed(3)}; chance for u is about ${pct(gzsl.chanceU)}.`);
  return out;
}

/** A landing with class indices turned into names, each count into a fraction of the class's images, largest first. */
export function namedLanding(l: Landing<number>, names: string[]): ZeroShotSummary['zsl']['landing'][string] {
  const named = (m: Map<number, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).map(([c, k]) => [names[c]!, k / l.n]));
  return { n: l.n, nearestOfAll: named(l.nearestOfAll), unseenLabel: named(l.unseenLabel) };
}

/**
 * Why zero-shot is what it is, from where the unseen photos land: per unseen class, the labels of all its photos are
 * nearest, then the unseen label each is given; an unseen label that takes more than its share of every unseen photo
 * is a hub (other classes' photos land nearer it than their own label), which CSLS corrects for.
 */
function describeLanding(z: Omit<ZeroShotSummary, 'verdict'>): string[] {
  const entries = Object.entries(z.zsl.landing);
  if (!entries.length) return [];
  const top = (m: Record<string, number>, k: number) => Object.entries(m).slice(0, k).map(([c, f]) => `${displayName(c)} ${pct(f)}`).join(', ');
  const lines = entries.map(([c, l]) => `${displayName(c)} (${l.n}): nearest of all labels ${top(l.nearestOfAll, 2)} → given ${top(l.unseenLabel, 2)}`);
  const out = [`Where the unseen photos go (nearest of all labels → the unseen label given): ${lines.join('; ')}.`];
  const taken = new Map<string, number>();
  for (const [, l] of entries) for (const [u, f] of Object.entries(l.unseenLabel)) taken.set(u, (taken.get(u) ?? 0) + (f * l.n) / z.zsl.n);
  const [hub, share] = [...taken].sort((a, b) => b[1] - a[1])[0]!;
  if (share > 1.5 * z.zsl.chance) {
    out.push(`'${displayName(hub)}' is given to ${pct(share)} of all unseen photos (a fair share is ${pct(z.zsl.chance)}): other classes' photos land nearer its word vector than their own (a hub). With CSLS hubness reduction (k = ${z.csls.k}) zero-shot is ${pct(z.csls.zslPerClassTop1)} (without: ${pct(z.zsl.perClassTop1)}).`);
  }
  return out;
}

/** One row of the label-source comparison. */
export interface LabelSourceRow {
  source: string;
  description: string;
  dim?: number;
  /** Why this source was not measured (e.g. a class it cannot embed). */
  unavailable?: string;
  seenTop1?: number;
  zslPerClassTop1?: number;
  u?: number;
  s?: number;
  H?: number;
  calibratedH?: number;
  ausuc?: number;
}

