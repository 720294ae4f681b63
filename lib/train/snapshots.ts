/**
 * A callback the user adds for stage 2: after every epoch of an embedding model it embeds a fixed set of
 * images (the original: elephant, buffalo, cow, dolphin) and keeps the rows per fit, named by the fit's
 * checkpoint (e.g. 'stage2a'), so the animated PCA of each phase needs no bookkeeping.
 *
 *   const pca = EmbeddingSnapshots.of(data, ['elephant', 'buffalo', 'cow', 'dolphin']);
 *   learn.callbacks.push(pca);
 *   await learn.fitOneCycle(5, lr, { checkpoint: 'stage2a' });
 *   await show(pca.figure('stage2a'));   await show(await pca.gif('stage2a'));
 */
import { takeRows } from '../backend/index';
import type { Item } from '../data/items';
import { type DataBunch, ImageLoader } from '../data/loader';
import { pcaAnimationFigure, type Figure } from '../plots/figures';
import { figureGif } from '../plots/gif';
import type { Callback, TrainState } from './types';

/** Valid images of `classes`; the train images too when a class has fewer than 5 there (tiny sample sets). */
export function snapshotItems(data: Pick<DataBunch, 'train' | 'valid'>, classes: string[]): Item[] {
  const present = new Set([...data.train.items, ...data.valid.items].map((it) => it.label));
  return classes.filter((c) => present.has(c)).flatMap((c) => {
    const valid = data.valid.items.filter((it) => it.label === c);
    return valid.length >= 5 ? valid : [...valid, ...data.train.items.filter((it) => it.label === c)];
  });
}

/** Per-epoch embeddings of a fixed image set, one series per fit. */
export class EmbeddingSnapshots implements Callback {
  readonly order = 60;
  /** The drawn classes, in order. */
  readonly classes: string[];
  /** Index into `classes` of each snapshot row (of `items` as they are now: a file that failed to decode has left them). */
  get labels(): number[] {
    return this.items.map((it) => this.classes.indexOf(it.label));
  }
  /** Fit name → epoch → rows. */
  readonly series: Record<string, Float32Array[][]> = {};
  /** The class vectors of `classes` (from the learner's embedding head), captured with the snapshots. */
  classVectors?: number[][];
  private readonly loader: ImageLoader;

  constructor(readonly items: Item[], data: Pick<DataBunch, 'classes' | 'size' | 'batchSize' | 'preprocessing'>) {
    this.classes = [...new Set(items.map((it) => it.label))];
    this.loader = new ImageLoader(items, { classes: data.classes, size: data.size, bs: data.batchSize, preprocessing: data.preprocessing });
  }

  /** Snapshots of `classes` (those present) in `data`. */
  static of(data: Pick<DataBunch, 'classes' | 'size' | 'batchSize' | 'preprocessing' | 'train' | 'valid'>, classes: string[]): EmbeddingSnapshots {
    return new EmbeddingSnapshots(snapshotItems(data, classes), data);
  }

  /** A fit under a name already recorded (a rerun cell) starts that series again instead of appending to it. */
  onTrainBegin(s: TrainState): void {
    if (s.learner.model.head?.kind === 'embedding') delete this.series[s.name ?? 'fit'];
  }

  async onEpochEnd(s: TrainState): Promise<void> {
    if (s.learner.model.head?.kind !== 'embedding' || this.items.length === 0) return;
    // Training has decoded these images by now: one that failed leaves the list before the first frame, so every
    // frame has the same rows (were it to fail later, the fit's earlier frames, one row longer, are dropped).
    const before = this.items.length;
    const { preds } = await s.learner.getPreds(this.loader);
    if (this.items.length !== before) delete this.series[s.name ?? 'fit'];
    (this.series[s.name ?? 'fit'] ??= []).push(takeRows(preds));
    const vectors = (s.learner as { classVectors?: number[][] }).classVectors;
    if (vectors) this.classVectors = this.classes.map((c) => vectors[s.learner.data.classes.indexOf(c)]!);
  }

  /** The animated PCA of fit `name` (one frame per epoch, shared axes): dots are images, triangles class vectors. */
  figure(name: string, opts: { title?: string } = {}): Figure {
    const series = this.series[name];
    if (!series?.length) throw new Error(`No snapshots for '${name}': add this callback to the learner and run that fit (with { checkpoint: '${name}' }) first; have ${Object.keys(this.series).join(', ') || 'none'}.`);
    if (!this.classVectors) throw new Error('No class vectors: the learner has no embedding head (call toEmbedding first).');
    return pcaAnimationFigure(this.classes.map((c) => c.replace(/\+/g, ' ')), series, this.labels, this.classVectors, { title: opts.title ?? `PCA of image embeddings, ${name}` });
  }

  /** The same animation as a GIF (rendered in headless Chromium), as the original's PCA_*_Epochs1toN.gif. */
  async gif(name: string, opts: { width?: number; height?: number } = {}): Promise<Buffer> {
    return figureGif(this.figure(name), { width: opts.width ?? 640, height: opts.height ?? 560 });
  }
}
