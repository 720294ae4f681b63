/**
 * Exports a trained run (the run-directory contract: run.json, labels.json, models/<phase>/) for the
 * browser: the stage-2 embedding model (inference-only, fp32/float16/uint8), the label table (classes, word
 * vectors, seen/unseen) and the image table (every run image's embedding by the exported model; a small JPEG
 * thumbnail for the gallery's images only, at most `galleryPerClass` per class, so the app stays phone-sized at
 * AWA2's 37k images); and measures what quantisation costs in size and accuracy.
 *
 *   const e = await exportRun('reports/2026-12-01/run', 'app/export', { quantize: 'uint8' });
 *   const t = await exportComparison('reports/…/run');       // rows: variant, bytes, max |Δ|, seen top-1, ZSL, H
 *   console.log(comparisonMarkdown(t));
 *   const r = await exportReport('reports/…');                // comparison + sizes of both archs + r.markdown
 *
 * Output folder: model/ (model.json + shards), labels.json (+ the report's GZSL γ), images.json (rows + gallery thumbnails), images.bin
 * (float32 n × dim embeddings, row-major), export.json (what, sizes, counts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { takeRows, tf } from '../backend/index';
import { writeFileAtomically } from '../backend/io';
import { applyTransforms, CENTER, decodeImage } from '../data/augment';
import type { Awa2SplitName } from '../data/awa2';
import type { Item, Split } from '../data/items';
import { imageDataBunch } from '../data/loader';
import { decodeFailure, dropUnreadable, isUnreadable, markUnreadable } from '../data/readable';
import { DEFAULTS } from '../defaults';
import { cosineScores, evaluate, type MetricRow } from '../metrics';
import { gzslAt } from '../zeroshot';
import { type Arch, type CnnModel, createModel, loadModel, modelSummary } from '../models/index';
import { normalizeInto, type Preprocessing } from '../preprocessing';
import { imageThumbnail } from '../plots/images';
import { embeddingCheckpoint, type LabelTable, readRun, runGamma, runItems } from '../run-folder';
import { labelSource } from '../vectors/sources';
import { exportModel, loadExportedModel, type ExportedModel } from './model';
import { QUANTIZE, type Quantize } from './quantize';

/** One row of images.json. */
export interface ExportImageRow {
  label: string;
  split: Split;
  seen: boolean;
  /** JPEG data URI, `thumbSize` px square; absent for an image outside the gallery (see {@link galleryIndices}). */
  thumb?: string;
  /** File name (for humans; the app shows the thumbnail). */
  file: string;
}

export interface ExportImageTable {
  dim: number;
  /**
   * How images.bin holds the n × dim embeddings: 'int8-rows' (each row scaled so its largest |value| is 127, then
   * rounded: a quarter of float32, cosine within ~1e-4 as the app re-normalises rows, so AWA2's 37,322 × 300 index is
   * 11 MB, not 45); absent: float32.
   */
  encoding?: 'int8-rows';
  rows: ExportImageRow[];
}

/**
 * Rows as images.bin's 'int8-rows' encoding: each scaled so its largest |value| is 127, rounded. A row's scale is
 * dropped: the app searches by cosine and re-normalises every row, so only directions are kept (and finer than a
 * unit-length × 127 scale would keep them).
 */
export function int8Rows(rows: Float32Array[], dim: number): Int8Array {
  const out = new Int8Array(rows.length * dim);
  rows.forEach((r, i) => {
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(r[j]!));
    const f = max > 0 ? 127 / max : 0;
    for (let j = 0; j < dim; j++) out[i * dim + j] = Math.round(r[j]! * f);
  });
  return out;
}

/** One image as the library's validation pipeline feeds it (decode, short side `size`, center crop, normalise). */
export async function imagePixels(file: string, size: number, prep: Preprocessing): Promise<Float32Array> {
  const rgb = applyTransforms(await decodeImage(file, size), size, CENTER);
  const out = new Float32Array(rgb.length);
  normalizeInto(rgb, out, 0, prep);
  return out;
}

/**
 * Embeddings of `files` by each model, batch by batch (pixels decoded once per batch). A file that fails to decode
 * (damaged in its middle: the probe passed it) is reported once by path, marked unreadable for the process and left
 * out, as the loader does: `dropUnreadable(items)` then gives the items the rows belong to.
 */
