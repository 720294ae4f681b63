/**
 * Pure builders of plotly figure objects ({data, layout, frames?}) from plain arrays: no browser, no IO.
 *
 *   import { confusionMatrixFigure, lrFinderFigure } from './lib/plots/figures';
 *   const fig = confusionMatrixFigure(cm, classes);   // then show(fig) or exportFigure(fig, 'cm.png')
 *
 * Figures of images (top losses, search strips, CAM) are in images.ts.
 */
import { humanNumber } from '../html';
import { projectEpochs, type ProjectEpochsOptions, type Rows } from '../pca';

/** One plotly trace: `type` plus plotly's attributes. */
export interface Trace { type: string; name?: string; [attribute: string]: unknown }
/** A plotly layout object. */
export type Layout = Record<string, unknown>;
/** One animation frame: the traces that replace the figure's data when the frame plays. */
export interface Frame { name: string; data: Trace[]; layout?: Layout }
/** A plotly figure, as Plotly.newPlot / Plotly.toImage take it. */
export interface Figure { data: Trace[]; layout: Layout; frames?: Frame[] }

/** plotly's default (D3 category10) colours; more classes get evenly spaced hues. */
const CATEGORY10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** A distinct colour for class `i` of `n`. */
export function classColor(i: number, n: number): string {
  return n <= CATEGORY10.length ? CATEGORY10[i] : `hsl(${Math.round((360 * i) / n)}, 65%, 45%)`;
}

// ---------------------------------------------------------------------------------------------- PCA

/** One frame of a PCA scatter: 2-D points with class indices, and optionally one 2-D point per class vector. */
export interface PcaFrameInput {
  name: string;
  points: number[][];
  labels: number[];
  classPoints?: number[][];
}

/** Options for {@link pcaScatterFigure}. */
export interface PcaScatterOptions {
  title?: string;
  /** Shown in the axis titles, e.g. "PC1 (41.2%)". */
  explainedVarianceRatio?: number[];
  /** Milliseconds per frame when playing. */
  frameDuration?: number;
}

/** PCA scatter: images as dots and class vectors as triangles, per-class colours, one animation frame per input frame with a slider. */
export function pcaScatterFigure(classes: string[], frames: PcaFrameInput[], opts: PcaScatterOptions = {}): Figure {
  if (frames.length === 0) throw new Error('pcaScatterFigure: no frames given');
  frames.forEach((f) => {
    if (f.points.length !== f.labels.length) throw new Error(`pcaScatterFigure: frame "${f.name}" has ${f.points.length} points but ${f.labels.length} labels`);
    const bad = f.labels.find((l) => !(l >= 0 && l < classes.length));
    if (bad !== undefined) throw new Error(`pcaScatterFigure: frame "${f.name}" has label ${bad}, outside 0..${classes.length - 1}`);
  });
  const n = classes.length;
  const traces = (f: PcaFrameInput): Trace[] => {
    const dots: Trace[] = classes.map((name, c) => {
      const pts = f.points.filter((_, i) => f.labels[i] === c);
      return { type: 'scatter', mode: 'markers', name, legendgroup: name, x: pts.map((p) => p[0]), y: pts.map((p) => p[1]), marker: { color: classColor(c, n), size: 7, opacity: 0.75, symbol: 'circle' } };
    });
    if (!f.classPoints) return dots;
    return [...dots, {
      type: 'scatter', mode: 'markers+text', name: 'class vectors', x: f.classPoints.map((p) => p[0]), y: f.classPoints.map((p) => p[1]),
      text: classes, textposition: 'top center',
      marker: { symbol: 'triangle-up', size: 16, color: classes.map((_, c) => classColor(c, n)), line: { color: '#000', width: 1 } },
    }];
  };
  // Fixed axes across frames (a shared PCA projection only reads right if the axes do not move).
  const all = frames.flatMap((f) => [...f.points, ...(f.classPoints ?? [])]);
  const range = (k: 0 | 1) => {
    const lo = Math.min(...all.map((p) => p[k]));
    const hi = Math.max(...all.map((p) => p[k]));
    const pad = (hi - lo || 1) * 0.08;
    return [lo - pad, hi + pad];
  };
  const axisTitle = (k: number) => `PC${k + 1}${opts.explainedVarianceRatio ? ` (${(100 * opts.explainedVarianceRatio[k]).toFixed(1)}%)` : ''}`;
  const layout: Layout = {
    title: { text: opts.title ?? 'PCA of embeddings' },
    xaxis: { title: { text: axisTitle(0) }, range: range(0), zeroline: false },
    yaxis: { title: { text: axisTitle(1) }, range: range(1), zeroline: false },
    // The legend sits right of the plot, clear of the slider and the play buttons below/above it.
    legend: { orientation: 'v', x: 1.02, y: 1, xanchor: 'left' },
    margin: { r: 170, t: 70, b: 150 },
  };
  const fig: Figure = { data: traces(frames[0]), layout };
  if (frames.length > 1) {
    const duration = opts.frameDuration ?? 800;
    fig.frames = frames.map((f) => ({ name: f.name, data: traces(f), layout: { title: { text: `${opts.title ?? 'PCA of embeddings'}: ${f.name}` } } }));
    layout.title = { text: `${opts.title ?? 'PCA of embeddings'}: ${frames[0].name}` };
    layout.updatemenus = [{
      type: 'buttons', showactive: false, x: 0, y: -0.2, xanchor: 'left', yanchor: 'top', direction: 'left', pad: { t: 0, r: 10 },
      buttons: [
        { label: 'Play', method: 'animate', args: [null, { frame: { duration, redraw: true }, transition: { duration: 0 }, fromcurrent: true }] },
        { label: 'Pause', method: 'animate', args: [[null], { mode: 'immediate', frame: { duration: 0 } }] },
      ],
    }];
    layout.sliders = [{
      active: 0, currentvalue: { visible: false }, x: 0.26, len: 0.74, y: -0.2, yanchor: 'top', pad: { t: 0 },
      steps: frames.map((f) => ({ label: f.name, method: 'animate', args: [[f.name], { mode: 'immediate', frame: { duration: 0, redraw: true }, transition: { duration: 0 } }] })),
    }];
  }
  return fig;
}

