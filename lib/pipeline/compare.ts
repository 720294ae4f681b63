/**
 * The original's result table: several backbones (SqueezeNet 1.1 against a pretrained ResNet baseline) through the
 * same full recipe (`runDevise`, the notebook's own path), several seeds each, as mean ± sd per number, with the
 * exported model's size, the training and inference speed, open-vocabulary zero-shot and a verdict computed from
 * the numbers. One folder per (model, seed) run keeps its numbers, so a killed comparison continues where it stopped.
 *
 *   const c = await runComparison({ models: ['squeezenet1_1', 'resnet50'], seeds: [0, 1, 2], data, out: 'models/compare' });
 *   c.rows[0].zeroShotPerClassTop1;          // { mean, sd } over the seeds run
 *   show(comparisonFigure(readComparison())); // the notebooks' conclusion table
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '../backend/index';
import { lockFolder, writeFileAtomically } from '../backend/io';
import { readAwa2 } from '../data/awa2';
import { firstPerClass, type Item, listDirs, listImages } from '../data/items';
import { type PhaseEpochs } from '../defaults';
import { exportModel, loadExportedModel } from '../export/model';
import { type Arch, createModel, loadModel } from '../models/index';
import { ARCHS } from '../models/registry';
import { tableFigure, type Figure } from '../plots/figures';
import { embeddingCheckpoint } from '../run-folder';
import { displayPath, findPretrained, ROOT } from '../settings';
import { humanDuration } from '../train/estimate';
import { labelSource } from '../vectors/sources';
import { deviseConfig, type DeviseConfig } from './config';
import { runMetrics } from './report';
import { runDevise } from './run';
import { meanSd } from './seeds';

/** What every run of a comparison shares. */
export interface ComparisonSettings {
  /** AWA2-layout root (seen and unseen classes). */
  data: string;
  /** Folder-per-class photos of classes outside `data` for open vocabulary (null: not measured). */
  animals: string | null;
  perClass: number | null;
  size: number;
  labels: string;
  epochs: PhaseEpochs;
  bs: number;
  validPct: number;
  lrFindIterations: number;
}

/** The numbers of one (model, seed) run. */
export interface ModelComparisonRun {
  model: Arch;
  seed: number;
  stage1Accuracy: number;
  stage2Top1: number;
  stage2Top5: number;
  zeroShotPerClassTop1: number;
  gzsl: { uncalibrated: { u: number; s: number; H: number }; calibrated: { u: number; s: number; H: number } };
  ausuc: number;
  /** Zero-shot per-class top-1 of the unseen photos over every unseen label (AWA2 unseen + the extra animals); null without `animals`. */
  openVocabularyTop1: number | null;
  /** Bytes on disk of the exported stage-2 model (model.json + shards). */
  sizeBytes: { fp32: number; uint8: number };
  /** Training images per second over stages 1, 2a and 2b (their epochs' validation included; LR finders not). */
  trainImgPerSec: number;
  /** The fp32 export's forward pass, batch of 16, ms per image. */
  inferMsPerImage: number;
  /** The rates the LR finder chose. */
  lr: { stage1: number; stage2a: number };
  counts: { train: number; valid: number; test: number; openVocabulary: number; openVocabularyLabels: number };
  seconds: number;
  /** Where its speeds were measured (what initBackend chose); rows written before this was recorded lack it. */
  backend?: string;
  threads?: number;
}

/** Mean and sample sd over the seeds of one number. */
export interface Stat {
  mean: number;
  sd: number;
}

/** One model's row: every number of {@link ModelComparisonRun} as mean ± sd over `seeds`. */
export interface ModelComparisonRow {
  model: Arch;
  seeds: number[];
  stage1Accuracy: Stat;
  stage2Top1: Stat;
  stage2Top5: Stat;
  zeroShotPerClassTop1: Stat;
  gzsl: { uncalibrated: { u: Stat; s: Stat; H: Stat }; calibrated: { u: Stat; s: Stat; H: Stat } };
  ausuc: Stat;
  openVocabularyTop1: Stat | null;
  sizeBytes: { fp32: Stat; uint8: Stat };
  trainImgPerSec: Stat;
  inferMsPerImage: Stat;
}

