/**
 * The zero-shot section of a run, as plain data and plain words: ZSL per class, GZSL uncalibrated and calibrated
 * (γ from the seen validation images only), the seen–unseen curve and AUSUC, CSLS hubness reduction on/off, and the
 * same protocol for every available label source (stage 2a from the same stage-1 weights).
 *
 *   const z = zeroShotSummary(run, space);   z.verdict.forEach((line) => console.log(line));
 *   const rows = await compareLabelSources(run, { stage1Model: runPaths(cfg.out).stage1Model, lr: lr2a });
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName, type Item } from '../data/items';
import { cosineScores } from '../metrics';
import { type CnnModel, loadModel } from '../models/index';
import { checkCost, costStatement } from '../train/estimate';
import { PHASE_NAMES, twoStageRecipe } from '../train/recipe';
import type { Callback } from '../train/types';
import { embedImages } from '../train/vision';
import type { LabelSource } from '../vectors/labels';
import { LABEL_SOURCES, labelSource } from '../vectors/sources';
import { csls, describeZeroShot, type LabelSourceRow, namedLanding, zeroShot, type ZeroShotResult, type ZeroShotSummary } from '../zeroshot';
import type { DeviseRun } from './notebook';
import type { SearchSpace } from './space';

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
  const landing = Object.fromEntries([...z.zsl.landing].map(([c, l]) => [allClasses[c]!, namedLanding(l, allClasses)]));
  const base = {
    split: run.cfg.split,
    seenClasses: run.data.classes.length,
    unseenClasses: run.data.testClasses?.length ?? 0,
    zsl: { perClassTop1: z.zsl.perClassTop1, n: z.zsl.n, chance: z.zsl.chance, perClass, landing },
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

/** Options of {@link compareLabelSources}. */
export interface LabelSourceComparison {
  /** The finished stage-1 classifier (a saveModel folder, `runPaths(out).stage1Model`): every source starts from it. */
  stage1Model: string;
  /** The rate the run's own stage 2a trained at (the LR finder's, e.g. the notebook's `lr2a`): every source trains at it. */
  lr: number;
  /** The sources to compare (default: every known source and the run's own). */
  names?: string[];
  /** Extra callbacks of each source's stage 2a. */
  callbacks?: Callback[];
  /**
   * Above this many estimated hours (at the speed of the run's own stage 2a) it does not start (default
   * DEFAULTS.cost.askAboveHours): it throws a CostLimitError naming the cost, this option and a perClass that fits,
   * or with `onOverLimit: 'skip'` (the demo's) returns every source as skipped with that reason.
   */
  maxHours?: number;
  onOverLimit?: 'throw' | 'skip';
  /** Where the cost statement goes (default console.log). */
  log?: (line: string) => void;
}

/**
 * Every label source under one protocol: from the same stage-1 weights, stage 2a (head only, the run's 2a epochs
 * at the run's 2a rate) against that source's vectors, then seen top-1 and the zero-shot numbers. Sources that
 * cannot embed every class are listed with the reason.
 */
export async function compareLabelSources(run: DeviseRun, opts: LabelSourceComparison): Promise<LabelSourceRow[]> {
  const { stage1Model, lr, names = [...Object.keys(LABEL_SOURCES), run.cfg.labels] } = opts;
  if (!(lr > 0)) throw new Error(`compareLabelSources: lr must be the positive rate stage 2a trained at, got ${lr}`);
  const { data } = run;
  const allClasses = [...data.classes, ...(data.testClasses ?? [])];
  const rows: LabelSourceRow[] = [];
  // First which sources can run (cheap), so the cost statement counts only the stage-2a runs that will happen.
  const runnable: { name: string; description: string; source: LabelSource; row: number }[] = [];
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
      const shown = missing.slice(0, 4).map(displayName).join(', ');
      rows.push({ source: name, description, dim: source.dim, unavailable: `no vector for ${missing.length} of the ${allClasses.length} classes (${shown}${missing.length > 4 ? ', …' : ''})` });
      continue;
    }
    runnable.push({ name, description, source, row: rows.length });
    rows.push({ source: name, description, dim: source.dim });
  }
  // Each source repeats the run's stage 2a: its measured time (the recorder's stage-2a fit) is the cost of one.
  const fit2a = run.learn.recorder.fits.find((f) => f.name === PHASE_NAMES.stage2a);
  const measured = fit2a?.epochs.length ? (fit2a.epochs.reduce((t, e) => t + e.seconds, 0) * run.cfg.epochs.stage2a) / fit2a.epochs.length : null;
  const cost = costStatement({
    what: 'label-source comparison', runs: runnable.length, unit: 'source', imagesPerRun: data.train.items.length, epochs: run.cfg.epochs.stage2a,
    secondsPerRun: measured, measuredOn: measured === null ? undefined : "this run's stage 2a", classes: data.classes.length, maxHours: opts.maxHours,
  });
  (opts.log ?? console.log)(cost.line);
  if (cost.overLimit && opts.onOverLimit === 'skip') {
    const why = `skipped: ${cost.line}, over the ${cost.maxHours} h limit${cost.perClass !== null ? ` (a run with --per-class ${cost.perClass} fits)` : ''}`;
    (opts.log ?? console.log)(why);
    for (const r of runnable) rows[r.row] = { ...rows[r.row]!, unavailable: why };
    return rows;
  }
  checkCost(cost, `compareLabelSources(run, { …, maxHours: ${Math.ceil(cost.seconds! / 3600)} })`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-labels-'));
  try {
    for (const { name, description, source, row } of runnable) {
      const model: CnnModel = await loadModel(stage1Model);
      const recipe = twoStageRecipe({
        model, data, labelVectors: source.embed(data.classes), path: scratch, progress: 'none', callbacks: opts.callbacks,
        stage2a: { epochs: run.cfg.epochs.stage2a, lr: { stop: lr } },
      });
      try {
        await recipe.stage2a(lr);
        const seenRows = await embedImages(recipe.learner, data.valid.items, data.classes);
        const unseenRows = data.test?.items.length ? await embedImages(recipe.learner, data.test.items, data.testClasses!) : [];
        // After embedding: an image that failed to decode has left the lists, so rows and items agree.
        const evalItems = [...data.valid.items, ...(data.test?.items ?? [])];
        const { scores, actual, seen, unseen } = scoresOf(run, [...seenRows, ...unseenRows], evalItems, source, allClasses);
        const z = zeroShot({ scores, actual, seen, unseen });
        rows[row] = { source: name, description, dim: source.dim, seenTop1: seenTop1(scores, actual, seen), zslPerClassTop1: z.zsl.perClassTop1, u: z.gzsl.u, s: z.gzsl.s, H: z.gzsl.H, calibratedH: z.gzsl.calibrated.H, ausuc: z.gzsl.ausuc };
      } finally {
        recipe.learner.model.model.dispose();
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}