/** Options for {@link pcaAnimationFigure}. */
export interface PcaAnimationOptions extends PcaScatterOptions {
  /** Frame names (default "epoch 1", "epoch 2", ...). */
  names?: string[];
  /** Which epoch defines the shared axes (default 'last'); see projectEpochs. */
  fitOn?: ProjectEpochsOptions['fitOn'];
  /** L2-normalise embeddings and class vectors first (default true, as the DeViSE plots). */
  normalize?: boolean;
}

/** The original's animated PCA: per-epoch image embeddings (same images each epoch) and fixed class vectors, projected into shared axes. */
export function pcaAnimationFigure(classes: string[], embeddingsPerEpoch: Rows[], labels: number[], classVectors: Rows, opts: PcaAnimationOptions = {}): Figure {
  if (classVectors.length !== classes.length) throw new Error(`pcaAnimationFigure: ${classVectors.length} class vectors for ${classes.length} classes`);
  const proj = projectEpochs(embeddingsPerEpoch, { fitOn: opts.fitOn, normalize: opts.normalize ?? true, extra: classVectors });
  const frames = proj.map((p, e) => ({ name: opts.names?.[e] ?? `epoch ${e + 1}`, points: p.points, labels, classPoints: p.extra }));
  // With shared axes every frame has the same variance split; with 'each' the last fit is shown.
  return pcaScatterFigure(classes, frames, { explainedVarianceRatio: proj[proj.length - 1].pca.explainedVarianceRatio, ...opts });
}

/** One figure per animation frame (the frame's traces and title, no slider): for GIF/PNG export of each epoch. */
export function frameFigures(fig: Figure): Figure[] {
  if (!fig.frames?.length) return [fig];
  const { updatemenus: _u, sliders: _s, ...layout } = fig.layout;
  return fig.frames.map((f) => ({ data: f.data, layout: { ...layout, ...(f.layout ?? {}) } }));
}

// ------------------------------------------------------------------------------------------ metrics

