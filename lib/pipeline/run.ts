/**
 * The whole DeViSE pipeline in one call (what `npm run demo` runs), made of the notebook's own calls:
 * `ImageDataBunch.fromFolder` → `cnnLearner` → `lrFind` → `twoStageRecipe({ learner })` (stage 1 at the rate found,
 * `ClassificationInterpretation`, `toEmbedding`, `lrFind`, stage 2a at that rate with `EmbeddingSnapshots`, 2b) →
 * search indices → zero-shot evaluation → label-source comparison → the three example searches → backbone sizes.
 *
 *   const results = await runDevise(deviseConfig({ smoke: true }));
 *   await writeReport('reports/x', results);
 */
import { type BackendInfo, initBackend, nativeKernelsAdvice } from '../backend/index';
import type { MetricRow } from '../metrics';
import { saveModel } from '../models/index';
import { openRunFolder, readRunFile, recordPhase, runPaths, type ChosenLr, writeRunFile } from '../run-folder';
import type { EpochRecord } from '../train/callbacks';
import { ClassificationInterpretation } from '../train/interpret';
import type { FitResult, LrFindResult } from '../train/learner';
import { accuracy } from '../train/metrics';
import { DEFAULT_PHASES, twoStageRecipe } from '../train/recipe';
import { RunEstimate } from '../train/estimate';
import { EmbeddingSnapshots } from '../train/snapshots';
import { savedModelBytes } from '../train/summary';
import type { Callback } from '../train/types';
import { cnnLearner, ImageDataBunch } from '../train/vision';
import type { Arch } from '../models/registry';
import type { LabelSourceRow, ZeroShotResult, ZeroShotSummary } from '../zeroshot';
import { zeroShotOfImages } from '../zeroshot-images';
import { exportReport, type ExportReport } from '../export/run';
import { compareObjectivesOnRun, type ObjectivesComparison } from '../objectives';
import type { DeviseConfig } from './config';
import { compareLabelSources, zeroShotSummary } from './evaluation';
import { chooseLr, type DeviseRun, labelSourceOf, lrWhy, runOf } from './notebook';
import { buildSearch, searchExamples, zeroShotEvaluation } from './space';

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
  lr: { stage1: ChosenLr; stage2a: ChosenLr };
  stage1: { epochs: EpochRecord[]; batchesPerEpoch: number; interpretation: ClassificationInterpretation };
  /** fastai's show_batch as HTML: augmented training images with their labels. */
  batchPreview: string;
  stage2: { epochs2a: EpochRecord[]; epochs2b: EpochRecord[]; top1: number; top5: number; cosineLoss: number };
  zeroShot: MetricRow[];
  zeroShotSummary: ZeroShotSummary;
  /** The same zero-shot protocol (stage 2a from the same stage-1 weights) for every label source. */
  labelSources: LabelSourceRow[];
  /** Zero-shot of extra photos over labels never trained on (`opts.openVocabulary`); null when not asked. */
  openVocabulary: ZeroShotResult | null;
  /** Every embedding objective on this run's photos and stage-1 backbone (`opts.objectives`); null when not asked. */
  objectives: (ObjectivesComparison & { featureSeconds: number; epochs: number }) | null;
  /** The exported model's variants: accuracy against the trained model, and bytes on disk for both backbones. */
  mobile: { rows: ExportReport['rows']; sizes: ExportReport['sizes'] };
  examples: ReturnType<typeof searchExamples>;
  /** Each backbone with the run's embedding head: parameters and bytes on disk (fp32). */
  sizes: { name: string; sizeMB: number; params: number }[];
  /** The embeddings of the PCA classes after every stage-2 epoch, one series per phase ('stage2a', 'stage2b'). */
  pca: EmbeddingSnapshots;
  seconds: Record<string, number>;
}

async function timed<T>(seconds: Record<string, number>, name: string, step: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await step();
  } finally {
    seconds[name] = (Date.now() - t0) / 1000;
  }
}