/** compare.json: the rows, every run's own numbers, the settings, the chance levels and the verdict. */
export interface ModelComparison {
  rows: ModelComparisonRow[];
  runs: ModelComparisonRun[];
  settings: ComparisonSettings & { models: Arch[]; seeds: number[]; inference: string; trainSpeed: string; speedsOn: string };
  chance: { stage1: number; zeroShot: number; openVocabulary: number | null };
  verdict: string[];
}

export interface ComparisonOptions extends Partial<ComparisonSettings> {
  models: Arch[];
  seeds: number[];
  /** One subfolder per run (`<model>-seed<k>/`), compare.json and compare.md. */
  out: string;
  log?: (line: string) => void;
  /** Recorded in the folder's lock (a second comparison into `out` refuses, naming it). */
  command?: string;
  /** false: run nothing, only write compare.json and compare.md from the runs finished in `out`. */
  run?: boolean;
}

/** The comparison's default data: the real photos of ../shared (npm run data -- tiny-imagenet builds them). */
export const COMPARE_DATA = path.join(ROOT, '..', 'shared', 'data', 'tiny-imagenet-awa2');
const ROW_FILE = 'row.json';
/** Inference timing: a batch of this many images, forward only. */
const INFER_BATCH = 16;

/** The unseen photos of the open-vocabulary test: the AWA2 root's unseen classes plus every class folder of `animals`, the first `perClass` of each. */
export function openVocabularyPhotos(data: string, animals: string, perClass: number | null): { labels: string[]; items: { path: string; label: string }[] } {
  const awa = readAwa2(data);
  const extra: Item[] = listDirs(animals).flatMap((label) => listImages(path.join(animals, label)).map((f) => ({ path: path.join(animals, label, f), label, split: 'test' as const })));
  const all = [...awa.items.filter((it) => it.split === 'test'), ...extra];
  const items = perClass ? firstPerClass(all, perClass) : all;
  return { labels: [...new Set(items.map((it) => it.label))], items: items.map(({ path: p, label }) => ({ path: p, label })) };
}

/** Milliseconds per image of `model`'s forward pass on a batch of {@link INFER_BATCH} (median of `reps`, after a warm-up). */
export async function inferMsPerImage(model: tf.LayersModel, size: number, reps = 5): Promise<number> {
  const x = tf.randomUniform([INFER_BATCH, size, size, 3]);
  const times: number[] = [];
  try {
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      const y = model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
      if (i > 0) times.push(performance.now() - t0);
    }
  } finally {
    x.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]! / INFER_BATCH;
}

/** The settings with this project's defaults for what `opts` leaves out (explicit, so DEVISE_* variables cannot change a row). */
function settingsOf(opts: Partial<ComparisonSettings>): ComparisonSettings {
  const d = deviseConfig({ smoke: false });
  const data = opts.data ?? COMPARE_DATA;
  return {
    data,
    animals: opts.animals === undefined ? path.join(path.dirname(data), 'tiny-imagenet-animals') : opts.animals,
    perClass: opts.perClass ?? null,
    size: opts.size ?? d.size,
    labels: opts.labels ?? d.labels,
    epochs: opts.epochs ?? d.epochs,
    bs: opts.bs ?? d.bs,
    validPct: opts.validPct ?? d.validPct,
    lrFindIterations: opts.lrFindIterations ?? d.lrFindIterations,
  };
}

/** The folder of one (model, seed) run. */
export function runFolder(out: string, model: Arch, seed: number): string {
  return path.join(out, `${model}-seed${seed}`);
}

/** A finished run's numbers, or undefined (not run, or stopped before its end: row.json is written last). */
function finishedRun(out: string, model: Arch, seed: number): ModelComparisonRun | undefined {
  const file = path.join(runFolder(out, model, seed), ROW_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ModelComparisonRun) : undefined;
}

/**
 * Before committing hours: how many runs, and a rough time per run from one timed forward batch per model (a
 * frozen-body step costs about 1 forward pass, an unfrozen one about 3; RunEstimate prints a measured estimate after
 * each run's first batches).
 */