/** Confusion-matrix heatmap (rows = actual, columns = predicted) with the counts written in each cell; sized to the class count, every label in full. */
export function confusionMatrixFigure(cm: number[][], classes: string[], opts: { title?: string; normalize?: boolean } = {}): Figure {
  if (cm.length !== classes.length || cm.some((r) => r.length !== classes.length)) {
    throw new Error(`confusionMatrixFigure: matrix must be ${classes.length}×${classes.length} to match the classes`);
  }
  // Colour by row share when normalising (so rare classes are readable) but always print the counts.
  const z = opts.normalize ? cm.map((r) => { const s = r.reduce((a, b) => a + b, 0); return r.map((v) => (s ? v / s : 0)); }) : cm;
  const n = classes.length;
  const cell = n > 30 ? 18 : n > 15 ? 24 : 40;
  const font = n > 30 ? 9 : n > 15 ? 10 : 12;
  // Margins from the longest label (≈0.6 em per character), so no label is clipped.
  const longest = Math.max(...classes.map((c) => c.length), 4);
  const labelPx = Math.ceil(longest * font * 0.62) + 12;
  const max = Math.max(1, ...cm.flat());
  const dtick = max <= 10 ? 1 : Math.ceil(max / 8);
  const margin = { l: labelPx + 50, b: labelPx + 50, t: 60, r: 30 };
  return {
    data: [{
      type: 'heatmap', z, x: classes, y: classes, text: cm.map((r) => r.map((v) => (v ? String(v) : ''))), texttemplate: '%{text}', textfont: { size: font },
      colorscale: 'Blues', reversescale: true, showscale: true, xgap: 1, ygap: 1,
      colorbar: { title: { text: opts.normalize ? 'share' : 'images' }, ...(opts.normalize ? {} : { tick0: 0, dtick, tickformat: 'd' }) },
      hovertemplate: 'actual %{y}<br>predicted %{x}<br>count %{text}<extra></extra>',
    }],
    layout: {
      title: { text: opts.title ?? 'Confusion matrix' },
      xaxis: { title: { text: 'Predicted', standoff: 12 }, type: 'category', side: 'bottom', tickangle: -60, tickfont: { size: font }, automargin: true },
      yaxis: { title: { text: 'Actual', standoff: 12 }, type: 'category', autorange: 'reversed', tickfont: { size: font }, automargin: true },
      width: Math.max(520, n * cell + margin.l + margin.r + 100),
      height: Math.max(480, n * cell + margin.t + margin.b),
      margin,
    },
  };
}

/** A table figure from column names and rows of cells. */
export function tableFigure(columns: string[], rows: (string | number)[][], opts: { title?: string } = {}): Figure {
  rows.forEach((r, i) => { if (r.length !== columns.length) throw new Error(`tableFigure: row ${i} has ${r.length} cells for ${columns.length} columns`); });
  const cells = rows.map((r) => r.map((v) => (typeof v === 'number' ? humanNumber(v) : String(v))));
  // Columns as wide as their text (within limits), the table as wide as its columns.
  // (bold headers are ~20% wider than their characters; a short column still fits its header on one line)
  const chars = columns.map((c, j) => Math.min(40, Math.max(8, Math.ceil(c.length * 1.2) + 2, ...cells.map((r) => r[j]!.replace(/<[^>]+>/g, '').length))));
  const charPx = 7.4;
  // At least as wide as the title (17 px font, ~9 px per character), so it is never cut at the sides.
  const titleLines = (opts.title ?? '').split('<br>');
  const titlePx = Math.max(...titleLines.map((l) => l.replace(/<[^>]+>/g, '').length)) * 9 + 40;
  // At most 800 px: JupyterLab's output area beside its file browser is about that wide (wider tables were cut).
  const width = Math.min(800, Math.max(360, titlePx, Math.round(chars.reduce((a, b) => a + b, 0) * charPx + 24 * columns.length + 20)));
  const colPx = chars.map((c) => ((width - 20) * c) / chars.reduce((a, b) => a + b, 0));
  // Rows as tall as their wrapped text: plotly wraps a cell at word boundaries within its column width (~1.15× the
  // characters' width once words do not fit exactly), about 16 px per extra line (measured in Chromium renders).
  const lines = (text: string, j: number) => Math.max(1, Math.ceil((text.replace(/<[^>]+>/g, '').length * charPx * 1.15) / Math.max(1, colPx[j]! - 16)));
  const rowPx = cells.map((r) => 24 + 16 * (Math.max(...r.map(lines)) - 1));
  const headerPx = 30 + 16 * (Math.max(...columns.map(lines)) - 1);
  const top = opts.title ? 50 + 22 * (titleLines.length - 1) : 10;
  return {
    data: [{
      type: 'table', columnwidth: chars,
      header: { values: columns.map((c) => `<b>${c}</b>`), fill: { color: '#dbe4f0' }, align: 'left', height: 30 },
      cells: { values: columns.map((_, j) => cells.map((r) => r[j])), align: 'left', height: 24 },
    }],
    layout: {
      title: { text: opts.title ?? '' }, margin: { t: top, l: 10, r: 10, b: 10 },
      // Sized to the rows, no blank space below and nothing cut off.
      height: top + headerPx + rowPx.reduce((a, b) => a + b, 0) + 16,
      width,
    },
  };
}

