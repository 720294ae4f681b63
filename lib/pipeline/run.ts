/**
 * The whole DeViSE pipeline in one call (what `npm run demo` runs): stage 1 with the LR finder, stage 2a/2b
 * with PCA snapshots, search indices, zero-shot evaluation, the three example searches, model sizes.
 *
 *   const results = await runDevise(deviseConfig({ smoke: true }));
 *   await writeReport('reports/x', results);
 */
import * as path from 'node:path';
import { type BackendInfo, initBackend } from '../backend/index';
import { saveModel, type CnnModel } from '../models/index';
import { dataUri } from '../plots/images';
import type { EpochRecord } from '../train/callbacks';
import type { FitResult, LrFindResult } from '../train/learner';
import type { Callback } from '../train/types';
import type { MetricRow } from '../metrics';
import type { DeviseConfig } from './config';
import type { LabelSourceRow, ZeroShotSummary } from '../zeroshot';
import { exportReport, type ExportReport } from '../export/run';
import { compareLabelSources, zeroShotSummary } from './evaluation';
import { batchPreview, buildSearch, type ChosenLr, findLr, heatmap, interpretStage1, modelSizes, pcaData, type DeviseRun, prepareRun, searchExamples, zeroShotEvaluation } from './steps';

/** Everything the report shows, as plain data. */
export interface DeviseResults {
  cfg: DeviseConfig;
  backend: BackendInfo;
  classes: string[];
  testClasses: string[];
  counts: { train: number; valid: number; test: number };
  seed: number;
  lrFind: LrFindResult;
  /** The learning rates stages 1 and 2a trained at, and where each came from. */
  lr: { stage1?: ChosenLr; stage2a?: ChosenLr };
  stage1: { epochs: EpochRecord[]; batchesPerEpoch: number; interpretation: Awaited<ReturnType<typeof interpretStage1>>; heatmaps: { png: string; predicted: string; actual: string }[] };
  /** fastai's show_batch as HTML: augmented training images with their labels. */
  batchPreview: string;
  stage2: { epochs2a: EpochRecord[]; epochs2b: EpochRecord[]; top1: number; top5: number; cosineLoss: number };
  zeroShot: MetricRow[];
  zeroShotSummary: ZeroShotSummary;
  /** The same zero-shot protocol (stage 2a from the same stage-1 weights) for every label source. */
  labelSources: LabelSourceRow[];
  /** The exported model's variants: accuracy against the trained model, and bytes on disk for both backbones. */
  mobile: { rows: ExportReport['rows']; sizes: ExportReport['sizes'] };
  examples: ReturnType<typeof searchExamples>;
  sizes: { name: string; sizeMB: number; params: number }[];
  pca: ReturnType<typeof pcaData>;
  seconds: Record<string, number>;
}

/** How a chosen learning rate came about, in words. */
export function lrWhy(c: ChosenLr): string {
  if (c.from === 'user') return 'your rate';
  if (c.from === 'default') return "the recipe's default: the LR finder's loss never fell";
  return c.method === 'valley' ? "the LR finder's valley: its loss was still falling at the end of the sweep" : "the LR finder's minimum / 10";
}

async function timed<T>(run: DeviseRun, name: string, step: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await step();
  } finally {
    run.seconds[name] = (Date.now() - t0) / 1000;
  }
}

/** Thrown by runDevise when a training phase stopped early (Ctrl-C): its checkpoint is written; `resume: true` continues. */
export class RunStopped extends Error {
  constructor(readonly reason: string) {
    super(`training stopped: ${reason}`);
    this.name = 'RunStopped';
  }
}

export interface RunDeviseOptions {
  /** Continue the run in `cfg.out`: finished phases are loaded, a stopped one continues where it stopped. */
  resume?: boolean;
  /** Extra callbacks for every training phase (e.g. a CLI's Ctrl-C handling). */
  callbacks?: Callback[];
  /** Compare every label source (stage 2a per source; default true). */
  labelSources?: boolean;
  /** Export for mobile and measure each variant (default true). */
  mobile?: boolean;
}

function throwIfStopped(fits: FitResult[]): void {
  const s = fits.find((f) => f.stopped);
  if (s) throw new RunStopped(s.stopped!);
}

