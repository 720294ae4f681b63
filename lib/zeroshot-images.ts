/**
 * Zero-shot of image files with a trained embedding learner: embed the images (center crop), score them by cosine
 * against the label vectors of the seen classes plus any `unseen` labels (words the model never trained on), then
 * lib/zeroshot's protocol, with the learner's validation images as the seen side.
 *
 *   const z = await zeroShotOfImages(learn, data, source, ['koala', 'dugong'], photos);   // photos: { path, label }[]
 *   z.zsl.perClassTop1;   // among the unseen labels only; z.gzsl: all labels
 */
import { cosineScores } from './metrics';
import type { DataBunch } from './data/loader';
import { embedImages, type VisionLearner } from './train/vision';
import type { LabelSource } from './vectors/labels';
import { zeroShot, type ZeroShotResult } from './zeroshot';

/** ZSL / GZSL of `items` (each labelled with one of `unseen`) against `data`'s seen classes and its validation images. */
export async function zeroShotOfImages(
  learn: VisionLearner,
  data: Pick<DataBunch, 'classes' | 'valid'>,
  source: LabelSource,
  unseen: string[],
  items: { path: string; label: string }[],
): Promise<ZeroShotResult> {
  const all = [...data.classes, ...unseen];
  const scored = [...data.valid.items, ...items.map((it) => ({ ...it, split: 'test' as const }))];
  const rows = await embedImages(learn, scored, all);
  const labels = source.embed(all);
  const index = new Map(all.map((c, i) => [c, i]));
  return zeroShot({
    scores: cosineScores(rows.map((r) => Array.from(r)), labels.vectors, labels.dim),
    actual: scored.map((it) => index.get(it.label)!),
    seen: data.classes.map((_, i) => i),
    unseen: unseen.map((_, i) => data.classes.length + i),
  });
}
