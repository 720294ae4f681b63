/**
 * fastai's `ClassificationInterpretation` for a trained classifier: top losses (with class-activation heatmaps
 * on the misclassified images), the confusion matrix and the most confused pairs.
 *
 *   const interp = await ClassificationInterpretation.fromLearner(learn);
 *   await interp.plotTopLosses(9, { heatmap: true });
 *   await interp.plotConfusionMatrix();
 *   interp.mostConfused(2);      // [{actual, predicted, count}, ...] with count ≥ 2
 */
import sharp from 'sharp';
import { tf } from '../backend/index';
import { applyTransforms, CENTER, decodeImage } from '../data/augment';
import type { Item } from '../data/items';
import { confusionMatrix, mostConfused } from '../metrics';
import { bodyOutputLayer } from '../models/index';
import { camOverlay, classActivationMap } from '../plots/cam';
import { show } from '../plots/display';
import { confusionMatrixFigure, type Figure } from '../plots/figures';
import { dataUri, imageThumbnail, topLossesFigure } from '../plots/images';
import type { TrainLoader } from './types';
import type { VisionLearner } from './vision';

/** One of the top losses. */
export interface TopLoss {
  index: number;
  actual: string;
  predicted: string;
  loss: number;
  /** Probability the model gave the actual class. */
  probability: number;
  path?: string;
}

/** Predictions of a classifier on a loader, with the analyses fastai offers on them. */
export class ClassificationInterpretation {
  private constructor(
    readonly learn: VisionLearner,
    /** Softmax probabilities, one row per item. */
    readonly probs: number[][],
    readonly targets: number[],
    readonly items: Item[],
  ) {}

  /** Runs the learner's model over the validation set (or `loader`). */
  static async fromLearner(learn: VisionLearner, loader: TrainLoader & { items?: Item[] } = learn.data.valid): Promise<ClassificationInterpretation> {
    if (learn.model.head.kind !== 'classifier') throw new Error('ClassificationInterpretation needs the classifier head (stage 1), not the embedding head.');
    const { preds, targets } = await learn.getPreds(loader, { logits: true });
    const probs = tf.tidy(() => tf.softmax(preds));
    const rows = (await probs.array()) as number[][];
    tf.dispose([preds, probs]);
    return new ClassificationInterpretation(learn, rows, targets, loader.items ?? []);
  }

  get classes(): string[] {
    return this.learn.data.classes;
  }

  /** Argmax class per item. */
  get predicted(): number[] {
    return this.probs.map((r) => r.reduce((best, v, i) => (v > r[best]! ? i : best), 0));
  }

  /** Cross-entropy −log p(actual) per item. */
  get losses(): number[] {
    return this.probs.map((r, i) => -Math.log(Math.max(r[this.targets[i]!]!, 1e-12)));
  }

  /** Top-1 accuracy. */
  get accuracy(): number {
    const p = this.predicted;
    return p.filter((v, i) => v === this.targets[i]).length / Math.max(1, p.length);
  }

  /** The `k` items with the largest loss, largest first (fastai `top_losses`). */
  topLosses(k = 9): TopLoss[] {
    const losses = this.losses;
    const p = this.predicted;
    return losses.map((_, i) => i).sort((a, b) => losses[b]! - losses[a]! || a - b).slice(0, k).map((index) => ({
      index, actual: this.classes[this.targets[index]!]!, predicted: this.classes[p[index]!]!, loss: losses[index]!, probability: this.probs[index]![this.targets[index]!]!, path: this.items[index]?.path,
    }));
  }

  /** Rows = actual, columns = predicted. */
  confusionMatrix(): number[][] {
    return confusionMatrix(this.targets, this.predicted, this.classes.length);
  }

  /** Off-diagonal pairs with at least `minVal` images, most first (fastai `most_confused(min_val)`). */
  mostConfused(minVal = 1): { actual: string; predicted: string; count: number }[] {
    return mostConfused(this.confusionMatrix(), this.classes.map((c) => c.replace(/\+/g, ' ')), minVal);
  }

  /** The class-activation heatmap (mean activation of the last conv block, fastai lesson 6) over one item's image, as PNG. */
  async heatmap(index: number, size = 160): Promise<Buffer> {
    const item = this.items[index];
    if (!item) throw new Error(`heatmap: no item ${index}`);
    const s = this.learn.data.size ?? this.learn.model.inputSize;
    const rgb = applyTransforms(await decodeImage(item.path, s), s, CENTER);
    const x = await this.learn.imageTensor(item.path);
    const cam = classActivationMap(this.learn.model.model, bodyOutputLayer(this.learn.model), x);
    x.dispose();
    const image = await sharp(Buffer.from(rgb), { raw: { width: s, height: s, channels: 3 } }).resize(size, size).png().toBuffer();
    return camOverlay(image, cam.heat);
  }

  /** fastai's `plot_top_losses` grid (prediction/actual/loss/probability), each image under its heatmap when `heatmap`. */
  async topLossesFigure(k = 9, opts: { heatmap?: boolean } = {}): Promise<Figure> {
    const top = this.topLosses(k);
    const cells = await Promise.all(top.map(async (t) => ({
      // JPEG thumbnails keep the figure (and the notebook holding it) small.
      image: opts.heatmap ? dataUri(await sharp(await this.heatmap(t.index, 192)).jpeg({ quality: 80 }).toBuffer()) : t.path ? await imageThumbnail(t.path, 192) : '',
      predicted: t.predicted.replace(/\+/g, ' '), actual: t.actual.replace(/\+/g, ' '), loss: t.loss, probability: t.probability,
    })));
    return topLossesFigure(cells, { title: 'Prediction/Actual/Loss/Probability' });
  }

  /** Displays {@link topLossesFigure}. */
  async plotTopLosses(k = 9, opts: { heatmap?: boolean } = {}): Promise<void> {
    await show(await this.topLossesFigure(k, opts));
  }

  /** The confusion matrix as a figure, every class label in full. */
  confusionMatrixFigure(opts: { title?: string } = {}): Figure {
    return confusionMatrixFigure(this.confusionMatrix(), this.classes.map((c) => c.replace(/\+/g, ' ')), { title: opts.title ?? `Confusion matrix (accuracy ${(100 * this.accuracy).toFixed(1)}%)` });
  }

  /** Displays {@link confusionMatrixFigure} (fastai `plot_confusion_matrix`). */
  async plotConfusionMatrix(opts: { title?: string } = {}): Promise<void> {
    await show(this.confusionMatrixFigure(opts));
  }
}