async function costEstimate(s: ComparisonSettings, models: Arch[], pending: { model: Arch; seed: number }[], dim: number, log: (line: string) => void): Promise<void> {
  const classes = readAwa2(s.data).trainClasses.length;
  const imagesPerClass = s.perClass ?? 500;
  const train = Math.round(classes * imagesPerClass * (1 - s.validPct));
  const e = s.epochs;
  // Forward-pass equivalents: a frozen body costs about one forward pass per image, a training step through the whole model about three.
  const trainImages = train * (e.stage1 + e.stage2a + 3 * (e.stage1Unfrozen + e.stage2b)) + 2 * s.lrFindIterations * s.bs;
  let total = 0;
  for (const model of models) {
    const n = pending.filter((p) => p.model === model).length;
    if (!n) continue;
    const cnn = await createModel(model, { head: 'embedding', dim, inputSize: s.size, weights: findPretrained(model) ?? undefined });
    const ms = await inferMsPerImage(cnn.model, s.size, 2);
    cnn.model.dispose();
    const perRun = (trainImages * ms) / 1000 + (imagesPerClass * 25 * ms) / 1000;
    total += n * perRun;
    log(`  ${model}: forward ${ms.toFixed(1)} ms/image at ${s.size} px → about ${humanDuration(perRun)} per run (${n} to run)`);
  }
  log(`  about ${humanDuration(total)} in all (rough: a frozen-body step counted as 1 forward pass, an unfrozen one as 3; each run prints a measured estimate after its first batches)`);
}

/** Runs one (model, seed) through runDevise, measures open vocabulary, sizes and speeds, and writes its row.json. */
async function runOne(s: ComparisonSettings, model: Arch, seed: number, out: string, log: (line: string) => void, command: string): Promise<ModelComparisonRun> {
  const dir = runFolder(out, model, seed);
  const runDir = path.join(dir, 'run');
  // An unfinished run starts over: its phase times would not be one run's speed.
  fs.rmSync(runDir, { recursive: true, force: true });
  const cfg: DeviseConfig = deviseConfig({
    data: s.data, arch: model, weights: findPretrained(model), size: s.size, bs: s.bs, validPct: s.validPct, perClass: s.perClass,
    seed, labels: s.labels, epochs: s.epochs, lrFindIterations: s.lrFindIterations, lr: {}, out: runDir, smoke: false,
  });
  const open = s.animals ? openVocabularyPhotos(s.data, s.animals, s.perClass) : undefined;
  const where = await initBackend();
  const t0 = Date.now();
  const r = await runDevise(cfg, log, { labelSources: false, mobile: false, sizes: false, openVocabulary: open, command });
  const m = runMetrics(r) as { stage1Accuracy: number; stage2Top1: number; stage2Top5: number; zeroShotPerClassTop1: number; gzsl: { u: number; s: number; H: number; calibrated: { u: number; s: number; H: number }; ausuc: number } };
  // The exported stage-2 model: its bytes on disk (fp32 and uint8) and the fp32 export's inference speed.
  const cnn = await loadModel(embeddingCheckpoint(runDir));
  const sizeBytes = { fp32: 0, uint8: 0 };
  let ms: number;
  try {
    sizeBytes.uint8 = (await exportModel(cnn, path.join(dir, 'export-uint8'), { quantize: 'uint8' })).bytes;
    const fp32 = await exportModel(cnn, path.join(dir, 'export-fp32'), { quantize: 'none' });
    sizeBytes.fp32 = fp32.bytes;
    const exported = await loadExportedModel(fp32.dir);
    try {
      ms = await inferMsPerImage(exported, cfg.size);
    } finally {
      exported.dispose();
    }
  } finally {
    cnn.model.dispose();
  }
  const e = cfg.epochs;
  const trainSeconds = (r.seconds.stage1 ?? 0) + (r.seconds.stage2a ?? 0) + (r.seconds.stage2b ?? 0);
  const run: ModelComparisonRun = {
    model, seed,
    stage1Accuracy: m.stage1Accuracy,
    stage2Top1: m.stage2Top1,
    stage2Top5: m.stage2Top5,
    zeroShotPerClassTop1: m.zeroShotPerClassTop1,
    gzsl: { uncalibrated: { u: m.gzsl.u, s: m.gzsl.s, H: m.gzsl.H }, calibrated: { u: m.gzsl.calibrated.u, s: m.gzsl.calibrated.s, H: m.gzsl.calibrated.H } },
    ausuc: m.gzsl.ausuc,
    openVocabularyTop1: r.openVocabulary?.zsl.perClassTop1 ?? null,
    sizeBytes,
    trainImgPerSec: (r.counts.train * (e.stage1 + e.stage1Unfrozen + e.stage2a + e.stage2b)) / trainSeconds,
    inferMsPerImage: ms,
    lr: { stage1: r.lr.stage1.value, stage2a: r.lr.stage2a.value },
    counts: { ...r.counts, openVocabulary: open?.items.length ?? 0, openVocabularyLabels: open?.labels.length ?? 0 },
    seconds: (Date.now() - t0) / 1000,
    backend: where.backend,
    threads: where.threads,
  };
  writeFileAtomically(path.join(dir, ROW_FILE), JSON.stringify(run, null, 2) + '\n');
  return run;
}

