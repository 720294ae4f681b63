/** Figures built from real inputs for the browser tests: AWA2 word2vec class vectors and a seeded mock training run. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { confusionMatrixFigure, lrFinderFigure, pcaAnimationFigure, type Figure } from '../../lib/plots/figures';
import { SHARED } from '../helpers';

export const PCA_CLASSES = ['Elephant', 'Buffalo', 'Cow', 'Dolphin'];
export const VEC_FILE = path.join(SHARED, 'data', 'wordvectors', 'awa2-classes-googlenews-word2vec-300d.vec');

/** Seeded normal-ish noise (sum of uniforms from mulberry32). */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => u() + u() + u() - 1.5;
}

/** The real 300-d word2vec vectors of the four classes of the original's PCA GIFs. */
export function classVectors(): number[][] {
  const wanted = new Map(PCA_CLASSES.map((c, i) => [c, i]));
  const out: number[][] = [];
  for (const line of fs.readFileSync(VEC_FILE, 'utf8').split('\n').slice(1)) {
    const [word, ...vals] = line.trim().split(' ');
    const i = wanted.get(word);
    if (i !== undefined) out[i] = vals.map(Number);
  }
  if (out.filter(Boolean).length !== PCA_CLASSES.length) throw new Error(`${VEC_FILE} lacks one of ${PCA_CLASSES.join(', ')}`);
  return out;
}

/** A PCA animation of `epochs` frames: 10 "images" per class whose embeddings move toward their class vector. */
export function pcaAnimation(epochs: number): Figure {
  const words = classVectors();
  const rnd = noise(42);
  const base = words.flatMap((_, c) => Array.from({ length: 10 }, () => ({ c, v: words[0].map(() => rnd() * 0.3) })));
  const labels = base.map((b) => b.c);
  const perEpoch = Array.from({ length: epochs }, (_, e) => {
    const alpha = (0.8 * (e + 1)) / epochs; // never quite on the class vector, so the dots stay visible
    return base.map((b) => b.v.map((n, j) => alpha * words[b.c][j] + (1 - alpha) * n));
  });
  return pcaAnimationFigure(PCA_CLASSES, perEpoch, labels, words, { title: 'SqueezeNet stage 2a' });
}

/** A confusion matrix whose counts are all distinct two-digit numbers, easy to find in SVG text. */
export const CM = [[41, 12, 13], [14, 42, 15], [16, 17, 43]];
export const cmFigure = (): Figure => confusionMatrixFigure(CM, ['cat', 'dog', 'horse']);

/** A typical LR-finder curve: flat, falling, then exploding. */
export function lrFigure(): Figure {
  const lrs = Array.from({ length: 60 }, (_, i) => 1e-7 * 10 ** (i / 8));
  const losses = lrs.map((lr) => 2.3 - 0.8 / (1 + Math.exp(-3 * (Math.log10(lr) + 4))) + (lr > 0.05 ? 50 * (lr - 0.05) : 0));
  return lrFinderFigure(lrs, losses, { suggestion: 1e-4 });
}