export async function embedFiles(models: tf.LayersModel[], files: string[], size: number, prep: Preprocessing, bs = 16): Promise<Float32Array[][]> {
  const out: Float32Array[][] = models.map(() => []);
  for (let i = 0; i < files.length; i += bs) {
    const decoded = await Promise.all(files.slice(i, i + bs).map(async (f) => {
      if (isUnreadable(f)) return null;
      try {
        return await imagePixels(f, size, prep);
      } catch (err) {
        const reason = decodeFailure(f, err);
        if (markUnreadable(f, reason)) console.warn(`skipping unreadable image ${f}: ${reason}`);
        return null;
      }
    }));
    const pixels = decoded.filter((p): p is Float32Array => p !== null);
    if (!pixels.length) continue;
    const flat = new Float32Array(pixels.length * size * size * 3);
    pixels.forEach((p, k) => flat.set(p, k * p.length));
    const x = tf.tensor4d(flat, [pixels.length, size, size, 3]);
    models.forEach((m, j) => {
      out[j]!.push(...takeRows(m.predict(x) as tf.Tensor2D));
    });
    x.dispose();
  }
  return out;
}

export interface RunExport {
  dir: string;
  model: ExportedModel;
  images: number;
  classes: number;
  /** Bytes of every file written (model, tables). */
  totalBytes: number;
  /** Images with a thumbnail (the gallery): at most `galleryPerClass` per class. */
  thumbnails: number;
}

/**
 * Which rows get a thumbnail: at most `perClass` per label, spread evenly over each label's rows in their order
 * (train, valid, then test), so every class — seen and unseen — is in the gallery and none fills it.
 */
export function galleryIndices(labels: readonly string[], perClass: number): Set<number> {
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const rows = byLabel.get(l);
    if (rows) rows.push(i);
    else byLabel.set(l, [i]);
  });
  const out = new Set<number>();
  for (const rows of byLabel.values()) {
    const k = Math.min(perClass, rows.length);
    for (let j = 0; j < k; j++) out.add(rows[Math.floor((j * rows.length) / k)]!);
  }
  return out;
}

/** Writes model/, labels.json, images.json, images.bin and export.json for the run into `outDir`. */
export async function exportRun(dir: string, outDir: string, opts: { quantize?: Quantize; thumbSize?: number; galleryPerClass?: number; gamma?: number | null; onProgress?: (line: string) => void } = {}): Promise<RunExport> {
  const quantize = opts.quantize ?? 'uint8';
  const log = opts.onProgress ?? (() => {});
  const { dir: runDir, info, labels } = await readRun(dir);
  const ckpt = await embeddingCheckpoint(runDir);
  const cnn = await loadModel(ckpt);
  let model: ExportedModel;
  try {
    model = await exportModel(cnn, path.join(outDir, 'model'), { quantize });
  } finally {
    cnn.model.dispose();
  }
  log(`model: ${path.relative(runDir, ckpt)} → ${model.dir} (${quantize}, ${model.bytes} bytes)`);
  const items = await runItems(info);
  const all = [...items.train, ...items.valid, ...items.test];
  const exported = await loadExportedModel(model.dir);
  let emb: Float32Array[];
  try {
    [emb] = (await embedFiles([exported], all.map((it) => it.path), cnn.inputSize, cnn.preprocessing)) as [Float32Array[]];
  } finally {
    exported.dispose();
  }
  dropUnreadable(all); // an image that failed to decode has no row: the table lists the images it has rows for
  const seenSet = new Set(info.classes);
  const rows: ExportImageRow[] = [];
  const galleryPerClass = opts.galleryPerClass ?? DEFAULTS.app.galleryPerClass;
  const gallery = galleryIndices(all.map((it) => it.label), galleryPerClass);
  for (const [i, it] of all.entries()) {
    const row: ExportImageRow = { label: it.label, split: it.split, seen: seenSet.has(it.label), file: path.basename(it.path) };
    if (gallery.has(i)) row.thumb = await imageThumbnail(it.path, opts.thumbSize ?? DEFAULTS.app.thumbSize);
    rows.push(row);
  }
  const dim = emb[0]?.length ?? labels.dim;
  const bin = int8Rows(emb, dim);
  const table: ExportImageTable = { dim, encoding: 'int8-rows', rows };
  const gamma = opts.gamma === undefined ? runGamma(runDir) : opts.gamma;
  writeFileAtomically(path.join(outDir, 'labels.json'), JSON.stringify(gamma === null ? labels : { ...labels, gamma }));
  writeFileAtomically(path.join(outDir, 'images.json'), JSON.stringify(table));
  writeFileAtomically(path.join(outDir, 'images.bin'), new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength));
  const manifest = {
    format: 'devise-ts-export-1',
    arch: cnn.arch,
    inputSize: cnn.inputSize,
    preprocessing: cnn.preprocessing,
    quantize,
    dim,
    gamma,
    run: path.resolve(runDir),
    checkpoint: path.relative(runDir, ckpt),
    modelBytes: model.bytes,
    images: rows.length,
    classes: labels.classes.length,
    gallery: { perClass: galleryPerClass, thumbnails: gallery.size },
  };
  writeFileAtomically(path.join(outDir, 'export.json'), JSON.stringify(manifest, null, 2));
  const totalBytes = model.bytes + ['labels.json', 'images.json', 'images.bin', 'export.json'].reduce((s, f) => s + fs.statSync(path.join(outDir, f)).size, 0);
  log(`tables: ${labels.classes.length} classes, ${rows.length} images (thumbnails for ${gallery.size}: at most ${galleryPerClass} per class) → ${outDir}`);
  return { dir: outDir, model, images: rows.length, classes: labels.classes.length, totalBytes, thumbnails: gallery.size };
}