/** The `mostConfused` pairs as a table (actual, predicted, count). */
export function mostConfusedFigure(pairs: { actual: string; predicted: string; count: number }[], opts: { title?: string } = {}): Figure {
  return tableFigure(['Actual', 'Predicted', 'Count'], pairs.map((p) => [p.actual, p.predicted, p.count]), { title: opts.title ?? 'Most confused' });
}

/** Zero-shot results as a table: one row per record; non-integer numbers shown as percentages unless `percent: false`. */
export function zeroShotTableFigure(rows: Record<string, string | number>[], opts: { title?: string; percent?: boolean } = {}): Figure {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: string | number | undefined) => {
    if (v === undefined) return '';
    if (typeof v === 'string' || Number.isInteger(v)) return String(v);
    return opts.percent === false ? v.toFixed(4) : `${(100 * v).toFixed(1)}%`;
  };
  return tableFigure(columns, rows.map((r) => columns.map((c) => fmt(r[c]))), { title: opts.title ?? 'Zero-shot results' });
}

// ----------------------------------------------------------------------------------------- training

/** LR-finder curve (loss vs learning rate, log x) with the suggested learning rate marked. */
export function lrFinderFigure(lrs: number[], losses: number[], opts: { suggestion?: number; title?: string } = {}): Figure {
  if (lrs.length !== losses.length || lrs.length === 0) throw new Error(`lrFinderFigure: ${lrs.length} learning rates for ${losses.length} losses`);
  const data: Trace[] = [{ type: 'scatter', mode: 'lines', name: 'loss', x: lrs, y: losses, line: { color: '#1f77b4' } }];
  const layout: Layout = {
    title: { text: opts.title ?? 'Learning rate finder' },
    xaxis: { title: { text: 'Learning rate' }, type: 'log', exponentformat: 'e' },
    yaxis: { title: { text: 'Loss' } },
    showlegend: false,
  };
  if (opts.suggestion !== undefined) {
    const s = opts.suggestion;
    // Mark the loss at the recorded learning rate closest (in log space) to the suggestion.
    let best = 0;
    lrs.forEach((lr, i) => { if (Math.abs(Math.log(lr / s)) < Math.abs(Math.log(lrs[best] / s))) best = i; });
    data.push({ type: 'scatter', mode: 'markers', name: 'suggestion', x: [s], y: [losses[best]], marker: { color: '#d62728', size: 12, symbol: 'circle' } });
    layout.annotations = [{ x: Math.log10(s), y: losses[best], text: `suggested ${s.toExponential(1)}`, showarrow: true, arrowhead: 2, ax: 40, ay: -40 }];
  }
  return { data, layout };
}

/** One training stage's losses: per-batch train loss and per-epoch valid loss. */
export interface StageLosses {
  name: string;
  train: number[];
  valid: number[];
  batchesPerEpoch?: number;
  /** The loss's name ('crossEntropy', 'cosineLoss', ...): stages with different losses get their own y axis. */
  lossName?: string;
}

const LOSS_LABELS: Record<string, string> = { crossEntropy: 'cross-entropy', cosineLoss: 'cosine loss (1 − cos)', hingeRankLoss: 'hinge rank loss' };

/**
 * Train (per batch) and valid (per epoch) losses across stages, x in epochs, with the stage boundaries marked
 * and named; stages whose loss differs (cross-entropy vs cosine) are drawn against separate y axes.
 */