/** Mean ± sd of `pick` over `runs`. */
function stat(runs: ModelComparisonRun[], pick: (r: ModelComparisonRun) => number): Stat {
  return meanSd(runs.map(pick));
}

/** One model's row from its finished runs. */
export function modelComparisonRow(model: Arch, runs: ModelComparisonRun[]): ModelComparisonRow {
  const g = (k: 'uncalibrated' | 'calibrated') => ({ u: stat(runs, (r) => r.gzsl[k].u), s: stat(runs, (r) => r.gzsl[k].s), H: stat(runs, (r) => r.gzsl[k].H) });
  return {
    model,
    seeds: runs.map((r) => r.seed),
    stage1Accuracy: stat(runs, (r) => r.stage1Accuracy),
    stage2Top1: stat(runs, (r) => r.stage2Top1),
    stage2Top5: stat(runs, (r) => r.stage2Top5),
    zeroShotPerClassTop1: stat(runs, (r) => r.zeroShotPerClassTop1),
    gzsl: { uncalibrated: g('uncalibrated'), calibrated: g('calibrated') },
    ausuc: stat(runs, (r) => r.ausuc),
    openVocabularyTop1: runs.every((r) => r.openVocabularyTop1 !== null) ? stat(runs, (r) => r.openVocabularyTop1!) : null,
    sizeBytes: { fp32: stat(runs, (r) => r.sizeBytes.fp32), uint8: stat(runs, (r) => r.sizeBytes.uint8) },
    trainImgPerSec: stat(runs, (r) => r.trainImgPerSec),
    inferMsPerImage: stat(runs, (r) => r.inferMsPerImage),
  };
}