/** One row of the size-and-accuracy table: the trained model itself (`library`) or one exported variant. */
export interface ComparisonRow {
  variant: 'library' | Quantize;
  /** Bytes on disk of model.json + shards (the library row: its checkpoint's model.json + weights.bin, no optimizer). */
  bytes: number;
  /** max |Δ| of the embeddings against the library model, over the valid + test images. */
  maxAbsDiff: number;
  /** maxAbsDiff / the largest |value| of the library embeddings (embeddings are not normalised: scale differs per run). */
  relMaxAbsDiff: number;
  /** Share of images whose nearest label (seen ∪ unseen) equals the library model's. */
  top1Agreement: number;
  /** Seen images over seen labels: top-1 (hit@1). */
  seenTop1: number;
  /** Unseen images over unseen labels: per-class mean top-1 (Xian et al.). */
  zslTop1: number | null;
  /** GZSL harmonic mean of seen and unseen accuracy over all labels. */
  gzslH: number | null;
  /** GZSL H with calibrated stacking at the report's γ (`gamma`), when there is one. */
  gzslHCalibrated: number | null;
  /** The full `evaluate()` rows. */
  metrics: MetricRow[];
}

export interface Comparison {
  arch: Arch;
  inputSize: number;
  /** Images evaluated: valid (seen) + test (unseen). */
  images: { seen: number; unseen: number };
  /** The calibration γ used for `gzslHCalibrated` (null: none). */
  gamma: number | null;
  rows: ComparisonRow[];
}

/**
 * Exports every variant of the run's embedding model to a temporary folder and compares it with the trained
 * model on the run's valid (seen) and test (unseen) images, with `evaluate` as the pipeline's zero-shot step.
 */
