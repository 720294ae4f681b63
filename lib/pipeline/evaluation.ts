/**
 * The zero-shot section of a run, as plain data and plain words: ZSL per class, GZSL uncalibrated and calibrated
 * (γ from the seen validation images only), the seen–unseen curve and AUSUC, CSLS hubness reduction on/off, and the
 * same protocol for every available label source (stage 2a from the same stage-1 weights).
 *
 *   const z = zeroShotSummary(run, space);   z.verdict.forEach((line) => console.log(line));
 *   const rows = await compareLabelSources(run, stage1Dir);
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Item } from '../data/items';
import { ImageLoader } from '../data/loader';
import { cosineScores } from '../metrics';
import { type CnnModel, loadModel } from '../models/index';
import { type Learner } from '../train/learner';
import { slice } from '../train/schedule';
import { twoStageRecipe } from '../train/recipe';
import type { LabelSource } from '../vectors/labels';
import { LABEL_SOURCES, labelSource } from '../vectors/sources';
import { csls, describeZeroShot, type LabelSourceRow, zeroShot, type ZeroShotResult, type ZeroShotSummary } from '../zeroshot';
import type { DeviseRun, SearchSpace } from './steps';

/** Scores (cosine), class indices and the seen/unseen index sets of a run's evaluation images. */
function scoresOf(run: DeviseRun, embeddings: Float32Array[], items: Item[], source: LabelSource, allClasses: string[]) {
  const emb = source.embed(allClasses);
  const scores = cosineScores(embeddings.map((r) => Array.from(r)), emb.vectors, emb.dim);
  const index = new Map(allClasses.map((c, i) => [c, i]));
  const actual = items.map((it) => index.get(it.label)!);
  const seen = run.data.classes.map((c) => index.get(c)!);
  const unseen = (run.data.testClasses ?? []).map((c) => index.get(c)!);
  return { scores, actual, seen, unseen };
}

function summarise(z: ZeroShotResult, zc: ZeroShotResult, allClasses: string[], run: DeviseRun, k: number): ZeroShotSummary {
  const perClass = Object.fromEntries([...z.zsl.perClass].map(([c, v]) => [allClasses[c]!, v]));
  const base = {
    split: run.cfg.split,
    seenClasses: run.data.classes.length,
    unseenClasses: run.data.testClasses?.length ?? 0,
    zsl: { perClassTop1: z.zsl.perClassTop1, n: z.zsl.n, chance: z.zsl.chance, perClass },
    gzsl: z.gzsl,
    csls: {
      k, zslPerClassTop1: zc.zsl.perClassTop1, u: zc.gzsl.u, s: zc.gzsl.s, H: zc.gzsl.H,
      calibrated: { u: zc.gzsl.calibrated.u, s: zc.gzsl.calibrated.s, H: zc.gzsl.calibrated.H, gamma: zc.gzsl.calibrated.gamma },
      calibratedH: zc.gzsl.calibrated.H, ausuc: zc.gzsl.ausuc,
    },
  };
  return { ...base, verdict: describeZeroShot(base) };
}

/** Zero-shot results of the run's stage-2 model over its evaluation images (valid = seen, test = unseen). */
export function zeroShotSummary(run: DeviseRun, space: SearchSpace, k = 10): ZeroShotSummary {
  const { scores, actual, seen, unseen } = scoresOf(run, space.evalEmbeddings, space.evalItems, run.source, space.allClasses);
  const z = zeroShot({ scores, actual, seen, unseen });
  const zc = zeroShot({ scores: csls(scores, k), actual, seen, unseen });
  return summarise(z, zc, space.allClasses, run, k);
}

/** Nearest-label top-1 of the seen-class images among the seen labels (an exact fraction of images). */
export function seenTop1(scores: ArrayLike<number>[], actual: number[], seen: number[]): number {
  const seenSet = new Set(seen);
  let right = 0;
  let n = 0;
  actual.forEach((a, i) => {
    if (!seenSet.has(a)) return;
    n++;
    const best = seen.reduce((b, c) => (scores[i]![c]! > scores[i]![b]! ? c : b), seen[0]!);
    if (best === a) right++;
  });
  return n ? right / n : 0;
}

/** Model outputs of `items` through `learner` (center crop), as rows. */
async function embedWith(learner: Learner, run: DeviseRun, items: Item[], classes: string[]): Promise<Float32Array[]> {
  const loader = new ImageLoader(items, { classes, size: run.data.size, bs: run.data.batchSize, preprocessing: run.data.preprocessing });
  const { preds } = await learner.getPreds(loader);
  const flat = preds.dataSync() as Float32Array;
  const [n, dim] = preds.shape;
  preds.dispose();
  return Array.from({ length: n }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

/**
 * Every label source under one protocol: from the same stage-1 weights (`stage1Model`, a saveModel folder), stage 2a
 * (head only, the run's 2a epochs and rate) against that source's vectors, then seen top-1 and the zero-shot numbers.
 * Sources that cannot embed every class are listed with the reason.
 */
export async function compareLabelSources(run: DeviseRun, stage1Model: string, names: string[] = [...Object.keys(LABEL_SOURCES), run.cfg.labels]): Promise<LabelSourceRow[]> {
  const { data } = run;
  const allClasses = [...data.classes, ...(data.testClasses ?? [])];
  const evalItems = [...data.valid.items, ...(data.test?.items ?? [])];
  const rows: LabelSourceRow[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-labels-'));
  try {
    for (const name of [...new Set(names)]) {
      const description = (LABEL_SOURCES as Record<string, { description: string }>)[name]?.description ?? `word vectors from ${path.basename(name)}`;
      let source: LabelSource;
      try {
        source = await labelSource(name, { awa2Meta: run.cfg.awa2Meta, seed: run.cfg.seed });
      } catch (err) {
        rows.push({ source: name, description, unavailable: (err as Error).message.split('\n')[0]! });
        continue;
      }
      const missing = allClasses.filter((c) => {
        try {
          source.embed([c]);
          return false;
        } catch {
          return true;
        }
      });
      if (missing.length) {
        const shown = missing.slice(0, 4).map((c) => c.replace(/\+/g, ' ')).join(', ');
        rows.push({ source: name, description, dim: source.dim, unavailable: `no vector for ${missing.length} of the ${allClasses.length} classes (${shown}${missing.length > 4 ? ', …' : ''})` });
        continue;
      }
      const model: CnnModel = await loadModel(stage1Model);
      const recipe = twoStageRecipe({
        model, data, labelVectors: source.embed(data.classes), path: scratch, progress: 'none',
        stage2a: { epochs: run.cfg.epochs.stage2a, lr: slice(run.lr.stage2a?.value ?? 3e-3) },
      });
      try {
        await recipe.stage2a();
        const seenRows = await embedWith(recipe.learner, run, data.valid.items, data.classes);
        const unseenRows = data.test?.items.length ? await embedWith(recipe.learner, run, data.test.items, data.testClasses!) : [];
        const { scores, actual, seen, unseen } = scoresOf(run, [...seenRows, ...unseenRows], evalItems, source, allClasses);
        const z = zeroShot({ scores, actual, seen, unseen });
        rows.push({ source: name, description, dim: source.dim, seenTop1: seenTop1(scores, actual, seen), zslPerClassTop1: z.zsl.perClassTop1, u: z.gzsl.u, s: z.gzsl.s, H: z.gzsl.H, calibratedH: z.gzsl.calibrated.H, ausuc: z.gzsl.ausuc });
      } finally {
        recipe.learner.model.model.dispose();
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}