export function lossCurvesFigure(stages: StageLosses[], opts: { title?: string } = {}): Figure {
  const kinds = [...new Set(stages.map((s) => s.lossName ?? 'loss'))];
  const data: Trace[] = [];
  const shapes: Layout[] = [];
  const annotations: Layout[] = [];
  let offset = 0;
  stages.forEach((st, s) => {
    const per = st.batchesPerEpoch ?? (st.valid.length ? st.train.length / st.valid.length : st.train.length || 1);
    const axis = kinds.indexOf(st.lossName ?? 'loss');
    const yaxis = axis === 0 ? 'y' : `y${axis + 1}`;
    const epochsRun = Math.max(st.valid.length, st.train.length / per);
    const first = (k: 'train' | 'valid') => !data.some((t) => t.legendgroup === `${k}${axis}`);
    data.push({ type: 'scatter', mode: 'lines', name: `train (${LOSS_LABELS[kinds[axis]!] ?? kinds[axis]})`, legendgroup: `train${axis}`, showlegend: first('train'), yaxis, x: st.train.map((_, i) => round3(offset + (i + 1) / per)), y: st.train, line: { color: axis === 0 ? '#1f77b4' : '#2ca02c' } });
    data.push({ type: 'scatter', mode: 'lines+markers', name: `valid (${LOSS_LABELS[kinds[axis]!] ?? kinds[axis]})`, legendgroup: `valid${axis}`, showlegend: first('valid'), yaxis, x: st.valid.map((_, e) => offset + e + 1), y: st.valid, line: { color: axis === 0 ? '#ff7f0e' : '#d62728' } });
    // Alternate heights so the names of short neighbouring phases do not overlap.
    annotations.push({ x: offset + epochsRun / 2, y: s % 2 ? 1.07 : 1, xref: 'x', yref: 'paper', yanchor: 'bottom', text: st.name, showarrow: false, font: { size: 11 } });
    offset += epochsRun;
    if (s < stages.length - 1) shapes.push({ type: 'line', x0: offset, x1: offset, y0: 0, y1: 1, yref: 'paper', line: { dash: 'dash', color: '#7f7f7f' } });
  });
  const layout: Layout = {
    title: { text: opts.title ?? 'Losses', y: 0.97 }, shapes, annotations,
    xaxis: { title: { text: 'Epoch' }, range: [0, offset || 1], dtick: offset > 20 ? 5 : 1, domain: [0, kinds.length > 1 ? 0.9 : 1] },
    yaxis: { title: { text: LOSS_LABELS[kinds[0]!] ?? kinds[0] } },
    legend: { orientation: 'h', y: -0.2 },
    margin: { t: 100 },
    width: 800, height: 480,
  };
  kinds.slice(1).forEach((k, i) => { layout[`yaxis${i + 2}`] = { title: { text: LOSS_LABELS[k] ?? k }, overlaying: 'y', side: 'right', showgrid: false, tickmode: 'auto', nticks: 6, tickformat: '.2f' }; });
  return { data, layout };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Model size comparison bars (MB on disk), with parameter counts in the labels when given. */
export function modelSizeFigure(models: { name: string; sizeMB: number; params?: number }[], opts: { title?: string } = {}): Figure {
  return {
    data: [{
      type: 'bar', name: 'size', x: models.map((m) => m.name), y: models.map((m) => m.sizeMB),
      text: models.map((m) => `${m.sizeMB.toFixed(1)} MB${m.params !== undefined ? ` · ${(m.params / 1e6).toFixed(2)} M params` : ''}`),
      textposition: 'outside', marker: { color: models.map((_, i) => classColor(i, models.length)) },
    }],
    layout: { title: { text: opts.title ?? 'Model size' }, xaxis: { title: { text: 'Model' } }, yaxis: { title: { text: 'Size (MB)' } }, showlegend: false },
  };
}

/** Image format for {@link FigureRenderer.render}. */
export type ImageFormat = 'png' | 'svg';

/** Size and format of a rendered image (pixels = width·scale × height·scale). */
export interface RenderOptions { format?: ImageFormat; width?: number; height?: number; scale?: number }

/** Renders one figure at a time: plotly in headless Chromium (render.ts), or SVG drawn in Node and rasterised (svg.ts). */
export interface FigureRenderer {
  /** PNG bytes (format 'png', default) or SVG text (format 'svg'). */
  render(fig: Figure, opts?: RenderOptions & { format?: 'png' }): Promise<Buffer>;
  render(fig: Figure, opts: RenderOptions & { format: 'svg' }): Promise<string>;
  render(fig: Figure, opts?: RenderOptions): Promise<Buffer | string>;
  close(): Promise<void>;
}
