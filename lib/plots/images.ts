/**
 * Pure builders of plotly figures made of images: top losses, search-result strips, CAM overlays.
 *
 *   import { dataUri, topLossesFigure } from './lib/plots/images';
 *   const fig = topLossesFigure(items.map((t) => ({ ...t, image: dataUri(fs.readFileSync(t.path)) })));
 *
 * Images are passed as data URIs so a figure is self-contained JSON that renders offline.
 */
import type { Figure, Layout, Trace } from './figures';

/** Wraps encoded image bytes (JPEG/PNG) as a data URI for image traces. */
export function dataUri(bytes: Uint8Array, mime = 'image/jpeg'): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}

/** One cell of an image grid: a data-URI image and the caption above it. */
interface Cell { image?: string; caption: string; text?: string }

/** Lays images out in a grid of small subplots (one image trace and one caption annotation per cell). */
function imageGrid(cells: Cell[], cols: number, title: string, cellPx = 200): Figure {
  const rows = Math.max(1, Math.ceil(cells.length / cols));
  const data: Trace[] = [];
  const annotations: Layout[] = [];
  const layout: Layout = { title: { text: title }, showlegend: false, width: cols * cellPx, height: rows * (cellPx + 40) + 60, margin: { t: 60, l: 10, r: 10, b: 10 } };
  cells.forEach((cell, i) => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    const id = i === 0 ? '' : String(i + 1);
    const gap = 0.02;
    const x = [c / cols + gap, (c + 1) / cols - gap];
    const yTop = 1 - r / rows;
    const y = [yTop - 1 / rows + gap, yTop - (0.18 / rows)];
    layout[`xaxis${id}`] = { domain: x, visible: false, anchor: `y${id}` };
    layout[`yaxis${id}`] = { domain: y, visible: false, anchor: `x${id}`, scaleanchor: `x${id}`, autorange: 'reversed' };
    // Text cells: 20 px, smaller when the words would not fit the cell (about 0.6 em per character).
    const fontPx = Math.max(10, Math.min(20, Math.floor((cellPx * (1 - 2 * gap) - 8) / (0.6 * Math.max(1, (cell.text ?? '').length)))));
    if (cell.image) data.push({ type: 'image', source: cell.image, xaxis: `x${id}`, yaxis: `y${id}`, hoverinfo: 'skip' });
    else data.push({ type: 'scatter', mode: 'text', x: [0], y: [0], text: [cell.text ?? ''], textfont: { size: fontPx }, xaxis: `x${id}`, yaxis: `y${id}`, hoverinfo: 'skip' });
    annotations.push({ text: cell.caption, x: (x[0] + x[1]) / 2, y: y[1], xref: 'paper', yref: 'paper', xanchor: 'center', yanchor: 'bottom', showarrow: false, font: { size: 11 } });
  });
  layout.annotations = annotations;
  return { data, layout };
}

/** One top-loss item: the image and the model's view of it. */
export interface TopLossItem { image: string; predicted: string; actual: string; loss: number; probability: number }

/** Top-losses grid captioned "prediction/actual/loss/probability" as fastai's plot_top_losses. */
export function topLossesFigure(items: TopLossItem[], opts: { cols?: number; title?: string } = {}): Figure {
  const cells = items.map((t) => ({ image: t.image, caption: `${t.predicted.replace(/\+/g, " ")}/${t.actual.replace(/\+/g, " ")}<br>${t.loss.toFixed(2)}/${t.probability.toFixed(2)}` }));
  // 240 px cells: three columns (720 px) fit JupyterLab's output area with tiles large enough to read the heatmaps.
  return imageGrid(cells, opts.cols ?? Math.min(3, Math.max(1, items.length)), opts.title ?? 'Prediction/Actual/Loss/Probability', 240);
}

/** One search hit: an image with its label and similarity score. */
export interface StripHit { image: string; label: string; score: number }

/** Search-result strip: the query (an image, or a word) followed by the k nearest images with scores. */
export function searchStripFigure(query: { image?: string; word?: string }, hits: StripHit[], opts: { title?: string } = {}): Figure {
  if (!query.image && query.word === undefined) throw new Error('searchStripFigure: the query needs an image or a word');
  const first: Cell = query.image ? { image: query.image, caption: `<b>query</b>${query.word ? `: ${query.word}` : ''}` } : { text: `“${query.word}”`, caption: '<b>query</b>' };
  const cells = [first, ...hits.map((h, i) => ({ image: h.image, caption: `${i + 1}. ${h.label.replace(/\+/g, " ")}<br>${h.score.toFixed(3)}` }))];
  // At most 780 px in all (JupyterLab's output area): 160 px cells, smaller when there are more than four hits.
  return imageGrid(cells, cells.length, opts.title ?? 'Search results', Math.min(160, Math.floor(780 / cells.length)));
}

/** A class-activation heatmap (h × w, any scale) stretched over an image of `width` × `height` pixels. */
export function camOverlayFigure(image: string, heat: number[][], size: { width: number; height: number }, opts: { title?: string; opacity?: number } = {}): Figure {
  const h = heat.length;
  const w = heat[0]?.length ?? 0;
  if (!h || !w) throw new Error('camOverlayFigure: the heatmap is empty');
  const dx = size.width / w;
  const dy = size.height / h;
  return {
    data: [
      { type: 'image', source: image, hoverinfo: 'skip' },
      { type: 'heatmap', z: heat, x0: dx / 2 - 0.5, dx, y0: dy / 2 - 0.5, dy, colorscale: 'Jet', opacity: opts.opacity ?? 0.5, showscale: false, zsmooth: 'best' },
    ],
    layout: {
      title: { text: opts.title ?? 'Class activation map' },
      xaxis: { visible: false, range: [-0.5, size.width - 0.5] },
      yaxis: { visible: false, range: [size.height - 0.5, -0.5], scaleanchor: 'x' },
      margin: { t: 50, l: 10, r: 10, b: 10 },
    },
  };
}

/** A small JPEG data URI of an image file (image grids, search strips, the exported app's image table); transparency on white. */
export async function imageThumbnail(file: string, size = 96): Promise<string> {
  const sharp = (await import('sharp')).default;
  return dataUri(await sharp(file).rotate().flatten({ background: '#ffffff' }).resize(size, size, { fit: 'cover' }).jpeg({ quality: 80 }).toBuffer());
}