/** The original's two backbones (and the run's own): parameters and fp32 bytes on disk with a `dim`-d embedding head (savedModelBytes, as the notebook's backboneSummary). */
async function backboneSizes(dim: number, own: Arch): Promise<{ name: string; sizeMB: number; params: number }[]> {
  const rows = [];
  for (const arch of [...new Set<Arch>(['squeezenet1_1', 'resnet34', own])]) {
    const { bytes, params } = await savedModelBytes(arch, dim);
    rows.push({ name: arch, sizeMB: bytes / 1e6, params });
  }
  return rows;
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
  /** Open vocabulary: also score these photos (each labelled with one of `labels`, words the model never trained on) by the stage-2 model. */
  openVocabulary?: { labels: string[]; items: { path: string; label: string }[] };
  /** Compare the embedding objectives (cosine, hinge, triplet, hybrid, ESZSL, ALE) on the run's cached stage-1 features (default false). */
  objectives?: boolean;
  /** Export for mobile and measure each variant (default true). */
  mobile?: boolean;
  /** Measure the backbones' sizes on disk (default true). */
  sizes?: boolean;
  /** What the user typed, recorded in the run folder's lock (a second run into `cfg.out` refuses, naming it). */
  command?: string;
}

function throwIfStopped(fits: FitResult[]): void {
  const s = fits.find((f) => f.stopped);
  if (s) throw new RunStopped(s.stopped!);
}

/**
 * The notebook's cells as one script: the same calls in the same order, so `npm run demo` and the notebook give
 * the same numbers for the same settings and seed. Checkpoints, indices and run.json go to `cfg.out`.
 */
export async function runDevise(cfg: DeviseConfig, log: (line: string) => void = console.log, opts: RunDeviseOptions = {}): Promise<DeviseResults> {
  const release = openRunFolder(cfg.out, opts.command ?? `runDevise (run folder ${cfg.out})`);
  try {
    return await runSteps(cfg, log, opts);
  } finally {
    release();
  }
}

