/**
 * P×K batch sampling for metric learning (FaceNet, Hermans et al. 2017): every batch holds P classes × K images each,
 * so a triplet loss finds positives and negatives in every batch. Seeded per (seed, epoch); every image appears in
 * every epoch (classes whose image count is not a multiple of K repeat a few of their images to fill their last group).
 *
 *   const order = pkBatches(labels, { p: 8, k: 4, seed: 0, epoch: 0 });     // number[][] of item indices
 *   const train = new PKImageLoader(items, { classes, size: 64, preprocessing, augment: getTransforms() }, { p: 8, k: 4 });
 *   learn.toEmbedding(vectors, { loss: 'triplet', pk: { p: 8, k: 4 } });    // the same, through pkTrainLoader(learn.data, …)
 */
import { getTransforms } from './augment';
import { ImageLoader, type LoaderOptions } from './loader';
import type { Item } from './items';
import { Rng, deriveSeed } from './rng';

/** P classes per batch, K images per class. */
export interface PKOptions {
  p: number;
  k: number;
  seed?: number;
  epoch?: number;
}

/**
 * One epoch of P×K batches over items with class `labels[i]`: each class's images are shuffled and cut into groups of K
 * (the last group topped up with the class's first images of this epoch's order), then groups are dealt into batches of
 * P distinct classes, the classes with most groups left first (ties in a seeded random order). When fewer than P classes
 * have groups left, the last batch has fewer classes.
 */
export function pkBatches(labels: ArrayLike<number>, opts: PKOptions): number[][] {
  const { p, k } = opts;
  if (!(Number.isInteger(p) && p >= 2 && Number.isInteger(k) && k >= 2)) throw new Error(`pkBatches: p and k must be integers ≥ 2 (a triplet needs two classes and two images of one), got p=${p}, k=${k}.`);
  const rng = new Rng(deriveSeed(opts.seed ?? 0, opts.epoch ?? 0, 0x9b));
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]!) ?? [];
    list.push(i);
    byClass.set(labels[i]!, list);
  }
  if (byClass.size < p) throw new Error(`pkBatches: ${p} classes per batch but the data has only ${byClass.size}; lower p.`);
  const groups = new Map<number, number[][]>();
  for (const [c, idx] of byClass) {
    const order = rng.shuffle(idx);
    const gs: number[][] = [];
    for (let s = 0; s < order.length; s += k) {
      const g = order.slice(s, s + k);
      for (let j = 0; g.length < k; j++) g.push(order[j % order.length]!);
      gs.push(g);
    }
    groups.set(c, gs);
  }
  const batches: number[][] = [];
  const tiebreak = new Map([...groups.keys()].map((c) => [c, rng.next()]));
  for (;;) {
    const left = [...groups].filter(([, gs]) => gs.length).sort((a, b) => b[1].length - a[1].length || tiebreak.get(a[0])! - tiebreak.get(b[0])!);
    if (!left.length) break;
    const picked = left.slice(0, p);
    batches.push(picked.flatMap(([, gs]) => gs.pop()!));
    for (const [c] of picked) tiebreak.set(c, rng.next());
  }
  return rng.shuffle(batches);
}

/** An ImageLoader whose batches are P×K ({@link pkBatches}) instead of a plain shuffle; `bs` is P·K. */
export class PKImageLoader extends ImageLoader {
  private readonly pk: PKOptions;
  private readonly classIndex: Map<string, number>;
  private epochNow = 0;
  private cached?: { epoch: number; batches: number[][] };

  constructor(items: Item[], opts: Omit<LoaderOptions, 'bs' | 'shuffle' | 'dropLast'>, pk: { p: number; k: number }) {
    super(items, { ...opts, bs: pk.p * pk.k, shuffle: false, dropLast: false });
    this.pk = { ...pk, seed: opts.seed ?? 0 };
    this.classIndex = new Map(opts.classes.map((c, i) => [c, i]));
    pkBatches(this.labels(), { ...this.pk, epoch: 0 }); // fail now on a bad p/k, not at the first batch
  }

  private labels(): number[] {
    return this.items.map((it) => this.classIndex.get(it.label)!);
  }

  private batches(): number[][] {
    if (this.cached?.epoch !== this.epochNow) this.cached = { epoch: this.epochNow, batches: pkBatches(this.labels(), { ...this.pk, epoch: this.epochNow }) };
    return this.cached.batches;
  }

  override setEpoch(epoch: number): void {
    this.epochNow = epoch;
    super.setEpoch(epoch);
  }

  override get length(): number {
    return this.batches().length;
  }

  /** This epoch's item indices, batch after batch; only the last batch may be shorter than P·K. */
  override order(): number[] {
    return this.batches().flat();
  }
}

/** The P×K training loader over a data bunch's training items (fastai's default augmentation unless `augment: null`). */
export function pkTrainLoader(
  data: { classes: string[]; train: { items: Item[] }; size?: number; preprocessing?: LoaderOptions['preprocessing']; seed?: number },
  pk: { p: number; k: number },
  opts: { size?: number; augment?: LoaderOptions['augment']; seed?: number } = {},
): PKImageLoader {
  const size = opts.size ?? data.size;
  if (!size || !data.preprocessing) throw new Error('pkTrainLoader: the data has no image size or preprocessing; pass a DataBunch (ImageDataBunch.fromFolder / imageDataBunch).');
  return new PKImageLoader(data.train.items, { classes: data.classes, size, preprocessing: data.preprocessing, augment: opts.augment === undefined ? getTransforms() : opts.augment, seed: opts.seed ?? data.seed ?? 0 }, pk);
}