export async function exportComparison(dir: string, opts: { variants?: readonly Quantize[]; tmpDir?: string; gamma?: number | null } = {}): Promise<Comparison> {
  const { dir: runDir, info, labels } = await readRun(dir);
  const gamma = opts.gamma === undefined ? runGamma(runDir) : opts.gamma;
  const ckpt = await embeddingCheckpoint(runDir);
  const cnn = await loadModel(ckpt);
  const tmp = opts.tmpDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'devise-export-'));
  const variants = opts.variants ?? QUANTIZE;
  const loaded: tf.LayersModel[] = [];
  try {
    const sizes: number[] = [];
    for (const q of variants) {
      const e = await exportModel(cnn, path.join(tmp, q), { quantize: q });
      sizes.push(e.bytes);
      loaded.push(await loadExportedModel(e.dir));
    }
    const items = await runItems(info);
    const [ref, ...embs] = await embedFiles([cnn.model, ...loaded], [...items.valid, ...items.test].map((it) => it.path), cnn.inputSize, cnn.preprocessing);
    dropUnreadable(items.valid); // an image that failed to decode has no row
    dropUnreadable(items.test);
    const evalItems = [...items.valid, ...items.test];
    const classes = { labels: labels.classes, dim: labels.dim, vectors: Float32Array.from(labels.vectors.flat()) };
    const refMax = ref!.reduce((m, r) => r.reduce((mm, v) => Math.max(mm, Math.abs(v)), m), 0);
    const refTop = ref!.map((r) => argmaxCosine(r, classes.vectors, classes.dim));
    const row = (variant: ComparisonRow['variant'], bytes: number, rows: Float32Array[]): ComparisonRow => {
      const metrics = evaluate({
        embeddings: rows.map((r) => Array.from(r)),
        actual: evalItems.map((it) => it.label),
        classes,
        seen: info.classes,
        unseen: info.testClasses.length ? info.testClasses : undefined,
      });
      const pick = (p: string, m: string) => metrics.find((r) => r.protocol === p && r.metric === m)?.value ?? null;
      let maxAbsDiff = 0;
      rows.forEach((r, i) => r.forEach((v, j) => (maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - ref![i]![j]!)))));
      const relMaxAbsDiff = maxAbsDiff / (refMax || 1);
      const top = rows.map((r) => argmaxCosine(r, classes.vectors, classes.dim));
      const top1Agreement = top.length ? top.filter((t, i) => t === refTop[i]).length / top.length : 1;
      let gzslHCalibrated: number | null = null;
      if (gamma !== null && info.testClasses.length) {
        const scores = cosineScores(rows.map((r) => Array.from(r)), classes.vectors, classes.dim);
        const idx = (l: string) => classes.labels.indexOf(l);
        gzslHCalibrated = gzslAt(scores, evalItems.map((it) => idx(it.label)), info.classes.map(idx), info.testClasses.map(idx), gamma).H;
      }
      return { variant, bytes, maxAbsDiff, relMaxAbsDiff, top1Agreement, seenTop1: pick('seen', 'hit@1') ?? 0, zslTop1: pick('zsl', 'per-class top-1'), gzslH: pick('gzsl', 'H'), gzslHCalibrated, metrics };
    };
    const libBytes = ['model.json', 'weights.bin'].reduce((s, f) => s + (fs.existsSync(path.join(ckpt, f)) ? fs.statSync(path.join(ckpt, f)).size : 0), 0);
    const rows: ComparisonRow[] = [row('library', libBytes, ref!), ...variants.map((q, i) => row(q, sizes[i]!, embs[i]!))];
    return { arch: cnn.arch, inputSize: cnn.inputSize, images: { seen: items.valid.length, unseen: items.test.length }, gamma, rows };
  } finally {
    loaded.forEach((m) => m.dispose());
    cnn.model.dispose();
    if (!opts.tmpDir) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Index of the class vector with the highest cosine similarity to `x` (the first on a tie). */
export function argmaxCosine(x: ArrayLike<number>, vectors: Float32Array, dim: number): number {
  const scores = cosineScores([Array.from(x)], vectors, dim)[0]!;
  return scores.reduce((best, v, c) => (v > scores[best]! ? c : best), 0);
}

/** One row of the model-size table. */
export interface SizeRow {
  arch: Arch;
  variant: Quantize;
  /** Bytes on disk of model.json + shards. */
  bytes: number;
  /** Learnable parameters (torch's count: BatchNorm running statistics excluded). */
  params: number;
}

/**
 * Measured export sizes of each architecture with a `dim`-d embedding head (random weights unless `weights`
 * maps an arch to a file or a trained checkpoint folder): the bytes a phone downloads.
 */
export async function exportSizes(opts: { archs?: Arch[]; dim?: number; variants?: readonly Quantize[]; weights?: Partial<Record<Arch, string>> } = {}): Promise<SizeRow[]> {
  const out: SizeRow[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-sizes-'));
  try {
    for (const arch of opts.archs ?? (['squeezenet1_1', 'resnet34'] as Arch[])) {
      const w = opts.weights?.[arch];
      const cnn: CnnModel = w && fs.existsSync(path.join(w, 'model.json')) ? await loadModel(w) : await createModel(arch, { head: 'embedding', dim: opts.dim ?? 300, inputSize: 64, weights: w });
      try {
        const params = modelSummary(cnn).params;
        for (const q of opts.variants ?? QUANTIZE) {
          const e = await exportModel(cnn, path.join(tmp, `${arch}-${q}`), { quantize: q });
          out.push({ arch, variant: q, bytes: e.bytes, params });
          fs.rmSync(e.dir, { recursive: true, force: true });
        }
      } finally {
        cnn.model.dispose();
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/** Everything the report and the notebook show about the export: the comparison on the run, the sizes of both architectures. */
export interface ExportReport {
  comparison: Comparison;
  rows: ReturnType<typeof comparisonRows>;
  sizes: SizeRow[];
  markdown: string;
}

/**
 * One call for reports and notebooks: `exportComparison(run)` + `exportSizes()` (SqueezeNet 1.1 and ResNet34 with
 * random weights unless `weights` says otherwise) as data and as a Markdown table. ~10-20 s on data_samples.
 * `gamma`: the GZSL calibration for the calibrated-H column (default: the report's metrics.json, if any).
 */
export async function exportReport(run: string, opts: { archs?: Arch[]; weights?: Partial<Record<Arch, string>>; gamma?: number | null } = {}): Promise<ExportReport> {
  const comparison = await exportComparison(run, { gamma: opts.gamma });
  const { labels } = await readRun(run);
  const sizes = await exportSizes({ archs: opts.archs, dim: labels.dim, weights: opts.weights });
  return { comparison, rows: comparisonRows(comparison), sizes, markdown: comparisonMarkdown(comparison, sizes) };
}

/** The comparison as plain rows (for a danfojs DataFrame, metrics.json or an HTML table): one per variant. */
export function comparisonRows(c: Comparison): { model: string; variant: string; MB: number; maxAbsDiff: number; relMaxAbsDiff: number; top1Agreement: number; seenTop1: number; zslTop1: number | null; gzslH: number | null; gzslHCalibrated: number | null }[] {
  return c.rows.map((r) => ({
    model: `${c.arch} ${c.inputSize}px`,
    variant: r.variant === 'library' ? 'trained' : r.variant === 'none' ? 'fp32' : r.variant,
    MB: Math.round(r.bytes / 1e4) / 100,
    maxAbsDiff: r.maxAbsDiff,
    relMaxAbsDiff: r.relMaxAbsDiff,
    top1Agreement: r.top1Agreement,
    seenTop1: r.seenTop1,
    zslTop1: r.zslTop1,
    gzslH: r.gzslH,
    gzslHCalibrated: r.gzslHCalibrated,
  }));
}

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)} %`);
const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;

/** The comparison (and optional sizes) as a Markdown table for reports and notebooks. */
export function comparisonMarkdown(c: Comparison, sizes?: SizeRow[]): string {
  const head = `| ${c.arch} ${c.inputSize}px | bytes | max abs Δ emb (relative) | top-1 = trained model | seen top-1 | ZSL per-class top-1 | GZSL H |${c.gamma !== null ? ` GZSL H (γ ${c.gamma.toFixed(3)}) |` : ''}\n|---|---|---|---|---|---|---|${c.gamma !== null ? '---|' : ''}`;
  const body = c.rows.map((r) => `| ${r.variant === 'library' ? 'trained (checkpoint)' : r.variant === 'none' ? 'export fp32' : `export ${r.variant}`} | ${mb(r.bytes)} | ${r.maxAbsDiff.toExponential(2)} (${r.relMaxAbsDiff.toExponential(1)}) | ${pct(r.top1Agreement)} | ${pct(r.seenTop1)} | ${pct(r.zslTop1)} | ${pct(r.gzslH)} |${c.gamma !== null ? ` ${pct(r.gzslHCalibrated)} |` : ''}`);
  let md = `${head}\n${body.join('\n')}\n\n${c.images.seen} seen (valid) and ${c.images.unseen} unseen (test) images.`;
  if (sizes?.length) {
    md += `\n\n| model | params | fp32 | float16 | uint8 |\n|---|---|---|---|---|\n`;
    const archs = [...new Set(sizes.map((s) => s.arch))];
    md += archs.map((a) => {
      const by = (q: Quantize) => sizes.find((s) => s.arch === a && s.variant === q);
      return `| ${a} | ${(by('none') ?? sizes.find((s) => s.arch === a))!.params.toLocaleString('en-US')} | ${by('none') ? mb(by('none')!.bytes) : '–'} | ${by('float16') ? mb(by('float16')!.bytes) : '–'} | ${by('uint8') ? mb(by('uint8')!.bytes) : '–'} |`;
    }).join('\n');
  }
  return md;
}