async function runSteps(cfg: DeviseConfig, log: (line: string) => void, opts: RunDeviseOptions): Promise<DeviseResults> {
  const backend = await initBackend();
  log(`backend ${backend.backend} (${backend.threads} thread${backend.threads > 1 ? 's' : ''}); model ${cfg.arch}; data ${cfg.data}; labels ${cfg.labels}`);
  const faster = nativeKernelsAdvice(backend);
  if (faster) log(faster);
  const seconds: Record<string, number> = {};
  const t0 = Date.now();
  // The notebook's first cells: data, learner, label source.
  const data = await ImageDataBunch.fromFolder(cfg.data, { size: cfg.size, bs: cfg.bs, validPct: cfg.validPct, perClass: cfg.perClass ?? undefined, seed: cfg.seed, split: cfg.split });
  // Told before training, not after: the objectives comparison scores zero-shot on the unseen classes.
  if (opts.objectives && !data.testClasses?.length) throw new Error(`--objectives needs unseen classes (an AWA2 root with testclasses.txt); ${cfg.data} has none.`);
  const learn = await cnnLearner(data, cfg.arch, { metrics: [accuracy], weights: cfg.weights, path: cfg.out, seed: cfg.seed });
  const source = await labelSourceOf(cfg);
  const run: DeviseRun = runOf(cfg, data, learn, source);
  const pca = EmbeddingSnapshots.of(data, cfg.pcaClasses);
  learn.callbacks.push(pca);
  // Told before committing hours: the whole run's time at the measured speed, after its first batches.
  learn.callbacks.push(RunEstimate.forRecipe(cfg.epochs, data, { lrFindIterations: cfg.lrFindIterations, log }));
  const e = cfg.epochs;
  const recipe = twoStageRecipe({
    learner: learn,
    labelVectors: source.embed(data.classes),
    stage1: { ...DEFAULT_PHASES.stage1, epochs: e.stage1 },
    stage1Unfrozen: { ...DEFAULT_PHASES.stage1Unfrozen, epochs: e.stage1Unfrozen },
    stage2a: { ...DEFAULT_PHASES.stage2a, epochs: e.stage2a },
    stage2b: { ...DEFAULT_PHASES.stage2b, epochs: e.stage2b },
    callbacks: opts.callbacks,
    // Resuming: finished phases are loaded from their checkpoints, a stopped one continues where it stopped.
    resume: opts.resume,
    onPhase: (name, status) => recordPhase(cfg.out, name, status),
  });
  seconds.prepare = (Date.now() - t0) / 1000;
  log(`${data.classes.length} seen classes (${data.train.items.length} train, ${data.valid.items.length} valid), ${data.testClasses?.length ?? 0} unseen (${data.test?.items.length ?? 0} images)`);

  // Stage 1: the LR finder on the frozen classifier; its rate is passed to the fit.
  const lrFind = await timed(seconds, 'lrFind', () => learn.lrFind({ numIt: cfg.lrFindIterations }));
  const lr1 = chooseLr(lrFind, 'stage1', cfg.lr.stage1);
  log(`lr_find: min/10 ${lrFind.suggestion.minOver10.toExponential(2)}, steepest ${lrFind.suggestion.steepest.toExponential(2)}; stage 1 trains at ${lr1.value.toExponential(2)} (${lrWhy(lr1)})`);
  recordLr(cfg.out, 'stage1', lr1);
  const stage1Fits = await timed(seconds, 'stage1', () => recipe.stage1(lr1.value));
  throwIfStopped(stage1Fits);
  const interpretation = await ClassificationInterpretation.fromLearner(learn);
  log(`stage 1 valid accuracy ${(interpretation.accuracy * 100).toFixed(1)}%`);
  const preview = await data.batchHtml({ rows: 3 });
  // The finished stage-1 classifier, the common start of stage 2 and of the label-source comparison.
  const stage1Model = runPaths(cfg.out).stage1Model;
  await saveModel(learn.model, stage1Model);

  // Stage 2: the embedding head, the LR finder on it (frozen body), 2a at the rate found, 2b unfrozen.
  recipe.toEmbedding();
  learn.freeze();
  const lrFind2a = await timed(seconds, 'lrFind2a', () => learn.lrFind({ numIt: cfg.lrFindIterations }));
  const lr2a = chooseLr(lrFind2a, 'stage2a', cfg.lr.stage2a);
  log(`stage 2a trains at ${lr2a.value.toExponential(2)} (${lrWhy(lr2a)})`);
  recordLr(cfg.out, 'stage2a', lr2a);
  const fit2a = await timed(seconds, 'stage2a', () => recipe.stage2a(lr2a.value));
  throwIfStopped([fit2a]);
  const fit2b = await timed(seconds, 'stage2b', () => recipe.stage2b());
  throwIfStopped([fit2b]);
  const stage2 = await recipe.evaluateEmbedding();
  log(`stage 2 nearest-label top-1 ${(stage2.top1 * 100).toFixed(1)}%, top-5 ${(stage2.top5 * 100).toFixed(1)}%`);

  const space = await timed(seconds, 'search', () => buildSearch(run));
  const zeroShot = zeroShotEvaluation(run, space);
  const summary = zeroShotSummary(run, space);
  summary.verdict.forEach((line) => log(line));
  const labelSources = opts.labelSources === false ? [] : await timed(seconds, 'labelSources', () => compareLabelSources(run, { stage1Model, lr: lr2a.value, log, onOverLimit: 'skip' }));
  const open = opts.openVocabulary;
  const openVocabulary = open ? await timed(seconds, 'openVocabulary', () => zeroShotOfImages(learn, data, source, open.labels, open.items)) : null;
  const objectives = opts.objectives ? await timed(seconds, 'objectives', () => compareObjectivesOnRun(data, stage1Model, source, { seed: cfg.seed, log })) : null;
  const examples = searchExamples(run, space);
  const sizes = opts.sizes === false ? [] : await timed(seconds, 'sizes', () => backboneSizes(source.dim, cfg.arch));
  // For mobile: the inference-only export (fp32/float16/uint8), its bytes on disk and its accuracy against this model.
  const exported = opts.mobile === false ? { rows: [], sizes: [] } : await timed(seconds, 'export', () => exportReport(cfg.out, { gamma: summary.gzsl.calibrated.gamma }));
  return {
    cfg,
    backend,
    classes: data.classes,
    testClasses: data.testClasses ?? [],
    counts: { train: data.train.items.length, valid: data.valid.items.length, test: data.test?.items.length ?? 0 },
    seed: cfg.seed,
    lrFind,
    lr: { stage1: lr1, stage2a: lr2a },
    stage1: { epochs: stage1Fits.flatMap((f) => f.epochs), batchesPerEpoch: data.train.length, interpretation },
    batchPreview: preview,
    stage2: { epochs2a: fit2a.epochs, epochs2b: fit2b.epochs, ...stage2 },
    zeroShot,
    zeroShotSummary: summary,
    labelSources,
    objectives,
    openVocabulary,
    mobile: { rows: exported.rows, sizes: exported.sizes },
    examples,
    sizes,
    pca,
    seconds,
  };
}

/** Records in run.json the rate a phase is about to train at (a record for people and export; training is passed the rate). */
function recordLr(dir: string, phase: 'stage1' | 'stage2a', lr: ChosenLr): void {
  const run = readRunFile(dir);
  if (run) writeRunFile(dir, { ...run, lr: { ...run.lr, [phase]: lr } });
}