const pct = (s: Stat) => (s.sd > 0 ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.sd).toFixed(1)} %` : `${(100 * s.mean).toFixed(1)} %`);
const NAMES: Partial<Record<Arch, string>> = { squeezenet1_1: 'SqueezeNet 1.1', resnet50: 'ResNet-50', resnet34: 'ResNet34' };
const nameOf = (a: Arch) => NAMES[a] ?? a;

/** The accuracies the verdict weighs (the original's conclusion is about these). */
const VERDICT_METRICS: { key: string; name: string; get: (r: ModelComparisonRow) => Stat }[] = [
  { key: 'stage1Accuracy', name: 'stage-1 accuracy', get: (r) => r.stage1Accuracy },
  { key: 'stage2Top1', name: 'stage-2 top-1', get: (r) => r.stage2Top1 },
  { key: 'zeroShotPerClassTop1', name: 'zero-shot per-class top-1', get: (r) => r.zeroShotPerClassTop1 },
];

/**
 * The verdict in words, from the numbers: does the first model (the small one) reach the second's accuracy —
 * higher, or within one sd (the larger of the two) counts as a tie — and at what fraction of its size; plus the
 * ImageNet caveat of these photos. `speedsComparable`: every run recorded the same backend and threads (else no speed
 * ratio is claimed).
 */
export function comparisonVerdict(rows: ModelComparisonRow[], chance: ModelComparison['chance'], speedsComparable = true): string[] {
  const lines: string[] = [];
  if (rows.length < 2) lines.push(`Only ${rows.map((r) => nameOf(r.model)).join('') || 'no model'} finished: nothing to compare yet.`);
  else {
    const [small, base] = [rows.find((r) => r.model === 'squeezenet1_1') ?? rows[0]!, rows.find((r) => r.model !== 'squeezenet1_1' && r !== rows[0]) ?? rows[1]!];
    const outcomes = VERDICT_METRICS.map((m) => {
      const a = m.get(small);
      const b = m.get(base);
      const d = a.mean - b.mean;
      const tol = Math.max(a.sd, b.sd);
      const outcome = Math.abs(d) <= tol && tol > 0 ? 'tie' : d >= 0 ? 'higher' : 'lower';
      lines.push(`${m.name}: ${nameOf(small.model)} ${pct(a)} vs ${nameOf(base.model)} ${pct(b)} → ${outcome === 'tie' ? `a tie (within one sd, ${(100 * tol).toFixed(1)} points)` : `${outcome} by ${(100 * Math.abs(d)).toFixed(1)} points`}`);
      return { ...m, outcome };
    });
    const fraction = small.sizeBytes.fp32.mean / base.sizeBytes.fp32.mean;
    const speed = base.inferMsPerImage.mean / small.inferMsPerImage.mean;
    const lower = outcomes.filter((o) => o.outcome === 'lower');
    const speedText = speedsComparable ? ` and ${speed.toFixed(1)}× the inference speed` : ' (inference speeds not compared: the runs measured them at different thread counts, or did not record where)';
    const size = `at ${(100 * fraction).toFixed(1)} % of the size (${(small.sizeBytes.fp32.mean / 1e6).toFixed(1)} vs ${(base.sizeBytes.fp32.mean / 1e6).toFixed(1)} MB fp32)${speedText}`;
    lines.unshift(lower.length
      ? `The original's conclusion does NOT hold here: ${nameOf(small.model)} is below ${nameOf(base.model)} in ${lower.map((o) => o.name).join(', ')} (by more than one sd), ${size}.`
      : `The original's conclusion holds here: ${nameOf(small.model)} reaches ${nameOf(base.model)}'s accuracy (stage 1, stage 2, zero-shot: higher or within one sd) ${size}.`);
    if (small.seeds.length !== base.seeds.length || small.seeds.length === 1) lines.push(`Seeds: ${nameOf(small.model)} over ${small.seeds.join(', ')}, ${nameOf(base.model)} over ${base.seeds.join(', ')}; a model with one seed has sd 0, so only the other's sd can make a tie.`);
  }
  for (const r of rows) {
    const z = r.zeroShotPerClassTop1.mean;
    lines.push(`${nameOf(r.model)} zero-shot ${(z / chance.zeroShot).toFixed(2)}× chance (${(100 * chance.zeroShot).toFixed(1)} %), calibrated H ${(100 * r.gzsl.calibrated.H.mean).toFixed(1)} %: the issue's targets (≥ 2× chance, H ≥ 0.2) ${z >= 2 * chance.zeroShot && r.gzsl.calibrated.H.mean >= 0.2 ? 'are met' : 'are not met'}.`);
  }
  if (rows.length) lines.push('Caveat: these photos are ImageNet images of ImageNet classes; the backbones were pretrained on ImageNet, unseen classes included, so every number is optimistic (zero-shot most of all).');
  return lines;
}

/** The comparison as a Markdown table (one row per number, one column per model, mean ± sd). */
export function modelComparisonMarkdown(c: ModelComparison): string {
  const { head, rows } = comparisonTable(c);
  const s = c.settings;
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), '',
    `${displayPath(s.data)} (first ${s.perClass ?? 'all'} photos per class), ${s.size} px, labels ${s.labels}, epochs ${s.epochs.stage1}+${s.epochs.stage1Unfrozen}+${s.epochs.stage2a}+${s.epochs.stage2b}, batch ${s.bs}, LR finder; mean ± sd over seeds; ${c.settings.inference}; ${c.settings.trainSpeed}; ${c.settings.speedsOn}.`,
    '', ...c.verdict.map((l) => `- ${l}`), ''].join('\n');
}

