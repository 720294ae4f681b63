/**
 * Figures and files of a DeViSE run: `reportFigures` builds every plotly figure from the results (the
 * notebooks show them one by one); `writeReport` writes `index.html`, `metrics.json`, PNGs and the PCA GIFs.
 *
 *   await writeReport('reports/2026-11-22T12-00-00', results);
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomically } from '../backend/io';
import { figureGif } from '../plots/gif';
import { figureHtml } from '../plots/display';
import { confusionMatrixFigure, type Figure, lossCurvesFigure, lrFinderFigure, modelSizeFigure, mostConfusedFigure, pcaAnimationFigure, tableFigure, zeroShotTableFigure } from '../plots/figures';
import { imageThumbnail, searchStripFigure } from '../plots/images';
import { openRenderer, RenderUnavailableError } from '../plots/render';
import { objectivesTableRows, objectivesVerdict } from '../objectives';
import { lrWhy } from './notebook';
import { stripCells } from './space';
import type { DeviseResults } from './run';
import { escapeHtml, tableHtml } from '../html';
import { gzslFigure, labelSourcesFigure, perUnseenClassFigure, seenUnseenFigure } from '../plots/zeroshot';
import { displayPath } from '../settings';

const pct = (v: number) => Math.round(v * 1000) / 10;

/** The seen hit@k of the nearest-label evaluation (an exact fraction of the valid images). */
const seenHit = (r: DeviseResults, k: number) => r.zeroShot.find((m) => m.protocol === 'seen' && m.metric === `hit@${k}`)?.value ?? null;

/** The headline numbers of a run, as written to metrics.json (key names are read by checks: keep them). */
export function runMetrics(r: DeviseResults): Record<string, unknown> {
  const zs = r.zeroShotSummary;
  const own = r.sizes.find((s) => s.name === r.cfg.arch);
  const g = zs.gzsl;
  return {
    seed: r.seed,
    backend: r.backend.backend,
    threads: r.backend.threads,
    model: r.cfg.arch,
    pretrained: r.cfg.weights ? displayPath(r.cfg.weights) : null,
    data: displayPath(r.cfg.data),
    labels: r.cfg.labels,
    split: r.cfg.split,
    imageSize: r.cfg.size,
    batchSize: r.cfg.bs,
    epochs: r.cfg.epochs,
    lr: { stage1: r.lr.stage1?.value ?? null, stage2a: r.lr.stage2a?.value ?? null, from: { stage1: r.lr.stage1 ? lrWhy(r.lr.stage1) : null, stage2a: r.lr.stage2a ? lrWhy(r.lr.stage2a) : null } },
    classes: { seen: r.classes.length, unseen: r.testClasses.length },
    images: r.counts,
    lrFindSuggestion: r.lrFind.suggestion,
    stage1Accuracy: r.stage1.interpretation.accuracy,
    stage2Top1: seenHit(r, 1),
    stage2Top5: seenHit(r, 5),
    stage2CosineLoss: r.stage2.cosineLoss,
    zeroShotPerClassTop1: r.testClasses.length ? zs.zsl.perClassTop1 : null,
    zeroShotChance: zs.zsl.chance,
    zeroShotPerClass: Object.fromEntries(Object.entries(zs.zsl.perClass).map(([c, v]) => [c, v.top1])),
    gzsl: {
      u: g.u, s: g.s, H: g.H, n: { s: g.nSeen, u: g.nUnseen },
      calibrated: { u: g.calibrated.u, s: g.calibrated.s, H: g.calibrated.H, gamma: g.calibrated.gamma },
      ausuc: g.ausuc,
    },
    csls: zs.csls,
    verdict: zs.verdict,
    labelSources: r.labelSources,
    evaluation: r.zeroShot,
    modelSizeMB: own?.sizeMB ?? null,
    modelSizes: r.sizes,
    mobile: r.mobile,
    // npm run demo -- --objectives: one entry per objective (null where it cannot produce a number), and how they ran.
    ...(r.objectives && {
      objectives: r.objectives.objectives,
      objectivesSetup: { seed: r.seed, epochs: r.objectives.epochs, featureSeconds: r.objectives.featureSeconds, backbone: `${r.cfg.arch} stage-1 body, frozen (avg + max pooling)`, eszslAle: 'published AWA2 settings' },
    }),
    seconds: r.seconds,
  };
}