/** Runs every step in order and returns the results (checkpoints and indices are written under `cfg.out`). */
export async function runDevise(cfg: DeviseConfig, log: (line: string) => void = console.log, opts: RunDeviseOptions = {}): Promise<DeviseResults> {
  const backend = await initBackend();
  log(`backend ${backend.backend} (${backend.threads} thread${backend.threads > 1 ? 's' : ''}); model ${cfg.arch}; data ${cfg.data}; labels ${cfg.labels}`);
  const run = await prepareRun(cfg, opts);
  const { data, recipe } = run;
  log(`${data.classes.length} seen classes (${data.train.items.length} train, ${data.valid.items.length} valid), ${data.testClasses?.length ?? 0} unseen (${data.test?.items.length ?? 0} images)`);

  const lrFind = await timed(run, 'lrFind', () => findLr(run, 'stage1'));
  log(`lr_find: min/10 ${lrFind.suggestion.minOver10.toExponential(2)}, steepest ${lrFind.suggestion.steepest.toExponential(2)}; stage 1 trains at ${lrFind.chosen.value.toExponential(2)} (${lrWhy(lrFind.chosen)})`);
  const stage1Fits = await timed(run, 'stage1', () => recipe.stage1());
  throwIfStopped(stage1Fits);
  const interpretation = await interpretStage1(run);
  log(`stage 1 valid accuracy ${(interpretation.accuracy * 100).toFixed(1)}%`);
  // What the notebook shows beside the numbers: the augmented batch and heatmaps of the worst-classified images.
  const preview = await batchPreview(run);
  const heatmaps = await Promise.all(interpretation.topLossItems.slice(0, 4).map(async (t) => {
    const h = await heatmap(run, { path: t.path, label: t.actual, split: 'valid' });
    return { png: dataUri(h.png, 'image/png'), predicted: h.predicted, actual: h.actual };
  }));
  // The finished stage-1 classifier, the common start of stage 2 and of the label-source comparison.
  const stage1Model = path.join(cfg.out, 'models', 'stage1-model');
  await saveModel(recipe.learner.model as CnnModel, stage1Model);

  recipe.toEmbedding();
  const lr2a = await timed(run, 'lrFind2a', () => findLr(run, 'stage2a'));
  log(`stage 2a trains at ${lr2a.chosen.value.toExponential(2)} (${lrWhy(lr2a.chosen)})`);
  run.pca.startPhase('2a');
  const fit2a = await timed(run, 'stage2a', () => recipe.stage2a());
  throwIfStopped([fit2a]);
  run.pca.startPhase('2b');
  const fit2b = await timed(run, 'stage2b', () => recipe.stage2b());
  throwIfStopped([fit2b]);
  const stage2 = await recipe.evaluateEmbedding();
  log(`stage 2 nearest-label top-1 ${(stage2.top1 * 100).toFixed(1)}%, top-5 ${(stage2.top5 * 100).toFixed(1)}%`);

  const space = await timed(run, 'search', () => buildSearch(run));
  const zeroShot = zeroShotEvaluation(run, space);
  const summary = zeroShotSummary(run, space);
  summary.verdict.forEach((line) => log(line));
  const labelSources = opts.labelSources === false ? [] : await timed(run, 'labelSources', () => compareLabelSources(run, stage1Model));
  const examples = searchExamples(run, space);
  const sizes = await modelSizes(run.labelVectors.dim);
  // For mobile: the inference-only export (fp32/float16/uint8), its bytes on disk and its accuracy against this model.
  const exported = opts.mobile === false ? { rows: [], sizes: [] } : await timed(run, 'export', () => exportReport(cfg.out, { gamma: summary.gzsl.calibrated.gamma }));
  return {
    cfg,
    backend,
    classes: data.classes,
    testClasses: data.testClasses ?? [],
    counts: { train: data.train.items.length, valid: data.valid.items.length, test: data.test?.items.length ?? 0 },
    seed: cfg.seed,
    lrFind,
    lr: run.lr,
    stage1: { epochs: stage1Fits.flatMap((f) => f.epochs), batchesPerEpoch: data.train.length, interpretation, heatmaps },
    batchPreview: preview,
    stage2: { epochs2a: fit2a.epochs, epochs2b: fit2b.epochs, ...stage2 },
    zeroShot,
    zeroShotSummary: summary,
    labelSources,
    mobile: { rows: exported.rows, sizes: exported.sizes },
    examples,
    sizes,
    pca: pcaData(run),
    seconds: run.seconds,
  };
}