/** Header and rows of the table (shared by the Markdown and the figure). */
function comparisonTable(c: ModelComparison): { head: string[]; rows: string[][] } {
  // A model with one seed has no spread: its number alone, not '± 0.0'.
  const num = (r: ModelComparisonRow, s: Stat | null, f: (v: number) => string) => (s === null ? '–' : r.seeds.length === 1 ? f(s.mean) : `${f(s.mean)} ± ${f(s.sd)}`);
  const p = (r: ModelComparisonRow, s: Stat | null) => num(r, s, (v) => (100 * v).toFixed(1));
  const lines: [string, (r: ModelComparisonRow) => string][] = [
    ['seeds', (r) => r.seeds.join(', ')],
    [`stage-1 accuracy, % (chance ${(100 * c.chance.stage1).toFixed(1)})`, (r) => p(r, r.stage1Accuracy)],
    ['stage-2 top-1, %', (r) => p(r, r.stage2Top1)],
    ['stage-2 top-5, %', (r) => p(r, r.stage2Top5)],
    [`zero-shot per-class top-1, % (chance ${(100 * c.chance.zeroShot).toFixed(1)})`, (r) => p(r, r.zeroShotPerClassTop1)],
    ['GZSL u / s / H, %', (r) => `${p(r, r.gzsl.uncalibrated.u)} / ${p(r, r.gzsl.uncalibrated.s)} / ${p(r, r.gzsl.uncalibrated.H)}`],
    ['GZSL calibrated u / s / H, %', (r) => `${p(r, r.gzsl.calibrated.u)} / ${p(r, r.gzsl.calibrated.s)} / ${p(r, r.gzsl.calibrated.H)}`],
    ['AUSUC', (r) => num(r, r.ausuc, (v) => v.toFixed(3))],
    [`open vocabulary top-1, % (chance ${c.chance.openVocabulary === null ? '–' : (100 * c.chance.openVocabulary).toFixed(1)})`, (r) => p(r, r.openVocabularyTop1)],
    ['size fp32 / uint8, MB', (r) => `${(r.sizeBytes.fp32.mean / 1e6).toFixed(2)} / ${(r.sizeBytes.uint8.mean / 1e6).toFixed(2)}`],
    ['training, img/s', (r) => num(r, r.trainImgPerSec, (v) => v.toFixed(1))],
    ['inference, ms/image (batch 16)', (r) => num(r, r.inferMsPerImage, (v) => v.toFixed(2))],
  ];
  return { head: ['', ...c.rows.map((r) => nameOf(r.model))], rows: lines.map(([name, f]) => [name, ...c.rows.map(f)]) };
}

/** The comparison table as a figure (for `show` in the notebooks' conclusion). */
export function comparisonFigure(c: ModelComparison): Figure {
  const { head, rows } = comparisonTable(c);
  return tableFigure(head, rows, { title: `${c.rows.map((r) => nameOf(r.model)).join(' vs ')}: ${c.settings.size} px, mean ± sd over seeds` });
}

/** compare.json written by `npm run compare` (default models/compare/compare.json). */
export function readComparison(file = path.join(ROOT, 'models', 'compare', 'compare.json')): ModelComparison {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: run \`npm run compare\` first`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ModelComparison;
}

const NOT_RECORDED = 'threads not recorded';

/** The runs grouped by where their speeds were measured ("wasm, 2 threads"; rows from before recording: NOT_RECORDED). */
function speedGroups(runs: ModelComparisonRun[]): Map<string, ModelComparisonRun[]> {
  const groups = new Map<string, ModelComparisonRun[]>();
  for (const r of runs) {
    const key = r.threads === undefined ? NOT_RECORDED : `${r.backend}, ${r.threads} thread${r.threads === 1 ? '' : 's'}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return groups;
}

/** e.g. "speeds as each run measured them: wasm, 2 threads (SqueezeNet 1.1 seeds 0, 1; ResNet-50 seed 0)". */
function speedsOn(groups: Map<string, ModelComparisonRun[]>): string {
  const which = (rs: ModelComparisonRun[]) => [...new Set(rs.map((r) => r.model))].map((m) => {
    const seeds = rs.filter((r) => r.model === m).map((r) => r.seed);
    return `${nameOf(m)} seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}`;
  }).join('; ');
  return `speeds as each run measured them: ${[...groups].map(([k, rs]) => `${k} (${which(rs)})`).join(', ')}`;
}

/** The comparison from every finished run in `out` (models in `models` order), written as compare.json and compare.md. */
export function writeComparison(out: string, s: ComparisonSettings, models: Arch[], seeds: number[]): ModelComparison {
  const runs = models.flatMap((m) => seeds.map((seed) => finishedRun(out, m, seed)).filter((r): r is ModelComparisonRun => r !== undefined));
  const rows = models.map((m) => runs.filter((r) => r.model === m)).filter((rs) => rs.length).map((rs) => modelComparisonRow(rs[0]!.model, rs));
  const seen = runs[0] ? readAwa2(s.data).trainClasses.length : 0;
  const unseen = runs[0] ? readAwa2(s.data).testClasses.length : 0;
  const open = runs[0]?.counts.openVocabularyLabels;
  const chance = { stage1: seen ? 1 / seen : NaN, zeroShot: unseen ? 1 / unseen : NaN, openVocabulary: open ? 1 / open : null };
  const groups = speedGroups(runs);
  const c: ModelComparison = {
    rows, runs,
    settings: { ...s, models, seeds, speedsOn: speedsOn(groups), inference: `inference: the fp32 export's forward pass on a batch of ${INFER_BATCH}, ms per image`, trainSpeed: 'training img/s: stages 1, 2a, 2b (validation included, LR finders not)' },
    chance,
    verdict: [...comparisonVerdict(rows, chance, groups.size <= 1 && !groups.has(NOT_RECORDED)), ...models.filter((m) => !rows.some((r) => r.model === m)).map((m) => `${nameOf(m)}: no run finished in ${displayPath(out)} (npm run compare runs it; a stopped run starts over).`)],
  };
  writeFileAtomically(path.join(out, 'compare.json'), JSON.stringify(c, null, 2) + '\n');
  writeFileAtomically(path.join(out, 'compare.md'), modelComparisonMarkdown(c));
  return c;
}