/** The objectives table of `npm run demo -- --objectives` as an HTML section ('' when not asked). */
function objectivesSection(r: DeviseResults): string {
  if (!r.objectives) return '';
  const ran = Object.fromEntries(Object.entries(r.objectives.objectives).filter(([, m]) => m !== null)) as Record<string, Record<string, number | null | string>>;
  const { header, rows } = objectivesTableRows(ran, null);
  const verdict = objectivesVerdict(r.objectives, { zeroShot: 1 / r.testClasses.length }).map((line) => `<p>${escapeHtml(line)}</p>`).join('');
  return `<section><h2>which embedding objective?</h2>${tableHtml(header, rows)}${verdict}<p>${escapeHtml(`Every objective on the same cached features (this run's stage-1 ${r.cfg.arch} body, frozen), the same label vectors (${r.cfg.labels}), seed ${r.seed}, ${r.objectives.epochs} epochs per head; ESZSL and ALE at the published AWA2 settings. Seen top-1 is nearest label, or kNN (k = 5) for triplet, which has no label vectors and so no zero-shot. Retrieval: leave-one-out over the seen test and unseen photos. One seed: npm run bench -- objectives --seeds 3 gives mean ± sd.`)}</p></section>`;
}

/** One phase's epoch-end train and valid losses for the loss chart (x in epochs, one axis per loss kind). */
const toLosses = (name: string, lossName: string, epochs: DeviseResults['stage1']['epochs']) => ({ name, lossName, train: epochs.map((e) => e.trainLoss), valid: epochs.map((e) => e.validLoss), batchesPerEpoch: 1 });

/** fastai's epoch table (epoch, train_loss, valid_loss, metrics, time) as HTML, numbers rounded. */
function epochTable(title: string, epochs: DeviseResults['stage1']['epochs']): string {
  if (!epochs.length) return '';
  const metrics = Object.keys(epochs[0]!.metrics);
  const rows = epochs.map((e) => [e.epoch, e.trainLoss.toFixed(4), e.validLoss.toFixed(4), ...metrics.map((m) => (e.metrics[m] ?? NaN).toFixed(4)), `${e.seconds.toFixed(0)} s`]);
  return `<h3>${escapeHtml(title)}</h3>${tableHtml(['epoch', 'train_loss', 'valid_loss', ...metrics, 'time'], rows)}`;
}

/** Stage 1's LR-finder curve marking the rate stage 1 trained at (the project's rule, or yours), not one of the finder's raw suggestions. */
export function lrFinderFigureOf(r: Pick<DeviseResults, 'lrFind' | 'lr'>): Figure {
  const trained = r.lr.stage1;
  return lrFinderFigure(r.lrFind.lrs, r.lrFind.losses, { suggestion: trained.value, title: `LR finder (stage 1, frozen body): trained at ${trained.value.toExponential(1)}, ${lrWhy(trained)}` });
}

/** The three example searches as figures: image → image strip, image → text table, text → image strip. */
export async function searchFiguresOf(ex: DeviseResults['examples'], unseen: string[]): Promise<Record<'image_to_image' | 'image_to_text' | 'text_to_image', Figure>> {
  return {
    image_to_image: searchStripFigure({ image: await imageThumbnail(ex.queryPath) }, await stripCells(ex.imageToImage), { title: 'image → image' }),
    image_to_text: tableFigure(['label', 'cosine'], ex.imageToText.map((h) => [h.label, Math.round(h.score * 1000) / 1000]), { title: 'image → text (nearest class vectors)' }),
    text_to_image: searchStripFigure({ word: ex.word }, await stripCells(ex.textToImage), { title: `text → image: '${ex.word}'${unseen.includes(ex.word) ? ' (unseen class)' : ''}` }),
  };
}

/** The zero-shot / nearest-label evaluation table. */
export function zeroShotFigureOf(rows: DeviseResults['zeroShot']): Figure {
  return zeroShotTableFigure(rows.map((m) => ({ protocol: m.protocol, metric: m.metric, value: m.value, n: m.n })), { title: 'Nearest-label evaluation (seen, zero-shot, generalized)', percent: true });
}

/** Every figure of the report, keyed by file name (without extension). */
export async function reportFigures(r: DeviseResults): Promise<Record<string, Figure>> {
  // The original's GIF names: PCA_Squeezenet_2a_…, PCA_Resnet34_2a_… (the arch name without its version suffix).
  const arch = r.cfg.arch.replace(/\d+_\d+$/, '').replace(/^./, (c) => c.toUpperCase());
  const interp = r.stage1.interpretation;
  const figs: Record<string, Figure> = {
    lr_find: lrFinderFigureOf(r),
    losses: lossCurvesFigure([toLosses('stage 1', 'crossEntropy', r.stage1.epochs), toLosses('stage 2a', 'cosineLoss', r.stage2.epochs2a), toLosses('stage 2b', 'cosineLoss', r.stage2.epochs2b)], { title: 'Train / valid loss per epoch (stage 1 cross-entropy, stage 2 cosine loss)' }),
    confusion_matrix: confusionMatrixFigure(interp.confusionMatrix(), r.classes, { title: `Stage 1 confusion matrix (accuracy ${pct(interp.accuracy)}%)` }),
    most_confused: mostConfusedFigure(interp.mostConfused(1).slice(0, 15)),
    top_losses: await interp.topLossesFigure(9, { heatmap: true }),
    zero_shot: zeroShotFigureOf(r.zeroShot),
    gzsl: gzslFigure(r.zeroShotSummary),
    seen_unseen_curve: seenUnseenFigure(r.zeroShotSummary),
    zero_shot_per_class: perUnseenClassFigure(r.zeroShotSummary),
    ...(r.labelSources.length ? { label_sources: labelSourcesFigure(r.labelSources) } : {}),
    ...(await searchFiguresOf(r.examples, r.testClasses)),
    model_size: modelSizeFigure(r.sizes, { title: 'Model size with the 300-d embedding head (fp32)' }),
    ...(r.mobile.rows.length ? mobileFigures(r.mobile) : {}),
  };
  for (const [phase, series] of Object.entries(r.pca.series)) {
    // The original's names: PCA_Squeezenet_2a_Epochs1to5 (the series are named by checkpoint: stage2a).
    if (series.length) figs[`PCA_${arch}_${phase.replace(/^stage/, '')}_Epochs1to${series.length}`] = r.pca.figure(phase, { title: `PCA of image embeddings, ${phase}` });
  }
  return figs;
}

/**
 * Writes the report folder: `index.html` (interactive figures with PNG fallbacks, plotly inlined, no CDN),
 * `metrics.json`, `figures/*.png` and the animated PCA GIFs. Without a browser the HTML keeps the
 * interactive figures and says why there are no images.
 */
/** The exported variants: accuracy against the trained model, and bytes on disk per backbone and quantisation. */
export function mobileFigures(m: DeviseResults['mobile']): Record<'mobile_accuracy' | 'mobile_sizes', Figure> {
  const p = (v: number | null) => (v === null ? '–' : `${pct(v)}%`);
  const variants = [...new Set(m.sizes.map((s) => s.variant))];
  return {
    mobile_accuracy: tableFigure(['variant', 'MB', 'max |Δ embedding|', 'top-1 same as trained', 'seen top-1', 'ZSL top-1', 'GZSL H', 'calibrated H'],
      m.rows.map((r) => [r.variant, r.MB.toFixed(2), r.maxAbsDiff.toExponential(1), p(r.top1Agreement), p(r.seenTop1), p(r.zslTop1), p(r.gzslH), p(r.gzslHCalibrated)]),
      { title: `Exported for mobile (${m.rows[0]?.model ?? ''}): each variant against the trained model` }),
    mobile_sizes: tableFigure(['model', ...variants.map((v) => (v === 'none' ? 'fp32' : v))],
      [...new Set(m.sizes.map((s) => s.arch))].map((arch) => [arch, ...variants.map((v) => `${((m.sizes.find((s) => s.arch === arch && s.variant === v)?.bytes ?? 0) / 1e6).toFixed(2)} MB`)]),
      { title: "Exported model size on disk (model.json + weight shards, with this run's embedding head)" }),
  };
}

/** Links shown under the summary table, e.g. the browser app `npm run demo` builds beside the report. */
export interface ReportOptions {
  links?: { href: string; text: string }[];
}

export async function writeReport(dir: string, r: DeviseResults, opts: ReportOptions = {}): Promise<{ dir: string; files: string[] }> {
  const figs = await reportFigures(r);
  const files: Record<string, string | Uint8Array> = { 'metrics.json': JSON.stringify(runMetrics(r), null, 2) + '\n' };
  const pngs: Record<string, Uint8Array> = {};
  let message: string | undefined;
  try {
    const renderer = await openRenderer();
    try {
      for (const [name, fig] of Object.entries(figs)) {
        pngs[name] = await renderer.render(fig, { format: 'png' });
        files[`figures/${name}.png`] = pngs[name];
        if (name.startsWith('PCA_')) files[`${name}.gif`] = await figureGif(fig, { renderer });
      }
    } finally {
      await renderer.close();
    }
  } catch (err) {
    if (!(err instanceof RenderUnavailableError)) throw err;
    message = `Static images unavailable: ${err.message}`;
    console.warn(`WARNING: no figure images in the report (PNGs and the PCA GIFs are missing): ${err.message}`);
  }
  const missing = message ? `<div class="verdict"><h2>Missing figures</h2><p>${escapeHtml(message)}</p><p>Without images: ${Object.keys(figs).map((n) => escapeHtml(n.startsWith('PCA_') ? `${n}.png, ${n}.gif` : `${n}.png`)).join(', ')}. The interactive figures below still work with scripts enabled.</p></div>` : '';
  const tables = `<section><h2>epoch tables</h2>${epochTable('stage 1 (frozen, then unfrozen)', r.stage1.epochs)}${epochTable('stage 2a (head)', r.stage2.epochs2a)}${epochTable('stage 2b (whole model)', r.stage2.epochs2b)}</section>`;
  const sections = Object.entries(figs).map(([name, fig], i) => {
    const gif = name.startsWith('PCA_') && files[`${name}.gif`] ? `<p><img src="${name}.gif" alt="${escapeHtml(name)} animation"></p>` : '';
    return `<section><h2>${name.replace(/_/g, ' ')}</h2>\n${gif}${figureHtml(fig, { png: pngs[name], message, includeBundle: i === 0 })}</section>`;
  });
  const batch = `<section><h2>batch preview (training augmentation)</h2>${r.batchPreview}</section>`;
  files['index.html'] = page(r, [missing, batch, tables, objectivesSection(r), ...sections], opts.links ?? []);
  // File by file (each atomic): the run's checkpoints may live inside the same folder. metrics.json last: its presence
  // says the report is whole.
  const order = Object.keys(files).sort((a, b) => Number(a === 'metrics.json') - Number(b === 'metrics.json'));
  for (const name of order) writeFileAtomically(path.join(dir, name), files[name]!);
  return { dir, files: Object.keys(files).sort() };
}

function page(r: DeviseResults, sections: string[], links: { href: string; text: string }[]): string {
  const g = r.zeroShotSummary.gzsl;
  const lr = (c: DeviseResults['lr']['stage1']) => (c ? `${c.value.toExponential(2)} (${lrWhy(c)})` : 'n/a');
  const rows = Object.entries({
    seed: String(r.seed),
    backend: `${r.backend.backend} (${r.backend.threads} thread${r.backend.threads > 1 ? 's' : ''})`,
    model: r.cfg.arch,
    pretrained: r.cfg.weights ? displayPath(r.cfg.weights) : 'none (random init)',
    data: `${displayPath(r.cfg.data)} (${r.classes.length} seen, ${r.testClasses.length} unseen classes; ${r.cfg.split} split)`,
    labels: r.cfg.labels,
    'learning rates': `stage 1 ${lr(r.lr.stage1)}, stage 2a ${lr(r.lr.stage2a)}`,
    'stage-1 accuracy': `${pct(r.stage1.interpretation.accuracy)}%`,
    'stage-2 top-1 / top-5 (seen)': `${pct(seenHit(r, 1) ?? 0)}% / ${pct(seenHit(r, 5) ?? 0)}%`,
    'zero-shot per-class top-1': r.testClasses.length ? `${pct(r.zeroShotSummary.zsl.perClassTop1)}% (chance ${pct(r.zeroShotSummary.zsl.chance)}%)` : 'n/a',
    'GZSL u / s / H': `${pct(g.u)}% / ${pct(g.s)}% / ${pct(g.H)}%`,
    'GZSL calibrated u / s / H (γ)': `${pct(g.calibrated.u)}% / ${pct(g.calibrated.s)}% / ${pct(g.calibrated.H)}% (${g.calibrated.gamma.toFixed(3)})`,
    AUSUC: g.ausuc.toFixed(3),
    'model size': `${(Math.round((r.sizes.find((s) => s.name === r.cfg.arch)?.sizeMB ?? 0) * 10) / 10).toFixed(1)} MB`,
  }).map(([k, v]) => `<tr><th>${k}</th><td>${escapeHtml(String(v))}</td></tr>`).join('\n');
  const verdict = r.zeroShotSummary.verdict.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>DeViSE ${r.cfg.arch} report</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}th{text-align:left;padding-right:1em}section{margin:2em 0}.verdict{background:#f6f6ee;padding:.5em 1em;border-left:4px solid #c9a227}</style></head>
<body><h1>DeViSE run: ${r.cfg.arch}</h1>
<table>${rows}</table>
${links.map((l) => `<p><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></p>`).join('\n')}
<div class="verdict"><h2>What the zero-shot numbers say</h2>
${verdict}</div>
${sections.join('\n')}
</body></html>
`;
}

/** A fresh report folder name under `root`: reports/<timestamp>. */
export function reportDir(root: string, now = new Date()): string {
  const dir = path.join(root, now.toISOString().replace(/[:.]/g, '-').replace('Z', ''));
  fs.mkdirSync(root, { recursive: true });
  return dir;
}