/** Runs every (model, seed) not finished in `opts.out` — each model's first seed, then the rest model by model — then writes compare.json and compare.md. */
export async function runComparison(opts: ComparisonOptions): Promise<ModelComparison> {
  const log = opts.log ?? console.log;
  for (const m of opts.models) if (!(m in ARCHS)) throw new Error(`unknown model '${m}': use ${Object.keys(ARCHS).join(', ')}`);
  const s = settingsOf(opts);
  if (s.animals && !fs.existsSync(s.animals)) {
    log(`open vocabulary: ${s.animals} does not exist, so it is left out (npm run data -- tiny-imagenet builds it)`);
    s.animals = null;
  }
  const release = lockFolder(opts.out, opts.command ?? 'runComparison');
  try {
    return await runPending(opts, s, log);
  } finally {
    release();
  }
}

async function runPending(opts: ComparisonOptions, s: ComparisonSettings, log: (line: string) => void): Promise<ModelComparison> {
  // Every model's first seed first (a stopped comparison still compares), then the other seeds model by model (the cheap model's seeds before the next expensive run).
  const all = [...opts.models.map((model) => ({ model, seed: opts.seeds[0]! })), ...opts.models.flatMap((model) => opts.seeds.slice(1).map((seed) => ({ model, seed })))];
  const pending = all.filter((p) => !finishedRun(opts.out, p.model, p.seed));
  log(`${all.length} runs (${opts.models.join(', ')} × seeds ${opts.seeds.join(', ')}); ${all.length - pending.length} finished in ${opts.out}, ${pending.length} ${opts.run === false ? 'not run (table only)' : 'to run'}.`);
  await initBackend();
  if (opts.run === false) return writeComparison(opts.out, s, opts.models, opts.seeds);
  if (pending.length) {
    const source = await labelSource(s.labels);
    await costEstimate(s, opts.models, pending, source.dim, log);
  }
  for (const [i, p] of pending.entries()) {
    log(`\n=== ${p.model}, seed ${p.seed} (${i + 1} of ${pending.length} to run) ===`);
    const r = await runOne(s, p.model, p.seed, opts.out, log, opts.command ?? 'runComparison');
    log(`${p.model} seed ${p.seed}: stage 1 ${(100 * r.stage1Accuracy).toFixed(1)} %, stage 2 top-1 ${(100 * r.stage2Top1).toFixed(1)} %, zero-shot ${(100 * r.zeroShotPerClassTop1).toFixed(1)} %, calibrated H ${(100 * r.gzsl.calibrated.H).toFixed(1)} %, open vocabulary ${r.openVocabularyTop1 === null ? '–' : `${(100 * r.openVocabularyTop1).toFixed(1)} %`} (${humanDuration(r.seconds)})`);
    // After every run, so a killed comparison leaves the table of what finished.
    writeComparison(opts.out, s, opts.models, opts.seeds);
  }
  return writeComparison(opts.out, s, opts.models, opts.seeds);
}
